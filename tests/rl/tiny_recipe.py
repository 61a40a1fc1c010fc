"""One stage-1 recipe for tests that train or build a real GRPO trainer on a few rows with a tiny model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rl.recipe import Recipe, recipe_from_dict

SAY = [{"prompt": [{"role": "user", "content": f"say {i}"}], "task": "chat"} for i in range(8)]


def tiny_stage1(
    tmp_path: Path, model: Path, rows: list[dict], rewards: list[dict], training: dict, **sections: Any
) -> Recipe:
    """`rows` as a local JSONL source, output in `tmp_path/run`, wandb off unless `sections` say otherwise."""
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return recipe_from_dict(
        {
            "name": "t",
            "stage": "stage1",
            "output_dir": str(tmp_path / "run"),
            "model": {"name_or_path": str(model), "dtype": "float32"},
            "data": {"mixture": [{"source": f"local:{data}"}]},
            "rewards": rewards,
            "wandb": {"enabled": False},
            "training": training,
            **sections,
        }
    )
