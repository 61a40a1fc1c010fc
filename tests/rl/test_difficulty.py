"""`python -m rl filter`: pass rates per prompt from a real (tiny) model and the recipe's own verifier,
keyed so that `data.pass_rate_band` finds them."""

from __future__ import annotations

import json
from pathlib import Path

from rl.data import load_mixture
from rl.difficulty import estimate, main
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
    records = [json.loads(line) for line in out.read_text().splitlines()[1:]]  # after the header
    recipe = load_recipe(RECIPES / "smoke" / "stage1.yaml", overrides)
    rows, _ = load_mixture(recipe.data)
    assert sorted(r["key"] for r in records) == sorted({prompt_key(p) for p in rows["prompt"]})
    assert all(
        r["pass_rate"] in (0.0, 0.5, 1.0) and r["samples"] == 2 and r["task"] == "math" for r in records
    )


def first_char_even(completions, **kwargs):
    """A real reward that a near-uniform (untrained) model passes about half the time, by chance alone."""
    return [float(bool(c) and ord(c[0]) % 2 == 0) for c in completions]


def test_each_batch_samples_afresh_so_an_estimate_does_not_follow_the_prompts_place_in_its_batch(
    tmp_path, monkeypatch
):
    """An untrained model's first token is chance: one seed for every batch gave every prompt the same draws."""
    from rl import rewards
    from rl.smoke.tiny import build_tiny

    reward = rewards.Reward("parity", f"{__name__}:first_char_even", "test", tasks=("math",))
    monkeypatch.setitem(rewards.REGISTRY, "parity", reward)
    monkeypatch.setitem(rewards.TASKS, "parity", ["math"])
    tiny = build_tiny(tmp_path.parent / "tiny")
    src = tmp_path / "m.jsonl"
    src.write_text(
        "".join(json.dumps({"prompt": f"What is {i} + 1?", "answer": "1"}) + "\n" for i in range(12))
    )
    recipe = load_recipe(
        RECIPES / "smoke" / "stage1.yaml",
        [
            f"model.name_or_path={tiny}",
            f"data.mixture=[{{source: 'local:{src}', task: math}}]",
            "rewards=[{name: parity}]",
            "training.max_completion_length=1",
        ],
    )
    rates = [r["pass_rate"] for r in estimate(recipe, str(tiny), samples=6, batch_size=1)]
    assert len(rates) == 12 and len(set(rates)) > 1, rates
