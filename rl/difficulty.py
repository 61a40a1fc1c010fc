"""`python -m rl filter RECIPE --model PATH --samples K`: each prompt's pass rate under a model, for
difficulty filtering.

A GRPO group whose K completions all score the same has zero advantage and teaches nothing (training logs
the share of such groups as `frac_group_reward_zero_std`, rl.metrics): prompts the model always solves or never solves waste
generation. This command samples K completions per prompt with the recipe's own sampling settings (vLLM
when installed with a GPU, transformers otherwise), scores them with the recipe's verifier for the row's
task (math_accuracy, code_execution, ifeval, tool_call), and writes `{"key", "pass_rate", ...}` per prompt
to a JSONL file whose first line records what was measured (rl.pass_rates: the model and its weights'
fingerprint, K, the seed, the sampling settings, the data, the command). A recipe then keeps the prompts
inside a band:

    data:
      pass_rates: runs/<name>/<stage>/pass_rates.jsonl
      pass_rate_band: [0.1, 0.9]     # drops never-solved (too_hard) and always-solved (too_easy) prompts

Rows whose task has no verifier (the reward model's `general` rows) get no estimate and are kept.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from rl import pass_rates
from rl.console import error, progress, quiet_libraries
from rl.pass_rates import sampling_settings
from rl.pins import model_argument
from rl.recipe import Recipe, RecipeError, load_recipe


def estimate(
    recipe: Recipe,
    model: str,
    samples: int,
    limit: int | None = None,
    seed: int = 0,
    batch_size: int | None = None,
    header: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One record per distinct prompt: `key`, `source`, `task`, `pass_rate` (None without a verifier).
    `header`, when given, receives what was measured (rl.pass_rates.provenance) once the model is loaded."""
    from rl.data import load_mixture, prepare
    from rl.data_check import all_pass, sandbox_url, task_rewards
    from rl.eval.generation import Sampling, batch_sampling, load_backend
    from rl.eval.suites import decontaminator
    from rl.filters import prompt_key
    from rl.rewards import call_sync

    data = copy.deepcopy(recipe.data)
    data.pass_rate_band = None  # estimate every prompt, not only those an earlier estimate kept
    data.eval_fraction = 0.0
    clean = decontaminator(data.decontaminate, data.decontaminate_ngram)
    rows, _ = load_mixture(data, decontaminator=clean, progress=True)
    keys = [prompt_key(p) for p in rows["prompt"]]
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    order = sorted(first.values())[:limit]
    rows = rows.select(order)
    backend = load_backend(model, batch_size=batch_size)
    rendered = prepare(rows, backend.tokenizer, data)
    settings = sampling_settings(recipe, backend.tokenizer)
    sampling = Sampling(
        temperature=settings["temperature"],
        top_p=settings["top_p"],
        top_k=settings["top_k"],
        max_new_tokens=settings["max_completion_length"],
        seed=seed,
    )
    if header is not None:
        header["backend"] = backend.name
        header["sampling"] = settings
        header["prompts"] = len(rendered)
    rewards = task_rewards(recipe)
    records = []
    needs_sandbox = any(task == "code" for task in rendered["task"])
    with (
        sandbox_url() if needs_sandbox else contextlib.nullcontext(),
        progress(f"pass rates ({samples} samples per prompt)", len(rendered), "prompt") as bar,
    ):
        batch = max(1, getattr(backend, "batch_size", 8))
        for start in range(0, len(rendered), batch):
            part = rendered.select(range(start, min(start + batch, len(rendered))))
            # A seed of its own per batch: with one seed for all, the k-th prompt of every batch draws the
            # same random numbers, and its estimate follows its place in the batch, not its difficulty.
            step = batch_sampling(sampling, start, samples)
            completions = backend.generate(list(part["prompt"]), step, samples)
            for j, row in enumerate(part):
                fns = rewards.get(row["task"], [])
                rate = None
                if fns:
                    columns = {k: [row[k]] * samples for k in row if k not in ("prompt", "prompt_messages")}
                    columns["prompts"] = [row["prompt_messages"]] * samples
                    scores = [call_sync(fn, completions[j], **columns) for fn in fns]
                    rate = sum(all_pass(scores)) / samples
                records.append(
                    {
                        "key": keys[order[start + j]],
                        "source": row["source"],
                        "task": row["task"],
                        "pass_rate": rate,
                        "samples": samples,
                    }
                )
            bar.update(len(part))
    return records


def summary(records: list[dict[str, Any]]) -> str:
    """Per source: prompts, share never solved, share always solved (the zero-spread groups)."""
    lines = []
    for source in dict.fromkeys(r["source"] for r in records):
        rates = [r["pass_rate"] for r in records if r["source"] == source and r["pass_rate"] is not None]
        if not rates:
            lines.append(f"{source}: {sum(r['source'] == source for r in records)} prompts, no verifier")
            continue
        hist = Counter(round(x, 2) for x in rates)
        lines.append(
            f"{source}: {len(rates)} prompts, mean pass rate {sum(rates) / len(rates):.3f}, "
            f"never solved {hist.get(0.0, 0) / len(rates):.1%}, always solved {hist.get(1.0, 0) / len(rates):.1%}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rl filter", description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe", help="recipe YAML whose data to estimate")
    parser.add_argument("overrides", nargs="*", help="dotted overrides, e.g. data.mixture.0.max_samples=1000")
    parser.add_argument(
        "--model", required=True, help="model directory, or hub id pinned as ID@COMMIT, to sample with"
    )
    parser.add_argument("--samples", type=int, default=8, help="completions per prompt (default 8)")
    parser.add_argument(
        "--out", type=Path, help="JSONL to write (default data.pass_rates, else <run dir>/pass_rates.jsonl)"
    )
    parser.add_argument("--limit", type=int, help="estimate only the first N distinct prompts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--batch-size", type=int, help="prompts per generation batch (default: the backend's)"
    )
    args = parser.parse_intermixed_args(argv)  # overrides may follow options
    quiet_libraries()  # datasets' bars per source and step off: one bar per phase instead (rl.console)
    try:
        recipe = load_recipe(args.recipe, args.overrides)
    except RecipeError as e:
        return error(e)
    if args.samples < 2:
        return error("--samples must be at least 2 (a pass rate from one sample says nothing about spread)")
    try:
        model = model_argument(args.model)
    except ValueError as e:
        return error(e)
    out = args.out or Path(recipe.data.pass_rates or recipe.run_dir / "pass_rates.jsonl")
    measured: dict[str, Any] = {}
    records = estimate(recipe, model, args.samples, args.limit, args.seed, args.batch_size, measured)
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--out" not in argv:
        argv += ["--out", str(out)]
    header = pass_rates.provenance(recipe, argv, args.model, model, args.samples, args.seed, args.limit)
    pass_rates.write(out, header | measured, records)
    print(summary(records))
    print(f"pass rates: {out}  (use: data.pass_rates={out} data.pass_rate_band=[0.1,0.9])")
    return 0


if __name__ == "__main__":
    sys.exit(main())
