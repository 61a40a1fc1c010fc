"""`metrics.jsonl`: one JSON object per logged step, written beside the run's checkpoints.

Each line holds `step` plus everything the trainer logged at that step (for GRPO: `reward`, `reward_std`,
`rewards/<name>/mean`, `rewards/<name>/failed`, `completions/mean_length`, `kl`, ...). On resume the lines
past the checkpoint's step (and a line cut short by the kill) are dropped first, so a killed-and-restarted run
has one line per step (a run resumed at max_steps trains no further step: rl.checkpointing.EndAtMaxSteps).
The wandb completions table is TRL's own (`log_completions`), switched on by rl.train with wandb; TRL puts
every completion of the step in it and in `completions/completions_<step>.parquet` (384 chains of up to
16k tokens per step in the 32B recipe), so `bound_completion_logs` keeps a fixed-size sample instead.
`log_group_spread` adds `frac_group_reward_zero_std`: the share of GRPO groups whose completions all got the
same total reward (zero advantage: they teach nothing). TRL's own `frac_reward_zero_std` is that share only
under `scale_rewards: group`; under `batch` it asks whether the whole batch has one reward, and reads 0.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict, deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from verifiers.jsonl import read_jsonl

if TYPE_CHECKING:
    import torch

METRICS_FILE = "metrics.jsonl"
ZERO_SPREAD = "frac_group_reward_zero_std"


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a run's metrics.jsonl (`path` is the run dir or the file)."""
    path = Path(path)
    if path.is_dir():
        path = path / METRICS_FILE
    return read_jsonl(path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf; a reward that owned no row of the step logs NaN
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return value


class MetricsCallback(TrainerCallback):
    """Append each `on_log` record to `<run_dir>/metrics.jsonl` (main process only)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / METRICS_FILE

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero or not self.path.exists():
            return
        # Resumed (global_step > 0) or restarted from scratch (0): keep only lines up to where training
        # resumes, and drop a last line the killed run left cut short.
        rows = read_jsonl(self.path, skip_invalid=True)
        kept = [row for row in rows if row.get("step", 0) <= state.global_step]
        self.path.write_text("".join(json.dumps(row) + "\n" for row in kept))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        row = {"step": state.global_step, **{k: _jsonable(v) for k, v in logs.items() if _scalar(v)}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")


def bound_completion_logs(trainer: Any, rows: int) -> None:
    """Keep the last `rows` completions of each logged step (whole groups when `rows` is a multiple of
    num_generations) in TRL's completions table: the parquet file, the wandb table and the printed sample.

    TRL keeps the table in bounded deques sized to the generation batch; they are re-made with `rows`.
    """
    logs = getattr(trainer, "_logs", None)
    if not logs or rows <= 0:
        return
    for key in ("images", "prompt", "completion", "advantages"):
        logs[key] = deque(logs[key], maxlen=rows)
    for key in ("rewards", "extra"):
        columns: defaultdict[str, deque] = defaultdict(lambda: deque(maxlen=rows))
        columns.update({name: deque(values, maxlen=rows) for name, values in logs[key].items()})
        logs[key] = columns


def zero_spread_fraction(rewards_per_func: torch.Tensor, weights: torch.Tensor, group: int) -> float:
    """The share of groups (`group` consecutive rows) whose scored completions all have one total reward."""
    return float(flat_groups(reward_totals(rewards_per_func, weights), group).float().mean())


def reward_totals(rewards_per_func: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Each row's total reward as TRL sums it (weighted; None, NaN here, adds nothing); NaN when no reward
    scored the row."""
    import torch

    totals = (rewards_per_func * weights.to(rewards_per_func.device).unsqueeze(0)).nansum(dim=1)
    totals[torch.isnan(rewards_per_func).all(dim=1)] = torch.nan
    return totals


def flat_groups(totals: torch.Tensor, group: int) -> torch.Tensor:
    """Per group of `group` consecutive rows: True when its scored completions all have one total reward.

    `totals` are the rows' totals (`reward_totals`); a row that no reward scored (NaN) is left out of its
    group. A group with fewer than two scored rows has no spread.
    """
    import torch

    flat = []
    for values in totals.view(-1, group):
        scored = values[~torch.isnan(values)]
        flat.append(scored.numel() < 2 or bool(torch.isclose(scored, scored[0]).all()))
    return torch.tensor(flat, dtype=torch.bool)


def log_group_spread(trainer: Any) -> None:
    """Log `frac_group_reward_zero_std` every GRPO step, whatever `scale_rewards` is (see module doc).

    It reads the rewards where TRL computes them (`_calculate_rewards`, gathered over all processes, so
    every rank logs the same share) and logs through TRL's own reward-metric hook.
    """
    inner = trainer._calculate_rewards

    def calculate(inputs: Any, prompts: Any, completions: Any, completion_ids_list: Any) -> Any:
        rewards = inner(inputs, prompts, completions, completion_ids_list)
        training = trainer.model.training
        group = trainer.num_generations if training else trainer.num_generations_eval
        trainer._log_metric(ZERO_SPREAD, zero_spread_fraction(rewards, trainer.reward_weights, group))
        return rewards

    trainer._calculate_rewards = calculate


def _scalar(value: Any) -> bool:
    return isinstance(value, int | float | str | bool) or value is None or hasattr(value, "item")
