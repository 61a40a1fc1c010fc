"""The 25 IFEval instruction checks (Zhou et al. 2023), one function per instruction id.

Each check is `(response, **kwargs) -> bool` with the keyword arguments of the IFEval data rows and the
semantics of google-research's `instruction_following_eval` (strict mode; `ifeval.py` adds loose mode).
Sentences and capital words are split as the reference splits them (NLTK Punkt and NLTK's word tokenizer,
`verifiers.rules.text`), and languages are detected with `langdetect` as the reference does, with a fixed
seed so that the same response always gets the same answer (the reference's unseeded detector can flip on
short or mixed text). Deliberate differences, each closing a way to earn the reward without following the
instruction (`ifeval.py` also reads every response and argument as a reader sees it, `text.visible_text`):
keywords are matched literally (regex-escaped), so a keyword with `(` cannot crash a reward; a comma in
another script or a look-alike (`，`, `、`, `،`, `‚`) is a comma; a title, highlight, placeholder or bullet
holds a word, not only spaces or punctuation, and a markdown rule (`---`, `* * *`) is no bullet; a section
holds text and starts its line; the yes/no/maybe answer names one option, not all three; a JSON answer is
an object or an array, not prose in quotes; each of two responses holds words, not the other's words
again; a repeated prompt may differ in spacing; keywords, letters and case are also read with words spelled
wholly in look-alikes of Latin letters as the Latin words they show, where they stand among Latin words
(`text.latin_reading`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from verifiers.rules.text import count_sentences, count_words, latin_reading, word_tokens

# IFEval's two relations, plus "exactly" and "around" for training data such as RLVR-IFeval (open-instruct:
# keyword counts are exact; "around N" is within a tolerance each check sets, ±10% or ±1).
LESS_THAN, AT_LEAST, EXACTLY, AROUND = "less than", "at least", "exactly", "around"


def _tenth(n: int) -> int:
    return max(round(n * 0.1), 1)


def _compare(actual: int, relation: str, threshold: int, tolerance: int = 0) -> bool:
    if relation == AROUND:
        return abs(actual - threshold) <= tolerance
    if relation == LESS_THAN:
        return actual < threshold
    if relation == AT_LEAST:
        return actual >= threshold
    if relation == EXACTLY:
        return actual == threshold
    raise ValueError(
        f"relation must be {LESS_THAN!r}, {AT_LEAST!r}, {EXACTLY!r} or {AROUND!r}, got {relation!r}"
    )


def _kw(word: str) -> str:
    return re.escape(word.strip())


def _readings(response: str) -> tuple[str, ...]:
    """The response, and (when it differs) its Latin reading (`text.latin_reading`: "The сар" with a
    Cyrillic сар reads "The cap"). A Latin keyword is looked for in both, a Cyrillic one is found as written."""
    latin = latin_reading(response)
    return (response,) if latin == response else (response, latin)


# keywords:*


def keywords_existence(response: str, *, keywords: list[str]) -> bool:
    readings = _readings(response)
    return all(any(re.search(_kw(k), r, flags=re.IGNORECASE) for r in readings) for k in keywords)


def keywords_frequency(
    response: str, *, keyword: str, frequency: int, relation: str, whole_words: bool = False
) -> bool:
    """IFEval counts occurrences anywhere; `whole_words` (RLVR-IFeval, as open-instruct) counts only the
    keyword as a word of its own, so "river" is not found in "rivers" (an underscore separates words, as in
    `length_constraints:number_words`: "river_river" is the word twice)."""
    pattern = rf"(?<![^\W_]){_kw(keyword)}(?![^\W_])" if whole_words else _kw(keyword)
    count = max(len(re.findall(pattern, r, flags=re.IGNORECASE)) for r in _readings(response))
    return _compare(count, relation, frequency)


def keywords_forbidden_words(response: str, *, forbidden_words: list[str]) -> bool:
    """A forbidden word as a word of its own; an underscore does not hide it ("the river_valley" uses it)."""
    return not any(
        re.search(rf"(?<![^\W_]){_kw(w)}(?![^\W_])", r, flags=re.IGNORECASE)
        for w in forbidden_words
        for r in _readings(response)
    )


def keywords_letter_frequency(response: str, *, letter: str, let_frequency: int, let_relation: str) -> bool:
    count = max(r.lower().count(letter.strip().lower()) for r in _readings(response))
    return _compare(count, let_relation, let_frequency)


# language:*


def language_response_language(response: str, *, language: str) -> bool:
    found = _detect(response)
    return True if found is None else found == language  # undetectable text counts as followed, as in IFEval


@lru_cache(maxsize=1)
def _detector_factory() -> Any:
    """langdetect's profiles (shipped in its wheel) in a factory of our own, seeded: deterministic answers."""
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)
    return factory


@lru_cache(maxsize=256)
def _detect(text: str) -> str | None:
    """`langdetect.detect(text)` with a fixed seed; None where it finds no features (the reference's error)."""
    from langdetect.lang_detect_exception import LangDetectException

    detector = _detector_factory().create()
    detector.append(text)
    try:
        return detector.detect()
    except LangDetectException:
        return None


# length_constraints:*


def length_number_sentences(response: str, *, num_sentences: int, relation: str) -> bool:
    return _compare(count_sentences(response), relation, num_sentences, tolerance=1)


def length_number_paragraphs(response: str, *, num_paragraphs: int) -> bool:
    """Paragraphs separated by the divider `***` standing apart from words (at a line's end, between
    sentences; but `***bold italic***` is emphasis, not two dividers); an empty paragraph inside fails."""
    paragraphs = re.split(r"(?<!\S)\*\*\*(?!\S)", response)
    count = len(paragraphs)
    for i, p in enumerate(paragraphs):
        if not p.strip():
            if i in (0, len(paragraphs) - 1):
                count -= 1
            else:
                return False
    return count == num_paragraphs


def length_number_words(response: str, *, num_words: int, relation: str) -> bool:
    return _compare(count_words(response), relation, num_words, tolerance=_tenth(num_words))


def length_nth_paragraph_first_word(
    response: str, *, num_paragraphs: int, nth_paragraph: int, first_word: str
) -> bool:
    """Paragraphs separated by blank lines; paragraph n starts with `first_word` (case-insensitive).

    A line of spaces is a blank line and several blank lines are one break (the reference counts "a\\n \\nb"
    as one paragraph and finds no second paragraph in "a\\n\\n\\n\\nb"), and the word may wear markdown or
    quotes (`**However**,`, `## However`, `"However`)."""
    paragraphs = [p.strip() for p in re.split(r"\n[ \t]*\n", response) if p.strip()]
    if not 0 < nth_paragraph <= len(paragraphs):
        return False
    word = re.match(r"[^\W_]*(?:-[^\W_]+)*", paragraphs[nth_paragraph - 1].lstrip("#*_>`\"' \t"))
    return (
        len(paragraphs) == num_paragraphs and word is not None and word.group().lower() == first_word.lower()
    )


# detectable_content:*


def content_number_placeholders(response: str, *, num_placeholders: int) -> bool:
    return len([p for p in re.findall(r"\[.*?\]", response) if re.search(r"\w", p)]) >= num_placeholders


def content_postscript(response: str, *, postscript_marker: str) -> bool:
    marker = postscript_marker.strip()
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + re.escape(marker.lower()) + r".*$"
    return bool(re.findall(pattern, response.lower(), flags=re.MULTILINE))


# detectable_format:*


# A markdown thematic break (`---`, `* * *`, `___`): a divider, not a bullet.
_RULE = re.compile(r"^ *([-*_])(?: *\1){2,} *$")


def format_number_bullet_lists(response: str, *, num_bullets: int) -> bool:
    stars = re.findall(r"^\s*\*[^\*].*$", response, flags=re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", response, flags=re.MULTILINE)
    items = [line for line in stars + dashes if _WORDY.search(line) and not _RULE.match(line.strip())]
    return len(items) == num_bullets


CONSTRAINED_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


def format_constrained_response(response: str, *, options: list[str] | None = None) -> bool:
    """IFEval's yes/no/maybe options by default: exactly one of them (all three is no answer). With `options` (RLVR-IFeval's free-text choices) the
    response must name exactly one of them, as a phrase of its own (an option inside a longer one it also
    names does not count twice), so hedging between options or naming none fails."""
    value = response.strip()
    if not options:
        return sum(option in value for option in CONSTRAINED_OPTIONS) == 1
    spans: list[tuple[int, int, str]] = []
    for option in sorted({o.strip() for o in options if o.strip()}, key=len, reverse=True):
        for m in re.finditer(rf"(?<!\w){re.escape(option)}(?!\w)", value, flags=re.IGNORECASE):
            if not any(a <= m.start() and m.end() <= b for a, b, _ in spans):
                spans.append((m.start(), m.end(), option.lower()))
    return len({name for _, _, name in spans}) == 1


_WORDY = re.compile(r"[^\W_]")  # a letter or digit: what a title, highlight, bullet or response must hold
_WORDS = re.compile(r"[^\W_]+")


def format_number_highlighted_sections(response: str, *, num_highlights: int) -> bool:
    single = [h for h in re.findall(r"\*[^\n\*]*\*", response) if _WORDY.search(h)]
    double = [h for h in re.findall(r"\*\*[^\n\*]*\*\*", response) if _WORDY.search(h)]
    return len(single) + len(double) >= num_highlights


def format_multiple_sections(response: str, *, section_spliter: str, num_sections: int) -> bool:
    """Sections start a line (after markdown marks or a quote: `## Section 1`, `**SECTION 1**`) and hold text; a
    splitter named inside a sentence ("see Section 2") or a heading with nothing under it is no section."""
    pattern = r"^[\s#*_>\"'(\[-]*" + re.escape(section_spliter.strip()) + r"\s?\d+"
    parts = re.split(pattern, response, flags=re.MULTILINE)[1:]
    return sum(1 for part in parts if _WORDY.search(part)) >= num_sections


def format_json_format(response: str) -> bool:
    value = response.strip()
    for fence in ("```json", "```Json", "```JSON", "```"):
        value = value.removeprefix(fence)
    value = value.removesuffix("```").strip()
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):  # nested deeper than json can read: not the data asked for
        return False
    return isinstance(parsed, (dict, list))  # a string, number or null is prose or a value, not JSON data


def format_title(response: str) -> bool:
    return any(_WORDY.search(t) for t in re.findall(r"<<[^\n]+>>", response))


# combination:*


def combination_two_responses(response: str) -> bool:
    """Exactly two responses separated by `******`, each with words, and with different words: the same
    answer twice in other case or punctuation ("Answer one." / "ANSWER ONE!") is one response."""
    valid = []
    parts = response.split("******")
    for i, part in enumerate(parts):
        if not part.strip():
            if i not in (0, len(parts) - 1):
                return False
        else:
            valid.append(part)
    if len(valid) != 2:
        return False
    first, second = ([w.lower() for w in _WORDS.findall(v)] for v in valid)
    return bool(first) and bool(second) and first != second


def combination_repeat_prompt(response: str, *, prompt_to_repeat: str) -> bool:
    """Word for word, case and spacing aside (a line break where the prompt has a space still repeats it)."""
    return " ".join(response.lower().split()).startswith(" ".join(prompt_to_repeat.lower().split()))


# startend:*


def startend_end_checker(response: str, *, end_phrase: str) -> bool:
    return response.strip().strip('"').lower().endswith(end_phrase.strip().lower())


def startend_quotation(response: str) -> bool:
    value = response.strip()
    return len(value) > 1 and value[0] == '"' and value[-1] == '"'


# change_case:*


# The case checks read look-alike words as the Latin letters they show (`text.latin_reading`: Cyrillic
# "тнат" among English words is "THaT"); small capitals are capitals already (`text.visible_text`).


def case_capital_word_frequency(response: str, *, capital_frequency: int, capital_relation: str) -> bool:
    capitals = sum(1 for w in word_tokens(latin_reading(response)) if w.isupper())
    return _compare(capitals, capital_relation, capital_frequency, tolerance=_tenth(capital_frequency))


def case_english_capital(response: str) -> bool:
    if not latin_reading(response).isupper():
        return False
    lang = _detect(response)
    return lang is None or lang == "en"


def case_english_lowercase(response: str) -> bool:
    if not latin_reading(response).islower():
        return False
    lang = _detect(response)
    return lang is None or lang == "en"


# punctuation:*


def punctuation_no_comma(response: str) -> bool:
    """No comma of any script (`，` folds to `,` before this; `、`, `،` and the look-alike `‚` are commas)."""
    return "," not in response and not any(_is_comma(ch) for ch in response if not ch.isascii())


@lru_cache(maxsize=1024)
def _is_comma(ch: str) -> bool:
    return ch == "\u201a" or (unicodedata.category(ch) == "Po" and "COMMA" in unicodedata.name(ch, ""))


CHECKS: dict[str, Callable[..., bool]] = {
    "keywords:existence": keywords_existence,
    "keywords:frequency": keywords_frequency,
    "keywords:forbidden_words": keywords_forbidden_words,
    "keywords:letter_frequency": keywords_letter_frequency,
    "language:response_language": language_response_language,
    "length_constraints:number_sentences": length_number_sentences,
    "length_constraints:number_paragraphs": length_number_paragraphs,
    "length_constraints:number_words": length_number_words,
    "length_constraints:nth_paragraph_first_word": length_nth_paragraph_first_word,
    "detectable_content:number_placeholders": content_number_placeholders,
    "detectable_content:postscript": content_postscript,
    "detectable_format:number_bullet_lists": format_number_bullet_lists,
    "detectable_format:constrained_response": format_constrained_response,
    "detectable_format:number_highlighted_sections": format_number_highlighted_sections,
    "detectable_format:multiple_sections": format_multiple_sections,
    "detectable_format:json_format": format_json_format,
    "detectable_format:title": format_title,
    "combination:two_responses": combination_two_responses,
    "combination:repeat_prompt": combination_repeat_prompt,
    "startend:end_checker": startend_end_checker,
    "startend:quotation": startend_quotation,
    "change_case:capital_word_frequency": case_capital_word_frequency,
    "change_case:english_capital": case_english_capital,
    "change_case:english_lowercase": case_english_lowercase,
    "punctuation:no_comma": punctuation_no_comma,
}
