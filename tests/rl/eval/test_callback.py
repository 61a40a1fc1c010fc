"""The evaluation hook: a recipe with `evaluation.suites` scores every saved checkpoint during training and
logs `eval/<suite>/pass@1` with the trainer's metrics (metrics.jsonl, wandb); `rl report` then shows them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rl.metrics import read_metrics
from rl.recipe import recipe_from_dict
from rl.report import main as report_main
from rl.train import run_stage


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from rl.smoke.tiny import build_tiny

    return build_tiny(tmp_path_factory.getbasetemp() / "tiny")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny) -> Path:
    root = tmp_path_factory.mktemp("evalhook")
    rows = [
        {
            "prompt": [{"role": "user", "content": f"What is {i} + {j}?"}],
            "completion": f"<think>\n{i} + {j} = {i + j}\n</think>\n\n\\boxed{{{i + j}}}",
        }
        for i in range(4)
        for j in range(2)
    ]
    data = root / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = recipe_from_dict(
        {
            "name": "hook",
            "stage": "stage0",
            "trainer": "sft",
            "output_dir": str(root / "stage0"),
            "model": {"name_or_path": str(tiny), "dtype": "float32"},
            "data": {"mixture": [{"source": f"local:{data}", "task": "math"}]},
            "wandb": {"enabled": False},
            "evaluation": {"suites": ["gsm8k", "ifeval"], "limit": 1, "samples": 1},
            "training": {
                "per_device_train_batch_size": 4,
                "max_steps": 2,
                "save_strategy": "steps",
                "save_steps": 1,
                "logging_steps": 1,
                "gradient_checkpointing": False,
                "dataloader_num_workers": 0,
            },
        }
    )
    return run_stage(recipe)


def test_every_saved_checkpoint_is_evaluated_and_keeps_its_report(run_dir):
    for step in (1, 2):
        report = json.loads((run_dir / f"checkpoint-{step}" / "eval" / "results.json").read_text())
        assert set(report) == {"gsm8k", "ifeval"}
        assert report["gsm8k"]["n"] == 1 and 0.0 <= report["gsm8k"]["pass@1"] <= 1.0
        assert (run_dir / f"checkpoint-{step}" / "eval" / "results" / "gsm8k.samples.jsonl").is_file()


def test_scores_reach_metrics_jsonl_on_the_trainers_own_lines(run_dir):
    rows = read_metrics(run_dir)
    with_eval = [r for r in rows if "eval/gsm8k/pass@1" in r]
    # checkpoint-1's scores join the step-2 log line; checkpoint-2's the end-of-training summary
    assert len(with_eval) == 2
    assert all("eval/ifeval/pass@1" in r for r in with_eval)
    assert all(0.0 <= r["eval/gsm8k/pass@1"] <= 1.0 for r in with_eval)
    assert all("loss" in r or "train_runtime" in r for r in with_eval)  # no line of their own


def test_report_shows_the_run_with_its_scores(run_dir, tmp_path):
    assert report_main([str(run_dir), "--out", str(tmp_path)]) == 0
    md = (tmp_path / "report.md").read_text()
    assert "gsm8k" in md and "ifeval" in md
    assert (tmp_path / "report.png").stat().st_size > 10_000
