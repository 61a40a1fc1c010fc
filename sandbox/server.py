"""The HTTP server: a bounded queue in front of a fixed pool of execution slots.

Everything is asynchronous: a batch of judgments fans out into per-test executions that wait for a
free slot, so one slow test holds one slot, never the server.
"""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from sandbox.api import BatchRequest, BatchResponse, JudgeRequest, JudgeResponse, RunCodeRequest
from sandbox.compiler import BuildCache, Failure
from sandbox.judge import judge
from sandbox.languages import available, missing_message, resolve
from sandbox.pool import Pool

log = logging.getLogger("sandbox")


class Admission:
    """Counts judgments in the server; past `limit` new work is refused with 429 instead of queueing forever."""

    def __init__(self, limit: int) -> None:
        self.limit, self.pending = limit, 0

    def take(self, n: int) -> None:
        if self.pending + n > self.limit:
            raise HTTPException(
                429, f"queue full ({self.pending} judgments pending, limit {self.limit}); retry later"
            )
        self.pending += n

    def give(self, n: int) -> None:
        self.pending -= n


def _errors(e: ValidationError | RequestValidationError) -> list[dict[str, Any]]:
    """Validation errors without the offending input, which may be NaN (not JSON) or huge."""
    return [{k: v for k, v in err.items() if k in ("loc", "msg", "type")} for err in e.errors()]


def create_app(workers: int | None = None, queue: int | None = None, url: str = "") -> FastAPI:
    """The FastAPI app; `workers` execution slots (default: one per core), `queue` judgments admitted at once."""
    workers = workers or os.cpu_count() or 1
    pool = Pool(workers)
    admission = Admission(queue or max(4096, 256 * workers))
    builds = BuildCache()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await pool.start()
        languages = await asyncio.to_thread(available)
        log.info(
            "sandbox serving at %s: %d slots, isolation %s", url or "(in process)", workers, pool.isolation
        )
        log.info("languages: %s", ", ".join(f"{k} ({v})" for k, v in languages.items()))
        yield
        await pool.stop()

    app = FastAPI(title="open-qwq sandbox", lifespan=lifespan)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, e: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _errors(e)})

    async def judge_one(body: dict[str, Any] | JudgeRequest) -> JudgeResponse:
        try:
            req = body if isinstance(body, JudgeRequest) else JudgeRequest.model_validate(body)
        except ValidationError as e:
            msg = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
            return JudgeResponse(
                passed=0, total=1, verdicts=["sandbox_error"], reward=0.0, error=f"bad request: {msg}"
            )
        try:
            return await judge(req, pool.run, builds)
        except Exception as e:  # the server's own failure is sandbox_error, never a wrong answer
            log.exception("judging failed")
            n = max(1, len(req.tests)) if req.mode != "assert" else 1
            return JudgeResponse(passed=0, total=n, verdicts=["sandbox_error"] * n, reward=0.0, error=repr(e))

    @app.get("/health")
    async def health() -> JSONResponse:
        down = pool.not_serving
        body = {
            "status": "ok" if not down else ("degraded" if len(down) < workers else "down"),
            "workers": workers,
            "serving": workers - len(down),
            "not_serving": down,
            "busy": pool.busy,
            "pending": admission.pending,
            "queue_limit": admission.limit,
            "isolation": pool.isolation,
            "uid_base": pool.uid_base,  # slots run as uid_base + i, their checkers as uid_base + 500 + i
            "languages": available(),
            "compile_cache": builds.stats(),
        }
        return JSONResponse(body, status_code=200 if len(down) < workers else 503)

    @app.post("/judge", response_model=JudgeResponse)
    async def judge_endpoint(req: JudgeRequest) -> JudgeResponse:
        admission.take(1)
        try:
            return await judge_one(req)
        finally:
            admission.give(1)

    @app.post("/judge_batch", response_model=BatchResponse)
    async def judge_batch(batch: BatchRequest) -> BatchResponse:
        n = len(batch.requests)
        admission.take(n)
        try:
            return BatchResponse(results=list(await asyncio.gather(*(judge_one(b) for b in batch.requests))))
        finally:
            admission.give(n)

    @app.post("/run_code")
    async def run_code(req: RunCodeRequest) -> dict[str, Any]:
        """SandboxFusion-compatible: run a program once (compiled first when it must be) and return its output."""
        lang = resolve(req.language)
        if not lang.in_process and lang.name not in available():
            raise HTTPException(503, missing_message(lang))
        admission.take(1)
        try:
            program: dict[str, Any] = {"code": req.code}
            if not lang.in_process:
                build = await builds.build(lang, req.code, pool.run)
                if isinstance(build, Failure):
                    return _run_code_reply(None, build)
                program = {"code": "", **build.exec_fields(req.memory_limit_MB)}
            res = await pool.run(
                {
                    "mode": "stdio",
                    "stdin": req.stdin or "",
                    "timeout_s": req.run_timeout,
                    "memory_mb": req.memory_limit_MB,
                    "output_bytes": 16 * 2**20,
                    "processes": 64,
                    "file_size_mb": 256,
                    **program,
                }
            )
        finally:
            admission.give(1)
        return _run_code_reply(res, None)

    return app


def _run_code_reply(res: dict[str, Any] | None, failed_build: Failure | None) -> dict[str, Any]:
    """SandboxFusion's `/run_code` answer for one execution, or for a build that never ran."""
    if failed_build is not None:
        compiled = failed_build.verdict == "compile_error"
        return {
            "status": "Failed" if compiled else "SandboxError",
            "message": "" if compiled else failed_build.details,
            "compile_result": {
                "status": "Finished",
                "return_code": 1,
                "stdout": "",
                "stderr": failed_build.details,
            }
            if compiled
            else None,
            "run_result": None,
            "executor_pod_name": None,
            "files": {},
        }
    assert res is not None
    status = str(res.get("status"))
    run_status = {"time_limit": "TimeLimitExceeded", "sandbox_error": "Error"}.get(status, "Finished")
    return {
        "status": "SandboxError"
        if status == "sandbox_error"
        else ("Success" if status == "ok" else "Failed"),
        "message": res.get("error") or "",
        "compile_result": None,
        "run_result": {
            "status": run_status,
            "execution_time": res.get("elapsed_s"),
            "return_code": res.get("exit_code"),
            "stdout": res.get("stdout", ""),
            "stderr": res.get("stderr", ""),
        },
        "executor_pod_name": None,
        "files": {},
    }


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    socket: str | None = None,
    workers: int | None = None,
    queue: int | None = None,
    parent: int | None = None,
) -> None:
    """Run the server in the foreground until interrupted.

    `parent`: stop (as on SIGTERM: slots and their cgroups removed) when that process dies, however it
    dies; a program that starts a server for itself leaves none behind when it is killed.
    """
    import signal

    import uvicorn

    if parent is not None:
        from sandbox import syscalls
        from sandbox.namespaces import prctl

        prctl(syscalls.PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # it died before the line above
            raise SystemExit(f"the parent process {parent} is gone: not serving")

    from sandbox.auth import protect, server_secret

    url = f"unix:{socket}" if socket else f"http://{host}:{port}"
    app = protect(create_app(workers, queue, url=url), server_secret(host, socket))
    if socket:
        uvicorn.run(app, uds=socket, log_level="warning", access_log=False)
    else:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
