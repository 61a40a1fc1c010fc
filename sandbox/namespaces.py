"""A slot's private view of the machine: its own mount, network, IPC and UTS namespaces (run once per slot).

Every host mount becomes read-only, every non-system top-level directory (homes, work and checkout
trees wherever they are mounted) is covered by an empty tmpfs with the interpreter's own tree bound back
in, and the slot gets a fresh tmpfs for scratch, its own /dev/shm and a /proc that hides other users.
The scratch tmpfs and /dev/shm are the only places a program can write (`sandbox.scratch` renews both
for every execution).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import signal
import sys
from collections.abc import Callable

from sandbox import syscalls as sc

log = logging.getLogger("sandbox")
_LIBC = ctypes.CDLL(None, use_errno=True)

SCRATCH = "/tmp"
# The only top-level directories a program sees.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
VISIBLE = (*SYSTEM_DIRS, "/dev", "/proc", "/sys", SCRATCH)
PROC_OPTIONS = "hidepid=2"  # a program sees only its own uid's processes


def mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """mount(2), raising OSError naming the target."""
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    if _LIBC.mount(enc(src), target.encode(), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    """unshare(2), raising OSError."""
    if _LIBC.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare: {os.strerror(err)}")


def prctl(option: int, arg: int = 0) -> int:
    return _LIBC.prctl(option, arg, 0, 0, 0)


def own_pid_namespace() -> bool:
    """Go on as pid 1 of a new PID namespace; False when not permitted (nothing changed then).

    The kernel kills every process of a namespace when its first process exits, however it exits: so a
    fork bomb or a daemon cannot outlive a slot that is killed in the middle of an execution (the OOM
    killer, a kill -9 of the server), where it would otherwise run on forever, parented to init. The
    calling process stays behind as a keeper that only waits for the slot and exits with its status;
    the slot dies with the keeper and the keeper with the server (PR_SET_PDEATHSIG both).

    An ordinary user gets the PID namespace inside a user namespace of its own that maps only its own
    uid and gid; the slot then gives up every capability that namespace lent it. Not when the process
    holds capabilities on the host: they would stop applying there (`_host_capabilities`).

    A PID namespace needs a /proc of its own, which only a mount namespace can give (root's is `enter`'s):
    with the host's /proc a program's pids would name other processes there (`os.getppid()` is 1, the
    host's init). So where a mount namespace is refused, the slot takes no PID namespace either.
    """
    root = os.geteuid() == 0
    if root and not _own_proc_works():
        log.warning(
            "no PID namespace (no mount namespace for its /proc): a slot killed mid-execution may leave processes"
        )
        return False
    if not root and _host_capabilities():
        log.warning("no PID namespace: this process holds host capabilities a user namespace would void")
        return False
    if not root and not _user_namespace_works():
        log.warning(
            "no PID namespace (user namespaces refused): a slot killed mid-execution may leave processes"
        )
        return False
    ids = os.getuid(), os.getgid()
    try:
        unshare(sc.CLONE_NEWPID if root else sc.CLONE_NEWUSER | sc.CLONE_NEWPID)
    except OSError as e:
        log.warning("no PID namespace (%s): a slot killed mid-execution may leave processes", e.strerror)
        return False
    if not root:
        _map_own_ids(*ids)
    alive_r, alive_w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(alive_r)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        os._exit(code if code >= 0 else 128 - code)
    os.close(alive_w)
    prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
    if select.select([alive_r], [], [], 0)[0]:  # the keeper died before PDEATHSIG was set
        os._exit(1)
    os.close(alive_r)
    if not root:
        _own_proc()
        _drop_capabilities()
    return True


def _host_capabilities() -> bool:
    with open("/proc/self/status") as f:
        return any(line.startswith("CapEff:") and int(line.split()[1], 16) for line in f)


def _map_own_ids(uid: int, gid: int) -> None:
    """Map our own uid and gid, and nothing else, into the user namespace just entered."""
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def _own_proc() -> None:
    """A /proc of the new PID namespace (in a mount namespace of our own): without it a program's pids
    (`os.getppid()` is 1) would name other processes in the host's /proc."""
    unshare(sc.CLONE_NEWNS)
    mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
    mount("proc", "/proc", "proc", sc.MS_NOSUID | sc.MS_NODEV)


def _own_proc_works() -> bool:
    """As root: enter a PID namespace, then `enter`'s namespaces, and mount a /proc there (`_trial`)."""

    def own_proc() -> bool:
        unshare(sc.CLONE_NEWNS | sc.CLONE_NEWNET | sc.CLONE_NEWIPC | sc.CLONE_NEWUTS)
        mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
        mount("proc", "/proc", "proc", sc.MS_NOSUID | sc.MS_NODEV, PROC_OPTIONS)
        return os.readlink("/proc/self") == "1"

    return _trial(0, own_proc)


def _trial(flags: int, as_init: Callable[[], bool], after_unshare: Callable[[], None] = lambda: None) -> bool:
    """Whether `as_init` succeeds as pid 1 of a new PID namespace (made with `flags` too), tried in throwaway
    children: once a process has entered such namespaces, a step that fails cannot be undone."""
    pid = os.fork()
    if pid == 0:
        try:
            unshare(flags | sc.CLONE_NEWPID)
            after_unshare()
            init = os.fork()
            if init == 0:
                try:
                    os._exit(0 if as_init() else 1)
                except BaseException:  # noqa: BLE001 - any failure means no
                    os._exit(1)
            _, status = os.waitpid(init, 0)
            os._exit(os.waitstatus_to_exitcode(status))
        except BaseException:  # noqa: BLE001 - any failure means no
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def proc_is_own() -> bool:
    """Whether this process's /proc is its PID namespace's (its own pid names it there)."""
    try:
        return os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False


def _user_namespace_works() -> bool:
    """Enter a user, PID and mount namespace and mount /proc, in throwaway children first (`_trial`)."""
    ids = os.getuid(), os.getgid()

    def own_proc() -> bool:
        _own_proc()
        return True

    return _trial(sc.CLONE_NEWUSER, own_proc, lambda: _map_own_ids(*ids))


def _drop_capabilities() -> None:
    """Give up every capability (bounding set first, while CAP_SETPCAP allows it): programs fork from here."""
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):
        if _LIBC.prctl(sc.PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"cannot drop capability {cap} from the bounding set")
    header = (ctypes.c_uint32 * 2)(sc.LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable; twice (64 capability bits)
    if _LIBC.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset: cannot drop the user namespace's capabilities")
    if _host_capabilities():
        raise RuntimeError("capabilities survived dropping them")


def hidden_from_programs(path: str) -> bool:
    """Whether `path` is under the scratch dir, which every execution gets as an empty tmpfs: a server whose
    Python environment lives there (a checkout under /tmp) lends its packages (numpy) to programs only
    through `show_kept_in_scratch`."""
    return os.path.realpath(path).startswith(SCRATCH + "/")


# The interpreter's trees under the scratch dir, as (path, O_PATH descriptor opened before the scratch tmpfs
# covered them): each fresh scratch gets them back, read-only, at their own paths.
_KEPT_IN_SCRATCH: list[tuple[str, int]] = []


def show_kept_in_scratch() -> None:
    """Bind the interpreter's trees that live under the scratch dir into the fresh scratch, read-only."""
    for path, fd in _KEPT_IN_SCRATCH:
        os.makedirs(path, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", path, None, sc.MS_BIND | sc.MS_REC)
        mount(None, path, None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV)


def hidden_dirs() -> list[str]:
    """Every real top-level directory outside `VISIBLE` (symlinks such as /bin -> usr/bin are skipped)."""
    paths = (os.path.join("/", name) for name in sorted(os.listdir("/")))
    return [p for p in paths if p not in VISIBLE and os.path.isdir(p) and not os.path.islink(p)]


def enter(scratch_mb: int) -> bool:
    """Enter private mount/net/ipc/uts namespaces with a read-only host view; False when not permitted."""
    try:
        unshare(sc.CLONE_NEWNS | sc.CLONE_NEWNET | sc.CLONE_NEWIPC | sc.CLONE_NEWUTS)
    except OSError as e:
        log.warning("unshare failed (%s): isolation falls back to uid + rlimits + seccomp", e.strerror)
        return False
    mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for mp in sorted(set(points), key=len):
        if mp.startswith(("/proc", "/sys", "/dev")):
            continue
        with contextlib.suppress(OSError):
            mount(None, mp, None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY)
    for path in sorted({os.path.realpath(p) for p in (sys.base_prefix, sys.prefix)}):
        if hidden_from_programs(path):
            _KEPT_IN_SCRATCH.append((path, os.open(path, os.O_PATH | os.O_DIRECTORY)))
    mount("scratch", SCRATCH, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, f"size={scratch_mb}m,mode=755")
    hidden = hidden_dirs()
    keep = [p for p in {sys.base_prefix, sys.prefix} if p.startswith(tuple(h + "/" for h in hidden))]
    staged = []
    for i, path in enumerate(sorted(keep)):  # stage the interpreter's tree before hiding its parent
        stage = f"{SCRATCH}/.keep{i}"
        os.mkdir(stage)
        mount(path, stage, None, sc.MS_BIND | sc.MS_REC)
        staged.append((stage, path))
    for path in hidden:
        mount("hidden", path, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, "size=1m,mode=755")
    for stage, path in staged:
        os.makedirs(path, exist_ok=True)
        mount(stage, path, None, sc.MS_MOVE)
        os.rmdir(stage)
    for path in hidden:
        with contextlib.suppress(OSError):
            mount(None, path, None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY)
    with contextlib.suppress(OSError):
        mount("shm", "/dev/shm", "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, "size=64m,mode=1777")
    # POSIX message queues created through a mounted mqueue fs would live in that mount's IPC namespace,
    # outside the per-execution one: programs get no mqueue fs (mq_open still works, per execution).
    while os.path.ismount("/dev/mqueue") and _LIBC.umount2(b"/dev/mqueue", sc.MNT_DETACH) == 0:
        pass
    with contextlib.suppress(OSError):  # the slot's PID namespace needs it (`sandbox.worker` checks)
        mount("proc", "/proc", "proc", sc.MS_NOSUID | sc.MS_NODEV, PROC_OPTIONS)
    os.chdir("/")
    return True
