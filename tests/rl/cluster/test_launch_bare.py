"""A node without Docker, through the launcher for real: `python -m rl launch` of the smoke stage 1 on CPU
with the engine unreachable (DOCKER_HOST names a socket that does not exist). The setup step falls back to
the bare sandbox server and the launcher's console says so once; the health check reaches it, training
runs one step against it, and the teardown stops it: no server is left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil

from sandbox import free_port

ROOT = Path(__file__).resolve().parents[3]
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
FALLBACK = "warning: no Docker engine reachable on this node: starting the bare sandbox server instead"


def left_behind(state: Path) -> list[str]:
    """Live processes that inherited this run's SANDBOX_STATE: the launcher's steps, the bare servers and
    their execution slots all carry it, so after the run there must be none."""
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        try:
            if p.info["status"] != psutil.STATUS_ZOMBIE and p.environ().get("SANDBOX_STATE") == str(state):
                found.append(" ".join(p.info["cmdline"] or []))
        except psutil.Error:
            continue
    return found


def test_a_node_without_docker_launches_on_bare_sandbox_servers_with_one_warning_and_leaves_none(tmp_path):
    from rl.smoke.tiny import build_tiny

    tiny = build_tiny(tmp_path / "tiny")
    run, state, port = tmp_path / "stage1", tmp_path / "sandbox-state", free_port()
    cmd = [
        sys.executable, "-m", "rl", "launch", "--stage", "stage1", "--recipe", "recipes/smoke/stage1.yaml",
        "--nodes", "1", "--gpus-per-node", "1", "--node-rank", "0",
        f"output_dir={run}", "model.from_stage=null", f"model.name_or_path={tiny}", "wandb.enabled=false",
        "training.per_device_train_batch_size=8", "training.num_generations=8",
        "training.max_completion_length=8", "training.max_steps=1", "training.logging_steps=1",
        f"launch.sandbox_port={port}", f"launch.main_process_port={free_port()}",
    ]  # fmt: skip
    env = {**os.environ, **NO_ENGINE, "SANDBOX_STATE": str(state)}
    job = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    console = job.stdout + job.stderr
    logs = "".join(
        f"\n--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in (run / "logs").glob("*")
    )
    assert job.returncode == 0, console[-3000:] + logs
    # One warning on the launcher's console, naming the fallback (not only inside the step's log).
    warned = [line for line in console.splitlines() if FALLBACK in line]
    assert len(warned) == 1 and warned[0].startswith(f"[node 0] sandbox {FALLBACK}"), console[-3000:]
    # The bare server was the one training judged against: healthy for the check, logged in its state dir.
    assert f"ok    sandbox http://127.0.0.1:{port}/health" in (run / "logs" / "health-node0.log").read_text()
    assert (state / f"open-qwq-sandbox-{port}.log").is_file()
    assert (run / "checkpoint-1").is_dir() and f"sandbox.url=http://127.0.0.1:{port}" in console
    # Teardown stopped it: no server process, no state file left for a later `down` to find.
    assert "removed 0 container(s) and 1 bare server(s)" in (run / "logs" / "sandbox-node0.log").read_text()
    assert left_behind(state) == [] and not list(state.glob("*.json"))
