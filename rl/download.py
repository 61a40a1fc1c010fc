"""`python -m rl download RECIPE.yaml ... [--suites a,b] [--dry-run]`: fetch what a job reads from the hub.

Compute nodes of many clusters have no internet. Run this once on a login node (same shared `HF_HOME` as
the job): it downloads the recipes' model, reward model and hub datasets, and the evaluation suites' hub
datasets, into the Hugging Face cache, each at the revision the job will ask for. The job then runs with
`HF_HUB_OFFLINE=1`. `--dry-run` prints the list without touching the network. Datasets are fetched with
the same `load_dataset` call training makes, so the prepared cache is the one an offline job reads.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

from rl.console import error
from rl.pins import MODEL_FILES, is_hub_id


@dataclass(frozen=True)
class Item:
    """One hub repository a job reads."""

    kind: str  # model | dataset
    repo_id: str
    revision: str | None
    why: str  # the recipe key or suite that needs it
    subset: str | None = None
    split: str | None = None
    files: tuple[str, ...] = ()  # read with the `json` builder instead (`hf://` paths at the revision)

    def line(self) -> str:
        at = f"@{self.revision[:12]}" if self.revision else " (main)"
        part = "".join(f" {k}={v}" for k, v in (("subset", self.subset), ("split", self.split)) if v)
        return f"{self.kind:<8} {self.repo_id}{at}{part}  <- {self.why}"


def recipe_items(recipe: Any) -> list[Item]:
    """The model, reward model and hub data sources of one resolved recipe."""
    items = []
    if is_hub_id(recipe.model.name_or_path):
        items.append(
            Item("model", recipe.model.name_or_path, recipe.model.revision, f"{recipe.stage}: model")
        )
    if any(r.name == "reward_model" for r in recipe.rewards) and is_hub_id(recipe.reward_model.path_or_url):
        rm = recipe.reward_model
        items.append(Item("model", rm.path_or_url, rm.revision, f"{recipe.stage}: reward_model"))
    for i, src in enumerate(recipe.data.mixture):
        if is_hub_id(src.source):
            why = f"{recipe.stage}: data.mixture.{i}"
            items.append(Item("dataset", src.source, src.revision, why, subset=src.subset, split=src.split))
    if recipe.data.decontaminate:  # the evaluation problems training prompts are checked against
        from rl.eval.suites import HUB, PROBLEM_TEXTS

        names = list(PROBLEM_TEXTS) if "all" in recipe.data.decontaminate else recipe.data.decontaminate
        for name in (n for n in names if n in HUB):
            hub = HUB[name]
            why = f"{recipe.stage}: data.decontaminate ({name})"
            items.append(Item("dataset", hub.repo_id, hub.revision, why, hub.subset, hub.split))
    return items


def suite_items(names: list[str]) -> list[Item]:
    """The hub datasets of evaluation suites (a suite read from a package or the local folder needs none)."""
    from rl.eval.suites import SUITES, SuiteError, lcb_hub_files

    items = []
    for name in names:
        if name not in SUITES:
            raise SuiteError(f"unknown suite {name!r}; available: {', '.join(SUITES)}")
        hub = SUITES[name].hub
        if hub is not None:
            # LiveCodeBench's loading script is refused by datasets >= 4: fetch its files as the suite reads them
            files = tuple(lcb_hub_files(hub)) if name == "livecodebench" else ()
            items.append(
                Item("dataset", hub.repo_id, hub.revision, f"eval suite {name}", hub.subset, hub.split, files)
            )
    return items


def build_plan(recipe_paths: list[str], overrides: list[str], suites: list[str]) -> list[Item]:
    """Every hub repository the recipes and suites read, once each, in order of first mention."""
    from rl.recipe import load_recipe

    items: list[Item] = []
    for path in recipe_paths:
        recipe = load_recipe(path, overrides)
        items += recipe_items(recipe)
        suites = suites + [s for s in recipe.evaluation.suites if s not in suites]
    items += suite_items(suites)
    seen, unique = set(), []
    for item in items:
        key = (item.kind, item.repo_id, item.revision, item.subset, item.split)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def fetch(item: Item) -> None:
    """Download one item into the Hugging Face cache (models: weights, config and tokenizer files)."""
    if item.kind == "model":
        from huggingface_hub import snapshot_download

        snapshot_download(item.repo_id, revision=item.revision, allow_patterns=MODEL_FILES)
    else:
        from datasets import load_dataset

        if item.files:
            load_dataset("json", data_files=list(item.files), split="train")
        else:
            load_dataset(item.repo_id, item.subset, split=item.split, revision=item.revision)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rl download",
        description="Download the model, reward model and datasets of recipes (and eval suites) into the "
        "Hugging Face cache, for jobs on nodes without internet (then run them with HF_HUB_OFFLINE=1).",
    )
    parser.add_argument("recipes", nargs="*", help="recipe YAMLs, e.g. recipes/qwen2.5-32b/stage1.yaml")
    parser.add_argument("--suites", default="", help="comma-separated eval suites to fetch as well")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe override")
    parser.add_argument("--dry-run", action="store_true", help="list what would be downloaded; fetch nothing")
    args = parser.parse_args(argv)
    from rl.eval.suites import SuiteError
    from rl.recipe import RecipeError

    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    try:
        items = build_plan(args.recipes, args.set, suites)
    except (RecipeError, SuiteError) as e:
        return error(e)
    cache = os.environ.get("HF_HOME", "~/.cache/huggingface")
    print(f"{len(items)} hub repositories into {cache} (set HF_HOME to a shared filesystem):")
    for item in items:
        print(f"  {item.line()}")
    if args.dry_run or not items:
        return 0
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("", "0", "false", "no"):
        return error(
            "HF_HUB_OFFLINE is set, so nothing can be downloaded: run this on a machine that reaches "
            "huggingface.co (a login node), without HF_HUB_OFFLINE"
        )
    failed = []
    for item in items:
        print(f"fetching {item.repo_id} ...", flush=True)
        try:
            fetch(item)
        except Exception as e:  # network, auth (gated models need `hf auth login`), unknown id
            error(f"{item.repo_id}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            failed.append(item.repo_id)
    if failed:
        return error(f"{len(failed)} of {len(items)} failed: {', '.join(failed)}", 1)
    print(f"done: run the job with HF_HOME={cache} HF_HUB_OFFLINE=1")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
