"""Reward registry: recipe reward names -> TRL reward functions from `verifiers/`.

Every function returned by `build_rewards` is a TRL reward function named after its recipe name (so TRL
logs `rewards/<name>/mean`), wrapped here and only here:

- `routed`: only rows whose `task` the reward owns reach the verifier (others score None, which TRL
  nan-aggregates); rows it cannot score are counted (`verifiers.failures`) and logged every step as
  `rewards/<name>/failed` through TRL's `log_metric` hook; a reward that raises scores its rows None
  (not 0) and counts them all as failed. Rows a verifier scored but noted (`verifiers.failures.note`,
  e.g. code in another language than the row asks) are logged as `rewards/<name>/<kind>`.
- `overlapped` (the SLOW rewards): the routed reward made `async`, run in a worker thread, so TRL's
  GRPOTrainer (which gathers async reward functions with `asyncio.gather`) scores math, sandbox and
  reward-model rows at the same time instead of one function after another.

Verifiers are imported inside `resolve`, so a missing optional dependency fails only when its reward
is used.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import math
import os
import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from verifiers import failures

if TYPE_CHECKING:
    from rl.recipe import Recipe, RewardSpec

log = logging.getLogger("rl.rewards")

RewardFunc = Callable[..., list[float | None]]

# recipe name -> "module:attribute". reward_model's is a factory, called with the recipe's reward_model section.
REGISTRY: dict[str, str] = {
    "math_accuracy": "verifiers.math:math_reward",
    "code_execution": "verifiers.code:code_reward",
    "ifeval": "verifiers.rules.ifeval:ifeval_reward",
    "format": "verifiers.rules.format:format_reward",
    "language": "verifiers.rules.language:language_consistency_reward",
    "repetition": "verifiers.rules.repetition:repetition_reward",
    "overlong": "verifiers.rules.length:overlong_penalty_reward",
    "tool_call": "verifiers.rules.tool_call:tool_call_reward",
    "reward_model": "verifiers.reward_model:make_reward_function",
}
# Rewards that wait on sympy worker processes, the sandbox or a reward-model server: overlapped with each
# other. The rule rewards take microseconds per row and stay inline (a thread hop would cost more).
SLOW = {"math_accuracy", "code_execution", "reward_model"}

# Rows each reward scores by default, by the `task` column (RewardSpec.tasks overrides); None: every row.
# Other rows get None without calling the verifier, so TRL's nan-aware means count only owned rows.
TASKS: dict[str, list[str] | None] = {
    "math_accuracy": ["math"],
    "code_execution": ["code"],
    "ifeval": ["ifeval"],
    "tool_call": ["tool"],
}


def resolve(name: str, recipe: Recipe | None = None) -> RewardFunc:
    """The plain verifier function for a registry name (a factory is called with the recipe's config)."""
    if name not in REGISTRY:
        raise KeyError(f"unknown reward {name!r}; registered: {', '.join(REGISTRY)}")
    module_name, _, attr = REGISTRY[name].partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise RuntimeError(f"reward {name!r} needs {REGISTRY[name]}, which cannot be imported: {e}") from e
    if name == "reward_model":
        section = recipe.reward_model if recipe is not None else None
        if section is None or not section.path_or_url:
            raise RuntimeError("reward reward_model needs reward_model.path_or_url in the recipe")
        fn = fn(section.path_or_url, batch_size=section.batch_size, normalize=section.normalize)
    return fn


def build_rewards(recipe: Recipe) -> tuple[list[Callable[..., Any]], list[float]]:
    """The recipe's reward functions (named, routed, kwargs bound; the SLOW ones overlapped) and weights."""
    if recipe.sandbox.url and any(r.name == "code_execution" for r in recipe.rewards):
        os.environ["SANDBOX_URL"] = recipe.sandbox.url
    funcs = [
        (overlapped if spec.name in SLOW else routed)(
            bind(resolve(spec.name, recipe), spec), spec.name, spec.tasks or TASKS.get(spec.name)
        )
        for spec in recipe.rewards
    ]
    return funcs, [spec.weight for spec in recipe.rewards]


def bind(fn: RewardFunc, spec: RewardSpec) -> RewardFunc:
    """Bind the recipe's per-reward kwargs with functools.partial (TRL names a partial by its func)."""
    return functools.partial(fn, **spec.kwargs) if spec.kwargs else fn


# Failures drained from `verifiers.failures` but owned by a reward that has not picked them up yet
# (rewards run concurrently; whichever finishes first drains everyone's counts).
_unclaimed: Counter[str] = Counter()
_unclaimed_lock = threading.Lock()


_unclaimed_notes: Counter[tuple[str, str]] = Counter()


def _claim(names: set[str]) -> int:
    with _unclaimed_lock:
        _unclaimed.update(failures.drain())
        return sum(_unclaimed.pop(n, 0) for n in names)


def _claim_notes(names: set[str]) -> dict[str, int]:
    """The `verifiers.failures.note` counts of these reward functions, by kind."""
    with _unclaimed_lock:
        _unclaimed_notes.update(failures.drain_notes())
        out: Counter[str] = Counter()
        for reward, kind in [key for key in _unclaimed_notes if key[0] in names]:
            out[kind] += _unclaimed_notes.pop((reward, kind))
        return dict(out)


def _inner_name(fn: Callable) -> str:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__name__", type(fn).__name__)


def routed(fn: RewardFunc, name: str, tasks: list[str] | None = None) -> Callable[..., list[float | None]]:
    """A sync TRL reward named `name`: routed by task, exceptions scored None, failures logged per call.

    With `tasks`, only rows whose `task` column is in it reach `fn` (list kwargs sliced to those rows);
    the others score None. Without a `task` column every row reaches `fn`.
    """
    owners = {name, _inner_name(fn)}
    wanted = set(tasks) if tasks is not None else None

    def reward(completions: list, **kwargs: Any) -> list[float | None]:
        n = len(completions)
        if kwargs.get("prompt_messages") is not None:  # rl.data renders prompts to text for generation;
            kwargs["prompts"] = kwargs.pop(
                "prompt_messages"
            )  # verifiers see the conversation, as TRL would give it
        row_tasks = kwargs.get("task")
        rows = (
            list(range(n))
            if wanted is None or row_tasks is None
            else [i for i, t in enumerate(row_tasks) if t in wanted]
        )
        values: list[float | None] = [None] * n
        if rows:
            try:
                got = list(fn([completions[i] for i in rows], **_rows(kwargs, rows, n)))
                if len(got) != len(rows):
                    raise ValueError(f"returned {len(got)} values for {len(rows)} completions")
                for i, v in zip(rows, got, strict=True):
                    values[i] = None if v is None or math.isnan(float(v)) else float(v)
            except Exception as e:  # a reward that cannot run scores None, never a silent 0
                failures.record(name, f"{type(e).__name__}: {e}", len(rows))
        failed, notes = _claim(owners), _claim_notes(owners)
        if kwargs.get("log_metric") is not None:
            kwargs["log_metric"](f"rewards/{name}/failed", float(failed))
            for kind, count in notes.items():  # e.g. rewards/code_execution/wrong_language
                kwargs["log_metric"](f"rewards/{name}/{kind}", float(count))
        return values

    reward.__name__ = reward.__qualname__ = name
    reward.__doc__ = f"{name}: {_inner_name(fn)} routed to tasks {tasks or 'all'} (rl.rewards.routed)."
    return reward


def overlapped(fn: RewardFunc, name: str, tasks: list[str] | None = None) -> Callable[..., Any]:
    """`routed`, made async and run in a worker thread, so TRL's asyncio.gather overlaps the slow rewards."""
    sync = routed(fn, name, tasks)
    wanted = set(tasks) if tasks is not None else None

    async def reward(completions: list, **kwargs: Any) -> list[float | None]:
        row_tasks = kwargs.get("task")
        if wanted is not None and row_tasks is not None and wanted.isdisjoint(row_tasks):
            return sync(completions, **kwargs)  # owns no row of this batch: no thread hop
        return await asyncio.to_thread(sync, completions, **kwargs)

    reward.__name__ = reward.__qualname__ = name
    reward.__doc__ = sync.__doc__
    reward.sync = sync  # type: ignore[attr-defined]  # the same reward, called inline (rl.bench's peer)
    return reward


def _rows(kwargs: dict[str, Any], rows: list[int], n: int) -> dict[str, Any]:
    """Per-row kwargs (lists of length n) cut down to `rows`; the rest (trainer_state, hooks) as they are."""
    if len(rows) == n:
        return kwargs
    out = {k: [v[i] for i in rows] if isinstance(v, list) and len(v) == n else v for k, v in kwargs.items()}
    log_extra = kwargs.get("log_extra")
    if callable(log_extra):  # TRL's completions-table hook wants one value per completion of the batch

        def scatter(column: str, values: list) -> None:
            full = [None] * n
            for i, v in zip(rows, values, strict=True):
                full[i] = v
            log_extra(column, full)

        out["log_extra"] = scatter
    return out


def call_sync(reward: Callable[..., Any], completions: list, **kwargs: Any) -> list[float | None]:
    """Call a reward built here outside a trainer (tests, evaluation): runs its coroutine to completion."""
    result = reward(completions, **kwargs)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result
