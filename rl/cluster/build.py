"""Plan building: which node runs which service and command (vLLM, reward model, sandboxes, health wait,
`accelerate launch`), from the recipe and the cluster shape."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rl.cluster.plan import HEALTH_TIMEOUT_S, PHASES, RM_MAX_LENGTH, Layout, Plan, Step, gpu_list
from rl.cluster.validate import (
    check_batch,
    check_tensor_parallel,
    checkpoint_gib,
    describe_layout,
    describe_resume,
    estimate,
    model_shape_for,
)
from rl.recipe import Recipe, RecipeError, load_recipe
from sandbox.auth import SECRET_FILE_ENV
from sandbox.container import replica_addresses

LOOPBACK = ("127.0.0.1", "localhost", "::1")
CPU_ACCELERATE_CONFIG = "recipes/accelerate/ddp.yaml"  # torchrun processes; on CPU they pair over gloo


@dataclass
class Wiring:
    """Builds the steps of a plan: each method adds one service or one kind of per-node step."""

    recipe: Recipe
    hosts: list[str]
    layout: Layout
    logs: Path
    device: str = "cuda"
    steps: list[Step] = field(default_factory=list)
    health: list[str] = field(default_factory=list)  # NAME=URL for `python -m rl preflight --wait`
    train_overrides: list[str] = field(default_factory=list)
    sandbox_urls: dict[int, list[str]] = field(default_factory=dict)

    @property
    def local(self) -> bool:
        """Every node on this machine (one node, or node ranks side by side on loopback): services listen
        on 127.0.0.1 and need no secret; otherwise they listen on the network and check the job secret."""
        return len(self.hosts) == 1 or all(h in LOOPBACK for h in self.hosts)

    def service_host(self, node: int) -> str:
        return "127.0.0.1" if self.local else self.hosts[node]

    @property
    def bind(self) -> str:
        return "127.0.0.1" if self.local else "0.0.0.0"

    @property
    def secret_env(self) -> dict[str, str]:
        """The job secret for our servers reachable beyond loopback (the reward-model server) and for their
        clients; rl/cluster/execute.py (or the sbatch plan) writes the file before any service starts."""
        served = any(s.role == "reward_model" for s in self.steps)
        return {} if self.local or not served else {SECRET_FILE_ENV: str(self.logs / "job.secret")}

    def add(
        self, kind: str, node: int, role: str, argv: list[str], env: dict[str, str] | None = None
    ) -> None:
        log = str(self.logs / f"{role}-node{node}.log")
        self.steps.append(Step(kind, node, self.hosts[node], role, argv, dict(env or {}), log))

    def vllm_server(self, tp: int) -> None:
        """`trl vllm-serve` on the vLLM node's GPU share; the trainers use it in TRL's server mode."""
        recipe, launch, node = self.recipe, self.recipe.launch, self.layout.vllm_node or 0
        argv = ["trl", "vllm-serve", "--model", recipe.model_path]
        if recipe.model.revision:
            argv += ["--revision", recipe.model.revision]
        argv += [
            "--tensor-parallel-size", str(tp),
            "--data-parallel-size", "1",
            "--host", self.bind,  # TRL's server has no authentication: keep a cluster network private
            "--port", str(launch.vllm_port),
            "--gpu-memory-utilization", str(recipe.training.get("vllm_gpu_memory_utilization", 0.9)),
            "--dtype", recipe.model.dtype,
            "--enable-prefix-caching", "true",  # the samples of a group share their prompt
        ]  # fmt: skip
        if recipe.training.get("vllm_max_model_length"):
            argv += ["--max-model-len", str(recipe.training["vllm_max_model_length"])]
        if recipe.model.trust_remote_code:
            argv += ["--trust-remote-code", "true"]
        self.add(
            "service",
            node,
            "vllm",
            argv,
            {**launch.env, "CUDA_VISIBLE_DEVICES": gpu_list(self.layout.vllm_gpus)},
        )
        host = self.service_host(node)
        self.health.append(f"vllm=http://{host}:{launch.vllm_port}/health")
        self.train_overrides += [
            "training.use_vllm=true",
            "training.vllm_mode=server",
            f"training.vllm_server_host={host}",
            f"training.vllm_server_port={launch.vllm_port}",
        ]

    def reward_model_server(self) -> None:
        """The reward model on its GPU share beside vLLM; the trainers score through its URL."""
        recipe, launch, node = self.recipe, self.recipe.launch, self.layout.vllm_node or 0
        argv = [
            "python", "-m", "verifiers.reward_model", "serve",
            "--model", str(recipe.reward_model.path_or_url),
            *(["--revision", recipe.reward_model.revision] if recipe.reward_model.revision else []),
            "--host", self.bind,
            "--port", str(launch.reward_model_port),
            "--batch-size", str(recipe.reward_model.batch_size),
            "--max-length", str(RM_MAX_LENGTH),
        ]  # fmt: skip
        env = {**launch.env, **({} if self.local else {SECRET_FILE_ENV: str(self.logs / "job.secret")})}
        if self.device == "cpu":
            argv += ["--device", "cpu"]
        else:  # its own GPU share, or (launch.reward_model_gpus=0) the first training GPU of node 0
            gpus = self.layout.rm_gpus or self.layout.train_gpus[:1]
            env["CUDA_VISIBLE_DEVICES"] = gpu_list(gpus)
        self.add("service", node, "reward_model", argv, env)
        url = f"http://{self.service_host(node)}:{launch.reward_model_port}"
        self.health.append(f"reward_model={url}/health")
        self.train_overrides.append(f"reward_model.path_or_url={url}")

    def training_nodes(
        self, recipe_path: str, overrides: list[str], acc_path: Path, n_train: int, sandbox: bool
    ) -> None:
        """Per training node: sandbox replicas, the health wait, `accelerate launch`, sandbox teardown."""
        recipe, launch, layout = self.recipe, self.recipe.launch, self.layout
        env = {**launch.env, **self.secret_env}
        if layout.shared_node and self.device != "cpu":
            env["CUDA_VISIBLE_DEVICES"] = gpu_list(layout.train_gpus)
        n_replicas = recipe.sandbox.replicas
        sizes = worker_sizes(recipe, len(layout.train_gpus))
        for rank, node in enumerate(layout.train_nodes):
            # Node ranks sharing a host (loopback) get their own block of sandbox ports.
            port = launch.sandbox_port + n_replicas * self.hosts[:node].count(self.hosts[node])
            _, urls, _ = replica_addresses(n_replicas, port, socket=None)
            replicas = ["--replicas", str(n_replicas), "--port", str(port)]
            node_overrides = list(self.train_overrides) + sizes.overrides
            waits = list(self.health)
            if sandbox:  # each node's trainers judge on their own node's replicas, never across the network
                self.sandbox_urls[node] = urls
                node_overrides.append("sandbox.url=" + ",".join(urls))
                waits.append("sandbox=" + ",".join(f"{u}/health" for u in urls))
                up = [  # no Docker: bare servers, warned
                    "python", "-m", "sandbox", "up", *replicas,
                    "--workers", str(sizes.sandbox_slots), "--fallback-bare",
                ]  # fmt: skip
                self.add("setup", node, "sandbox", up, launch.env)
            if waits:
                argv = ["python", "-m", "rl", "preflight", "--timeout", str(HEALTH_TIMEOUT_S)]
                self.add("check", node, "health", argv + [a for w in waits for a in ("--wait", w)])
            cpu = ["--mixed_precision", "no"] if self.device == "cpu" else []
            argv = [
                "accelerate", "launch",
                "--config_file", str(acc_path), *cpu,
                "--num_machines", str(len(layout.train_nodes)),
                "--num_processes", str(n_train),
                "--machine_rank", str(rank),
                "--main_process_ip", self.service_host(layout.train_nodes[0]),
                "--main_process_port", str(launch.main_process_port),
                "-m", "rl", "train", recipe_path, *overrides, *node_overrides,
            ]  # fmt: skip
            self.add("train", node, "train", argv, env)
            if sandbox:
                self.add("teardown", node, "sandbox", ["python", "-m", "sandbox", "down", *replicas])

    def node_preflights(self, disk_gib: int) -> None:
        """`python -m rl preflight` on every node before anything starts there."""
        for node in range(len(self.hosts)):
            trains = node in self.layout.train_nodes
            argv = ["python", "-m", "rl", "preflight"]
            if self.device != "cpu":
                argv += ["--gpus", str(self.recipe.launch.gpus_per_node)]
            if trains:
                argv += ["--run-dir", str(self.recipe.run_dir), "--disk-gib", str(disk_gib)]
            serves_vllm = node == self.layout.vllm_node and bool(self.layout.vllm_gpus)
            # trainers import TRL's vLLM client (server mode) or run vLLM themselves (colocate)
            vllm_client = (
                trains
                and self.device != "cpu"  # on CPU the trainer generates itself (training.use_vllm=false)
                and self.recipe.trainer == "grpo"
                and bool(self.recipe.training.get("use_vllm"))
            )
            needs = ["vllm"] if serves_vllm or vllm_client else []
            if trains and self.recipe.model.attn_implementation == "flash_attention_2":
                needs.append("flash_attn")
            if needs:
                argv += ["--require", ",".join(needs)]
            # `python -m sandbox up` builds a missing image, and without Docker starts bare servers (warned).
            skip = ["image", "docker"]
            skip += ["gpus", "nccl"] if self.device == "cpu" else []
            skip += [] if trains else ["disk", "wandb"]
            self.add("preflight", node, "preflight", argv + ["--skip", ",".join(skip)])


@dataclass
class WorkerSizes:
    """CPU shares on a training node, so that no limit measured in wall-clock time turns into a false
    timeout: half the cores for the sandbox replicas' execution slots, a quarter for the sympy workers of
    all ranks, the rest for the trainers (tokenisation, data loading, vLLM's scheduler)."""

    cores: int
    sandbox_slots: int
    math_workers: int
    overrides: list[str]


def node_cores() -> int:
    """Cores of a node: Slurm's count for the allocation when there is one, else this machine's."""
    return int(os.environ.get("SLURM_CPUS_ON_NODE") or os.cpu_count() or 1)


def worker_sizes(recipe: Recipe, processes: int) -> WorkerSizes:
    """Sandbox slots per replica and math workers per rank from the node's cores and process count; a
    value the recipe sets (sandbox.workers, rewards.<i>.kwargs.workers) wins."""
    cores = node_cores()
    slots = recipe.sandbox.workers or max(1, cores // (2 * max(1, recipe.sandbox.replicas)))
    math_workers = max(1, cores // (4 * max(1, processes)))
    overrides = [
        f"rewards.{i}.kwargs.workers={math_workers}"
        for i, spec in enumerate(recipe.rewards)
        if spec.name == "math_accuracy" and "workers" not in spec.kwargs
    ]
    return WorkerSizes(cores, slots, math_workers, overrides)


def accelerate_setup(path: Path) -> tuple[int, bool, bool, str]:
    """(ZeRO stage, optimizer offloaded, params offloaded, label) read from an accelerate config."""
    config = yaml.safe_load(path.read_text()) or {}
    kind = str(config.get("distributed_type", "NO")).upper()
    if kind == "DEEPSPEED":
        ds = config.get("deepspeed_config") or {}
        if "deepspeed_config_file" in ds:
            import json

            ds_file = json.loads(Path(ds["deepspeed_config_file"]).read_text())
            zero = ds_file.get("zero_optimization", {})
            stage = int(zero.get("stage", 0))
            opt = zero.get("offload_optimizer", {}).get("device", "none") not in (None, "none")
            par = zero.get("offload_param", {}).get("device", "none") not in (None, "none")
        else:
            stage = int(ds.get("zero_stage", 0))
            opt = ds.get("offload_optimizer_device", "none") not in (None, "none")
            par = ds.get("offload_param_device", "none") not in (None, "none")
        return stage, opt, par, f"DeepSpeed ZeRO-{stage}"
    if kind == "FSDP":
        fsdp = config.get("fsdp_config") or {}
        offload = bool(fsdp.get("fsdp_offload_params", False))
        return 3, offload, offload, f"FSDP{fsdp.get('fsdp_version', 1)} full sharding"
    return 0, False, False, "DDP (no sharding)"


def is_url(value: str | None) -> bool:
    return bool(value) and str(value).startswith(("http://", "https://", "unix:"))


def build_plan(
    stage: str,
    recipe_path: str,
    nodes: int | None = None,
    gpus_per_node: int | None = None,
    hosts: list[str] | None = None,
    overrides: list[str] | None = None,
    gpu_gib: float | None = None,
    dry_run: bool = True,
    device: str = "cuda",
) -> Plan:
    """The per-node steps, memory estimate and validation of one stage; errors are collected, not raised.

    `device="cpu"` (a machine without GPUs) runs the same plan with CPU training processes over gloo:
    generation in the trainer instead of vLLM, the reward model served on CPU, plain data parallel.
    """
    plan = Plan(stage=stage, recipe_path=recipe_path, device=device)
    cpu = device == "cpu"
    overrides = list(overrides or [])
    shape_overrides = [f"launch.nodes={nodes}"] if nodes else []
    shape_overrides += [f"launch.gpus_per_node={gpus_per_node}"] if gpus_per_node else []
    shape_overrides += [f"launch.gpu_memory_gib={gpu_gib}"] if gpu_gib else []  # GPU_MEM reaches the recipe
    try:
        recipe = load_recipe(recipe_path, overrides + shape_overrides)
    except RecipeError as e:
        plan.errors.append(f"recipe {recipe_path}: {e}")
        return plan
    if recipe.stage != stage:
        plan.errors.append(
            f"{recipe_path} is a {recipe.stage!r} recipe, not {stage!r}: pass RECIPE=<the {stage} recipe>"
        )
    launch = recipe.launch
    n_nodes, gpn = launch.nodes, launch.gpus_per_node
    plan.gpus_per_node = gpn
    if n_nodes < 1 or gpn < 1:
        plan.errors.append(f"launch.nodes={n_nodes} and launch.gpus_per_node={gpn} must both be >= 1")
        return plan
    hosts = list(hosts or [])
    if not hosts and n_nodes == 1:
        hosts = ["127.0.0.1"]  # one node needs no host list: everything talks over loopback
    elif not hosts:
        hosts = [f"node{i}" for i in range(n_nodes)]
        if not dry_run:
            plan.errors.append(
                f"{n_nodes} nodes need --hosts H0,H1,... (node 0 first; with make: HOSTS=h0,h1,... NODE_RANK=k "
                "on every node), or submit on Slurm (make stage1 where sbatch exists)"
            )
    if len(hosts) != n_nodes:
        plan.errors.append(
            f"--hosts names {len(hosts)} nodes but the launch has {n_nodes}: give one per node"
        )
        return plan
    plan.hosts = hosts

    shape = model_shape_for(recipe, recipe_path, plan)
    grpo = recipe.trainer == "grpo"
    rm_served = (
        grpo
        and any(r.name == "reward_model" for r in recipe.rewards)
        and not is_url(recipe.reward_model.path_or_url)
    )
    sandbox_needed = (
        grpo and any(r.name == "code_execution" for r in recipe.rewards) and not recipe.sandbox.url
    )

    # One node: vLLM needs a share of its GPUs, the rest train.
    vllm_n, rm_n = (launch.vllm_gpus if grpo else 0), (launch.reward_model_gpus if rm_served else 0)
    if cpu:
        plan.notes.append(
            f"no GPU: {gpn} CPU training processes per node over gloo, generation inside the trainer (no vLLM), "
            f"{CPU_ACCELERATE_CONFIG} instead of {launch.accelerate_config}"
            + (", the reward model served on CPU" if rm_served else "")
        )
        vllm_n = rm_n = launch.vllm_gpus = launch.reward_model_gpus = 0
    elif n_nodes == 1 and vllm_n and vllm_n + rm_n >= gpn:
        share = max(1, (gpn - rm_n) // 4)
        plan.notes.append(
            f"one node: vLLM gets {share} of its {gpn} GPUs (tensor parallel {share}), the rest train; "
            f"set launch.vllm_gpus / launch.vllm_tensor_parallel_size to choose"
        )
        overrides += [f"launch.vllm_gpus={share}", f"launch.vllm_tensor_parallel_size={share}"]
        vllm_n = share
        launch.vllm_gpus, launch.vllm_tensor_parallel_size = share, share
    layout = make_layout(plan, n_nodes, gpn, vllm_n, rm_n, rm_served, shared_ok=cpu)
    if layout is None:
        return plan
    tp = launch.vllm_tensor_parallel_size
    if vllm_n:
        check_tensor_parallel(plan, shape, vllm_n, tp, launch.vllm_data_parallel_size)

    acc_path = Path(CPU_ACCELERATE_CONFIG if cpu else launch.accelerate_config)
    if not acc_path.is_file():
        plan.errors.append(
            f"launch.accelerate_config {acc_path} not found: use recipes/accelerate/zero3.yaml, zero2.yaml or fsdp2.yaml"
        )
        zero, off_opt, off_par, acc_label = 3, False, False, "?"
    else:
        zero, off_opt, off_par, acc_label = accelerate_setup(acc_path)
    n_train = len(layout.train_nodes) * len(layout.train_gpus)
    check_batch(plan, recipe, n_train)

    plan.processes_per_node, plan.world_size = len(layout.train_gpus), n_train
    plan.accelerate_config = str(acc_path)
    wiring = Wiring(recipe, hosts, layout, recipe.run_dir / "logs", device)
    if vllm_n:
        wiring.vllm_server(tp)
    elif cpu and recipe.training.get("use_vllm"):
        wiring.train_overrides.append("training.use_vllm=false")  # vLLM needs a GPU: TRL generates itself
    elif grpo and recipe.training.get("use_vllm"):  # no server: vLLM inside every training process
        wiring.train_overrides += ["training.vllm_mode=colocate", f"training.vllm_tensor_parallel_size={tp}"]
    if rm_served:
        wiring.reward_model_server()
    wiring.training_nodes(recipe_path, overrides + shape_overrides, acc_path, n_train, sandbox_needed)
    wiring.node_preflights(checkpoint_gib(recipe, shape))
    plan.steps = sorted(wiring.steps, key=lambda s: (PHASES.index(s.kind), s.node))
    plan.sandbox_urls = wiring.sandbox_urls
    sizes = worker_sizes(recipe, len(layout.train_gpus))
    plan.notes.append(
        f"CPU shares per training node ({sizes.cores} cores here): "
        + (
            f"{recipe.sandbox.replicas} sandbox replicas x {sizes.sandbox_slots} slots, "
            if sandbox_needed
            else ""
        )
        + f"{sizes.math_workers} sympy workers per rank"
    )
    if layout.rm_shares_training and not cpu:
        plan.notes.append(
            "the reward-model server shares node 0's first training GPU (launch.reward_model_gpus=0)"
        )

    first = next((s for s in plan.steps if s.kind == "train"), None)
    node_overrides = first.argv[first.argv.index("train") + 2 :] if first else []
    try:  # what `python -m rl train` will see on the first training node
        plan.recipe = load_recipe(
            recipe_path, node_overrides or overrides + shape_overrides + wiring.train_overrides
        )
    except RecipeError as e:
        plan.errors.append(f"the training command's recipe does not load: {e}")
        plan.recipe = recipe
    describe_layout(plan, layout, acc_label, n_train)
    describe_resume(plan, recipe, dry_run)
    if shape is not None and not cpu:
        estimate(plan, recipe, shape, layout, zero, off_opt, off_par, n_train, launch.gpu_memory_gib)
    return plan


def make_layout(
    plan: Plan, n_nodes: int, gpn: int, vllm_n: int, rm_n: int, rm_served: bool, shared_ok: bool = False
) -> Layout | None:
    """Which GPUs serve and which train. A served reward model without GPUs of its own
    (launch.reward_model_gpus=0, or CPU) shares node 0's first training GPU, so node 0 must train."""
    shares = rm_served and rm_n < 1
    if shares and not shared_ok and n_nodes > 1 and vllm_n:
        plan.errors.append(
            "the reward_model reward needs a GPU for its server: node 0 serves vLLM and does not train, so "
            "set launch.reward_model_gpus=1 (or reward_model.path_or_url to the URL of a running server)"
        )
        return None
    if n_nodes == 1:
        used = vllm_n + rm_n
        if used >= gpn:
            plan.errors.append(
                f"vLLM ({vllm_n}) + reward model ({rm_n}) GPUs leave none of the {gpn} to train on"
            )
            return None
        services = list(range(used))
        vllm_node = 0 if used or shares else None
        return Layout(vllm_node, services[:vllm_n], services[vllm_n:], [0], list(range(used, gpn)), shares)
    if vllm_n + rm_n == 0:
        return Layout(0 if shares else None, [], [], list(range(n_nodes)), list(range(gpn)), shares)
    if vllm_n + rm_n > gpn:
        plan.errors.append(
            f"node 0 holds vLLM ({vllm_n} GPUs) and the reward model ({rm_n}) but has only {gpn} GPUs: "
            "lower launch.vllm_gpus or launch.reward_model_gpus"
        )
        return None
    gpus = list(range(gpn))
    return Layout(0, gpus[:vllm_n], gpus[vllm_n : vllm_n + rm_n], list(range(1, n_nodes)), gpus)
