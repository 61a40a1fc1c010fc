"""Judging: turn a request into executions, and compare what they produced with the expected answers.

Comparison happens here, in the server, never inside the sandbox: the program only ever sees its
input, so nothing it does can change how its output is judged.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, cast

from sandbox.api import JudgeRequest, JudgeResponse, Verdict
from sandbox.compiler import BuildCache, Failure
from sandbox.languages import available, missing_message, resolve

Runner = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
# A number whose integer part starts with a zero followed by another digit (`007`, `0011`, `-05.5`): no
# language prints a number so unless asked to, so the zeros are the answer's text (a binary string, a
# zero-padded code) and the token compares as text.
_PADDED = re.compile(r"[+-]?0\d")
REL_TOL = 1e-6


# ---------------------------------------------------------------- comparison


def _tokens_match(expected: str, actual: str) -> bool:
    """Tokens are equal as text, or as numbers: an integer exactly, a real within REL_TOL.

    Where the expected token is an integer, the answer must be that integer exactly: `5`, `5.0` and
    `5e0` all equal 5, but no float-looking token stands for a nearby integer (1e18 is not 10**18 + 1).
    Decimal compares digits of any length exactly, so a huge number can neither crash nor pass.
    A token with leading zeros on either side is text: `11` is not the binary string `0011`.
    """
    if expected == actual:
        return True
    if not (_NUMBER.fullmatch(expected) and _NUMBER.fullmatch(actual)):
        return False
    if _PADDED.match(expected) or _PADDED.match(actual):
        return False
    try:
        if _INTEGER.fullmatch(expected):
            return Decimal(expected) == Decimal(actual)
        e, a = float(expected), float(actual)
        return math.isfinite(a) and math.isclose(e, a, rel_tol=REL_TOL, abs_tol=1e-9)
    except (ArithmeticError, ValueError):
        return False


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def stdout_matches(expected: str, actual: str) -> bool:
    """Line by line, token by token; trailing whitespace and trailing blank lines are ignored."""
    exp, act = _lines(expected), _lines(actual)
    if len(exp) != len(act):
        return False
    for e, a in zip(exp, act, strict=True):
        et, at = e.split(), a.split()
        if len(et) != len(at) or not all(_tokens_match(x, y) for x, y in zip(et, at, strict=True)):
            return False
    return True


def values_match(expected: Any, actual: Any) -> bool:
    """JSON-form equality: tuples are lists, 1 == 1.0, floats within 1e-6 relative, bools are not numbers."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        if isinstance(expected, int):  # exact: float(n + 1) is not n + 1 once n + 1 > 2**53
            if isinstance(actual, float):
                return actual.is_integer() and int(actual) == expected
            return expected == actual
        try:
            if math.isnan(expected) or math.isnan(actual):
                return math.isnan(expected) and math.isnan(actual)
            return math.isclose(expected, actual, rel_tol=REL_TOL, abs_tol=1e-9)
        except OverflowError:  # an integer too large for a float is not close to any float
            return False
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(
            values_match(e, a) for e, a in zip(expected, actual, strict=True)
        )
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            values_match(expected[k], actual[k]) for k in expected
        )
    return type(expected) is type(actual) and expected == actual


def _normalise(value: Any) -> Any:
    """The JSON form of an expected value (tuples become lists, dict keys strings), as the program's will be."""
    return json.loads(json.dumps(value))


# ---------------------------------------------------------------- judging


def _exec_request(req: JudgeRequest, **fields: Any) -> dict[str, Any]:
    return {
        "code": req.code,
        "mode": req.mode,
        "timeout_s": req.timeout_s,
        "memory_mb": req.memory_mb,
        "output_bytes": int(req.output_mb * 2**20),
        "processes": req.processes,
        "file_size_mb": req.disk_mb,
        **fields,
    }


def _verdict(req: JudgeRequest, case: Any, res: dict[str, Any]) -> Verdict:
    """The test's verdict; whatever the program made its output or result, never the server's failure."""
    status = res.get("status", "sandbox_error")
    if status != "ok":
        return cast(Verdict, status)  # the worker's own verdict for the execution (time_limit, ...)
    try:
        if req.mode == "stdio":
            return "accepted" if stdout_matches(str(case.output), res.get("stdout", "")) else "wrong_answer"
        if req.mode == "function":
            try:
                actual = json.loads(res["result"])
            except (TypeError, ValueError):
                return "wrong_answer"
            expected = [case.output, *case.alt_outputs]
            return (
                "accepted" if any(values_match(_normalise(e), actual) for e in expected) else "wrong_answer"
            )
    except RecursionError:  # nesting deeper than any expected answer: not it
        return "wrong_answer"
    return "accepted"  # assert mode: check() returned


def _stdin(value: Any) -> str:
    if isinstance(value, list):  # some datasets store input lines as a list
        return "\n".join(str(v) for v in value) + "\n"
    return str(value)


def _unjudged(req: JudgeRequest, verdict: Verdict, **why: str) -> JudgeResponse:
    """Every test fails the same way before any runs (a compile error, a missing toolchain)."""
    total = len(req.tests)
    n = 1 if req.stop_on_first_failure else total
    return JudgeResponse(passed=0, total=total, verdicts=[verdict] * n, reward=0.0, **why)


async def judge(req: JudgeRequest, run: Runner, builds: BuildCache | None = None) -> JudgeResponse:
    """Run every test (each in a fresh execution) and return per-test verdicts.

    A compiled language is built once first (through `builds`, the server's cache); every test then runs
    that build.
    """
    lang = resolve(req.language)
    program: dict[str, Any] = {}
    if not lang.in_process:
        if lang.name not in available():
            return _unjudged(req, "sandbox_error", error=missing_message(lang))
        build = await (builds or BuildCache()).build(lang, req.code, run)
        if isinstance(build, Failure):
            if build.verdict == "compile_error":
                return _unjudged(req, "compile_error", details=build.details)
            return _unjudged(req, build.verdict, error=build.details)
        program = {"code": "", **build.exec_fields(req.memory_mb)}
    if req.mode == "assert":
        cases: list[Any] = [None]
        execs = [_exec_request(req, test=req.test, entry_point=req.entry_point)]
    elif req.mode == "function":
        cases = list(req.tests)
        execs = [_exec_request(req, fn_name=req.fn_name, input=c.input) for c in cases]
    else:
        cases = list(req.tests)
        execs = [_exec_request(req, stdin=_stdin(c.input), **program) for c in cases]

    async def one(i: int) -> Verdict:
        return _verdict(req, cases[i], await run(execs[i]))

    if req.stop_on_first_failure:
        verdicts: list[Verdict] = []
        for i in range(len(execs)):
            verdicts.append(await one(i))
            if verdicts[-1] != "accepted":
                break
        # Tests not run after the first failure count in `total` as failed; `verdicts` lists those run.
        skipped = len(execs) - len(verdicts)
    else:
        verdicts = list(await asyncio.gather(*(one(i) for i in range(len(execs)))))
        skipped = 0
    passed = sum(v == "accepted" for v in verdicts)
    total = len(verdicts) + skipped
    return JudgeResponse(
        passed=passed, total=total, verdicts=verdicts, reward=passed / total if total else 0.0
    )
