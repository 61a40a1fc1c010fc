"""`python -m rl data RECIPE [key=value ...]`: see a stage's training data before any GPU hour.

Loads and prepares the recipe's mixture exactly as `python -m rl train` does (adapters, drops, decontamination,
the prompt-length budget, the pass-rate band, rendering with the model's chat template) and prints, per
source, rows read, kept and dropped by reason. `--check-references` scores each source's own reference
answers (the math gold as a boxed answer, the code row's reference solution, the ground-truth tool calls)
with that source's training reward and flags a source whose references pass less than 95% of the time:
its rows would hand the policy wrong rewards. A sandbox is started for code rows when SANDBOX_URL is unset.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl.console import error, progress, quiet_libraries
from rl.filters import MIN_REFERENCE_PASS_RATE, DataReport, prompt_budget
from rl.recipe import Recipe, RecipeError, load_recipe

if TYPE_CHECKING:
    from datasets import Dataset

# The columns `--out` writes besides `prompt_text`, `task` and `source`: what the rewards read.
REWARD_COLUMNS = ("answer", "tests", "instruction_id_list", "kwargs", "tools", "ground_truth", "id")


def use_local_copies(recipe: Recipe, root: Path) -> dict[str, str]:
    """Point every hub source at `root/<owner>/<name>` (JSONL shaped like the hub rows) when that exists;
    returns `{local source: hub id}` for the sources it replaced."""
    replaced = {}
    for src in recipe.data.mixture:
        if src.source.startswith("local:"):
            continue
        if (root / src.source).exists() or (root / f"{src.source}.jsonl").exists():
            replaced[f"local:{root / src.source}"] = src.source
            src.source = f"local:{root / src.source}"
    return replaced


def load_tokenizer(recipe: Recipe, path: str | None) -> Any:
    from transformers import AutoTokenizer

    from rl.pins import ModelNotFoundError, locate_model

    name = path or recipe.model_path
    try:
        locate_model(
            name, None if path else recipe.model.revision, "--tokenizer" if path else "model.name_or_path"
        )
    except ModelNotFoundError as e:
        hint = "" if path else "; or pass --tokenizer PATH (a local model directory with the chat template)"
        raise RecipeError(f"{e}{hint}", key=None if path else "model.name_or_path") from None
    try:
        return AutoTokenizer.from_pretrained(name, revision=None if path else recipe.model.revision)
    except (OSError, ValueError) as e:
        raise RecipeError(
            f"cannot load the tokenizer of {name} ({type(e).__name__}): pass --tokenizer PATH "
            "(any local model directory whose chat template you train with)"
        ) from e


@contextlib.contextmanager
def sandbox_url() -> Iterator[str]:
    """SANDBOX_URL when set, else a local sandbox server for the duration of the block."""
    if os.environ.get("SANDBOX_URL"):
        yield os.environ["SANDBOX_URL"]
        return
    from sandbox import local_server

    with local_server() as url:
        os.environ["SANDBOX_URL"] = url
        try:
            yield url
        finally:
            os.environ.pop("SANDBOX_URL", None)


def task_rewards(recipe: Recipe) -> dict[str, list[Any]]:
    """`{task: [reward functions]}`: the recipe's verifier rewards that own each task (math_accuracy for
    math, code_execution for code, tool_call for tools, ifeval for ifeval), built as training builds them."""
    from rl.rewards import TASKS, build_rewards

    owners = [s for s in recipe.rewards if TASKS.get(s.name)]
    if not owners:
        return {}
    funcs, _ = build_rewards(_with_rewards(recipe, owners))
    out: dict[str, list[Any]] = defaultdict(list)
    for spec, fn in zip(owners, funcs, strict=True):
        for task in spec.tasks or TASKS[spec.name] or []:
            out[task].append(fn)
    return out


def all_pass(scores: list[list[float | None]]) -> list[bool]:
    """Per completion: every owning reward gave full marks (a None, a reward that could not score, fails)."""
    return [all(s is not None and s >= 1.0 for s in column) for column in zip(*scores, strict=True)]


def _with_rewards(recipe: Recipe, specs: list[Any]) -> Recipe:
    import copy

    clone = copy.copy(recipe)
    clone.rewards = specs
    return clone


REFERENCE_BATCH = 256  # rows per reward call: the bar moves, and each call still batches (sandbox, sympy)


def check_references(ds: Dataset, recipe: Recipe, report: DataReport) -> None:
    """Score each row's `reference` completion with its task's training reward(s); the pass rate per
    source goes into `report` (None for sources without references or without a verifier reward)."""
    from rl.rewards import call_sync

    rewards = task_rewards(recipe)
    rows = [r for r in ds if r.get("reference") is not None and rewards.get(r["task"])]
    needs_sandbox = any(r["task"] == "code" for r in rows)
    passed: dict[str, list[bool]] = defaultdict(list)
    with sandbox_url() if needs_sandbox else contextlib.nullcontext():
        by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            by_task[r["task"]].append(r)
        with progress("checking references", len(rows), "row") as bar:
            for task, rows_of_task in by_task.items():
                for start in range(0, len(rows_of_task), REFERENCE_BATCH):
                    group = rows_of_task[start : start + REFERENCE_BATCH]
                    columns = {
                        k: [r.get(k) for r in group] for k in group[0] if k not in ("prompt", "reference")
                    }
                    columns["prompts"] = [r.get("prompt_messages") for r in group]
                    columns.pop("prompt_messages", None)
                    scores = [
                        call_sync(fn, [r["reference"] for r in group], **columns) for fn in rewards[task]
                    ]
                    for r, ok in zip(group, all_pass(scores), strict=True):
                        passed[r["source"]].append(ok)
                    bar.update(len(group))
    for name, results in passed.items():
        report.source(name).reference_pass_rate = round(sum(results) / len(results), 4)


def write_rows(ds: Dataset, path: Path) -> None:
    """The prepared rows as JSONL: `prompt_text` (the rendered prompt), `task`, `source`, reward columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for r in ds:
            out = {"prompt_text": r["prompt"], "task": r["task"], "source": r["source"]}
            out |= {k: r[k] for k in REWARD_COLUMNS if r.get(k) is not None}
            f.write(json.dumps(out, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rl data", description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help="recipe YAML, e.g. recipes/qwen2.5-32b/stage1.yaml")
    parser.add_argument("overrides", nargs="*", help="dotted overrides, e.g. data.mixture.0.max_samples=100")
    parser.add_argument("--out", type=Path, help="write the prepared rows as JSONL")
    parser.add_argument("--report", type=Path, help="write the per-source table as JSON")
    parser.add_argument(
        "--check-references",
        action="store_true",
        help="score each source's reference answers with its reward",
    )
    parser.add_argument(
        "--tokenizer", help="tokenizer (model dir) to render with; default the recipe's model"
    )
    parser.add_argument(
        "--local", type=Path, help="read hub sources from DIR/<owner>/<name>/<split>.jsonl (local copies)"
    )
    args = parser.parse_intermixed_args(argv)  # overrides may follow options
    quiet_libraries()  # datasets' bars per source and step off: one bar per phase instead (rl.console)
    try:
        recipe = load_recipe(args.recipe, args.overrides)
        local = use_local_copies(recipe, args.local) if args.local else {}
        missing = [s.source for s in recipe.data.mixture if not s.source.startswith("local:")]
        if args.local and missing:
            print(f"no local copy under {args.local} for: {', '.join(missing)} (hub)", file=sys.stderr)
        tokenizer = load_tokenizer(recipe, args.tokenizer)
        from rl.data import load_training_data
        from rl.pass_rates import check as check_pass_rates

        # a band estimated with another model is refused; other sampling settings are warned about
        check_pass_rates(recipe, tokenizer if args.tokenizer is None else None)

        report = DataReport()
        from rl.eval.suites import decontaminator

        clean = decontaminator(recipe.data.decontaminate, recipe.data.decontaminate_ngram)
        train, evaluation = load_training_data(
            recipe.data,
            tokenizer,
            prompt_budget(recipe),
            report,
            args.check_references,
            clean,
            order_seed=recipe.training_seed,
            progress=True,
        )
    except (RecipeError, ValueError, FileNotFoundError) as e:  # DataError and DecontamError are ValueErrors
        return error(e)
    rows = train if evaluation is None else _concat(train, evaluation)
    if args.check_references:
        check_references(rows, recipe, report)
    report = DataReport({local.get(name, name): count for name, count in report.items()})  # hub ids
    print(report.table())
    low = [
        n
        for n, c in report.items()
        if c.reference_pass_rate is not None and c.reference_pass_rate < MIN_REFERENCE_PASS_RATE
    ]
    for name in low:
        print(
            f"LOW: {name}: only {report[name].reference_pass_rate:.1%} of its references pass its own reward"
        )
    if args.out:
        write_rows(rows, args.out)
        print(f"rows: {args.out} ({len(rows)})")
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return 1 if low else 0


def _concat(a: Dataset, b: Dataset) -> Dataset:
    from datasets import concatenate_datasets

    return concatenate_datasets([a, b])


if __name__ == "__main__":
    sys.exit(main())
