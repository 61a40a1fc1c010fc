"""The server-side half of execution: a fixed set of slot processes (`sandbox.worker`) and a queue of
free ones; `Pool.run` hands one execution to a free slot and restarts a slot that breaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from sandbox.framing import pack, read_stream

log = logging.getLogger("sandbox")
DEFAULT_UID_BASE = 61000


@dataclass
class _Slot:
    index: int
    uid: int | None
    scratch_mb: int
    proc: asyncio.subprocess.Process | None = None
    isolation: str = "starting"

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sandbox.worker",
            str(self.index),
            str(self.uid if self.uid is not None else -1),
            str(self.scratch_mb),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**30,
        )
        hello = await self._recv()
        self.isolation = hello["isolation"]

    async def _recv(self) -> Any:
        assert self.proc and self.proc.stdout
        return await read_stream(self.proc.stdout)

    async def run(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.proc and self.proc.stdin
        self.proc.stdin.write(pack(req))
        await self.proc.stdin.drain()
        return await asyncio.wait_for(self._recv(), float(req["timeout_s"]) + 30)

    async def stop(self) -> None:
        """Close the slot's input so it cleans up and exits; kill it if it does not."""
        if self.proc and self.proc.returncode is None:
            with contextlib.suppress(Exception):
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@dataclass
class Pool:
    """A fixed set of execution slots; `run` waits for a free one."""

    workers: int
    uid_base: int = field(default_factory=lambda: int(os.environ.get("SANDBOX_UID_BASE", DEFAULT_UID_BASE)))
    scratch_mb: int = 256
    _free: asyncio.Queue | None = None
    _slots: list[_Slot] = field(default_factory=list)

    async def start(self) -> None:
        self._free = asyncio.Queue()
        root = os.geteuid() == 0
        self._slots = [
            _Slot(i, self.uid_base + i if root else None, self.scratch_mb) for i in range(self.workers)
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

    async def run(self, req: dict[str, Any]) -> dict[str, Any]:
        """Execute one request on a free slot; a slot that breaks is restarted and the result is sandbox_error."""
        assert self._free is not None
        slot = await self._free.get()
        try:
            return await slot.run(req)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, BrokenPipeError) as e:
            log.error("slot %d broke (%r); restarting it", slot.index, e)
            await slot.stop()
            await slot.start()
            return {"status": "sandbox_error", "error": f"execution slot failed: {e!r}"}
        finally:
            self._free.put_nowait(slot)

    async def stop(self) -> None:
        await asyncio.gather(*(s.stop() for s in self._slots))
