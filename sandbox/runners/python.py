"""Python: run the program inside the already-warm interpreter of the forked child (no exec)."""

from __future__ import annotations

import builtins
import contextlib
import json
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from sandbox.assert_mode import plain, serve_calls


def run(req: dict[str, Any], report: Callable[..., None], rpc: int | None) -> int:
    """Compile and run `req["code"]` as stdio, function or assert mode; returns the exit status."""
    dumps = json.dumps
    settrace, setprofile = sys.settrace, sys.setprofile
    join_threads = threading._shutdown  # type: ignore[attr-defined]
    mode = req["mode"]
    try:
        code = compile(req["code"], "solution.py", "exec")
    except BaseException as e:  # SyntaxError, ValueError (null bytes), RecursionError, MemoryError
        report("compile_error", error=f"{type(e).__name__}: {e}")
        return 1
    glob: dict[str, Any] = {
        "__name__": "__main__" if mode == "stdio" else "solution",
        "__builtins__": builtins,
    }
    status = 0
    try:
        exec(code, glob)  # noqa: S102 - this is the sandbox
        join_threads()  # as interpreter exit would: `Thread(target=main).start()` is common in contest code
        if mode == "function":
            fn = find_function(glob, req["fn_name"])
            args = req["input"]
            result = fn(*args) if isinstance(args, list) else fn(args)
            settrace(None)
            setprofile(None)
            try:
                form = dumps(plain(result))
            except (TypeError, ValueError, RecursionError) as e:  # no JSON form: a wrong answer, not a crash
                report("ok", result=None, error=str(e)[:300])
            else:
                if len(form) > int(req["output_bytes"]):  # the same bound as stdout's
                    report("output_limit")
                    return 1
                report("ok", result=form)
        elif mode == "assert":
            assert rpc is not None
            serve_calls(glob, rpc)
        else:
            report("ok")
    except SystemExit as e:
        if mode != "stdio":
            report("runtime_error", error=f"exited with {e.code!r} before the test finished")
            status = 1
        elif e.code not in (None, 0):
            status = e.code if isinstance(e.code, int) else 1
            if not isinstance(e.code, int):
                with contextlib.suppress(BaseException):
                    print(e.code, file=sys.stderr)
    except MemoryError:
        report("memory_limit")
        status = 1
    except BaseException as e:
        with contextlib.suppress(BaseException):
            traceback.print_exc(limit=-3)
        report("runtime_error", error=f"{type(e).__name__}: {str(e)[:300]}")
        status = 1
    try:
        sys.stdout.flush()
    except BaseException:
        status = status or 1
    return status


def find_function(glob: dict[str, Any], name: str) -> Any:
    fn = glob.get(name)
    if callable(fn) and not isinstance(fn, type):
        return fn
    cls = glob.get("Solution")
    if isinstance(cls, type) and hasattr(cls, name):
        return getattr(cls(), name)
    raise NameError(f"function {name!r} not found (top level or class Solution)")
