"""The forked child of one execution: confine itself, then run the program (or assert mode's check()).

It never returns: it ends with `os._exit`. Expected outputs never reach it: it reports what the program
printed or returned, and `sandbox.judge` compares outside the program's reach.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import math
import os
import resource
import sys
import threading
import traceback
from typing import TYPE_CHECKING, Any

from sandbox import native, seccomp
from sandbox import syscalls as sc
from sandbox.assert_mode import plain, run_check, serve_calls
from sandbox.namespaces import prctl

if TYPE_CHECKING:
    from sandbox.cgroups import MemoryCgroup

SETUP_FAILED = 121  # the child's exit status when confining itself failed


def run_child(
    req: dict[str, Any],
    fds: dict[str, int],
    uid: int | None,
    workdir: str,
    nonce: str,
    seccomp_filter: bytes | None,
    cgroup: MemoryCgroup | None,
    role: str = "program",
) -> None:
    """Forked child: confine itself, then run the program (or, in assert mode, the test). Never returns."""
    write, dumps, exit_ = os.write, json.dumps, os._exit
    settrace, setprofile = sys.settrace, sys.setprofile
    join_threads = threading._shutdown

    def report(kind: str, **extra: Any) -> None:
        if "status" not in fds:  # the program half of assert mode has no say in the verdict
            return
        with contextlib.suppress(Exception):
            write(3, (dumps({"nonce": nonce, "kind": kind, **extra}) + "\n").encode())

    try:
        os.setsid()
        if cgroup is not None:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("1000")  # the execution, never the worker, is what an OOM kill takes
        keep = [fds[k] for k in ("stdin", "out", "err", "status", "rpc") if k in fds]
        for dst, src in enumerate(keep):
            os.dup2(src, dst)
        os.closerange(len(keep), 65536)
        os.chdir(workdir)
        mem = int(req["memory_mb"]) * 2**20
        with open("/proc/self/statm") as f:  # the warm interpreter's own mappings do not count
            address_space = (
                native.address_space(req, cgroup is not None)
                or mem + int(f.read().split()[0]) * resource.getpagesize()
            )
        cpu = math.ceil(float(req["timeout_s"])) + 1
        for res, lim in (
            (resource.RLIMIT_AS, address_space),
            (resource.RLIMIT_CPU, cpu),
            (resource.RLIMIT_FSIZE, int(req["file_size_mb"]) * 2**20),
            (resource.RLIMIT_NOFILE, 256),
            (resource.RLIMIT_CORE, 0),
            (resource.RLIMIT_STACK, min(mem, 256 * 2**20)),
        ):
            resource.setrlimit(res, (lim, lim))
        nproc = int(req["processes"])
        if uid is None:  # sharing the server's uid: allow what it already runs, plus the execution's share
            nproc += user_processes(os.getuid())
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        if role == "checker":  # not even a same-uid process may read or write this one's memory
            prctl(sc.PR_SET_DUMPABLE, 0)
        seccomp.install(seccomp_filter)
        os.environ.clear()
        os.environ.update(PATH="/usr/local/bin:/usr/bin:/bin", HOME=workdir, LANG="C.UTF-8", TMPDIR=workdir)
        sys.stdin = io.TextIOWrapper(
            io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8", errors="replace"
        )
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8")
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", write_through=True)
        sys.argv = ["solution.py"]
        sys.setrecursionlimit(10**5)
    except BaseException as e:
        with contextlib.suppress(BaseException):
            write(2, f"sandbox setup failed: {e!r}".encode())
        exit_(SETUP_FAILED)

    if role == "checker":
        run_check(req, report)
        exit_(0)
    if req.get("argv"):  # a compiler, a compiled program or node: same confinement, then execve
        native.exec_program(req, report, SETUP_FAILED)
    mode = req["mode"]
    try:
        code = compile(req["code"], "solution.py", "exec")
    except BaseException as e:  # SyntaxError, ValueError (null bytes), RecursionError, MemoryError
        report("compile_error", error=f"{type(e).__name__}: {e}")
        exit_(1)
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
            except (TypeError, ValueError) as e:  # no JSON form: a wrong answer, not a crash
                report("ok", result=None, error=str(e)[:300])
            else:
                report("ok", result=form)
        elif mode == "assert":
            serve_calls(glob, 3)
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
    exit_(status & 0xFF)


def user_processes(uid: int) -> int:
    n = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            n += os.stat(f"/proc/{pid}").st_uid == uid
    return n


def find_function(glob: dict[str, Any], name: str) -> Any:
    fn = glob.get(name)
    if callable(fn) and not isinstance(fn, type):
        return fn
    cls = glob.get("Solution")
    if isinstance(cls, type) and hasattr(cls, name):
        return getattr(cls(), name)
    raise NameError(f"function {name!r} not found (top level or class Solution)")
