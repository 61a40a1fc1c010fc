"""A sandbox replica that dies mid-run: its rows score None and are counted failed, Docker brings it back,
and the next rows are judged again (real containers, the real code reward)."""

import os
import signal
import time

import pytest

from sandbox import container, free_port, wait_healthy
from verifiers import code, failures
from verifiers.code import code_reward

pytestmark = pytest.mark.docker
SUM = {"mode": "stdio", "tests": [{"input": "2 3\n", "output": "5\n"}]}
GOOD = "<think>add</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"


def test_a_killed_replica_scores_none_then_comes_back(docker_engine, monkeypatch):
    port = free_port()
    (url,) = container.up(replicas=1, port=port, workers=1)
    monkeypatch.setenv("SANDBOX_URL", url)
    # One attempt per request: on an idle machine the restarted server answers within the default retries.
    monkeypatch.setattr(code, "_RETRIES", 1)
    failures.drain()
    try:
        assert code_reward([GOOD], [SUM]) == [1.0]
        (replica,) = [c for c in docker_engine.containers.list() if c.name == f"open-qwq-sandbox-{port}"]
        os.kill(replica.attrs["State"]["Pid"], signal.SIGKILL)  # the server crashes, as an OOM kill would
        assert code_reward([GOOD, GOOD], [SUM, SUM]) == [None, None]  # never a silent 0
        assert failures.drain().get("code_reward") == 2
        wait_healthy(url, 60)  # the restart policy brought it back
        replica.reload()
        assert replica.attrs["RestartCount"] >= 1
        started = time.monotonic()
        assert code_reward([GOOD], [SUM]) == [1.0]
        assert time.monotonic() - started < 30
    finally:
        assert container.down(replicas=1, port=port) == 1
