"""rl.smoke.pipeline: the whole pipeline, shortened (a few steps per stage, a small eval), leaves the run layout
`make smoke` promises. The learning claims themselves belong to `make smoke` and checks/smoke."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from rl.smoke.pipeline import STAGES, TASKS, claims, criteria, main


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("smoke")
    assert main(["--quick", "--out", str(out)]) == 0
    return out


def test_report_scores_every_checkpoint_on_every_task(smoke_run: Path) -> None:
    report = json.loads((smoke_run / "report.json").read_text())
    assert list(report) == list(STAGES)
    for scores in report.values():
        assert set(scores) == set(TASKS)
        assert all(0.0 <= v <= 1.0 for v in scores.values())


@pytest.mark.parametrize("stage", ["stage1", "stage2"])
def test_grpo_stages_log_a_wandb_table_of_sample_completions(smoke_run: Path, stage: str) -> None:
    tables = list(
        (smoke_run / stage / "wandb").glob("offline-run-*/files/media/table/completions_*.table.json")
    )
    assert tables, "no completions table in the wandb run"
    table = json.loads(tables[0].read_text())
    assert "completion" in table["columns"]


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_leaves_a_loadable_final_checkpoint_and_intermediate_ones(
    smoke_run: Path, stage: str
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = smoke_run / stage
    AutoModelForCausalLM.from_pretrained(run)
    assert AutoTokenizer.from_pretrained(run).eos_token == "<|im_end|>"
    assert list(run.glob("checkpoint-*/config.json"))
    assert list((run / "wandb").glob("offline-run-*")), "wandb offline run missing"


@pytest.mark.parametrize(
    ("stage", "rewards"),
    [
        ("stage1", {"math_accuracy", "code_execution"}),
        ("stage2", {"ifeval", "math_accuracy", "code_execution", "reward_model"}),
    ],
)
def test_grpo_stages_log_reward_and_every_reward_function_per_step(
    smoke_run: Path, stage: str, rewards: set[str]
) -> None:
    rows = [json.loads(line) for line in (smoke_run / stage / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "reward" in r] == [1, 2]
    keys = set().union(*rows)
    assert {"step", "reward", "reward_std"} <= keys
    assert {f"rewards/{name}/mean" for name in rewards} <= keys


def test_each_stage_starts_from_the_one_before(smoke_run: Path) -> None:
    resolved = {s: yaml.safe_load((smoke_run / s / "recipe.yaml").read_text()) for s in STAGES}
    assert resolved["stage0"]["model"]["name_or_path"] == str(smoke_run / "tiny")
    assert resolved["stage1"]["model"]["name_or_path"] == str(smoke_run / "stage0")
    assert resolved["stage2"]["model"]["name_or_path"] == str(smoke_run / "stage1")
    assert resolved["stage2"]["reward_model"]["path_or_url"] == str(smoke_run / "rm")


def test_each_success_criterion_is_named_with_its_numbers_and_whether_it_holds() -> None:
    good = {"stage0": {"math": 0.1, "ifeval": 0.1}, "stage1": {"math": 0.8, "ifeval": 0.1}}
    checks = criteria({**good, "stage2": {"math": 0.78, "ifeval": 0.9}})
    assert [ok for _, ok in checks] == [True, True, True]
    assert checks[0][0] == "stage 1 raises math over stage 0 (0.100 -> 0.800)"
    missed = claims({**good, "stage2": {"math": 0.7, "ifeval": 0.1}})
    assert len(missed) == 2 and "raises ifeval" in missed[0] and "keeps math within 0.05" in missed[1]
    assert (
        "raises math" in claims({**good, "stage1": {"math": 0.1, "ifeval": 0.1}, "stage2": good["stage1"]})[0]
    )


def test_the_run_draws_report_png_from_its_stages_and_held_out_scores(smoke_run: Path) -> None:
    png = (smoke_run / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_help_fits_a_screen(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert len(capsys.readouterr().out.splitlines()) < 25
