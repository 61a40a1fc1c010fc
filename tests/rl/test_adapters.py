"""Hub rows as our reward columns, on rows shaped exactly like the real datasets (tests/fixtures/hub/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rl.adapters import (
    MATH_INSTRUCTION,
    parse_options,
    reference_completion,
    reference_program,
    rlvr_ifeval,
    xlam_tool_schema,
    xlam_type,
)
from rl.data import load_mixture
from rl.filters import DataReport
from rl.recipe import DataSection, DataSource
from verifiers.rules.ifeval import check_ifeval
from verifiers.rules.tool_call import tool_call_reward

HUB = Path(__file__).resolve().parents[1] / "fixtures" / "hub"


def fixture_rows(name: str, split: str = "train") -> list[dict]:
    return [json.loads(line) for line in (HUB / name / f"{split}.jsonl").read_text().splitlines()]


def load(name: str, report: DataReport | None = None, **source) -> list[dict]:
    ds, _ = load_mixture(DataSection(mixture=[DataSource(source=f"local:{HUB / name}", **source)]), report)
    return ds.to_list()


# 1. PrimeIntellect/verifiable-coding-problems


def test_prime_intellect_python_literal_rows_load_with_their_language_and_others_are_dropped(tmp_path):
    raw = fixture_rows("PrimeIntellect/verifiable-coding-problems")
    with pytest.raises(json.JSONDecodeError):  # what crashed both stages before
        json.loads(raw[0]["verification_info"])
    java = {**raw[0], "verification_info": raw[0]["verification_info"].replace("'python'", "'java'")}
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [*raw, java]))
    report = DataReport()
    ds, _ = load_mixture(DataSection(mixture=[DataSource(source=f"local:{tmp_path}", task="code")]), report)
    count = report[f"local:{tmp_path}"]
    assert (count.read, count.kept, dict(count.dropped)) == (8, 7, {"unsupported_language": 1})
    languages = [json.loads(t).get("language") for t in ds["tests"]]
    assert languages == ["python"] * 4 + ["rust", "cpp", "javascript"]  # each judged in its own language
    stdio = json.loads(ds[0]["tests"])
    assert stdio["mode"] == "stdio" and stdio["tests"][0] == {"input": "3\n1 2 3\n", "output": "6\n"}


def test_prime_intellect_function_call_cases_given_as_strings_are_parsed_not_passed_as_one_argument():
    rows = load("PrimeIntellect/verifiable-coding-problems", task="code")
    by_fn = {json.loads(r["tests"]).get("fn_name"): json.loads(r["tests"]) for r in rows}
    vowels = by_fn["count_vowels"]["tests"][0]  # the row stores input "['Banana']", output "[3]"
    assert vowels["input"] == ["Banana"] and vowels["alt_outputs"] == [3]
    assert by_fn["swap_pairs"]["tests"][0]["input"] == [[1, 2, 3, 4]]


# 2. Salesforce/xlam-function-calling-60k


def test_xlam_types_become_json_schema_types():
    assert xlam_type("str") == {"type": "string"}
    assert xlam_type("int, optional") == {"type": "integer"}
    assert xlam_type("List[int]") == {"type": "array", "items": {"type": "integer"}}
    assert xlam_type("Dict[str, Any]") == {"type": "object"}
    assert xlam_type("Union[int, float]") == {}  # no constraint beyond the answer's own type
    tool = fixture_rows("Salesforce/xlam-function-calling-60k")[1]
    schema = xlam_tool_schema(json.loads(tool["tools"])[0])
    assert schema["parameters"]["required"] == ["query"]  # "int, optional" / "str, optional" are not
    assert schema["parameters"]["properties"]["limit"] == {
        "type": "integer",
        "description": "Results per page.",
        "default": "10",
    }


def _calls(*calls: dict) -> str:
    body = "\n".join(f"<tool_call>\n{json.dumps(c)}\n</tool_call>" for c in calls)
    return f"I will call the tools.\n</think>\n\n{body}"


def test_a_perfect_xlam_call_scores_1_and_wrong_or_missing_arguments_score_0():
    raw = fixture_rows("Salesforce/xlam-function-calling-60k")
    gold = json.loads(raw[1]["answers"])
    assert tool_call_reward([_calls(*gold)], tools=[raw[1]["tools"]], ground_truth=[raw[1]["answers"]]) == [
        0.0
    ]
    rows = load(
        "Salesforce/xlam-function-calling-60k",
        task="tool",
        columns={"query": "prompt", "answers": "ground_truth"},
    )
    tools, truth = [rows[1]["tools"]], [rows[1]["ground_truth"]]
    score = lambda *c: tool_call_reward([_calls(*c)], tools=tools, ground_truth=truth)[0]  # noqa: E731
    assert score(*gold) == 1.0
    search, details = gold
    assert score({**search, "arguments": {**search["arguments"], "limit": 6}}, details) == 0.0  # wrong value
    assert score({**search, "arguments": {"limit": 5}}, details) == 0.0  # required `query` left out
    assert score(search, {**details, "arguments": {**details["arguments"], "sort": "price"}}) == 0.0  # extra
    assert score(search) == 0.0  # one of two calls


def test_every_xlam_gold_call_passes_its_own_converted_schema():
    rows = load(
        "Salesforce/xlam-function-calling-60k",
        task="tool",
        columns={"query": "prompt", "answers": "ground_truth"},
    )
    completions = [reference_completion(r) for r in rows]
    assert tool_call_reward(
        completions, tools=[r["tools"] for r in rows], ground_truth=[r["ground_truth"] for r in rows]
    ) == [1.0] * len(rows)


# 3. allenai/RLVR-IFeval


def test_rlvr_choice_options_are_free_text_and_the_answer_must_name_exactly_one():
    assert parse_options("I know or I don't know") == ["I know", "I don't know"]
    assert parse_options("('My answer is yes.', 'My answer is no.')") == [
        "My answer is yes.",
        "My answer is no.",
    ]
    assert parse_options("(A) yes (B) no") == ["yes", "no"]
    ids, kw = rlvr_ifeval(fixture_rows("allenai/RLVR-IFeval")[1]["ground_truth"]).values()
    check = lambda text: check_ifeval("", text, ids, json.loads(kw))[0]  # noqa: E731
    assert check("I don't know.") and check("I know")
    assert not check("My answer is yes.")  # IFEval's options are not this row's
    assert not check("I know or I don't know")  # hedging between the options
    assert not check("Tomatoes are fruit.")


def test_rlvr_around_n_is_a_tolerance_not_at_least():
    ids, kw = rlvr_ifeval({"func_name": "validate_word_constraint", "N": 40, "quantifier": "around"}).values()
    words = lambda n: check_ifeval("", " ".join(["word"] * n), ids, json.loads(kw))[0]  # noqa: E731
    assert [words(n) for n in (35, 36, 40, 44, 45, 80)] == [False, True, True, True, False, False]
    ids, kw = rlvr_ifeval(
        {"func_name": "verify_sentence_constraint", "N": 5, "quantifier": "around"}
    ).values()
    sentences = lambda n: check_ifeval("", " ".join(["It rains."] * n), ids, json.loads(kw))[0]  # noqa: E731
    assert [sentences(n) for n in (3, 4, 6, 7)] == [False, True, True, False]


def test_rlvr_exactly_n_keyword_counts_whole_words():
    ids, kw = rlvr_ifeval(fixture_rows("allenai/RLVR-IFeval")[3]["ground_truth"]).values()
    check = lambda text: check_ifeval("", text, ids, json.loads(kw))[0]  # noqa: E731
    assert check("The lock opened; a second lock held.")
    assert not check("The lock and the locks and the padlock.")  # substrings are not the word
    assert not check("lock lock lock")


# 4. placeholder golds, heavy columns, the math instruction


def test_placeholder_golds_are_dropped_and_counted_and_traces_are_not_loaded():
    report = DataReport()
    rows = load(
        "open-r1/OpenR1-Math-220k", report, task="math", columns={"problem": "prompt"}, instruction="boxed"
    )
    count = report[f"local:{HUB / 'open-r1/OpenR1-Math-220k'}"]
    assert (count.kept, dict(count.dropped)) == (5, {"no_gold": 2})
    assert {r["answer"] for r in rows}.isdisjoint({"proof", "notfound"})
    assert "messages" not in rows[0]  # the R1 traces no reward reads
    assert rows[0]["prompt"][0]["content"].endswith("\n" + MATH_INSTRUCTION)


def test_code_rows_whose_every_test_expects_nothing_are_dropped_not_rewarded_for_an_empty_program():
    from rl.adapters import DROP_KEY, adapt_code

    blank = {"input_output": json.dumps({"inputs": ["1\n", "2\n"], "outputs": ["", "\n"]})}
    returns_none = {
        "input_output": json.dumps({"inputs": [[1], [2]], "outputs": [None, None], "fn_name": "f"})
    }
    assert adapt_code(blank)[DROP_KEY] == adapt_code(returns_none)[DROP_KEY] == "blank_outputs"
    # Control: one test expecting an answer keeps the row (and a blank expected line elsewhere is fine).
    one = {"input_output": json.dumps({"inputs": ["1\n", "2\n"], "outputs": ["", "4\n"]})}
    assert adapt_code(one)[DROP_KEY] is None


def test_a_code_row_whose_answer_has_no_json_form_is_unreadable_not_a_crash_of_the_whole_load():
    from rl.adapters import DROP_KEY, adapt_code

    case = {"type": "function_call", "fn_name": "f", "input": "[[1, 2]]", "output": "{1, 2}"}  # a set literal
    row = {"verification_info": str({"language": "python", "test_cases": [case]})}
    assert adapt_code(row)[DROP_KEY] == "unreadable: TypeError"
    listed = {"verification_info": str({"language": "python", "test_cases": [{**case, "output": "[1, 2]"}]})}
    assert adapt_code(listed)[DROP_KEY] is None  # control: the same row with a list answer is kept


def test_a_reference_solution_is_judged_on_its_program_not_its_example_output():
    """--check-references takes the block the code reward would take (verifiers.code.program_block)."""
    solution = "Read both.\n```python\nprint(sum(map(int, input().split())))\n```\nOutput:\n```\n5\n```\n"
    assert reference_program(solution) == "```python\nprint(sum(map(int, input().split())))\n```"
    assert reference_program("print(1)", "cpp") == "```cpp\nprint(1)\n```"  # no block: fenced as the row's
