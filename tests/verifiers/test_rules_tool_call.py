"""Function-call reward on BFCL's own cases (bfcl-eval ships the questions and possible answers)."""

import json
from pathlib import Path

import pytest

bfcl_eval = pytest.importorskip("bfcl_eval", reason="bfcl-eval is installed by `make install` (--no-deps)")

from verifiers import failures  # noqa: E402
from verifiers.rules.bfcl_ast import CallError, canonical_call, check_calls  # noqa: E402
from verifiers.rules.tool_call import parse_tool_calls, tool_call_reward  # noqa: E402

DATA = Path(bfcl_eval.__file__).parent / "data"


def load(category: str, limit: int | None = None) -> list[tuple[dict, list]]:
    questions = [json.loads(line) for line in (DATA / f"BFCL_v4_{category}.json").open()][:limit]
    answers = {
        r["id"]: r["ground_truth"]
        for r in map(json.loads, (DATA / "possible_answer" / f"BFCL_v4_{category}.json").open())
    }
    return [(q, answers[q["id"]]) for q in questions]


def render(calls: list[dict], thought: str = "I should call the tool.") -> str:
    body = "".join(f"<tool_call>\n{json.dumps(c)}\n</tool_call>\n" for c in calls)
    return f"{thought}\n</think>\n\n{body}"


@pytest.mark.parametrize("category", ["simple_python", "multiple", "parallel"])
def test_ground_truth_calls_score_one_on_every_bfcl_case(category):
    cases = load(category)
    completions = [render([canonical_call(a) for a in truth]) for _, truth in cases]
    rewards = tool_call_reward(
        completions,
        tools=[json.dumps(q["function"]) for q, _ in cases],
        ground_truth=[json.dumps(t) for _, t in cases],
    )
    assert rewards == [1.0] * len(cases)


def test_parallel_calls_match_in_any_order():
    question, truth = load("parallel", 1)[0]
    calls = [canonical_call(a) for a in truth][::-1]
    assert len(calls) > 1
    assert tool_call_reward([render(calls)], [question["function"]], [truth]) == [1.0]


def mutate_cases():
    """Narrow misses built from simple_python_0 (area of a triangle, base 10, height 5)."""
    question, truth = load("simple_python", 1)[0]
    good = canonical_call(truth[0])
    wrong_value = {**good, "arguments": {**good["arguments"], "base": 11}}
    wrong_type = {**good, "arguments": {**good["arguments"], "base": "10"}}
    missing = {**good, "arguments": {k: v for k, v in good["arguments"].items() if k != "height"}}
    extra = {**good, "arguments": {**good["arguments"], "color": "red"}}
    wrong_name = {**good, "name": "calculate_circle_area"}
    return question, truth, good, [wrong_value, wrong_type, missing, extra, wrong_name]


def test_wrong_value_type_missing_extra_or_name_scores_zero():
    question, truth, good, bad_calls = mutate_cases()
    assert tool_call_reward([render([good])], [question["function"]], [truth]) == [1.0]
    got = tool_call_reward([render([b]) for b in bad_calls], [question["function"]] * 5, [truth] * 5)
    assert got == [0.0] * 5


def test_strings_compare_like_bfcl_case_and_punctuation_insensitive():
    question, truth = next((q, t) for q, t in load("simple_python") if q["id"] == "simple_python_8")
    call = canonical_call(truth[0])
    string_params = [k for k, v in call["arguments"].items() if isinstance(v, str)]
    assert string_params, call
    k = string_params[0]
    call["arguments"][k] = call["arguments"][k].upper().replace(" ", "  ")
    assert tool_call_reward([render([call])], [question["function"]], [truth]) == [1.0]


def test_int_is_accepted_for_float_but_bool_is_not_int():
    tools = [
        {
            "name": "f",
            "parameters": {
                "type": "dict",
                "properties": {"x": {"type": "float"}, "n": {"type": "integer"}},
                "required": ["x"],
            },
        }
    ]
    truth = [{"f": {"x": [2.0], "n": ["", 1]}}]
    check_calls(tools, [{"name": "f", "arguments": {"x": 2}}], truth)
    with pytest.raises(CallError):
        check_calls(tools, [{"name": "f", "arguments": {"x": 2.0, "n": True}}], truth)


def test_malformed_or_missing_tool_call_scores_zero_and_thought_calls_do_not_count():
    question, truth, good, _ = mutate_cases()
    broken = '</think><tool_call>{"name": "calculate_triangle_area", "arguments": {</tool_call>'
    in_thought = render([good], thought="").replace("</think>", "") + "</think>Here is the area."
    prose = "</think>The area is 25 square units."
    assert tool_call_reward([broken, in_thought, prose], [question["function"]] * 3, [truth] * 3) == [0.0] * 3


def test_a_call_that_readers_would_run_differently_scores_zero():
    """Attack: one call carrying two values, of which json.loads keeps the last and other readers the
    first (a repeated key, also inside string-serialised arguments), or "arguments" beside "parameters"."""
    question, truth, good, _ = mutate_cases()
    name, args = good["name"], good["arguments"]
    right = json.dumps(args)[1:-1]
    wrong = json.dumps({**args, "base": 11})[1:-1]
    hedges = [
        f'{{"name": "{name}", "arguments": {{{wrong}, {right}}}}}',
        f'{{"name": "{name}", "arguments": {{{right}, {wrong}}}}}',
        f'{{"name": "{name}", "arguments": {json.dumps("{" + wrong + ", " + right + "}")}}}',
        json.dumps({"name": name, "arguments": args, "parameters": {**args, "base": 11}}),
        json.dumps({"name": name, "parameters": {**args, "base": 11}, "arguments": args}),
    ]
    completions = [f"</think><tool_call>{h}</tool_call>" for h in hedges]
    assert tool_call_reward(completions, [question["function"]] * 5, [truth] * 5) == [0.0] * 5
    # Controls: each form alone, with the right values, still scores 1.
    honest = [
        json.dumps({"name": name, "arguments": args}),
        json.dumps({"name": name, "parameters": args}),
        json.dumps({"name": name, "arguments": json.dumps(args)}),
    ]
    completions = [f"</think><tool_call>{h}</tool_call>" for h in honest]
    assert tool_call_reward(completions, [question["function"]] * 3, [truth] * 3) == [1.0] * 3


def test_openai_style_schema_and_string_arguments_are_understood():
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    completion = (
        '</think><tool_call>{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}</tool_call>'
    )
    truth = [{"name": "get_weather", "arguments": {"city": "paris"}}]
    assert parse_tool_calls(completion) == [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    assert tool_call_reward([completion], [json.dumps(tools)], [json.dumps(truth)]) == [1.0]


def test_empty_ground_truth_rewards_abstaining_bfcl_irrelevance():
    question = json.loads((DATA / "BFCL_v4_irrelevance.json").open().readline())
    tools = json.dumps(question["function"])
    call = {"name": question["function"][0]["name"], "arguments": {}}
    got = tool_call_reward(
        ["</think>No tool fits this request.", render([call])], [tools, tools], ["[]", "[]"]
    )
    assert got == [1.0, 0.0]


def test_rows_without_tool_columns_are_not_owned():
    assert tool_call_reward(["</think>hi"], tools=[None], ground_truth=[None]) == [None]


@pytest.mark.parametrize(
    "arguments",
    ['{"x": ' + "9" * 5000 + "}", "[" * 100_000 + "]" * 100_000, '"{\\"x\\": ' + "9" * 5000 + '}"'],
    ids=["integer past 4300 digits", "arrays nested past json's depth", "the same inside string arguments"],
)
def test_a_call_json_cannot_read_scores_zero_not_none(arguments):
    """Attack: json.loads raises ValueError on an integer of more than 4300 digits (read as a bad
    tools/ground_truth column: that row None) and RecursionError on deep nesting (raised out of the
    reward: the whole batch None). Either way the model's own call made its row unscorable, escaping the
    0 a wrong call earns. Both now score 0.0 beside an honest row's 1.0. Control: a tools column that is
    not JSON is still None, counted."""
    tools = json.dumps(
        [{"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}]
    )
    truth = json.dumps([{"name": "f", "arguments": {"x": 1}}])
    bad = f'</think><tool_call>\n{{"name": "f", "arguments": {arguments}}}\n</tool_call>'
    good = render([{"name": "f", "arguments": {"x": 1}}])
    failures.drain()
    assert tool_call_reward([bad, good], tools=[tools] * 2, ground_truth=[truth] * 2) == [0.0, 1.0]
    assert failures.drain() == {}
    assert tool_call_reward([good], tools=["{not json"], ground_truth=[truth]) == [None]
    assert failures.drain() == {"tool_call_reward": 1}
