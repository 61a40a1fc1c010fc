"""Running one node's steps on this machine (clusters without Slurm, and CPU machines): services in the
background, the rest in order, teardown always; on Slurm, recipes/slurm/stage.sbatch starts the same steps
with srun instead.

Every command runs in its own process group, so stopping one stops everything it started (torchrun's
ranks, a server's workers). While training runs, a service that exits (a reward-model server killed by
the OOM killer, say) is started again: the rows it could not score meanwhile are None and counted, and
training goes on. A training rank that dies makes torchrun stop the others and exit non-zero; this
node then tears down and exits with that code. Node 0 writes the run's `launch.json` (what ran: nodes,
processes, world size, device, commands, exit code) and the job secret the services check.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from rl.cluster.plan import Plan, Step
from sandbox.auth import SECRET_FILE_ENV, create_secret

SERVICE_RESTARTS = 3  # per service and run: a server that keeps dying is a failure, not an outage
POLL_S = 1.0


class Process:
    """One step's process (its own session) and its log file."""

    def __init__(self, step: Step, node: int, env_path: str) -> None:
        self.step = step
        Path(step.log).parent.mkdir(parents=True, exist_ok=True)
        self.log: IO = open(step.log, "a")  # noqa: SIM115 - closed in stop()
        # Logs are appended to (the teardown's, a rerun's): this step's own lines start here.
        self.log_start = self.log.tell()
        env = {**os.environ, "PATH": env_path, **step.env}
        print(f"[node {node}] {step.kind}: {step.shell()}  (log: {step.log})", flush=True)
        self.proc = subprocess.Popen(
            step.argv, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.restarts = 0

    def poll(self) -> int | None:
        return self.proc.poll()

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM to the process group, SIGKILL after `grace_s`; every child goes with it."""
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError, PermissionError):  # a child that ignored SIGTERM
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def run_node(plan: Plan, node: int) -> int:
    """Run one node's steps here; services stop when training ends. Returns the node's exit code."""
    steps = plan.node_steps(node)
    env_path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    services: list[Process] = []
    current: Process | None = None  # the step being waited for: stopped too when the node is interrupted
    started = time.time()
    record = LaunchRecord(plan, node)
    code = 1

    def on_signal(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds into the teardown below

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        if node == 0:  # a fresh secret per job, before any service reads it
            for path in {s.env[SECRET_FILE_ENV] for s in plan.steps if SECRET_FILE_ENV in s.env}:
                create_secret(path)
        record.write(status="running")
        for step in steps:
            if step.kind == "service":
                services.append(Process(step, node, env_path))
            elif step.kind in ("preflight", "setup", "check", "train"):
                current = proc = Process(step, node, env_path)
                code = supervise(proc, services, node, env_path) if step.kind == "train" else proc.proc.wait()
                proc.stop()
                current = None
                if step.kind == "setup":  # e.g. no Docker on this node: bare sandbox servers instead
                    for line in step_warnings(step.log, proc.log_start):
                        print(f"[node {node}] {step.role} {line}", file=sys.stderr, flush=True)
                if code:
                    print(
                        f"error: {step.role} {step.kind} on node {node} exited {code}: see {step.log}",
                        file=sys.stderr,
                    )
                    if step.kind == "preflight":  # its failing checks say what to do: show them here
                        for line in failing_checks(step.log):
                            print(f"  {line}", file=sys.stderr)
                    return code
        if services and not any(s.kind == "train" for s in steps):
            code = serve_until_stopped(services, node)
            return code
        code = 0
        return 0
    except KeyboardInterrupt:
        code = 130
        return code
    except SystemExit as e:
        code = int(e.code or 1)
        return code
    finally:
        if current is not None:  # interrupted (SIGTERM, Ctrl-C) while a step ran: its whole group goes
            current.stop()
        for step in steps:
            if step.kind == "teardown":
                down = Process(step, node, env_path)
                down.proc.wait()
                down.stop()
        for service in services:
            service.stop()
        record.write(
            status="finished" if code == 0 else "failed", exit_code=code, wall_s=time.time() - started
        )
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def supervise(train: Process, services: list[Process], node: int, env_path: str) -> int:
    """Wait for training; restart a service that exits meanwhile (up to SERVICE_RESTARTS times)."""
    while (code := train.poll()) is None:
        for i, service in enumerate(services):
            if service.poll() is None:
                continue
            step = service.step
            if service.restarts >= SERVICE_RESTARTS:
                print(
                    f"error: {step.role} on node {node} exited {service.poll()} {service.restarts + 1} times: "
                    f"stopping the run (see {step.log})",
                    file=sys.stderr,
                )
                train.stop()
                return service.poll() or 1
            print(
                f"[node {node}] {step.role} exited {service.poll()} during training: restarting it "
                f"(its rows score None until it answers again; log: {step.log})",
                file=sys.stderr,
                flush=True,
            )
            service.stop(grace_s=1)
            fresh = Process(step, node, env_path)
            fresh.restarts = service.restarts + 1
            services[i] = fresh
        time.sleep(POLL_S)
    return code


def failing_checks(log: str) -> list[str]:
    """The `FAIL` lines `python -m rl preflight` wrote to a step's log."""
    try:
        return [
            line.rstrip()
            for line in Path(log).read_text(errors="replace").splitlines()
            if line.startswith("FAIL")
        ]
    except OSError:
        return []


def step_warnings(log: str, start: int = 0) -> list[str]:
    """The `warning:` lines a step wrote to its log from byte `start` on (what a user must see on the
    console, not only in the log: a sandbox that fell back to bare servers, say)."""
    try:
        with open(log, "rb") as f:
            f.seek(start)
            text = f.read().decode(errors="replace")
    except OSError:
        return []
    return [line.rstrip() for line in text.splitlines() if line.startswith("warning:")]


def serve_until_stopped(services: list[Process], node: int) -> int:
    print(f"[node {node}] serving until stopped (Ctrl-C); training runs on the other nodes", flush=True)
    while all(s.poll() is None for s in services):
        time.sleep(5)
    dead = next(s for s in services if s.poll() is not None)
    print(
        f"error: {dead.step.role} on node {node} exited {dead.poll()}: see {dead.step.log}", file=sys.stderr
    )
    return dead.poll() or 1


class LaunchRecord:
    """`launch.json` in the run directory, written by node 0: what ran, where, and how it ended."""

    def __init__(self, plan: Plan, node: int) -> None:
        self.plan, self.node = plan, node
        self.path = plan.recipe.run_dir / "launch.json" if plan.recipe is not None else None
        self.started = datetime.now(UTC).isoformat(timespec="seconds")

    def write(self, **extra: object) -> None:
        if self.node != 0 or self.path is None:
            return  # one writer: every node of a job shares the run directory
        info = {**self.plan.launch_info(), "started": self.started, **extra}
        if "exit_code" in extra:
            info["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(info, indent=2) + "\n")
        tmp.replace(self.path)
