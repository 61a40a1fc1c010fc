"""One execution slot: a long-lived, pre-forked Python process ("zygote") that runs executions in forks.

At start it enters its own namespaces (`sandbox.namespaces`) when it may, joins its cgroup
(`sandbox.cgroups`) and builds the seccomp filter. For each execution it forks (`sandbox.child`): the
program runs inside the already-warm interpreter, so an execution costs a fork instead of an interpreter
start. The worker reads stdout while the child runs (a large output is never a false timeout), enforces
the wall-clock limit, and afterwards kills every process of the slot's uid, so daemons and fork bombs
die with the execution. It talks to the pool with `sandbox.framing` frames on its stdin and stdout.

Run as `python -m sandbox.worker SLOT UID SCRATCH_MB` (UID -1: no uid of its own).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import secrets
import selectors
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from sandbox import namespaces, native, seccomp
from sandbox import syscalls as sc
from sandbox.cgroups import MemoryCgroup
from sandbox.child import SETUP_FAILED, run_child
from sandbox.framing import read_fd, write_fd
from sandbox.isolation import Level

log = logging.getLogger("sandbox")


@dataclass
class Worker:
    """The slot process: set up once, then execute requests read from stdin, one at a time."""

    slot: int
    uid: int | None
    scratch_mb: int = 256
    level: Level = Level.SECCOMP
    seccomp_filter: bytes | None = None
    cgroup: MemoryCgroup | None = None

    @property
    def isolation(self) -> str:
        """What /health reports for this slot."""
        return self.level.describe(self.cgroup is not None)

    @property
    def checker_uid(self) -> int | None:
        """The uid assert mode's test runs under: never the program's."""
        return None if self.uid is None else self.uid + 500

    def setup(self) -> None:
        namespaces.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
        namespaces.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.geteuid() == 0:
            self.level = Level.NAMESPACES if namespaces.enter(self.scratch_mb) else Level.UID
        else:
            self.level = Level.SECCOMP
            self.uid = None
        if os.geteuid() == 0:
            try:
                self.cgroup = MemoryCgroup(self.slot)
            except OSError as e:
                log.warning(
                    "no memory cgroup for slot %d (%r): per-process rlimits only", self.slot, e, exc_info=True
                )
        # Inside its own network namespace a program may make sockets: there is nothing to reach.
        self.seccomp_filter = seccomp.program(deny_sockets=not self.level.has_namespaces)

    def _workdir(self) -> str:
        base = namespaces.SCRATCH if self.level.has_namespaces else None
        if base is None:
            return tempfile.mkdtemp(prefix=f"sbx{self.slot}-")
        path = f"{base}/run"
        shutil.rmtree(path, ignore_errors=True)  # left over if the previous execution failed midway
        os.mkdir(path, 0o700)
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)
        return path

    def _cleanup(self, workdir: str) -> None:
        shutil.rmtree(workdir, ignore_errors=True)
        if self.level.has_namespaces:
            for name in os.listdir(namespaces.SCRATCH):  # anything the program left outside its workdir
                p = os.path.join(namespaces.SCRATCH, name)
                shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else os.unlink(p)

    def _kill_all(self) -> None:
        """Kill and reap every process the execution left behind (daemons, fork bombs).

        The worker is a child subreaper, so every orphan of the execution becomes its child: once
        `waitpid` reports no children, nothing of the execution is alive anywhere.
        """
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                got, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if got:
                continue
            if self.uid is not None:
                for uid in (self.uid, self.checker_uid):
                    killer = os.fork()
                    if killer == 0:
                        with contextlib.suppress(BaseException):
                            os.setgid(uid)
                            os.setuid(uid)
                            for _ in range(3):  # a fork bomb may spawn while we kill
                                os.kill(-1, signal.SIGKILL)
                        os._exit(0)
                    os.waitpid(killer, 0)
            else:
                for child in _children(os.getpid()):
                    for kill in (os.killpg, os.kill):
                        with contextlib.suppress(OSError):
                            kill(child, signal.SIGKILL)
            time.sleep(0.0005)
        log.error("slot %d: processes of the last execution survived killing", self.slot)

    def execute(self, req: dict[str, Any]) -> dict[str, Any]:
        nonce = secrets.token_hex(16)
        workdir = self._workdir()
        native.stage_files(workdir, req.get("files"), self.uid)
        stdin_fd = os.memfd_create("stdin")
        data = str(req.get("stdin") or "").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(stdin_fd, view) :]
        os.lseek(stdin_fd, 0, 0)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        st_r, st_w = os.pipe()
        oom_before = 0
        if self.cgroup is not None:
            self.cgroup.set_limit(int(req["memory_mb"]))
            oom_before = self.cgroup.oom_kills()
        start = time.monotonic()
        extra: tuple[int, ...] = ()
        if req["mode"] == "assert":  # the program serves calls; check() runs in a second process
            rpc_program, rpc_checker = socket.socketpair()
            rpc_program, rpc_checker = rpc_program.detach(), rpc_checker.detach()
            extra = (rpc_program, rpc_checker)
            if os.fork() == 0:
                os.close(rpc_checker)
                fds = {"stdin": stdin_fd, "out": out_w, "err": err_w, "rpc": rpc_program}
                run_child(req, fds, self.uid, workdir, nonce, self.seccomp_filter, self.cgroup)
            pid = os.fork()
            if pid == 0:
                os.close(rpc_program)
                fds = {"stdin": stdin_fd, "out": out_w, "err": err_w, "status": st_w, "rpc": rpc_checker}
                run_child(
                    req, fds, self.checker_uid, "/", nonce, self.seccomp_filter, self.cgroup, role="checker"
                )
        else:
            pid = os.fork()
            if pid == 0:
                fds = {"stdin": stdin_fd, "out": out_w, "err": err_w, "status": st_w}
                run_child(req, fds, self.uid, workdir, nonce, self.seccomp_filter, self.cgroup)
        for fd in (stdin_fd, out_w, err_w, st_w, *extra):
            os.close(fd)
        limit = int(req["output_bytes"])
        timeout = float(req["timeout_s"])
        bufs = {out_r: bytearray(), err_r: bytearray(), st_r: bytearray()}
        caps = {out_r: limit + 1, err_r: 8192, st_r: 1 << 20}
        sel = selectors.DefaultSelector()
        pidfd = os.pidfd_open(pid)
        for fd in (out_r, err_r, st_r, pidfd):
            sel.register(fd, selectors.EVENT_READ)
        verdict, exit_status = None, None
        while exit_status is None:
            left = start + timeout - time.monotonic()
            if left <= 0:
                verdict = "time_limit"
                break
            for key, _ in sel.select(left):
                fd = key.fd
                if fd == pidfd:
                    _, exit_status = os.waitpid(pid, 0)
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    sel.unregister(fd)
                    continue
                if len(bufs[fd]) < caps[fd]:
                    bufs[fd] += chunk[: caps[fd] - len(bufs[fd])]
                if fd == out_r and len(bufs[fd]) > limit:
                    verdict = "output_limit"
            if verdict:
                break
        elapsed = time.monotonic() - start
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        self._kill_all()
        if exit_status is None:
            with contextlib.suppress(ChildProcessError):
                _, exit_status = os.waitpid(pid, 0)
        for fd in list(bufs):  # every writer is dead now: drain to EOF
            with contextlib.suppress(KeyError):
                sel.unregister(fd)
            os.set_blocking(fd, False)
            with contextlib.suppress(BlockingIOError):
                while (chunk := os.read(fd, 65536)) and len(bufs[fd]) <= caps[fd]:
                    bufs[fd] += chunk[: caps[fd] - len(bufs[fd])]
            os.close(fd)
        sel.close()
        os.close(pidfd)
        collected = native.collect_files(workdir, req.get("collect"))
        self._cleanup(workdir)
        if verdict is None and len(bufs[out_r]) > limit:
            verdict = "output_limit"
        if self.cgroup is not None and self.cgroup.oom_kills() > oom_before:
            verdict = "memory_limit"  # the kernel killed part of the tree for memory
        res = self._result(req, verdict, exit_status, bufs[out_r], bufs[err_r], bufs[st_r], nonce, elapsed)
        if collected:
            res["files"] = collected
        return res

    @staticmethod
    def _result(req, verdict, exit_status, out, err, status_raw, nonce, elapsed) -> dict[str, Any]:
        status: dict[str, Any] = {}
        for line in bytes(status_raw).splitlines():
            with contextlib.suppress(ValueError):
                msg = json.loads(line)
                if isinstance(msg, dict) and msg.get("nonce") == nonce:
                    status = msg
        code = None
        if exit_status is not None:
            code = os.waitstatus_to_exitcode(exit_status)
        if verdict is None:
            if code == SETUP_FAILED and status.get("kind") != "exec":  # after exec: the program's own
                verdict = "sandbox_error"
            elif code is not None and code < 0 and -code in (signal.SIGXCPU, signal.SIGKILL):
                verdict = "time_limit"
            elif status.get("kind") in ("compile_error", "memory_limit", "runtime_error"):
                verdict = status["kind"]
            elif code != 0:
                verdict = "runtime_error"
            elif req["mode"] != "stdio" and status.get("kind") != "ok":
                verdict = "runtime_error"  # exited before the test finished
            else:
                verdict = "ok"
        return {
            "status": verdict,
            "exit_code": code,
            "stdout": bytes(out).decode("utf-8", "replace"),
            "stderr": bytes(err[-4096:]).decode("utf-8", "replace"),
            "result": status.get("result"),
            "error": status.get("error"),
            "elapsed_s": round(elapsed, 4),
        }


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    return out


_WARM_MODULES = [
    "collections",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "re",
    "string",
    "typing",
    "fractions",
    "decimal",
    "random",
    "statistics",
    "datetime",
    "copy",
    "operator",
    "array",
    "math",
    "cmath",
    "queue",
    "dataclasses",
    "enum",
    "abc",
    "numbers",
    "textwrap",
    "unittest",
]


def worker_main(slot: int, uid: int | None, scratch_mb: int) -> None:
    """Entry point of one slot process (`python -m sandbox.worker SLOT UID SCRATCH_MB`)."""
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s sandbox slot {slot} %(levelname)s %(message)s"
    )
    for name in _WARM_MODULES:  # imported once here, so a program's imports cost nothing
        with contextlib.suppress(ImportError):
            __import__(name)
    out = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints must not corrupt the protocol
    sys.stdout = sys.stderr
    w = Worker(slot, uid, scratch_mb)
    w.setup()
    gc.freeze()  # the collector in each fork then skips (and so never copies) the worker's own objects
    write_fd(out, {"ready": True, "isolation": w.isolation})
    while (req := read_fd(0)) is not None:
        try:
            res = w.execute(req)
        except Exception as e:  # a bug here is the sandbox's failure, never the program's
            log.exception("slot %d failed", slot)
            res = {"status": "sandbox_error", "error": f"{type(e).__name__}: {e}"}
        write_fd(out, res)
    if w.cgroup is not None:
        w.cgroup.remove()


if __name__ == "__main__":
    _slot, _uid, _scratch = (int(a) for a in sys.argv[1:4])
    worker_main(_slot, None if _uid < 0 else _uid, _scratch)
