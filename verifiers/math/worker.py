"""The per-task entry point that runs inside a worker process: parse both sides, compare."""

from __future__ import annotations

import re
from functools import lru_cache

from verifiers.math.equivalence import answers_equal
from verifiers.math.parse import Answer, is_time, normalize, parse, text_key

_WORDS = re.compile(r"^[A-Za-z][A-Za-z .,'()-]*$")


def _readable(gold: Answer) -> bool:
    return bool(
        gold.exprs
        or gold.letter
        or gold.empty_set
        or gold.words
        or is_time(gold.text)
        or _WORDS.match(gold.text)
    )


@lru_cache(maxsize=2048)
def _parsed(text: str, gold: bool = False) -> Answer:
    """Golds repeat across a GRPO group (16 completions per prompt): parse each once per worker."""
    return parse(normalize(text), gold=gold)


def decide(gold_text: str, answer_text: str | None) -> bool | None:
    """True/False for an extracted gold and answer; None when the gold itself cannot be read.

    `answer_text` None (the completion gave no final answer) is False against a readable gold.
    """
    gold = _parsed(gold_text, gold=True)
    if answer_text is None:
        return None if not _readable(gold) else False
    ans = normalize(answer_text)
    if text_key(gold.text) == text_key(ans.text):
        return True
    if not _readable(gold):
        return None
    ans = _parsed(answer_text)
    return answers_equal(gold, ans)


# Parsing and comparing a spread of typical answers once, at import, fills the LaTeX parser's lazily
# built ANTLR tables and sympy's caches. The forkserver imports this module before forking, so every
# worker (and every replacement after a timeout) starts warm instead of paying seconds on its first rows.
WARM_UP = [
    ("\\frac{1}{2}", "0.5"),
    ("\\sqrt{3}+x^2", "x^{2}+\\sqrt3"),
    ("(1,\\frac{9}{2})", "(1,4.5)"),
    ("\\{1,2\\}", "\\{2,1\\}"),
    ("[0,1) \\cup (2, \\infty)", "[0,1)"),
    ("x=5", "5"),
    ("x \\geq 5", "5 \\leq x"),
    ("\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}", "\\begin{bmatrix}1 & 2 \\\\ 3 & 4\\end{bmatrix}"),
    ("2 \\sin b \\cos a", "\\sin(a+b) - \\sin(a-b)"),
    ("\\frac{\\pi r}{h+r}", "\\pi r/(h+r)"),
    ("a_3 = 2, b = 3", "2, 3"),
    ("\\text{odd}", "odd"),
    ("f(x)=1", "1"),
    ("3 \\cdot 4^{2} - \\log_2 8", "45"),
    ("1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}"),
    ("2x+4y-3=0", "y=-\\frac{1}{2}x+\\frac{3}{4}"),
    ("\\tan^2(y)+1", "\\sec^2(y)"),
    ("28\\%", "0.28"),
    ("\\dfrac{108 + 31\\sqrt{5}}{216}", "\\frac{1}{2}+\\frac{31\\sqrt{5}}{216}"),
    ("(-\\infty, -3] \\cup [2, \\infty)", "x \\leq -3"),
    ("x = 5+5+1 = 7 = 11", "x=11"),
    ("x = \\frac{1}{3} \\approx 0.33", "k = \\frac13"),
    ("-x > -1", "x \\lt 1"),
    ("x \\neq 3", "x != 3"),
    ("(3, 37, 3, 13), (3, 17, 3, 7)", "(3,17,3,7),(3,37,3,13)"),
    ("p = -1, p = \\dfrac{15}{8}", "-1, \\frac{15}{8}"),
    ("\\frac{NO}{BO}=\\frac{1}{\\sqrt{6}}", "\\frac{\\sqrt6}{6}"),
    ("S_{ABC}:S=7:32", "7:32"),
    ("y_1 = -2 x^{2}+4 x+3", "-2(x - 1)^2 + 5"),
    ("10^{\\frac{-5+\\sqrt{13}}{6}}", "10^{-\\frac{5 - \\sqrt{13}}{6}}"),
    ("\\frac{1}{3\\sqrt[3]{x}^2}", "\\frac{1}{3x^{2/3}}"),
    ("(a+5)(b+2)", "ab + 2a + 5b + 10"),
    ("|AB| = 1", "1"),
    ("f(x) = x^2 - 1", "(x-1)(x+1)"),
    ("x \\in [-2,7]", "-2 \\le x \\le 7"),
    ("0 < f(x) < 1", "(0,1)"),
    (
        "\\left[\\begin{array}{cc}1 & 2 \\\\3 & 4\\end{array}\\right]",
        "\\begin{pmatrix}1 \\\\ 2\\end{pmatrix}",
    ),
    ("\\sum_{k=0}^{n-1} F_k F_{n-k-1}", "\\sum_{k=1}^{n} k"),
    ("\\ln(e^2) + \\cos(\\pi/3)", "2.5"),
    ("3 + 2i", "\\frac{13}{3-2i}"),
    ("204_5", "54"),
    ("1 \\frac{1}{10}", "1.1"),
    # Equations, subscripts and powers: ANTLR's fast prediction fails on these and the full one decides.
    ("x_1 = 3, x_2 = -\\frac{1}{2}", "x_{2} = -0.5, x_{1} = 3"),
    ("a_{n} = 2^{n} - 1", "a_n = 2^n - 1"),
    ("x^2 + y^2 = 25", "y^{2} = 25 - x^{2}"),
    ("y = 3x^2 - 2x + 1", "y=3 x^{2}-2 x+1"),
    ("b^2 - 4ac", "b^{2}-4 a c"),
    ("AB:CD = 3:4", "3:4"),
    ("P_{1}:P_{2} = 5:7", "\\frac{5}{7}"),
    ("T_n = \\sum_{i=1}^{n} i^2", "T_n = \\frac{n(n+1)(2n+1)}{6}"),
    ("\\prod_{k=1}^{n} k", "n!"),
    ("\\int_0^1 x^2 \\, dx", "\\frac{1}{3}"),
    ("\\lim_{x \\to 0} \\frac{\\sin x}{x}", "1"),
    # Lists of tuples, sets, intervals and inequalities.
    ("(1, 2), (3, 4)", "(3,4),(1,2)"),
    ("(0; 1; -2)", "(0, 1, -2)"),
    ("(x, y) = (2, -1)", "(2,-1)"),
    ("\\{-1, 0, 1\\}", "\\{1, -1, 0\\}"),
    ("-2 < x \\leq 3", "(-2, 3]"),
    ("1 \\leq |z| \\leq 2", "[-2,-1] \\cup [1,2]"),
    ("x \\in (-\\infty, 0) \\cup (1, \\infty)", "x < 0 \\text{ or } x > 1"),
    ("\\pm 3", "\\{-3, 3\\}"),
    ("2 \\pm \\sqrt{3}", "2+\\sqrt{3}, 2-\\sqrt{3}"),
    # Functions, constants and other notation.
    ("f(x) = 2x + 1", "f(x)=1+2 x"),
    ("f^{-1}(x) = \\frac{x - 1}{2}", "\\frac{x}{2} - \\frac{1}{2}"),
    ("\\sin^2 x + \\cos^2 x", "1"),
    ("\\log_{2} 8 + \\ln e", "4"),
    ("1 - \\frac{1}{\\mathrm{e}}", "\\frac{e-1}{e}"),
    ("e^{2x}", "\\exp(2x)"),
    ("\\sqrt[3]{2} \\cdot \\sqrt{2}", "2^{5/6}"),
    ("\\lfloor 3.7 \\rfloor + \\lceil 1.2 \\rceil", "5"),
    ("\\binom{5}{2}", "10"),
    ("|x - 1| + |x + 1|", "2"),
    ("3 - 4i", "\\frac{25}{3+4i}"),
    ("1.5 \\times 10^{3}", "1500"),
    ("\\overline{AB}", "AB"),
    ("\\angle ABC = 30^\\circ", "30"),
    ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"),
    ("\\begin{pmatrix} 1 \\\\ -2 \\\\ 3 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ -2 \\\\ 3 \\end{pmatrix}"),
    (
        "\\begin{pmatrix} \\frac{1}{2} & 0 \\\\ 0 & \\cos x \\end{pmatrix}",
        "\\begin{pmatrix} 0.5 & 0 \\\\ 0 & \\cos x \\end{pmatrix}",
    ),
    ("7 = 2a + b", "2a + b"),
    ("x = 4 + 3 = 7", "7"),
    ("4:30", "4:30 \\text{ p.m.}"),
]
for _gold, _answer in WARM_UP:
    try:
        decide(_gold, _answer)
    except Exception:  # noqa: S112 - a warm-up miss only costs speed
        continue
_parsed.cache_clear()
