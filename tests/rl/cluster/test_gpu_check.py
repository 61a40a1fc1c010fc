"""`make gpu-check` without a GPU says so in one line and fails at once; its table names every part."""

import os
import subprocess
import sys
import time

from rl.cluster.gpu_check import PARTS, Row, render


def test_without_a_gpu_it_says_so_in_one_line_and_exits_nonzero_at_once():
    started = time.monotonic()
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run(
        [sys.executable, "-m", "rl", "gpu-check"], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 2
    assert out.stdout == "" and out.stderr.count("\n") == 1
    assert out.stderr.startswith("error: no CUDA GPU visible")
    assert time.monotonic() - started < 60


def test_the_table_has_a_row_per_part_with_the_reason_of_each_failure():
    rows = [Row(name) for name, _ in PARTS]
    rows[1] = Row("grpo-bf16", step_s=1.25, tokens_s=900.0, peak_gib=7.5, estimate_gib=8.1)
    rows[3] = Row("zero3", "failed: exit 1: DeepSpeed ... (log: x.log)")
    rows[6] = Row("vllm-colocate", "skipped: vLLM is not installed here (make install-gpu adds it)")
    table = render(rows, "NVIDIA H100 80GB")
    lines = table.splitlines()
    assert len(lines) == 3 + len(PARTS) + 1
    assert "grpo-bf16      ok          1.25        900       7.5       8.1" in table
    assert "zero3          failed" in table and "DeepSpeed ... (log: x.log)" in table
    assert "vLLM is not installed here" in table
    assert lines[-1] == f"gpu-check: {len(PARTS) - 2} ok, 1 failed, 1 skipped"
