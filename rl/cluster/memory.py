"""Per-GPU memory estimate for a cluster launch, from the model's shape alone (no GPU, no download).

The numbers follow the ZeRO paper's accounting (Rajbhandari et al. 2020): with bf16 mixed precision and
Adam, every parameter costs 2 bytes of bf16 weights, 2 bytes of gradients and 12 bytes of optimizer state
(fp32 master copy, Adam m and v). ZeRO-1 shards the 12, ZeRO-2 also the gradients, ZeRO-3 (and FSDP
full sharding) also the weights, each over the training GPUs. Activations assume gradient checkpointing
at every decoder layer (one saved hidden state per layer and token, plus one layer recomputed during
backward) and flash attention (no seq x seq scores). The vLLM side is the weights split over tensor
parallelism plus whatever KV cache fits in `gpu_memory_utilization` of the GPU. These are estimates to
catch plans that cannot fit, not a promise that a plan does: allocator fragmentation and NCCL buffers
are covered only by a fixed allowance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

GIB = 1024**3
BF16 = 2
ADAM_STATES = 12  # fp32 master weights + Adam m + Adam v, bytes per trainable parameter
# DeepSpeed's default stage3_max_live_parameters: parameters gathered at once under ZeRO-3.
ZERO3_LIVE_PARAMS = 1_000_000_000
OVERHEAD_GIB = 3.0  # CUDA context, NCCL buffers, allocator fragmentation: a fixed allowance


@dataclass(frozen=True)
class ModelShape:
    """The shape of a Qwen2/Llama-style decoder: enough to count parameters and KV-cache bytes."""

    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    intermediate_size: int
    vocab_size: int
    tie_embeddings: bool = False
    qkv_bias: bool = True  # Qwen2 has q/k/v biases; Llama does not
    lm_head: bool = True  # False for a sequence-classification reward model (a 1-wide score head)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @property
    def kv_dim(self) -> int:
        return self.num_kv_heads * self.head_dim

    def layer_params(self) -> int:
        h, kv, i = self.hidden_size, self.kv_dim, self.intermediate_size
        attention = h * h + 2 * h * kv + h * h + ((h + 2 * kv) if self.qkv_bias else 0)
        mlp = 3 * h * i  # gate, up, down
        return attention + mlp + 2 * h  # two RMSNorm weights

    def num_params(self) -> int:
        embed = self.vocab_size * self.hidden_size
        head = (0 if self.tie_embeddings else embed) if self.lm_head else self.hidden_size
        return embed + head + self.num_layers * self.layer_params() + self.hidden_size  # + final norm

    def lora_params(self, r: int) -> int:
        """Trainable LoRA parameters with target_modules=all-linear: r x (in + out) per projection."""
        h, kv, i = self.hidden_size, self.kv_dim, self.intermediate_size
        per_layer = (h + h) + 2 * (h + kv) + (h + h) + 2 * (h + i) + (i + h)
        return r * per_layer * self.num_layers

    def kv_bytes_per_token(self, tensor_parallel: int = 1, dtype_bytes: int = BF16) -> int:
        """KV-cache bytes per token on one GPU (KV heads split over TP, replicated past num_kv_heads)."""
        heads = max(1, self.num_kv_heads // tensor_parallel)
        return 2 * self.num_layers * heads * self.head_dim * dtype_bytes

    def layer_activation_bytes_per_token(self) -> int:
        """bf16 activations one decoder layer keeps for backward, per token (flash attention).

        Attention: norm output, q, attention output, o-proj output (4 x hidden) plus k and v (2 x kv);
        MLP: norm output and down-proj output (2 x hidden) plus gate, up, act(gate), act(gate)*up
        (4 x intermediate).
        """
        return BF16 * (6 * self.hidden_size + 2 * self.kv_dim + 4 * self.intermediate_size)


# Shapes of the models the bundled recipes name, from their config.json on the Hub, so a dry run
# needs no download. Any local directory with a config.json is read instead.
KNOWN_MODELS: dict[str, ModelShape] = {
    "Qwen/Qwen2.5-32B": ModelShape(5120, 64, 40, 8, 27648, 152064, tie_embeddings=False),
    "Qwen/Qwen2.5-32B-Instruct": ModelShape(5120, 64, 40, 8, 27648, 152064, tie_embeddings=False),
    "Qwen/QwQ-32B": ModelShape(5120, 64, 40, 8, 27648, 152064, tie_embeddings=False),
    "Qwen/Qwen2.5-7B": ModelShape(3584, 28, 28, 4, 18944, 152064, tie_embeddings=False),
    "Qwen/Qwen2.5-1.5B": ModelShape(1536, 28, 12, 2, 8960, 151936, tie_embeddings=True),
    "Skywork/Skywork-Reward-V2-Llama-3.1-8B": ModelShape(
        4096, 32, 32, 8, 14336, 128256, qkv_bias=False, lm_head=False
    ),
}


def model_shape(name_or_path: str) -> ModelShape | None:
    """The shape of a model: a local config.json, else the bundled table; None when unknown."""
    config = Path(name_or_path) / "config.json"
    if config.is_file():
        c = json.loads(config.read_text())
        c = c.get("text_config", c)
        return ModelShape(
            hidden_size=c["hidden_size"],
            num_layers=c["num_hidden_layers"],
            num_heads=c["num_attention_heads"],
            num_kv_heads=c.get("num_key_value_heads", c["num_attention_heads"]),
            intermediate_size=c["intermediate_size"],
            vocab_size=c["vocab_size"],
            tie_embeddings=bool(c.get("tie_word_embeddings", False)),
            qkv_bias=bool(c.get("attention_bias", c.get("model_type", "") in {"qwen2", "qwen2_moe"})),
            lm_head=not any(a.endswith("ForSequenceClassification") for a in c.get("architectures", [])),
        )
    return KNOWN_MODELS.get(name_or_path)


@dataclass(frozen=True)
class TrainSetup:
    """How one training GPU is used: sharding, batch, sequence lengths, LoRA, reference model."""

    train_gpus: int
    zero_stage: int = 3  # 0, 1, 2, 3 (FSDP full sharding counts as 3)
    micro_batch: int = 1  # per_device_train_batch_size (sequences per forward/backward)
    seq_len: int = 4096  # prompt + completion tokens of the longest sequence
    completion_len: int = 2048  # tokens whose logits are computed (TRL keeps only completion logits)
    gradient_checkpointing: bool = True
    lora_r: int | None = None  # LoRA rank: the base stays frozen, only adapters train
    ref_model: bool = False  # beta > 0 without LoRA keeps a frozen copy for the KL term
    offload_optimizer: bool = False  # optimizer states in CPU memory (DeepSpeed offload)
    offload_params: bool = False


@dataclass
class Estimate:
    """Named byte counts for one GPU role, with the total and whether it fits."""

    role: str
    gpu_bytes: float
    lines: list[tuple[str, float]] = field(default_factory=list)  # (what, bytes)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(b for _, b in self.lines)

    @property
    def fits(self) -> bool:
        return self.total <= self.gpu_bytes + 1  # a byte of float rounding

    def get(self, what: str) -> float:
        return dict(self.lines)[what]

    def table(self) -> str:
        width = max(len(w) for w, _ in self.lines)
        rows = [f"  {self.role}"]
        rows += [f"    {w:<{width}}  {b / GIB:8.2f} GiB" for w, b in self.lines]
        verdict = "fits" if self.fits else "DOES NOT FIT"
        rows.append(
            f"    {'total':<{width}}  {self.total / GIB:8.2f} GiB of {self.gpu_bytes / GIB:.0f} GiB: {verdict}"
        )
        rows += [f"    note: {n}" for n in self.notes]
        return "\n".join(rows)


def training_estimate(shape: ModelShape, setup: TrainSetup, gpu_gib: float) -> Estimate:
    """Per-GPU bytes of one training process under the given ZeRO stage (see the module docstring)."""
    n = setup.train_gpus
    stage = setup.zero_stage
    params = shape.num_params()
    trainable = shape.lora_params(setup.lora_r) if setup.lora_r else params
    frozen = params if setup.lora_r else 0

    def shard(nbytes: float, sharded: bool) -> float:
        return nbytes / n if sharded else nbytes

    est = Estimate(f"training GPU (ZeRO-{stage} over {n} GPUs)", gpu_gib * GIB)
    weights = BF16 * (trainable + frozen if setup.lora_r else params)
    est.lines.append(("bf16 weights", 0.0 if setup.offload_params else shard(weights, stage >= 3)))
    est.lines.append(("bf16 gradients", shard(BF16 * trainable, stage >= 2)))
    optimizer = 0.0 if setup.offload_optimizer else shard(ADAM_STATES * trainable, stage >= 1)
    est.lines.append(("fp32 master + Adam states", optimizer))
    if stage >= 3:
        est.lines.append(("ZeRO-3 gathered parameters", BF16 * min(params, ZERO3_LIVE_PARAMS)))
    if setup.ref_model and not setup.lora_r:
        est.lines.append(("reference model (beta > 0)", shard(BF16 * params, stage >= 3)))
    tokens = setup.micro_batch * setup.seq_len
    if setup.gradient_checkpointing:
        est.lines.append(
            ("activations: layer checkpoints", tokens * shape.num_layers * shape.hidden_size * BF16)
        )
        est.lines.append(
            ("activations: one layer recomputed", tokens * shape.layer_activation_bytes_per_token())
        )
    else:
        est.lines.append(
            ("activations: all layers", tokens * shape.num_layers * shape.layer_activation_bytes_per_token())
        )
    # bf16 logits of the completion tokens and their gradient (TRL's fused log-prob kernel adds no fp32 copy)
    est.lines.append(
        ("logits + their gradient", setup.micro_batch * setup.completion_len * shape.vocab_size * 2 * BF16)
    )
    est.lines.append(("CUDA/NCCL overhead", OVERHEAD_GIB * GIB))
    est.notes.append(
        f"{params / 1e9:.2f}B parameters"
        + (f", {trainable / 1e6:.0f}M trainable (LoRA r={setup.lora_r})" if setup.lora_r else "")
        + f"; {setup.micro_batch} x {setup.seq_len} tokens per micro-batch"
        + ("" if setup.gradient_checkpointing else ", no gradient checkpointing")
    )
    return est


def vllm_estimate(
    shape: ModelShape,
    tensor_parallel: int,
    gpu_gib: float,
    utilization: float,
    max_model_len: int,
    role: str = "vLLM GPU",
) -> Estimate:
    """Per-GPU bytes of a vLLM worker: weights / TP, and the KV cache that fills the rest of its share."""
    est = Estimate(f"{role} (tensor parallel {tensor_parallel}, gpu_memory_utilization {utilization})", 0)
    budget = utilization * gpu_gib * GIB
    weights = BF16 * shape.num_params() / tensor_parallel
    kv = max(0.0, budget - weights)
    est.gpu_bytes = budget
    est.lines.append(("bf16 weights / TP", weights))
    est.lines.append(("KV cache (rest of the share)", kv))
    per_token = shape.kv_bytes_per_token(tensor_parallel)
    capacity = int(kv // per_token)
    est.notes.append(
        f"KV cache holds {capacity:,} tokens ({per_token // 1024} KiB per token per GPU) = "
        f"{capacity // max_model_len} sequences of {max_model_len} tokens at once"
    )
    if capacity < max_model_len:
        est.lines.append(("KV cache for one full sequence", float(max_model_len * per_token)))
        est.notes.append(
            "the KV cache cannot hold one full-length sequence: raise TP or gpu_memory_utilization"
        )
    return est


def serving_estimate(shape: ModelShape, gpus: int, gpu_gib: float, role: str) -> Estimate:
    """Per-GPU bytes of a plain bf16 inference server (the reward model), weights split over its GPUs."""
    est = Estimate(f"{role} ({gpus} GPU{'s' if gpus > 1 else ''})", gpu_gib * GIB)
    est.lines.append(("bf16 weights", BF16 * shape.num_params() / gpus))
    est.lines.append(("CUDA overhead", OVERHEAD_GIB * GIB))
    return est
