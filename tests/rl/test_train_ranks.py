"""A stage with two training processes (torchrun, gloo on CPU): the main process loads and maps the
datasets first and the other rank after it; only the main process writes recipe.yaml and the tokenizer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from sandbox import free_port

REPO = Path(__file__).resolve().parents[2]

# Runs `python -m rl train` in each rank, recording (with an audit hook and a timing wrapper, nothing
# replaced) which files the rank opened for writing and when it loaded the datasets.
PROBE = """
import json, os, sys, time
events = {"writes": [], "data": None}
def audit(event, args):
    if event == "open" and isinstance(args[1], str) and set(args[1]) & set("wax"):
        name = os.path.basename(str(args[0]))
        if name in ("recipe.yaml", "tokenizer_config.json", "chat_template.jinja"):
            events["writes"].append(name)
sys.addaudithook(audit)
import rl.data
load = rl.data.load_training_data
def timed(*args, **kwargs):
    start = time.monotonic()
    try:
        return load(*args, **kwargs)
    finally:
        events["data"] = [start, time.monotonic()]
rl.data.load_training_data = timed
from rl.train import main
code = main(sys.argv[1:])
with open(os.path.join(os.environ["PROBE_OUT"], f"rank{os.environ['RANK']}.json"), "w") as f:
    json.dump(events, f)
sys.exit(code)
"""


def test_two_ranks_load_data_main_first_and_only_the_main_process_writes_shared_files(tmp_path):
    from rl.smoke.tiny import build_tiny

    tiny = build_tiny(tmp_path.parent / "tiny")
    rows = [
        {
            "prompt": [{"role": "user", "content": f"What is {i} + {j}?"}],
            "completion": [{"role": "assistant", "content": f"<think>\n{i} + {j}\n</think>\n\n{i + j}"}],
        }
        for i in range(4)
        for j in range(4)
    ]
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = {
        "name": "t",
        "stage": "stage0",
        "trainer": "sft",
        "output_dir": str(tmp_path / "run"),
        "model": {"name_or_path": str(tiny), "dtype": "float32"},
        "data": {"mixture": [{"source": f"local:{data}", "task": "math"}]},
        "wandb": {"enabled": False},
        "training": {"max_steps": 1, "per_device_train_batch_size": 2, "save_strategy": "no"},
    }
    (tmp_path / "stage0.yaml").write_text(yaml.safe_dump(recipe))
    (tmp_path / "probe.py").write_text(PROBE)
    out = tmp_path / "probe"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PROBE_OUT": str(out), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
        str(tmp_path / "probe.py"), str(tmp_path / "stage0.yaml"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    main, other = (json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1))
    assert main["data"][1] <= other["data"][0]  # rank 1 started loading after rank 0 had finished
    assert "recipe.yaml" in main["writes"] and "tokenizer_config.json" in main["writes"]
    assert other["writes"] == []
    assert (tmp_path / "run" / "config.json").is_file()


def test_failed_rows_are_logged_as_the_total_over_both_ranks(tmp_path):
    """Every completion's gold is unparseable, so each of the step's 8 rows (4 per rank) fails to score:
    the logged count is 8, not the per-rank mean of 4 that TRL's metric averaging would give."""
    from rl.smoke.tiny import build_tiny

    tiny = build_tiny(tmp_path.parent / "tiny")
    rows = [{"prompt": f"What is {i} + 1?", "task": "math", "answer": "}{"} for i in range(8)]
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = {
        "name": "t",
        "stage": "stage1",
        "output_dir": str(tmp_path / "run"),
        "model": {"name_or_path": str(tiny), "dtype": "float32"},
        "data": {"mixture": [{"source": f"local:{data}"}]},
        "rewards": [{"name": "math_accuracy"}, {"name": "format", "weight": 0.1}],
        "reward_failures": {"patience": 0},
        "wandb": {"enabled": False},
        "training": {
            "max_steps": 1,
            "per_device_train_batch_size": 4,
            "num_generations": 4,
            "max_completion_length": 8,
            "save_strategy": "no",
        },
    }
    (tmp_path / "stage1.yaml").write_text(yaml.safe_dump(recipe))
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
        "-m", "rl", "train", str(tmp_path / "stage1.yaml"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    (row,) = [r for r in map(json.loads, lines) if "rewards/math_accuracy/failed" in r]
    assert row["rewards/math_accuracy/failed"] == 8
    assert row["rewards/unscored"] == 8
