"""The completions table of a logged step is a bounded sample, not every completion of the step; the share of
GRPO groups with no reward spread is counted per group, whatever `scale_rewards` is."""

from __future__ import annotations

import pandas as pd
import pytest

from rl.train import run_stage
from tests.rl.tiny_recipe import SAY, tiny_stage1


def test_each_step_logs_a_bounded_sample_of_completions(tmp_path):
    from rl.smoke.tiny import build_tiny

    tiny = build_tiny(tmp_path.parent / "tiny")
    recipe = tiny_stage1(
        tmp_path,
        tiny,
        SAY,
        [{"name": "format"}],
        {
            "max_steps": 2,
            "per_device_train_batch_size": 8,
            "num_generations": 4,
            "max_completion_length": 4,
            "log_completions": True,
            "save_strategy": "no",
            "activation_checkpointing": False,
        },
        wandb={"enabled": False, "completions_per_step": 4},
    )
    run_stage(recipe)
    tables = sorted((tmp_path / "run" / "completions").glob("*.parquet"))
    assert len(tables) == 2
    for table in tables:
        frame = pd.read_parquet(table)
        assert len(frame) == 4  # one group of 4 of the 8 completions the step generated
        assert frame["prompt"].astype(str).nunique() == 1


def test_a_resume_keeps_the_rows_up_to_its_checkpoint_and_drops_one_cut_short_by_the_kill(tmp_path):
    from transformers import TrainerState

    from rl.metrics import MetricsCallback, read_metrics

    path = tmp_path / "metrics.jsonl"
    path.write_text(
        '{"step": 1, "reward": 0.5}\n{"step": 2, "reward": 0.25}\n{"step": 3, "reward": 0.1}\n{"st'
    )
    metrics = MetricsCallback(tmp_path)
    metrics.on_train_begin(None, TrainerState(global_step=2), None)  # resumed from checkpoint-2
    metrics.on_log(None, TrainerState(global_step=3), None, logs={"reward": 1.0})
    assert read_metrics(tmp_path) == [
        {"step": 1, "reward": 0.5},
        {"step": 2, "reward": 0.25},
        {"step": 3, "reward": 1.0},
    ]


RIGHT, WRONG = "<think>\nadd\n</think>\n\n\\boxed{5}", "<think>\nadd\n</think>\n\n\\boxed{6}"


def test_zero_spread_is_counted_per_group_under_batch_scaling_where_trls_own_share_reads_zero(tmp_path):
    """Three groups of two: both right, one of each, both wrong. Two teach nothing, whatever the scaling."""
    from rl.metrics import ZERO_SPREAD
    from rl.smoke.tiny import build_tiny
    from rl.train import build_trainer

    tiny = build_tiny(tmp_path.parent / "tiny")
    rows = [{"prompt": "What is 2 + 3?", "task": "math", "answer": "5"}]
    training = {
        "max_steps": 1,
        "per_device_train_batch_size": 6,
        "num_generations": 2,
        "scale_rewards": "batch",
    }
    recipe = tiny_stage1(tmp_path, tiny, rows, [{"name": "math_accuracy"}], training)
    trainer = build_trainer(recipe)
    completions = [RIGHT, RIGHT, RIGHT, WRONG, WRONG, WRONG]
    inputs = [{"task": "math", "answer": "5"}] * 6
    prompts = [[{"role": "user", "content": "What is 2 + 3?"}]] * 6
    ids = [trainer.processing_class(c)["input_ids"] for c in completions]
    trainer._pending_metrics.clear()
    rewards = trainer._calculate_rewards(inputs, prompts, completions, ids)
    assert rewards[:, 0].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    assert trainer._pending_metrics[ZERO_SPREAD] == [pytest.approx(2 / 3)]


def test_a_group_spread_only_by_a_weight_zero_reward_or_by_unscored_rows_has_zero_spread():
    import torch

    from rl.metrics import zero_spread_fraction

    nan = float("nan")
    rewards = torch.tensor(
        [
            [1.0, 0.0],  # group 1: the weighted totals are equal (the second reward weighs 0)
            [1.0, 1.0],
            [1.0, nan],  # group 2: one row unscored by every reward, so one scored row is left
            [nan, nan],
            [0.0, nan],  # group 3: spread
            [1.0, nan],
        ]
    )
    assert zero_spread_fraction(rewards, torch.tensor([1.0, 0.0]), 2) == pytest.approx(2 / 3)
    assert zero_spread_fraction(rewards, torch.tensor([1.0, 1.0]), 2) == pytest.approx(1 / 3)
