"""rl.smoke.tasks: the bundled smoke tasks are disjoint, reproducible, and judged right by the real verifiers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rl.smoke.tasks import DATA_DIR, build_tasks, load_split, reference_completions, write_smoke_data

TASKS = ("math", "code", "ifeval")


def _key(row: dict) -> str:
    return json.dumps(row["prompt"], sort_keys=True)


@pytest.fixture(scope="module")
def answers() -> dict:
    return reference_completions()


@pytest.mark.parametrize("task", TASKS)
def test_train_and_held_out_splits_share_no_prompt(task: str) -> None:
    train = {_key(r) for r in load_split(task, "train")}
    test = {_key(r) for r in load_split(task, "test")}
    assert train and test and not train & test


def test_cold_start_and_preferences_use_no_held_out_prompt() -> None:
    held_out = {_key(r) for task in TASKS for r in load_split(task, "test")}
    assert not {_key(r) for r in load_split("sft", "train")} & held_out
    assert not {_key(r) for r in load_split("prefs", "train")} & held_out


def test_bundled_files_are_what_the_seed_generates(tmp_path: Path) -> None:
    write_smoke_data(tmp_path)
    for path in sorted(DATA_DIR.rglob("*.jsonl")):
        assert (tmp_path / path.relative_to(DATA_DIR)).read_text() == path.read_text(), path


def test_another_seed_gives_other_splits() -> None:
    a, b = build_tasks(0)["math"]["test"], build_tasks(1)["math"]["test"]
    assert {_key(r) for r in a} != {_key(r) for r in b}


def test_cold_start_reasons_carefully_and_follows_instructions_only_some_of_the_time() -> None:
    sft = load_split("sft", "train")
    math = [r["completion"][0]["content"] for r in sft if r["task"] == "math"]
    careful = sum("Let me compute" in c for c in math) / len(math)
    ifeval = [r["completion"][0]["content"] for r in sft if r["task"] == "ifeval"]
    follow = sum("follow the rule" in c for c in ifeval) / len(ifeval)
    assert 0.2 < careful < 0.5 and 0.2 < follow < 0.5


def test_ifeval_rows_use_real_ifeval_instruction_ids() -> None:
    from verifiers.rules.ifeval_checks import CHECKS

    for row in load_split("ifeval", "test") + load_split("ifeval", "train"):
        assert set(row["instruction_id_list"]) <= set(CHECKS)
        assert len(json.loads(row["kwargs"])) == len(row["instruction_id_list"])


def _pairs(task: str, answers: dict) -> Iterator[tuple[list[dict], list[str]]]:
    for split in ("train", "test"):
        rows = load_split(task, split)
        assert len(rows) == len(answers[task][split])
        yield rows, answers[task][split]


def _columns(rows: list[dict], names: tuple[str, ...]) -> dict[str, list]:
    return {n: [r[n] for r in rows] for n in names}


def test_math_verifier_accepts_every_reference_and_rejects_every_hasty_answer(answers: dict) -> None:
    from verifiers.math import math_reward

    for rows, pairs in _pairs("math", answers):
        cols = _columns(rows, ("answer",))
        assert math_reward([p[0] for p in pairs], **cols) == [1.0] * len(rows)
        assert math_reward([p[1] for p in pairs], **cols) == [0.0] * len(rows)


def test_ifeval_verifier_accepts_every_followed_and_rejects_every_ignored_instruction(answers: dict) -> None:
    from verifiers.rules.ifeval import ifeval_reward

    for rows, pairs in _pairs("ifeval", answers):
        cols = _columns(rows, ("instruction_id_list", "kwargs"))
        assert ifeval_reward([p[0] for p in pairs], **cols) == [1.0] * len(rows)
        assert ifeval_reward([p[1] for p in pairs], **cols) == [0.0] * len(rows)


def test_sandbox_passes_every_reference_program_and_fails_a_wrong_one(answers: dict) -> None:
    from sandbox import local_server
    from verifiers.code import code_reward

    with local_server() as url:
        old = os.environ.get("SANDBOX_URL")
        os.environ["SANDBOX_URL"] = url
        try:
            for rows, pairs in _pairs("code", answers):
                tests = [r["tests"] for r in rows]
                assert code_reward([p[0] for p in pairs], tests) == [1.0] * len(rows)
                assert code_reward([p[1] for p in pairs], tests) == [0.0] * len(rows)
        finally:
            if old is None:
                os.environ.pop("SANDBOX_URL")
            else:
                os.environ["SANDBOX_URL"] = old
