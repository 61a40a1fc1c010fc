"""Programs of their own: a compiler, a compiled binary, node. The child `execve`s the request's `argv`.

The child has already confined itself (`sandbox.child`: session, IPC namespace, rlimits, the slot's uid,
seccomp, a minimal environment) and said so on its `ready` pipe; the seccomp filter, the rlimits and the
uid survive `execve`, so compilers and compiled programs run under exactly the confinement Python runs
under. Request fields: `argv` (looked up on the sandbox PATH, or `./name` in the working directory) and
`merge_stderr` (a compiler's diagnostics go to stdout, in order, where the caller reads their head).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from typing import Any

# Python ignores these two; an exec'd program must get the default (a C++ program writing past its file
# size limit dies of SIGXFSZ instead of looping on EFBIG until its time runs out).
_SIGNALS_TO_RESET = (signal.SIGPIPE, signal.SIGXFSZ)
_KEPT_FDS = 64  # sandbox.child keeps a handful of descriptors, renumbered from 0; only 0-2 pass the exec


def run(req: dict[str, Any], report: Callable[..., None], rpc: int | None) -> int:
    """Replace the child with the request's program; returns only when that fails (the program's failure:
    the toolchain's presence was checked before judging, so what remains is e.g. no memory to exec)."""
    for sig in _SIGNALS_TO_RESET:
        signal.signal(sig, signal.SIG_DFL)
    if req.get("merge_stderr"):
        os.dup2(1, 2)
    for fd in range(3, _KEPT_FDS):  # the status channel (and any other) is the harness's, never the program's
        with contextlib.suppress(OSError):
            os.set_inheritable(fd, False)
    argv = [str(a) for a in req["argv"]]
    try:
        os.execvpe(argv[0], argv, dict(os.environ))
    except OSError as e:
        report("runtime_error", error=f"could not start {argv[0]}: {e.strerror}")
    return 1
