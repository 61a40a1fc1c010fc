"""The public checks: `verify`, `verify_batch` and the TRL reward function `math_reward`.

Extraction and a fast exact-number path run in the caller (cheap, linear-time); anything that needs
sympy goes to the worker pool, which enforces the timeout by killing the worker.
"""

from __future__ import annotations

import os
import re
import time
from fractions import Fraction
from functools import lru_cache

from verifiers import failures
from verifiers.completion import completion_text
from verifiers.math.extract import extract_answer, extract_gold
from verifiers.math.parse import is_time, normalize, simple_number, text_key
from verifiers.math.workers import get_pool

_FAST_MAX_CHARS = 200
_REL_TOL = Fraction(1, 10**9)


@lru_cache(maxsize=4096)
def _gold_text(gold: str) -> str | None:
    return extract_gold(gold)


def _close(x: Fraction, y: Fraction, inexact: bool) -> bool:
    if not inexact:
        return x == y
    return abs(x - y) <= _REL_TOL * max(1, abs(x), abs(y))


def _fast(gold_text: str, ans_text: str) -> bool | None:
    """Decide exact-number and identical-text cases without sympy; None when sympy is needed."""
    if len(gold_text) > _FAST_MAX_CHARS or len(ans_text) > _FAST_MAX_CHARS:
        return None
    g, a = normalize(gold_text), normalize(ans_text)
    if text_key(g.text) == text_key(a.text):
        return True
    if g.letter:
        return a.letter == g.letter if a.letter else None
    if is_time(g.text) and is_time(a.text):
        return False
    gv, av = simple_number(g.text), simple_number(a.text)
    if gv is None or av is None:
        if g.percent or a.percent:
            return None
        return _fast_lists(g.text, a.text)
    inexact = "." in g.text or "." in a.text
    golds = [gv, gv / 100] if g.percent else [gv]
    answers = [av, av / 100] if a.percent else [av]
    return any(_close(x, y, inexact) for x in golds for y in answers)


_LIST_SPLIT = re.compile(r"\s*(?:,|;|\band\b)\s*(?:and\b)?\s*")


def _number_list(text: str) -> tuple[str, list[Fraction]] | None:
    """A bare list, a braced set, or a bracketed pair/tuple/interval of plain numbers, with its kind."""
    kind = "list"
    body = text.strip()
    if body.startswith("\\{") and body.endswith("\\}"):
        kind, body = "set", body[2:-2]
    elif body[:1] in "([" and body[-1:] in ")]":
        kind, body = body[0] + body[-1], body[1:-1]
    parts = _LIST_SPLIT.split(body.strip())
    if len(parts) < 2:
        return None
    values = [simple_number(p) for p in parts]
    if any(v is None for v in values):
        return None
    return kind, values


def _fast_lists(gold: str, ans: str) -> bool | None:
    """Lists, sets, tuples and intervals of plain numbers, compared without sympy; None otherwise."""
    g, a = _number_list(gold), _number_list(ans)
    if g is None or a is None:
        return None
    (gk, gv), (ak, av) = g, a
    if len(gv) != len(av):
        return False
    inexact = "." in gold or "." in ans
    unordered = {"list", "set"}
    if gk in unordered and ak in unordered:
        gv, av = sorted(gv), sorted(av)
        return all(_close(x, y, inexact) for x, y in zip(gv, av, strict=True))
    if "set" in (gk, ak):
        return False  # a braced set is not an ordered pair or an interval
    if gk != "list" and ak != "list" and gk != ak:
        return False  # [1,2) is not [1,2]
    return all(_close(x, y, inexact) for x, y in zip(gv, av, strict=True))


def _check(
    golds: list,
    answers: list,
    timeout_s: float,
    workers: int | None,
    single: bool,
    think_prefill: bool = False,
) -> list:
    """True/False per row, None where the gold cannot be read; an answer without a final answer is False."""
    start = time.monotonic()
    out: list = [False] * len(golds)
    tasks, where = [], []
    for i, (gold, answer) in enumerate(zip(golds, answers, strict=True)):
        gold_text = _gold_text(gold) if isinstance(gold, str) else None
        if gold_text is None:
            out[i] = None
            continue
        ans_text = extract_answer(answer, think_prefill) if isinstance(answer, str) else None
        if ans_text is not None:
            quick = _fast(gold_text, ans_text)
            if quick is not None:
                out[i] = quick
                continue
        # Without an answer the worker still reads the gold: an unreadable one is None, not a 0.
        tasks.append((gold_text, ans_text))
        where.append(i)
    if tasks:
        deadline = start + timeout_s if single else None
        n = workers or os.cpu_count() or 1
        # Longest first: the slow sympy cases start early instead of trailing the batch on one core.
        order = sorted(range(len(tasks)), key=lambda k: -len(tasks[k][0]) - len(tasks[k][1] or ""))
        got = get_pool().run([tasks[k] for k in order], timeout_s, n, deadline=deadline)
        for k, r in zip(order, got, strict=True):
            out[where[k]] = r
    return out


def verify(gold: str, answer: str, timeout_s: float = 5.0) -> bool:
    """Whether `answer` (a completion or a bare answer) reaches the reference answer `gold`.

    Never raises; returns within `timeout_s` plus a small constant from any thread. A timeout is False.
    """
    try:
        return bool(_check([gold], [answer], timeout_s, 1, single=True)[0])
    except Exception:
        return False


def verify_batch(
    golds: list[str], answers: list[str], timeout_s: float = 5.0, workers: int | None = None
) -> list[bool]:
    """`verify` over pairs, spread over `workers` processes (default: every core); `timeout_s` per pair."""
    if len(golds) != len(answers):
        raise ValueError(
            f"verify_batch got {len(golds)} golds and {len(answers)} answers; pass one gold per answer"
        )
    return [bool(r) for r in _check(list(golds), list(answers), timeout_s, workers, single=False)]


def math_reward(
    completions, answer=None, timeout_s: float = 5.0, think_prefill: bool = True, **kwargs
) -> list[float | None]:
    """TRL reward function: 1.0 if the final answer matches the row's `answer` column, else 0.0.

    None for rows without a math gold (other reward functions own them) and for rows whose gold cannot
    be parsed (counted with `verifiers.failures.record`, never scored 0). A completion that never closed
    its (prefilled) thinking gave no final answer and scores 0.0 (`verifiers.completion`).
    """
    golds = list(answer) if answer is not None else [None] * len(completions)
    texts = [completion_text(c) for c in completions]
    rows = [i for i, g in enumerate(golds) if isinstance(g, str | int | float) and str(g).strip()]
    rewards: list[float | None] = [None] * len(texts)
    if not rows:
        return rewards
    got = _check(
        [str(golds[i]) for i in rows], [texts[i] for i in rows], timeout_s, None, False, think_prefill
    )
    bad = 0
    for i, r in zip(rows, got, strict=True):
        if r is None:
            bad += 1
        else:
            rewards[i] = 1.0 if r else 0.0
    if bad:
        failures.record("math_reward", "gold answer could not be parsed", n=bad)
    return rewards
