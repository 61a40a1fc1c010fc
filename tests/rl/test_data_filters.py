"""Filters counted per source: too-long prompts, eval contamination, the pass-rate band; tools shown in
training prompts; hub revisions pinned."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from rl.data import load_mixture, load_training_data
from rl.eval.suites import data_dir, decontaminator, read_jsonl
from rl.filters import DataReport, prompt_budget, prompt_key
from rl.recipe import DataSection, DataSource, load_recipe

HUB = Path(__file__).resolve().parents[1] / "fixtures" / "hub"
RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return f"local:{path}"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    from rl.smoke.tiny import build_tiny

    return AutoTokenizer.from_pretrained(build_tiny(tmp_path_factory.getbasetemp() / "tiny"))


def test_prompts_that_leave_less_than_the_completion_budget_are_dropped_and_counted(tmp_path, tokenizer):
    src = write_jsonl(
        tmp_path / "m.jsonl",
        [
            {"prompt": "What is 2 + 2?", "answer": "4"},
            {"prompt": "Add these: " + "7 + " * 400 + "7", "answer": "2807"},
        ],
    )
    recipe = load_recipe(
        RECIPES / "smoke" / "stage1.yaml",
        [
            f"data.mixture=[{{source: '{src}', task: math}}]",
            "training.vllm_max_model_length=320",
            "training.max_completion_length=64",
        ],
    )
    assert prompt_budget(recipe) == 256
    report = DataReport()
    train, _ = load_training_data(recipe.data, tokenizer, prompt_budget(recipe), report)
    assert train["answer"] == ["4"]
    assert report[src].to_dict() == {
        "read": 2,
        "kept": 1,
        "dropped": {"too_long": 1},
        "reference_pass_rate": None,
    }


def test_a_training_prompt_copying_an_eval_problem_is_dropped_and_one_sharing_an_instruction_is_kept(
    tmp_path,
):
    aime = read_jsonl(data_dir() / "math" / "aime24" / "test.jsonl")[3]["problem"]
    ifeval = read_jsonl(data_dir() / "ifeval" / "input_data.jsonl")[7]["prompt"]
    rlvr = json.loads((HUB / "allenai/RLVR-IFeval/train.jsonl").read_text().splitlines()[0])["messages"][0][
        "content"
    ]
    rows = [
        {"prompt": f"Solve this.\n{aime}", "answer": "1"},  # an eval problem, reworded only around it
        {"prompt": "A farmer has 13 goats and buys 29 more. How many goats now?", "answer": "42"},
        {"prompt": ifeval.upper(), "answer": "1"},  # an IFEval prompt: case does not hide it
        {"prompt": rlvr, "answer": "1"},  # a new task under IFEval's own instruction wording
    ]
    src = write_jsonl(tmp_path / "mixed.jsonl", rows)
    report = DataReport()
    data = DataSection(mixture=[DataSource(source=src, task="math")], decontaminate=["all"])
    train, _ = load_mixture(data, report, decontaminator=decontaminator(data.decontaminate))
    assert [r["prompt"][0]["content"] for r in train] == [rows[1]["prompt"], rlvr]
    assert dict(report[src].dropped) == {"contaminated": 2}
    assert decontaminator(["aime24", "ifeval"]).suite_of(ifeval) == "ifeval"  # type: ignore[union-attr]


def test_the_pass_rate_band_drops_too_easy_too_hard_and_unestimated_prompts(tmp_path):
    rows = [{"prompt": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(5)]
    src = write_jsonl(tmp_path / "m.jsonl", rows)
    rates = {0: 0.0, 1: 0.5, 2: 1.0, 4: None}  # prompt 3 is not in the file; 4 has no verifier
    msgs = lambda i: [{"role": "user", "content": rows[i]["prompt"]}]  # noqa: E731
    (tmp_path / "rates.jsonl").write_text(
        "".join(json.dumps({"key": prompt_key(msgs(i)), "pass_rate": r}) + "\n" for i, r in rates.items())
    )
    report = DataReport()
    data = DataSection(
        mixture=[DataSource(source=src, task="math")],
        pass_rates=str(tmp_path / "rates.jsonl"),
        pass_rate_band=[0.1, 0.9],
    )
    train, _ = load_mixture(data, report)
    assert train["answer"] == ["2", "8"]
    assert dict(report[src].dropped) == {"too_hard": 1, "too_easy": 1, "not_estimated": 1}


def test_a_source_the_band_empties_leaves_its_columns_and_the_other_sources_rows(tmp_path):
    # every code row is too hard: the mixture keeps the math row and still has a `tests` column (empty
    # parts failed to concatenate: "tables don't have the same number of rows")
    math = [{"prompt": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(3)]
    code = [{"prompt": "Print 1.", "tests": json.dumps({"tests": [{"input": "", "output": "1"}]})}]
    sources = [write_jsonl(tmp_path / "m.jsonl", math), write_jsonl(tmp_path / "c.jsonl", code)]
    msgs = lambda r: [{"role": "user", "content": r["prompt"]}]  # noqa: E731
    rates = [(math[0], 0.5), (math[1], 1.0), (math[2], 0.0), (code[0], 0.0)]
    (tmp_path / "rates.jsonl").write_text(
        "".join(json.dumps({"key": prompt_key(msgs(r)), "pass_rate": p}) + "\n" for r, p in rates)
    )
    report = DataReport()
    data = DataSection(
        mixture=[DataSource(source=sources[0], task="math"), DataSource(source=sources[1], task="code")],
        pass_rates=str(tmp_path / "rates.jsonl"),
        pass_rate_band=[0.1, 0.9],
    )
    train, _ = load_mixture(data, report)
    assert train["answer"] == ["0"]
    assert train["tests"] == [None]
    assert dict(report[sources[1]].dropped) == {"too_hard": 1}


def test_tool_rows_show_their_tools_in_the_training_prompt(tokenizer):
    data = DataSection(
        mixture=[
            DataSource(
                source=f"local:{HUB / 'Salesforce/xlam-function-calling-60k'}",
                task="tool",
                columns={"query": "prompt", "answers": "ground_truth"},
            )
        ]
    )
    train, _ = load_training_data(data, tokenizer)
    prompt = train[0]["prompt"]
    assert '"name": "get_range"' in prompt and '"required": ["start", "end"]' in prompt
    assert prompt.index("get_range") < prompt.index("Give me the range text")


def test_the_cluster_recipes_pin_every_hub_dataset_and_decontaminate():
    for path in sorted((RECIPES / "qwen2.5-32b").glob("stage*.yaml")):
        data = yaml.safe_load(path.read_text())["data"]
        assert data["decontaminate"] == ["all"], path
        for src in data["mixture"]:
            assert src.get("revision"), f"{path.name}: {src['source']} has no revision"


def test_every_scaled_recipe_reads_each_dataset_at_the_32b_recipes_revision():
    """The 7B and 1.5B recipes are the 32B one scaled down: the same datasets at the same commits, so their
    published comparisons read the same rows (and a requeue reads what the first run read)."""
    pinned = {
        src["source"]: src["revision"]
        for path in (RECIPES / "qwen2.5-32b").glob("stage*.yaml")
        for src in yaml.safe_load(path.read_text())["data"]["mixture"]
    }
    for path in sorted(RECIPES.glob("qwen2.5-*/stage*.yaml")):
        for src in yaml.safe_load(path.read_text())["data"]["mixture"]:
            assert src.get("revision") == pinned[src["source"]], f"{path}: {src['source']}"


def test_a_hub_source_is_read_at_its_revision(monkeypatch):
    import datasets

    seen = {}

    def fake(path, name=None, split=None, revision=None):
        seen.update(path=path, revision=revision)
        return datasets.Dataset.from_list([{"problem": "1+1?", "answer": "2"}])

    monkeypatch.setattr(datasets, "load_dataset", fake)
    src = DataSource(
        source="open-r1/OpenR1-Math-220k", revision="e4e141e", task="math", columns={"problem": "prompt"}
    )
    load_mixture(DataSection(mixture=[src]))
    assert seen == {"path": "open-r1/OpenR1-Math-220k", "revision": "e4e141e"}


def _trained_order(tmp_path: Path, tiny: Path, rows: list[dict], data: dict, seed: int) -> list[str]:
    """The prompts, in the order the real GRPO trainer's dataloader hands them out over one epoch."""
    from rl.train import build_trainer
    from tests.rl.tiny_recipe import tiny_stage1

    training = {"max_steps": 1, "per_device_train_batch_size": 4, "num_generations": 2, "seed": seed}
    tmp_path.mkdir(parents=True)
    recipe = tiny_stage1(tmp_path, tiny, rows, [{"name": "math_accuracy"}], training)
    recipe.data.order = data.get("order", "shuffle")
    trainer = build_trainer(recipe)
    asked = re.compile(r"What is \d+ \+ 1\?")
    seen = [asked.search(str(row["prompt"]))[0] for batch in trainer.get_train_dataloader() for row in batch]
    return [p for i, p in enumerate(seen) if i == 0 or p != seen[i - 1]]  # each prompt once per group


def test_by_prompt_order_keeps_the_shared_prompts_in_one_order_whatever_a_filter_removed(tmp_path):
    """A paired ablation: runs with and without a filter, from one seed, must meet their shared prompts
    in the same order, or the comparison measures the data order as much as the filter."""
    from rl.smoke.tiny import build_tiny

    tiny = build_tiny(tmp_path / "tiny")
    rows = [{"prompt": f"What is {i} + 1?", "task": "math", "answer": str(i + 1)} for i in range(16)]
    kept = [r for i, r in enumerate(rows) if i % 4]  # what a filter left: 12 of 16

    def order(subset: list[dict], run: str, how: str, seed: int = 3) -> list[str]:
        return _trained_order(tmp_path / f"{run}-{how}-{seed}", tiny, subset, {"order": how}, seed)

    full, thinned = order(rows, "all", "by_prompt"), order(kept, "kept", "by_prompt")
    assert sorted(full) == sorted(r["prompt"] for r in rows) and len(thinned) == 12
    assert [p for p in full if p in thinned] == thinned
    assert order(rows, "all", "by_prompt", seed=4) != full  # another seed, another order
    # Control: the trainer's own shuffle places each row by its index, so removing rows reorders the rest.
    full, thinned = order(rows, "all", "shuffle"), order(kept, "kept", "shuffle")
    assert [p for p in full if p in thinned] != thinned
