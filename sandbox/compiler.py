"""Compile a submission once, then hand every one of its tests the same program.

The compile step is an execution like any other (same slot, namespaces, uid, seccomp filter, cgroup),
with limits of its own: compilers need more memory, processes and time than the programs they build.
Its result is kept in a bounded cache keyed by the language, the compiler's flags and the source, so the
identical programs a GRPO group often produces, and every test of one submission, compile once.
A compiler's refusal is `compile_error` with its first lines as details; a failure of the sandbox
itself is `sandbox_error` and is never cached.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.languages import Language
from sandbox.workfiles import COLLECT_LIMIT

if TYPE_CHECKING:
    from sandbox.api import Verdict

Runner = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

# Compile limits: rustc and g++ on <bits/stdc++.h> take seconds and hundreds of MiB; LLVM and g++'s
# helpers (cc1plus, as, ld) run as several processes and threads.
COMPILE_TIMEOUT_S = 60.0
COMPILE_MEMORY_MB = 2048
COMPILE_ADDRESS_SPACE_MB = 8192  # rustc maps far more than it touches; the cgroup bounds what it uses
COMPILE_PROCESSES = 256
COMPILE_OUTPUT_BYTES = 1 << 20
COMPILE_FILE_MB = 256
DETAIL_LINES, DETAIL_CHARS = 20, 2000  # the compiler's first lines, as the response's details


@dataclass(frozen=True)
class Build:
    """What each test of a submission runs: files for its working directory and the argv to execute."""

    language: str  # picks the child's runner (sandbox.runners)
    files: dict[str, str]  # name -> base64
    argv: tuple[str, ...]
    reserve_mb: int

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.files.values())

    def exec_fields(self, memory_mb: int) -> dict[str, Any]:
        """The execution request fields that run this build under `memory_mb`."""
        return {
            "language": self.language,
            "argv": [a.replace("{mem}", str(memory_mb)) for a in self.argv],
            "files": self.files,
            "address_space_mb": memory_mb + self.reserve_mb,
        }


@dataclass(frozen=True)
class Failure:
    """The submission cannot run: `compile_error` (the compiler said no) or `sandbox_error` (we failed)."""

    verdict: Verdict
    details: str
    cacheable: bool = True

    size = 0


def first_lines(text: str) -> str:
    """The head of a compiler's output: the first error is what the reader needs."""
    lines = text.strip("\n").splitlines()[:DETAIL_LINES]
    return "\n".join(lines)[:DETAIL_CHARS]


def _b64(text: str) -> str:
    # A lone surrogate (JSON allows "\ud800") becomes "?": the compiler judges it, never the server.
    return base64.b64encode(text.encode("utf-8", "replace")).decode()


@dataclass
class BuildCache:
    """Compiles through `run` (the pool), remembering recent results (bounded by entries and bytes)."""

    max_entries: int = 1024
    max_bytes: int = 256 * 2**20
    hits: int = 0
    compiles: int = 0
    _done: OrderedDict[str, Build | Failure] = field(default_factory=OrderedDict)
    _pending: dict[str, asyncio.Task] = field(default_factory=dict)
    _bytes: int = 0

    @staticmethod
    def key(lang: Language, code: str) -> str:
        h = hashlib.sha256()
        for part in (lang.name, "\0".join(lang.compile), code):
            h.update(part.encode("utf-8", "surrogatepass") + b"\x00\x01")
        return h.hexdigest()

    async def build(self, lang: Language, code: str, run: Runner) -> Build | Failure:
        """The runnable build of `code`, compiling it only when no recent identical one exists."""
        key = self.key(lang, code)
        if key in self._done:
            self._done.move_to_end(key)
            self.hits += 1
            return self._done[key]
        task = self._pending.get(key)
        if task is None:  # its own task: a requester that goes away does not cancel the others' compile
            self.compiles += 1
            task = self._pending[key] = asyncio.create_task(self._compile(key, lang, code, run))
        else:  # the same source is compiling right now: share its result
            self.hits += 1
        return await asyncio.shield(task)

    async def _compile(self, key: str, lang: Language, code: str, run: Runner) -> Build | Failure:
        try:
            result = await compile_once(lang, code, run)
        finally:
            del self._pending[key]
        if not isinstance(result, Failure) or result.cacheable:
            self._remember(key, result)
        return result

    def _remember(self, key: str, result: Build | Failure) -> None:
        self._done[key] = result
        self._bytes += result.size
        while self._done and (len(self._done) > self.max_entries or self._bytes > self.max_bytes):
            _, old = self._done.popitem(last=False)
            self._bytes -= old.size

    def stats(self) -> dict[str, int]:
        return {
            "entries": len(self._done),
            "bytes": self._bytes,
            "hits": self.hits,
            "compiles": self.compiles,
        }


async def compile_once(lang: Language, code: str, run: Runner) -> Build | Failure:
    """Run the language's compile step in a slot and turn its outcome into a build or a failure."""
    source = {lang.source: _b64(code)}
    if not lang.compile:
        return Build(lang.name, source, lang.run, lang.reserve_mb)
    res = await run(
        {
            "language": lang.name,
            "code": "",
            "mode": "stdio",
            "stdin": "",
            "argv": list(lang.compile),
            "files": source,
            "collect": [lang.artifact] if lang.artifact else [],
            "merge_stderr": True,
            "timeout_s": COMPILE_TIMEOUT_S,
            "memory_mb": COMPILE_MEMORY_MB,
            "address_space_mb": COMPILE_ADDRESS_SPACE_MB,
            "output_bytes": COMPILE_OUTPUT_BYTES,
            "processes": COMPILE_PROCESSES,
            "file_size_mb": COMPILE_FILE_MB,
        }
    )
    status, output = res.get("status"), str(res.get("stdout") or "")
    if status == "ok":
        if lang.artifact is None:  # node: the syntax check is the whole compile step; the source runs
            return Build(lang.name, source, lang.run, lang.reserve_mb)
        binary = (res.get("files") or {}).get(lang.artifact)
        if binary is None:  # the compiler's success leaves one, unless it is past what a test may carry
            return Failure("compile_error", f"the program is larger than {COLLECT_LIMIT >> 20} MiB")
        return Build(lang.name, {lang.artifact: binary}, lang.run, lang.reserve_mb)
    if status == "sandbox_error":
        return Failure("sandbox_error", str(res.get("error") or "compile step failed"), cacheable=False)
    if status == "time_limit":  # its time ran out, or a kill (SIGKILL) ended it: may be load, so never cached
        took = float(res.get("elapsed_s") or 0)
        why = (
            f"took longer than {COMPILE_TIMEOUT_S:.0f} s"
            if took >= COMPILE_TIMEOUT_S
            else f"was killed after {took:.1f} s"
        )
        return Failure("compile_error", f"the compiler {why}", False)
    if status == "memory_limit":  # not cached either: an OOM kill is the one verdict load can blur
        return Failure("compile_error", f"the compiler needed more than {COMPILE_MEMORY_MB} MiB", False)
    head = first_lines(output) or f"{lang.tool} exited with status {res.get('exit_code')}"
    if status == "output_limit":
        head += "\n[compiler output truncated]"
    return Failure("compile_error", head)
