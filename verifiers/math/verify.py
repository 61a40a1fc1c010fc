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
from verifiers.math.parse import (
    Answer,
    choice_pair,
    decimal_comma,
    is_placeholder,
    literal_verdict,
    normalize,
    simple_number,
    terminates,
)
from verifiers.math.workers import get_pool

_FAST_MAX_CHARS = 200
_FAILED = "failed"  # a row `_check` could not read (already counted); reads as None


@lru_cache(maxsize=4096)
def _gold_text(gold: str) -> str | None:
    """The gold's answer text; None for a gold that holds no answer (a proof, `N/A`, `?`)."""
    text = extract_gold(gold)
    return None if text is None or is_placeholder(text) else text


@lru_cache(maxsize=4096)
def _normalized(text: str) -> Answer:
    """A GRPO group verifies one gold against many completions, many of which box the same answer:
    normalize each text once (read-only here; only a worker's `parse` fills an Answer in)."""
    return normalize(text)


def _fast(gold_text: str, ans_text: str) -> bool | None:
    """Decide exact-number and literal cases without sympy; None when sympy is needed.

    The numbers here follow the exactness rule of `verifiers.math.equivalence`: plain numbers are exact
    fractions, and only a decimal gold answered by an exact fraction is read as rounded.
    """
    if len(gold_text) > _FAST_MAX_CHARS or len(ans_text) > _FAST_MAX_CHARS:
        return None
    g, a = _normalized(gold_text), _normalized(ans_text)
    verdict = literal_verdict(g, a)
    if verdict is not None:
        return verdict
    gv, av = simple_number(g.text), simple_number(a.text)
    if av is None and gv is not None:
        alt = decimal_comma(a.text, gold=False)  # `2,74`: a European decimal answer
        av = simple_number(alt) if alt else None
    if gv is None or av is None:
        if g.percent or a.percent:
            return None
        return _fast_lists(g.text, a.text)
    # A percent sign on one side may be a unit the other leaves out (50% for 1/2, or for 50); on both
    # sides the numbers compare as written: 0.5% is not 50%.
    both = g.percent and a.percent
    golds = [gv, gv / 100] if g.percent and not both else [gv]
    answers = [av, av / 100] if a.percent and not both else [av]
    if any(x == y for x in golds for y in answers):
        return True
    if g.decimals is not None and a.decimals is None and len(g.text.lstrip("-.0").replace(".", "")) >= 2:
        half_unit = Fraction(1, 2 * 10**g.decimals)
        # A fraction with a terminating decimal (49/20 = 2.45) is a decimal in disguise: exact, like one.
        return any(abs(y - gv) <= half_unit and not terminates(y) for y in answers)
    return False


_LIST_SPLIT = re.compile(r"\s*(?:,|;|\band\b)\s*(?:and\b)?\s*")


def _number_list(text: str) -> tuple[str, list[Fraction]] | None:
    """A bare list, a braced set, or a bracketed pair/tuple/interval of plain numbers, with its kind."""
    kind = "list"
    body = text.strip()
    if len(body) > 2 and body.startswith("\\{") and body.endswith("\\}"):
        kind, body = "set", body[2:-2]
    elif len(body) >= 2 and body[0] in "([" and body[-1] in ")]":
        kind, body = body[0] + body[-1], body[1:-1]
    parts = _LIST_SPLIT.split(body.strip())
    if len(parts) < 2:
        return None
    values = [v for v in map(simple_number, parts) if v is not None]
    if len(values) != len(parts):
        return None
    return kind, values


def _fast_lists(gold: str, ans: str) -> bool | None:
    """Lists, sets, tuples and intervals of plain numbers, compared without sympy; None otherwise."""
    g, a = _number_list(gold), _number_list(ans)
    if g is None or a is None:
        return None
    (gk, gv), (ak, av) = g, a
    if gk == "set" and ak in ("set", "list"):
        return sorted(set(gv)) == sorted(set(av))  # a set's repeated elements are one element
    if len(gv) != len(av):
        return False
    if gk in ("list", "set") and ak in ("list", "set"):
        return sorted(gv) == sorted(av)
    if "set" in (gk, ak):
        return False  # a braced set is not an ordered pair or an interval
    if {gk, ak} - {"list", "()"}:
        return gk == ak and gv == av  # [1,2) is not [1,2], and no list of endpoints is an interval
    return gv == av


def _check(
    golds: list,
    answers: list,
    timeout_s: float,
    workers: int | None,
    single: bool,
    think_prefill: bool = False,
) -> list:
    """True/False per row, None where the gold cannot be read; an answer without a final answer is False.

    A row whose reading fails in this process is None and counted (`verifiers.failures`); it never
    touches the other rows.
    """
    start = time.monotonic()
    out: list = [False] * len(golds)
    tasks, where = [], []
    for i, (gold, answer) in enumerate(zip(golds, answers, strict=True)):
        try:
            gold_text = _gold_text(gold) if isinstance(gold, str) else None
            if gold_text is None:
                out[i] = None
                continue
            ans_text = extract_answer(answer, think_prefill) if isinstance(answer, str) else None
            pair = choice_pair(gold_text, ans_text) if ans_text is not None else (gold_text, ans_text)
            if isinstance(pair, bool):
                out[i] = pair
                continue
            gold_text, ans_text = pair
            quick = None if ans_text is None else _fast(gold_text, ans_text)
        except Exception as e:  # a bug on one row's text: that row is unscored, the batch goes on
            failures.record("math_reward", f"row {i}: {type(e).__name__}: {e}")
            out[i] = _FAILED
            continue
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

    Never raises; returns within `timeout_s` plus a small constant from any thread (the first call in a
    process also waits for the worker pool to start). A timeout is False.
    """
    try:
        return _check([gold], [answer], timeout_s, 1, single=True)[0] is True
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
    return [r is True for r in _check(list(golds), list(answers), timeout_s, workers, single=False)]


def math_reward(
    completions,
    answer=None,
    timeout_s: float = 5.0,
    think_prefill: bool = True,
    workers: int | None = None,
    **kwargs,
) -> list[float | None]:
    """TRL reward function: 1.0 if the final answer matches the row's `answer` column, else 0.0.

    `workers` bounds the sympy processes this call uses (default: every core); the launcher sets it from
    the node's cores and its number of training processes (`rewards.<i>.kwargs.workers`), so 8 ranks
    do not each start one per core and turn the per-answer time limit into a false timeout.

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
        [str(golds[i]) for i in rows], [texts[i] for i in rows], timeout_s, workers, False, think_prefill
    )
    bad = 0
    for i, r in zip(rows, got, strict=True):
        if r is None:
            bad += 1
        elif r is not _FAILED:
            rewards[i] = 1.0 if r is True else 0.0
    if bad:
        failures.record("math_reward", "gold answer could not be parsed", n=bad)
    return rewards
