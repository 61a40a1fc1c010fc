"""Answer-format reward: the `<think>…</think>` structure as the chat template really renders it.

QwQ's template ends the generation prompt with `<think>\\n`, so a completion starts inside the thought: it
is well-formed when it closes the thought exactly once and then gives a non-empty answer: exactly the
completions that `verifiers.completion.final_answer` finds an answer in, minus double or re-opened thoughts.
"""

from __future__ import annotations

from typing import Any

from verifiers.completion import END_THINK, THINK, completion_text, end_of_turn, is_blank


def is_well_formed(completion: str) -> bool:
    """Exactly one `</think>`, no second `<think>` opened after the prefilled one, an answer a reader sees
    (not only whitespace or zero-width characters)."""
    # Tolerated: a template that does not prefill lets the model open the thought itself.
    text = end_of_turn(completion).removeprefix(THINK)
    if text.count(END_THINK) != 1 or THINK in text:
        return False
    _, _, answer = text.partition(END_THINK)
    return not is_blank(answer)


def format_reward(completions: list, **kwargs: Any) -> list[float | None]:
    """1.0 for a well-formed completion, else 0.0 (TRL reward function; every row is owned)."""
    return [float(is_well_formed(completion_text(c))) for c in completions]
