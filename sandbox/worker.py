"""One execution slot: a long-lived, pre-forked Python process ("zygote") that runs executions in forks.

At start it enters its own namespaces (`sandbox.namespaces`) when it may, joins its cgroups
(`sandbox.cgroups`) and builds the seccomp filter. For each execution it forks (`sandbox.child`): the
program runs inside the already-warm interpreter, so an execution costs a fork instead of an interpreter
start. The worker reads stdout while the child runs (a large output is never a false timeout), enforces
the wall-clock limit, and afterwards kills every other process of the slot's PID namespace (without
one: of the slot's uid), so daemons and fork bombs die with the execution; then every writable place is
made fresh (`sandbox.scratch`). A slot whose reset fails answers the execution it ran, then exits, and
the pool starts a new one in its place.

It talks to the pool with `sandbox.framing` frames on its stdin and stdout. In assert mode the request
frame is followed by the raw bytes of the test, which the worker moves with splice(2) into a memfd that
only the checker child receives: the test never enters this process's memory, so no program forked
from it can find the test in its frames or its heap.

Run as `python -m sandbox.worker SLOT UID SCRATCH_MB CGROUP_NAME` (UID -1: no uid of its own).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import secrets
import selectors
import signal
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any

from sandbox import cgroups, namespaces, scratch, seccomp, workfiles
from sandbox import syscalls as sc
from sandbox.child import run_child
from sandbox.framing import read_fd, write_fd
from sandbox.isolation import Level

log = logging.getLogger("sandbox")
_PROGRAM_VERDICTS = ("compile_error", "memory_limit", "runtime_error", "output_limit")


@dataclass
class Worker:
    """The slot process: set up once, then execute requests read from stdin, one at a time."""

    slot: int
    uid: int | None
    scratch_mb: int = 256
    cgroup_name: str = ""
    level: Level = Level.SECCOMP
    seccomp_filter: bytes | None = None
    cgroup: cgroups.SlotCgroup | None = None
    workdir: str = ""
    pid_namespace: bool = False  # executions die with the slot however it dies (see `own_pid_namespace`)
    broken: str | None = None  # why this slot cannot serve another execution

    @property
    def isolation(self) -> str:
        """What /health reports for this slot."""
        return self.level.describe(self.cgroup is not None, self.pid_namespace)

    @property
    def checker_uid(self) -> int | None:
        """The uid assert mode's test runs under: never the program's."""
        return None if self.uid is None else self.uid + 500

    def setup(self) -> None:
        namespaces.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
        namespaces.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
        namespaces.prctl(sc.PR_SET_DUMPABLE, 0)  # a same-uid program cannot read this process
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the pool stops slots (closing stdin), in order
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.pid_namespace = namespaces.own_pid_namespace()
        if os.geteuid() == 0:
            self.level = Level.NAMESPACES if namespaces.enter(self.scratch_mb) else Level.UID
        else:
            self.level = Level.SECCOMP
            self.uid = None
        if self.pid_namespace and not namespaces.proc_is_own():  # its pids would name others' processes
            raise RuntimeError("the slot's PID namespace has no /proc of its own: refusing to serve")
        if os.geteuid() == 0:
            cgroups.private_mounts(self.level.has_namespaces)
            try:
                self.cgroup = cgroups.SlotCgroup(self.cgroup_name)
            except OSError as e:
                log.warning("no cgroup for slot %d (%r): per-process rlimits only", self.slot, e)
            with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as f:
                f.write("-1000")  # the OOM killer takes executions (1000), never the worker
        # Inside its own network namespace a program may make (local) sockets: there is nothing to reach.
        self.seccomp_filter = seccomp.program(
            deny_sockets=not self.level.has_namespaces,
            protected=(os.getpid(), os.getppid()),
            groups=(os.getpgid(0),),
        )
        self._reset()
        if self.broken:
            raise RuntimeError(self.broken)

    def _reset(self) -> None:
        """Make every writable place fresh; on failure mark the slot broken (it is then replaced)."""
        try:
            if self.level.has_namespaces:
                self.workdir = scratch.reset_mounts(self.scratch_mb, self.uid)
            else:
                if self.workdir:
                    scratch.remove_tree(self.workdir)
                self.workdir = scratch.new_dir(self.slot)
        except BaseException as e:  # noqa: BLE001 - whatever it is, this slot must not serve again
            self.broken = f"cannot reset the slot's scratch space: {type(e).__name__}: {e}"
            log.error("slot %d: %s", self.slot, self.broken)

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
            if self.pid_namespace:  # pid 1: everything else in the namespace is the execution's
                with contextlib.suppress(ProcessLookupError):
                    os.kill(-1, signal.SIGKILL)
            elif self.uid is not None and self.checker_uid is not None:
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
        self.broken = "processes of the last execution survived killing"
        log.error("slot %d: %s", self.slot, self.broken)

    def execute(self, req: dict[str, Any], test_fd: int | None = None) -> dict[str, Any]:
        nonce = secrets.token_hex(16)
        workdir = self.workdir
        try:
            workfiles.stage(workdir, req.get("files"), self.uid)
        except BaseException:
            self._reset()  # nothing half-written may reach the next execution
            raise
        if req.get("address_space_mb") and self.cgroup is not None:
            # The cgroup bounds what a program of its own uses (and names the excess memory_limit); its
            # address space only guards against absurd reservations.
            req = {**req, "address_space_mb": int(req["address_space_mb"]) + int(req["memory_mb"])}
        stdin_fd = os.memfd_create("stdin")
        data = str(req.get("stdin") or "").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(stdin_fd, view) :]
        os.lseek(stdin_fd, 0, 0)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        st_r, st_w = os.pipe()
        ready_r, ready_w = os.pipe()
        oom_before = 0
        if self.cgroup is not None:
            self.cgroup.set_limit(int(req["memory_mb"]))
            oom_before = self.cgroup.oom_kills()
        own_ipc = self.level.has_namespaces
        base: dict[str, int] = {"stdin": stdin_fd, "out": out_w, "err": err_w, "ready": ready_w}
        start = time.monotonic()
        extra: tuple[int, ...] = ()
        children = 1
        if req["mode"] == "assert":  # the program serves calls; check() runs in a second process
            assert test_fd is not None
            sock_program, sock_checker = socket.socketpair()
            rpc_program, rpc_checker = sock_program.detach(), sock_checker.detach()
            extra, children = (rpc_program, rpc_checker), 2
            if os.fork() == 0:
                fds = {**base, "rpc": rpc_program}
                run_child(req, fds, self.uid, workdir, nonce, self.seccomp_filter, own_ipc)
            pid = os.fork()
            if pid == 0:
                fds = {**base, "status": st_w, "rpc": rpc_checker, "test": test_fd}
                run_child(
                    req, fds, self.checker_uid, "/", nonce, self.seccomp_filter, own_ipc, role="checker"
                )
        else:
            pid = os.fork()
            if pid == 0:
                fds = {**base, "status": st_w}
                run_child(req, fds, self.uid, workdir, nonce, self.seccomp_filter, own_ipc)
        for fd in (stdin_fd, out_w, err_w, st_w, ready_w, *extra):
            os.close(fd)
        limit = int(req["output_bytes"])
        timeout = float(req["timeout_s"])
        bufs = {out_r: bytearray(), err_r: bytearray(), st_r: bytearray(), ready_r: bytearray()}
        # A function's result travels as a JSON string inside a JSON line: allow twice stdout's limit.
        caps = {out_r: limit + 1, err_r: 8192, st_r: 2 * limit + (1 << 16), ready_r: 16}
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
        collected = workfiles.collect(workdir, req.get("collect"))
        self._reset()
        if verdict is None and len(bufs[ready_r]) < children:
            verdict = "sandbox_error"  # a child failed to confine itself: never the program's doing
        if verdict is None and len(bufs[out_r]) > limit:
            verdict = "output_limit"
        if self.cgroup is not None and self.cgroup.oom_kills() > oom_before:
            verdict = "memory_limit"  # the kernel killed part of the tree for memory
        res = _result(req, verdict, exit_status, bufs[out_r], bufs[err_r], bufs[st_r], nonce, elapsed)
        if collected:
            res["files"] = collected
        return res


def _status(raw: bytes, nonce: str) -> dict[str, Any]:
    """The child's last status line that carries this execution's nonce (malformed lines are ignored)."""
    status: dict[str, Any] = {}
    for line in raw.splitlines():
        try:
            msg = json.loads(line)
        except (ValueError, RecursionError):  # the program may write anything to its descriptors
            continue
        if isinstance(msg, dict) and msg.get("nonce") == nonce:
            status = msg
    return status


def _result(
    req: dict[str, Any],
    verdict: str | None,
    exit_status: int | None,
    out: bytearray,
    err: bytearray,
    status_raw: bytearray,
    nonce: str,
    elapsed: float,
) -> dict[str, Any]:
    """The execution's answer to the pool: a verdict from what the kernel and the child reported."""
    status = _status(bytes(status_raw), nonce)
    code = None
    if exit_status is not None:
        code = os.waitstatus_to_exitcode(exit_status)
    if verdict is None:
        if code is not None and code < 0 and -code in (signal.SIGXCPU, signal.SIGKILL):
            verdict = "time_limit"
        elif status.get("kind") in _PROGRAM_VERDICTS:
            verdict = status["kind"]
        elif code != 0:
            verdict = "runtime_error"
        elif req["mode"] != "stdio" and status.get("kind") != "ok":
            verdict = "runtime_error"  # exited before the test finished
        else:
            verdict = "ok"
    result = status.get("result")
    return {
        "status": verdict,
        "exit_code": code,
        "stdout": bytes(out).decode("utf-8", "replace"),
        "stderr": bytes(err[-4096:]).decode("utf-8", "replace"),
        "result": result if isinstance(result, str) else None,
        "error": str(status.get("error"))[:1000] if status.get("error") is not None else None,
        "elapsed_s": round(elapsed, 4),
    }


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    return out


def _take_test(n: int) -> int:
    """Move the `n` test bytes that follow the request from stdin into a memfd, kernel to kernel."""
    fd = os.memfd_create("test")
    left = n
    while left:
        moved = os.splice(0, fd, left)
        if moved == 0:
            raise EOFError("the pool closed the slot's input in the middle of a test")
        left -= moved
    return fd


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


def worker_main(slot: int, uid: int | None, scratch_mb: int, cgroup_name: str) -> None:
    """Entry point of one slot process; answers requests until its stdin closes or it breaks."""
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s sandbox slot {slot} %(levelname)s %(message)s"
    )
    for name in _WARM_MODULES:  # imported once here, so a program's imports cost nothing
        with contextlib.suppress(ImportError):
            __import__(name)
    out = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints must not corrupt the protocol
    sys.stdout = sys.stderr
    w = Worker(slot, uid, scratch_mb, cgroup_name)
    w.setup()
    if w.cgroup is not None:
        w.cgroup.freeze_baseline()
    gc.freeze()  # the collector in each fork then skips (and so never copies) the worker's own objects
    hello = {"ready": True, "isolation": w.isolation, "cgroups": w.cgroup.paths if w.cgroup else []}
    write_fd(out, hello)
    while not w.broken and (req := read_fd(0)) is not None:
        test_fd = None
        try:
            if req.get("test_bytes") is not None:
                test_fd = _take_test(int(req["test_bytes"]))
            res = w.execute(req, test_fd)
        except Exception as e:  # a bug here is the sandbox's failure, never the program's
            log.exception("slot %d failed", slot)
            res = {"status": "sandbox_error", "error": f"{type(e).__name__}: {e}"}
            w.broken = w.broken or f"an execution failed in the worker ({type(e).__name__}): start afresh"
        finally:
            if test_fd is not None:
                os.close(test_fd)
        if w.broken:
            res["slot_broken"] = w.broken
        write_fd(out, res)
    if w.cgroup is not None:
        w.cgroup.remove()
    if w.broken:
        sys.exit(3)


if __name__ == "__main__":
    _slot, _uid, _scratch = (int(a) for a in sys.argv[1:4])
    worker_main(_slot, None if _uid < 0 else _uid, _scratch, sys.argv[4])
