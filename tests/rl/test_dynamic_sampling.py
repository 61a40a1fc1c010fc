"""Dynamic sampling (rl.dynamic_sampling) on the real TRL trainer and the tiny model: half the prompts get one
reward whatever the model writes (their groups teach nothing); with dynamic sampling none of them reaches the
loss, in one process and in two gloo ranks; without it they do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import torch

from rl.dynamic_sampling import _select
from rl.metrics import read_metrics
from rl.recipe import RecipeError, recipe_from_dict

REPO = Path(__file__).resolve().parents[2]
FLAT = "Say nothing"  # the prompts whose groups have no spread


def shaped(completions, answer, **kwargs):
    """0.5 for every completion of a `flat` row (no spread); for the others a value that differs between any
    two different completions (spread unless all of a group's completions are the same text)."""
    return [
        0.5 if a == "flat" else zlib.crc32(c.encode()) / 2**32
        for c, a in zip(completions, answer, strict=True)
    ]


def write_rows(path: Path) -> Path:
    rows = []
    for i in range(12):
        rows.append({"prompt": [{"role": "user", "content": f"What is {i} + 7?"}], "answer": str(i + 7)})
        rows.append({"prompt": [{"role": "user", "content": f"{FLAT} {i}."}], "answer": "flat"})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def recipe(root: Path, tiny: Path, enabled: bool, **training) -> dict:
    return {
        "name": "t",
        "stage": "stage1",
        "output_dir": str(root / "stage1"),
        "model": {"name_or_path": str(tiny), "dtype": "float32"},
        "data": {"mixture": [{"source": f"local:{write_rows(root / 'rows.jsonl')}", "task": "math"}]},
        "rewards": [{"name": "shaped"}],
        "wandb": {"enabled": False},
        "dynamic_sampling": {"enabled": enabled, "max_rounds": 8},
        "training": {
            "per_device_train_batch_size": 8,
            "num_generations": 4,
            "max_completion_length": 8,
            "max_steps": 4,
            "learning_rate": 1e-4,
            "activation_checkpointing": False,
            "save_strategy": "no",
            "dataloader_num_workers": 0,
            "seed": 3,
            **training,
        },
    }


def recorder(out: Path) -> type:
    """TRL's GRPOTrainer writing each batch that reaches the loss (prompts, advantages) to `out`."""
    from trl import GRPOTrainer

    class Recorder(GRPOTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            decode = self.processing_class.batch_decode
            seen = {
                "prompts": decode(inputs["prompt_ids"], skip_special_tokens=True),
                "completions": decode(inputs["completion_ids"], skip_special_tokens=True),
                "advantages": inputs["advantages"].tolist(),
            }
            with out.open("a") as f:
                f.write(json.dumps(seen) + "\n")
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    return Recorder


def trained(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from rl.smoke.tiny import build_tiny

    return build_tiny(tmp_path_factory.getbasetemp() / "tiny")


@pytest.fixture
def shaped_reward(monkeypatch):
    from rl import rewards

    monkeypatch.setitem(
        rewards.REGISTRY, "shaped", rewards.Reward("shaped", "tests.rl.test_dynamic_sampling:shaped", "test")
    )


def train_in_process(root: Path, tiny: Path, enabled: bool, **training) -> list[dict]:
    from rl.train import build_trainer

    out = root / "trained.jsonl"
    raw = recipe(root, tiny, enabled, **training)
    trainer = build_trainer(recipe_from_dict(raw), trainer_cls=recorder(out))
    trainer.train()
    return trained(out)


def test_with_dynamic_sampling_no_group_without_spread_reaches_the_loss(tmp_path, tiny, shaped_reward):
    batches = train_in_process(tmp_path, tiny, enabled=True)
    assert len(batches) == 4 and all(len(b["prompts"]) == 8 for b in batches)  # TRL's batch shape kept
    prompts = [p for b in batches for p in b["prompts"]]
    assert not [p for p in prompts if FLAT in p]
    assert all(any(a != 0 for a in b["advantages"]) for b in batches)
    rows = [r for r in read_metrics(tmp_path / "stage1") if "dynamic_sampling/rounds" in r]
    assert len(rows) == 4 and max(r["dynamic_sampling/rounds"] for r in rows) > 1  # it had to sample again
    assert all(r["dynamic_sampling/generated_per_trained"] >= 1 for r in rows)
    assert max(r["dynamic_sampling/generated_per_trained"] for r in rows) > 1
    assert all(r["dynamic_sampling/frac_trained_zero_std"] == 0 for r in rows)
    assert max(r["frac_group_reward_zero_std"] for r in rows) > 0  # the generated groups had no-spread ones


def test_without_it_groups_without_spread_reach_the_loss(tmp_path, tiny, shaped_reward):
    batches = train_in_process(tmp_path, tiny, enabled=False)
    assert [p for b in batches for p in b["prompts"] if FLAT in p]  # the control: the same data, half flat


def test_with_batch_scaling_advantages_are_scaled_over_the_batch_as_trained(tmp_path, tiny, shaped_reward):
    """`scale_rewards: batch` divides by the std of the whole batch; a batch made of several rounds must get
    the std of the rows it trains on, not each round's own (a round of one group has a much smaller one)."""
    batches = train_in_process(tmp_path, tiny, enabled=True, scale_rewards="batch")
    rows = [r for r in read_metrics(tmp_path / "stage1") if "dynamic_sampling/rounds" in r]
    assert max(r["dynamic_sampling/rounds"] for r in rows) > 1
    checked = 0
    for b in batches:
        answers = ["flat" if FLAT in p else "" for p in b["prompts"]]
        totals = torch.tensor(shaped(b["completions"], answers))  # the reward again, from the trained text
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(b["prompts"]):
            groups.setdefault(p, []).append(i)
        if any(len(rows) != 4 for rows in groups.values()):
            continue  # a prompt drawn twice into one batch: its two groups cannot be told apart here
        mean = torch.empty_like(totals)
        for rows in groups.values():
            mean[rows] = totals[rows].mean()
        expected = (totals - mean) / (totals.std() + 1e-4)
        assert torch.allclose(torch.tensor(b["advantages"]), expected, atol=1e-4), (b, expected)
        checked += 1
    assert checked >= 3


def test_two_ranks_sample_again_in_step_and_train_only_on_spread(tmp_path, tiny):
    """Two CPU processes over gloo, launched as the cluster launcher launches them on CPU: each regroups its own share, and a rank with enough groups still generates
    while another samples again (generation and scoring gather over ranks): no hang, no flat group."""
    from sandbox import free_port

    path = tmp_path / "stage1.yaml"
    import yaml

    path.write_text(yaml.safe_dump(recipe(tmp_path, tiny, enabled=True, per_device_train_batch_size=4)))
    cmd = [
        *(sys.executable, "-m", "accelerate.commands.launch", "--config_file", "recipes/accelerate/ddp.yaml"),
        *("--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no"),
        *("--main_process_port", str(free_port()), __file__, str(path), str(tmp_path)),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [trained(tmp_path / f"trained-{k}.jsonl") for k in (0, 1)]
    assert [len(r) for r in ranks] == [4, 4]
    assert all(len(b["prompts"]) == 4 for r in ranks for b in r)
    assert not [p for r in ranks for b in r for p in b["prompts"] if FLAT in p]
    rows = [r for r in read_metrics(tmp_path / "stage1") if "dynamic_sampling/rounds" in r]
    assert max(r["dynamic_sampling/rounds"] for r in rows) > 1


def _select_rounds() -> list[tuple[dict, torch.Tensor]]:
    """Two scored rounds of 2 groups of 2 rows, of different prompt and completion widths."""
    first = {
        "prompt_ids": torch.tensor([[1, 2], [1, 2], [3, 4], [3, 4]]),
        "prompt_mask": torch.ones(4, 2, dtype=torch.long),
        "completion_ids": torch.tensor([[5], [6], [7], [7]]),
        "completion_mask": torch.ones(4, 1, dtype=torch.long),
        "advantages": torch.tensor([1.0, -1.0, 0.0, 0.0]),
        "num_items_in_batch": torch.tensor(4),
    }
    second = {
        "prompt_ids": torch.tensor([[8], [8], [9], [9]]),
        "prompt_mask": torch.ones(4, 1, dtype=torch.long),
        "completion_ids": torch.tensor([[1, 1, 1], [1, 1, 1], [2, 3, 4], [5, 0, 0]]),
        "completion_mask": torch.tensor([[1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 0, 0]]),
        "advantages": torch.tensor([0.0, 0.0, 0.5, -0.5]),
        "num_items_in_batch": torch.tensor(10),
    }
    return [(first, torch.tensor([True, False])), (second, torch.tensor([False, True]))]


def test_select_keeps_the_groups_with_spread_and_pads_prompts_left_and_completions_right():
    batch, flat = _select(_select_rounds(), need=2, group=2, pad_id=0)
    assert flat == 0
    assert batch["prompt_ids"].tolist() == [[1, 2], [1, 2], [0, 9], [0, 9]]
    assert batch["prompt_mask"].tolist() == [[1, 1], [1, 1], [0, 1], [0, 1]]
    assert batch["completion_ids"].tolist() == [[5, 0, 0], [6, 0, 0], [2, 3, 4], [5, 0, 0]]
    assert batch["completion_mask"].tolist() == [[1, 0, 0], [1, 0, 0], [1, 1, 1], [1, 0, 0]]
    assert batch["advantages"].tolist() == [1.0, -1.0, 0.5, -0.5]


def test_select_fills_with_groups_without_spread_when_the_rounds_ran_out():
    rounds = _select_rounds()
    rounds[1] = (rounds[1][0], torch.tensor([False, False]))
    batch, flat = _select(rounds, need=2, group=2, pad_id=0)
    assert flat == 1
    assert batch["advantages"].tolist() == [
        1.0,
        -1.0,
        0.0,
        0.0,
    ]  # the first round's flat group, not the second's


def test_fields_it_cannot_regroup_are_refused():
    rounds = _select_rounds()
    rounds[0][0]["pixel_values"] = torch.zeros(4, 3)
    with pytest.raises(ValueError, match="pixel_values"):
        _select(rounds, need=2, group=2, pad_id=0)


def test_a_process_share_without_whole_groups_is_a_recipe_error():
    """TRL asks whole groups of the global batch only: with 2 processes, 4 rows each and groups of 8, a group
    spans both, and neither could tell which of its groups to keep."""
    from types import SimpleNamespace

    from rl.dynamic_sampling import check_groups_per_process

    shape = {"per_device_train_batch_size": 4, "steps_per_generation": 2}
    check_groups_per_process(SimpleNamespace(**shape, num_generations=8))
    with pytest.raises(RecipeError, match="whole groups") as e:
        check_groups_per_process(SimpleNamespace(**shape | {"steps_per_generation": 1}, num_generations=8))
    assert e.value.key == "dynamic_sampling.enabled"


def test_max_rounds_below_one_and_dynamic_sampling_in_an_sft_recipe_are_refused(tmp_path, tiny):
    raw = recipe(tmp_path, tiny, enabled=True)
    raw["dynamic_sampling"]["max_rounds"] = 0
    with pytest.raises(RecipeError, match="max_rounds"):
        recipe_from_dict(raw)
    sft = recipe(tmp_path, tiny, enabled=True)
    sft |= {"trainer": "sft", "rewards": []}
    sft["training"] = {"max_steps": 1}
    with pytest.raises(RecipeError, match="grpo only") as e:
        recipe_from_dict(sft)
    assert e.value.key == "dynamic_sampling"


def _ranks_main(recipe_path: str, out: str) -> None:
    """Under `accelerate launch` (the two-rank test): register the test reward, train, record per rank."""
    from rl import rewards
    from rl.recipe import load_recipe
    from rl.train import build_trainer

    rewards.REGISTRY["shaped"] = rewards.Reward("shaped", "tests.rl.test_dynamic_sampling:shaped", "test")
    rank = int(os.environ["RANK"])
    trainer = build_trainer(
        load_recipe(recipe_path), trainer_cls=recorder(Path(out) / f"trained-{rank}.jsonl")
    )
    trainer.train()


if __name__ == "__main__":
    _ranks_main(*sys.argv[1:])
