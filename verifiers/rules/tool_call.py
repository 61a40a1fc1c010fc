"""Function-call reward: Qwen-style `<tool_call>{json}</tool_call>` output checked against the tool schemas
and the expected call(s) with BFCL's AST rules (`bfcl_ast`).

Columns: `tools` (JSON string or list of tool schemas, BFCL or OpenAI form) and `ground_truth` (JSON string
or list). Ground truth is BFCL's possible-answer form `[{func_name: {param: [accepted values]}}]`, or plain
expected calls `[{"name": ..., "arguments": {...}}]`; an empty list means no call should be made (BFCL's
irrelevance category).
"""

from __future__ import annotations

import json
import re
from typing import Any

from verifiers import failures
from verifiers.completion import final_answer
from verifiers.rules.bfcl_ast import CallError, check_calls

_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.S)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) < len(keys):
        raise CallError(
            f"a key appears twice in one object ({keys}): JSON parsers differ on which value wins"
        )
    return dict(pairs)


def _json(text: str) -> Any:
    """The model's JSON; CallError where it cannot be read. json.loads raises ValueError beyond it too (an
    integer past Python's 4300 digits) and RecursionError (arrays nested past its depth): read as bad
    columns or raised out of the reward, either made the model's own text unscorable (None)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except CallError:
        raise
    except (ValueError, RecursionError) as e:
        raise CallError(f"not valid JSON: {str(e)[:200]}") from e


def parse_tool_calls(text: str) -> list[dict]:
    """The calls in Qwen's format; raises CallError on a block that is not a JSON call object, or one that
    different readers would run differently (a repeated key, both "arguments" and "parameters")."""
    calls = []
    for block in _TOOL_CALL.findall(text):
        call = _json(block)
        if not isinstance(call, dict) or "name" not in call:
            raise CallError('a tool call must be an object with "name" and "arguments"')
        if "arguments" in call and "parameters" in call:
            raise CallError(f'the call of {call["name"]!r} has both "arguments" and "parameters"')
        args = call.get("arguments", call.get("parameters", {}))
        if isinstance(args, str):  # OpenAI-style arguments serialised as a string
            args = _json(args)
        calls.append({"name": call["name"], "arguments": args})
    if "<tool_call>" in text and len(calls) != text.count("<tool_call>"):
        raise CallError("an unterminated <tool_call> block")
    return calls


def to_possible_answers(ground_truth: list[dict]) -> list[dict]:
    """BFCL possible answers from either BFCL's form or plain `{"name", "arguments"}` calls."""
    out = []
    for item in ground_truth:
        if "name" in item and isinstance(item.get("arguments"), dict):
            out.append({item["name"]: {k: [v] for k, v in item["arguments"].items()}})
        else:
            out.append(item)
    return out


def _load(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def score_tool_call(completion: Any, tools: Any, ground_truth: Any, think_prefill: bool = True) -> float:
    """1.0 when the final answer's tool calls match the ground truth under BFCL's AST rules, else 0.0.

    A completion without a final answer scores 0.0 even where no call is expected: it never answered.
    """
    tools, answers = _load(tools), to_possible_answers(_load(ground_truth))
    answer = final_answer(completion, think_prefill)
    if answer is None:
        return 0.0
    try:
        calls = parse_tool_calls(answer)
        check_calls(tools, calls, answers)
    except CallError:
        return 0.0
    return 1.0


def tool_call_reward(
    completions: list,
    tools: list | None = None,
    ground_truth: list | None = None,
    think_prefill: bool = True,
    **kwargs: Any,
) -> list[float | None]:
    """BFCL AST reward for tool-use rows (TRL reward function). Rows with no `tools` or `ground_truth`
    are not owned (None); a row whose columns do not parse is None and counted as a failure."""
    n = len(completions)
    tools = tools if tools is not None else [None] * n
    ground_truth = ground_truth if ground_truth is not None else [None] * n
    out: list[float | None] = []
    for completion, row_tools, truth in zip(completions, tools, ground_truth, strict=True):
        if row_tools is None or truth is None:
            out.append(None)
            continue
        try:
            out.append(score_tool_call(completion, row_tools, truth, think_prefill))
        except (json.JSONDecodeError, TypeError, AttributeError, ValueError) as e:
            failures.record("tool_call_reward", f"bad tools/ground_truth column: {type(e).__name__}: {e}")
            out.append(None)
    return out
