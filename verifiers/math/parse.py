"""Turn an extracted answer string into sympy objects (via `verifiers.math.latex`), plus a text key.

`normalize` is plain string work (cheap, safe anywhere); `parse` calls the LaTeX parser and must run
inside a worker process, where a hard timeout can stop it.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from fractions import Fraction

from verifiers.math.latex import latex_to_sympy

_DELIMS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"))
_TEXT_CMD = re.compile(
    r"\\(?:text|textbf|textit|textnormal|textrm|mbox|mathrm|mathbf|operatorname|rm|boldsymbol|bm|mathit)\s*\{"
)
# Commands whose braces hold prose: a gold written in them is words, compared as words (never as a product
# of letters, so "Celia" is not "Alice").
_PROSE_CMD = re.compile(r"\\(?:text|textbf|textit|textnormal|textrm|mbox)\s*\{\s*[A-Za-z][A-Za-z]")
_PERCENT = re.compile(r"\s*(?:\\%|%|\\text\{\s*\\?%\s*\}|\bpercentage\b|\bpercent\b|\bpct\b)\s*")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|°|\\degree|\^\{\\text\{o\}\}")
_UNIT_WORDS = (
    r"cm|m|km|mm|in|ft|inches|inch|feet|foot|yards?|miles?|meters?|metres?|kilometers?|centimeters?|"
    r"units?|sq|square|cubic|degrees?|deg|radians?|rad|seconds?|sec|minutes?|min|hours?|hrs?|days?|weeks?|"
    r"months?|years?|dollars?|cents?|yuan|euros?|pounds?|lbs?|kg|g|grams?|liters?|l|ml|mph|people|"
    r"students?|ways?|points?|times|steps?|cookies|apples|marbles|balls|pages|books|coins|dots|numbers?"
)
_UNIT_TAIL = re.compile(
    r"(?<=[\d}])\s*(?:\\[,;! ]|~)?\s*((?:(?:square|sq\.?|cubic)\s+)?(?:" + _UNIT_WORDS + r")"
    r"(?:\s*/\s*(?:" + _UNIT_WORDS + r"))?)"
    r"(\^\{?\d\}?|²|³)?\.?\s*$"
)
# Units that name a physical quantity, by canonical name: two answers carrying different ones differ.
# Counting nouns ("students", "ways") and "units" name no quantity and never decide anything.
_UNIT_NAMES = {
    "m": "m meter meters metre metres",
    "km": "km kilometer kilometers",
    "cm": "cm centimeter centimeters",
    "mm": "mm",
    "in": "in inch inches",
    "ft": "ft feet foot",
    "yd": "yard yards",
    "mi": "mile miles",
    "s": "s second seconds sec",
    "min": "min minute minutes",
    "h": "h hour hours hr hrs",
    "day": "day days",
    "week": "week weeks",
    "month": "month months",
    "year": "year years",
    "dollar": "dollar dollars",
    "cent": "cent cents",
    "yuan": "yuan",
    "euro": "euro euros",
    "pound": "pound pounds lb lbs",
    "kg": "kg",
    "g": "g gram grams",
    "l": "l liter liters",
    "ml": "ml",
    "mph": "mph",
    "deg": "degree degrees deg",
    "rad": "radian radians rad",
}
_UNIT_CANON = {w: k for k, words in _UNIT_NAMES.items() for w in words.split()}
_TEXT_UNIT_LETTER = re.compile(
    r"(?<=[\d}])\s*(?:\\[,;! ]|~)?\s*\\(?:text|mathrm|textrm|mbox)\s*\{\s*(s|h)\s*\}\s*$"
)
# "12{,}000", "11,\\! 111": always a thousands separator. A bare "1,000" only when it is the whole answer
# or has two groups, since "(12,102)" is an interval.
_THOUSANDS_MARKED = re.compile(r"(?<![\d.])([1-9]\d{0,2})((?:(?:,\\!\s*|\{,\}|\\,)\d{3})+)(?![\d])")
_THOUSANDS = re.compile(
    r"(?<![\d.,])([1-9]\d{0,2})((?:,\d{3}){2,})(?![\d,])|^(-?[1-9]\d{0,2})((?:,\d{3})+)(?=(?:\.\d+)?$)"
)
_SPACE_THOUSANDS = re.compile(r"^-?[1-9]\d{0,2}(?: \d{3})+(?:\.\d+)?$")
_REPEAT = re.compile(r"(-?)(\d*)\.(\d*)\s*\\(?:overline|bar|dot)\{(\d+)\}")
_REPEAT_PAREN = re.compile(r"^(-?)(\d*)\.(\d*)\((\d+)\)$")
_SCI = re.compile(r"^(-?\d+(?:\.\d+)?)\s*[eE]\s*([+-]?\d{1,3})$")
_SIMPLE_NUM = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)$")
_SIMPLE_FRAC = re.compile(r"^(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}$|^(-?\d+)\s*/\s*(-?\d+)$")
# A multiple-choice letter: a capital A-E, or a letter in parentheses. A bare lower-case `a` or `e` is a
# variable or Euler's number, never a choice.
_LETTER = re.compile(r"^(?:\(?([A-E])\)?|\(([a-e])\))$")
# The letter an answer picks: bold or not, with the option's value after it ("(D) 7", "D: 7").
_ANSWER_LETTER = re.compile(r"^\(?([A-Ea-e])\)?(?:$|[\s.:~)]|\\ )")
# Golds that hold no answer: a proof, a placeholder. The reward is None for them, never 0 or 1.
_PLACEHOLDER = re.compile(
    r"^(?:proof|notfound|not found|n/?a|\?+|qed|tbd|-+|none given|see (?:the )?solution|\\blacksquare|\\square)?$",
    re.IGNORECASE,
)
_SYNONYMS = {
    "(-\\infty,\\infty)": (
        r"all real numbers?|all reals|\\mathbb\{R\}|\\R|ℝ|\(-\\infty,\s*\+?\\infty\)|"
        r"\\left\(-\\infty,\s*\+?\\infty\\right\)|x\s*\\in\s*\\mathbb\{R\}"
    ),
    "DNE": r"dne|does not exist|the limit does not exist|no limit|limit does not exist",
}
_SYNONYM_RE = [(k, re.compile(r"^(?:" + v + r")\.?$", re.IGNORECASE)) for k, v in _SYNONYMS.items()]
_BASE = re.compile(r"^([0-9A-Za-z]+)_\{?\(?(\d{1,2})\)?\}?$")
_TRIG_DEGREES = re.compile(
    r"\\(sin|cos|tan|cot|sec|csc)\s*(\^\s*\{?\s*\d\s*\}?)?\s*(\(|\\left\()?\s*(-?\d+(?:\.\d+)?)\s*"
    r"(?:\^\s*\{?\s*\\circ\s*\}?|°|\\degree)\s*(\)|\\right\))?"
)
_OVER = re.compile(r"\{([^{}]*)\\over\b([^{}]*)\}")
_UNICODE = {
    "∞": "\\infty ",
    "π": "\\pi ",
    "×": "\\times ",
    "·": "\\cdot ",
    "−": "-",
    "≤": "\\le ",
    "≥": "\\ge ",
    "≠": "\\ne ",
    "∪": "\\cup ",
    "∩": "\\cap ",
    "∅": "\\emptyset ",
    "±": "\\pm ",
}
_RELATION_SPELLINGS = [
    (re.compile(r">=|\\geqslant(?![a-zA-Z])|\\geq?(?![a-zA-Z])"), r" \\geq "),
    (re.compile(r"<=|\\leqslant(?![a-zA-Z])|\\leq?(?![a-zA-Z])"), r" \\leq "),
    (re.compile(r"!=|\\neq?(?![a-zA-Z])"), r" \\neq "),
    (re.compile(r"\\lt(?![a-zA-Z])"), " < "),
    (re.compile(r"\\gt(?![a-zA-Z])"), " > "),
]
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_SQRT_SIGN = re.compile(r"√\s*(?:\(([^()]*)\)|\{([^{}]*)\}|(\d+(?:\.\d+)?|[A-Za-z]))")
_TIME = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?:am|pm|a\.m\.|p\.m\.))?$", re.IGNORECASE)
_EMPTY = re.compile(
    r"^(?:\\emptyset|\\varnothing|\\o|\\\{\s*\\\}|\{\}|no\s+solutions?|none|no\s+real\s+solutions?|"
    r"there\s+(?:is|are)\s+no\s+solutions?|\\text\{no solutions?\})$",
    re.IGNORECASE,
)


_WORDS = re.compile(r"^[A-Za-z][A-Za-z .,'()-]*$")


@dataclass
class Answer:
    """One side of a comparison: its normalized text, flags, and (after `parse`) sympy candidates."""

    text: str
    percent: bool = False
    letter: str | None = None
    empty_set: bool = False
    words: bool = False  # prose ("Evelyn", "odd"): compared as words only
    unit: str | None = None  # the physical unit written after the value, canonical ("km", "s")
    base: int | None = None  # `1011_2`: the subscript base of a number
    decimals: int | None = None  # a plain decimal number: its digits after the point
    exprs: list = field(default_factory=list)


def _strip_delims(s: str) -> str:
    s = s.strip()
    changed = True
    while changed:
        changed = False
        for a, b in _DELIMS:
            if s.startswith(a) and s.endswith(b) and len(s) >= len(a) + len(b):
                s, changed = s[len(a) : len(s) - len(b)].strip(), True
    return s


def _unwrap_text(s: str) -> str:
    """`\\text{Evelyn}` -> `Evelyn`, keeping balanced braces inside."""
    out, pos = [], 0
    for _ in range(200):
        m = _TEXT_CMD.search(s, pos)
        if m is None:
            break
        depth, j = 1, m.end()
        while j < len(s) and depth:
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            j += 1
        if depth:
            break
        out.append(s[pos : m.start()] + s[m.end() : j - 1])
        pos = j
    out.append(s[pos:])
    return "".join(out)


def _repeating(m: re.Match) -> str:
    sign, whole, fixed, rep = m.groups()
    value = (
        Fraction(int(whole or 0)) + Fraction(int(fixed or 0), 10 ** len(fixed))
        if fixed
        else Fraction(int(whole or 0))
    )
    value += Fraction(int(rep), (10 ** len(rep) - 1) * 10 ** len(fixed))
    return f"{sign}\\frac{{{value.numerator}}}{{{value.denominator}}}"


def _unicode(s: str) -> str:
    """Unicode maths as LaTeX: `2√2`, `x²`, `∞`, `π`, `≤`."""
    if s.isascii():
        return s
    s = _SQRT_SIGN.sub(lambda m: "\\sqrt{" + next(g for g in m.groups() if g is not None) + "}", s)
    s = re.sub(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+", lambda m: "^{" + m.group(0).translate(_SUPERSCRIPT) + "}", s)
    for k, v in _UNICODE.items():
        s = s.replace(k, v)
    return s


def _trig_degrees(m: re.Match) -> str:
    """`\\cos 30^\\circ` -> `\\cos(\\frac{30\\pi}{180})`: the degree sign belongs to the argument."""
    fn, power, _, value, _ = m.groups()
    return f"\\{fn}{power or ''}(\\frac{{{value}\\pi}}{{180}})"


def unit_name(words: str) -> str | None:
    """The canonical physical unit a word names (`km`, `seconds` -> `s`); None for others and counting nouns."""
    if not re.fullmatch(r"(?:(?:square|sq\.?|cubic)\s+)?[A-Za-z]+(?:\s*/\s*[A-Za-z]+)?", words.strip()):
        return None
    return _unit(words.strip(), None)


def _unit(words: str, power: str | None) -> str | None:
    """The canonical physical unit of a unit tail ("km", "m^3", "m/s"); None for counting nouns."""
    parts = []
    for part in re.split(r"\s*/\s*", words.lower()):
        exp = ""
        m = re.match(r"(square|sq\.?|cubic)\s+(.*)", part)
        if m:
            exp, part = ("^3" if m.group(1) == "cubic" else "^2"), m.group(2)
        canon = _UNIT_CANON.get(part.rstrip("."))
        if canon is None:
            return None
        parts.append(canon + exp)
    if power:
        parts[-1] += "^" + re.sub(
            r"\D", "", power.translate(_SUPERSCRIPT).replace("²", "2").replace("³", "3")
        )
    return "/".join(parts)


def is_placeholder(text: str) -> bool:
    """A gold that holds no answer (`proof`, `N/A`, `?`, `QED`, empty): nothing to score against."""
    return bool(_PLACEHOLDER.match(normalize(text).text.strip()))


def choice_letter(text: str) -> str | None:
    """The multiple-choice letter an answer picks (`D`, `(d)`, `\\textbf{(D)}\\ 7`), upper-cased."""
    m = _ANSWER_LETTER.match(text.strip())
    if m is None:
        return None
    # "B and C", "A B C D E": a second option letter after the first picks several, so none.
    if re.search(r"(?<![A-Za-z\\])\(?[A-E]\)?(?![A-Za-z])", text.strip()[m.end() :]):
        return None
    return m.group(1).upper()


# An option's letter with its value after it, as AMC golds and answers write it: `(B) 2`, `B: 2`.
_LETTERED = re.compile(r"^(?:\(([A-E])\)|([A-E])[:.)])\s*(\S.*)$")
_MAYBE_LETTERED = re.compile(r"[A-E][:.)]")


def lettered(text: str) -> tuple[str, str] | None:
    """`\\textbf{(B)}\\ 2` -> ("B", "2"): a multiple-choice letter and the value written after it."""
    if not _MAYBE_LETTERED.search(text):  # most texts: no normalizing needed to say no
        return None
    s = normalize(text).text
    m = _LETTERED.match(s)
    if m is None or choice_letter(s) is None:  # "(B) 2 (C) 3" lists options: it picks none
        return None
    return m.group(1) or m.group(2), m.group(3).strip()


def choice_pair(gold: str, answer: str) -> bool | tuple[str, str]:
    """A verdict for a gold or answer that names an option with its value, else the texts to compare.

    Against `(B) 2` the letter alone (`B`) or the value alone (`2`) is the answer; a letter and a value
    both must be right (`(B) 3` is wrong, as is `(C) 2`). Against a plain gold `2`, `(B) 2` is read by
    its value; against a letter gold `B`, by its letter (`literal_verdict`)."""
    g, a = lettered(gold), lettered(answer)
    if g is None:
        if a is None or normalize(gold).letter:
            return gold, answer
        return gold, a[1]
    if a is not None:
        return (g[1], a[1]) if a[0] == g[0] else False
    letter = normalize(answer).letter
    if letter is not None:
        return letter == g[0]
    return g[1], answer


def normalize(raw: str) -> Answer:
    """Strip wrappers that never change a value: delimiters, `\\text{}`, units, degrees, `\\%`, separators."""
    s = _strip_delims(_unicode(re.sub(r"\s+", " ", raw)))
    for _ in range(3):
        s = _OVER.sub(r"\\frac{\1}{\2}", s)
    if "\\over" in s and "{" not in s:
        a, _, b = s.partition("\\over")
        s = f"\\frac{{{a.strip()}}}{{{b.strip()}}}"
    # A labelled vector answer `\\vec{u} = (1,2)` is its value: the label names what was asked.
    s = re.sub(r"^\s*\\(?:vec|mathbf|boldsymbol|bm|overrightarrow)\s*\{\s*\w+\s*\}\s*=\s*", "", s)
    s = _TRIG_DEGREES.sub(_trig_degrees, s)
    s = _THOUSANDS_MARKED.sub(lambda m: m.group(1) + re.sub(r"\D", "", m.group(2)), s)
    s = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)(?=[()\[\]|.\\{}])", "", s)
    s = re.sub(r"\\(?:displaystyle|textstyle|mathrm\{\s*\}|!|;|,|:|quad|qquad)", " ", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    # One spelling per relation and for digit shorthands (`\\frac13`, `\\sqrt3`), so equal texts meet
    # in the caller's fast path instead of a worker's parser.
    s = re.sub(r"\\frac\s*(\d)\s*(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\s*(\d)\s*\{", r"\\frac{\1}{", s)
    s = re.sub(r"\\frac\s*\{([^{}]*)\}\s*(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\sqrt\s*(\d)", r"\\sqrt{\1}", s)
    for pattern, canon in _RELATION_SPELLINGS:
        s = pattern.sub(canon, s)
    s = s.replace("\\$", "").replace("$", " ")
    s = re.sub(r"(?<!\\)\\ ", " ", s)
    s = re.sub(r"\\text\{\s*(and|or|,)\s*\}", r" \1 ", s)
    percent = bool(_PERCENT.search(s))
    s = _PERCENT.sub(" ", s)
    degrees = bool(_DEGREE.search(s))  # a degree sign is a unit: 60° is not 60 radians
    s = _DEGREE.sub("", s)
    s = _THOUSANDS.sub(lambda m: (m.group(1) or m.group(3)) + re.sub(r"\D", "", m.group(2) or m.group(4)), s)
    unit = None
    m = _TEXT_UNIT_LETTER.search(s)
    if m:  # `5 \\text{ s}`: a one-letter unit is a unit only inside text, never a trailing variable
        unit, s = _UNIT_CANON[m.group(1)], s[: m.start()]
    prose = bool(_PROSE_CMD.search(s))
    s = _unwrap_text(s)
    s = _REPEAT.sub(_repeating, s)
    s = re.sub(r"\s+", " ", s).strip().rstrip(".").rstrip(",;").strip()
    for _ in range(2):
        m = _UNIT_TAIL.search(s)
        if m is None:
            break
        unit = unit or _unit(m.group(1), m.group(2))
        s = s[: m.start()].strip()
    if degrees and unit is None:
        unit = "deg"
    for canon, pattern in _SYNONYM_RE:
        if pattern.match(s):
            s, prose = canon, canon == "DNE"
    words = bool(_WORDS.match(s)) and (prose or bool(re.search(r"[A-Za-z]{3,}", s)))
    if _SPACE_THOUSANDS.match(s):
        s = s.replace(" ", "")
    m = _REPEAT_PAREN.match(s)
    if m:
        s = _repeating(m)
    m = _SCI.match(s)
    if m:
        s = f"{m.group(1)}\\times 10^{{{m.group(2)}}}"
    letter_m = _LETTER.match(s)
    base_m = _BASE.match(s)
    decimal_m = re.fullmatch(r"-?\d*\.(\d+)", s)
    return Answer(
        text=s,
        percent=percent,
        letter=(letter_m.group(1) or letter_m.group(2)).upper() if letter_m else None,
        empty_set=bool(_EMPTY.match(s)),
        words=words and not letter_m and not _EMPTY.match(s),
        unit=unit,
        base=int(base_m.group(2)) if base_m and 2 <= int(base_m.group(2)) <= 36 else None,
        decimals=len(decimal_m.group(1)) if decimal_m else None,
    )


def text_key(s: str) -> str:
    """A spacing-blind key for comparing answers as text; case-blind only for words ("Evelyn", "odd").

    Braces and backslashes stay: `2^{n}-1` is not `2^{n-1}`, and `2N` is not `2n`.
    """
    key = re.sub(r"\\[,;!: ]|\s", "", s)
    if _WORDS.match(s) and re.search(r"[A-Za-z]{2,}", s) and not re.search(r"\b[A-Za-z]\b", s):
        return key.lower().rstrip(".")
    return key


def simple_number(s: str) -> Fraction | None:
    """The exact value of a bare integer, decimal or fraction; None for anything else."""
    if len(s) > 40:
        return None
    if _SIMPLE_NUM.match(s):
        return Fraction(s)
    m = _SIMPLE_FRAC.match(s)
    if m:
        sign, a, b = (m.group(1), m.group(2), m.group(3)) if m.group(2) else ("", m.group(4), m.group(5))
        if int(b) == 0:
            return None
        v = Fraction(int(a), int(b))
        return -v if sign else v
    return None


def terminates(x: Fraction) -> bool:
    """Whether a fraction has a finite decimal expansion (its denominator holds no prime but 2 and 5)."""
    q = x.denominator
    for p in (2, 5):
        while q % p == 0:
            q //= p
    return q == 1


def _base_value(a: Answer, base: int) -> int | None:
    """A numeral's value in its own subscript base, or in `base` when it has none."""
    digits = a.text.split("_", 1)[0] if a.base else a.text
    try:
        return int(digits, a.base or base)
    except ValueError:
        return None


def literal_verdict(gold: Answer, ans: Answer) -> bool | None:
    """Verdicts that need no sympy: words, letters, units, bases, times; None when sympy must decide."""
    if not ans.text:
        return False
    if text_key(gold.text) == text_key(ans.text):
        return gold.unit is None or ans.unit is None or gold.unit == ans.unit
    if gold.unit and ans.unit and gold.unit != ans.unit:
        return False  # 5 km is not 5 m, minutes are not seconds
    if gold.letter:
        return choice_letter(ans.text) == gold.letter
    if gold.words or ans.words:
        return False  # words are compared as words (the text key above), never as products of letters
    if is_time(gold.text):
        return False  # a clock time is text: `12:00` reads as 12/0, which `212:00` and `-12:00` also are
    if gold.base:
        gv, av = _base_value(gold, gold.base), _base_value(ans, gold.base)
        return gv is not None and gv == av
    if ans.base:
        return False
    return None


def is_time(s: str) -> bool:
    return bool(_TIME.match(s))


def decimal_comma(s: str, gold: bool) -> str | None:
    """`2,74` and `0,111` read as decimals (a European answer), offered as a second reading.

    A gold gets that reading only with two or more digits after the comma: a gold `2,3` lists 2 and 3.
    """
    m = re.match(r"^(-?\d+),(\d+)$", s)
    if m and (len(m.group(2)) != 3 or m.group(1) in ("0", "-0")) and not (gold and len(m.group(2)) < 2):
        return f"{m.group(1)}.{m.group(2)}"
    return None


def _split_approx(s: str) -> str:
    """`x = 1/3 \\approx 0.33` -> `x = 1/3`; `x \\approx 11` -> `x = 11`."""
    if "\\approx" not in s:
        return s
    head = s.split("\\approx", 1)[0]
    if "=" in head:
        return head.strip()
    if not re.fullmatch(
        r"\s*(?:[A-Za-z]|\\(?!pi\b|infty\b)[A-Za-z]+)(?:_\{?\w+\}?)?(?:\([^()]*\))?\s*", head
    ):
        return head.strip()  # `\\frac{1}{3} \\approx 0.33` answers 1/3; `6 \\approx 5` answers 6, not 5
    return s.replace("\\approx", "=", 1).split("\\approx", 1)[0]


_RELATION = re.compile(r"<|>|\\le|\\ge|\\lt|\\gt|\\leq|\\geq")
_OR = re.compile(r"\s+or\s+|\\lor\b|\\vee\b|\\cup\b")
_AND = re.compile(r"\s+and\s+|\\land\b|\\wedge\b")


def _connected(s: str, connective: re.Pattern) -> list[str] | None:
    """`x \\le 2 or x \\ge 5`, `x > 0 and x < 1`: the inequalities the connective joins (a union or an
    intersection of intervals), else None."""
    if not _RELATION.search(s) or not connective.search(s):
        return None
    parts = [p.strip() for p in connective.split(s)]
    if len(parts) < 2 or not all(_RELATION.search(p) for p in parts):
        return None
    return parts


def parse(answer: Answer, gold: bool = False) -> Answer:
    """Fill `answer.exprs` with sympy readings of its text (empty when none parses).

    `2,74` is also read as 2.74 (a European decimal), for a `gold` only with two or more decimals.
    """
    s = answer.text
    if answer.empty_set:
        from sympy import S

        answer.exprs = [S.EmptySet]
        return answer
    s = _split_approx(s)
    s = re.sub(r"(?<![<>!])=\s*=", "=", s)
    for connective, join in ((_OR, "Or"), (_AND, "And")):
        parts = _connected(s, connective)
        if parts is None:
            continue
        import sympy

        try:
            answer.exprs.append(getattr(sympy, join)(*(latex_to_sympy(p) for p in parts)))
            return answer
        except Exception:  # noqa: S110 - not a connective sympy can read: try the other readings
            pass
    # "p=5,q=2;p=7,q=2" lists solutions as assignments: read each group as a tuple of values.
    if ";" in s and "=" in s:
        groups = [g.split(",") for g in s.split(";")]
        if all(all(re.fullmatch(r"\s*[A-Za-z](?:_\{?\w+\}?)?\s*=[^=]+", p) for p in g) for g in groups):
            s = ", ".join("(" + ", ".join(p.split("=", 1)[1].strip() for p in g) + ")" for g in groups)
    # "(0;0;6)", "-12;-11" -> commas; "or"/"and" between values -> commas.
    s = s.replace(";", ",")
    s = re.sub(r"\s+(?:and|or)\s+", ", ", s)
    s = re.sub(r"^\s*(?:and|or)\s+", "", s)
    readings = [s]
    alt = decimal_comma(s, gold)
    if alt:
        readings.insert(0, alt)
    for reading in readings:
        try:
            answer.exprs.append(latex_to_sympy(reading))
        except Exception:  # the parser raises many types on model text; an unparseable reading is skipped
            continue
    # An unknown command (`\\zzz`) sinks the whole parse; as a last resort, read it as a name.
    bare = re.sub(r"\\([a-zA-Z]{3,})\b(?!\s*[{(\[])", r"\1", s)
    if not answer.exprs and bare != s:
        with contextlib.suppress(Exception):  # as above
            answer.exprs.append(latex_to_sympy(bare))
    return answer
