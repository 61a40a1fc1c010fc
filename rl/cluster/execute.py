"""Running one node's steps on this machine (clusters without Slurm): services in the background, the rest in
order, teardown always; on Slurm, recipes/slurm/stage.sbatch starts the same steps with srun instead."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from rl.cluster.plan import Plan, Step


def run_node(plan: Plan, node: int) -> int:
    """Run one node's steps here (the path for clusters without Slurm); services stop when training ends."""
    steps = plan.node_steps(node)
    env_path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    services: list[tuple[Step, subprocess.Popen]] = []

    def start(step: Step) -> subprocess.Popen:
        Path(step.log).parent.mkdir(parents=True, exist_ok=True)
        log = open(step.log, "a")  # noqa: SIM115 - the child keeps it
        env = {**os.environ, "PATH": env_path, **step.env}
        print(f"[node {node}] {step.kind}: {step.shell()}  (log: {step.log})", flush=True)
        return subprocess.Popen(step.argv, env=env, stdout=log, stderr=subprocess.STDOUT)

    try:
        for step in steps:
            if step.kind == "service":
                services.append((step, start(step)))
            elif step.kind in ("preflight", "setup", "check", "train"):
                code = start(step).wait()
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
            print(
                f"[node {node}] serving until stopped (Ctrl-C); training runs on the other nodes", flush=True
            )
            while all(p.poll() is None for _, p in services):
                time.sleep(5)
            step, proc = next((s, p) for s, p in services if p.poll() is not None)
            print(
                f"error: {step.role} on node {node} exited {proc.returncode}: see {step.log}", file=sys.stderr
            )
            return proc.returncode or 1
        return 0
    finally:
        for step in steps:
            if step.kind == "teardown":
                start(step).wait()
        for _, proc in services:
            proc.terminate()


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
