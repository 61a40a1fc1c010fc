"""Reward registry: one table (`REWARDS`) of recipe reward names -> TRL reward functions from `verifiers/`.

Each entry names the function, the rows it owns (`task`), whether it is slow (overlapped), and where its
settings come from: always the recipe (a section such as `sandbox`, or the reward's own `kwargs`).

Every function returned by `build_rewards` is a TRL reward function named after its recipe name (so TRL
logs `rewards/<name>/mean`), wrapped here and only here:

- `routed`: only rows whose `task` the reward owns reach the verifier (others score None, which TRL
  nan-aggregates); rows it cannot score are counted (`verifiers.failures`) and logged every step as
  `rewards/<name>/failed` through TRL's `log_metric` hook (the step's total over all ranks); a reward that raises scores its rows None
  (not 0) and counts them all as failed; a fast one is first called again row by row, so only the rows
  that raise alone are None. Rows a verifier scored but noted (`verifiers.failures.note`,
  e.g. code in another language than the row asks) are logged as `rewards/<name>/<kind>`.
- `overlapped` (the SLOW rewards): the routed reward made `async`, run in a worker thread, so TRL's
  GRPOTrainer (which gathers async reward functions with `asyncio.gather`) scores math, sandbox and
  reward-model rows at the same time instead of one function after another.
- `OutageGate`: a row whose own verifier (the reward owning its task) could not score it gets None from
  the shaping rewards too (format, language, repetition, overlong), so nothing scores it and TRL leaves it
  out of its group's baseline instead of reading the missing verdict as 0; counted as `rewards/unscored`.

Verifiers are imported inside `resolve`, so a missing optional dependency fails only when its reward
is used.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from verifiers import failures

if TYPE_CHECKING:
    from rl.recipe import Recipe, RewardSpec
    from rl.services import FailureGuard

log = logging.getLogger("rl.rewards")

RewardFunc = Callable[..., list[float | None]]


@dataclass(frozen=True)
class Reward:
    """One registered reward: all that recipe validation, training, evaluation and the docs know about it."""

    name: str  # the recipe name; TRL logs it as rewards/<name>/mean
    target: str  # "module:attribute" of the verifier's TRL reward function (or, with `factory`, its builder)
    checks: str  # what it checks, for the docs table
    tasks: tuple[str, ...] | None = (
        None  # rows it scores by `task` column (RewardSpec.tasks overrides); None: all
    )
    slow: bool = (
        False  # waits on worker processes, the sandbox or a server: overlapped with the other slow ones
    )
    settings: Callable[[Recipe | None], dict[str, Any]] | None = None  # recipe sections -> keyword settings
    settings_doc: str = ""  # where its settings come from, for the docs table
    factory: bool = (
        False  # `target` builds the reward function from the settings instead of taking them per call
    )
    verdict: bool = True  # a 0..1 judgement of its tasks' rows that evaluation can score them with


def _answer_settings(recipe: Recipe | None) -> dict[str, Any]:
    """Where a completion's final answer is (`verifiers.completion`): with the recipe's `<think>` prefill,
    a completion that never closes its thinking has none."""
    return {"think_prefill": recipe.data.think_prefill} if recipe is not None else {}


def _code_settings(recipe: Recipe | None) -> dict[str, Any]:
    """The sandbox the recipe names (the launcher fills `sandbox.url`); unset, code_reward reads SANDBOX_URL."""
    url = recipe.sandbox.url if recipe is not None else None
    return {**_answer_settings(recipe), **({"sandbox_url": url} if url else {})}


def _reward_model_settings(recipe: Recipe | None) -> dict[str, Any]:
    section = recipe.reward_model if recipe is not None else None
    if section is None or not section.path_or_url:
        raise RuntimeError("reward reward_model needs reward_model.path_or_url in the recipe")
    return {
        "path_or_url": section.path_or_url,
        "revision": section.revision,
        "batch_size": section.batch_size,
        "normalize": section.normalize,
        **_answer_settings(recipe),
    }


_PREFILL_DOC = "`data.think_prefill` (where the final answer is)"

# The one table of rewards. Everything else derives from it: REGISTRY (recipe validation, `resolve`), TASKS
# (routing), SLOW (overlap), TASK_REWARDS (evaluation scores each task with its training reward), and the
# README's reward table (`markdown_table`, checked by tests/rl/test_rewards.py).
REWARDS: tuple[Reward, ...] = (
    Reward(
        "math_accuracy",
        "verifiers.math:math_reward",
        'the final answer (after the last `</think>`; last `\\boxed{}` or "final answer is") against the gold, '
        "mathematically (latex2sympy2_extended + sympy) in a persistent worker pool with hard timeouts",
        tasks=("math",),
        slow=True,
        settings=_answer_settings,
        settings_doc=_PREFILL_DOC,
    ),
    Reward(
        "code_execution",
        "verifiers.code:code_reward",
        "the last fenced program after `</think>` (an output block, tagged `text`, `output`, `console` or untagged,"
        " after a tagged program is not the program), judged by the sandbox in the row's language (Python, C++,"
        " Rust, JavaScript; binary, fraction or Codeforces-style); a block tagged with another language scores"
        " 0, logged as `rewards/code_execution/wrong_language`",
        tasks=("code",),
        slow=True,
        settings=_code_settings,
        settings_doc="`sandbox.url` (the launcher fills it), `data.think_prefill`; kwargs `scoring`: binary, "
        "fraction, codeforces",
    ),
    Reward(
        "ifeval",
        "verifiers.rules.ifeval:ifeval_reward",
        "all 25 IFEval instruction ids, strict and loose, offline",
        tasks=("ifeval",),
        settings=_answer_settings,
        settings_doc=_PREFILL_DOC,
    ),
    Reward("format", "verifiers.rules.format:format_reward", "`<think>…</think>` structure"),
    Reward(
        "language",
        "verifiers.rules.language:language_consistency_reward",
        "answer in the prompt's language; an answer too short to identify scores None, logged as"
        " `rewards/language/unidentified`",
        settings=_answer_settings,
        settings_doc=_PREFILL_DOC,
    ),
    Reward("repetition", "verifiers.rules.repetition:repetition_reward", "loops and repeated n-grams"),
    Reward(
        "overlong",
        "verifiers.rules.length:overlong_penalty_reward",
        "DAPO soft over-length penalty",
        settings_doc="kwargs `max_completion_length` (= training.max_completion_length), `overlong_buffer`",
    ),
    Reward(
        "tool_call",
        "verifiers.rules.tool_call:tool_call_reward",
        "`<tool_call>{json}</tool_call>` against the tool schema and expected call, BFCL AST rules",
        tasks=("tool",),
        settings=_answer_settings,
        settings_doc=_PREFILL_DOC,
    ),
    Reward(
        "reward_model",
        "verifiers.reward_model:make_reward_function",
        "a reward model on the text after `</think>`, in-process or over HTTP, normalised per prompt group;"
        " a row too long to read with its question scores below its group, logged as"
        " `rewards/reward_model/too_long`",
        # Only prompts no verifier can judge. On math/code/ifeval/tool rows its group-normalised score
        # (unit variance) would outweigh and contradict the 0/1 verdict; DeepSeek-R1 likewise keeps
        # rule-based rewards for reasoning data and a reward model for general data only.
        tasks=("general",),
        slow=True,
        verdict=False,
        settings=_reward_model_settings,
        settings_doc="`reward_model.path_or_url`, `.revision`, `.batch_size`, `.normalize`, `data.think_prefill`",
        factory=True,
    ),
)
REGISTRY: dict[str, Reward] = {r.name: r for r in REWARDS}
SLOW = frozenset(r.name for r in REWARDS if r.slow)
TASKS: dict[str, list[str] | None] = {r.name: list(r.tasks) for r in REWARDS if r.tasks is not None}
TASK_REWARDS: dict[str, str] = {task: r.name for r in REWARDS if r.verdict for task in r.tasks or ()}


def markdown_table() -> str:
    """The README's reward table, generated from REWARDS (`python -m rl.rewards` prints it)."""
    lines = [
        "| recipe name | function | rows (`task`) | what it checks | settings |",
        "|---|---|---|---|---|",
    ]
    for r in REWARDS:
        function = r.target.replace(":", ".")
        tasks = ", ".join(r.tasks) if r.tasks else "all"
        lines.append(f"| `{r.name}` | `{function}` | {tasks} | {r.checks} | {r.settings_doc or '–'} |")
    return "\n".join(lines) + "\n"


def resolve(name: str, recipe: Recipe | None = None, **settings: Any) -> RewardFunc:
    """The plain verifier function for a registered name, with its settings: those the table takes from
    `recipe`, then `settings` given here (evaluation, tests) on top. A factory is called with them."""
    if name not in REGISTRY:
        raise KeyError(f"unknown reward {name!r}; registered: {', '.join(REGISTRY)}")
    entry = REGISTRY[name]
    module_name, _, attr = entry.target.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise RuntimeError(f"reward {name!r} needs {entry.target}, which cannot be imported: {e}") from e
    # A factory without a recipe or settings asks its settings function, which names what is missing.
    if entry.settings is not None and (recipe is not None or (entry.factory and not settings)):
        settings = {**entry.settings(recipe), **settings}
    if entry.factory:
        return fn(**settings)
    return functools.partial(fn, **settings) if settings else fn


def build_rewards(recipe: Recipe) -> tuple[list[Callable[..., Any]], list[float]]:
    """The recipe's reward functions (named, routed, settings and kwargs bound; the SLOW ones overlapped;
    the shaping ones gated by the verifiers' outages; each call watched by the failure guard) and weights."""
    from rl.services import FailureGuard

    guard = FailureGuard(recipe.reward_failures.max_fraction, recipe.reward_failures.patience)
    routes = {spec.name: spec.tasks or TASKS.get(spec.name) for spec in recipe.rewards}
    gate = OutageGate.for_rewards(routes)
    funcs: list[Callable[..., Any]] = []
    for spec in recipe.rewards:
        fn, name, tasks = bind(resolve(spec.name, recipe), spec), spec.name, routes[spec.name]
        if gate is not None and name in gate.shaping:
            funcs.append(
                gate.gated(routed(fn, name, tasks, guard=guard), name, counts=name == gate.shaping[0])
            )
        else:
            owner = gate if gate is not None and name in gate.owner_names else None
            funcs.append((overlapped if name in SLOW else routed)(fn, name, tasks, owner, guard))
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


def _log_count(kwargs: dict, metric: str, count: int) -> None:
    """Log `count` rows of this rank so that the logged figure is the total over all ranks.

    TRL's `log_metric` averages each metric over the ranks that logged it; every rank logs every call
    (zeros included), so a rank's count times the number of ranks averages to the sum.
    """
    if kwargs.get("log_metric") is not None:
        from rl.services import world_size

        kwargs["log_metric"](metric, float(count * world_size()))


def _inner_name(fn: Callable) -> str:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__name__", type(fn).__name__)


def _score_rows(fn: RewardFunc, completions: list, kwargs: dict, rows: list[int], values: list) -> None:
    """`fn` on `rows` of the batch, its scores written into `values` (None and NaN as None); raises as `fn` does."""
    if not rows:
        return
    got = list(fn([completions[i] for i in rows], **_rows(kwargs, rows, len(completions))))
    if len(got) != len(rows):
        raise ValueError(f"returned {len(got)} values for {len(rows)} completions")
    for i, v in zip(rows, got, strict=True):
        values[i] = None if v is None or math.isnan(float(v)) else float(v)


def routed(
    fn: RewardFunc,
    name: str,
    tasks: list[str] | None = None,
    gate: OutageGate | None = None,
    guard: FailureGuard | None = None,
    isolate: bool = True,
) -> Callable[..., list[float | None]]:
    """A sync TRL reward named `name`: routed by task, exceptions scored None, failures logged per call.

    With `isolate` (the fast rewards), a call that raises is made again row by row, so a completion whose
    text makes the verifier raise is None alone instead of unscoring every row of the batch (each None
    here also blanks the row's shaping rewards: `OutageGate`), which a policy could learn to exploit.
    The slow rewards raise when their service is down; repeating them per row would only wait longer.

    With `tasks`, only rows whose `task` column is in it reach `fn` (list kwargs sliced to those rows);
    the others score None. Without a `task` column every row reaches `fn`. With `gate` (a verifier that
    owns its tasks' rows), the owned rows it returned None for are published to the gate. With `guard`,
    every call is a scoring round it observes: one failing on most of its rows too many rounds in a row
    stops the run.
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
        try:
            try:
                _score_rows(fn, completions, kwargs, rows, values)
            except Exception:
                if not isolate or len(rows) < 2:
                    raise
                # One row's text must not unscore its batch: each row alone, so only a row that
                # raises on its own is None (counted), and the others keep their scores.
                for i in rows:
                    try:
                        _score_rows(fn, completions, kwargs, [i], values)
                    except Exception as e:
                        failures.record(name, f"row {i}: {type(e).__name__}: {e}")
        except Exception as e:  # a reward that cannot run scores None, never a silent 0
            failures.record(name, f"{type(e).__name__}: {e}", len(rows))
        finally:  # always published: the gated rewards of this batch wait for it
            if gate is not None:
                gate.publish(completions, name, {i for i in rows if values[i] is None})
        failed, notes = _claim(owners), _claim_notes(owners)
        _log_count(kwargs, f"rewards/{name}/failed", failed)
        for kind, count in notes.items():  # e.g. rewards/code_execution/wrong_language
            _log_count(kwargs, f"rewards/{name}/{kind}", count)
        if guard is not None:
            guard.observe(name, failed, len(rows))
        return values

    reward.__name__ = reward.__qualname__ = name
    reward.__doc__ = f"{name}: {_inner_name(fn)} routed to tasks {tasks or 'all'} (rl.rewards.routed)."
    return reward


def overlapped(
    fn: RewardFunc,
    name: str,
    tasks: list[str] | None = None,
    gate: OutageGate | None = None,
    guard: FailureGuard | None = None,
) -> Callable[..., Any]:
    """`routed`, made async and run in a worker thread, so TRL's asyncio.gather overlaps the slow rewards."""
    sync = routed(fn, name, tasks, gate, guard, isolate=False)
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


class OutageGate:
    """Rows whose own verifier could not score them get None from every reward of the batch.

    A reward that owns tasks (`math_accuracy` owns `math` rows, ...) publishes, per batch, the owned rows it
    returned None for (sandbox or reward-model server down, unparseable gold). The rewards that score every
    row (format, language, repetition, overlong) wait for the owners of the batch's tasks and return None
    on those rows too, so the row is unscorable as a whole: TRL 1.16 leaves it out of its group's baseline
    with zero advantage, instead of summing the missing verifier as 0 with the shaping rewards (a negative
    advantage for an answer nobody judged). They are counted per step as `rewards/unscored`.

    TRL calls the sync rewards first, then gathers the async ones on its event loop, so the shaping
    rewards are made async here and wait there; the owners always publish (whatever they raise), so the
    wait ends. A batch is one call's `completions` list (the same object for every reward of the call).
    """

    KEEP = 4  # batches remembered: a step scores one at a time

    def __init__(self, owners: dict[str, list[str]], shaping: list[str]) -> None:
        self.owners = owners  # task -> the verifiers that own its rows
        self.owner_names = {n for names in owners.values() for n in names}
        self.shaping = shaping  # the rewards gated here, in recipe order
        self._lock = threading.Lock()
        self._batches: OrderedDict[int, tuple[list, dict[str, set[int]]]] = OrderedDict()

    @classmethod
    def for_rewards(cls, routes: dict[str, list[str] | None]) -> OutageGate | None:
        """The gate of a recipe's rewards (name -> the tasks it is routed to); None when nothing to gate.

        Verifiers (table entries with tasks) own the rows of the tasks they are routed to; the others
        (format, language, ...) are shaping rewards, gated whatever rows they are routed to.
        """
        owners: dict[str, list[str]] = {}
        for name, tasks in routes.items():
            if REGISTRY[name].tasks is not None:
                for task in tasks or ():
                    owners.setdefault(task, []).append(name)
        shaping = [name for name in routes if REGISTRY[name].tasks is None]
        return cls(owners, shaping) if owners and shaping else None

    def _entry(self, completions: list) -> dict[str, set[int]]:
        key = id(completions)
        got = self._batches.get(key)
        if got is None or got[0] is not completions:  # holding the list keeps its id unique while kept
            got = (completions, {})
            self._batches[key] = got
            while len(self._batches) > self.KEEP:
                self._batches.popitem(last=False)
        return got[1]

    def publish(self, completions: list, name: str, unscored: set[int]) -> None:
        with self._lock:
            self._entry(completions)[name] = unscored

    async def unscored(self, completions: list, tasks: list[str]) -> set[int]:
        """The rows the owners of `tasks` could not score, once each of them has published for this batch."""
        names = {n for t in set(tasks) for n in self.owners.get(t, ())}
        while True:
            with self._lock:
                entry = self._entry(completions)
                if names <= entry.keys():
                    return set().union(*(entry[n] for n in names))
            await asyncio.sleep(0.005)

    def gated(self, sync: Callable[..., list[float | None]], name: str, counts: bool) -> Callable[..., Any]:
        """`sync` (a routed reward scoring every row) made async: None wherever the row's owner had None."""

        async def reward(completions: list, **kwargs: Any) -> list[float | None]:
            values = sync(completions, **kwargs)
            row_tasks = kwargs.get("task")
            if row_tasks is None:
                return values
            drop = await self.unscored(completions, list(row_tasks))
            for i in drop:
                values[i] = None
            if counts:
                _log_count(kwargs, "rewards/unscored", len(drop))
            return values

        reward.__name__ = reward.__qualname__ = name
        reward.__doc__ = f"{sync.__doc__} None on rows their own verifier could not score (OutageGate)."
        reward.sync = sync  # type: ignore[attr-defined]  # ungated, inline: rl.bench's sequential peer
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


if __name__ == "__main__":
    print(markdown_table(), end="")
