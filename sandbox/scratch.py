"""Every place an execution can write, made fresh for each execution, by a reset that cannot fail.

With namespaces the writable places are tmpfs mounts of the slot's own: the scratch directory and
/dev/shm. Each reset detaches them and mounts new empty ones, so however deep, wide or busy a tree the
last execution left, nothing of it is visible afterwards and its memory is freed. (System V IPC objects
and POSIX message queues die with the execution's own IPC namespace, see `sandbox.child`.)

Without namespaces (an ordinary user's server), each execution gets a new directory under the system
temp dir, removed afterwards without recursion and without long paths, so depth cannot make it fail.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import stat
import tempfile

from sandbox import namespaces
from sandbox import syscalls as sc

_LIBC = ctypes.CDLL(None, use_errno=True)
SHM = "/dev/shm"
SHM_MB = 64


def _detach(path: str) -> None:
    if _LIBC.umount2(path.encode(), sc.MNT_DETACH) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"umount {path}: {os.strerror(err)}")


def reset_mounts(scratch_mb: int, owner: int | None) -> str:
    """Fresh tmpfs for the scratch dir and /dev/shm; returns the execution's working directory in it."""
    flags = sc.MS_NOSUID | sc.MS_NODEV
    for path, size, mode in ((namespaces.SCRATCH, scratch_mb, "755"), (SHM, SHM_MB, "1777")):
        with contextlib.suppress(OSError):
            _detach(path)  # the first reset finds nothing of ours mounted on /dev/shm
        namespaces.mount("scratch", path, "tmpfs", flags, f"size={size}m,mode={mode}")
    namespaces.show_kept_in_scratch()  # a server's environment under /tmp, read-only
    workdir = f"{namespaces.SCRATCH}/run"
    os.mkdir(workdir, 0o700)
    if owner is not None:
        os.chown(workdir, owner, owner)
    return workdir


def new_dir(slot: int) -> str:
    """A fresh working directory under the system temp dir (no namespaces)."""
    return tempfile.mkdtemp(prefix=f"sbx{slot}-")


def remove_tree(path: str) -> None:
    """Delete a directory tree of any depth: iterative, relative to directory descriptors.

    Walks down to a leaf directory, empties it, steps back up through `..` and removes it, so it holds
    two descriptors at a time and never builds a path longer than one name.
    """
    try:
        cur = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    depth = 0
    try:
        while True:
            os.chmod(cur, 0o700)
            sub = None
            with os.scandir(cur) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        sub = entry.name
                        break
                    os.unlink(entry.name, dir_fd=cur)
            if sub is not None:
                nxt = os.open(sub, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=cur)
                os.close(cur)
                cur, depth = nxt, depth + 1
                continue
            if depth == 0:
                break
            ino = os.fstat(cur).st_ino
            parent = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=cur)
            os.close(cur)
            cur, depth = parent, depth - 1
            with os.scandir(cur) as it:
                for entry in it:
                    if entry.inode() == ino and stat.S_ISDIR(entry.stat(follow_symlinks=False).st_mode):
                        os.rmdir(entry.name, dir_fd=cur)
                        break
    finally:
        os.close(cur)
    os.rmdir(path)
