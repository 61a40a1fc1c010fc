"""DAPO's soft over-length penalty (Yu et al. 2025, "DAPO", section 3.4).

With L_max = max_completion_length and a buffer L_cache = overlong_buffer, a completion of |y| tokens gets
0 when |y| <= L_max - L_cache, a linear penalty down to -1 inside the buffer, and -1 past L_max. It tells
the policy that running into the length limit is bad without punishing truncation as hard as a wrong
answer.

The formula is TRL's (`trl.rewards.get_soft_overlong_punishment`); this module adds only what TRL lacks:
the recipe's argument names, a check of the buffer, and lengths estimated from text when no token ids are
given (evaluation, tests, standalone use).
"""

from __future__ import annotations

from typing import Any

from trl.rewards import get_soft_overlong_punishment

from verifiers.completion import completion_text

# DAPO: L_max 20480 with a 4096-token buffer; ours defaults to the cluster recipe's 16384 completion limit.
MAX_COMPLETION_LENGTH = 16384
OVERLONG_BUFFER = 4096
# Without token ids the length is estimated from characters; ~4 characters per token for English BPE.
CHARS_PER_TOKEN = 4.0


def overlong_penalty_reward(
    completions: list,
    completion_ids: list | None = None,
    max_completion_length: int = MAX_COMPLETION_LENGTH,
    overlong_buffer: int = OVERLONG_BUFFER,
    chars_per_token: float = CHARS_PER_TOKEN,
    **kwargs: Any,
) -> list[float | None]:
    """DAPO soft over-length penalty (TRL reward function; every row owned).

    Lengths come from `completion_ids` (TRL passes them); without them they are estimated as characters /
    `chars_per_token`. Set `max_completion_length` to the trainer's own limit (recipes bind it).
    """
    if overlong_buffer <= 0 or overlong_buffer > max_completion_length:
        raise ValueError(
            f"overlong_buffer must be in (0, max_completion_length]; got {overlong_buffer} "
            f"with max_completion_length={max_completion_length}"
        )
    if completion_ids is None:  # what TRL's punishment lacks: plain-text completions, outside a trainer
        completion_ids = [[0] * round(len(completion_text(c)) / chars_per_token) for c in completions]
    punish = get_soft_overlong_punishment(
        max_completion_len=max_completion_length, soft_punish_cache=overlong_buffer
    )
    return list(punish(completion_ids=completion_ids))
