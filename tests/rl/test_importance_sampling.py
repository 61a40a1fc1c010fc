"""The 32B recipes' vLLM importance-sampling correction is token-level truncation (TIS), and its ratio
reaches metrics.jsonl and wandb. vLLM needs a GPU, so its generation is stood in for by the trainer's own
model answering TRL's vLLM call (token ids in, sampled ids and their log-probabilities out)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rl.metrics import read_metrics
from rl.recipe import load_recipe
from rl.train import build_trainer
from tests.rl.tiny_recipe import SAY, tiny_stage1

REPO = Path(__file__).resolve().parents[2]
IS_KEYS = ("sampling/importance_sampling_ratio/mean", "sampling/sampling_logp_difference/mean")


class StandInVLLM:
    """TRL's `vllm_generation.generate`, answered with transformers sampling on the trainer's model."""

    def __init__(self, trainer) -> None:
        self.trainer = trainer

    def sync_weights(self) -> None:  # the stand-in samples from the trained weights themselves
        pass

    def generate(self, prompts, images, num_generations, profiler=None):
        import torch

        model, config = self.trainer.model, self.trainer.generation_config
        completions, logprobs = [], []
        with torch.no_grad():
            for ids in prompts:
                out = model.generate(
                    torch.tensor([ids]),
                    generation_config=config,
                    output_scores=True,
                    return_dict_in_generate=True,
                )
                tokens = out.sequences[0, len(ids) :].tolist()
                steps = [torch.log_softmax(s[0].float(), -1) for s in out.scores]
                completions.append(tokens)
                logprobs.append([[step[t].item()] for step, t in zip(steps, tokens, strict=True)])
        return None, completions, logprobs, None


def stand_in_trainer_class():
    from trl import GRPOTrainer

    class VLLMStandInTrainer(GRPOTrainer):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.use_vllm = True
            self.vllm_generation = StandInVLLM(self)
            self._last_loaded_step = -1

    return VLLMStandInTrainer


@pytest.mark.parametrize("stage", ["stage1", "stage2"])
def test_the_32b_recipes_use_token_level_truncated_importance_sampling(stage):
    training = load_recipe(REPO / "recipes" / "qwen2.5-32b" / f"{stage}.yaml").training
    assert training["vllm_importance_sampling_correction"] is True
    assert training["vllm_importance_sampling_mode"] == "token_truncate"
    assert training["vllm_importance_sampling_clip_max"] == 2.0


def test_the_importance_sampling_ratio_reaches_metrics_and_wandb(tmp_path, monkeypatch):
    from rl.smoke.tiny import build_tiny

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    tiny = build_tiny(tmp_path.parent / "tiny")
    recipe_is = {
        k: v
        for k, v in load_recipe(REPO / "recipes" / "qwen2.5-32b" / "stage1.yaml").training.items()
        if k.startswith("vllm_importance_sampling")
    }
    recipe = tiny_stage1(
        tmp_path,
        tiny,
        SAY[:4],
        [{"name": "format"}],
        {
            "max_steps": 1,
            "per_device_train_batch_size": 4,
            "num_generations": 4,
            "max_completion_length": 6,
            "save_strategy": "no",
            "activation_checkpointing": False,
            **recipe_is,
        },
        wandb={"mode": "offline", "log_completions": False},
    )
    trainer = build_trainer(recipe, trainer_cls=stand_in_trainer_class())
    trainer.train()
    import wandb

    wandb.finish()
    wandb.teardown()  # stops wandb's writer: its run file is complete afterwards
    (row,) = [r for r in read_metrics(tmp_path / "run") if "reward" in r]
    for key in IS_KEYS:
        assert row[key] is not None, key
    assert row["sampling/importance_sampling_ratio/max"] <= 2.0  # truncated at clip_max
    (history,) = (tmp_path / "run" / "wandb").glob("offline-run-*/run-*.wandb")
    assert all(key.encode() in history.read_bytes() for key in IS_KEYS)
