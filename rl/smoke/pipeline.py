"""`python -m rl smoke`: the whole QwQ-style recipe end to end on CPU, in minutes, with a tiny model.

stage 0 (cold-start SFT) -> stage 1 (GRPO: math verifier + code sandbox) -> reward model -> stage 2 (GRPO:
reward model + IFEval rules, stage-1 verifiers kept on), all through `rl.train.run_stage` with
recipes/smoke/*.yaml, the real verifiers and the real sandbox server; then every checkpoint is scored on
the held-out splits of the bundled tasks (greedy decoding) and `report.json` + a table are written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rl.recipe import Recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "smoke"
STAGES = ("stage0", "stage1", "stage2")
TASKS = ("math", "code", "ifeval")

# `--quick`: the same pipeline with a few steps per stage and a small eval (tests; not a learning claim).
QUICK = {
    "stage0": ["training.max_steps=4", "training.save_steps=2"],
    "stage1": ["training.max_steps=2", "training.save_steps=1", "training.max_completion_length=24"],
    "stage2": ["training.max_steps=2", "training.save_steps=1", "training.max_completion_length=24"],
}


def smoke_recipe(stage: str, out: Path, extra: list[str]) -> Recipe:
    """recipes/smoke/<stage>.yaml with its outputs under `out` (so stage chaining resolves there)."""
    from rl.recipe import load_recipe

    return load_recipe(RECIPES / f"{stage}.yaml", [f"output_dir={out / stage}", *extra])


def train_reward_model(base: Path, out: Path, quick: bool) -> tuple[Path, dict[str, Any]]:
    """A small reward model for stage 2, trained in seconds on the bundled preference pairs."""
    from rl.smoke.tasks import DATA_DIR
    from verifiers.reward_model.train import train

    report = train(
        model=str(base),
        dataset=str(DATA_DIR / "prefs" / "train.jsonl"),
        output_dir=str(out),
        epochs=1.0,
        max_steps=4 if quick else 60,
        learning_rate=1e-3,
        batch_size=16,
        max_length=128,
        eval_fraction=0.15,
        freeze_layers=0,
        seed=0,
    )
    return out, report


def evaluate(
    stage_dirs: dict[str, Path], limit: int | None, max_new_tokens: int, sandbox_url: str | None = None
) -> dict[str, dict[str, float]]:
    """Greedy pass@1 of every checkpoint on the held-out split of each smoke task."""
    from rl.eval.evaluate import evaluate_rows
    from rl.smoke.tasks import load_split

    report: dict[str, dict[str, float]] = {}
    for stage, path in stage_dirs.items():
        report[stage] = {}
        for task in TASKS:
            rows = load_split(task, "test")[:limit]
            res = evaluate_rows(
                str(path),
                rows,
                greedy=True,
                max_new_tokens=max_new_tokens,
                desc=f"{stage} {task}",
                sandbox_url=sandbox_url,
            )
            report[stage][task] = round(float(res["pass@1"] or 0.0), 4)
    return report


def print_report(report: dict[str, dict[str, float]], console: Any) -> None:
    from rich.table import Table

    table = Table(title="smoke: held-out pass@1 (greedy)")
    table.add_column("checkpoint")
    for task in TASKS:
        table.add_column(task, justify="right")
    for stage, scores in report.items():
        table.add_row(stage, *(f"{scores[t]:.3f}" for t in TASKS))
    console.print(table)


def criteria(report: dict[str, dict[str, float]]) -> list[tuple[str, bool]]:
    """The learning claims `make smoke` makes, each with the numbers it compares and whether it holds."""
    s0, s1, s2 = (report[s] for s in STAGES)
    return [
        (f"stage 1 raises math over stage 0 ({s0['math']:.3f} -> {s1['math']:.3f})", s1["math"] > s0["math"]),
        (
            f"stage 2 raises ifeval over stage 1 ({s1['ifeval']:.3f} -> {s2['ifeval']:.3f})",
            s2["ifeval"] > s1["ifeval"],
        ),
        (
            f"stage 2 keeps math within 0.05 of stage 1 ({s1['math']:.3f} -> {s2['math']:.3f})",
            s2["math"] >= s1["math"] - 0.05,
        ),
    ]


def claims(report: dict[str, dict[str, float]]) -> list[str]:
    """The learning claims that do not hold (empty when the smoke run learned what it should)."""
    return [text for text, ok in criteria(report) if not ok]


def plot_report(out: Path, stage_dirs: dict[str, Path]) -> Path | None:
    """`report.png` beside report.json: each reward per stage, losses, and the held-out scores."""
    from rl.report import find_runs, plot

    try:
        return plot(find_runs([out]), out / "report.png", heldout=out / "report.json")
    except (OSError, ValueError) as e:  # a picture that cannot be drawn does not fail the run
        print(f"warning: report.png not drawn: {e}", file=sys.stderr)
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rl smoke", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("runs/smoke"), help="run directory (default runs/smoke)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a few steps per stage and a small eval (for tests)"
    )
    parser.add_argument("--eval-limit", type=int, default=None, help="held-out rows per task (default all)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the tiny model and every stage (default 0)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: fast and reproducible)")
    args = parser.parse_args(argv)

    import torch
    from rich.console import Console

    from rl.smoke.tiny import build_tiny
    from rl.train import run_stage
    from sandbox import local_server

    console = Console(stderr=True)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    out = args.out
    for stage in (*STAGES, "rm"):  # a fresh run every time: the report describes this run only
        shutil.rmtree(out / stage, ignore_errors=True)
    (out / "report.json").unlink(missing_ok=True)
    started = time.time()
    console.rule("[bold]open-qwq smoke: tiny model, bundled tasks, real verifiers and sandbox")
    tiny = build_tiny(out / "tiny", seed=args.seed)
    console.print(f"tiny model: {tiny}")

    quick = args.quick
    limit = args.eval_limit if args.eval_limit is not None else (4 if quick else None)
    stage_dirs: dict[str, Path] = {}
    with local_server() as url:
        console.print(f"sandbox: {url}")
        for stage in STAGES:
            extra = [*(QUICK[stage] if quick else []), f"training.seed={args.seed}", f"sandbox.url={url}"]
            if stage == "stage0":
                extra.append(f"model.name_or_path={tiny}")
            if stage == "stage2":
                console.rule("reward model for stage 2")
                rm_dir, rm_report = train_reward_model(stage_dirs["stage0"], out / "rm", quick)
                console.print(
                    f"reward model: {rm_dir} (held-out pair accuracy {rm_report['held_out_accuracy']})"
                )
                extra.append(f"reward_model.path_or_url={rm_dir}")
            recipe = smoke_recipe(stage, out, extra)
            console.rule(f"{stage}: {recipe.trainer} from {recipe.model_path}")
            t0 = time.time()
            stage_dirs[stage] = run_stage(recipe)
            console.print(f"{stage} done in {time.time() - t0:.0f}s -> {stage_dirs[stage]}")
        console.rule("held-out evaluation")
        report = evaluate(stage_dirs, limit, max_new_tokens=48 if quick else 96, sandbox_url=url)

    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print_report(report, Console())
    console.print(f"report: {out / 'report.json'}  ({time.time() - started:.0f}s in all)")
    image = plot_report(out, stage_dirs)
    if image is not None:
        console.print(f"curves and scores: {image}")
    checks = criteria(report)
    for text, ok in checks:
        console.print(f"{'[green]PASS' if ok else '[red]FAIL'}[/]  {text}")
    bad = [text for text, ok in checks if not ok]
    if quick:
        console.print("(--quick: a few steps per stage; these criteria are not expected to pass)")
    return 1 if bad and not quick else 0


if __name__ == "__main__":
    sys.exit(main())
