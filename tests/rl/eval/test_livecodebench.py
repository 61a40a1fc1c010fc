"""LiveCodeBench through the `json` builder: its released files, read locally when present, and an error
that says what works when they are not (datasets >= 4 refuses the dataset's loading script)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# One row shaped like the released test*.jsonl files (hand-made problem, not benchmark text).
ROW = {
    "question_title": "Sum of two",
    "question_content": "Read two integers and print their sum.",
    "platform": "atcoder",
    "question_id": "abc000_a",
    "contest_id": "abc000",
    "contest_date": "2024-08-03T00:00:00",
    "starter_code": "",
    "difficulty": "easy",
    "public_test_cases": json.dumps([{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]),
    "private_test_cases": json.dumps([{"input": "5 5\n", "output": "10\n", "testtype": "stdin"}]),
    "metadata": "{}",
}


def load(data: Path) -> subprocess.CompletedProcess:
    code = (
        "from rl.eval.suites import load_suite; import json; print(json.dumps(load_suite('livecodebench')))"
    )
    env = {**os.environ, "OPEN_QWQ_DATA": str(data), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_livecodebench_reads_its_released_files_with_the_json_builder(tmp_path):
    (tmp_path / "livecodebench").mkdir()
    (tmp_path / "livecodebench" / "test.jsonl").write_text(json.dumps(ROW) + "\n")
    proc = load(tmp_path)
    assert proc.returncode == 0, proc.stderr[-1500:]
    (row,) = json.loads(proc.stdout.splitlines()[-1])
    tests = json.loads(row["tests"])
    assert row["task"] == "code" and tests["mode"] == "stdio" and len(tests["tests"]) == 2


def test_livecodebench_unavailable_says_what_works(tmp_path):
    proc = load(tmp_path)
    assert proc.returncode != 0
    assert "`json` builder" in proc.stderr and "hf download --repo-type dataset" in proc.stderr
    assert (
        "--revision 0fe84c3912ea0c4d4a78037083943e8f0c4dd505" in proc.stderr
    )  # the files of the pinned commit


def test_the_hub_files_are_read_at_the_pinned_commit():
    """huggingface_hub's own parser reads each `hf://` path as the dataset's file at the pinned commit."""
    from huggingface_hub import parse_hf_uri

    from rl.eval.suites import HUB, LCB_FILES, lcb_hub_files

    uris = [parse_hf_uri(f) for f in lcb_hub_files()]
    assert [(u.type, u.id, u.revision) for u in uris] == [
        ("dataset", "livecodebench/code_generation_lite", HUB["livecodebench"].revision)
    ] * len(LCB_FILES)
    assert [u.path_in_repo for u in uris] == list(LCB_FILES)
