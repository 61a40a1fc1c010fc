"""DAPO's dynamic sampling on TRL's GRPOTrainer: train on groups whose completions differ in reward.

A group whose completions all get one reward has zero advantage: it adds tokens to the loss's denominator and
nothing to its gradient. A pass-rate band (`rl filter`) removes such prompts before training, from an
estimate that goes stale as the policy learns and that drops prompts a K-sample estimate never saw solved.
DAPO (Yu et al. 2025, section 3.2) filters at training time instead: it keeps sampling until the batch is
made of groups with spread. TRL 1.16 has no such option, so `DynamicSampling`, mixed into the GRPO
trainer class (`dynamic_sampling_trainer`), wraps the one method that generates and scores a generation batch:

1. generate and score the batch as TRL does; each process marks its groups with spread;
2. while some process has fewer such groups than its batch holds, every process (in step: generation and
   scoring gather over processes) generates one more round for prompts drawn from the training data, the
   same draw on every process and each its own share, sized by the share of groups with spread so far;
3. each process keeps its first groups with spread, and after `max_rounds` rounds fills what is missing
   with its first groups without, so the batch TRL trains on keeps its shape.

Advantages are TRL's, computed within each round; with `scale_rewards: batch` they are computed again over
the batch as trained (a round's std is its own). Logged per step: `dynamic_sampling/rounds`,
`dynamic_sampling/generated_per_trained` (groups generated per group trained: the cost) and
`dynamic_sampling/frac_trained_zero_std` (groups without spread that still reached the loss);
`frac_group_reward_zero_std` (rl.metrics) stays the share among all generated groups.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from rl.metrics import flat_groups, reward_totals
from rl.schema import RecipeError

# Left-padded keys (the prompt side); every other 2-D tensor is per completion token, right-padded.
_LEFT = {"prompt_ids", "prompt_mask"}
_PER_ROW = {
    "prompt_ids",
    "prompt_mask",
    "completion_ids",
    "completion_mask",
    "tool_mask",
    "advantages",
    "old_per_token_logps",
    "ref_per_token_logps",
    "sampling_per_token_logps",
    "importance_sampling_ratio",
    "reward_totals",  # ours, dropped before TRL sees the batch
}


def dynamic_sampling_trainer(base: type, max_rounds: int) -> type:
    """`base` (TRL's GRPOTrainer or a subclass) with dynamic sampling of up to `max_rounds` rounds a batch."""
    return type(f"DynamicSampling{base.__name__}", (DynamicSampling, base), {"max_rounds": max_rounds})


def check_groups_per_process(args: Any) -> None:
    """Each process regroups its own share of the generation batch, so that share must hold whole groups."""
    rows = args.per_device_train_batch_size * args.steps_per_generation
    if rows % args.num_generations:
        raise RecipeError(
            f"dynamic_sampling needs whole groups on each process: per_device_train_batch_size x "
            f"steps_per_generation = {rows} is not a multiple of num_generations = {args.num_generations}; "
            "change training.per_device_train_batch_size or training.gradient_accumulation_steps",
            key="dynamic_sampling.enabled",
        )


class DynamicSampling:
    """Mixin over GRPOTrainer: training batches hold only groups with reward spread (up to `max_rounds`)."""

    max_rounds: int = 3
    # what GRPOTrainer provides
    accelerator: Any
    args: Any
    state: Any
    model: Any
    num_generations: int
    reward_weights: torch.Tensor
    train_dataset: Any
    processing_class: Any
    scale_rewards: str
    multi_objective_aggregation: str
    _metrics: Any

    def _calculate_rewards(
        self, inputs: Any, prompts: Any, completions: Any, completion_ids_list: Any
    ) -> Any:
        rewards = super()._calculate_rewards(  # type: ignore[misc]
            inputs, prompts, completions, completion_ids_list
        )
        self._round_rewards = rewards  # gathered over processes: every rank sees every group
        return rewards

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        first = super()._generate_and_score_completions(inputs)  # type: ignore[misc]
        if not self.model.training or self.max_rounds <= 1:
            return first
        group = self.num_generations
        need = len(inputs) // group
        rounds = [(first, self._spread(first, len(inputs)))]
        for r in range(1, self.max_rounds):
            kept = sum(int(s.sum()) for _, s in rounds)
            short = self._global_max(need - kept)
            if short <= 0:
                break
            made = sum(len(s) for _, s in rounds) * self.accelerator.num_processes
            rate = self._global(kept) / made  # the share of groups with spread so far, alike on every rank
            extra = self._draw(min(need, math.ceil(short / max(rate, 1 / need))), r)
            scored = super()._generate_and_score_completions(extra)  # type: ignore[misc]
            rounds.append((scored, self._spread(scored, len(extra))))
        batch, flat = _select(rounds, need, group, self.processing_class.pad_token_id)
        totals = batch.pop("reward_totals")
        if self.scale_rewards == "batch" and self.multi_objective_aggregation == "sum_then_normalize":
            batch["advantages"] = self._batch_advantages(totals)
        loss_mask = batch["completion_mask"] * batch.get("tool_mask", 1)
        batch["num_items_in_batch"] = self.accelerator.gather(loss_mask.sum()).sum()
        metrics = self._metrics["train"]
        metrics["dynamic_sampling/rounds"].append(float(len(rounds)))
        metrics["dynamic_sampling/generated_per_trained"].append(sum(len(s) for _, s in rounds) / need)
        metrics["dynamic_sampling/frac_trained_zero_std"].append(
            self._global(flat) / (need * self.accelerator.num_processes)
        )
        return batch

    def _spread(self, scored: dict[str, Any], rows: int) -> torch.Tensor:
        """This process's groups of the round just scored: True where the completions' rewards differ. Its
        rows' total rewards go into `scored` (for `_batch_advantages`)."""
        totals = reward_totals(self._round_rewards, self.reward_weights)
        flat = flat_groups(totals, self.num_generations)
        start = self.accelerator.process_index * rows
        scored["reward_totals"] = totals[start : start + rows].to(scored["advantages"].device)
        return ~flat[start // self.num_generations : (start + rows) // self.num_generations]

    def _batch_advantages(self, totals: torch.Tensor) -> torch.Tensor:
        """TRL's advantages with `scale_rewards: batch` (sum_then_normalize), over the batch as trained: each
        round was scaled by its own batch's std, and a small extra round's std is not the batch's."""
        from trl.trainer.utils import nanstd

        group = self.num_generations
        mean = torch.nanmean(totals.view(-1, group), dim=1).repeat_interleave(group)
        std = nanstd(self.accelerator.gather(totals))
        return torch.nan_to_num((totals - mean) / (std + 1e-4), nan=0.0)

    def _draw(self, groups: int, round_: int) -> list[dict[str, Any]]:
        """`groups` prompts per process for round `round_`: one draw shared by all processes (same seed),
        so each takes its own slice; seeded by the step, so a resumed run draws the same prompts."""
        data = self.train_dataset
        total = groups * self.accelerator.num_processes
        seed = (self.args.seed * 1_000_003 + self.state.global_step) * 101 + round_
        gen = torch.Generator().manual_seed(seed)
        if total <= len(data):
            picks = torch.randperm(len(data), generator=gen)[:total]
        else:
            picks = torch.randint(len(data), (total,), generator=gen)
        mine = picks[self.accelerator.process_index * groups : (self.accelerator.process_index + 1) * groups]
        return [data[int(i)] for i in mine for _ in range(self.num_generations)]

    def _global(self, value: int) -> int:
        return int(self.accelerator.gather(torch.tensor([value], device=self.accelerator.device)).sum())

    def _global_max(self, value: int) -> int:
        return int(self.accelerator.gather(torch.tensor([value], device=self.accelerator.device)).max())


def _select(
    rounds: list[tuple[dict[str, Any], torch.Tensor]], need: int, group: int, pad_id: int
) -> tuple[dict[str, Any], int]:
    """The first `need` groups with spread over the rounds, filled with the first ones without; and how many
    of those fills there are. Tensors of different widths are padded to the widest (prompts on the left)."""
    chosen: list[tuple[int, int]] = [(r, g) for r, (_, s) in enumerate(rounds) for g in range(len(s)) if s[g]]
    flat = max(0, need - len(chosen))
    chosen = (
        chosen[:need] + [(r, g) for r, (_, s) in enumerate(rounds) for g in range(len(s)) if not s[g]][:flat]
    )
    chosen.sort()
    first = rounds[0][0]
    unknown = set(first) - _PER_ROW - {"num_items_in_batch"}
    if unknown:
        raise ValueError(
            f"dynamic sampling cannot regroup the batch fields {sorted(unknown)} (multimodal inputs)"
        )
    batch: dict[str, Any] = {}
    for key in first:
        if key not in _PER_ROW:
            continue
        parts = []
        for r, (out, _) in enumerate(rounds):
            rows = [g * group + i for rr, g in chosen if rr == r for i in range(group)]
            if rows:
                parts.append(out[key][torch.tensor(rows, device=out[key].device)])
        batch[key] = _cat(parts, key, pad_id)
    return batch, flat


def _cat(parts: list[torch.Tensor], key: str, pad_id: int) -> torch.Tensor:
    if parts[0].dim() == 1 or len({p.shape[1] for p in parts}) == 1:
        return torch.cat(parts)
    width = max(p.shape[1] for p in parts)
    value = pad_id if key.endswith("_ids") else (1 if key == "tool_mask" else 0)
    padded = []
    for p in parts:
        pad = p.new_full((p.shape[0], width - p.shape[1]), value)
        padded.append(torch.cat([pad, p] if key in _LEFT else [p, pad], dim=1))
    return torch.cat(padded)
