"""`python -m sandbox up --fallback-bare` on a node without Docker: bare replicas with a warning, and `down`
stops them again (real processes; the engine is made unreachable through DOCKER_HOST)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

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


def test_down_at_one_port_stops_only_the_bare_servers_up_started_there(tmp_path):
    """Two jobs' bare replicas on one machine share the state dir: `down --port P` (no --replicas) stops the
    one at P; the other job's replica keeps answering."""
    ports = free_port(), free_port()
    try:
        for port in ports:
            up = sandbox_cli(
                "up", "--port", str(port), "--workers", "1", "--fallback-bare", state=tmp_path, env=NO_ENGINE
            )
            assert up.returncode == 0, up.stderr
        down = sandbox_cli("down", "--port", str(ports[0]), state=tmp_path, env=NO_ENGINE)
        assert down.returncode == 0, down.stderr
        assert "1 bare server(s)" in down.stdout
        assert httpx.get(f"http://127.0.0.1:{ports[1]}/health", timeout=30).status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{ports[0]}/health", timeout=30)
    finally:
        everything = sandbox_cli("down", state=tmp_path, env=NO_ENGINE)
    assert "1 bare server(s)" in everything.stdout
    assert not list(tmp_path.glob("*.json"))
