"""Decontamination: a training prompt that copies an evaluation problem is dropped, so a benchmark score
measures the model, not its training set. Copies are found by shared word n-grams (8, as open-r1).

`Decontaminator` indexes each suite's problem texts; `rl.eval.suites.decontaminator` builds one for a
recipe's `data.decontaminate` from every suite the project evaluates on (AIME 24/25, AMC 23, MATH-500,
GSM8K, Minerva, OlympiadBench, HumanEval, IFEval, BFCL), so the data layer never reads evaluation data itself.
Only the problems' own text is indexed (never the instructions our prompts add). An n-gram found in two or
more problems of one suite is a template phrase ("Express your answer as a common fraction"), not a
problem, and is left out.

IFEval is the exception to "one shared n-gram is enough": its prompts are a task plus instruction sentences,
and instruction-following training sets (RLVR-IFeval) word their constraints with IFEval's own templates by
design. A training prompt is contaminated by an IFEval prompt only when it shares at least 30% of the
n-grams that prompt holds alone: its task, not its instructions. Measured on the 541 IFEval prompts
(tests/rl/test_decontam_ifeval.py), with training prompts made of an unrelated task plus an IFEval prompt's
own instructions as IFEval's templates word them, and of an IFEval prompt's task plus another prompt's
instructions:

| rule | unrelated task + its instructions dropped | its task + other instructions dropped |
|---|---:|---:|
| one shared 8-gram (the other suites) | 164 / 541 | 529 / 532 |
| >= 50% of the prompt's own 8-grams | 2 / 541 | 467 / 532 |
| >= 30% (this) | 20 / 541 | 511 / 532 |
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_WORD = re.compile(r"\w+")

# Suites whose prompts embed instruction templates that training sets share by design: the fraction of one
# eval prompt's own n-grams a training prompt must share to count as a copy of it (others: any one n-gram).
MIN_SHARED_FRACTION = {"ifeval": 0.3}


class DecontamError(ValueError):
    """A suite whose problems cannot be read, or an unknown suite name; says which and what to do."""


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngram_hashes(text: str, n: int) -> set[int]:
    """The text's word n-grams (lower-cased `\\w+` words), each as a 64-bit hash."""
    w = words(text)
    return {
        int.from_bytes(hashlib.blake2b(" ".join(w[i : i + n]).encode(), digest_size=8).digest(), "big")
        for i in range(len(w) - n + 1)
    }


@dataclass(frozen=True)
class SuiteIndex:
    owner: dict[int, int]  # n-gram hash -> the one problem holding it (template n-grams left out)
    sizes: list[int]  # n-grams each problem holds alone


def suite_index(texts: list[str], n: int) -> SuiteIndex:
    grams = [ngram_hashes(text, n) for text in texts]
    df: Counter[int] = Counter(h for g in grams for h in g)
    owner = {h: i for i, g in enumerate(grams) for h in g if df[h] == 1}
    return SuiteIndex(owner, [sum(df[h] == 1 for h in g) for g in grams])


class Decontaminator:
    """`suite_of(text)`: the first eval suite `text` copies a problem of (module docstring), or None."""

    def __init__(self, suites: Mapping[str, Callable[[], list[str]]], n: int = 8) -> None:
        self.n = n
        self.index: dict[str, SuiteIndex] = {}
        for name, load in suites.items():
            try:
                texts = load()
            except Exception as e:  # a missing data dir or package: say which suite and why
                raise DecontamError(
                    f"decontamination suite {name}: cannot read its problems ({type(e).__name__}: {e})"
                ) from e
            self.index[name] = suite_index(texts, n)

    def suite_of(self, text: str) -> str | None:
        grams = ngram_hashes(text, self.n)
        for name, index in self.index.items():
            shared = Counter(index.owner[h] for h in grams if h in index.owner)
            need = MIN_SHARED_FRACTION.get(name)
            if shared and (need is None or any(k >= need * index.sizes[doc] for doc, k in shared.items())):
                return name
        return None


def prompt_text(prompt: Any) -> str:
    """The words a prompt shows the model: a string, or the content of its chat messages."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        return "\n".join(str(m.get("content", "")) for m in prompt if isinstance(m, dict))
    return json.dumps(prompt)
