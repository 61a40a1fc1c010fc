"""`python -m sandbox up --fallback-bare` on a node without Docker: bare replicas with a warning, and `down`
stops them again, and a killed one comes back (real processes; the engine is made unreachable through
DOCKER_HOST)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from sandbox import free_port, wait_healthy

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


def test_a_killed_bare_replica_is_started_again_by_its_supervisor_and_down_stops_both(tmp_path):
    """The bare server killed (as an OOM kill would): its supervisor starts it again, as Docker's restart
    policy does for a container, so the replica comes back by itself; `down` ends supervisor and server."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    up = sandbox_cli(
        "up", "--port", str(port), "--workers", "1", "--fallback-bare", state=tmp_path, env=NO_ENGINE
    )
    try:
        assert up.returncode == 0, up.stderr
        (supervisor,) = json.loads(next(tmp_path.glob("*.json")).read_text())["pids"]
        (server,) = psutil.Process(supervisor).children()
        server.kill()
        server.wait(30)
        wait_healthy(url, 120, name="restarted bare replica")
        (again,) = psutil.Process(supervisor).children()
        assert again.pid != server.pid
        body = {
            "code": "print(int(input()) * 2)",
            "mode": "stdio",
            "tests": [{"input": "4\n", "output": "8\n"}],
        }
        assert httpx.post(f"{url}/judge", json=body, timeout=60).json()["verdicts"] == ["accepted"]
        assert "exited -9: starting it again" in next(tmp_path.glob("*.log")).read_text()
    finally:
        down = sandbox_cli("down", "--port", str(port), state=tmp_path, env=NO_ENGINE)
    assert "1 bare server(s)" in down.stdout
    for pid in (supervisor, again.pid):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_replica_killed_before_its_supervisor_saw_it_healthy_is_started_again(tmp_path):
    """`up` can see the server answer before its supervisor does (a loaded node); a kill in between (the OOM
    killer) is not a failed first start: the supervisor starts it again. Held with SIGSTOP so that the
    supervisor cannot look before the kill, whatever the machine's speed."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    where = ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    cmd = [sys.executable, "-m", "sandbox.bare", url, *where]
    with open(tmp_path / "replica.log", "wb") as log:
        supervisor = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (children := psutil.Process(supervisor.pid).children()) and time.monotonic() < deadline:
            time.sleep(0.01)
        (server,) = children
        supervisor.send_signal(signal.SIGSTOP)
        wait_healthy(url, 120, name="first bare replica")
        server.kill()
        while server.is_running() and server.status() != psutil.STATUS_ZOMBIE:  # reaped once continued
            time.sleep(0.01)
        supervisor.send_signal(signal.SIGCONT)
        wait_healthy(url, 120, name="restarted bare replica")
        assert supervisor.poll() is None
        (again,) = psutil.Process(supervisor.pid).children()
        assert again.pid != server.pid
        assert "exited -9: starting it again" in (tmp_path / "replica.log").read_text()
    finally:
        os.killpg(supervisor.pid, signal.SIGTERM)
        supervisor.send_signal(signal.SIGCONT)
        supervisor.wait(30)


def test_a_bare_replica_that_cannot_start_fails_up_at_once(tmp_path):
    """A first start that fails (here: its port is taken) is reported by `up`, not restarted for ever."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        up = sandbox_cli("up", "--port", str(port), "--fallback-bare", state=tmp_path, env=NO_ENGINE)
    assert up.returncode != 0
    assert "exited with code" in up.stderr
    assert time.monotonic() - started < 60
    assert not list(tmp_path.glob("*.json"))
