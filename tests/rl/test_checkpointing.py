"""A stage saves before a time-limit requeue and leaves a final model that loads, whatever trained it."""

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

from rl.checkpointing import EXIT_REQUEUE, STOP_FILE_ENV, StoppedForRequeue
from rl.metrics import read_metrics
from rl.recipe import recipe_from_dict
from rl.train import last_checkpoint, run_stage

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from rl.smoke.tiny import build_tiny

    return build_tiny(tmp_path_factory.getbasetemp() / "tiny")


def recipe_dict(tmp_path: Path, model: Path, trainer: str = "grpo", **training) -> dict:
    rows = [
        {
            "prompt": [{"role": "user", "content": f"What is {i} + {j}?"}],
            "completion": [{"role": "assistant", "content": f"<think>\n{i} + {j}\n</think>\n\n{i + j}"}],
            "answer": str(i + j),
        }
        for i in range(4)
        for j in range(4)
    ]
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    raw = {
        "name": "t",
        "stage": "stage1",
        "trainer": trainer,
        "output_dir": str(tmp_path / "run"),
        "model": {"name_or_path": str(model), "dtype": "float32"},
        "data": {"mixture": [{"source": f"local:{data}", "task": "math"}]},
        "wandb": {"enabled": False},
        "training": {
            "per_device_train_batch_size": 4,
            "save_strategy": "steps",
            "save_steps": 1000,  # no periodic checkpoint: only the stop request saves one
            "activation_checkpointing": False,
            **training,
        },
    }
    if trainer == "grpo":
        raw["rewards"] = [{"name": "format"}]
        raw["training"] |= {"num_generations": 4, "max_completion_length": 8}
    return raw


def test_sigusr1_saves_a_checkpoint_stops_and_the_next_run_resumes_there(tmp_path, tiny, capsys):
    raw = recipe_dict(tmp_path, tiny, max_steps=40)
    path = tmp_path / "stage1.yaml"
    path.write_text(yaml.safe_dump(raw))
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "rl", "train", str(path)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    first = subprocess.Popen(cmd, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while first.poll() is None and time.monotonic() < deadline:
            if (run_dir / "metrics.jsonl").exists() and any("reward" in r for r in read_metrics(run_dir)):
                break
            time.sleep(0.1)
        first.send_signal(signal.SIGUSR1)  # what the sbatch script's stop request stands for
        _, err = first.communicate(timeout=120)
    finally:
        first.kill()
    assert first.returncode == EXIT_REQUEUE, err[-2000:]
    stopped = last_checkpoint(run_dir)
    assert stopped is not None, "no checkpoint saved on the signal"
    at = int(stopped.name.removeprefix("checkpoint-"))
    assert 1 <= at < 40 and not (run_dir / "config.json").exists()  # not mistaken for a finished stage
    assert f"stopped at step {at}" in err

    raw["training"]["max_steps"] = at + 1  # the requeued job, run here in-process
    run_stage(recipe_from_dict(raw))
    assert f"from checkpoint-{at}" in capsys.readouterr().err
    assert [r["step"] for r in read_metrics(run_dir) if "reward" in r][-2:] == [at, at + 1]
    assert (run_dir / "config.json").is_file()


def test_the_stop_file_makes_every_step_end_in_a_checkpoint_and_a_stop(tmp_path, tiny, monkeypatch):
    stop = tmp_path / "stop"
    stop.touch()  # asked before the first step ends: stop after step 1
    monkeypatch.setenv(STOP_FILE_ENV, str(stop))
    with pytest.raises(StoppedForRequeue) as info:
        run_stage(recipe_from_dict(recipe_dict(tmp_path, tiny, max_steps=5)))
    assert info.value.step == 1
    assert last_checkpoint(tmp_path / "run") == tmp_path / "run" / "checkpoint-1"


def test_a_lora_stage_leaves_a_merged_model_that_loads_without_peft(tmp_path, tiny):
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    raw = recipe_dict(tmp_path, tiny, trainer="sft", max_steps=1, learning_rate=1e-2)
    raw["model"]["lora"] = {"r": 4, "lora_alpha": 8, "target_modules": "all-linear"}
    run_dir = run_stage(recipe_from_dict(raw))
    model = AutoModelForCausalLM.from_pretrained(run_dir)  # what stage 2 and vLLM load
    assert not any("lora" in name for name, _ in model.named_parameters())
    base, merged = load_file(str(tiny / "model.safetensors")), load_file(str(run_dir / "model.safetensors"))
    name = "model.layers.0.self_attn.q_proj.weight"
    assert not (base[name] == merged[name]).all()  # the adapter's update is in the weights
    assert (run_dir / "adapter" / "adapter_config.json").is_file()


def test_a_sharded_fsdp_setting_is_switched_to_a_full_state_dict_for_the_final_save():
    from accelerate.utils import FullyShardedDataParallelPlugin
    from torch.distributed.fsdp import StateDictType

    from rl.checkpointing import full_state_dict_for_final_save

    plugin = FullyShardedDataParallelPlugin(fsdp_version=2, state_dict_type="SHARDED_STATE_DICT")
    full_state_dict_for_final_save(plugin)
    assert plugin.state_dict_type == StateDictType.FULL_STATE_DICT


def test_a_run_killed_after_its_last_checkpoint_trains_no_step_past_the_end_on_resume(tmp_path, tiny, capsys):
    """Killed between checkpoint-N (N = max_steps) and its final save, the rerun resumes there: transformers
    would train step N+1 (it looks at max_steps only after a step); the stage writes its final model instead."""
    raw = recipe_dict(tmp_path, tiny, max_steps=1, save_steps=1)
    run_dir = run_stage(recipe_from_dict(raw))
    for name in ("config.json", "model.safetensors"):
        (run_dir / name).unlink()  # what a kill before the final save leaves
    capsys.readouterr()

    run_stage(recipe_from_dict(raw))
    assert [r["step"] for r in read_metrics(run_dir) if "reward" in r] == [1]
    assert [p.name for p in run_dir.glob("checkpoint-*")] == ["checkpoint-1"]
    assert "checkpoint-1 is the last step" in capsys.readouterr().err
    assert (run_dir / "config.json").is_file() and (run_dir / "model.safetensors").is_file()
