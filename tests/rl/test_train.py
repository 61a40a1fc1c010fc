"""Training stages end to end on the tiny model: SFT then a chained GRPO stage in-process, and
`python -m rl train` killed mid-run and started again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from rl.metrics import read_metrics
from rl.recipe import RecipeError, recipe_from_dict
from rl.train import last_checkpoint, run_stage

REPO = Path(__file__).resolve().parents[2]
TINY_TRAINING = {
    "per_device_train_batch_size": 4,
    "learning_rate": 1.0e-3,
    "gradient_checkpointing": False,
    "save_strategy": "steps",
    "dataloader_num_workers": 0,
}


def digit_share(completions, **kwargs):
    """A real text reward whose value differs between random completions: the share of digit characters."""
    return [sum(ch.isdigit() for ch in c) / max(1, len(c)) for c in completions]


def write_rows(path: Path) -> Path:
    rows = [
        {
            "prompt": [{"role": "user", "content": f"What is {i} + {j}?"}],
            "answer": str(i + j),
            "completion": f"<think>\n{i} + {j} = {i + j}\n</think>\n\n\\boxed{{{i + j}}}",
        }
        for i in range(4)
        for j in range(4)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from rl.smoke.tiny import build_tiny

    return build_tiny(tmp_path_factory.getbasetemp() / "tiny")


def stage_recipe(root: Path, data: Path, stage: str, trainer: str, model: dict, **training) -> dict:
    recipe = {
        "name": "t",
        "stage": stage,
        "trainer": trainer,
        "output_dir": str(root / stage),
        "model": {**model, "dtype": "float32"},
        "data": {"mixture": [{"source": f"local:{data}", "task": "math"}]},
        "wandb": {"enabled": False},
        "training": {**TINY_TRAINING, **training},
    }
    if trainer == "grpo":
        recipe["rewards"] = [{"name": "digits"}]
        recipe["training"] |= {"num_generations": 4, "max_completion_length": 12, "temperature": 1.0}
    return recipe


@pytest.fixture(scope="module")
def chained(tmp_path_factory, tiny):
    """stage0 (SFT, 2 steps) -> stage1 (GRPO from_stage stage0, 2 steps, wandb offline)."""
    root = tmp_path_factory.mktemp("runs")
    data = write_rows(root / "rows.jsonl")
    with pytest.MonkeyPatch.context() as mp:
        from rl import rewards

        mp.setitem(
            rewards.REGISTRY, "digits", rewards.Reward("digits", "tests.rl.test_train:digit_share", "test")
        )
        mp.setenv("WANDB_MODE", "offline")
        mp.delenv("WANDB_API_KEY", raising=False)
        sft = recipe_from_dict(
            stage_recipe(root, data, "stage0", "sft", {"name_or_path": str(tiny)}, max_steps=2)
        )
        run_stage(sft)
        grpo_raw = stage_recipe(
            root, data, "stage1", "grpo", {"from_stage": "stage0"}, max_steps=2, save_steps=1
        )
        grpo_raw["wandb"] = {"enabled": True}
        run_stage(recipe_from_dict(grpo_raw))
    return root


def weights(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def test_each_stage_leaves_a_loadable_final_model_at_its_run_dir_root(chained):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    for stage in ("stage0", "stage1"):
        AutoModelForCausalLM.from_pretrained(chained / stage)
        AutoTokenizer.from_pretrained(chained / stage)


def test_a_grpo_step_changes_the_parameters_it_started_from(chained):
    before, after = weights(chained / "stage0"), weights(chained / "stage1")
    changed = [name for name in before if not (before[name] == after[name]).all()]
    assert len(changed) > len(before) // 2


def test_the_sft_cold_start_changes_the_tiny_model(chained, tiny):
    before, after = weights(tiny), weights(chained / "stage0")
    assert any(not (before[n] == after[n]).all() for n in before)


def test_a_chained_stage_records_the_checkpoint_it_started_from(chained):
    saved = yaml.safe_load((chained / "stage1" / "recipe.yaml").read_text())
    assert saved["model"]["name_or_path"] == str(chained / "stage0")
    assert saved["model"]["from_stage"] == "stage0"


def test_grpo_metrics_hold_reward_reward_std_and_per_reward_mean_and_failures_every_step(chained):
    rows = [r for r in read_metrics(chained / "stage1") if "reward" in r]
    assert [r["step"] for r in rows] == [1, 2]
    for row in rows:
        assert {"reward", "reward_std", "rewards/digits/mean", "rewards/digits/failed"} <= row.keys()
        assert row["rewards/digits/failed"] == 0


def test_checkpoints_are_saved_as_trl_does_and_the_last_complete_one_is_found(chained):
    assert (chained / "stage1" / "checkpoint-1" / "trainer_state.json").is_file()
    assert last_checkpoint(chained / "stage1") == chained / "stage1" / "checkpoint-2"


def test_the_wandb_run_is_kept_offline_under_the_run_dir(chained):
    assert list((chained / "stage1" / "wandb").glob("offline-run-*"))
    assert list((chained / "stage1" / "completions").glob("*.parquet"))  # TRL's completions table


def test_a_chained_stage_card_names_the_model_the_chain_started_from(chained, tiny):
    card = (chained / "stage1" / "README.md").read_text()
    assert f"Fine-tuned from the local model `{tiny}`, through `t/stage0`" in card
    assert "None" not in card


def test_a_missing_dataset_is_one_error_line_and_exit_code_2(tmp_path, tiny, capsys, monkeypatch):
    from rl.train import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data = write_rows(tmp_path / "rows.jsonl")
    path = tmp_path / "r.yaml"
    path.write_text(
        yaml.safe_dump(stage_recipe(tmp_path, data, "stage0", "sft", {"name_or_path": str(tiny)}))
    )
    for source, says in (("local:no/such/rows", "not found"), ("someone/no-such-dataset", "HF_HUB_OFFLINE")):
        assert main([str(path), f"data.mixture.0.source={source}"]) == 2
        err = capsys.readouterr().err
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and source.removeprefix("local:") in errors[0] and says in errors[0], err
        assert "Traceback" not in err


def test_a_chained_stage_whose_predecessor_has_not_run_says_to_run_it_first(tmp_path, tiny):
    data = write_rows(tmp_path / "rows.jsonl")
    recipe = recipe_from_dict(
        stage_recipe(tmp_path, data, "stage2", "sft", {"from_stage": "stage1"}, max_steps=1)
    )
    with pytest.raises(RecipeError, match="run that stage first"):
        run_stage(recipe)


def test_a_cut_off_checkpoint_is_skipped_when_resuming(tmp_path):
    (tmp_path / "checkpoint-2").mkdir()
    (tmp_path / "checkpoint-2" / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-3").mkdir()  # killed while saving: no trainer_state.json yet
    assert last_checkpoint(tmp_path) == tmp_path / "checkpoint-2"


def test_a_run_killed_mid_way_resumes_from_its_checkpoint_and_ends_at_the_same_step(tmp_path, tiny):
    pytest.importorskip("verifiers.math", exc_type=ImportError).math_reward  # noqa: B018
    data = write_rows(tmp_path / "rows.jsonl")
    raw = stage_recipe(
        tmp_path, data, "stage1", "grpo", {"name_or_path": str(tiny)}, max_steps=8, save_steps=2
    )
    raw["rewards"] = [{"name": "math_accuracy"}]
    raw["wandb"] = {"mode": "offline", "log_completions": False}
    path = tmp_path / "stage1.yaml"
    path.write_text(yaml.safe_dump(raw))
    run_dir = tmp_path / "stage1"
    cmd = [sys.executable, "-m", "rl", "train", str(path)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "offline"}
    env.pop("WANDB_API_KEY", None)

    first = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while last_checkpoint(run_dir) is None and first.poll() is None:
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait()
    assert first.returncode == -signal.SIGKILL, "the first run ended before it could be killed"
    killed_at = int(last_checkpoint(run_dir).name.removeprefix("checkpoint-"))
    assert killed_at < 8 and not (run_dir / "model.safetensors").exists()

    second = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"from checkpoint-{killed_at}" in second.stderr
    state = json.loads((run_dir / "checkpoint-8" / "trainer_state.json").read_text())
    assert state["global_step"] == 8
    assert [r["step"] for r in read_metrics(run_dir) if "reward" in r] == list(range(1, 9))
    assert (run_dir / "model.safetensors").is_file()
    run_id = (run_dir / "wandb-run-id").read_text().strip()  # the restart continued the same wandb run
    assert [p.name.rsplit("-", 1)[1] for p in (run_dir / "wandb").glob("offline-run-*")] == [run_id, run_id]


WANDB_BASE = {
    "name": "t",
    "stage": "stage1",
    "model": "m",
    "data": {"mixture": [{"source": "local:x", "task": "math"}]},
    "rewards": [{"name": "format"}],
}


@pytest.mark.parametrize(
    ("api_key", "env_mode", "recipe_mode", "expected"),
    [
        (None, None, "auto", "offline"),
        (None, None, "online", "offline"),
        ("k", None, "auto", "online"),
        ("k", "offline", "auto", "offline"),
        ("k", None, "offline", "offline"),
        ("k", None, "disabled", "disabled"),
    ],
)
def test_wandb_is_offline_unless_an_api_key_is_set_and_nothing_says_offline(
    monkeypatch, api_key, env_mode, recipe_mode, expected
):
    from rl.train import wandb_mode

    for var, value in (("WANDB_API_KEY", api_key), ("WANDB_MODE", env_mode)):
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value)
    assert wandb_mode(recipe_from_dict({**WANDB_BASE, "wandb": {"mode": recipe_mode}})) == expected


def test_the_train_command_prints_the_resolved_recipe_with_overrides(tmp_path, capsys):
    from rl.train import main

    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(WANDB_BASE))
    assert main([str(path), "training.max_steps=7", "--print"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["training"] == {"max_steps": 7}


def test_the_train_command_reports_a_recipe_error_with_exit_code_2(tmp_path, capsys):
    from rl.train import main

    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(WANDB_BASE))
    assert main([str(path), "training.max_step=7"]) == 2
    assert "did you mean 'training.max_steps'" in capsys.readouterr().err


def test_settings_trl_rejects_are_a_recipe_error_naming_training():
    from rl.train import training_args

    recipe = recipe_from_dict(
        {**WANDB_BASE, "training": {"num_generations": 3, "per_device_train_batch_size": 4}}
    )
    with pytest.raises(RecipeError, match="GRPOConfig rejects") as info:
        training_args(recipe, use_wandb=False)
    assert info.value.key == "training"


def test_a_stage_leaves_the_wandb_environment_as_it_found_it(chained):
    assert os.environ.get("WANDB_DIR") != str((chained / "stage1").resolve())
