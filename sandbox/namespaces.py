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

from sandbox import syscalls as sc

log = logging.getLogger("sandbox")
_LIBC = ctypes.CDLL(None, use_errno=True)

SCRATCH = "/tmp"
# The only top-level directories a program sees.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
VISIBLE = (*SYSTEM_DIRS, "/dev", "/proc", "/sys", SCRATCH)


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
    """
    try:
        unshare(sc.CLONE_NEWPID)
    except OSError as e:
        log.warning("no PID namespace (%s): a slot killed mid-execution may leave processes", e.strerror)
        return False
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
    return True


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
    with contextlib.suppress(OSError):
        mount("proc", "/proc", "proc", sc.MS_NOSUID | sc.MS_NODEV, "hidepid=2")
    os.chdir("/")
    return True
