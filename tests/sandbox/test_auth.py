"""The job secret on real servers: a peer beyond 127.0.0.1 needs it, loopback and /health stay open.

Every address here is loopback (127.0.0.0/8): the server listens on 127.0.0.2 and a client that binds its
own end to 127.0.0.3 stands in for another machine; local tools connect from 127.0.0.1.
"""

import subprocess
import sys

import httpx
import pytest

from sandbox import free_port, wait_healthy
from sandbox.auth import SECRET_FILE_ENV, create_secret

HELLO = {"code": "print(input())", "mode": "stdio", "tests": [{"input": "hi\n", "output": "hi\n"}]}


def remote(url: str, headers: dict | None = None) -> httpx.Client:
    """A client whose connections come from 127.0.0.3: to the server, another host."""
    transport = httpx.HTTPTransport(local_address="127.0.0.3")
    return httpx.Client(base_url=url, transport=transport, headers=headers or {}, timeout=60)


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory):
    path = create_secret(tmp_path_factory.mktemp("job") / "job.secret")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    return path


@pytest.fixture(scope="module")
def guarded(secret_file, tmp_path_factory):
    """`python -m sandbox serve --host 127.0.0.2` with the job's secret."""
    port = free_port()
    env = {**__import__("os").environ, SECRET_FILE_ENV: str(secret_file)}
    log = open(tmp_path_factory.mktemp("log") / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--host",
            "127.0.0.2",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.2:{port}"
    try:
        wait_healthy(url, 60, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_peer_beyond_loopback_without_the_secret_is_refused(guarded):
    with remote(guarded) as c:
        assert c.post("/judge", json=HELLO).status_code == 401
        assert c.post("/judge", json=HELLO, headers={"Authorization": "Bearer guessed"}).status_code == 401
        assert c.get("/health").status_code == 200  # health waits from other nodes need no secret


def test_a_peer_with_the_job_secret_is_judged(guarded, secret_file):
    with remote(guarded, {"Authorization": f"Bearer {secret_file.read_text()}"}) as c:
        reply = c.post("/judge", json=HELLO)
    assert reply.status_code == 200 and reply.json()["verdicts"] == ["accepted"]


def test_local_clients_need_no_secret(guarded):
    with httpx.Client(base_url=guarded, timeout=60) as c:  # from 127.0.0.1
        assert c.post("/judge", json=HELLO).json()["verdicts"] == ["accepted"]


def test_the_code_reward_sends_the_secret_from_the_job_file(guarded, secret_file, monkeypatch):
    from verifiers.code import code_reward

    monkeypatch.setenv("SANDBOX_URL", guarded)
    monkeypatch.setenv(SECRET_FILE_ENV, str(secret_file))
    monkeypatch.setattr(httpx, "Client", _from_127_0_0_3(httpx.Client))
    done = "</think>\n```python\nprint(input())\n```"
    tests = [{"mode": "stdio", "tests": [{"input": "x\n", "output": "x\n"}]}]
    assert code_reward([done], tests) == [1.0]
    monkeypatch.delenv(SECRET_FILE_ENV)
    assert code_reward([done], tests) == [None]  # the same request without the secret is refused


def _from_127_0_0_3(client_cls):
    def make(*args, **kwargs):
        kwargs.setdefault("transport", httpx.HTTPTransport(local_address="127.0.0.3"))
        return client_cls(*args, **kwargs)

    return make


def test_a_server_beyond_loopback_without_a_secret_refuses_to_start(monkeypatch):
    monkeypatch.delenv(SECRET_FILE_ENV, raising=False)
    proc = subprocess.run(
        [sys.executable, "-m", "sandbox", "serve", "--host", "127.0.0.2", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "refusing to listen on 127.0.0.2 without a job secret" in proc.stderr
