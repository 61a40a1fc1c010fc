"""Per-slot cgroups: bound the memory of an execution's whole process tree and tell an OOM kill apart."""

from __future__ import annotations

import contextlib
import os


class MemoryCgroup:
    """One memory cgroup per slot (v1 or v2) when the host lets us make one: it bounds the memory of an
    execution's whole process tree (rlimits bound each process only) and tells an OOM kill apart.
    Inside a container the cgroup tree is read-only; there the container's own memory limit applies.
    """

    def __init__(self, slot: int) -> None:
        name = f"open-qwq-sandbox-{os.getppid()}-{slot}"
        v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        root = "/sys/fs/cgroup" if v2 else "/sys/fs/cgroup/memory"
        self.path = os.path.join(root, name)
        self.limit_file = "memory.max" if v2 else "memory.limit_in_bytes"
        self.events_file, self.events_key = (
            ("memory.events", "oom_kill") if v2 else ("memory.oom_control", "oom_kill")
        )
        for stale in os.listdir(root):  # left by servers that were killed
            if stale.startswith("open-qwq-sandbox-") and not os.path.exists(f"/proc/{stale.split('-')[3]}"):
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.join(root, stale))
        os.makedirs(self.path, exist_ok=True)
        if not v2 and os.path.exists(os.path.join(self.path, "memory.memsw.limit_in_bytes")):
            self.swap_file: str | None = "memory.memsw.limit_in_bytes"
        else:
            self.swap_file = (
                "memory.swap.max"
                if v2 and os.path.exists(os.path.join(self.path, "memory.swap.max"))
                else None
            )
        self.usage_file = "memory.current" if v2 else "memory.usage_in_bytes"
        # The worker lives in the cgroup, so its forks are born there (attaching a task per execution
        # is slow on cgroup v1); it is shielded from the OOM killer, its executions are not.
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write("0")
        with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as f:
            f.write("-1000")

    def _write(self, name: str, value: str) -> None:
        with open(os.path.join(self.path, name), "w") as f:
            f.write(value)

    def set_limit(self, memory_mb: int) -> None:
        """Allow `memory_mb` on top of what the (idle) worker itself holds."""
        with open(os.path.join(self.path, self.usage_file)) as f:
            limit = str(memory_mb * 2**20 + int(f.read()))
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
        with open(os.path.join(self.path, self.events_file)) as f:
            for line in f:
                key, _, value = line.partition(" ")
                if key == self.events_key:
                    return int(value)
        return 0

    def remove(self) -> None:
        """Leave the cgroup and delete it (the worker is exiting)."""
        with (
            contextlib.suppress(OSError),
            open(os.path.join(os.path.dirname(self.path), "cgroup.procs"), "w") as f,
        ):
            f.write("0")
        with contextlib.suppress(OSError):
            os.rmdir(self.path)
