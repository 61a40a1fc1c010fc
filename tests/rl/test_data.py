"""Data: local JSONL mixtures with a `task` column, and prompts rendered with the `<think>\\n` prefill."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rl.data import (
    DataError,
    load_mixture,
    load_training_data,
    local_path,
    render_prompt,
    sft_target,
)
from rl.recipe import DataSection, DataSource


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


MATH = [{"prompt": f"What is {i} + 1?", "answer": str(i + 1)} for i in range(10)]
CODE = [
    {
        "prompt": [{"role": "user", "content": "Print the sum of two integers."}],
        "tests": {"mode": "stdio", "tests": [{"input": "1 2\n", "output": "3\n"}]},
    }
]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    from rl.smoke.tiny import build_tiny

    return AutoTokenizer.from_pretrained(build_tiny(tmp_path_factory.getbasetemp() / "tiny"))


@pytest.fixture
def sources(tmp_path):
    write_jsonl(tmp_path / "math" / "train.jsonl", MATH)
    write_jsonl(tmp_path / "code.jsonl", CODE)
    return tmp_path


def test_local_source_finds_a_directory_with_split_files_or_a_named_jsonl(sources):
    assert local_path(str(sources / "math"), "train") == sources / "math" / "train.jsonl"
    assert local_path(str(sources / "code"), "train") == sources / "code.jsonl"


def test_a_missing_local_source_says_where_it_looked(sources):
    with pytest.raises(DataError, match="not found"):
        local_path(str(sources / "nothing"), "train")


def test_the_mixture_tags_every_row_with_its_task_and_fills_missing_columns(sources):
    data = DataSection(
        mixture=[
            DataSource(source=f"local:{sources}/math", task="math"),
            DataSource(source=f"local:{sources}/code", task="code"),
        ]
    )
    train, evaluation = load_mixture(data)
    assert evaluation is None
    assert sorted(set(train["task"])) == ["code", "math"]
    code_row = train[train["task"].index("code")]
    assert code_row["answer"] is None
    assert json.loads(code_row["tests"])["mode"] == "stdio"  # dict columns travel as JSON strings
    math_row = train[train["task"].index("math")]
    assert math_row["tests"] is None and math_row["answer"] == "1"


def test_weights_repeat_or_subsample_a_source_and_max_samples_caps_it_first(sources):
    def count(**kw):
        train, _ = load_mixture(
            DataSection(mixture=[DataSource(source=f"local:{sources}/math", task="math", **kw)])
        )
        return len(train)

    assert count(weight=2.0) == 20
    assert count(weight=0.5) == 5
    assert count(max_samples=4, weight=1.5) == 6


def test_eval_fraction_holds_out_rows(sources):
    data = DataSection(mixture=[DataSource(source=f"local:{sources}/math", task="math")], eval_fraction=0.2)
    train, evaluation = load_mixture(data)
    assert (len(train), len(evaluation)) == (8, 2)


def test_a_source_without_task_or_prompt_is_an_error_saying_what_to_set(sources):
    with pytest.raises(DataError, match="task"):
        load_mixture(DataSection(mixture=[DataSource(source=f"local:{sources}/math")]))
    write_jsonl(sources / "q.jsonl", [{"question": "hi"}])
    with pytest.raises(DataError, match="columns"):
        load_mixture(DataSection(mixture=[DataSource(source=f"local:{sources}/q.jsonl", task="math")]))
    renamed = DataSource(source=f"local:{sources}/q.jsonl", task="math", columns={"question": "prompt"})
    assert load_mixture(DataSection(mixture=[renamed]))[0]["prompt"] == [[{"role": "user", "content": "hi"}]]


def test_the_rendered_prompt_opens_the_assistant_turn_with_one_think_prefill(tokenizer):
    text = render_prompt("What is 2 + 2?", tokenizer)
    assert text.endswith("<|im_start|>assistant\n<think>\n")
    assert text.count("<think>") == 1


def test_the_prefill_is_added_when_the_chat_template_does_not_open_a_think_block(tokenizer):
    plain = tokenizer.chat_template.replace("<think>\\n", "")
    tokenizer.chat_template = plain
    try:
        assert render_prompt("hi", tokenizer).endswith("<|im_start|>assistant\n<think>\n")
        assert render_prompt("hi", tokenizer, think_prefill=False).endswith("<|im_start|>assistant\n")
    finally:
        from rl.smoke.tiny import CHAT_TEMPLATE

        tokenizer.chat_template = CHAT_TEMPLATE


def test_the_system_prompt_comes_first(tokenizer):
    text = render_prompt("hi", tokenizer, system_prompt="Reason step by step.")
    assert text.index("Reason step by step.") < text.index("hi")


def test_an_sft_completion_continues_after_the_prefill():
    messages = [{"role": "assistant", "content": "<think>\n1 + 1 = 2\n</think>\n\n\\boxed{2}"}]
    assert sft_target(messages) == "1 + 1 = 2\n</think>\n\n\\boxed{2}"
    assert sft_target("<think>\nx</think>y", think_prefill=False) == "<think>\nx</think>y"


def test_training_rows_carry_rendered_prompts_task_and_reward_columns(sources, tokenizer):
    data = DataSection(mixture=[DataSource(source=f"local:{sources}/math", task="math")])
    train, _ = load_training_data(data, tokenizer)
    row = train[0]
    assert isinstance(row["prompt"], str) and row["prompt"].endswith("<think>\n")
    assert row["task"] == "math" and row["answer"] is not None
    assert row["prompt_messages"] == [{"role": "user", "content": row["prompt_messages"][0]["content"]}]
    assert row["prompt_messages"][0]["content"] in row["prompt"]


def test_hub_code_rows_without_tests_get_them_from_their_own_format(tmp_path):
    info = {"test_cases": [{"type": "stdin_stdout", "input": "1 2\n", "output": "3\n"}]}
    write_jsonl(tmp_path / "pi.jsonl", [{"prompt": "Add two numbers.", "verification_info": info}])
    train, _ = load_mixture(
        DataSection(mixture=[DataSource(source=f"local:{tmp_path}/pi.jsonl", task="code")])
    )
    assert json.loads(train[0]["tests"]) == {"mode": "stdio", "tests": [{"input": "1 2\n", "output": "3\n"}]}


def test_rlvr_ifeval_ground_truth_becomes_ifeval_ids_the_verifier_checks(tmp_path):
    from verifiers.rules.ifeval import check_ifeval

    truths = [
        {"func_name": "validate_lowercase", "N": None},
        {"func_name": "validate_word_constraint", "N": 3, "quantifier": "at most"},
        {"func_name": "verify_keyword_frequency", "N": 2, "word": "river"},
    ]
    write_jsonl(tmp_path / "if.jsonl", [{"prompt": "Say hi.", "ground_truth": json.dumps(t)} for t in truths])
    train, _ = load_mixture(
        DataSection(mixture=[DataSource(source=f"local:{tmp_path}/if.jsonl", task="ifeval")])
    )
    assert train["instruction_id_list"] == [
        ["change_case:english_lowercase"],
        ["length_constraints:number_words"],
        ["keywords:frequency"],
    ]
    words = json.loads(train[1]["kwargs"])
    assert words == [{"num_words": 4, "relation": "less than"}]
    assert check_ifeval(
        "", "hello there", train[0]["instruction_id_list"], json.loads(train[0]["kwargs"])
    ) == [True]
    assert check_ifeval("", "one two three", train[1]["instruction_id_list"], words) == [True]
    assert check_ifeval("", "one two three four", train[1]["instruction_id_list"], words) == [False]
    freq = train[2]["instruction_id_list"], json.loads(train[2]["kwargs"])  # open-instruct counts exactly N
    assert [check_ifeval("", " ".join(["river"] * k), *freq) for k in (1, 2, 3)] == [[False], [True], [False]]


def test_columns_no_reward_reads_are_dropped_unless_kept(tmp_path):
    write_jsonl(
        tmp_path / "m.jsonl", [{"prompt": "1+1?", "answer": "2", "solution": "long text", "source": "x"}]
    )
    src = f"local:{tmp_path}/m.jsonl"
    train, _ = load_mixture(DataSection(mixture=[DataSource(source=src, task="math")]))
    assert sorted(train.column_names) == ["answer", "prompt", "source", "task"]
    assert train[0]["source"] == src  # the mixture entry, in place of the dataset's own `source`
    train, _ = load_mixture(DataSection(mixture=[DataSource(source=src, task="math", keep=["solution"])]))
    assert sorted(train.column_names) == ["answer", "prompt", "solution", "source", "task"]
