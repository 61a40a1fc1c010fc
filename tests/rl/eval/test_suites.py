"""Suite loaders: every benchmark as recipe-style rows, with the columns its verifier reads."""

from __future__ import annotations

import base64
import json
import pickle
import zlib

import pytest

from rl.eval.suites import SUITES, SuiteError, lcb_row, load_suite

FULL_SIZES = {
    "aime24": 30,
    "aime25": 30,
    "amc23": 40,
    "math500": 500,
    "gsm8k": 1319,
    "minerva": 272,
    "humaneval": 164,
    "ifeval": 541,
    "bfcl": 400 + 200 + 200 + 200,
    "smoke_math": 128,
}
COLUMNS = {
    "math": {"answer"},
    "code": {"tests"},
    "ifeval": {"instruction_id_list", "kwargs"},
    "tool": {"tools", "ground_truth"},
}


@pytest.mark.parametrize("suite", list(FULL_SIZES))
def test_local_suites_load_every_problem_as_rows_with_their_reward_columns(suite):
    rows = load_suite(suite)
    assert len(rows) == FULL_SIZES[suite]
    assert len({r["id"] for r in rows}) == len(rows)
    task = SUITES[suite].task
    for row in rows:
        assert row["task"] == task
        assert row["prompt"][-1]["role"] == "user" and row["prompt"][-1]["content"]
        assert COLUMNS[task] <= set(row), row["id"]
    assert load_suite(suite, limit=3) == rows[:3]


def test_math_prompts_ask_for_a_boxed_answer_as_qwq_recommends():
    (row,) = load_suite("aime24", 1)
    assert row["prompt"][0]["content"].endswith("put your final answer within \\boxed{}.")


def test_humaneval_rows_are_judged_in_assert_mode_against_the_entry_point():
    (row,) = load_suite("humaneval", 1)
    tests = json.loads(row["tests"])
    assert tests["mode"] == "assert" and tests["entry_point"] == "has_close_elements"
    assert "def check(candidate)" in tests["test"]
    assert "def has_close_elements" in row["prompt"][0]["content"]


def test_unknown_suite_names_the_available_ones():
    with pytest.raises(SuiteError, match="available: .*gsm8k"):
        load_suite("gsm9k")


def _pack(tests: list[dict]) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


def test_livecodebench_stdin_problem_becomes_a_stdio_code_row_with_public_and_private_tests():
    record = {
        "question_id": "abc123",
        "question_content": "Read two integers and print their sum.",
        "starter_code": "",
        "public_test_cases": json.dumps([{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]),
        "private_test_cases": _pack([{"input": "5 5\n", "output": "10\n", "testtype": "stdin"}]),
        "metadata": "{}",
    }
    row = lcb_row(record)
    assert row["id"] == "abc123" and row["task"] == "code"
    assert json.loads(row["tests"]) == {
        "mode": "stdio",
        "tests": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"}],
    }


def test_livecodebench_functional_problem_becomes_a_function_code_row():
    record = {
        "question_id": "lc1",
        "question_content": "Return the sum of nums, plus k.",
        "starter_code": "class Solution:\n    def addAll(self, nums: List[int], k: int) -> int:\n        ",
        "public_test_cases": json.dumps([{"input": "[1, 2]\n3", "output": "6", "testtype": "functional"}]),
        "private_test_cases": json.dumps([{"input": "[]\n0", "output": "0", "testtype": "functional"}]),
        "metadata": json.dumps({"func_name": "addAll"}),
    }
    tests = json.loads(lcb_row(record)["tests"])
    assert tests == {
        "mode": "function",
        "fn_name": "addAll",
        "tests": [{"input": [[1, 2], 3], "output": 6}, {"input": [[], 0], "output": 0}],
    }
    assert "class Solution" in lcb_row(record)["prompt"][0]["content"]


class Boom:
    def __reduce__(self):
        return (print, ("pwned",))


def test_livecodebench_private_tests_that_are_more_than_a_string_are_refused():
    blob = base64.b64encode(zlib.compress(pickle.dumps(Boom()))).decode()
    record = {
        "question_id": "evil",
        "question_content": "x",
        "starter_code": "",
        "public_test_cases": "[]",
        "private_test_cases": blob,
        "metadata": "{}",
    }
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        lcb_row(record)


def test_every_benchmark_suite_names_its_public_hub_dataset():
    from rl.eval.suites import HUB

    for name in (
        "aime24",
        "aime25",
        "amc23",
        "math500",
        "gsm8k",
        "minerva",
        "ifeval",
        "math",
        "livecodebench",
    ):
        assert SUITES[name].hub is HUB[name] and "/" in HUB[name].repo_id
    assert HUB["math500"].revision == "6e4ed1a2a79af7d8630a6b768ec859cb5af4d3be"  # pinned, as others pin it


def test_without_a_local_copy_a_suite_asks_the_hub_at_its_revision_and_offline_says_how_to_fetch_it(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("OPEN_QWQ_DATA", str(tmp_path))  # a folder without math500
    with pytest.raises(SuiteError) as info:
        load_suite("math500")
    message = str(info.value)
    assert f"{tmp_path}/math/math500/test.jsonl is missing" in message
    assert "HuggingFaceH4/MATH-500@6e4ed1a2a79a (split test)" in message
    assert "OfflineModeIsEnabled" in message and "python -m rl download --suites math500" in message


def hub_copy(tmp_path, name: str, rows: list[dict]) -> str:
    """A dataset repository on disk, shaped like the hub's: `load_dataset(path)` reads it like a hub id."""
    repo = tmp_path / name
    repo.mkdir(parents=True)
    (repo / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(repo)


def test_hub_rows_become_the_same_rows_as_the_local_copy(tmp_path, monkeypatch):
    """The hub path (load_dataset at the suite's source, rows shaped like the local file) gives identical rows:
    IFEval's hub kwargs carry every key (null when unset), GSM8K's hub rows have no idx."""
    import dataclasses

    from rl.eval import suites

    local_ifeval, local_gsm8k = load_suite("ifeval", limit=20), load_suite("gsm8k", limit=20)
    keys = {k for row in local_ifeval for kw in json.loads(row["kwargs"]) for k in kw} | {"num_words"}
    ifeval_hub = []
    for row in local_ifeval:
        kwargs = [{k: kw.get(k) for k in sorted(keys)} for kw in json.loads(row["kwargs"])]
        key = int(row["id"].split("/")[1])
        ifeval_hub.append({"key": key, "prompt": row["prompt"][0]["content"], "instruction_id_list": row["instruction_id_list"], "kwargs": kwargs})  # fmt: skip
    gsm8k_hub = [{"question": r["question"], "answer": r["answer"]} for r in suites.read_jsonl(suites.data_dir() / "math/gsm8k/test.jsonl")[:20]]  # fmt: skip
    monkeypatch.setitem(suites.HUB, "ifeval", dataclasses.replace(suites.HUB["ifeval"], repo_id=hub_copy(tmp_path, "ifeval", ifeval_hub)))  # fmt: skip
    monkeypatch.setitem(
        suites.HUB, "gsm8k", suites.HubSource(hub_copy(tmp_path, "gsm8k", gsm8k_hub), "train")
    )
    monkeypatch.setenv("OPEN_QWQ_DATA", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    assert load_suite("ifeval") == local_ifeval
    assert load_suite("gsm8k") == local_gsm8k
