"""`python -m rl launch`: the cluster launch plan of one stage, printed, validated, and run.

The plan only wires existing machinery together, node by node:

- first, `python -m rl preflight` on every node (GPUs, NCCL, Docker, disk, wandb, vllm/flash_attn);
- generation: one `trl vllm-serve` server with tensor parallelism on node 0 (or on a share of the GPUs
  of a single node); the trainers reach it through TRL's `vllm_mode=server`;
- code rewards: `python -m sandbox up --replicas R` on every training node, whose trainers reach their
  own node's replicas through the recipe's `sandbox.url`, passed as an override (untrusted code never
  crosses the network);
- stage 2: the reward model served by `python -m verifiers.reward_model serve` beside vLLM;
- health checks (`python -m rl preflight --wait`) on every training node before training starts;
- training: `accelerate launch` (torchrun underneath) with the recipe's DeepSpeed/FSDP config on the
  training nodes, running `python -m rl train`, which resumes from the run's last complete checkpoint.

`--dry-run` prints every command per node, the resolved recipe and the per-GPU memory estimate
(rl/cluster/memory.py) and validates it all without a GPU. `--emit tsv` gives the same steps to
recipes/slurm/stage.sbatch, which starts each one with `srun` on its node. Without Slurm, run
`python -m rl launch --node-rank K --hosts H0,H1,...` on every node (what `make stage1 NODE_RANK=K`
does): it runs that node's steps itself.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from rl.cluster.build import build_plan
from rl.cluster.execute import run_node
from rl.cluster.plan import Plan, emit_tsv, render
from sandbox.auth import SECRET_FILE_ENV, create_secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rl launch",
        description="Plan, validate and run one stage on a GPU cluster: vLLM server, sandboxes, reward model, "
        "health checks, then accelerate launch. --dry-run prints every command per node and a per-GPU memory "
        "estimate without a GPU. On Slurm use make stage1 (recipes/slurm/stage.sbatch); without Slurm run "
        "this with --node-rank K --hosts H0,H1,... on every node.",
    )
    parser.add_argument(
        "--stage", required=True, help="stage1 | stage2 (names recipes/qwen2.5-32b/<stage>.yaml)"
    )
    parser.add_argument("--recipe", help="recipe YAML (default recipes/qwen2.5-32b/<stage>.yaml)")
    parser.add_argument("--nodes", type=int, help="number of nodes (default: the recipe's launch.nodes)")
    parser.add_argument("--gpus-per-node", type=int, help="GPUs per node (default: launch.gpus_per_node)")
    parser.add_argument(
        "--hosts",
        help="comma-separated node addresses, node 0 first (one node: 127.0.0.1; dry runs of several: node0,...)",
    )
    parser.add_argument("--node-rank", type=int, help="run this node's steps here (clusters without Slurm)")
    parser.add_argument(
        "--gpu-memory-gib", type=float, help="memory of one GPU (default: launch.gpu_memory_gib)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print and validate the plan; run nothing")
    parser.add_argument(
        "--device",
        choices=["auto", "cuda", "cpu"],
        default="auto",
        help="auto: a real run here uses CPU processes (gloo, no vLLM) when this machine has no GPU; "
        "plans and sbatch steps are for GPUs",
    )
    parser.add_argument(
        "--force", action="store_true", help="launch even when the memory estimate says it does not fit"
    )
    parser.add_argument(
        "--emit", choices=["text", "tsv", "shape"], default="text", help="plan format (tsv: for sbatch)"
    )
    parser.add_argument(
        "overrides", nargs="*", help="recipe overrides key=value, passed on to python -m rl train"
    )
    args = parser.parse_args(argv)
    recipe_path = args.recipe or f"recipes/qwen2.5-32b/{args.stage}.yaml"
    hosts = [h for h in (args.hosts or "").split(",") if h]
    real_run = not args.dry_run and args.emit == "text"
    device = args.device if args.device != "auto" else ("cuda" if not real_run or has_gpu() else "cpu")
    plan = build_plan(
        args.stage,
        recipe_path,
        nodes=args.nodes,
        gpus_per_node=args.gpus_per_node,
        hosts=hosts,
        overrides=args.overrides,
        gpu_gib=args.gpu_memory_gib,
        dry_run=not (real_run or args.emit == "tsv"),
        device=device,
    )
    refuse_unfit(plan, args.force, launching=not args.dry_run)
    if args.emit == "shape":
        if plan.errors:
            print("\n".join(f"error: {e}" for e in plan.errors), file=sys.stderr)
            return 1
        print(len(plan.hosts), plan.gpus_per_node)
        return 0
    if args.emit == "tsv":
        if plan.errors:
            print("\n".join(f"error: {e}" for e in plan.errors), file=sys.stderr)
            return 1
        for path in {s.env[SECRET_FILE_ENV] for s in plan.steps if SECRET_FILE_ENV in s.env}:
            create_secret(path)  # one sbatch job, one secret, written before any of its services starts
        print(emit_tsv(plan), end="")
        return 0
    if not real_run:
        print(render(plan))
        return 1 if plan.errors else 0
    if args.node_rank is None or not 0 <= args.node_rank < len(plan.hosts or [0]):
        plan.errors.append(
            "a real launch runs one node's steps: pass --node-rank K (0..nodes-1), or use Slurm"
        )
    if plan.errors:
        print(render(plan), file=sys.stderr)
        return 1
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    return run_node(plan, args.node_rank)


def has_gpu() -> bool:
    """Whether this machine has an NVIDIA GPU (nvidia-smi lists one), without importing torch."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "GPU" in out


def refuse_unfit(plan: Plan, force: bool, launching: bool) -> None:
    """A plan whose memory estimate does not fit is an error when it would launch (or be submitted), unless
    forced; a dry run shows it as the warning it already carries, saying that a launch would refuse it."""
    unfit = [e.role for e in plan.estimates if not e.fits]
    if not unfit or force:
        return
    message = (
        f"memory: {', '.join(unfit)} does not fit (see the estimate); a launch refuses this plan: change it as "
        "the warning says, or force it with FORCE=1 (python -m rl launch --force)"
    )
    (plan.errors if launching else plan.warnings).append(message)


if __name__ == "__main__":
    raise SystemExit(main())
