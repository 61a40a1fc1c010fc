"""Language runners: what a confined child does to run one program, one module per language.

A runner is called in the forked child after confinement (`sandbox.child`) as
`runner(req, report, rpc) -> exit status`. It runs the program with stdin, stdout and stderr on
descriptors 0-2, reports through `report(kind, **extra)` (compile_error, runtime_error, memory_limit,
or ok with a function's `result`), and in assert mode serves calls on `rpc`. Python runs in the
already-warm interpreter; the other languages exec a program of their own (`native`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.runners import native, python

Report = Callable[..., None]
Runner = Callable[[dict[str, Any], Report, "int | None"], int]

# C++ and Rust compile in an execution of their own (sandbox.compiler: once per submission, cached), so
# each test execs the binary; node execs on the source. The compile step is the same runner.
RUNNERS: dict[str, Runner] = {
    "python": python.run,
    "python3": python.run,
    "cpp": native.run,
    "rust": native.run,
    "javascript": native.run,
}
