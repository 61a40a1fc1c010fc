"""A reward outage mid-run: a row whose own verifier cannot score it gets None from every reward (TRL then
leaves it out of its group's baseline, with zero advantage) and is counted, instead of being scored by
the shaping rewards alone as if the missing verifier had said 0. The sandbox is a real bare server,
killed between two reward calls of a real GRPOTrainer."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rl.train import build_trainer
from sandbox import wait_healthy
from tests.rl.tiny_recipe import tiny_stage1

REPO = Path(__file__).resolve().parents[2]
SUM = "Read two integers on one line and print their sum."
TESTS = json.dumps({"mode": "stdio", "tests": [{"input": "2 3\n", "output": "5\n"}], "timeout_s": 5})
PROGRAM = "<think>\nadd them\n</think>\n\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
ROWS = [  # one math row and one code row, both answered right and well formed
    {
        "task": "math",
        "answer": "5",
        "tests": None,
        "completion": "<think>\n2 + 3 = 5\n</think>\n\n\\boxed{5}",
    },
    {"task": "code", "answer": None, "tests": TESTS, "completion": PROGRAM},
]


@pytest.fixture
def sandbox_server(tmp_path):
    sock = tmp_path / "sandbox.sock"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--socket", str(sock), "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_healthy(f"unix:{sock}", 60, proc)
        yield f"unix:{sock}", proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def score(trainer) -> tuple[list[list[float]], dict[str, float]]:
    """One reward call as TRL's GRPO step makes it; the per-reward values of each row and the metrics."""
    trainer._pending_metrics.clear()
    inputs = [{k: v for k, v in r.items() if k != "completion"} for r in ROWS]
    prompts = [[{"role": "user", "content": "What is 2 + 3?"}], [{"role": "user", "content": SUM}]]
    completions = [r["completion"] for r in ROWS]
    ids = [trainer.processing_class(c)["input_ids"] for c in completions]
    values = trainer._calculate_rewards(inputs, prompts, completions, ids).tolist()
    return values, {k: sum(v) / len(v) for k, v in trainer._pending_metrics.items()}


def test_rows_whose_sandbox_died_are_unscored_by_every_reward_and_counted(tmp_path, sandbox_server):
    from rl.smoke.tiny import build_tiny

    url, proc = sandbox_server
    tiny = build_tiny(tmp_path.parent / "tiny")
    rewards = [
        {"name": "math_accuracy"},
        {"name": "code_execution"},
        {"name": "format", "weight": 0.1},
        {"name": "overlong", "kwargs": {"max_completion_length": 64, "overlong_buffer": 16}},
    ]
    training = {"max_steps": 1, "per_device_train_batch_size": 2, "num_generations": 2}
    rows = [{"prompt": "x", "task": "math", "answer": "1"}]
    recipe = tiny_stage1(tmp_path, tiny, rows, rewards, training, sandbox={"url": url})
    trainer = build_trainer(recipe)
    names = trainer.reward_func_names
    assert names == ["math_accuracy", "code_execution", "format", "overlong"]

    before, metrics = score(trainer)
    assert before[1][names.index("code_execution")] == 1.0  # the sandbox judged the program
    assert not any(math.isnan(v) for v in before[1][2:])  # and the shaping rewards scored the row
    assert metrics["rewards/unscored"] == 0

    os.killpg(proc.pid, signal.SIGKILL)  # the sandbox goes down mid-run
    proc.wait()
    after, metrics = score(trainer)
    assert all(math.isnan(v) for v in after[1])  # every reward: None for the code row
    assert after[0][names.index("math_accuracy")] == 1.0 and not math.isnan(after[0][2])  # math row scored
    assert metrics["rewards/code_execution/failed"] == 1
    assert metrics["rewards/unscored"] == 1
