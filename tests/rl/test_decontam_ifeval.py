"""IFEval decontamination on the real 541 IFEval prompts: instruction-following training prompts are built
from IFEval's own instruction templates (RLVR-IFeval's constraints), so one shared 8-gram is not a copy;
a prompt that repeats an IFEval task with other instructions is one.

The templates are IFEval's `build_description` texts (the reference implementation, lm-eval's files),
filled with each IFEval prompt's own kwargs: the closest a training prompt can come to an eval prompt
through its instructions alone.
"""

from __future__ import annotations

import random
import re

import pytest

from rl.decontam import ngram_hashes, words
from rl.eval.suites import data_dir, decontaminator
from tests.verifiers.test_ifeval_reference import _load_reference
from verifiers.jsonl import read_jsonl

TASKS = [
    "Describe a lighthouse at dusk.",
    "Explain how vaccines train the immune system.",
    "Write a short story about a lost key.",
    "Summarize the causes of the French Revolution.",
    "Give advice to a new gardener.",
]


@pytest.fixture(scope="module")
def ifeval(tmp_path_factory):
    """(the IFEval rows, each row's instructions as IFEval's templates word them)."""
    registry = _load_reference(tmp_path_factory.mktemp("nltk"))
    rows = read_jsonl(data_dir() / "ifeval" / "input_data.jsonl")

    def described(row: dict, seed: int) -> str:
        random.seed(seed)  # a template fills a kwarg the row leaves empty at random
        texts = []
        for iid, kwargs in zip(row["instruction_id_list"], row["kwargs"], strict=True):
            instruction = registry[iid](iid)
            kwargs = {k: v for k, v in kwargs.items() if v is not None}
            try:
                texts.append(instruction.build_description(**kwargs))
            except TypeError:  # an instruction whose template takes none of the row's kwargs
                texts.append(instruction.build_description())
        return " ".join(texts)

    return rows, [described(r, i) for i, r in enumerate(rows)]


def test_an_unrelated_task_with_an_ifeval_prompts_own_instructions_is_kept(ifeval):
    """One shared 8-gram (the other suites' rule) drops 164 of these 541 (30%): an RLVR-IFeval row would
    often be dropped for wording its constraint as IFEval does. Measured: 20 of 541 with the rule kept."""
    rows, instructions = ifeval
    clean = decontaminator(["ifeval"])
    prompts = [f"{TASKS[i % len(TASKS)]}\n\n{instructions[i]}" for i in range(len(rows))]
    dropped = sum(clean.suite_of(p) is not None for p in prompts)
    assert dropped <= 0.05 * len(rows), dropped


def test_an_ifeval_task_with_other_instructions_is_dropped(ifeval):
    """The task of a prompt (its sentences that share no 8-gram with any template), followed by another
    prompt's instructions. Half of the prompt's n-grams (the rule before) caught 467 of 532 (88%)."""
    rows, instructions = ifeval
    templates = set().union(*(ngram_hashes(t, 8) for t in instructions))
    tasks = [
        " ".join(
            s
            for s in re.split(r"(?<=[.!?])\s+|\n+", r["prompt"])
            if s.strip() and not ngram_hashes(s, 8) & templates
        )
        for r in rows
    ]
    clean = decontaminator(["ifeval"])
    copies = [
        f"{task}\n\n{instructions[(i + 7) % len(rows)]}"
        for i, task in enumerate(tasks)
        if len(words(task)) >= 8
    ]
    caught = sum(clean.suite_of(p) == "ifeval" for p in copies)
    assert len(copies) == 532 and caught >= 0.95 * len(copies), caught
    assert all(clean.suite_of(r["prompt"]) == "ifeval" for r in rows)  # verbatim, every one
