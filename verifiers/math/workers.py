"""A persistent pool of worker processes that run sympy under a hard per-task timeout.

Why processes and not `signal.alarm`: alarms only work in the main thread and cannot interrupt a
C-level bignum computation; killing a process always works. Workers are forked from a forkserver that
has already imported sympy, so starting or replacing one costs milliseconds, and the parent may be
multithreaded (a trainer) without fork hazards. A worker that overruns its deadline is killed and
replaced in the background.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import resource
import sys
import threading
import time
import types
from collections import deque
from multiprocessing.connection import Connection, wait
from typing import cast

_COLD_START_S = 120.0
_DEPTH = 2  # tasks queued per worker, so a worker never idles while this thread is descheduled
_MEMORY_LIMIT = 4 << 30  # a sympy bomb fails with MemoryError instead of swapping the machine
_main_lock = threading.Lock()
_PRELOAD = ["verifiers.math.equivalence", "verifiers.math.parse", "verifiers.math.worker"]


def _serve(conn: Connection) -> None:
    """Worker loop: receive (gold_text, answer_text), send back True / False / None."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_LIMIT, _MEMORY_LIMIT))
    from verifiers.math.worker import decide

    decide("1", "1")  # warm the LaTeX parser before announcing readiness
    conn.send("ready")
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            result = decide(*task)
        except BaseException:  # noqa: BLE001 - any failure on model text is a wrong answer, never a crash
            result = False
        conn.send(result)


class Worker:
    """One worker process and the pipe to it."""

    def __init__(self, ctx: mp.context.ForkServerContext) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True)
        # multiprocessing re-imports the parent's __main__ in the child: a trainer script would load
        # torch into every worker, and a script read from stdin cannot be re-imported at all. The
        # worker needs only this package, so the child is started against a bare __main__.
        with _main_lock:
            real_main = sys.modules["__main__"]
            sys.modules["__main__"] = types.ModuleType("__main__")
            try:
                self.proc.start()
            finally:
                sys.modules["__main__"] = real_main
        child.close()
        self.ready = False

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.join(timeout=0.1)
        except (OSError, ValueError, AssertionError):
            pass
        self.conn.close()


class Pool:
    """Idle workers shared by every caller and thread; each task runs on a worker it holds alone."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._cond = threading.Condition()
        self._idle: list[Worker] = []
        self._starting = 0
        self._waiting = 0
        self._started = False  # whether a worker has ever been ready: until then the pool is starting
        self._pid = os.getpid()
        self.killed = 0  # workers killed for overrunning a task or dying: the benchmark reports it
        self._retired_cpu = 0.0  # CPU seconds of workers stopped so far, so `cpu_seconds` never loses them
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload(_PRELOAD)

    def _spawn(self) -> None:
        try:
            w = Worker(self._ctx)
            if not w.conn.poll(120) or w.conn.recv() != "ready":
                raise RuntimeError("math worker did not start")
            w.ready = True
        except Exception:
            with self._cond:
                self._starting -= 1
                self._cond.notify_all()
            return
        with self._cond:
            self._starting -= 1
            self._started = True
            self._idle.append(w)
            self._cond.notify_all()

    def _start_one(self) -> None:
        self._starting += 1
        threading.Thread(target=self._spawn, daemon=True, name="math-worker-spawn").start()

    def acquire(self, deadline: float) -> Worker | None:
        """An idle worker, starting one if needed; None if none is ready by `deadline`."""
        with self._cond:
            self._waiting += 1
            try:
                while True:
                    while self._idle:
                        w = self._idle.pop()
                        if w.proc.is_alive():
                            return w
                        w.kill()
                    if self._starting < self._waiting:
                        self._start_one()
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    self._cond.wait(left)
            finally:
                self._waiting -= 1

    def try_acquire(self) -> Worker | None:
        """An idle worker now, or None (and one more starting in the background)."""
        with self._cond:
            while self._idle:
                w = self._idle.pop()
                if w.proc.is_alive():
                    return w
                w.kill()
            if self._starting == 0:
                self._start_one()
            return None

    def release(self, w: Worker) -> None:
        with self._cond:
            if len(self._idle) < self.size and w.proc.is_alive():
                self._idle.append(w)
                self._cond.notify_all()
                return
        self._retire(w)

    def _retire(self, w: Worker) -> None:
        self._retired_cpu += _process_cpu(w.proc.pid)
        w.kill()

    def discard(self, w: Worker) -> None:
        """Kill a worker that overran or died; keep the pool at strength in the background."""
        self.killed += 1
        self._retire(w)
        with self._cond:
            if len(self._idle) + self._starting < self.size:
                self._start_one()

    def cpu_seconds(self) -> float:
        """CPU time used so far by the idle workers and every worker stopped before (from /proc; 0 where
        unavailable), for benchmarks."""
        with self._cond:
            pids = [w.proc.pid for w in self._idle]
        return self._retired_cpu + sum(_process_cpu(pid) for pid in pids)

    def warm(self, n: int) -> None:
        """Start workers up to `n` without waiting for them."""
        with self._cond:
            while len(self._idle) + self._starting < min(n, self.size):
                self._start_one()

    def run(self, tasks: list[tuple], timeout_s: float, workers: int, deadline: float | None = None) -> list:
        """Results of `decide(*task)` in order; False for a task that overran `timeout_s` or crashed.

        With `deadline`, every task must finish by it (a single `verify` call); otherwise each task gets
        `timeout_s` from the moment its worker starts it. Each worker holds up to `_DEPTH` tasks so it
        never waits for this thread between tasks; a worker that overruns is killed and its queued
        tasks go to another worker.
        """
        results: list = [False] * len(tasks)
        if not tasks:
            return results
        workers = max(1, min(workers, len(tasks)))
        self.warm(workers)
        # Every call waits for a cold pool (forkserver start, sympy import, parser warm-up) however long that
        # takes on a busy machine: a process's first `verify` gets its whole deadline once a worker is
        # ready, or a right answer would score False because the pool was still starting.
        cold, asked = not self._started, time.monotonic()
        first = self.acquire(
            deadline if deadline is not None and not cold else asked + max(timeout_s, _COLD_START_S)
        )
        if first is None:
            return results
        if deadline is not None and cold:
            deadline += time.monotonic() - asked
        held: dict[Connection, Worker] = {first.conn: first}
        queued: dict[Connection, deque[int]] = {first.conn: deque()}
        started: dict[Connection, float] = {}
        pending = deque(range(len(tasks)))
        stalled_since = time.monotonic()

        def drop(conn: Connection, requeue: bool) -> None:
            w = held.pop(conn)
            q = queued.pop(conn)
            started.pop(conn, None)
            if q and not requeue:
                q.popleft()  # the task that overran scores False
            pending.extendleft(reversed(q))
            self.discard(w)

        try:
            while pending or any(queued.values()):
                while len(held) < workers and len(held) < len(pending) + 1:
                    extra = self.try_acquire()
                    if extra is None:
                        break
                    held[extra.conn] = extra
                    queued[extra.conn] = deque()
                now = time.monotonic()
                for conn in list(held):
                    while pending and len(queued[conn]) < _DEPTH:
                        i = pending.popleft()
                        try:
                            conn.send(tasks[i])
                        except (OSError, ValueError):
                            pending.appendleft(i)
                            drop(conn, requeue=True)
                            break
                        if not queued[conn]:
                            started[conn] = now
                        queued[conn].append(i)
                busy = [c for c, q in queued.items() if q]
                if not busy:
                    if not held and time.monotonic() - stalled_since > max(timeout_s, _COLD_START_S):
                        break  # no worker could be started: the rest score False
                    w = self.acquire(time.monotonic() + 0.05)
                    if w is not None:
                        held[w.conn] = w
                        queued[w.conn] = deque()
                    continue
                limit = deadline if deadline is not None else min(started[c] for c in busy) + timeout_s
                wait_s = max(0.0, limit - now)
                if len(held) < workers and pending:
                    wait_s = min(wait_s, 0.02)
                for ready in wait(busy, timeout=wait_s):
                    conn = cast(Connection, ready)  # wait() hands back the connections it was given
                    try:
                        r = conn.recv()
                    except (EOFError, OSError):
                        drop(conn, requeue=False)
                        continue
                    results[queued[conn].popleft()] = r
                    started[conn] = time.monotonic()
                    stalled_since = started[conn]
                now = time.monotonic()
                for conn in [c for c, q in queued.items() if q]:
                    limit = deadline if deadline is not None else started[conn] + timeout_s
                    if now >= limit:
                        drop(conn, requeue=False)
                        stalled_since = now
                if deadline is not None and now >= deadline:
                    break
        finally:
            for conn, q in list(queued.items()):
                if q:
                    drop(conn, requeue=True)
            for w in held.values():
                self.release(w)
        return results


def _process_cpu(pid: int | None) -> float:
    """User + system CPU seconds of a live process (0 where /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


_pool: Pool | None = None
_pool_lock = threading.Lock()


def get_pool() -> Pool:
    """The process-wide pool, created lazily (and again after a fork into a new process)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._pid != os.getpid():
            _pool = Pool(os.cpu_count() or 1)
        return _pool
