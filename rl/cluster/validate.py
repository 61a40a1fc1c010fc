"""Plan validation before any GPU is touched: tensor parallel and batch shapes, resume state, disk and
per-GPU memory. Each check appends to the plan's errors, warnings or notes instead of raising."""

from __future__ import annotations

from pathlib import Path

from rl.cluster import memory
from rl.cluster.plan import Layout, Plan, gpu_range
from rl.recipe import Recipe, RecipeError, load_recipe


def checkpoint_gib(recipe: Recipe, shape: memory.ModelShape | None) -> int:
    """Disk the run needs at its peak: save_total_limit + 1 checkpoints (the trainer writes a new one before
    it deletes the oldest), and the final model. A DeepSpeed checkpoint holds 16 B per trained parameter:
    bf16 weights + fp32 Adam states (14 B) and, with zero3_save_16bit_model, a consolidated bf16 copy (2 B);
    with LoRA only the adapter is trained and saved. The final model is the whole model in bf16 (LoRA:
    merged, plus the adapter). Unknown models get 100 GiB."""
    if shape is None:
        return 100
    params = shape.num_params()
    lora_r = (recipe.model.lora or {}).get("r")
    trained = shape.lora_params(int(lora_r)) if lora_r else params
    keep = int(recipe.training.get("save_total_limit") or 1)
    per_checkpoint = (memory.BF16 + memory.ADAM_STATES + memory.BF16) * trained
    final = memory.BF16 * (params + (trained if lora_r else 0))
    return int(((keep + 1) * per_checkpoint + final) / memory.GIB) + 1


def model_shape_for(recipe: Recipe, recipe_path: str, plan: Plan) -> memory.ModelShape | None:
    """The policy's shape; a chained stage takes its architecture from the stage it starts from."""
    shape = memory.model_shape(recipe.model_path)
    source = recipe.model_path
    if shape is None and recipe.model.from_stage:
        sibling = Path(recipe_path).parent / f"{recipe.model.from_stage}.yaml"
        if sibling.is_file():
            try:
                source = load_recipe(sibling).model_path
                shape = memory.model_shape(source)
            except RecipeError:
                shape = None
    if shape is None:
        plan.warnings.append(
            f"cannot size model {recipe.model_path!r} (no config.json there and not in rl/cluster/memory.py KNOWN_MODELS): "
            "no memory estimate"
        )
    elif source != recipe.model_path:
        plan.notes.append(f"model {recipe.model_path} has the architecture of {source}")
    return shape


def check_tensor_parallel(
    plan: Plan, shape: memory.ModelShape | None, vllm_n: int, tp: int, dp: int | None
) -> None:
    dp = dp or max(1, vllm_n // max(tp, 1))
    if tp < 1 or tp * dp != vllm_n:
        plan.errors.append(
            f"launch.vllm_tensor_parallel_size={tp} x data parallel {dp} must equal launch.vllm_gpus={vllm_n}: "
            f"set launch.vllm_tensor_parallel_size={vllm_n}"
        )
    elif dp > 1:
        plan.errors.append(
            f"vLLM with {vllm_n} GPUs at tensor parallel {tp} means data parallel {dp}, which vLLM rejects for dense "
            f"models (see `trl vllm-serve --help`): set launch.vllm_tensor_parallel_size={vllm_n}"
        )
    if (
        shape is not None
        and tp >= 1
        and (shape.num_heads % tp or (shape.num_kv_heads % tp and tp % shape.num_kv_heads))
    ):
        plan.errors.append(
            f"tensor parallel {tp} does not divide the model's {shape.num_heads} attention heads / "
            f"{shape.num_kv_heads} KV heads: use a divisor such as 1, 2, 4 or 8"
        )


def check_batch(plan: Plan, recipe: Recipe, n_train: int) -> None:
    """TRL's rule, checked before a 32B model loads: a generation batch holds whole groups."""
    if recipe.trainer != "grpo" or n_train < 1:
        return
    t = recipe.training
    per_device = int(t.get("per_device_train_batch_size", 8))
    steps = int(t.get("steps_per_generation") or t.get("gradient_accumulation_steps", 1))
    batch = int(t.get("generation_batch_size") or per_device * n_train * steps)
    group = int(t.get("num_generations", 8))
    if batch % group:
        plan.errors.append(
            f"generation batch {batch} (= per_device_train_batch_size {per_device} x {n_train} training GPUs x "
            f"{steps} steps per generation) is not a multiple of num_generations {group}: "
            f"make gradient_accumulation_steps a multiple of {group}"
        )
    else:
        plan.notes.append(f"each generation batch: {batch // group} prompts x {group} completions = {batch}")
    rm = next((r for r in recipe.rewards if r.name == "reward_model"), None)
    # Each process scores its own slice of the generation batch and dynamic sampling regroups it: both are
    # only right when no prompt group straddles two processes.
    whole = {
        "the reward model normalised over half groups": rm is not None and recipe.reward_model.normalize,
        "dynamic sampling unable to tell which groups to keep": recipe.dynamic_sampling.enabled,
    }
    for why in [why for why, applies in whole.items() if applies and (per_device * steps) % group]:
        plan.errors.append(
            f"per_device_train_batch_size {per_device} x {steps} steps per generation = {per_device * steps} "
            f"completions per process is not a multiple of num_generations {group}: a prompt group would be "
            f"split across processes and {why}; make it a multiple"
        )
    limit = t.get("max_completion_length")
    for i, spec in enumerate(recipe.rewards):
        own = spec.kwargs.get("max_completion_length")
        if spec.name == "overlong" and own is not None and limit is not None and own != limit:
            plan.errors.append(
                f"rewards.{i}.kwargs.max_completion_length={own} differs from training.max_completion_length={limit}: "
                "the over-length penalty must ramp up to the real limit; make them equal"
            )


def describe_layout(plan: Plan, layout: Layout, acc_label: str, n_train: int) -> None:
    gpn = plan.gpus_per_node
    for node, host in enumerate(plan.hosts):
        parts = []
        if node == layout.vllm_node and layout.vllm_gpus:
            parts.append(f"vLLM on {gpu_range(layout.vllm_gpus)}")
        if node == layout.vllm_node and layout.rm_gpus:
            parts.append(f"reward model on {gpu_range(layout.rm_gpus)}")
        if node in layout.train_nodes and plan.device == "cpu":
            parts.append(f"{len(layout.train_gpus)} CPU training processes")
        elif node in layout.train_nodes:
            parts.append(f"training on {gpu_range(layout.train_gpus)}")
        idle = gpn - (len(layout.vllm_gpus) + len(layout.rm_gpus) if node == layout.vllm_node else 0)
        idle -= len(layout.train_gpus) if node in layout.train_nodes else 0
        if idle:
            parts.append(f"{idle} GPUs idle")
        plan.layout.append(f"node {node} ({host}): " + ", ".join(parts))
    plan.layout.append(f"training: {n_train} processes on {len(layout.train_nodes)} node(s), {acc_label}")


def describe_resume(plan: Plan, recipe: Recipe, dry_run: bool) -> None:
    from rl.train import last_checkpoint

    run_dir = recipe.run_dir
    ckpt = last_checkpoint(run_dir) if run_dir.is_dir() else None
    plan.notes.append(
        f"resume: from {ckpt} (python -m rl train resumes it)"
        if ckpt
        else f"resume: starts fresh in {run_dir}"
    )
    if recipe.model.from_stage:
        ready = (Path(recipe.model_path) / "config.json").is_file()
        if not ready:
            message = (
                f"{recipe.model_path} has no final checkpoint yet: run make {recipe.model.from_stage} first"
            )
            (plan.notes if dry_run else plan.errors).append(message)


def estimate(
    plan: Plan,
    recipe: Recipe,
    shape: memory.ModelShape,
    layout: Layout,
    zero: int,
    off_opt: bool,
    off_par: bool,
    n_train: int,
    gpu_gib: float,
) -> None:
    t = recipe.training
    completion = int(t.get("max_completion_length", 256))
    seq = int(t.get("vllm_max_model_length") or completion + 1024)
    lora = recipe.model.lora or {}
    setup = memory.TrainSetup(
        train_gpus=max(1, n_train),
        zero_stage=zero,
        micro_batch=int(t.get("per_device_train_batch_size", 8)),
        seq_len=seq,
        completion_len=completion,
        gradient_checkpointing=bool(t.get("activation_checkpointing", t.get("gradient_checkpointing", True))),
        lora_r=int(lora["r"]) if lora.get("r") else None,
        ref_model=float(t.get("beta", 0.0)) > 0,
        offload_optimizer=off_opt,
        offload_params=off_par,
    )
    plan.estimates.append(memory.training_estimate(shape, setup, gpu_gib))
    if zero >= 3 and setup.lora_r and recipe.trainer == "grpo" and t.get("use_vllm"):
        plan.estimates.append(memory.weight_sync_estimate(shape, setup, gpu_gib))
    util = float(t.get("vllm_gpu_memory_utilization", 0.9))
    tp = recipe.launch.vllm_tensor_parallel_size
    if layout.vllm_gpus:
        plan.estimates.append(memory.vllm_estimate(shape, tp, gpu_gib, util, seq))
    elif recipe.trainer == "grpo" and t.get("use_vllm"):  # colocate: vLLM shares every training GPU
        plan.estimates.append(memory.vllm_estimate(shape, tp, gpu_gib, util, seq, role="colocated vLLM"))
        plan.estimates[0].lines.append(("colocated vLLM share", util * gpu_gib * memory.GIB))
    rm_shape = memory.model_shape(str(recipe.reward_model.path_or_url))
    if layout.rm_gpus and rm_shape is not None:
        plan.estimates.append(
            memory.serving_estimate(rm_shape, len(layout.rm_gpus), gpu_gib, "reward-model GPU")
        )
    elif layout.rm_shares_training and rm_shape is not None:  # the server sits on the first training GPU
        served = memory.serving_estimate(rm_shape, 1, gpu_gib, "reward-model server")
        plan.estimates[0].lines.append(("reward-model server (same GPU)", served.total))
    for est in plan.estimates:
        if est.fits and est.role.startswith("training GPU") and est.total > 0.9 * est.gpu_bytes:
            plan.warnings.append(
                f"memory: {est.role} needs ~{est.total / memory.GIB:.1f} GiB of {est.gpu_bytes / memory.GIB:.0f} GiB: "
                "under 10% left for fragmentation; GPUs with more memory (launch.gpu_memory_gib) or more nodes "
                "leave room"
            )
        if not est.fits:
            plan.warnings.append(
                f"memory: {est.role} needs ~{est.total / memory.GIB:.1f} GiB of {est.gpu_bytes / memory.GIB:.0f} GiB: "
                "it does not fit; use more nodes, LoRA (model.lora.r=64 model.lora.lora_alpha=128 "
                "model.lora.target_modules=all-linear), "
                "a shorter max_completion_length, or optimizer offload"
            )
