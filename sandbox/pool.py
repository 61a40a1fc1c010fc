"""The server-side half of execution: a fixed set of slot processes (`sandbox.worker`) and a queue of
free ones. `Pool.run` hands one execution to a free slot; a slot found dead is started again before it
serves, and one that breaks during an execution is restarted after it (that execution: sandbox_error).

Slots start with a minimal environment of their own, so nothing of the server's environment (tokens on
a cluster) is in any process an execution is forked from.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox import cgroups
from sandbox.child import ENVIRONMENT
from sandbox.framing import pack, read_stream
from sandbox.namespaces import prctl
from sandbox.syscalls import PR_SET_DUMPABLE

log = logging.getLogger("sandbox")
DEFAULT_UID_BASE = 100000  # far from system and login uids (and from older servers' fixed 61000)
UID_STRIDE = 1000  # a server's slots use base + i, their checkers base + 500 + i
_UID_LOCKS = "/tmp/open-qwq-sandbox-uids"


def claim_uid_base(workers: int) -> tuple[int, int | None]:
    """A uid range no other sandbox server on this machine uses: (base, the lock's descriptor).

    Slots kill every process of their uid after each execution, so two servers sharing a range would
    kill each other's executions. Each server holds an flock on its range's file for its lifetime (the
    kernel drops it when the server dies, however it dies). SANDBOX_UID_BASE chooses one explicitly.
    """
    if "SANDBOX_UID_BASE" in os.environ:
        return int(os.environ["SANDBOX_UID_BASE"]), None
    if workers > UID_STRIDE // 2:
        raise ValueError(f"at most {UID_STRIDE // 2} workers per server (asked for {workers})")
    os.makedirs(_UID_LOCKS, mode=0o700, exist_ok=True)
    for k in range(4096):
        base = DEFAULT_UID_BASE + k * UID_STRIDE
        fd = os.open(f"{_UID_LOCKS}/{base}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return base, fd
    raise RuntimeError("no free uid range for the sandbox's slots")


_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


def _slot_environment() -> dict[str, str]:
    """What a slot process starts with: a PATH, a locale and where the `sandbox` package is."""
    return {**ENVIRONMENT, "PYTHONPATH": _PACKAGE_ROOT, "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass
class _Slot:
    index: int
    uid: int | None
    scratch_mb: int
    cgroup_name: str
    proc: asyncio.subprocess.Process | None = None
    isolation: str = "starting"
    cgroups: list[str] = field(default_factory=list)
    restarting: bool = False

    @property
    def serving(self) -> bool:
        return self.proc is not None and self.proc.returncode is None and not self.restarting

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sandbox.worker",
            str(self.index),
            str(self.uid if self.uid is not None else -1),
            str(self.scratch_mb),
            self.cgroup_name,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**30,
            env=_slot_environment(),
            cwd="/",
        )
        hello = await self._recv()
        self.isolation = hello["isolation"]
        self.cgroups = hello.get("cgroups", [])

    async def restart(self) -> None:
        self.restarting = True
        try:
            await self.stop()
            await self.start()
        finally:
            self.restarting = False

    async def _recv(self) -> Any:
        assert self.proc and self.proc.stdout
        return await read_stream(self.proc.stdout)

    async def run(self, req: dict[str, Any]) -> dict[str, Any]:
        """One execution; assert mode's test follows the request as raw bytes (see `sandbox.worker`)."""
        assert self.proc and self.proc.stdin
        test = req.get("test")
        if test is not None:
            data = str(test).encode()
            head = {k: v for k, v in req.items() if k != "test"}
            self.proc.stdin.write(pack({**head, "test_bytes": len(data)}) + data)
        else:
            self.proc.stdin.write(pack(req))
        await self.proc.stdin.drain()
        return await asyncio.wait_for(self._recv(), float(req["timeout_s"]) + 30)

    async def stop(self) -> None:
        """Close the slot's input so it cleans up and exits; kill it if it does not; remove its cgroups."""
        if self.proc and self.proc.returncode is None:
            with contextlib.suppress(Exception):
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        for path in self.cgroups:  # the worker removes them as it exits; this covers one that was killed
            await asyncio.to_thread(cgroups.kill_and_remove, path)


@dataclass
class Pool:
    """A fixed set of execution slots; `run` waits for a free one."""

    workers: int
    uid_base: int | None = None  # claimed at start (see `claim_uid_base`)
    scratch_mb: int = 256
    _uid_lock: int | None = None
    _free: asyncio.Queue | None = None
    _slots: list[_Slot] = field(default_factory=list)

    async def start(self) -> None:
        self._free = asyncio.Queue()
        root = os.geteuid() == 0
        if not root:  # programs share our uid here: they must not read this process's memory or environment
            prctl(PR_SET_DUMPABLE, 0)
        token = secrets.token_hex(4)
        if root and self.uid_base is None:
            self.uid_base, self._uid_lock = claim_uid_base(self.workers)
        base = self.uid_base
        self._slots = [
            _Slot(
                i,
                base + i if root and base is not None else None,
                self.scratch_mb,
                f"{cgroups.PREFIX}{token}-{i}",
            )
            for i in range(self.workers)
        ]
        await asyncio.gather(*(s.start() for s in self._slots))
        for s in self._slots:
            self._free.put_nowait(s)

    @property
    def isolation(self) -> str:
        return self._slots[0].isolation if self._slots else "not started"

    @property
    def busy(self) -> int:
        return self.workers - (self._free.qsize() if self._free else 0)

    @property
    def not_serving(self) -> list[int]:
        """Slots whose process is dead or being restarted (a busy slot is serving)."""
        return [s.index for s in self._slots if not s.serving]

    async def run(self, req: dict[str, Any]) -> dict[str, Any]:
        """Execute one request on a free slot; a slot that breaks is restarted and the result is sandbox_error."""
        assert self._free is not None
        slot = await self._free.get()
        try:
            if not slot.serving:  # died while idle, or a restart failed: replace it before it serves
                log.error("slot %d is not running; starting a new one", slot.index)
                await slot.restart()
            res = await slot.run(req)
            if res.pop("slot_broken", None):  # it answered, then exited: it cannot serve again
                log.error("slot %d cannot be reset; replacing it", slot.index)
                await slot.restart()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, BrokenPipeError, OSError) as e:
            log.error("slot %d broke (%r); restarting it", slot.index, e)
            with contextlib.suppress(Exception):
                await slot.restart()
            return {"status": "sandbox_error", "error": f"execution slot failed: {e!r}"}
        finally:
            self._free.put_nowait(slot)
        return res

    async def stop(self) -> None:
        await asyncio.gather(*(s.stop() for s in self._slots))
        if self._uid_lock is not None:
            os.close(self._uid_lock)  # the range is free again
            self._uid_lock = None
