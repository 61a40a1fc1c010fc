"""Files into and out of an execution's working directory, for programs of their own (not Python).

An execution request may carry `files` (`{name: base64}`), written into the fresh working directory
before the child starts (a compiler's source, a test's compiled binary), and `collect` (names), read
back after the execution ends, before the slot's scratch space is reset (what the compiler produced),
and returned base64 in the result's `files`. The worker does both as root, so names are plain file
names, nothing is followed through a link, and what comes back is bounded.
"""

from __future__ import annotations

import base64
import contextlib
import os
import stat

COLLECT_LIMIT = 32 * 2**20  # bytes read back from one execution (contest binaries are well under 2 MiB)


def _plain_name(name: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"bad file name {name!r}")
    return name


def stage(workdir: str, files: dict[str, str] | None, uid: int | None) -> None:
    """Write the request's files into the working directory, executable and owned by the slot's uid."""
    for name, data in (files or {}).items():
        path = os.path.join(workdir, _plain_name(name))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o755)
        try:
            view = memoryview(base64.b64decode(data))
            while view:
                view = view[os.write(fd, view) :]
            if uid is not None:
                os.fchown(fd, uid, uid)
        finally:
            os.close(fd)


def collect(workdir: str, names: list[str] | None) -> dict[str, str]:
    """The named regular files (never a link, never a FIFO) the execution left, base64, within the bound."""
    out: dict[str, str] = {}
    budget = COLLECT_LIMIT
    for name in names or ():
        try:
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
            fd = os.open(os.path.join(workdir, _plain_name(name)), flags)
        except OSError:
            continue
        with contextlib.closing(os.fdopen(fd, "rb")) as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_size > budget:
                continue
            data = f.read(budget + 1)
        if len(data) <= budget:
            budget -= len(data)
            out[name] = base64.b64encode(data).decode()
    return out
