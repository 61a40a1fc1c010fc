"""`python -m sandbox up --fallback-bare` on a node without Docker: bare replicas with a warning, and `down`
stops them again (real processes; the engine is made unreachable through DOCKER_HOST)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from sandbox import free_port

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


def sandbox_cli(*args: str, state, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **env, "SANDBOX_STATE": str(state)},
    )


def test_up_without_docker_falls_back_to_bare_servers_with_a_warning_and_down_stops_them(tmp_path):
    port = free_port()
    up = sandbox_cli(
        "up", "--replicas", "2", "--port", str(port), "--fallback-bare", state=tmp_path, env=NO_ENGINE
    )
    try:
        assert up.returncode == 0, up.stderr
        assert "warning: no Docker engine" in up.stderr
        urls = up.stdout.strip().splitlines()[-1].split(",")
        assert urls == [f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"]
        body = {
            "code": "print(int(input()) * 2)",
            "mode": "stdio",
            "tests": [{"input": "21\n", "output": "42\n"}],
        }
        for url in urls:
            assert httpx.post(f"{url}/judge", json=body, timeout=60).json()["verdicts"] == ["accepted"]
        pids = json.loads(next(tmp_path.glob("*.json")).read_text())["pids"]
    finally:
        down = sandbox_cli("down", "--replicas", "2", "--port", str(port), state=tmp_path, env=NO_ENGINE)
    assert down.returncode == 0, down.stderr
    assert "2 bare server(s)" in down.stdout
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        assert not status.exists() or "zombie" in status.read_text().lower()
    assert not list(tmp_path.glob("*.json"))


def test_up_without_docker_and_without_the_fallback_still_fails_naming_docker(tmp_path):
    up = sandbox_cli("up", "--port", str(free_port()), state=tmp_path, env=NO_ENGINE)
    assert up.returncode != 0
    assert "Docker engine" in up.stderr
