"""`metrics.jsonl`: one JSON object per logged step, written beside the run's checkpoints.

Each line holds `step` plus everything the trainer logged at that step (for GRPO: `reward`, `reward_std`,
`rewards/<name>/mean`, `rewards/<name>/failed`, `completions/mean_length`, `kl`, ...). On resume the lines
past the checkpoint's step are dropped first, so a killed-and-restarted run has one line per step.
The wandb completions table is TRL's own (`log_completions`), switched on by rl.train with wandb.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from verifiers.jsonl import read_jsonl

METRICS_FILE = "metrics.jsonl"


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
        # Resumed (global_step > 0) or restarted from scratch (0): keep only lines up to where training resumes.
        kept = [row for row in read_metrics(self.path) if row.get("step", 0) <= state.global_step]
        self.path.write_text("".join(json.dumps(row) + "\n" for row in kept))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        row = {"step": state.global_step, **{k: _jsonable(v) for k, v in logs.items() if _scalar(v)}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")


def _scalar(value: Any) -> bool:
    return isinstance(value, int | float | str | bool) or value is None or hasattr(value, "item")
