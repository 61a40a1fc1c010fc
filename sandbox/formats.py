"""Adapters from the common code-dataset formats to a `/judge` body without `code` (the `tests` column).

`row_to_tests(row)` recognises the format by its columns; each `from_*` handles one format:

- APPS / TACO: `input_output` = JSON {"inputs", "outputs", optional "fn_name"}
- CodeContests: `public_tests` / `private_tests` / `generated_tests` = {"input": [...], "output": [...]}
- LiveCodeBench: `public_test_cases` / `private_test_cases` (JSON, or LCB's compressed form), `metadata`
- PrimeIntellect (SYNTHETIC-1, verifiable-coding): `verification_info` = {"language", "test_cases": [...]}, a
  Python literal (single quotes) on the hub, JSON or a dict in derived copies
- HumanEval: `test` + `entry_point`; MBPP: `test_list` (+ `test_setup_code`)
"""

from __future__ import annotations

import ast
import base64
import builtins
import io
import json
import pickle
import sys
import zlib
from typing import Any

# The languages the sandbox judges, and the datasets' spellings of them: the data filter keeps code rows
# whose `canonical_language` is in SUPPORTED_LANGUAGES (one definition, in sandbox.languages).
from sandbox.languages import SUPPORTED_LANGUAGES as SUPPORTED_LANGUAGES
from sandbox.languages import canonical_language


def _load(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def parse_literal(value: Any) -> Any:
    """A column holding JSON or a Python literal (PrimeIntellect's single-quoted dicts) as a Python value.

    `ast.literal_eval` builds only literals (no names, calls or attributes), so a dataset cannot run code here.
    """
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as e:
        raise ValueError(f"neither JSON nor a Python literal: {value[:80]!r}...") from e


def _stdin(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(map(str, value)) + "\n"
    return str(value)


def _output_text(value: Any) -> str:
    return "\n".join(map(str, value)) if isinstance(value, list) else str(value)


def _function_case(args: Any, output: Any) -> dict[str, Any]:
    case = {"input": args if isinstance(args, list) else [args], "output": output}
    if isinstance(output, list) and len(output) == 1:  # APPS/TACO wrap some call-based answers in a list
        case["alt_outputs"] = [output[0]]
    return case


def from_apps(row: dict[str, Any]) -> dict[str, Any]:
    """APPS and TACO rows: `input_output` JSON; call-based when it names `fn_name`."""
    io_ = _load(row["input_output"])
    pairs = list(zip(io_.get("inputs", []), io_.get("outputs", []), strict=False))
    if io_.get("fn_name"):
        tests = [_function_case(i, o) for i, o in pairs]
        return {"mode": "function", "fn_name": io_["fn_name"], "tests": tests}
    return {"mode": "stdio", "tests": [{"input": _stdin(i), "output": _output_text(o)} for i, o in pairs]}


def from_code_contests(
    row: dict[str, Any], kinds: tuple[str, ...] = ("public", "private", "generated")
) -> dict[str, Any]:
    """DeepMind CodeContests rows: stdin/stdout tests from the public, private and generated sets."""
    tests = []
    for kind in kinds:
        group = _load(row.get(f"{kind}_tests")) or {}
        tests += [
            {"input": i, "output": o}
            for i, o in zip(group.get("input", []), group.get("output", []), strict=False)
        ]
    return {"mode": "stdio", "tests": tests}


class _StrOnly(pickle.Unpickler):
    """LiveCodeBench pickles a JSON string; refuse anything else, so a dataset cannot run code here."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def _lcb_cases(value: Any) -> list[dict[str, Any]]:
    if not value:
        return []
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raw = _StrOnly(io.BytesIO(zlib.decompress(base64.b64decode(value)))).load()
            return json.loads(raw)
    return list(value)


def from_livecodebench(row: dict[str, Any]) -> dict[str, Any]:
    """LiveCodeBench code-generation rows: stdin tests, or functional tests calling `metadata.func_name`."""
    cases = _lcb_cases(row.get("public_test_cases")) + _lcb_cases(row.get("private_test_cases"))
    if cases and cases[0].get("testtype") == "functional":
        fn = _load(row.get("metadata") or "{}").get("func_name")
        tests = [
            {
                "input": [json.loads(line) for line in c["input"].split("\n") if line.strip()],
                "output": json.loads(c["output"]),
            }
            for c in cases
        ]
        return {"mode": "function", "fn_name": fn, "tests": tests}
    return {"mode": "stdio", "tests": [{"input": c["input"], "output": c["output"]} for c in cases]}


def _call_value(value: Any) -> Any:
    """A function_call `input`/`output` given as text (JSON or a Python literal) as the value it spells."""
    return parse_literal(value) if isinstance(value, str) else value


def from_prime_intellect(row: dict[str, Any]) -> dict[str, Any]:
    """PrimeIntellect rows: `verification_info` with `test_cases` of type stdin_stdout or function_call.

    A function_call case's `input` is the argument list and `output` the returned value; where they are
    strings (the hub's Python-literal rows, open-r1's copy) they are parsed, not passed as one argument.
    """
    info = parse_literal(row["verification_info"])
    cases = info.get("test_cases", [])
    if cases and cases[0].get("type") == "function_call":
        tests = [_function_case(_call_value(c["input"]), _call_value(c["output"])) for c in cases]
        return {"mode": "function", "fn_name": cases[0]["fn_name"], "tests": tests}
    return {
        "mode": "stdio",
        "tests": [{"input": _stdin(c["input"]), "output": _output_text(c["output"])} for c in cases],
    }


def given_definitions(prompt: Any, entry_point: str) -> str:
    """The imports, functions and classes a HumanEval-style prompt gives, without the entry point's stub.

    They go before the row's test, so the helpers the test calls (HumanEval's `poly`, `encode_cyclic`,
    `encode_shift`) are the dataset's: a program redefining `encode_cyclic` as the identity, with a
    `decode_cyclic` that is the identity too, must not pass. Empty when the prompt is not Python code.
    """
    if not isinstance(prompt, str):
        return ""
    try:
        tree = ast.parse(prompt)
    except (SyntaxError, ValueError):
        return ""
    kinds = ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    kept: list[ast.stmt] = [
        n for n in tree.body if isinstance(n, kinds) and getattr(n, "name", None) != entry_point
    ]
    return ast.unparse(ast.Module(body=kept, type_ignores=[])) if kept else ""


def from_humaneval(row: dict[str, Any]) -> dict[str, Any]:
    """HumanEval rows: the program (prompt + completion) must define `entry_point`; `test` defines check().

    The prompt's own definitions (`given_definitions`) precede the test, so check() calls the dataset's
    helpers, never the program's versions of them.
    """
    given = given_definitions(row.get("prompt"), row["entry_point"])
    test = f"{given}\n\n{row['test']}" if given else row["test"]
    return {"mode": "assert", "test": test, "entry_point": row["entry_point"]}


def _defined_names(code: str) -> set[str]:
    """The names a piece of setup code binds (functions, classes, imports, assignments)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def tested_function(asserts: list[str], setup: str = "") -> str:
    """The function MBPP-style asserts test: the first name they call that is neither a builtin nor bound
    by the setup code. `assert set(similar_elements(a, b)) == set((4, 5))` tests `similar_elements`, never
    `set`: taking the outer call would make a builtin the candidate, so a program defining `set` would
    decide both sides of the comparison."""
    known = set(dir(builtins)) | _defined_names(setup)
    for text in asserts:
        for node in ast.walk(ast.parse(text)):  # breadth first: outer calls before inner ones
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in known:
                return node.func.id
    raise ValueError(f"cannot find the function name in MBPP assert {asserts[0]!r}")


def used_modules(asserts: list[str], setup: str = "") -> list[str]:
    """Standard-library modules the asserts use by name without importing them (`math.isclose(...)`).

    MBPP ran its asserts in the program's namespace, where the program's `import math` made `math`
    visible; check() runs apart from the program, so it imports them itself.
    """
    bound = _defined_names(setup)
    found = {
        node.value.id
        for text in asserts
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }
    return sorted(n for n in found if n in sys.stdlib_module_names and n not in bound)


def from_mbpp(row: dict[str, Any]) -> dict[str, Any]:
    """MBPP rows: `test_list` asserts that call the function by name become a check(candidate)."""
    asserts = list(row["test_list"]) + list(row.get("challenge_test_list") or [])
    setup = row.get("test_setup_code") or ""
    try:
        entry = tested_function(asserts, setup)
        imports = "".join(f"import {m}\n" for m in used_modules(asserts, setup))
    except SyntaxError as e:
        raise ValueError(f"MBPP asserts or setup code are not Python: {e}") from e
    body = "\n".join(f"    {a.strip()}" for a in asserts)
    test = f"{imports}{setup}\ndef check(candidate):\n    {entry} = candidate\n{body}\n"
    return {"mode": "assert", "test": test, "entry_point": entry}


def row_language(row: dict[str, Any]) -> str | None:
    """The language a row asks for (its `language` column, else `verification_info.language`), canonical."""
    name = row.get("language")
    if not name and row.get("verification_info"):
        try:
            info = parse_literal(row["verification_info"])
        except ValueError:
            info = None
        name = info.get("language") if isinstance(info, dict) else None
    return canonical_language(name) if name else None


def row_to_tests(row: dict[str, Any]) -> dict[str, Any]:
    """Pick the adapter from the row's columns; raises ValueError naming the columns it looked for.

    A row that names its language (PrimeIntellect's `cpp`, `rust`, `javascript`) carries it into the body.
    """
    body = _adapt(row)
    language = row_language(row)
    if language is not None:
        body["language"] = language
    return body


def _adapt(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("input_output"):
        return from_apps(row)
    if any(k in row for k in ("public_tests", "private_tests", "generated_tests")):
        return from_code_contests(row)
    if "public_test_cases" in row or "private_test_cases" in row:
        return from_livecodebench(row)
    if row.get("verification_info"):
        return from_prime_intellect(row)
    if row.get("test") and row.get("entry_point"):
        return from_humaneval(row)
    if row.get("test_list"):
        return from_mbpp(row)
    raise ValueError(
        "unknown code dataset row: expected one of input_output (APPS/TACO), public/private/generated_tests "
        "(CodeContests), public_test_cases (LiveCodeBench), verification_info (PrimeIntellect), "
        "test + entry_point (HumanEval), test_list (MBPP)"
    )
