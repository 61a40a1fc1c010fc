"""`python -m rl <command>`: one entry point; each command is `module` (its `main(argv) -> int`) or
`module:function` taking the same argv."""

from __future__ import annotations

import importlib
import sys

from rl.console import error

COMMANDS = {
    "train": ("rl.train", "run one stage from a recipe: python -m rl train RECIPE.yaml [key=value ...]"),
    "data": (
        "rl.data_check",
        "load a recipe's data as training does: rows kept/dropped per source, references",
    ),
    "filter": (
        "rl.difficulty",
        "estimate each prompt's pass rate with a model, for a recipe's pass-rate band",
    ),
    "smoke": ("rl.smoke.pipeline", "stage 0 -> 1 -> 2 on CPU with a tiny model, then the report"),
    "eval": ("rl.eval.evaluate", "score a checkpoint on public benchmarks"),
    "report": ("rl.report", "training curves and eval scores of several runs, side by side"),
    "plot": ("rl.report:plot_main", "reward curves (total, std, each reward), length, KL of runs to a PNG"),
    "launch": (
        "rl.cluster.launch",
        "the cluster launch plan for a stage (--dry-run prints and validates it)",
    ),
    "preflight": ("rl.cluster.preflight", "check a cluster node before training"),
    "gpu-check": ("rl.cluster.gpu_check", "prove the GPU path on one GPU in minutes (make gpu-check)"),
    "download": (
        "rl.download",
        "fetch a job's model, reward model and datasets into the HF cache (login node)",
    ),
    "bench": ("rl.bench", "time per GRPO step split into generation, reward and optimisation"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: python -m rl <command> [args]  (each command takes --help)", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(usage(), file=sys.stderr)
        return error(f"unknown command {command!r}: choose one of the commands above")
    module_name, _, function = COMMANDS[command][0].partition(":")
    entry = getattr(importlib.import_module(module_name), function or "main")
    return int(entry(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
