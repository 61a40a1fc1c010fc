"""The services a stage's rewards need, made ready before the model loads, and a guard for a run whose
reward keeps failing.

A GRPO stage whose `code_execution` reward has no sandbox, or whose `reward_model` points at a server that
does not answer, would otherwise train to the end on the other rewards alone (every row of the missing one
scores None). `stage_services` runs first in `rl.train`:

- sandbox: the URLs in `sandbox.url` / `SANDBOX_URL` must answer `/health`; with none given and a single
  training process, a local server is started for the run (`python -m sandbox serve`, else one Docker
  replica) and stopped after it; otherwise the stage refuses to start, naming what is missing.
- reward model: an `http(s)://` URL must answer `/health`; a local path must hold a model (`config.json`).

`FailureGuard` then watches every scoring round: a reward that cannot score more than
`reward_failures.max_fraction` of its rows in `reward_failures.patience` rounds in a row stops the run
with `RewardFailureError` (a service died mid-run), instead of letting the model learn without it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rl.recipe import Recipe

log = logging.getLogger("rl.services")
# Seconds a stage waits at start for a service to answer /health. The launcher starts services and waits for
# them before training, so this is a re-check; a sandbox started beside a single process gets as long.
HEALTH_TIMEOUT_S = float(os.environ.get("OPEN_QWQ_HEALTH_TIMEOUT_S", "30"))


class ServiceError(RuntimeError):
    """A service a reward needs is missing or does not answer; the message names it and what to do."""


class RewardFailureError(RuntimeError):
    """A reward failed on most of its rows for several scoring rounds in a row: its service is down."""


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def sandbox_urls(recipe: Recipe) -> list[str]:
    """The sandbox URLs this stage judges on: `sandbox.url`, else `SANDBOX_URL` (comma-separated)."""
    raw = recipe.sandbox.url or os.environ.get("SANDBOX_URL", "")
    return [u.strip() for u in raw.split(",") if u.strip()]


def check_answers(url: str, what: str, fix: str) -> None:
    """Raise ServiceError unless `url` answers GET /health with 200 within HEALTH_TIMEOUT_S."""
    from sandbox import wait_healthy

    try:
        wait_healthy(url, HEALTH_TIMEOUT_S, name=what)
    except (TimeoutError, RuntimeError) as e:
        raise ServiceError(f"{what} at {url} does not answer /health ({e}); {fix}") from None


@contextlib.contextmanager
def local_sandbox() -> Iterator[str]:
    """A sandbox for this process only: the bare server, else one Docker replica; ServiceError when neither."""
    from sandbox import free_port, local_server

    causes = []
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(local_server())
        except RuntimeError as e:
            causes.append(f"python -m sandbox serve: {_first_line(e)}")
        else:
            yield url
            return
    try:
        from sandbox import container

        port = free_port()
        urls = container.up(replicas=1, port=port)
    except Exception as e:  # no engine, no image and no way to build one, ...
        causes.append(f"python -m sandbox up: {type(e).__name__}: {_first_line(e)}")
        raise ServiceError(
            "reward code_execution needs a sandbox: SANDBOX_URL and sandbox.url are unset and none could be "
            f"started here ({'; '.join(causes)}). Start one (`python -m sandbox serve --port 8000`) and set "
            "SANDBOX_URL=http://127.0.0.1:8000, or remove code_execution from rewards:"
        ) from None
    print(
        f"warning: the bare sandbox server could not start ({causes[0]}); using a Docker replica",
        file=sys.stderr,
    )
    try:
        yield urls[0]
    finally:
        container.down(replicas=1, port=port)


def _first_line(e: BaseException) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


@contextlib.contextmanager
def sandbox_service(recipe: Recipe) -> Iterator[None]:
    """Make SANDBOX_URL point at a healthy sandbox for the stage's duration (started here when needed)."""
    urls = sandbox_urls(recipe)
    fix = (
        "start it (`python -m sandbox serve` or `python -m sandbox up`), or fix sandbox.url / SANDBOX_URL, "
        "or unset both to let a single-process run start its own"
    )
    for url in urls:
        check_answers(url, "sandbox for reward code_execution", fix)
    if urls:
        yield
        return
    if world_size() > 1:
        raise ServiceError(
            "reward code_execution needs a sandbox: set sandbox.url or SANDBOX_URL (the launcher does: "
            "make stage1 / python -m rl launch). Each of several training processes does not start its own."
        )
    saved = os.environ.get("SANDBOX_URL")
    with local_sandbox() as url:
        print(f"sandbox: started {url} for code_execution (set SANDBOX_URL to use your own)", file=sys.stderr)
        os.environ["SANDBOX_URL"] = url
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("SANDBOX_URL", None)
            else:
                os.environ["SANDBOX_URL"] = saved


def check_reward_model(path_or_url: str | None, revision: str | None = None) -> None:
    """A reward-model URL must answer /health; a local path must hold a model; a hub id must be in the HF
    cache or on a reachable hub (it loads at first use)."""
    if not path_or_url:
        raise ServiceError(
            "reward reward_model needs reward_model.path_or_url: a local model dir, a hub id, or the URL of "
            "`python -m verifiers.reward_model serve`"
        )
    if path_or_url.startswith(("http://", "https://", "unix:")):
        check_answers(
            path_or_url,
            "reward-model server (reward_model.path_or_url)",
            "start it (`python -m verifiers.reward_model serve --model PATH --port 8001`) or fix the URL",
        )
        return
    from rl.pins import ModelNotFoundError, locate_model

    try:
        locate_model(path_or_url, revision, "reward_model.path_or_url")
    except ModelNotFoundError as e:
        raise ServiceError(
            f"{e}; or train one (`make rm`), or give the URL of a reward-model server"
        ) from None
    local = Path(path_or_url)
    if local.is_dir() and not (local / "config.json").is_file():
        raise ServiceError(
            f"reward_model.path_or_url {path_or_url} is not a model directory (no config.json): train one "
            "(`make rm`), give a hub id, or the URL of a running reward-model server"
        )


@contextlib.contextmanager
def stage_services(recipe: Recipe) -> Iterator[None]:
    """Everything the stage's rewards call, ready (or a ServiceError) before any model is loaded."""
    names = {r.name for r in recipe.rewards} if recipe.trainer == "grpo" else set()
    with contextlib.ExitStack() as stack:
        if "reward_model" in names:
            check_reward_model(recipe.reward_model.path_or_url, recipe.reward_model.revision)
        if "code_execution" in names:
            stack.enter_context(sandbox_service(recipe))
        yield


@dataclass
class FailureGuard:
    """Stops a run whose reward cannot score more than `max_fraction` of its rows `patience` rounds in a row."""

    max_fraction: float = 0.5
    patience: int = 3
    streaks: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def observe(self, name: str, failed: int, owned: int) -> None:
        """One scoring round of reward `name`: `failed` of the `owned` rows it should score got None."""
        if owned <= 0 or self.patience <= 0:
            return
        with self.lock:
            bad = failed / owned > self.max_fraction
            streak = self.streaks[name] = self.streaks.get(name, 0) + 1 if bad else 0
        if streak >= self.patience:
            raise RewardFailureError(
                f"reward {name} could not score {failed} of its {owned} rows, and more than "
                f"{self.max_fraction:.0%} of them in each of the last {streak} scoring rounds "
                f"(reward_failures.max_fraction={self.max_fraction}, reward_failures.patience={self.patience}); "
                "the service behind it is down or broken (see the warnings above). The run stops here instead "
                "of training without it; fix the service and start the same command again to resume"
            )
