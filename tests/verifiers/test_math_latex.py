"""The fast LaTeX path (SLL on a rewritten string) reads exactly what the library's full LL parse reads."""

from __future__ import annotations

import random

import pytest
import sympy

from verifiers.math.latex import _converters, _sll_form, sll_parse

# Letters with subscripts and superscripts: SLL fails on each as written, and reads each after the rewrite.
SCRIPTED = [
    "x^2",
    "x_1",
    "x_{10} + y_{n+1}",
    "F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}",
    "y_{1}=-2 x^{2}+4 x+3, y_{2}=3 x^{2}+12 x+10",
    "a_3 = 2, a_{37} = 19",
    "x_1 + x_2^2 = 1",
    "x^2/4 + y^2/3 = 1",
    "\\frac{x^2}{4} - \\sqrt{b^{2n}}",
    "V_{1}:V_{2}=11:21",
    "2x^2 \\cdot y^{n}",
    "\\sin x^2 + \\cos^2 y_1",
    "x_1 x_2 = 6",
    "x^{n+1} < y_k",
]
# Forms where the grammar reads more than a power or a name: a call, a transpose, a degree, a text token,
# a summation index. The rewrite leaves them alone or they read the same.
GUARDED = [
    "f^{-1}(x)",
    "p(C_k^{1/2})",
    "M(B^{n+1})",
    "B_{1}^2(C_k^k)",
    "f_1(x) + g_{2}[y]",
    "A^T",
    "x^{\\circ}",
    "\\mathrm{x_1} + x_1",
    "\\sum_{k_1=0}^{n} k_1",
    "dx_1",
    "I_1 + e_2 + E^2",
    "x_1'",
    "x_1!",
    "ab_1 + x_{1,2}",
]


def _ll(s: str) -> str:
    return sympy.srepr(_converters.__wrapped__()[1].parse(s))


def _fast(s: str) -> str:
    return sympy.srepr(sll_parse(s))


@pytest.mark.parametrize("s", SCRIPTED)
def test_scripted_letters_take_the_fast_path_to_the_same_object(s):
    with pytest.raises(Exception):  # noqa: B017 - the library's SLL parse fails on these as written
        _converters()[0].parse(s)
    assert _sll_form(s) is not None
    assert _fast(s) == _ll(s)


@pytest.mark.parametrize("s", GUARDED)
def test_guarded_forms_read_as_the_full_parse_reads_them(s):
    try:
        fast = _fast(s)
    except Exception:
        return  # SLL cannot read it: the caller falls back to LL on the original text
    assert fast == _ll(s)


def test_a_call_on_a_lone_power_stays_a_call():
    """`p(C_k^{1/2})` is the function p applied (the grammar's lone-atom argument), never p times a power."""
    assert "Function('p')" in _ll("p(C_k^{1/2})")
    form = _sll_form("p(C_k^{1/2})")
    assert form is None or "{" not in form[0].split("(", 1)[1]


def _random_answer(rng: random.Random, depth: int = 0) -> str:
    letters = list("abcxyznkpqABCFMPS") + ["\\alpha", "\\pi"]
    subs = ["_1", "_n", "_{10}", "_{n+1}", "_{k-1}", "_x", ""]
    sups = ["^2", "^n", "^{2}", "^{-1}", "^{n+1}", "^{\\frac{1}{2}}", "^T", "^{\\circ}", ""]

    def atom() -> str:
        r = rng.random()
        if r < 0.5 or depth > 1:
            return rng.choice(letters) + rng.choice(subs) + rng.choice(sups)
        if r < 0.6:
            return str(rng.randint(0, 99))
        if r < 0.7:
            return f"\\frac{{{_random_answer(rng, depth + 1)}}}{{{atom()}}}"
        if r < 0.8:
            return rng.choice(letters) + rng.choice(subs) + f"({_random_answer(rng, depth + 1)})"
        if r < 0.9:
            return f"({_random_answer(rng, depth + 1)})" + rng.choice(sups)
        return f"\\sqrt{{{atom()}}}"

    out = atom()
    for _ in range(rng.randint(0, 2)):
        out += rng.choice(["+", "-", " ", "\\cdot ", "/", " = ", ", "]) + atom()
    return out


def test_generated_answers_read_the_same_both_ways():
    rng = random.Random(7)
    rewritten = 0
    for _ in range(150):
        s = _random_answer(rng)
        if _sll_form(s) is None:
            continue
        try:
            fast = _fast(s)
        except Exception:  # noqa: S112 - falls back to LL on the original text
            continue
        rewritten += 1
        try:
            want = _ll(s)
        except Exception as e:  # LL cannot read it either: the fast path must not invent a reading
            pytest.fail(f"{s!r}: read as {fast} by the fast path, LL raises {e!r}")
        assert fast == want, s
    assert rewritten >= 20


def test_a_scripted_string_is_read_rewritten_without_a_failing_attempt_first(monkeypatch):
    """SLL always fails on a scripted letter as written, and that attempt cost as much as a parse: the
    rewrite is read first, in one parse; a string without a rewrite is parsed once, as written."""
    fast = _converters()[0]
    calls: list[str] = []
    real = fast.parse

    def counted(text: str):
        calls.append(text)
        return real(text)

    monkeypatch.setattr(fast, "parse", counted)
    for s in ("x_1 + x_2^2 = 1", "a_3 = 2, a_{37} = 19", "\\frac{x^2}{4} - \\sqrt{b^{2n}}"):
        calls.clear()
        assert sympy.srepr(sll_parse(s)) == _ll(s)
        assert len(calls) == 1 and calls[0] != s, (s, calls)
    calls.clear()
    sll_parse("\\frac{1}{2} + 3")
    assert calls == ["\\frac{1}{2} + 3"]
