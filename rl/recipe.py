"""Recipes: one YAML file per training stage, validated strictly, with dotted `key=value` overrides.

Our own sections are small dataclasses; the `training:` section is not re-declared here but checked
against the fields of TRL's own `GRPOConfig` / `SFTConfig`, so any TRL option works and a misspelled
one is an error that names the closest valid key. See recipes/README.md for the schema.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from rl.schema import RecipeError, build, closest, plain, scalar, unknown_key

if TYPE_CHECKING:
    from trl import GRPOConfig, SFTConfig

TRAINERS = ("grpo", "sft")
WANDB_MODES = ("auto", "offline", "online", "disabled")
ORDERS = ("shuffle", "by_prompt")  # data.order: see DataSection
DTYPES = ("auto", "bfloat16", "float16", "float32")


@dataclass
class ModelSection:
    name_or_path: str | None = None  # hub id or local path
    from_stage: str | None = None  # e.g. stage1 -> <runs>/<name>/stage1 unless name_or_path is set
    dtype: str = "bfloat16"
    attn_implementation: str | None = None  # flash_attention_2 on GPU
    lora: dict[str, Any] | None = (
        None  # peft LoraConfig fields: {r: 64, lora_alpha: 128, target_modules: all-linear}
    )
    revision: str | None = None  # hub model commit (full 40 hex): a requeued job loads the same weights
    trust_remote_code: bool = False


@dataclass
class DataSource:
    source: str  # `local:<path or bundled name>` or a hub dataset id
    split: str = "train"
    task: str | None = None  # sets the `task` column; None keeps the source's own `task` column
    weight: float = 1.0  # rows taken = weight x rows in the source (repeats above 1, subsamples below)
    max_samples: int | None = None  # cap applied before the weight
    subset: str | None = None  # hub dataset config name
    columns: dict[str, str] = field(default_factory=dict)  # rename {source column: our column}
    keep: list[str] = field(default_factory=list)  # extra columns to keep beyond rl.data.COLUMNS
    revision: str | None = None  # hub dataset commit: a requeued job reads the same rows
    instruction: str | None = None  # appended to the user turn; `boxed` = rl.adapters.MATH_INSTRUCTION


@dataclass
class DataSection:
    mixture: list[DataSource] = field(default_factory=list)
    system_prompt: str | None = None
    think_prefill: bool = True  # assistant turn opened by "<think>\n", as QwQ does
    eval_fraction: float = 0.0
    seed: int = 0
    # eval suites whose problems training prompts must not share an n-gram with (rl.decontam); `all`: every one
    decontaminate: list[str] = field(default_factory=list)
    decontaminate_ngram: int = 8  # open-r1's n
    pass_rates: str | None = None  # JSONL written by `python -m rl filter`: each prompt's pass rate
    pass_rate_band: list[float] | None = None  # keep prompts whose pass rate is in [low, high]
    # pass_rates made with another model than the stage starts from is an error (rl.pass_rates); true: a
    # warning, for filtering with a fixed reference model on purpose
    pass_rates_any_model: bool = False
    order: str = "shuffle"  # or by_prompt: one fixed order, shared by runs with and without a filter


@dataclass
class RewardSpec:
    name: str  # a name in rl.rewards.REWARDS
    weight: float = 1.0
    kwargs: dict[str, Any] = field(default_factory=dict)  # bound with functools.partial
    tasks: list[str] | None = None  # rows it scores, by `task` column; None: its REWARDS entry's tasks


@dataclass
class SandboxSection:
    url: str | None = None  # the code reward's sandbox server(s), comma-separated; the launcher fills it
    replicas: int = 1
    workers: int | None = (
        None  # execution slots per replica; None: the launcher sizes them from the node's cores
    )


@dataclass
class RewardModelSection:
    path_or_url: str | None = None
    revision: str | None = None  # hub model commit (full 40 hex) when path_or_url is a hub id
    batch_size: int = 8
    normalize: bool = True


@dataclass
class DynamicSamplingSection:
    """DAPO's dynamic sampling (rl.dynamic_sampling): GRPO trains only on groups whose rewards differ."""

    enabled: bool = False
    # generation rounds per batch at most; groups without spread fill what is still missing
    max_rounds: int = 3


@dataclass
class WandbSection:
    enabled: bool = True
    project: str = "open-qwq"
    mode: str = "auto"  # auto: online when WANDB_API_KEY is set (and WANDB_MODE is not offline), else offline
    entity: str | None = None
    run_name: str | None = None  # default <name>-<stage>
    log_completions: bool = True  # TRL's table of sample completions with their rewards, every logged step
    # Rows of that table kept per logged step (parquet and wandb): the last N of the step, whole groups when
    # N is a multiple of num_generations. Every completion (384 chains of 16k tokens at 32B) would be ~25 MB.
    completions_per_step: int = 16


@dataclass
class EvaluationSection:
    suites: list[str] = field(default_factory=list)
    limit: int | None = None
    samples: int = 1


@dataclass
class RewardFailuresSection:
    """When a reward's service is down mid-run (rl.services.FailureGuard): stop instead of training without it."""

    max_fraction: float = 0.5  # a scoring round is bad when more than this share of a reward's rows fail...
    patience: int = 3  # ...and the run stops after this many bad rounds in a row (0: never stop)


@dataclass
class ConsoleSection:
    """What the run prints besides the progress bar and per-step metrics (rl.console)."""

    completions_every: int | None = (
        None  # TRL's sample-completions table every N steps; None: 10 on GPU, 0 on CPU
    )


@dataclass
class LaunchSection:
    """Cluster launch plan (rl/cluster/launch.py, `make stage1/stage2`); ignored by `python -m rl train`."""

    nodes: int = 1
    gpus_per_node: int = 8
    gpu_memory_gib: float = 80.0  # per GPU, for the memory estimate (H100 80 GB; 141 for H200)
    vllm_gpus: int = 8  # GPUs given to the vLLM generation server (vllm_mode=server)
    vllm_tensor_parallel_size: int = 1
    vllm_data_parallel_size: int | None = None
    vllm_port: int = 8000
    accelerate_config: str = "recipes/accelerate/zero3.yaml"
    main_process_port: int = 29500
    sandbox_port: int = 8080
    reward_model_gpus: int = 0
    reward_model_port: int = 8001
    env: dict[str, str] = field(default_factory=dict)  # extra environment for every command


@dataclass
class Recipe:
    name: str
    stage: str
    trainer: str = "grpo"
    description: str | None = None
    output_dir: str | None = None  # default runs/<name>/<stage>
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    rewards: list[RewardSpec] = field(default_factory=list)
    sandbox: SandboxSection = field(default_factory=SandboxSection)
    reward_model: RewardModelSection = field(default_factory=RewardModelSection)
    dynamic_sampling: DynamicSamplingSection = field(default_factory=DynamicSamplingSection)
    wandb: WandbSection = field(default_factory=WandbSection)
    evaluation: EvaluationSection = field(default_factory=EvaluationSection)
    reward_failures: RewardFailuresSection = field(default_factory=RewardFailuresSection)
    console: ConsoleSection = field(default_factory=ConsoleSection)
    training: dict[str, Any] = field(default_factory=dict)  # fields of TRL's GRPOConfig / SFTConfig
    launch: LaunchSection = field(default_factory=LaunchSection)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir or f"runs/{self.name}/{self.stage}")

    @property
    def model_path(self) -> str:
        """The model this stage starts from (name_or_path, else the from_stage checkpoint)."""
        assert self.model.name_or_path, "load_recipe resolves model.name_or_path"
        return self.model.name_or_path

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def save(self, path: str | Path) -> Path:
        """Write the resolved recipe (what `load_recipe` reads back to the same Recipe)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_yaml())
        return path

    def trl_config_class(self) -> type[GRPOConfig | SFTConfig]:
        import trl

        return trl.GRPOConfig if self.trainer == "grpo" else trl.SFTConfig

    @property
    def training_seed(self) -> int:
        """The seed the trainer will use: training.seed, else TRL's default."""
        return int(self.training.get("seed", self.trl_config_class().seed))

    def trl_config(self, **extra: Any) -> GRPOConfig | SFTConfig:
        """TRL's GRPOConfig / SFTConfig for this stage: `training` + output dir + reward weights."""
        kwargs: dict[str, Any] = {"output_dir": str(self.run_dir), **self.training, **extra}
        if self.trainer == "grpo":
            kwargs["reward_weights"] = [r.weight for r in self.rewards]
        cls = self.trl_config_class()
        # transformers 5 warns on gradient_checkpointing(_kwargs), now activation_checkpointing(_kwargs), and TRL
        # still defaults the old name to True: the new name carries the recipe's old key, else TRL's default.
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for old, new in (
            ("gradient_checkpointing", "activation_checkpointing"),
            ("gradient_checkpointing_kwargs", "activation_checkpointing_kwargs"),
        ):
            if old in kwargs and new in fields:
                kwargs.setdefault(new, kwargs.pop(old))
        if "activation_checkpointing" in fields:
            kwargs.setdefault("activation_checkpointing", fields["gradient_checkpointing"].default)
        return cls(**kwargs)


def load_recipe(path: str | Path, overrides: typing.Iterable[str] = ()) -> Recipe:
    """Read a recipe YAML, apply dotted `key=value` overrides, validate, resolve `model.from_stage`."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"recipe file {path} not found: pass the path of a recipe YAML (see recipes/)")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise RecipeError(f"{path} is not valid YAML: {e}") from e
    return recipe_from_dict(raw, overrides, origin=str(path))


def recipe_from_dict(
    raw: dict[str, Any], overrides: typing.Iterable[str] = (), origin: str = "recipe"
) -> Recipe:
    """Validate a recipe given as a dict (e.g. built in code), after applying overrides."""
    if not isinstance(raw, dict):
        raise RecipeError(f"{origin}: a recipe is a mapping of sections, got {type(raw).__name__}")
    raw = plain(raw)
    for item in overrides:
        apply_override(raw, item)
    if isinstance(raw.get("model"), str):  # `model: runs/smoke/stage1` is shorthand for model.name_or_path
        raw["model"] = {"name_or_path": raw["model"]}
    recipe = build(Recipe, raw, "", misplaced=lambda key: _misplaced(key, raw.get("trainer")))
    _check(recipe)
    _resolve_model(recipe)
    return recipe


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Set one dotted `key=value` (value parsed as YAML) in the raw recipe dict; list items by index."""
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise RecipeError(f"override {item!r} is not key=value: write e.g. training.learning_rate=1e-6")
    try:
        value = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        value = text
    parts = key.split(".")
    node: Any = raw
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) > len(node):
                raise RecipeError(
                    f"override {key}: {where!r} must be a list index 0..{len(node)} ({len(node)} appends an item)",
                    key=key,
                )
            idx = int(part)
            if idx == len(node):
                node.append(None if last else {})
            if last:
                node[idx] = value
            else:
                if node[idx] is None:
                    node[idx] = {}
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                if node.get(part) is None:
                    node[part] = {}
                elif isinstance(node[part], str) and part == "model":
                    node[part] = {"name_or_path": node[part]}
                node = node[part]
        else:
            raise RecipeError(f"override {key}: {'.'.join(parts[:depth])} is a value, not a section", key=key)


def _misplaced(key: str, trainer: Any) -> str | None:
    """The section a top-level `key` belongs to, dotted: `learning_rate` -> `training.learning_rate`."""
    if key in _training_fields(trainer if trainer in TRAINERS else "grpo"):
        return f"training.{key}"
    hints = typing.get_type_hints(Recipe)
    for f in dataclasses.fields(Recipe):
        section = hints[f.name]
        if dataclasses.is_dataclass(section) and key in {x.name for x in dataclasses.fields(section)}:
            return f"{f.name}.{key}"
    return None


def _training_fields(trainer: str) -> dict[str, Any]:
    import trl  # deferred: importing TRL takes seconds

    cls = trl.GRPOConfig if trainer == "grpo" else trl.SFTConfig
    return {f.name: f.type for f in dataclasses.fields(cls) if f.init}


# TRL fields whose zero or negative value TRL accepts but that cannot train (a negative learning rate ascends).
_POSITIVE_TRAINING = (
    "learning_rate",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "num_generations",
    "max_completion_length",
    "temperature",
)
_NONNEGATIVE_TRAINING = ("beta", "weight_decay", "warmup_steps", "warmup_ratio", "max_grad_norm", "epsilon")

# Keys the recipe owns elsewhere: setting them under training would silently disagree with that section.
_OWNED_ELSEWHERE = {
    "output_dir": "output_dir (top level)",
    "reward_weights": "rewards.<i>.weight",
}


def _one_of(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        msg = f"{key} {value!r} is not one of {', '.join(choices)}"
        raise RecipeError(msg, key=key, suggestion=closest(value, choices))


def _check(recipe: Recipe) -> None:
    _one_of("trainer", recipe.trainer, TRAINERS)
    fields = _training_fields(recipe.trainer)
    for key, value in list(recipe.training.items()):
        if key in _OWNED_ELSEWHERE:
            raise RecipeError(
                f"training.{key} is set by {_OWNED_ELSEWHERE[key]}: set it there", key=f"training.{key}"
            )
        if key not in fields:
            other = _training_fields("sft" if recipe.trainer == "grpo" else "grpo")
            err = unknown_key(f"training.{key}", fields, "training key")
            if key in other:
                err = RecipeError(
                    f"training.{key} is a {'SFTConfig' if recipe.trainer == 'grpo' else 'GRPOConfig'} field, "
                    f"not valid with trainer: {recipe.trainer}",
                    key=f"training.{key}",
                )
            raise err
        recipe.training[key] = _training_value(value, fields[key], f"training.{key}")
        value = recipe.training[key]
        if isinstance(value, int | float) and not isinstance(value, bool):
            if key in _POSITIVE_TRAINING and value <= 0:
                raise RecipeError(f"training.{key} must be > 0, got {value}", key=f"training.{key}")
            if key in _NONNEGATIVE_TRAINING and value < 0:
                raise RecipeError(f"training.{key} must be >= 0, got {value}", key=f"training.{key}")
    failures = recipe.reward_failures
    if not 0.0 <= failures.max_fraction < 1.0:
        raise RecipeError(
            "reward_failures.max_fraction must be in [0, 1): the share of a reward's rows that may fail in a "
            f"scoring round before the round counts as bad, got {failures.max_fraction}",
            key="reward_failures.max_fraction",
        )
    if failures.patience < 0:
        raise RecipeError(
            "reward_failures.patience must be >= 0 (0: never stop)", key="reward_failures.patience"
        )
    if recipe.console.completions_every is not None and recipe.console.completions_every < 0:
        raise RecipeError(
            "console.completions_every must be >= 0 (0: never)", key="console.completions_every"
        )
    if recipe.dynamic_sampling.max_rounds < 1:
        raise RecipeError("dynamic_sampling.max_rounds must be >= 1", key="dynamic_sampling.max_rounds")
    if recipe.trainer == "grpo":
        if not recipe.rewards:
            raise RecipeError("a grpo recipe needs at least one entry under rewards:", key="rewards")
        from rl.rewards import REGISTRY

        for i, spec in enumerate(recipe.rewards):
            if spec.name not in REGISTRY:
                best = closest(spec.name, REGISTRY)
                hint = f"did you mean {best!r}?" if best else f"valid rewards: {', '.join(REGISTRY)}"
                raise RecipeError(
                    f"unknown reward {spec.name!r} at rewards.{i}.name: {hint}",
                    key=f"rewards.{i}.name",
                    suggestion=best,
                )
        names = [r.name for r in recipe.rewards]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise RecipeError(f"reward {sorted(dup)[0]!r} is listed twice under rewards:", key="rewards")
    elif recipe.rewards or recipe.dynamic_sampling.enabled:
        key = "rewards" if recipe.rewards else "dynamic_sampling"
        raise RecipeError(f"{key}: is used by trainer: grpo only; remove it from this sft recipe", key=key)
    _one_of("wandb.mode", recipe.wandb.mode, WANDB_MODES)
    _one_of("data.order", recipe.data.order, ORDERS)
    if recipe.data.order == "by_prompt" and recipe.training.get("shuffle_dataset"):
        msg = "training.shuffle_dataset: true would shuffle the fixed order of data.order: by_prompt"
        raise RecipeError(msg + ": remove one of them", key="training.shuffle_dataset")
    _one_of("model.dtype", recipe.model.dtype, DTYPES)
    if recipe.model.lora:
        import peft

        lora_fields = [f.name for f in dataclasses.fields(peft.LoraConfig) if f.init]
        for key in recipe.model.lora:
            if key not in lora_fields:
                raise unknown_key(f"model.lora.{key}", lora_fields, "LoRA key")
    if recipe.model.name_or_path is None and recipe.model.from_stage is None:
        raise RecipeError("model needs name_or_path or from_stage", key="model.name_or_path")
    _check_pins(recipe)
    if not recipe.data.mixture:
        raise RecipeError("data.mixture is empty: list at least one source", key="data.mixture")
    if not 0.0 <= recipe.data.eval_fraction < 1.0:
        raise RecipeError("data.eval_fraction must be in [0, 1)", key="data.eval_fraction")
    for i, src in enumerate(recipe.data.mixture):
        if src.weight <= 0:
            raise RecipeError(f"data.mixture.{i}.weight must be > 0", key=f"data.mixture.{i}.weight")
    band = recipe.data.pass_rate_band
    if band is not None and not (len(band) == 2 and 0.0 <= band[0] <= band[1] <= 1.0):
        raise RecipeError(
            f"data.pass_rate_band {band} must be [low, high] with 0 <= low <= high <= 1",
            key="data.pass_rate_band",
        )
    if band is not None and not recipe.data.pass_rates:
        raise RecipeError(
            "data.pass_rate_band needs data.pass_rates: run `python -m rl filter RECIPE --model PATH` first",
            key="data.pass_rates",
        )


def _check_pins(recipe: Recipe) -> None:
    """Model revisions are full commit ids; a hub model without one is read at main, said once."""
    from rl.pins import revision_problem, warn_if_unpinned

    uses_rm = any(r.name == "reward_model" for r in recipe.rewards)
    for key, name, revision in (
        ("model.revision", recipe.model.name_or_path, recipe.model.revision),
        (
            "reward_model.revision",
            recipe.reward_model.path_or_url if uses_rm else None,
            recipe.reward_model.revision,
        ),
    ):
        problem = revision_problem(revision)
        if problem:
            raise RecipeError(f"{key}: {problem}", key=key)
        warn_if_unpinned(name, revision, key)


def _training_value(value: Any, tp: Any, key: str) -> Any:
    """Coerce simple TRL field types (float/int/bool); anything richer is left to TRL's own checks."""
    if value is None:
        return None
    simple = [a for a in (typing.get_args(tp) or (tp,)) if a is not type(None)]
    if len(simple) == 1 and simple[0] in (float, int, bool):
        return scalar(value, simple[0], key)
    if value is False and str in simple and bool not in simple:
        return "no"  # YAML 1.1 reads `save_strategy: no` as false
    return value


def _resolve_model(recipe: Recipe) -> None:
    """Stage chaining: from_stage names a sibling run dir, whose root holds that stage's final model."""
    if recipe.model.name_or_path is None and recipe.model.from_stage is not None:
        recipe.model.name_or_path = str(recipe.run_dir.parent / recipe.model.from_stage)
