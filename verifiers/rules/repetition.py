"""Repetition / looping penalty: QwQ's other known failure is getting stuck repeating itself until the
length limit.

Text is tokenised into words (and single characters for CJK scripts, which do not separate words with
spaces), and two signs of looping are measured, both in [0, 1]:

- the share of word n-grams (default n=8, long enough that natural prose almost never repeats one) that
  repeat an earlier n-gram. Words only: punctuation or markdown sprinkled differently into each copy of a
  loop ("wait, let" / "wait; let" / "**wait** let") does not make the copies new, and the punctuation of
  honest structured output (JSON records, HTML lists, tables, whose words differ) is not a loop;
- the share of the text covered by its tail loop: the same block of tokens repeated back to back at the end
  (a model that never stops), on all tokens (a run of `!!!!` is a loop) and on the words alone.

Both read the text a reader sees, so invisible characters or look-alike letters varied from copy to copy
do not hide a loop either.

The penalty is minus the larger of the two, beyond a small tolerance for legitimate repetition (a refrain,
a repeated formula), scaled back to [-1, 0].
"""

from __future__ import annotations

import re
from typing import Any

from verifiers.completion import completion_text
from verifiers.rules.text import visible_text

NGRAM = 8
TOLERANCE = 0.1  # share of repeated n-grams natural text may have without penalty
MAX_PERIOD = 200  # longest loop body (tokens) looked for at the tail

_MARK = re.compile(r"[^\w\s]")
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    """Lower-cased words of the text a reader sees (`visible_text`: a zero-width character or a look-alike
    letter does not make a repeated block new); one token per CJK character; punctuation marks as tokens."""
    return _TOKEN.findall(visible_text(text).lower())


def repeated_ngram_share(toks: list[str], n: int = NGRAM) -> float:
    """Share of the text's n-grams that already occurred earlier in it."""
    if len(toks) < 2 * n:
        return 0.0
    grams = [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]
    return 1.0 - len(set(grams)) / len(grams)


def tail_loop_share(toks: list[str], min_repeats: int = 3) -> float:
    """Share of tokens in a block repeated back to back (at least `min_repeats` times) at the end."""
    n = len(toks)
    best = 0
    for period in range(1, min(MAX_PERIOD, n // min_repeats) + 1):
        i = n - 1
        while i - period >= 0 and toks[i] == toks[i - period]:
            i -= 1
        covered = n - 1 - i + period  # tokens inside the periodic tail, including its first copy
        if covered >= min_repeats * period:
            best = max(best, covered)
            if best == n:
                break
    return best / n if n else 0.0


def repetition_score(text: str, n: int = NGRAM) -> float:
    """How repetitive `text` is, in [0, 1] (0: no looping)."""
    toks = tokens(text)
    words = [t for t in toks if not _MARK.fullmatch(t)]
    return max(repeated_ngram_share(words, n), tail_loop_share(toks), tail_loop_share(words))


def repetition_reward(
    completions: list, ngram_size: int = NGRAM, tolerance: float = TOLERANCE, **kwargs: Any
) -> list[float | None]:
    """Penalty in [-1, 0] for repetitive completions, thought included (TRL reward function; every row owned)."""
    out: list[float | None] = []
    for c in completions:
        excess = max(0.0, repetition_score(completion_text(c), ngram_size) - tolerance)
        out.append(-excess / (1.0 - tolerance) if excess else 0.0)
    return out
