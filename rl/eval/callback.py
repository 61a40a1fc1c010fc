"""Evaluation during training: every saved checkpoint scored on the recipe's suites, logged with the trainer's
metrics as `eval/<suite>/pass@1`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rl.eval.evaluate import evaluate_suites, write_report

log = logging.getLogger("rl.eval.callback")


@functools.cache
def _eval_callback_class() -> type:
    """Built on first use: importing transformers' Trainer machinery costs seconds `rl eval --help` should not pay."""
    from transformers import TrainerCallback

    class EvalCallback(TrainerCallback):
        """Evaluate every saved checkpoint on `suites` and log `eval/<suite>/pass@1` with the trainer's metrics.

        The scores join the next log event (the trainer's own line in metrics.jsonl and wandb; the end-of-train
        summary for the last checkpoint), so this callback must run before the loggers: add it with `attach`.
        Each checkpoint keeps its completions and report in `checkpoint-N/eval/`. An evaluation that fails is
        logged as an error and does not stop training. It runs on the main process with transformers
        generation (a vLLM engine beside the trainer's would not fit); for a 32B model, evaluate the saved
        checkpoints with `python -m rl eval` on their own GPUs instead.
        """

        def __init__(
            self,
            suites: Sequence[str],
            *,
            limit: int | None = None,
            samples: int = 1,
            backend: str = "transformers",
            **eval_kwargs: Any,
        ):
            self.suites, self.limit, self.samples, self.backend = list(suites), limit, samples, backend
            self.eval_kwargs = eval_kwargs
            self.pending: dict[str, float] = {}
            self.history: dict[int, dict[str, dict[str, Any]]] = {}

        def attach(self, trainer: Any) -> EvalCallback:
            """Register first in the trainer's callbacks, ahead of the metrics.jsonl and wandb loggers."""
            trainer.callback_handler.callbacks.insert(0, self)
            return self

        def on_save(self, args, state, control, **kwargs):
            if not state.is_world_process_zero or not self.suites:
                return
            ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            try:
                report = evaluate_suites(
                    str(ckpt),
                    self.suites,
                    out_dir=ckpt / "eval" / "results",
                    limit=self.limit,
                    samples=self.samples,
                    backend=self.backend,
                    **self.eval_kwargs,
                )
            except Exception as e:
                log.error("evaluating %s failed (%s: %s); training goes on", ckpt, type(e).__name__, e)
                return
            write_report(ckpt / "eval" / "results.json", ckpt.name, report)
            self.history[state.global_step] = report
            self.pending.update(eval_metrics(report))

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.pending and logs is not None:
                logs.update(self.pending)
                if state.log_history:
                    state.log_history[-1].update(self.pending)
                self.pending = {}

    return EvalCallback


def eval_metrics(report: dict[str, dict[str, Any]]) -> dict[str, float]:
    """`eval/<suite>/pass@1` (and pass@k) for every suite that has a score, as logged during training."""
    return {
        f"eval/{suite}/{key}": float(value)
        for suite, result in report.items()
        for key, value in result.items()
        if key.startswith("pass@") and value is not None
    }


def __getattr__(name: str) -> Any:
    if name == "EvalCallback":
        return _eval_callback_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
