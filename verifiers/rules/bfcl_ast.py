"""BFCL's AST rules for checking function calls (Python category), written for our reward.

A model call `{"name": ..., "arguments": {...}}` is checked against the tool's schema and a BFCL possible
answer `{func_name: {param: [accepted values...]}}` the way the Berkeley Function Calling Leaderboard's
`ast_checker` does: the function name matches; every required parameter is present; no parameter outside
the schema or the answer; each value has the schema type (an int is accepted for a float); strings
compare case-insensitively with spaces and `,./-_*^` ignored; lists and dicts compare element-wise the same
way; an optional parameter may be left out only when its accepted values include "". Parallel calls match
in any order; the number of calls must equal the number expected.
"""

from __future__ import annotations

import re
from typing import Any

TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "number": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "object": dict,
    "any": str,
}


class CallError(ValueError):
    """Why a call does not match (the message names the parameter or function)."""


def standardize(s: str) -> str:
    """BFCL string normalisation: drop spaces and `,./-_*^`, lower-case, single quotes as double."""
    return re.sub(r"[ ,./\-_*^]", "", s).lower().replace("'", '"')


def _std(v: Any) -> Any:
    return standardize(v) if isinstance(v, str) else v


def _name_matches(expected: str, got: str) -> bool:
    return got == expected or got == expected.replace(".", "_")


def schema_of(tool: dict) -> dict:
    """A BFCL-style function schema from either BFCL's or OpenAI's ({"type": "function", ...}) form."""
    return tool.get("function", tool) if tool.get("type") == "function" else tool


def find_schema(tools: list[dict], name: str) -> dict | None:
    for tool in tools:
        schema = schema_of(tool)
        if _name_matches(schema.get("name", ""), name):
            return schema
    return None


def _check_type(param: str, value: Any, spec: dict, accepted: list) -> bool:
    """Type check; returns whether the value is a 'variable' (typed like the answer, not the schema)."""
    expected = TYPES.get(spec.get("type", "any"), str)
    if type(value) is expected:
        if isinstance(value, list) and spec.get("items", {}).get("type") in TYPES:
            inner = TYPES[spec["items"]["type"]]
            if not all(type(v) is inner or (inner is float and type(v) is int) for v in value):
                raise CallError(f"parameter {param!r}: items must be {spec['items']['type']}")
        return False
    answer_type = next((type(a) for a in accepted if a != ""), None)
    if answer_type is not None and type(value) is answer_type:
        return True
    raise CallError(f"parameter {param!r}: expected {spec.get('type')}, got {type(value).__name__}")


def _dict_matches(value: dict, accepted: list) -> bool:
    for answer in accepted:
        if answer == "" or not isinstance(answer, dict):
            continue
        if all(k in answer and _std(v) in [_std(a) for a in answer[k]] for k, v in value.items()) and all(
            k in value or "" in vals for k, vals in answer.items()
        ):
            return True
    return False


def _value_matches(value: Any, spec_type: type, item_type: type | None, accepted: list) -> bool:
    if spec_type is dict:
        return _dict_matches(value, accepted)
    if spec_type is list and item_type is dict:
        return any(
            isinstance(a, list)
            and len(a) == len(value)
            and all(_dict_matches(v, [d]) for v, d in zip(value, a, strict=True))
            for a in accepted
        )
    if spec_type is str:
        return standardize(value) in [standardize(a) for a in accepted if isinstance(a, str)]
    if spec_type is list:
        return [_std(v) for v in value] in [[_std(x) for x in a] for a in accepted if isinstance(a, list)]
    return value in accepted


def check_call(schema: dict, call: dict, answer: dict) -> None:
    """Raise CallError unless `call` matches one BFCL possible answer `{name: {param: [values]}}`."""
    ((expected_name, accepted_params),) = answer.items()
    if not _name_matches(expected_name, call.get("name", "")):
        raise CallError(f"expected a call to {expected_name!r}, got {call.get('name')!r}")
    params = schema.get("parameters", {})
    properties = params.get("properties", {})
    args = call.get("arguments", {})
    if not isinstance(args, dict):
        raise CallError(f"arguments of {expected_name!r} must be an object")
    for required in params.get("required", []):
        if required not in args:
            raise CallError(f"missing required parameter {required!r}")
    for param, value in args.items():
        if param not in properties or param not in accepted_params:
            raise CallError(f"unexpected parameter {param!r}")
        spec = properties[param]
        accepted = accepted_params[param]
        spec_type = TYPES.get(spec.get("type", "any"), str)
        if spec.get("type") in ("float", "number") and type(value) is int:
            value = float(value)
        is_variable = _check_type(param, value, spec, accepted)
        item_type = TYPES.get(spec.get("items", {}).get("type", ""))
        ok = value in accepted if is_variable else _value_matches(value, spec_type, item_type, accepted)
        if not ok:
            raise CallError(f"parameter {param!r}: {value!r} is not one of {accepted!r}")
    for param, accepted in accepted_params.items():
        if param not in args and "" not in accepted:
            raise CallError(f"parameter {param!r} left out but not optional")


def check_calls(tools: list[dict], calls: list[dict], answers: list[dict]) -> None:
    """Raise CallError unless `calls` match `answers` one to one, in any order (BFCL parallel, no order)."""
    if len(calls) != len(answers):
        raise CallError(f"expected {len(answers)} call(s), got {len(calls)}")
    unused = list(range(len(calls)))
    for answer in answers:
        name = next(iter(answer))
        schema = find_schema(tools, name)
        if schema is None:
            raise CallError(f"no tool schema for expected function {name!r}")
        errors = []
        for i in unused:
            try:
                check_call(schema, calls[i], answer)
            except CallError as e:
                errors.append(str(e))
                continue
            unused.remove(i)
            break
        else:
            raise CallError(f"no call matches {name!r}: " + "; ".join(errors))


def _pick(accepted: list) -> tuple[bool, Any]:
    """The first accepted value (`(False, None)` when only omission is accepted), with nested answers
    (dicts of accepted-value lists) resolved the same way."""
    if not isinstance(accepted, list):  # a nested answer given as a bare value
        return True, accepted
    for value in accepted:
        if value == "":
            continue
        if isinstance(value, dict):
            return True, {k: v for k, (ok, v) in ((k, _pick(vals)) for k, vals in value.items()) if ok}
        if isinstance(value, list) and value and all(isinstance(d, dict) for d in value):
            return True, [_pick([d])[1] for d in value]
        return True, value
    return False, None


def canonical_call(answer: dict) -> dict:
    """A call `{"name", "arguments"}` that satisfies a BFCL possible answer (its first accepted values);
    for building SFT targets and tests from BFCL ground truth."""
    ((name, params),) = answer.items()
    return {
        "name": name,
        "arguments": {k: v for k, (ok, v) in ((k, _pick(a)) for k, a in params.items()) if ok},
    }
