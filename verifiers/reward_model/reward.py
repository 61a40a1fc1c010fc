"""The `reward_model` TRL reward function: reward-model scores, normalised within each prompt's group."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from typing import Any

from verifiers import failures
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


def make_reward_function(path_or_url: str, batch_size: int = 8, normalize: bool = True) -> Callable:
    """A TRL reward function named `reward_model` scoring with the model at `path_or_url` (loaded on
    first use). When the model or server cannot score a batch, every row is None and counted as failed."""
    state: dict[str, RewardModelScorer] = {}
    lock = threading.Lock()

    def reward_model(completions: list, prompts: list | None = None, **kwargs: Any) -> list[float | None]:
        prompts = list(prompts) if prompts is not None else [""] * len(completions)
        try:
            with lock:
                if "scorer" not in state:
                    state["scorer"] = RewardModelScorer(path_or_url, batch_size=batch_size)
            scores = state["scorer"].score(prompts, completions)
        except Exception as e:  # server down, model missing, OOM: None (counted), never a silent 0
            failures.record("reward_model", f"{path_or_url}: {type(e).__name__}: {e}", len(completions))
            return [None] * len(completions)
        return list(normalize_by_group(scores, prompts) if normalize else scores)

    return reward_model
