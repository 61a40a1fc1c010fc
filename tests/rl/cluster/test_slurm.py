"""recipes/slurm/stage.sbatch under a stubbed Slurm: the exact srun command it starts on each node."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "recipes" / "slurm" / "stage.sbatch"
HOSTS = ["gpu01", "gpu02", "gpu03", "gpu04"]
ENV = "NCCL_ASYNC_ERROR_HANDLING=1 TOKENIZERS_PARALLELISM=false"
SANDBOX_URL = ",".join(f"http://127.0.0.1:{8080 + i}" for i in range(8))
SANDBOX_HEALTH = ",".join(f"http://127.0.0.1:{8080 + i}/health" for i in range(8))

SRUN = """#!{python}
# Records its arguments, one JSON file per call. Services run until killed (or die at once with
# $STUB_SERVICE_DIES); a command containing $STUB_FAIL fails; one containing $STUB_SLOW takes 3 s.
# With $STUB_TRAIN_STOPS, training runs until the job's stop file appears, then exits 75 as rl train does.
# A setup step (`sandbox up ... && exec sleep infinity`) stays until killed, as the real step does; with
# $STUB_NO_DOCKER it writes the fallback warning `sandbox up` prints on a node without Docker.
import json, os, sys, tempfile, time
fd, _ = tempfile.mkstemp(dir=os.environ["STUB_CALLS"], suffix=".json")
os.write(fd, json.dumps(sys.argv[1:]).encode())
cmd = sys.argv[-1]
calls = os.environ["STUB_CALLS"]
log = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--output="))
host = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--nodelist="))
if "--wait sandbox=" in cmd:  # the health check returns once this node's sandboxes are up (or never will)
    deadline = time.time() + 60
    while not os.path.exists(os.path.join(calls, f"ready-{{host}}")) and time.time() < deadline:
        if os.path.exists(os.path.join(calls, f"failed-{{host}}")):
            time.sleep(2)
            sys.exit(1)
        time.sleep(0.05)
if "accelerate launch" in cmd:  # which setup steps are still running while training starts
    alive = []
    for f in os.listdir(calls):
        if f.startswith("setup-pid-"):
            try:
                os.kill(int(f[10:]), 0)
                alive.append(f)
            except ProcessLookupError:
                pass
    with open(os.path.join(calls, "setup-alive-at-train"), "a") as f:
        f.write(f"{{len(alive)}}\\n")
if os.environ.get("STUB_TRAIN_STOPS") and "accelerate launch" in cmd:
    stop, deadline = os.environ["OPEN_QWQ_STOP_FILE"], time.time() + 60
    open(os.path.join(calls, "train-started"), "a").close()
    while not os.path.exists(stop) and time.time() < deadline:
        time.sleep(0.05)
    sys.exit(75 if os.path.exists(stop) else 0)
if os.environ.get("STUB_FAIL") and os.environ["STUB_FAIL"] in cmd:
    open(os.path.join(calls, f"failed-{{host}}"), "w").close()
    with open(log, "a") as f:  # what a failing preflight writes: its checks, FAIL lines among them
        f.write("ok    nccl       2.21\\nFAIL  gpus       7 GPUs visible, expected 8: check --gres\\n")
    sys.exit(1)
if "vllm-serve" in cmd or "reward_model serve" in cmd:
    sys.exit(1) if os.environ.get("STUB_SERVICE_DIES") else time.sleep(600)
if cmd.endswith("&& exec sleep infinity"):
    if os.environ.get("STUB_NO_DOCKER") and "--fallback-bare" in cmd:
        with open(log, "a") as f:
            f.write("warning: no Docker engine reachable on this node: starting the bare sandbox server instead\\n")
    open(os.path.join(calls, f"setup-pid-{{os.getpid()}}"), "w").close()
    open(os.path.join(calls, f"ready-{{host}}"), "w").close()
    time.sleep(600)
if os.environ.get("STUB_SLOW") and os.environ["STUB_SLOW"] in cmd:
    time.sleep(3)
"""
SCONTROL = """#!/bin/bash
if [[ $1 == show && $2 == hostnames ]]; then printf '%s\\n' {hosts}; else echo "scontrol $*" >>"$STUB_CALLS/scontrol.log"; fi
"""


def run_sbatch(tmp_path: Path, **stub_env: str) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    env, calls = stubbed_slurm(tmp_path, **stub_env)
    proc = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300)
    recorded = [json.loads(p.read_text()) for p in calls.glob("*.json")]
    return proc, recorded


def stubbed_slurm(tmp_path: Path, **stub_env: str) -> tuple[dict[str, str], Path]:
    """The environment of a batch job whose srun/scontrol are the stubs above; and where calls land."""
    stubs, calls = tmp_path / "bin", tmp_path / "calls"
    stubs.mkdir()
    calls.mkdir()
    (stubs / "srun").write_text(SRUN.format(python=sys.executable))
    (stubs / "scontrol").write_text(SCONTROL.format(hosts=" ".join(HOSTS)))
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{stubs}:{os.environ['PATH']}",
        "STUB_CALLS": str(calls),
        **{f"STUB_{k.upper()}": v for k, v in stub_env.items()},
        "WATCH_S": "0.2",
        "SLURM_SUBMIT_DIR": str(ROOT),
        "SLURM_JOB_NODELIST": "gpu[01-04]",
        "SLURM_JOB_NUM_NODES": "4",
        "SLURM_JOB_ID": "4242",
        "SLURM_CPUS_ON_NODE": "64",  # sizes the sandbox slots (64 / 2 / 8 replicas) and sympy workers (64 / 4 / 8)
        "STAGE": "stage1",
        "GPUS_PER_NODE": "8",
        "ARGS": f"output_dir={tmp_path}/run",
        "PY": sys.executable,
    }
    return env, calls


def srun_call(host: str, log: str, command: str) -> list[str]:
    return [
        "--overlap", "--nodes=1", "--ntasks=1", f"--nodelist={host}", "--gres=gpu:8",
        f"--output={log}", "--open-mode=append", "bash", "-c", command,
    ]  # fmt: skip


def expected_calls(run: str) -> list[list[str]]:
    logs = f"{run}/logs"
    calls = [
        srun_call(
            "gpu01",
            f"{logs}/preflight-node0.log",
            "python -m rl preflight --gpus 8 --require vllm --skip image,docker,disk,wandb",
        ),
        srun_call(
            "gpu01",
            f"{logs}/vllm-node0.log",
            f"{ENV} CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7 trl vllm-serve --model Qwen/Qwen2.5-32B "
            "--revision 1818d35814b8319459f4bd55ed1ac8709630f003 --tensor-parallel-size 8 --data-parallel-size 1 --host 0.0.0.0 --port 8000 "
            "--gpu-memory-utilization 0.9 --dtype bfloat16 --enable-prefix-caching true --max-model-len 18432",
        ),
    ]
    for rank, host in enumerate(HOSTS[1:]):
        node = rank + 1
        calls += [
            srun_call(
                host,
                f"{logs}/preflight-node{node}.log",
                f"python -m rl preflight --gpus 8 --run-dir {run} --disk-gib 1526 --require vllm,flash_attn "
                "--skip image,docker",
            ),
            srun_call(
                host,
                f"{logs}/sandbox-node{node}.log",
                f"{ENV} python -m sandbox up --replicas 8 --port 8080 --workers 4 --fallback-bare"
                " && exec sleep infinity",  # kept running: bare servers die with a step that returns
            ),
            srun_call(
                host,
                f"{logs}/health-node{node}.log",
                "python -m rl preflight --timeout 1800 --wait vllm=http://gpu01:8000/health "
                f"--wait sandbox={SANDBOX_HEALTH}",
            ),
            srun_call(
                host,
                f"{logs}/train-node{node}.log",
                f"{ENV} accelerate launch --config_file recipes/accelerate/zero3.yaml "
                f"--num_machines 3 --num_processes 24 --machine_rank {rank} --main_process_ip gpu02 "
                f"--main_process_port 29500 -m rl train recipes/qwen2.5-32b/stage1.yaml output_dir={run} "
                "launch.nodes=4 launch.gpus_per_node=8 training.use_vllm=true training.vllm_mode=server "
                "training.vllm_server_host=gpu01 training.vllm_server_port=8000 rewards.0.kwargs.workers=2 "
                f"sandbox.url={SANDBOX_URL}",
            ),
            srun_call(
                host, f"{logs}/sandbox-node{node}.log", "python -m sandbox down --replicas 8 --port 8080"
            ),
        ]
    return calls


def test_the_slurm_script_parses():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_4x8_stage1_starts_exactly_these_commands_on_each_node(tmp_path):
    proc, recorded = run_sbatch(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(recorded) == sorted(expected_calls(f"{tmp_path}/run"))
    assert "stage1 finished" in proc.stdout
    assert (tmp_path / "run" / "logs").is_dir()  # srun --output needs the folder


def test_a_failed_health_check_names_the_node_and_never_starts_training(tmp_path):
    proc, recorded = run_sbatch(tmp_path, fail="--wait vllm=")  # the health check of the services
    assert proc.returncode != 0
    assert f"check step on node 1 (gpu02) failed: see {tmp_path}/run/logs/health-node1.log" in proc.stderr
    commands = [call[-1] for call in recorded]
    assert not any("accelerate launch" in c for c in commands)
    assert (
        sum(c == "python -m sandbox down --replicas 8 --port 8080" for c in commands) == 3
    )  # teardown still runs


def test_a_failed_preflight_echoes_its_failing_checks_not_only_the_log_path(tmp_path):
    proc, recorded = run_sbatch(tmp_path, fail="--run-dir")  # the training nodes' preflight
    assert proc.returncode != 0
    assert "open-qwq:   FAIL  gpus       7 GPUs visible, expected 8: check --gres" in proc.stderr
    assert "nccl" not in proc.stderr  # only the failing checks
    assert not any("accelerate launch" in call[-1] for call in recorded)


def test_a_service_that_dies_stops_the_job_naming_it_before_training(tmp_path):
    proc, recorded = run_sbatch(tmp_path, service_dies="1", slow="--wait vllm=")
    assert proc.returncode != 0
    assert "open-qwq: service step on node 0 (gpu01) exited during the" in proc.stderr
    assert f"see {tmp_path}/run/logs/vllm-node0.log" in proc.stderr
    assert not any("accelerate launch" in call[-1] for call in recorded)


def test_the_time_limit_signal_checkpoints_through_the_stop_file_then_requeues(tmp_path):
    env, calls = stubbed_slurm(tmp_path, train_stops="1")
    env["OPEN_QWQ_STOP_FILE"] = str(tmp_path / "stop")
    job = subprocess.Popen(
        ["bash", str(SCRIPT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 240
        while not (calls / "train-started").exists() and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (calls / "train-started").exists(), "training never started"
        job.send_signal(signal.SIGUSR1)  # what --signal=B:USR1@<lead> sends the batch shell
        out, err = job.communicate(timeout=120)
    finally:
        job.kill()
    assert job.returncode == 0, err
    assert (calls / "scontrol.log").read_text().splitlines() == ["scontrol requeue 4242"]
    assert "stopped for the time limit; requeueing job 4242" in err and "finished" not in out
    assert not (tmp_path / "stop").exists()  # the requeued run starts without the old request


def test_make_submits_with_sbatch_args_and_passes_gpu_memory_to_the_job(tmp_path):
    """`make stage1` with sbatch on PATH: SBATCH_ARGS reach sbatch as given, GPU_MEM and FORCE reach the job."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    record = tmp_path / "sbatch.json"
    (stubs / "sbatch").write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"json.dump({{'argv': sys.argv[1:], 'GPU_MEM': os.environ.get('GPU_MEM'), 'FORCE': os.environ.get('FORCE')}},"
        f" open({str(record)!r}, 'w'))\n"
    )
    (stubs / "sbatch").chmod(0o755)
    args = ["NODES=4", "GPU_MEM=141", "SBATCH_ARGS=--partition=gpu --account=proj --time=48:00:00 --qos=high"]
    out = subprocess.run(
        ["make", "-s", "stage1", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    submitted = json.loads(record.read_text())
    assert submitted["argv"][:2] == ["--nodes=4", "--gpus-per-node=8"]
    assert submitted["argv"][2:6] == ["--partition=gpu", "--account=proj", "--time=48:00:00", "--qos=high"]
    assert submitted["argv"][-1] == "recipes/slurm/stage.sbatch" and submitted["GPU_MEM"] == "141"
    assert 'GPU_MEM:+--gpu-memory-gib "$GPU_MEM"' in SCRIPT.read_text()  # and the job hands it to the plan


def test_sandbox_setup_steps_outlive_training_and_a_node_without_docker_says_so_once(tmp_path):
    """Bare sandbox servers live inside their setup step: the step must still run while training does
    (Slurm kills what is left in a step once its command returns); the fallback warning reaches the job's
    output once per training node, not only the step log."""
    proc, recorded = run_sbatch(tmp_path, no_docker="1")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "calls" / "setup-alive-at-train").read_text().split() == ["3", "3", "3"]
    warned = [line for line in proc.stderr.splitlines() if "warning: no Docker engine" in line]
    assert sorted(warned) == [
        f"open-qwq: setup step on node {node} (gpu0{node + 1}): warning: no Docker engine reachable on this "
        "node: starting the bare sandbox server instead"
        for node in (1, 2, 3)
    ]


def test_a_sandbox_setup_that_fails_stops_the_job_before_training_naming_its_log(tmp_path):
    proc, recorded = run_sbatch(tmp_path, fail="python -m sandbox up")
    assert proc.returncode != 0
    # Every node's setup fails; the ones down when the check phase looks are named, each with its own log.
    named = re.findall(
        r"open-qwq: setup step on node (\d) \((gpu\d+)\) exited during the check phase: see (\S+)",
        proc.stderr,
    )
    assert named, proc.stderr
    for node, host, log in named:
        assert (host, log) == (f"gpu0{int(node) + 1}", f"{tmp_path}/run/logs/sandbox-node{node}.log")
    assert not any("accelerate launch" in call[-1] for call in recorded)
