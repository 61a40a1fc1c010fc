"""The model card (`README.md`) of a stage's final model: what it was really fine-tuned from.

TRL writes a card at every checkpoint save, naming the base model only when the model config points at a
hub id; a chained stage starts from a local run dir, so its card said "fine-tuned from None". Here the
chain of `recipe.yaml`s is followed back to the model the first stage started from (e.g.
`Qwen/Qwen2.5-32B`), and the card names it, the stages in between, the trainer and the rewards.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from rl.pins import is_hub_id

if TYPE_CHECKING:
    from rl.recipe import Recipe


def base_model(recipe: Recipe) -> tuple[str, list[str]]:
    """(the model the chain started from, the earlier stages as `name/stage`, first to last)."""
    path, chain = recipe.model_path, []
    for _ in range(16):  # a chain longer than this is a loop in hand-edited recipes
        saved = Path(path) / "recipe.yaml"
        if not saved.is_file():
            break
        raw = yaml.safe_load(saved.read_text()) or {}
        chain.append(f"{raw.get('name')}/{raw.get('stage')}")
        model = raw.get("model")
        following = model.get("name_or_path") if isinstance(model, dict) else model
        if not following:
            break
        path = str(following)
    return path, chain[::-1]


def model_card(recipe: Recipe) -> str:
    """The card's markdown: YAML front matter for the hub, then the lineage and how to load it."""
    base, chain = base_model(recipe)
    trainer = {"grpo": "GRPO", "sft": "SFT"}.get(recipe.trainer, recipe.trainer)
    meta = {"library_name": "transformers", "tags": ["open-qwq", "trl", recipe.trainer]}
    if is_hub_id(base):
        meta = {"base_model": base, **meta}
        origin = f"[`{base}`](https://huggingface.co/{base})"
    else:
        origin = f"the local model `{base}`"
    lines = [
        "---",
        yaml.safe_dump(meta, sort_keys=False).strip(),
        "---",
        "",
        f"# {recipe.name}/{recipe.stage}",
        "",
    ]
    via = f", through {' -> '.join(f'`{c}`' for c in chain)}" if chain else ""
    lines.append(
        f"Fine-tuned from {origin}{via}, with TRL's {trainer} trainer (open-qwq recipe `{recipe.name}`)."
    )
    if recipe.trainer == "grpo":
        rewards = ", ".join(f"`{r.name}` (weight {r.weight:g})" for r in recipe.rewards)
        lines += ["", f"Rewards: {rewards}."]
    lines += [
        "",
        "The resolved recipe is `recipe.yaml` beside this card; per-step metrics are in `metrics.jsonl`.",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "",
        f'model = AutoModelForCausalLM.from_pretrained("{recipe.run_dir}")',
        f'tokenizer = AutoTokenizer.from_pretrained("{recipe.run_dir}")',
        "```",
    ]
    return "\n".join(lines) + "\n"


def write_model_card(recipe: Recipe, run_dir: Path | None = None) -> Path:
    """Write (over TRL's) `README.md` in the run dir."""
    path = Path(run_dir or recipe.run_dir) / "README.md"
    path.write_text(model_card(recipe))
    return path
