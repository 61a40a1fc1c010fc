"""Text helpers shared by the rule verifiers: an offline sentence splitter and word counts (IFEval's
definitions). A completion's text and its final answer come from `verifiers.completion`."""

from __future__ import annotations

import re


def count_words(text: str) -> int:
    """Words as IFEval counts them (NLTK's RegexpTokenizer(r"\\w+"))."""
    return len(re.findall(r"\w+", text))


_ALPHA = "([A-Za-z])"
_PREFIXES = "(Mr|St|Mrs|Ms|Dr)[.]"
_SUFFIXES = "(Inc|Ltd|Jr|Sr|Co)"
_STARTERS = (
    r"(Mr|Mrs|Ms|Dr|Prof|Capt|Cpt|Lt|He\s|She\s|It\s|They\s|Their\s|Our\s|We\s|But\s|However\s|That\s"
    r"|This\s|Wherever)"
)
_ACRONYMS = "([A-Z][.][A-Z][.](?:[A-Z][.])?)"
_SITES = "[.](com|net|org|io|gov|edu|me)"
_DIGITS = "([0-9])"


def split_sentences(text: str) -> list[str]:
    """Split English text into sentences with rules (abbreviations, decimals, acronyms, ellipses, quotes).

    The same rule family IFEval's `count_sentences` uses, so sentence-count instructions agree with it
    without shipping a Punkt model.
    """
    t = " " + text + "  "
    t = t.replace("\n", " ")
    t = re.sub(_PREFIXES, "\\1<prd>", t)
    t = re.sub(_SITES, "<prd>\\1", t)
    t = re.sub(_DIGITS + "[.]" + _DIGITS, "\\1<prd>\\2", t)
    t = re.sub(r"\.{2,}", lambda m: "<prd>" * len(m.group(0)) + "<stop>", t)
    t = t.replace("Ph.D.", "Ph<prd>D<prd>")
    t = re.sub(r"\s" + _ALPHA + "[.] ", " \\1<prd> ", t)
    t = re.sub(_ACRONYMS + " " + _STARTERS, "\\1<stop> \\2", t)
    t = re.sub(_ALPHA + "[.]" + _ALPHA + "[.]" + _ALPHA + "[.]", "\\1<prd>\\2<prd>\\3<prd>", t)
    t = re.sub(_ALPHA + "[.]" + _ALPHA + "[.]", "\\1<prd>\\2<prd>", t)
    t = re.sub(" " + _SUFFIXES + "[.] " + _STARTERS, " \\1<stop> \\2", t)
    t = re.sub(" " + _SUFFIXES + "[.]", " \\1<prd>", t)
    t = re.sub(" " + _ALPHA + "[.]", " \\1<prd>", t)
    for closing in ('"', "”"):
        for mark in ".?!":
            t = t.replace(mark + closing, closing + mark)
    t = t.replace(".", ".<stop>").replace("?", "?<stop>").replace("!", "!<stop>")
    t = t.replace("<prd>", ".")
    sentences = [s.strip() for s in t.split("<stop>")]
    if sentences and not sentences[-1]:
        sentences = sentences[:-1]
    return sentences


def count_sentences(text: str) -> int:
    """Number of sentences by `split_sentences`."""
    return len(split_sentences(text))


def word_tokens(text: str) -> list[str]:
    """Word-level tokens close to NLTK's word_tokenize for counting all-capital words: runs of word
    characters (with inner hyphens kept, so "WELL-KNOWN" is one word) and punctuation runs."""
    return re.findall(r"\w+(?:-\w+)*|[^\w\s]+", text)
