"""IFEval verifier: `check_ifeval` (strict or loose, one bool per instruction) and `ifeval_reward`.

Loose mode is IFEval's: an instruction counts as followed when any of eight variants of the response
follows it (the response as is, without its first line, without its last line, without both, and each of
those with every `*` removed), so a "Sure, here it is:" preamble or markdown bold does not decide it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from verifiers import failures
from verifiers.completion import final_answer
from verifiers.rules.ifeval_checks import CHECKS
from verifiers.rules.text import visible_text

log = logging.getLogger(__name__)

INSTRUCTION_IDS = tuple(CHECKS)


def loose_variants(response: str) -> list[str]:
    """The eight response variants IFEval's loose evaluation tries."""
    lines = response.split("\n")
    base = [
        response,
        "\n".join(lines[1:]).strip(),
        "\n".join(lines[:-1]).strip(),
        "\n".join(lines[1:-1]).strip(),
    ]
    return base + [v.replace("*", "") for v in base]


def clean_kwargs(kwargs: dict | None) -> dict:
    """Drop None-valued keys: Arrow gives every row the union of the struct's keys, unused ones None."""
    return {k: v for k, v in (kwargs or {}).items() if v is not None}


def check_instruction(instruction_id: str, response: str, kwargs: dict | None = None) -> bool:
    """Whether `response` follows one instruction (strict). Unknown ids raise KeyError.

    The response and the instruction's words are read as a reader sees them (`visible_text`: no zero-width
    characters, no look-alike letters, `\\n` line endings, ASCII quotes), and a response without a letter
    or digit follows nothing: "." has no commas and few words, but answers no instruction.
    """
    return _follows(instruction_id, visible_text(response), kwargs)


def _follows(instruction_id: str, response: str, kwargs: dict | None) -> bool:
    """`check_instruction` on a response already read by `visible_text`."""
    check = CHECKS[instruction_id]
    if not any(ch.isalnum() for ch in response):
        return False
    return check(response, **{k: _visible(v) for k, v in clean_kwargs(kwargs).items()})


def _visible(value: Any) -> Any:
    if isinstance(value, str):
        return visible_text(value)
    if isinstance(value, list):
        return [_visible(v) for v in value]
    return value


def check_ifeval(
    prompt: str,
    response: str,
    instruction_id_list: list[str],
    kwargs: list[dict],
    strict: bool = True,
) -> list[bool]:
    """One bool per instruction: does `response` follow it (IFEval strict, or loose with strict=False)?

    `prompt` is accepted for IFEval's signature; `combination:repeat_prompt` reads its text from kwargs.
    """
    del prompt
    if len(kwargs) != len(instruction_id_list):
        raise ValueError(f"{len(instruction_id_list)} instruction ids but {len(kwargs)} kwargs dicts")
    response = visible_text(response)
    variants = [response] if strict else loose_variants(response)
    return [
        any(_follows(iid, v, kw) for v in variants)
        for iid, kw in zip(instruction_id_list, kwargs, strict=True)
    ]


def _parse_kwargs(value: Any, n: int) -> list[dict]:
    if value is None:
        return [{} for _ in range(n)]
    if isinstance(value, str):
        value = json.loads(value)
    return [clean_kwargs(k) for k in value]


def ifeval_reward(
    completions: list,
    instruction_id_list: list | None = None,
    kwargs: list | None = None,
    prompts: list | None = None,
    all_or_nothing: bool = False,
    strict: bool = True,
    think_prefill: bool = True,
    **unused: Any,
) -> list[float | None]:
    """IFEval reward (TRL reward function): the fraction of instructions the final answer follows.

    With `all_or_nothing`, 1.0 only when every instruction is followed (IFEval's prompt-level accuracy).
    Rows whose `instruction_id_list` is None or empty are not owned (None). A row whose kwargs cannot be
    parsed, or that names an unknown instruction, is None and counted as a failure. A completion without a
    final answer (`verifiers.completion.final_answer`) follows no instruction: 0.0.
    """
    n = len(completions)
    ids_col = instruction_id_list if instruction_id_list is not None else [None] * n
    kw_col = kwargs if kwargs is not None else [None] * n
    rewards: list[float | None] = []
    for completion, ids, kws in zip(completions, ids_col, kw_col, strict=True):
        if not ids:
            rewards.append(None)
            continue
        try:
            followed = check_ifeval(
                "",
                final_answer(completion, think_prefill) or "",
                list(ids),
                _parse_kwargs(kws, len(ids)),
                strict,
            )
        except (KeyError, TypeError, ValueError) as e:
            failures.record("ifeval_reward", f"{type(e).__name__}: {e}")
            rewards.append(None)
            continue
        if all_or_nothing:
            rewards.append(float(all(followed)))
        else:
            rewards.append(sum(followed) / len(followed))
    return rewards
