"""Per-slot cgroups: one per execution slot, in the memory and cpu controllers, when the host lets us.

Memory: bounds an execution's whole process tree (rlimits bound each process only) and tells an OOM kill
apart. CPU: every slot gets the same weight, so an execution that splits itself into many processes or
sessions still gets one slot's share of the machine, never another slot's (tasks in a cpu cgroup are not
scheduled by session autogroups). The worker joins its cgroups, so its forks are born there (attaching
a task per execution is slow on cgroup v1).

Inside a container with its own cgroup namespace (`python -m sandbox up` starts them so), the slot
mounts a private view of its cgroup tree, whose root is the container's own cgroup: slot cgroups nest
inside the container's limits. With the host's cgroup namespace the tree stays read-only there, and the
container's own limits apply to all slots together.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

from sandbox import namespaces
from sandbox import syscalls as sc

PREFIX = "open-qwq-sandbox-"
_V2_ROOT = "/sys/fs/cgroup"
_STALE_AFTER_S = 60.0  # an empty slot cgroup this old belongs to no starting server


def _own_paths() -> dict[str, str]:
    """controller -> this process's cgroup path ("" for the v2 unified hierarchy)."""
    out = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                out[c] = path
    return out


def _writable(path: str) -> bool:
    return os.access(path, os.W_OK) and not os.statvfs(path).f_flag & os.ST_RDONLY


def _v1_options() -> dict[str, str]:
    """controller -> the mount options of its v1 hierarchy (co-mounted controllers, e.g. "cpu,cpuacct")."""
    out = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            _, _, rest = line.partition(" - ")
            fstype, _, supers = rest.split()[:3]
            if fstype == "cgroup":
                opts = [o for o in supers.split(",") if o not in ("rw", "ro")]
                for o in opts:
                    out[o] = ",".join(opts)
    return out


def private_mounts(has_mount_ns: bool) -> None:
    """In a container with a private cgroup namespace, mount its cgroup tree writable (slot's own mount ns).

    Only where the namespace root is our own cgroup ("/" in /proc/self/cgroup): with the host's
    namespace a fresh mount would show the host's root, outside the container's limits. The container's
    read-only view stays under a fresh tmpfs on /sys/fs/cgroup, in this mount namespace only.
    """
    if not has_mount_ns or os.path.exists(f"{_V2_ROOT}/cgroup.controllers"):
        return
    own, options = _own_paths(), _v1_options()
    wanted = [c for c in ("memory", "cpu") if c in options and own.get(c) == "/"]
    if not wanted or all(_writable(f"{_V2_ROOT}/{c}") for c in wanted):
        return
    try:
        namespaces.mount("cgroups", _V2_ROOT, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, "mode=755")
    except OSError:
        return
    for ctrl in wanted:
        where = f"{_V2_ROOT}/{ctrl}"
        with contextlib.suppress(OSError):
            os.makedirs(where, exist_ok=True)
            namespaces.mount("cgroup", where, "cgroup", sc.MS_NOSUID | sc.MS_NODEV, options[ctrl])


def remove_stale(root: str) -> None:
    """Delete slot cgroups that no live process uses (left by servers that were killed).

    A cgroup with tasks cannot be removed, so this never touches a running server's; the age guard
    spares one a starting server has made but not joined yet.
    """
    with contextlib.suppress(OSError):
        for name in os.listdir(root):
            path = os.path.join(root, name)
            if name.startswith(PREFIX) and time.time() - os.stat(path).st_mtime > _STALE_AFTER_S:
                with contextlib.suppress(OSError):
                    os.rmdir(path)


def kill_and_remove(path: str) -> None:
    """Kill every task left in a cgroup, then delete it (cannot fail: errors are ignored)."""
    for _ in range(50):
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                pids = [int(p) for p in f.read().split()]
        except OSError:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        try:
            os.rmdir(path)
            return
        except OSError:
            time.sleep(0.02)


class SlotCgroup:
    """A slot's memory and cpu cgroups (v1: one directory per controller; v2: one directory)."""

    def __init__(self, name: str) -> None:
        self.v2 = os.path.exists(f"{_V2_ROOT}/cgroup.controllers")
        roots = (
            {"memory": _V2_ROOT, "cpu": _V2_ROOT}
            if self.v2
            else {c: f"{_V2_ROOT}/{c}" for c in ("memory", "cpu")}
        )
        self.paths: list[str] = []
        self.memory = ""
        self.cpu: str | None = None
        for ctrl, root in roots.items():
            remove_stale(root)
            path = os.path.join(root, name)
            if path in self.paths:
                continue
            try:
                os.makedirs(path, exist_ok=True)
                with open(os.path.join(path, "cgroup.procs"), "w") as f:
                    f.write("0")
            except OSError:
                if ctrl == "memory":
                    self.remove()
                    raise
                continue  # no cpu controller here: memory only
            self.paths.append(path)
            if ctrl == "memory":
                self.memory = path
            else:
                self.cpu = path
        if self.v2 and not os.path.exists(os.path.join(self.memory, "cpu.weight")):
            self.cpu = None
        self.limit_file = "memory.max" if self.v2 else "memory.limit_in_bytes"
        self.events_file = "memory.events" if self.v2 else "memory.oom_control"
        self.usage_file = "memory.current" if self.v2 else "memory.usage_in_bytes"
        if not self.v2 and os.path.exists(os.path.join(self.memory, "memory.memsw.limit_in_bytes")):
            self.swap_file: str | None = "memory.memsw.limit_in_bytes"
        elif self.v2 and os.path.exists(os.path.join(self.memory, "memory.swap.max")):
            self.swap_file = "memory.swap.max"
        else:
            self.swap_file = None
        self.baseline = 0

    def freeze_baseline(self) -> None:
        """Record what the idle worker holds: every execution's limit is this plus its own memory_mb.

        Measured once, so nothing an execution leaves charged (it should leave nothing) raises the next
        execution's limit.
        """
        with open(os.path.join(self.memory, self.usage_file)) as f:
            self.baseline = int(f.read())

    def _write(self, name: str, value: str) -> None:
        with open(os.path.join(self.memory, name), "w") as f:
            f.write(value)

    def set_limit(self, memory_mb: int) -> None:
        """Allow `memory_mb` on top of what the idle worker held at start."""
        limit = str(memory_mb * 2**20 + self.baseline)
        if self.swap_file == "memory.swap.max":
            self._write(self.limit_file, limit)
            self._write("memory.swap.max", "0")
        elif self.swap_file:  # v1: memsw must stay >= the limit, so order the writes by direction
            try:
                self._write(self.limit_file, limit)
                self._write(self.swap_file, limit)
            except OSError:
                self._write(self.swap_file, limit)
                self._write(self.limit_file, limit)
        else:
            self._write(self.limit_file, limit)

    def oom_kills(self) -> int:
        with open(os.path.join(self.memory, self.events_file)) as f:
            for line in f:
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        return 0

    def remove(self) -> None:
        """Leave the cgroups and delete them (the worker is exiting)."""
        for path in self.paths:
            with (
                contextlib.suppress(OSError),
                open(os.path.join(os.path.dirname(path), "cgroup.procs"), "w") as f,
            ):
                f.write("0")
            kill_and_remove(path)
