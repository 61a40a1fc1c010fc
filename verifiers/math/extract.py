"""Find the final answer in a completion (or in a gold solution) as a short LaTeX string.

Everything here is plain string scanning with linear-time regexes, so it runs in the caller's process
before any worker is involved. Sympy never runs here.
"""

from __future__ import annotations

import re

from verifiers.completion import TURN_END, final_answer
from verifiers.math.parse import unit_name

_BOX_OPEN = re.compile(r"\\(?:boxed|fbox|framebox)\s*")
# Text allowed between two boxes that together list one answer: "\boxed{1}, \boxed{2} and \boxed{3}".
_JOIN_WORDS = {"and", "for", "part", "parts", "the", "a", "b", "c", "d", "respectively", "or"}
# The lookahead names every first letter an alternative can start with (case-blind, like the rest): it
# changes no match, but lets the scan skip other positions at C speed instead of trying every branch at
# each character (4x on long completions, where this scan was the caller's largest cost).
_PHRASE = re.compile(
    r"(?=[#ftar最答정о])"
    r"(?:final\s+answer\s*(?:is|:)|the\s+answer\s+is|\banswer\s*:|answer\s+is\s*:|####"
    # The same statement in the languages a multilingual model answers in.
    r"|(?:最终)?答案\s*(?:是|为|[:：])|答え\s*[:：は]|정답\s*[:：은는]|\bответ\s*[:：]|\brespuesta\s*(?:final\s*)?[:：]"
    r"|\bréponse\s*(?:finale\s*)?[:：]|\bantwort\s*[:：]|\brisposta\s*[:：]|\bresposta\s*[:：])",
    re.IGNORECASE,
)
# Words that take back or hedge the answer next to them: "not 5", "one of 3, 5, 7", "7, unless it's 8",
# "\\boxed{5} or possibly 7". A final answer with one of these around it commits to nothing.
# A negation reaches the answer unless another number intervenes ("not 10, which is 12" answers 12).
_NEGATION = re.compile(
    r"\b(?:not|isn't|aren't|never|cannot|can't|unlikely|unless|except|possibly|perhaps|maybe|might be"
    r"|could be)\b(?:[ \t]*[^\s\d.]+){0,3}[ \t]*$"
    r"|\b(?:one of|either|any of|among)\b[^.\n]{0,60}$",
    re.IGNORECASE,
)
_OVERRIDE = re.compile(
    r"\b(?:or(?! equivalently| simply| in other words)|unless|alternatively|possibly|perhaps|maybe"
    r"|although|though|whereas|otherwise|but (?:it )?(?:could|might))\b(?:[ \t,:]+[A-Za-z']+){0,3}[ \t,:]*"
    r"(?:-?\d|\$|\\\(|\\boxed|\(?(?-i:[A-E])\)?(?=[ \t]*(?:[.,;:)!?\n]|$)))"  # a number, math, or a choice
    # Another value offered beside the answer: "(6 is also valid)", "another possible answer is 6".
    r"|\b(?:also|equally)\s+(?:be\s+)?(?:possible|valid|correct|acceptable|works?\b|an?\s+(?:answer|solution|option"
    r"|candidate)|a\s+possibility)|\banother\s+(?:possible\s+|valid\s+|correct\s+)?(?:answer|solution|candidate"
    r"|value)",
    re.IGNORECASE,
)
# Words right after the answer that call it wrong: "\\boxed{5} is wrong", "\\boxed{5} (incorrect)", "? No.".
_RETRACT = re.compile(
    r"^[\s.,;:!?]*(?:\\text\{\s*|\(\s*)?(?:(?:is|was|seems|looks)\s+(?:wrong|incorrect|not\s+(?:correct|right"
    r"|valid|the\s+answer))|isn't\s+(?:correct|right)|(?:wrong|incorrect)\b|no\s*,\s*wait|wait\s*,\s*no\b"
    r"|no[.!]*\s*$)",
    re.IGNORECASE,
)
_HOPE = re.compile(r"\.?\s*I hope it is correct.*", re.IGNORECASE | re.DOTALL)
_MATH_SPAN = re.compile(
    # Each body stops at the next opener of its kind, so unclosed delimiters cost linear time.
    r"\$\$((?:(?!\$\$).)+)\$\$|(?<!\\)\$((?:\\.|[^$\\\n])+)\$|\\\(((?:(?!\\[()])[^\n])+)\\\)"
    r"|\\\[((?:(?!\\[\[\]]).)+)\\\]"
    r"|\\begin\{(?:align\*?|equation\*?)\}((?:(?!\\(?:begin|end)\{).)+)\\end\{(?:align\*?|equation\*?)\}",
    re.DOTALL,
)
# A plain-text number or simple fraction: not glued to a letter on its left ("AZYUK2A" is no answer).
_PLAIN_NUM = re.compile(
    r"(?<![A-Za-z0-9_.\\])-?(?:\d{1,3}(?: \d{3})+(?!\d)|\d[\d,]*(?:\.\d+)?|\.\d+)(?:\s*/\s*\d+)?(?:\s*%)?"
)
# Words that may sit beside a bare answer without making it prose: "28 percent", "5 cm".
_BARE_WORDS = re.compile(r"\b(?!(?:percent|percentage|pct|and|or)\b)[A-Za-z]{3,}")
_EITHER = re.compile(r"\beither\b", re.IGNORECASE)
# Words that lead into a short final line without being part of it: "Hence 5.", "It is 5", "So x = 3".
_LEAD_IN = re.compile(
    r"^(?:(?:so|thus|hence|therefore|then|finally|it|this|that|which|we get|we have|the result)\b[\s,:]*)+"
    r"(?:is|equals|gives|comes to)?\b[\s:]*",
    re.IGNORECASE,
)
# `30$^\\circ$`, `45$\\%$`: a degree or percent sign typeset on its own belongs to the number before it.
_GLUED_MARK = re.compile(r"(\d)\s*\$\s*(\^\s*\{?\s*\\circ\s*\}?|\\%)\s*\$")
_PHANTOM = re.compile(r"\\(?:phantom|hphantom|vphantom)\{[^{}]*\}|\\(?:quad|qquad|,|;|!|:)|\s")


def _box_spans(text: str) -> tuple[list[tuple[int, int, str]], bool]:
    """All `\\boxed{...}` / `\\fbox{...}` contents with their spans, and whether the last one is unclosed."""
    spans: list[tuple[int, int, str]] = []
    pos = 0
    while True:
        m = _BOX_OPEN.search(text, pos)
        if m is None:
            return spans, False
        i = m.end()
        if i < len(text) and text[i] == "{":
            depth, j = 0, i
            while j < len(text):
                ch = text[j]
                if ch == "\\":
                    j += 2
                    continue
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if depth != 0:
                return spans, True
            spans.append((m.start(), j + 1, _unbox(text[i + 1 : j])))
            pos = j + 1
        else:
            # "\boxed 5": the box holds the next token.
            tok = re.match(r"[^\s$.,;]+", text[i:])
            if tok is None:
                pos = i
                continue
            spans.append((m.start(), i + tok.end(), tok.group(0)))
            pos = i + tok.end()


def _unbox(body: str) -> str:
    """A box's contents, without a second box around all of them (`\\boxed{\\fbox{5}}` holds 5)."""
    stripped = body.strip()
    inner, unclosed = _box_spans(stripped)
    if len(inner) == 1 and not unclosed and inner[0][:2] == (0, len(stripped)):
        return inner[0][2]
    return body


def _joinable(between: str, lenient: bool) -> bool:
    """Whether the text between two boxes only strings them into one list ("and", "or", labels like
    `y_2 =`): `\\boxed{2} or \\boxed{-2}` lists two values, which one gold value never equals."""
    text = re.sub(r"\\text(?:bf|normal|rm)?\{([^{}]*)\}", r" \1 ", between)
    text = re.sub(r"\\[a-zA-Z]+|\\.|[$,;:()\[\]{}.&=\\]", " ", text)
    words = [w for w in text.lower().split() if not re.fullmatch(r"[a-z](?:_\w{1,3})?", w)]
    if len(words) > 4:
        return False
    if lenient and "and" in words and len(words) <= 3:
        return True
    return all(w in _JOIN_WORDS for w in words)


def _squash(s: str) -> str:
    return _PHANTOM.sub("", s).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("$", "")


def _box_group(text: str, spans: list[tuple[int, int, str]], lenient: bool) -> list[tuple[int, int, str]]:
    """The last box and the boxes before it that list the same answer with it."""
    spans = [s for s in spans if _squash(s[2])]
    if not spans:
        return []
    group = [spans[-1]]
    for prev in reversed(spans[:-1]):
        if _joinable(text[prev[1] : group[0][0]], lenient=lenient):
            group.insert(0, prev)
        else:
            break
    return group


def _boxed_answer(text: str, strict: bool) -> str | None:
    """Last box, joined with neighbouring boxes that list the same answer. "" when no box exists."""
    spans, unclosed = _box_spans(text)
    if unclosed and strict:
        return None
    if strict and spans and not _squash(spans[-1][2]):
        return None  # the final box is empty
    spans = [s for s in spans if _squash(s[2])]
    if not spans:
        return "" if not unclosed else None
    group = _box_group(text, spans, lenient=not strict)
    if strict:
        final = {_squash(s[2]) for s in group}
        others = {_squash(s[2]) for s in spans[: len(spans) - len(group)]}
        # A completion that boxes two different final answers in its answer section commits to neither.
        if others - final:
            return None
    unique = {_squash(s[2]): s[2].strip() for s in group}  # "\\boxed{7} \\boxed{7}" is one answer
    if len(unique) == 1 and strict:
        # "\\boxed{5} km": a unit written just outside the box is still the answer's unit.
        body = next(iter(unique.values()))
        if not re.search(r"[A-Za-z]", re.sub(r"\\[A-Za-z]+", "", body)):
            return _with_unit(text, group[-1][1], body)
    return ", ".join(unique.values())


# A unit written after an answer picked out of prose: "5 km", "$5$ km", "5 \\text{ km}".
_UNIT_AFTER = re.compile(
    r"[ \t]*\$?[ \t]*(?:\\[,;! ]|~)?[ \t]*(?:\\(?:text|mathrm|textrm|mbox)\{\s*([^{}]{1,24}?)\s*\}"
    r"|((?:(?:square|sq\.?|cubic)[ \t]+)?[A-Za-z]{1,12}(?:[ \t]*/[ \t]*[A-Za-z]{1,12})?)\b)"
)


def _with_unit(text: str, end: int, body: str) -> str:
    """`body` (which ends at `end` in `text`) with the physical unit written right after it, if any:
    dropping it would make `5 km` answer a gold of `5 m`."""
    m = _UNIT_AFTER.match(text, end)
    if m is None or "\\text" in body:
        return body
    word = m.group(1) or m.group(2)
    if word.lower() == "in":
        return body  # "5 in total": a preposition far more often than inches
    return f"{body} \\text{{ {word}}}" if unit_name(word) else body


def _last_expression(text: str) -> str | None:
    """The later of the last math span and the last plain-text number; a short bare answer whole."""
    bare = _LEAD_IN.sub("", text.strip())
    plain = re.sub(r"\\(?:begin|end)\{\w+\*?\}|\\[a-zA-Z]+", "", bare)
    if (
        len(bare) <= 80
        and not _MATH_SPAN.search(bare)
        and (len(bare.split()) <= 3 or not _BARE_WORDS.search(plain))
    ):
        return bare or None
    best: tuple[int, str] | None = None
    for m in _MATH_SPAN.finditer(text):
        body = next(g for g in m.groups() if g is not None)
        if body.strip():
            best = (m.end(), _with_unit(text, m.end(), body))
    dollars = opens = 0
    pos = 0
    for m in _PLAIN_NUM.finditer(text):
        seg = text[pos : m.start()]
        dollars += seg.count("$")
        opens += seg.count("\\(") - seg.count("\\)")
        pos = m.start()
        # A number inside a math span that never parsed ("$ \n 9 \n $") is not a plain-text answer.
        if (dollars % 2 and "$" in text[m.end() :]) or opens > 0:
            continue
        if best is None or m.start() >= best[0]:
            best = (m.end(), _with_unit(text, m.end(), m.group(0)))
    return best[1].strip() if best else None


def _phrase_answer(text: str) -> str | None:
    """The answer after the last "final answer is" / "Answer:" / "####", up to the end of its line."""
    last = None
    for m in _PHRASE.finditer(text):
        last = m
    if last is None:
        return None
    rest = _HOPE.sub("", text[last.end() :]).strip()
    if not rest:
        return None
    lines = rest.split("\n\n", 1)[0]
    lines = re.sub(r'^(?:\\?"|\s)+', "", lines)
    matches = list(_MATH_SPAN.finditer(lines))
    if matches and matches[0].start() == 0:
        # The answer is the first span, plus any that continue its list ("$12$ and $13$").
        group = [matches[0]]
        for m in matches[1:]:
            if not _joinable(lines[group[-1].end() : m.start()], lenient=False):
                break
            group.append(m)
        bodies = [next(g for g in m.groups() if g is not None).strip() for m in group]
        if len(bodies) == 1:
            return _with_unit(lines, group[0].end(), bodies[0])
        return ", ".join(bodies)
    return _last_expression(lines) or lines.strip().rstrip(".")


def _phrase_after_boxes(text: str) -> str | None:
    """A "final answer is" statement written after the last box is the later, final commitment."""
    # Only a phrase after the last box counts, so the scan starts there instead of at the top of a long
    # completion. No phrase holds a backslash, so none that starts before the box reaches past it.
    last_box = max(text.rfind("\\boxed"), text.rfind("\\fbox"), text.rfind("\\framebox"))
    if _PHRASE.search(text, max(last_box, 0)) is None:
        return None
    ans = _phrase_answer(text)
    # "\\boxed{5}. Note that the answer is the number of ways": a remark in words keeps the box.
    if ans is not None and re.match(
        r"\s*(?:the|a|an|this|that|it|to|in|of|when|which)\b", ans, re.IGNORECASE
    ):
        return None
    return ans


def _committed(region: str, ans: str) -> bool:
    """False when the words around the answer's last occurrence take it back or hedge it."""
    end = region.rfind(ans)
    if end < 0:
        return True
    start = end
    box = region.rfind("\\", 0, start)
    if box >= 0 and _BOX_OPEN.match(region, box) and region.rfind("{", box, start) >= 0:
        start = box  # the words before the box, not before its content
    before = region[max(0, start - 80) : start]
    after = region[end + len(ans) :].lstrip("}$)] ")
    return not _NEGATION.search(before) and not _OVERRIDE.search(after) and not _RETRACT.match(after)


def _is_hedge(ans: str) -> bool:
    """ "either 6 or 8" hedges. A plain "6 or 8" is the list 6, 8: how "find all" answers are written
    (`x = 2 \\text{ or } x = -2`), and against a single gold value it is wrong anyway (two values are not
    one); "x \\le 2 or x \\ge 5" is a union of intervals."""
    return bool(_EITHER.search(ans))


def _collapse_space(text: str) -> str:
    """Whitespace runs shortened in linear time, so no later pattern can spend quadratic time on them."""
    return re.sub(
        r"\s{3,}",
        lambda m: "\n\n" if m.group(0).count("\n") >= 2 else ("\n" if "\n" in m.group(0) else " "),
        text,
    )


def extract_answer(completion: str, think_prefill: bool = False) -> str | None:
    """The completion's final answer, or None when it has none or commits to several.

    Only the final answer counts (`verifiers.completion.final_answer`: after the last `</think>`, nothing
    when thinking never closed; with `think_prefill=False`, the default here, a text without think tags is
    a bare answer). In it, the last `\\boxed{}`/`\\fbox{}`, else an explicit final-answer phrase, else the
    last expression. Hedges ("6 or 8"), empty boxes and unclosed boxes score None.
    """
    if not isinstance(completion, str):
        return None
    region = final_answer(completion, think_prefill)
    if region is None:
        return None
    region = _collapse_space(region).replace("**", "")  # markdown bold: `**Answer: 5**`
    region = _GLUED_MARK.sub(r"\1\2", region)
    ans = _phrase_after_boxes(region) if _BOX_OPEN.search(region) else None
    if ans is None:
        boxed = _boxed_answer(region, strict=True)
        if boxed is None:
            return None
        ans = boxed or _phrase_answer(region) or _last_expression(region)
    if ans is None or not _squash(ans) or _is_hedge(ans) or not _committed(region, ans):
        return None
    return ans


# A word of a sentence: letters not part of a LaTeX command (`\omega`, `\sqrt`) or a single symbol.
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")


def extract_gold(gold: str) -> str | None:
    """The reference answer from a dataset's gold field: bare LaTeX, a boxed value, or a worked solution."""
    if not isinstance(gold, str) or not gold.strip():
        return None
    for mark in TURN_END:
        gold = gold.split(mark, 1)[0]
    gold = _collapse_space(gold)
    boxed = _boxed_answer(gold, strict=False)
    if boxed:
        # A solution that boxes different values apart from its final list ("(a) \\boxed{4} ... (b)
        # \\boxed{5}", or an intermediate result) has no single answer: its last box alone is not the gold.
        spans, _ = _box_spans(gold)
        listed = {_squash(s[2]) for s in _box_group(gold, spans, lenient=True)}
        if {_squash(s[2]) for s in spans if _squash(s[2])} - listed:
            return None
        return boxed
    if "####" in gold:
        return gold.rsplit("####", 1)[1].strip() or None
    text = gold.strip()
    if "\n" not in text and ". " not in text and (len(text) <= 120 or len(_PROSE_WORD.findall(text)) < 6):
        return text  # bare LaTeX, however long: read as a solution, its last term would become the gold
    return _phrase_answer(text) or _last_expression(text)
