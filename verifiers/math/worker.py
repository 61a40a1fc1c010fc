"""The per-task entry point that runs inside a worker process: parse both sides, compare."""

from __future__ import annotations

import re
from functools import lru_cache

from verifiers.math.equivalence import answers_equal
from verifiers.math.parse import Answer, is_time, normalize, parse, text_key
from verifiers.math.warmup import warm

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


# The forkserver imports this module before forking (`verifiers.math.workers`), so every worker starts
# with the LaTeX parser's tables and sympy's caches filled (`verifiers.math.warmup`).
warm(decide, lambda text: parse(normalize(text)))
_parsed.cache_clear()
