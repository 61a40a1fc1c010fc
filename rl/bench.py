"""`python -m rl bench`: time per GRPO step on the smoke recipe, split into generation, reward and optimisation.

Steps alternate, in one process, between the rewards as trained (rl.rewards: the slow reward functions
overlap) and the peer, TRL calling the same reward functions one after another (its synchronous path),
so both see the same model, data stream and machine load; each column is a median over --steps steps.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl.console import error
from rl.recipe import Recipe, RecipeError, load_recipe

if TYPE_CHECKING:
    from transformers import TrainerCallback

DEFAULT_RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "smoke" / "stage1.yaml"
PATHS = {
    "overlapped": "rewards overlapped (as trained)",
    "sequential": "peer: TRL calling rewards one by one",
}
PHASES = ("generation", "reward", "optimisation")


def timing_trainer_class() -> type:
    """GRPOTrainer that adds up, per optimizer step, the time spent generating and scoring."""
    from trl import GRPOTrainer

    class TimingGRPOTrainer(GRPOTrainer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.timings = {"generation": 0.0, "reward": 0.0}

        def _generate(self, prompts: list):
            start = time.perf_counter()
            try:
                return super()._generate(prompts)
            finally:
                self.timings["generation"] += time.perf_counter() - start

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            start = time.perf_counter()
            try:
                return super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            finally:
                self.timings["reward"] += time.perf_counter() - start

    return TimingGRPOTrainer


def step_times(trainer: Any, rows: list[dict[str, Any]]) -> TrainerCallback:
    """Per optimizer step: switch the reward path (even steps as trained, odd steps the peer), time it."""
    from transformers import TrainerCallback

    overlapped = list(trainer.reward_funcs)
    sequential = [getattr(f, "sync", f) for f in overlapped]  # the same functions, synchronous

    class StepTimes(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.mode = "overlapped" if state.global_step % 2 == 0 else "sequential"
            trainer.reward_funcs = overlapped if self.mode == "overlapped" else sequential
            trainer.timings.update(generation=0.0, reward=0.0)
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            step = time.perf_counter() - self.start
            row = {**trainer.timings, "step": step, "optimisation": step - sum(trainer.timings.values())}
            rows.append({"mode": self.mode, **row})

    return StepTimes()


def run(recipe: Recipe) -> dict[str, dict[str, float]]:
    """Train the recipe's steps, alternating reward paths; median timings per path, first two steps dropped."""
    from rl.train import build_trainer

    rows: list[dict[str, Any]] = []
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer = build_trainer(recipe, trainer_cls=timing_trainer_class())
    for noisy in (ProgressCallback, PrinterCallback):  # the benchmark prints its table, not training logs
        trainer.remove_callback(noisy)
    trainer.add_callback(step_times(trainer, rows))
    trainer.train()
    timed = rows[2:]  # warm-up: one step of each path
    return {
        mode: medians([{k: v for k, v in r.items() if k != "mode"} for r in timed if r["mode"] == mode])
        for mode in PATHS
    }


def prepare(recipe_path: Path, overrides: list[str], steps: int, workdir: Path) -> Recipe:
    """The recipe with a throwaway output dir, no checkpoints, eval or wandb, and a model that exists here."""
    model = load_recipe(recipe_path, overrides).model_path  # resolved against the recipe's own run dir
    hub_id = model.count("/") == 1 and not Path(model).exists()
    if not hub_id and not (Path(model) / "config.json").is_file():
        # the chained checkpoint is not there: time the same shapes on the tiny model
        from rl.smoke.tiny import build_tiny

        print(f"{model} not found: timing a fresh tiny model instead", file=sys.stderr)
        model = str(build_tiny(workdir / "tiny"))
    return load_recipe(
        recipe_path,
        [
            *overrides,
            f"model.name_or_path={model}",
            f"output_dir={workdir / 'run'}",
            f"training.max_steps={2 * steps + 2}",
            "training.save_strategy=no",
            "wandb.enabled=false",
            "evaluation.suites=[]",
        ],
    )


def medians(rows: list[dict[str, float]]) -> dict[str, float]:
    """Per-column medians: one-off stalls (a verifier pool starting, another process's burst) drop out.
    Optimisation is what the median step leaves after median generation and reward, so the row adds up."""
    out = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    if {"step", "generation", "reward"} <= out.keys():
        out["optimisation"] = out["step"] - out["generation"] - out["reward"]
    return out


def report(recipe_path: Path, model: str, steps: int, results: dict[str, dict[str, float]]) -> str:
    lines = [
        f"GRPO step on {recipe_path}, model {model}: median of {steps} steps per reward path (alternating steps)",
        f"  {'':<40}" + "".join(f"{p:>22}" for p in (*PHASES, "step")),
    ]
    for mode, label in PATHS.items():
        m = results[mode]
        cells = [f"{m[p]:8.3f} s ({100 * m[p] / m['step']:4.1f}%)" for p in PHASES]
        cells.append(f"{m['step']:8.3f} s")
        lines.append(f"  {label:<40}" + "".join(f"{c:>22}" for c in cells))
    ratio = results["sequential"]["reward"] / results["overlapped"]["reward"]
    lines.append(f"  reward time, peer / as trained: {ratio:.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rl bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--recipe", type=Path, default=DEFAULT_RECIPE, help="GRPO recipe (default: smoke stage1)"
    )
    parser.add_argument("--steps", type=int, default=5, help="timed steps per reward path (default 5)")
    parser.add_argument(
        "overrides", nargs="*", help="dotted recipe overrides, e.g. training.num_generations=8"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rl-bench-") as tmp, contextlib.ExitStack() as stack:
        try:
            recipe = prepare(args.recipe, args.overrides, args.steps, Path(tmp))
        except RecipeError as e:
            return error(e)
        if recipe.trainer != "grpo":
            return error(f"{args.recipe} is a {recipe.trainer} recipe; the benchmark times GRPO steps")
        if any(r.name == "code_execution" for r in recipe.rewards) and not (
            recipe.sandbox.url or os.environ.get("SANDBOX_URL")
        ):
            from sandbox import local_server

            recipe.sandbox.url = stack.enter_context(local_server())
        results = run(recipe)
    print(report(args.recipe, recipe.model_path, args.steps, results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
