"""Suite loaders: every benchmark as recipe-style rows, with the columns its verifier reads."""

from __future__ import annotations

import base64
import json
import logging
import pickle
import re
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


def test_every_benchmark_suite_names_its_public_hub_dataset_at_a_full_commit():
    """A rerun reads the same rows: every hub suite is pinned to a 40-hex commit, none is left on main."""
    from rl.eval.suites import HUB

    hub_suites = {
        "aime24",
        "aime25",
        "amc23",
        "math500",
        "gsm8k",
        "minerva",
        "ifeval",
        "math",
        "livecodebench",
    }
    assert {name for name, suite in SUITES.items() if suite.hub is not None} == hub_suites
    assert set(HUB) == hub_suites | {"olympiadbench"}  # decontamination reads OlympiadBench too
    for name in HUB:
        source = HUB[name]
        assert SUITES[name].hub is source if name in SUITES else True
        assert "/" in source.repo_id
        assert source.revision is not None and re.fullmatch(r"[0-9a-f]{40}", source.revision), name
    assert HUB["math500"].revision == "6e4ed1a2a79af7d8630a6b768ec859cb5af4d3be"  # pinned, as others pin it
    assert HUB["gsm8k"].subset == "main"


def test_a_branch_or_short_commit_is_not_a_pin():
    from rl.eval.suites import HubSource

    for revision in ("main", "6e4ed1a2", "6E4ED1A2A79AF7D8630A6B768EC859CB5AF4D3BE"):
        with pytest.raises(ValueError, match="not a full 40-hex commit id"):
            HubSource("HuggingFaceH4/MATH-500", "test", revision)


def test_the_local_copy_wins_over_the_hub_dataset(monkeypatch):
    """With the local folder present no suite asks the hub: a hub source that cannot load changes nothing."""
    from rl.eval import suites

    for name in ("aime24", "aime25", "amc23", "math500", "gsm8k", "minerva", "ifeval"):
        before = load_suite(name)
        broken = suites.HubSource("nobody/no-such-dataset", "test", "0" * 40)
        monkeypatch.setitem(suites.HUB, name, broken)  # what `records` asks when the local copy is missing
        assert load_suite(name) == before and len(before) == FULL_SIZES[name]


def test_an_unpinned_hub_dataset_says_once_that_it_reads_the_moving_main_branch(
    tmp_path, monkeypatch, caplog
):
    from rl.eval import suites

    monkeypatch.setattr(suites, "_WARNED_UNPINNED", set())
    monkeypatch.setitem(suites.HUB, "aime25", suites.HubSource("nobody/aime-unpinned", "train"))
    monkeypatch.setenv("OPEN_QWQ_DATA", str(tmp_path))  # no local copy: the hub is asked (and is offline)
    with caplog.at_level(logging.WARNING, logger="rl.eval.suites"):
        for _ in range(2):
            with pytest.raises(SuiteError, match=r"nobody/aime-unpinned@main \(split train\)"):
                load_suite("aime25")
    warnings = [r.getMessage() for r in caplog.records if "moving main branch" in r.getMessage()]
    assert len(warnings) == 1 and "suite aime25 reads nobody/aime-unpinned" in warnings[0]
    caplog.clear()
    with (
        caplog.at_level(logging.WARNING, logger="rl.eval.suites"),
        pytest.raises(SuiteError, match="@2fe88a2f1091"),
    ):
        load_suite("aime24")  # pinned: asked at its commit, no warning
    assert not [r for r in caplog.records if "moving main branch" in r.getMessage()]


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


def test_the_math_hubs_columns_become_the_local_rows(tmp_path, monkeypatch):
    """Rows with the columns the pinned hub datasets have (aime_2025: id, problem, answer as text; amc23:
    id, question, answer, url; minervamath: question and the bare final answer) load as the local copy's
    rows: same ids and prompts, and the same gold answer once the verifier reads it."""
    from rl.eval import suites
    from verifiers.math.extract import extract_gold

    def local(name: str) -> list[dict]:
        folder = "minerva_math" if name == "minerva" else name
        return suites.read_jsonl(suites.data_dir() / "math" / folder / "test.jsonl")

    hub_rows = {
        "aime25": [
            {"id": int(r["id"]), "problem": r["problem"], "answer": str(r["answer"])} for r in local("aime25")
        ],
        "amc23": [
            {"id": r["id"], "question": r["question"], "answer": r["answer"], "url": r["url"]}
            for r in local("amc23")
        ],  # fmt: skip
        "minerva": [
            {"question": r["problem"], "answer": extract_gold(r["solution"])} for r in local("minerva")
        ],
    }
    expected = {name: load_suite(name) for name in hub_rows}
    for name, rows in hub_rows.items():
        monkeypatch.setitem(suites.HUB, name, suites.HubSource(hub_copy(tmp_path, name, rows), "train"))
    monkeypatch.setenv("OPEN_QWQ_DATA", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    for name in hub_rows:
        got = load_suite(name)
        assert [(r["id"], r["prompt"]) for r in got] == [(r["id"], r["prompt"]) for r in expected[name]], name
        assert [extract_gold(r["answer"]) for r in got] == [extract_gold(r["answer"]) for r in expected[name]]


def test_decontamination_reads_the_eval_problems_from_the_hub_without_a_local_copy(tmp_path, monkeypatch):
    """A clone without the local folder still decontaminates: each suite's problems come from its pinned hub
    dataset (here a copy on disk shaped like it); with neither, the error names the dataset and the fix."""
    from rl.decontam import DecontamError
    from rl.eval import suites

    problems = [r["problem"] for r in suites.read_jsonl(suites.data_dir() / "math/aime25/test.jsonl")]
    rows = [{"id": i, "problem": text, "answer": "0"} for i, text in enumerate(problems)]
    monkeypatch.setenv("OPEN_QWQ_DATA", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        DecontamError, match=r"aime25.*yentinglin/aime_2025@6f71d77b0b89.*python -m rl download"
    ):
        suites.decontaminator(["aime25"])
    monkeypatch.setitem(suites.HUB, "aime25", suites.HubSource(hub_copy(tmp_path, "aime25", rows), "train"))
    index = suites.decontaminator(["aime25"])
    assert index is not None and index.suite_of(f"Solve this: {problems[3]}") == "aime25"
    assert index.suite_of("Find the number of ordered pairs of primes whose sum is a perfect cube.") is None
