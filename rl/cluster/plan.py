"""The launch plan's data: the steps per node, which GPUs do what, and the plan as text or TSV for sbatch."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from rl.cluster import memory
from rl.recipe import Recipe

PHASES = ("preflight", "service", "setup", "check", "train", "teardown")
HEALTH_TIMEOUT_S = 1800  # loading 32B weights into vLLM over tensor parallelism takes minutes
# The reward model reads the prompt and the final answer only (after </think>): 4096 tokens hold both.
RM_MAX_LENGTH = 4096


@dataclass
class Step:
    """One command on one node. `kind` is its phase: services keep running while the others finish."""

    kind: str  # preflight | service | setup | check | train | teardown
    node: int
    host: str
    role: str  # preflight | vllm | reward_model | sandbox | health | train
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    log: str = ""

    def shell(self) -> str:
        """The command as one shell line: environment assignments, then the quoted argv."""
        env = [f"{k}={shlex.quote(v)}" for k, v in self.env.items()]
        return " ".join([*env, shlex.join(self.argv)])


@dataclass
class Plan:
    stage: str
    recipe_path: str
    recipe: Recipe | None = None
    hosts: list[str] = field(default_factory=list)
    gpus_per_node: int = 8
    steps: list[Step] = field(default_factory=list)
    layout: list[str] = field(default_factory=list)  # one line per node: what its GPUs do
    estimates: list[memory.Estimate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def node_steps(self, node: int) -> list[Step]:
        return [s for s in self.steps if s.node == node]


@dataclass
class Layout:
    """Which GPUs of which node do what."""

    vllm_node: int | None
    vllm_gpus: list[int]
    rm_gpus: list[int]
    train_nodes: list[int]
    train_gpus: list[int]  # GPU ids on every training node

    @property
    def shared_node(self) -> bool:
        return self.vllm_node is not None and self.vllm_node in self.train_nodes


def gpu_list(ids: list[int]) -> str:
    return ",".join(map(str, ids))


def gpu_range(ids: list[int]) -> str:
    return f"GPU {ids[0]}" if len(ids) == 1 else f"GPUs {ids[0]}-{ids[-1]}"


def render(plan: Plan) -> str:
    """The human-readable plan: layout, commands per node, memory, resolved recipe, validation."""
    out = [f"open-qwq launch plan: {plan.stage} from {plan.recipe_path}"]
    if plan.recipe is not None:
        r = plan.recipe
        out.append(f"model: {r.model_path}   run dir: {r.run_dir}")
        out.append(f"cluster: {len(plan.hosts)} node(s) x {plan.gpus_per_node} GPUs")
    out += [f"  {line}" for line in plan.layout]
    out += [f"  {n}" for n in plan.notes]
    if plan.steps:
        out.append("\ncommands per node (phases: preflight, service, setup, check, train, teardown):")
        for node, host in enumerate(plan.hosts):
            out.append(f"node {node} ({host}):")
            for s in plan.node_steps(node):
                out.append(f"  [{s.kind}] {s.shell()}")
                out.append(f"      log: {s.log}")
    if plan.estimates:
        out.append("\nper-GPU memory estimate (rl/cluster/memory.py):")
        out += [e.table() for e in plan.estimates]
    if plan.recipe is not None:
        out.append("\nresolved recipe (what python -m rl train sees):")
        out += ["  " + line for line in plan.recipe.to_yaml().splitlines()]
    out.append("")
    out += [f"warning: {w}" for w in plan.warnings]
    out += [f"error: {e}" for e in plan.errors]
    verdict = "INVALID" if plan.errors else "valid"
    out.append(f"plan {verdict}: {len(plan.errors)} errors, {len(plan.warnings)} warnings")
    return "\n".join(out)


def emit_tsv(plan: Plan) -> str:
    """One line per step for recipes/slurm/stage.sbatch: kind, node, host, log, shell command."""
    return "".join(f"{s.kind}\t{s.node}\t{s.host}\t{s.log}\t{s.shell()}\n" for s in plan.steps)
