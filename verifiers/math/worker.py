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
_WARM_UP = [
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
]
for _gold, _answer in _WARM_UP:
    try:
        decide(_gold, _answer)
    except Exception:  # noqa: S112 - a warm-up miss only costs speed
        continue
_parsed.cache_clear()
