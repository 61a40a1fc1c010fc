"""The forked child of one execution: confine itself, then hand over to the language's runner.

It never returns: it ends with `os._exit`. Expected outputs never reach it: it reports what the program
printed or returned, and `sandbox.judge` compares outside the program's reach. Confinement, in order:
its own session and IPC namespace, the descriptors it may keep, rlimits, the slot's uid, a fresh
signal state, seccomp, a
minimal environment. Then one byte on the `ready` pipe says confinement is done: a child that exits
without it failed to set up (the sandbox's failure); anything after it is the program's own doing, so
no exit status can pass itself off as the harness's.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import resource
import signal
import sys
from typing import Any

from sandbox import seccomp
from sandbox import syscalls as sc
from sandbox.assert_mode import run_check
from sandbox.namespaces import prctl, unshare
from sandbox.runners import RUNNERS, Report

SETUP_FAILED = 121  # the child's exit status when confining itself failed (the worker trusts `ready`)
# One thread for numeric libraries: OpenBLAS/OpenMP start one per core on import, and the process limit
# counts threads, so on a many-core node an honest numpy program would fail (or spend its memory on stacks).
_ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", **_ONE_THREAD}
# Descriptors a child keeps, renumbered from 0 in this order (those it has).
_KEEP = ("stdin", "out", "err", "status", "rpc", "test", "ready")


def run_child(
    req: dict[str, Any],
    fds: dict[str, int],
    uid: int | None,
    workdir: str,
    nonce: str,
    seccomp_filter: bytes | None,
    own_ipc: bool,
    role: str = "program",
) -> None:
    """Forked child: confine itself, then run the program (or, in assert mode, the test). Never returns."""
    write, exit_, dumps = os.write, os._exit, json.dumps  # bound before any program can patch them

    at: dict[str, int] = {}

    def report(kind: str, **extra: Any) -> None:
        if "status" not in at:  # the program half of assert mode has no say in the verdict
            return
        with contextlib.suppress(Exception):
            write(at["status"], (dumps({"nonce": nonce, "kind": kind, **extra}) + "\n").encode())

    try:
        os.setsid()
        with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")  # the execution, never the worker or the server, is what an OOM kill takes
        if own_ipc:  # System V objects and message queues die with the execution
            unshare(sc.CLONE_NEWIPC)
        keep = [k for k in _KEEP if k in fds]
        for dst, name in enumerate(keep):
            os.dup2(fds[name], dst)
            at[name] = dst
        os.closerange(len(keep), 65536)
        os.chdir(workdir)
        _limits(req, uid)
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        if role == "checker":  # not even a same-uid process may read or write this one's memory
            prctl(sc.PR_SET_DUMPABLE, 0)
        elif uid is None:  # the worker is not dumpable; a program of the server's uid keeps /proc/self
            prctl(sc.PR_SET_DUMPABLE, 1)
        _fresh_signals()
        seccomp.install(seccomp_filter)
        os.environ.clear()
        os.environ.update(ENVIRONMENT, HOME=workdir, TMPDIR=workdir)
        sys.stdin = _std_stream(0, "r", "<stdin>", errors="replace")
        sys.stdout = _std_stream(1, "w", "<stdout>")
        sys.stderr = _std_stream(2, "w", "<stderr>", buffered=False, write_through=True)
        # As in a fresh interpreter, sys.__stdout__ & co. hold the originals: a program that rewraps its
        # stream (`sys.stdout = io.TextIOWrapper(sys.stdout.buffer, ...)`) must not close the buffer under it.
        sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr  # type: ignore[misc]
        sys.argv = ["solution.py"]
        sys.setrecursionlimit(10**5)
        write(at["ready"], b"1")
        os.close(at.pop("ready"))
    except BaseException as e:
        with contextlib.suppress(BaseException):
            write(2, f"sandbox setup failed: {e!r}".encode())
        exit_(SETUP_FAILED)

    try:
        if role == "checker":
            run_check(req, report, rpc=at["rpc"], test=at["test"])
            status = 0
        else:
            status = RUNNERS[req.get("language", "python")](req, report, at.get("rpc"))
    except BaseException:  # escaped the runner's own handling (an exception whose str() raises): it must
        status = 1  # not climb into the worker's code this process was forked from, nor run atexit handlers
    exit_(status & 0xFF)


def _std_stream(fd: int, mode: str, name: str, buffered: bool = True, **text: Any) -> io.TextIOWrapper:
    """A standard stream built as a fresh interpreter builds it, with its `mode` and `name`: PyRival's
    FastIO template, common in contest Python, reads `sys.stdout.mode` and failed on a bare TextIOWrapper."""
    raw = io.FileIO(fd, mode, closefd=False)
    raw.name = name
    buffer: Any = raw
    if buffered:
        buffer = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
    stream = io.TextIOWrapper(buffer, encoding="utf-8", **text)
    stream.mode = mode  # type: ignore[misc]
    return stream


def _fresh_signals() -> None:
    """Give the program the signal state a freshly started `python3` has.

    The slot worker ignores SIGTERM and SIGINT (its pool stops slots in order), and ignored signals
    survive both fork and exec: a program's `Pool.terminate()` or `kill(child, SIGTERM)` would then wait
    forever for children that cannot be stopped, and an honest program would end as `time_limit`.
    """
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    for sig in signal.valid_signals():
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            with contextlib.suppress(OSError, ValueError):
                signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores these; `sandbox.runners.native` resets them
        signal.signal(sig, signal.SIG_IGN)


def _limits(req: dict[str, Any], uid: int | None) -> None:
    mem = int(req["memory_mb"]) * 2**20
    with open("/proc/self/statm") as f:  # the warm interpreter's own mappings do not count
        address_space = mem + int(f.read().split()[0]) * resource.getpagesize()
    if req.get("address_space_mb"):  # a program of its own (sandbox.runners.native): no interpreter to spare
        address_space = int(req["address_space_mb"]) * 2**20
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


def user_processes(uid: int) -> int:
    n = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            n += os.stat(f"/proc/{pid}").st_uid == uid
    return n


__all__ = ["ENVIRONMENT", "SETUP_FAILED", "Report", "run_child"]
