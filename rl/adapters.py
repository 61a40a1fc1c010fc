"""Hub dataset rows as our reward columns, recognised by the columns a row has (never by the dataset's name).

Each adapter takes one row (after the recipe's column renames) and returns the columns to set, or a drop
reason (`DROP_KEY`) that `rl.data` counts per source:

- code rows (`verification_info`, `input_output`, ... : `sandbox.formats.row_to_tests`) get `tests`; rows in a
  language the sandbox cannot run are dropped as `unsupported_language`, rows whose every test expects
  nothing (an empty program would pass) as `blank_outputs`;
- tool rows whose `tools` are xLAM's (`{"param": {"type": "List[int]", ...}}`, no `properties`) get JSON-schema
  tools and BFCL-form ground truth;
- RLVR-IFeval rows (`ground_truth` naming an open-instruct check) get IFEval ids and kwargs;
- math rows whose gold is a placeholder (`proof`, `notfound`, empty) are dropped as `no_gold`.

`reference_completion` turns a row's own reference answer into a completion, for `python -m rl data
--check-references`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sandbox.formats import SUPPORTED_LANGUAGES, parse_literal, row_language, row_to_tests
from verifiers.code import program_block

DROP_KEY = "_drop"  # a temporary column: the reason a row is dropped, None when kept

# "Please reason step by step, and put your final answer within \boxed{}.": the prompt DeepSeek-R1's math
# traces (OpenR1-Math-220k, DeepMath-103K) were generated with, QwQ-32B's model card recommends, and the
# evaluation suites use, so training, the reference traces and evaluation ask for the same answer format.
MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
INSTRUCTIONS = {"boxed": MATH_INSTRUCTION}  # names a recipe's `instruction:` may use instead of the text

# Golds that are not answers: OpenR1-Math marks proof problems `proof` and unsolved ones `notfound`.
PLACEHOLDER_GOLDS = frozenset({"", "proof", "notfound", "not found", "n/a", "none", "null"})


class AdapterError(ValueError):
    """A row whose columns cannot be read as its format; counted as `unreadable`, never trained on."""


def instruction_text(name: str | None) -> str | None:
    """A recipe `instruction:` value as text: a name from INSTRUCTIONS or the text itself."""
    return INSTRUCTIONS.get(name, name) if name else None


def with_instruction(messages: list[dict[str, str]], instruction: str) -> list[dict[str, str]]:
    """The messages with `instruction` on a new line after the last user turn (once, not twice)."""
    out = [dict(m) for m in messages]
    for m in reversed(out):
        if m.get("role") == "user":
            if instruction not in m["content"]:
                m["content"] = f"{m['content'].rstrip()}\n{instruction}"
            break
    return out


# ---------------------------------------------------------------------------------------------- math


def has_gold(answer: Any) -> bool:
    """Whether a math gold is an answer at all (not `proof`, `notfound`, empty or missing)."""
    return answer is not None and str(answer).strip().strip("$").strip().lower() not in PLACEHOLDER_GOLDS


# ---------------------------------------------------------------------------------------------- code


def code_language(row: dict[str, Any]) -> str:
    """The language a code row is to be solved in (`sandbox.formats.row_language`); Python when unnamed."""
    return row_language(row) or "python"


def adapt_code(row: dict[str, Any]) -> dict[str, Any]:
    """`tests` from the row's own test format; a drop reason for other languages or unreadable tests."""
    if code_language(row) not in SUPPORTED_LANGUAGES:
        return {"tests": None, DROP_KEY: "unsupported_language"}
    try:
        tests = row_to_tests(row)
        text = json.dumps(tests)  # an answer with no JSON form (a set literal) cannot reach the sandbox
    except (ValueError, KeyError, TypeError) as e:
        return {"tests": None, DROP_KEY: f"unreadable: {type(e).__name__}"[:40]}
    if not tests.get("tests") and tests.get("mode") != "assert":
        return {"tests": None, DROP_KEY: "no_tests"}
    if answers_nothing(tests):
        return {"tests": None, DROP_KEY: "blank_outputs"}
    return {"tests": text, DROP_KEY: None}


def answers_nothing(tests: dict[str, Any]) -> bool:
    """Whether every test expects nothing (blank stdout, or None returned): a program that prints or returns
    nothing would pass them all, so such a row rewards no answer at all."""
    cases = tests.get("tests") or []
    if tests.get("mode") == "assert" or not cases:
        return False
    if tests.get("mode") == "function":
        return all(
            c.get("output") is None and not any(a is not None for a in c.get("alt_outputs", []))
            for c in cases
        )
    return all(not str(c.get("output", "")).strip() for c in cases)


def reference_program(solution: str | None, language: str = "python") -> str | None:
    """A reference solution as the fenced block a completion ends with: the block the code reward would
    take as its program (`verifiers.code.program_block`, with its tag), or the text fenced as `language`
    when it has no fenced block."""
    if not solution or not solution.strip():
        return None
    block = program_block(solution)
    if block is None:
        return f"```{language}\n{solution}\n```"
    tag, _, code = block
    return f"```{tag}\n{code}```"


# ---------------------------------------------------------------------------------------------- tools

_SIMPLE_TYPES = {
    "str": "string",
    "string": "string",
    "int": "integer",
    "integer": "integer",
    "float": "number",
    "number": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "list": "array",
    "tuple": "array",
    "set": "array",
    "dict": "object",
    "object": "object",
}


def xlam_type(text: str) -> dict[str, Any]:
    """An xLAM type string (`str`, `List[int]`, `Dict[str, Any]`, `int, optional`) as a JSON-schema type."""
    t = re.sub(r",?\s*optional\s*$", "", text.strip(), flags=re.I).strip()
    t = re.sub(r"^Optional\[(.*)\]$", r"\1", t).strip()
    head, _, inner = t.partition("[")
    base = _SIMPLE_TYPES.get(head.strip().lower())
    if base is None:  # Union[...], Any, callable, custom names: no type constraint beyond the answer's own
        return {}
    schema: dict[str, Any] = {"type": base}
    if base == "array" and inner:
        item = xlam_type(inner.rstrip("]").split(",")[0])
        if item:
            schema["items"] = item
    return schema


def is_xlam_tool(tool: dict[str, Any]) -> bool:
    """xLAM's parameters map names to `{"type", "description", "default"}` with no `properties`."""
    params = tool.get("parameters")
    return (
        isinstance(params, dict)
        and "properties" not in params
        and params.get("type") != "object"
        and all(isinstance(v, dict) for v in params.values())
    )


def xlam_optional(spec: dict[str, Any]) -> bool:
    return "optional" in str(spec.get("type", "")).lower()


def xlam_tool_schema(tool: dict[str, Any]) -> dict[str, Any]:
    """One xLAM tool as a JSON-schema function: typed `properties`, `required` = parameters not optional."""
    properties, required = {}, []
    for name, spec in tool.get("parameters", {}).items():
        prop = xlam_type(str(spec.get("type", "")))
        if spec.get("description"):
            prop["description"] = spec["description"]
        if spec.get("default") not in (None, ""):
            prop["default"] = spec["default"]
        properties[name] = prop
        if not xlam_optional(spec):
            required.append(name)
    params = {"type": "object", "properties": properties, "required": required}
    return {"name": tool["name"], "description": tool.get("description", ""), "parameters": params}


def _accepted(value: Any) -> list[Any]:
    """BFCL's accepted-values list for one gold value; a dict's own values become lists in turn."""
    if isinstance(value, dict):
        return [{k: _accepted(v) for k, v in value.items()}]
    return [value]


def xlam_ground_truth(answers: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """xLAM `answers` as BFCL possible answers: each gold argument accepted as given; a parameter the
    gold leaves out may also be left out by the model (or given its default) when the schema allows it."""
    by_name = {t["name"]: t for t in tools}
    out = []
    for call in answers:
        args = call.get("arguments") or {}
        params = {k: _accepted(v) for k, v in args.items()}
        for name, spec in (by_name.get(call["name"], {}).get("parameters") or {}).items():
            if name in params:
                continue
            if not xlam_optional(spec) and spec.get("default") in (None, ""):
                continue  # a required parameter the gold omits: the model must omit it too
            params[name] = ["", *([spec["default"]] if spec.get("default") not in (None, "") else [])]
        out.append({call["name"]: params})
    return out


def adapt_tools(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-schema tools and BFCL ground truth for xLAM rows; other tool rows pass unchanged."""
    try:
        tools = parse_literal(row["tools"])
        truth = parse_literal(row["ground_truth"])
    except (ValueError, KeyError, TypeError) as e:
        return {DROP_KEY: f"unreadable: {type(e).__name__}"}
    if not isinstance(tools, list) or not isinstance(truth, list):
        return {DROP_KEY: "unreadable: tools"}
    if tools and all(isinstance(t, dict) and is_xlam_tool(t) for t in tools):
        truth = xlam_ground_truth(truth, tools)
        tools = [xlam_tool_schema(t) for t in tools]
    return {"tools": json.dumps(tools), "ground_truth": json.dumps(truth), DROP_KEY: None}


def tool_call_text(ground_truth: Any) -> str:
    """The ground-truth calls as Qwen `<tool_call>` blocks (the first accepted value of each argument)."""
    from verifiers.rules.bfcl_ast import canonical_call
    from verifiers.rules.tool_call import to_possible_answers

    calls = [canonical_call(a) for a in to_possible_answers(parse_literal(ground_truth))]
    return "\n".join(f"<tool_call>\n{json.dumps(c)}\n</tool_call>" for c in calls)


# ---------------------------------------------------------------------------------------------- IFEval


def _relation(quantifier: str | None, n: int) -> tuple[str, int]:
    """open-instruct's at least / at most / around N as our (relation, N): `around` keeps its own
    tolerance (the checks apply open-instruct's: ±10% for words and capital words, ±1 for sentences)."""
    if quantifier == "at most":
        return "less than", n + 1
    if quantifier == "around":
        return "around", n
    return "at least", n


def parse_options(options: Any) -> list[str]:
    """RLVR-IFeval's `validate_choice` options, free text such as "I know or I don't know", a quoted tuple
    "('My answer is yes.', 'My answer is no.')", "(A) yes (B) no" or a bulleted list, as a list of options."""
    if isinstance(options, (list, tuple)):
        return [str(o).strip() for o in options if str(o).strip()]
    text = str(options or "").strip()
    try:
        value = parse_literal(text)
    except ValueError:
        value = None
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    bullets = re.findall(r"^\s*[-*]\s+(.+?)\s*$", text, flags=re.M)
    if len(bullets) >= 2:
        return bullets
    labelled = [p.strip(" ,;") for p in re.split(r"\(?\b[A-Za-z0-9]\)\s*", text) if p.strip(" ,;")]
    if len(labelled) >= 2 and re.search(r"\(?\b[A-Za-z0-9]\)", text):
        return labelled
    parts = [p.strip(" \"'") for p in re.split(r",\s*(?:or\s+)?|\s+or\s+|\s*/\s*|\s*\|\s*", text)]
    return [p for p in parts if p]


def rlvr_ifeval(ground_truth: str | dict) -> dict[str, Any]:
    """An allenai/RLVR-IFeval `ground_truth` (open-instruct check name + args) as IFEval id + kwargs."""
    gt = json.loads(ground_truth) if isinstance(ground_truth, str) else dict(ground_truth)
    name, n = gt.get("func_name"), gt.get("N")
    table: dict[str, tuple[str, dict[str, Any]]] = {
        "verify_keywords": ("keywords:existence", {"keywords": gt.get("keyword_list")}),
        "validate_forbidden_words": (
            "keywords:forbidden_words",
            {"forbidden_words": gt.get("forbidden_words")},
        ),
        "validate_response_language": ("language:response_language", {"language": gt.get("language")}),
        "verify_paragraph_count": ("length_constraints:number_paragraphs", {"num_paragraphs": n}),
        "validate_paragraphs": (
            "length_constraints:nth_paragraph_first_word",
            {"num_paragraphs": n, "nth_paragraph": gt.get("i"), "first_word": gt.get("first_word")},
        ),
        "verify_postscript": (
            "detectable_content:postscript",
            {"postscript_marker": gt.get("postscript_marker")},
        ),
        "validate_placeholders": ("detectable_content:number_placeholders", {"num_placeholders": n}),
        "verify_bullet_points": ("detectable_format:number_bullet_lists", {"num_bullets": n}),
        "validate_title": ("detectable_format:title", {}),
        "validate_choice": (
            "detectable_format:constrained_response",
            {"options": parse_options(gt.get("options"))},
        ),
        "validate_highlighted_sections": (
            "detectable_format:number_highlighted_sections",
            {"num_highlights": n},
        ),
        "validate_sections": (
            "detectable_format:multiple_sections",
            {"section_spliter": gt.get("section_splitter"), "num_sections": n},
        ),
        "validate_json_format": ("detectable_format:json_format", {}),
        "validate_repeat_prompt": (
            "combination:repeat_prompt",
            {"prompt_to_repeat": gt.get("original_prompt")},
        ),
        "validate_two_responses": ("combination:two_responses", {}),
        "validate_uppercase": ("change_case:english_capital", {}),
        "validate_lowercase": ("change_case:english_lowercase", {}),
        "validate_end": ("startend:end_checker", {"end_phrase": gt.get("end_phrase")}),
        "validate_quotation": ("startend:quotation", {}),
        "validate_no_commas": ("punctuation:no_comma", {}),
    }
    if name == "verify_keyword_frequency":  # open-instruct counts whole words, exactly N
        iid, kw = (
            "keywords:frequency",
            {"keyword": gt.get("word"), "frequency": n, "relation": "exactly", "whole_words": True},
        )
    elif name == "verify_letter_frequency":
        iid, kw = (
            "keywords:letter_frequency",
            {"letter": gt.get("letter"), "let_frequency": n, "let_relation": "exactly"},
        )
    elif name in (
        "validate_word_constraint",
        "verify_sentence_constraint",
        "validate_frequency_capital_words",
    ):
        if not isinstance(n, int):
            raise AdapterError(f"RLVR-IFeval check {name} needs an integer N, got {n!r}")
        relation, count = _relation(gt.get("quantifier"), n)
        iid, kw = {
            "validate_word_constraint": (
                "length_constraints:number_words",
                {"num_words": count, "relation": relation},
            ),
            "verify_sentence_constraint": (
                "length_constraints:number_sentences",
                {"num_sentences": count, "relation": relation},
            ),
            "validate_frequency_capital_words": (
                "change_case:capital_word_frequency",
                {"capital_frequency": count, "capital_relation": relation},
            ),
        }[name]
    elif name in table:
        iid, kw = table[name]
    else:
        raise AdapterError(f"RLVR-IFeval ground_truth names {name!r}, which has no IFEval counterpart here")
    return {"instruction_id_list": [iid], "kwargs": json.dumps([kw])}


def adapt_ifeval(row: dict[str, Any]) -> dict[str, Any]:
    try:
        return {**rlvr_ifeval(row["ground_truth"]), DROP_KEY: None}
    except (AdapterError, ValueError, TypeError) as e:
        return {"instruction_id_list": None, "kwargs": None, DROP_KEY: f"unreadable: {type(e).__name__}"}


# ---------------------------------------------------------------------------------------------- references


def reference_completion(row: dict[str, Any], reference: str | None = None) -> str | None:
    """A completion built from the row's own reference answer, in the shape the policy must produce
    (reasoning closed by `</think>`, then the answer): the boxed gold for math, the reference program
    for code, the ground-truth calls for tools. None when the row has no reference."""
    task = row.get("task")
    if task == "math":
        gold = str(row.get("answer") or "")
        body = (gold if "\\boxed" in gold else f"\\boxed{{{gold}}}") if has_gold(gold) else None
    elif task == "code":
        body = reference_program(reference, code_language(row))
    elif task == "tool" and row.get("ground_truth") is not None:
        body = tool_call_text(row["ground_truth"])
    else:
        body = None
    return None if body is None else f"The reference answer.\n</think>\n\n{body}"
