"""Reward-model HTTP server: one process holds the model on its device; trainers on other processes or
nodes score through `RewardModelScorer("http://host:port")`.

    GET  /health -> {"status": "ok", "model": ..., "device": ...}
    POST /score  {"prompts": [str | messages], "completions": [str | messages]}
                 -> {"scores": [float], "cut": [bool]}
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from sandbox import free_port, wait_healthy
from verifiers.reward_model.scorer import RewardModelScorer


class ScoreRequest(BaseModel):
    prompts: list[Any]
    completions: list[Any]


class ScoreResponse(BaseModel):
    scores: list[float]
    cut: list[bool]  # the row's text was longer than --max-length: read without the start of its prompt


def create_app(scorer: RewardModelScorer) -> FastAPI:
    app = FastAPI(title="open-qwq reward model")

    @app.get("/health")
    def health() -> dict:
        return scorer.health()

    @app.post("/score", response_model=ScoreResponse)
    def score(request: ScoreRequest) -> ScoreResponse:
        if len(request.prompts) != len(request.completions):
            raise HTTPException(
                422, f"{len(request.prompts)} prompts for {len(request.completions)} completions"
            )
        scores, cut = scorer.score_and_cut(request.prompts, request.completions)
        return ScoreResponse(scores=scores, cut=cut)

    return app


def serve(
    model: str,
    host: str = "127.0.0.1",
    port: int = 8001,
    socket: str | None = None,
    device: str | None = None,
    batch_size: int = 8,
    max_length: int | None = None,
    revision: str | None = None,
) -> None:
    """Load the model (a hub id at `revision`) and serve it in the foreground (uvicorn)."""
    import uvicorn

    from sandbox.auth import protect, server_secret

    secret = server_secret(host, socket)  # before loading a model: a refused bind fails at once
    kwargs = {"max_length": max_length} if max_length else {}
    scorer = RewardModelScorer(model, device=device, batch_size=batch_size, revision=revision, **kwargs)
    app = protect(create_app(scorer), secret)
    if socket:
        uvicorn.run(app, uds=socket, log_level="warning")
    else:
        uvicorn.run(app, host=host, port=port, log_level="warning")


@contextlib.contextmanager
def running_server(model: str, *serve_args: str, timeout_s: float = 120.0) -> Iterator[RewardModelScorer]:
    """`python -m verifiers.reward_model serve` on a free 127.0.0.1 port, yielding a healthy HTTP scorer."""
    port = free_port()
    cmd = [sys.executable, "-m", "verifiers.reward_model", "serve", "--model", model, "--port", str(port)]
    server = subprocess.Popen([*cmd, *serve_args])
    try:
        wait_healthy(f"http://127.0.0.1:{port}", timeout_s, server, name="reward model")
        yield RewardModelScorer(f"http://127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(timeout=30)
