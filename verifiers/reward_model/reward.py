"""The `reward_model` TRL reward function: reward-model scores, normalised within each prompt's group."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from typing import Any

from verifiers import failures
from verifiers.completion import final_answer
from verifiers.reward_model.scorer import RewardModelScorer


def group_key(prompt: Any) -> str:
    """Rows with the same prompt (GRPO's num_generations samples of one question) share a key."""
    return prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, default=str)


def normalize_by_group(scores: list[float], prompts: list[Any]) -> list[float]:
    """Z-score each score within its prompt group; a group whose scores are all equal (or a single row) is 0.

    Reward-model scales are arbitrary (Skywork's span roughly -20..20, a fresh RM's ±1); per-group
    normalisation puts them on the scale of the 0/1 rule rewards they are weighted against.
    """
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(prompts):
        groups.setdefault(group_key(p), []).append(i)
    out = [0.0] * len(scores)
    for rows in groups.values():
        values = [scores[i] for i in rows]
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        for i in rows:
            out[i] = (scores[i] - mean) / std if std > 1e-6 else 0.0
    return out


def score_unanswered(scores: list[float | None], prompts: list[Any], normalize: bool) -> list[float]:
    """Scores with every unanswered row (None) below every answered row of its prompt group.

    Answered rows are z-scored among themselves (`normalize`) or kept raw; an unanswered row gets the
    group's lowest answered score minus 1, and a group where nobody answered scores 0 throughout.
    """
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(prompts):
        groups.setdefault(group_key(p), []).append(i)
    out = [0.0] * len(scores)
    for rows in groups.values():
        answered = [i for i in rows if scores[i] is not None]
        if not answered:
            continue
        values = [float(scores[i]) for i in answered]  # type: ignore[arg-type]
        if normalize:
            values = normalize_by_group(values, [""] * len(values))
        for i, v in zip(answered, values, strict=True):
            out[i] = v
        floor = min(values) - 1.0
        for i in rows:
            if scores[i] is None:
                out[i] = floor
    return out


def make_reward_function(
    path_or_url: str,
    batch_size: int = 8,
    normalize: bool = True,
    think_prefill: bool = True,
    revision: str | None = None,
) -> Callable:
    """A TRL reward function named `reward_model` scoring with the model at `path_or_url` (a hub id at
    `revision`; loaded on first use). When the model or server cannot score a batch, every row is None and counted as failed.

    Only completions with a final answer (`verifiers.completion.final_answer`) reach the model; one that
    never closed its thinking is scored below every answer in its group (`score_unanswered`), never by
    whatever the model makes of its reasoning. So is one whose prompt and answer are longer than the model
    reads (`max_length`, counted as `too_long`): cut, it would be judged without its question.
    """
    state: dict[str, RewardModelScorer] = {}
    lock = threading.Lock()

    def reward_model(completions: list, prompts: list | None = None, **kwargs: Any) -> list[float | None]:
        prompts = list(prompts) if prompts is not None else [""] * len(completions)
        answered = [i for i, c in enumerate(completions) if final_answer(c, think_prefill) is not None]
        scores: list[float | None] = [None] * len(completions)
        try:
            if answered:
                with lock:
                    if "scorer" not in state:
                        state["scorer"] = RewardModelScorer(
                            path_or_url, batch_size=batch_size, revision=revision
                        )
                got, cut = state["scorer"].score_and_cut(
                    [prompts[i] for i in answered], [completions[i] for i in answered]
                )
                for i, s, c in zip(answered, got, cut, strict=True):
                    scores[i] = None if c else s
                if any(cut):
                    failures.note("reward_model", "too_long", sum(cut))
        except Exception as e:  # server down, model missing, OOM: None (counted), never a silent 0
            failures.record("reward_model", f"{path_or_url}: {type(e).__name__}: {e}", len(completions))
            return [None] * len(completions)
        return list(score_unanswered(scores, prompts, normalize))

    return reward_model
