"""Executions that run a program of their own (a compiler, a compiled binary, node) instead of Python code.

An execution request may carry, besides the usual limits:
- `argv`: the program to `execve` (looked up on the sandbox PATH, or `./name` in the working directory);
- `files`: `{name: base64}` written into the fresh working directory before it starts (the source for a
  compiler, the compiled binary for a test);
- `collect`: names read back from the working directory after it ends (what the compiler produced),
  returned base64 in the result's `files`;
- `merge_stderr`: stderr goes where stdout goes (a compiler's diagnostics, read in order);
- `address_space_mb`: the RLIMIT_AS of the program (node reserves address space it never touches).

The child confines itself exactly as for Python (`sandbox.child`: namespaces, uid, rlimits, seccomp,
cgroup) and only then calls `exec_program`, so compilers and compiled programs get the same isolation;
the seccomp filter and rlimits survive `execve`.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import stat
from collections.abc import Callable
from typing import Any

COLLECT_LIMIT = 64 * 2**20  # bytes read back from one execution (a stripped binary is far smaller)
_SIGNALS_TO_RESET = (signal.SIGPIPE, signal.SIGXFSZ)  # Python ignores these; a C++ program must not


def _plain_name(name: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"bad file name {name!r}")
    return name


def stage_files(workdir: str, files: dict[str, str] | None, uid: int | None) -> None:
    """Worker side, before the fork: write the request's files into the (fresh) working directory."""
    for name, data in (files or {}).items():
        path = os.path.join(workdir, _plain_name(name))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o755)
        try:
            view = memoryview(base64.b64decode(data))
            while view:
                view = view[os.write(fd, view) :]
            if uid is not None:
                os.fchown(fd, uid, uid)
        finally:
            os.close(fd)


def collect_files(workdir: str, names: list[str] | None) -> dict[str, str]:
    """Worker side, after the execution: the named regular files (never a link) it left, base64."""
    out: dict[str, str] = {}
    budget = COLLECT_LIMIT
    for name in names or ():
        try:
            fd = os.open(
                os.path.join(workdir, _plain_name(name)), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
            )
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


def address_space(req: dict[str, Any], cgroup: bool) -> int | None:
    """RLIMIT_AS for a program of its own, in bytes (None: Python's rule, memory plus the warm interpreter).

    Where a memory cgroup bounds what the execution really uses (and names an excess `memory_limit`),
    the address space is only a guard against absurd reservations: twice the memory plus the reserve.
    Without one, it is the only bound: the memory plus the reserve.
    """
    mb = req.get("address_space_mb")
    if not mb:
        return None
    if cgroup:
        mb = int(mb) + int(req["memory_mb"])
    return int(mb) * 2**20


def exec_program(req: dict[str, Any], report: Callable[..., None], setup_failed: int) -> None:
    """Child side, after confinement: replace the process with the request's program. Never returns.

    It reports `exec` on the status channel first (closed by the `execve`), so the worker knows that
    any exit status after it, the harness's reserved ones included, is the program's own.
    """
    try:
        for sig in _SIGNALS_TO_RESET:
            signal.signal(sig, signal.SIG_DFL)
        if req.get("merge_stderr"):
            os.dup2(1, 2)
        with contextlib.suppress(OSError):
            os.set_inheritable(3, False)  # the status channel is the harness's, never the program's
        argv = [str(a) for a in req["argv"]]
        report("exec")
        os.execvpe(argv[0], argv, dict(os.environ))
    except BaseException as e:
        report("sandbox_error", error=f"could not start {req.get('argv', ['?'])[0]!r}: {e!r}")
    os._exit(setup_failed)
