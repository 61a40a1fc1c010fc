"""`python -m rl filter`: pass rates per prompt from a real (tiny) model and the recipe's own verifier,
keyed so that `data.pass_rate_band` finds them."""

from __future__ import annotations

import json
from pathlib import Path

from rl.data import load_mixture
from rl.difficulty import main
from rl.filters import prompt_key
from rl.recipe import load_recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def test_rl_filter_writes_a_pass_rate_per_distinct_prompt_that_the_band_reads(tmp_path):
    from rl.smoke.tiny import build_tiny

    tiny = build_tiny(tmp_path / "tiny")
    src = tmp_path / "m.jsonl"
    src.write_text(
        "".join(json.dumps({"prompt": f"What is {i} + 1?", "answer": str(i + 1)}) + "\n" for i in range(3))
    )
    out = tmp_path / "rates.jsonl"
    overrides = [
        f"model.name_or_path={tiny}",
        f"data.mixture=[{{source: 'local:{src}', task: math, weight: 2.0}}]",  # repeats are estimated once
        "training.max_completion_length=8",
    ]
    assert (
        main(
            [
                str(RECIPES / "smoke" / "stage1.yaml"),
                *overrides,
                "--model",
                str(tiny),
                "--samples",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    records = [json.loads(line) for line in out.read_text().splitlines()]
    recipe = load_recipe(RECIPES / "smoke" / "stage1.yaml", overrides)
    rows, _ = load_mixture(recipe.data)
    assert sorted(r["key"] for r in records) == sorted({prompt_key(p) for p in rows["prompt"]})
    assert all(
        r["pass_rate"] in (0.0, 0.5, 1.0) and r["samples"] == 2 and r["task"] == "math" for r in records
    )
