"""Services a stage's rewards need: started when the stage can start them, refused by name when it cannot,
and a run stopped when a reward keeps failing (real servers, real processes)."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rl import services
from rl.recipe import recipe_from_dict
from rl.services import FailureGuard, RewardFailureError, ServiceError, stage_services
from sandbox import free_port

REPO = Path(__file__).resolve().parents[2]
GOOD = "<think>add</think>\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
TESTS = json.dumps({"mode": "stdio", "tests": [{"input": "2 3\n", "output": "5\n"}]})


def grpo_recipe(tmp_path: Path, rewards: list[str], **sections) -> object:
    raw = {
        "name": "svc",
        "stage": "stage1",
        "trainer": "grpo",
        "output_dir": str(tmp_path / "run"),
        "model": {"name_or_path": str(tmp_path / "model")},
        "data": {"mixture": [{"source": "local:smoke/code", "task": "code"}]},
        "rewards": [{"name": r} for r in rewards],
        "wandb": {"enabled": False},
        **sections,
    }
    return recipe_from_dict(raw)


@pytest.fixture
def fast_health(monkeypatch):
    monkeypatch.setattr(services, "HEALTH_TIMEOUT_S", 1.0)


def test_a_sandbox_url_that_does_not_answer_is_refused_naming_the_sandbox(tmp_path, fast_health, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}"
    recipe = grpo_recipe(tmp_path, ["code_execution"], sandbox={"url": url})
    with (
        pytest.raises(ServiceError, match=f"sandbox for reward code_execution at {url}"),
        stage_services(recipe),
    ):
        pytest.fail("the stage started without its sandbox")


def test_without_a_sandbox_url_one_process_starts_its_own_and_stops_it_after(tmp_path, monkeypatch):
    from verifiers.code import code_reward

    monkeypatch.delenv("SANDBOX_URL", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    recipe = grpo_recipe(tmp_path, ["code_execution"])
    with stage_services(recipe):
        url = os.environ["SANDBOX_URL"]
        assert code_reward([GOOD], [TESTS]) == [1.0]
    assert "SANDBOX_URL" not in os.environ
    with pytest.raises(httpx.HTTPError), services_client(url) as c:
        c.get("/health")


def services_client(url: str) -> httpx.Client:
    from sandbox import client

    return client(url, timeout=2)


def test_several_processes_without_a_sandbox_url_are_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("SANDBOX_URL", raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with (
        pytest.raises(ServiceError, match="set sandbox.url or SANDBOX_URL"),
        stage_services(grpo_recipe(tmp_path, ["code_execution"])),
    ):
        pass


def test_a_reward_model_url_that_does_not_answer_is_refused(tmp_path, fast_health):
    url = f"http://127.0.0.1:{free_port()}"
    recipe = grpo_recipe(tmp_path, ["reward_model"], reward_model={"path_or_url": url})
    with (
        pytest.raises(ServiceError, match=r"reward-model server \(reward_model.path_or_url\) at"),
        stage_services(recipe),
    ):
        pass


def test_a_reward_model_path_without_a_model_is_refused_but_a_cached_hub_id_is_left_to_load(
    tmp_path, monkeypatch
):
    from huggingface_hub import constants

    empty = tmp_path / "rm"
    empty.mkdir()
    for path, says in ((empty, "not a model directory"), (tmp_path / "nope", "no such directory")):
        missing = grpo_recipe(tmp_path, ["reward_model"], reward_model={"path_or_url": str(path)})
        with pytest.raises(ServiceError, match=says), stage_services(missing):
            pass
    commit = "0123456789abcdef0123456789abcdef01234567"
    cached = tmp_path / "hub" / "models--Skywork--Skywork-Reward-V2"
    (cached / "snapshots" / commit).mkdir(parents=True)
    (cached / "refs").mkdir()
    (cached / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    hub = grpo_recipe(tmp_path, ["reward_model"], reward_model={"path_or_url": "Skywork/Skywork-Reward-V2"})
    with stage_services(hub):
        pass
    absent = grpo_recipe(tmp_path, ["reward_model"], reward_model={"path_or_url": "Skywork/absent-rm"})
    says = "Skywork/absent-rm is neither a directory here nor a hub model"
    with pytest.raises(ServiceError, match=says), stage_services(absent):
        pass


def test_the_guard_stops_after_patience_rounds_in_a_row_and_a_good_round_resets_it():
    guard = FailureGuard(max_fraction=0.5, patience=3)
    guard.observe("code_execution", failed=8, owned=8)
    guard.observe("code_execution", failed=5, owned=8)
    guard.observe("code_execution", failed=4, owned=8)  # exactly half: not "most"
    guard.observe("code_execution", failed=8, owned=8)
    guard.observe("reward_model", failed=8, owned=8)  # streaks are per reward
    guard.observe("code_execution", failed=8, owned=8)
    with pytest.raises(RewardFailureError, match="reward code_execution could not score 7 of its 8 rows"):
        guard.observe("code_execution", failed=7, owned=8)


def test_rounds_where_a_reward_owns_no_row_do_not_count():
    guard = FailureGuard(max_fraction=0.5, patience=2)
    guard.observe("code_execution", failed=8, owned=8)
    guard.observe("code_execution", failed=0, owned=0)
    with pytest.raises(RewardFailureError):
        guard.observe("code_execution", failed=8, owned=8)


class _BrokenRM(http.server.BaseHTTPRequestHandler):
    """A reward-model server that is up (/health answers) but cannot score: every /score is HTTP 500."""

    def do_GET(self):  # noqa: N802 - http.server's name
        self._send(200 if self.path == "/health" else 404, {"status": "ok"})

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send(500, {"detail": "CUDA out of memory"})

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def broken_rm() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BrokenRM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from rl.smoke.tiny import build_tiny

    return build_tiny(tmp_path_factory.getbasetemp() / "tiny")


def train(*overrides: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rl", "train", "recipes/smoke/stage1.yaml", *overrides],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env={**os.environ, "WANDB_MODE": "disabled", **(env or {})},
    )


def test_rl_train_refuses_a_sandbox_that_does_not_answer_in_one_error_line_before_loading_the_model(
    tmp_path, tiny
):
    url = f"http://127.0.0.1:{free_port()}"
    out = train(
        f"output_dir={tmp_path / 'run'}",
        "model.from_stage=null",
        f"model.name_or_path={tiny}",
        f"sandbox.url={url}",
        env={"OPEN_QWQ_HEALTH_TIMEOUT_S": "1"},
    )
    assert out.returncode == 2, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and url in errors[0] and "sandbox" in errors[0], out.stderr
    assert "Traceback" not in out.stderr


def test_a_reward_model_that_fails_every_row_stops_the_run_after_patience_steps(tmp_path, tiny, broken_rm):
    """stage 2's reward model is up but cannot score: the run stops with the guard's error, not at max_steps."""
    out = subprocess.run(
        [
            sys.executable, "-m", "rl", "train", "recipes/smoke/stage2.yaml",
            f"output_dir={tmp_path / 'run'}", "model.from_stage=null", f"model.name_or_path={tiny}",
            "rewards=[{name: reward_model, tasks: [ifeval]}]", f"reward_model.path_or_url={broken_rm}",
            "reward_failures.patience=2", "training.max_steps=6", "training.save_steps=100",
            "data.think_prefill=false",  # a random tiny model never closes a thought: its text is the answer
            "training.max_completion_length=8", "training.per_device_train_batch_size=8",
            "training.num_generations=4",
        ],
        capture_output=True, text=True, timeout=600, cwd=REPO,
        env={**os.environ, "WANDB_MODE": "disabled"},
    )  # fmt: skip
    assert out.returncode == 1, out.stderr[-3000:]
    assert re.search(r"error: reward reward_model could not score \d+ of its \d+ rows", out.stderr), (
        out.stderr[-3000:]
    )
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines() if x.strip()]
    assert len(rows) < 6
