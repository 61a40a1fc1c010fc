"""`python -m rl data`: the cluster recipes' data, read from local copies shaped like the hub rows, with every
source's own references scored by its training reward (a real sandbox for code)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "tests" / "fixtures" / "hub"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from rl.smoke.tiny import build_tiny

    return build_tiny(tmp_path_factory.getbasetemp() / "tiny")


def rl_data(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rl", "data", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_rl_data_on_real_shaped_rows_counts_drops_and_the_references_pass_their_rewards(tmp_path, tiny):
    report, out = tmp_path / "report.json", tmp_path / "rows.jsonl"
    proc = rl_data(
        "recipes/qwen2.5-32b/stage2.yaml",
        "data.mixture.0.max_samples=1",
        f"--local={HUB}",
        f"--tokenizer={tiny}",
        "--check-references",
        f"--report={report}",
        f"--out={out}",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = json.loads(report.read_text())  # keyed by hub id, though read from the local copies
    assert table["PrimeIntellect/verifiable-coding-problems"] == {
        "read": 7,
        "kept": 7,  # Python, Rust, C++ and JavaScript rows, each judged in its language
        "dropped": {},
        "reference_pass_rate": 1.0,
    }
    assert table["Salesforce/xlam-function-calling-60k"]["reference_pass_rate"] == 1.0
    assert table["zwhe99/DeepMath-103K"]["reference_pass_rate"] == 1.0
    assert table["HuggingFaceH4/ultrafeedback_binarized"] == {
        "read": 1,
        "kept": 1,
        "dropped": {},
        "reference_pass_rate": None,  # no verifier: the reward model scores it
    }
    assert "PrimeIntellect/verifiable-coding-problems" in proc.stdout and "reference" in proc.stdout
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == sum(v["kept"] for v in table.values())
    tool = next(r for r in rows if r["task"] == "tool")
    assert tool["prompt_text"].endswith("<think>\n") and "get_range" in tool["prompt_text"]
    assert set(tool) >= {"prompt_text", "task", "source", "tools", "ground_truth"}


def test_rl_data_flags_a_source_whose_references_fail_its_reward(tmp_path, tiny):
    bad = tmp_path / "bad.jsonl"
    rows = [{"problem": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(9)]
    # golds cut short (unbalanced braces): no boxed answer can ever match them, so every rollout would score 0
    rows += [
        {"problem": "What is 5 + 5?", "answer": "\\frac{1}{0"},
        {"problem": "Root of 2?", "answer": "\\sqrt{2"},
    ]
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = rl_data(
        "recipes/qwen2.5-32b/stage1.yaml",
        f"data.mixture=[{{source: 'local:{bad}', task: math, columns: {{problem: prompt}}}}]",
        "data.decontaminate=[]",
        f"--tokenizer={tiny}",
        "--check-references",
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "LOW:" in proc.stdout


def test_rl_data_names_a_source_it_cannot_read(tiny):
    proc = rl_data(
        "recipes/smoke/stage1.yaml", "data.mixture.0.source=local:no/such/file", f"--tokenizer={tiny}"
    )
    assert proc.returncode == 2 and "not found" in proc.stderr


def test_rl_data_shows_one_bar_per_phase_and_not_the_datasets_bars_per_source(tiny):
    proc = rl_data("recipes/smoke/stage1.yaml", f"--tokenizer={tiny}", "--check-references")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line.strip() for line in proc.stderr.replace("\r", "\n").splitlines() if line.strip()]
    phases = {line.partition(":")[0] for line in lines}
    assert phases == {"loading sources", "checking references"}, lines
    assert any(line.startswith("loading sources: 100%") and "2/2" in line for line in lines)
    assert "local:smoke/math" in proc.stdout  # the per-source table still comes


def test_rl_data_still_says_what_went_wrong_with_the_bars_on(tiny):
    proc = rl_data(
        "recipes/smoke/stage1.yaml", "data.mixture.0.source=local:no/such/file", f"--tokenizer={tiny}"
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ") and "not found" in proc.stderr
