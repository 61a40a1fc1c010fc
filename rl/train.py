"""`python -m rl train RECIPE.yaml [key=value ...]`: run one stage (SFT or GRPO) from a recipe.

Reads like the recipe: config -> dataset -> tokenizer -> model -> rewards -> TRL trainer ->
train (resuming from the run dir's last complete checkpoint) -> final model + tokenizer at the run dir root.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl.console import error
from rl.pins import pinned_snapshot
from rl.recipe import Recipe, RecipeError, load_recipe

if TYPE_CHECKING:
    from peft import LoraConfig
    from transformers import PreTrainedModel, Trainer
    from trl import GRPOConfig, SFTConfig


def run_stage(recipe: Recipe, callbacks: list[Any] | None = None) -> Path:
    """Train one stage and return its run dir (final checkpoint at its root); resumes a killed run.

    On a stop request (SIGUSR1, or the file `OPEN_QWQ_STOP_FILE` names) it saves a checkpoint at the end of
    the current step and raises `StoppedForRequeue` instead of writing a final model (rl.checkpointing).
    The services its rewards need are checked (a single process starts its own sandbox) before any model
    loads; a reward that keeps failing mid-run stops it with rl.services.RewardFailureError.
    """
    from rl.checkpointing import (
        EndAtMaxSteps,
        StopForRequeue,
        StoppedForRequeue,
        TrainingComplete,
        save_final_model,
        stop_file_from_env,
    )
    from rl.console import quiet_libraries
    from rl.services import stage_services

    quiet_libraries()
    check_model(recipe)  # a mistyped model is one error before any service starts
    run_dir = recipe.run_dir
    # the next stage in this process decides its wandb mode afresh
    with (
        restored_env(WANDB_VARS),
        stage_services(recipe),
        StopForRequeue(stop_file_from_env()) as stop,
    ):
        trainer = build_trainer(recipe, [*(callbacks or []), stop, EndAtMaxSteps()])
        resume = last_checkpoint(run_dir)
        if resume is not None:
            print(f"resuming {run_dir} from {resume.name}", file=sys.stderr)
        try:
            try:
                trainer.train(resume_from_checkpoint=str(resume) if resume else None)
            except TrainingComplete as done:  # killed after its last checkpoint: no step past max_steps
                print(f"checkpoint-{done.step} is the last step: writing the final model", file=sys.stderr)
            if stop.stopped_at is not None:
                raise StoppedForRequeue(stop.stopped_at, run_dir / f"checkpoint-{stop.stopped_at}")
            save_final_model(trainer, run_dir, recipe.model_path, recipe.model.revision)
            if trainer.is_world_process_zero():
                from rl.model_card import write_model_card

                write_model_card(recipe, run_dir)  # over TRL's card, which names no base for a chained stage
        finally:
            if "wandb" in trainer.args.report_to:
                import wandb

                wandb.finish()
                wandb.teardown()  # wandb keeps settings process-wide: the next stage must pick its own WANDB_DIR
    return run_dir


WANDB_VARS = (
    "WANDB_MODE",
    "WANDB_DIR",
    "WANDB_PROJECT",
    "WANDB_ENTITY",
    "WANDB_SILENT",
    "WANDB_RUN_ID",
    "WANDB_RESUME",
)


@contextlib.contextmanager
def restored_env(names: tuple[str, ...]) -> Iterator[None]:
    saved = {n: os.environ.get(n) for n in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def build_trainer(
    recipe: Recipe, callbacks: list[Any] | None = None, trainer_cls: type | None = None
) -> Trainer:
    """config -> dataset -> tokenizer -> model -> rewards -> TRL trainer, with recipe.yaml saved in the run dir."""
    run_dir = recipe.run_dir
    model_path = check_model(recipe)
    use_wandb = setup_wandb(recipe)
    args = training_args(recipe, use_wandb)  # first: TRL's consistency checks fail before anything loads
    if recipe.dynamic_sampling.enabled:
        from rl.dynamic_sampling import check_groups_per_process

        check_groups_per_process(args)
    if args.should_save:  # the main process writes the shared files; the other ranks read them
        run_dir.mkdir(parents=True, exist_ok=True)
        recipe.save(run_dir / "recipe.yaml")
    # A pinned hub model is read from its snapshot directory (the main process fetches it first), so every
    # reader uses that commit, TRL's colocated vLLM too: it loads `model.name_or_path`, with no revision.
    with args.main_process_first(local=False, desc="fetching the model"):
        model_path = pinned_snapshot(model_path, recipe.model.revision)

    from transformers import AutoTokenizer

    from rl.data import load_training_data
    from rl.eval.suites import decontaminator
    from rl.filters import DataReport, prompt_budget
    from rl.metrics import MetricsCallback, bound_completion_logs, log_group_spread
    from rl.pass_rates import check as check_pass_rates
    from rl.stopping import stop_at_turn_end

    tokenizer = AutoTokenizer.from_pretrained(model_path, revision=recipe.model.revision)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    # A band estimated with another model is refused; its warnings are said once, not once per rank.
    check_pass_rates(recipe, tokenizer, model_path, log_warnings=args.process_index == 0)
    report = DataReport()
    clean = decontaminator(recipe.data.decontaminate, recipe.data.decontaminate_ngram)
    # The main process loads and maps the datasets first (into the shared datasets cache); the other
    # ranks wait, then read its cache instead of all downloading and mapping the same rows at once.
    with args.main_process_first(local=False, desc="loading the training data"):
        train_data, eval_data = load_training_data(
            recipe.data, tokenizer, prompt_budget(recipe), report, decontaminator=clean, order_seed=args.seed
        )
    if report.summary():
        print(f"data: {report.summary()}", file=sys.stderr)
    model = load_model(recipe, model_path)
    stop_at_turn_end(model, tokenizer, args)  # both <|endoftext|> and <|im_end|>, here and in vLLM
    common = dict(
        model=model,
        args=args,
        train_dataset=train_data,
        eval_dataset=eval_data,
        processing_class=tokenizer,
        peft_config=lora_config(recipe),
        callbacks=[MetricsCallback(run_dir), *(callbacks or [])],
    )
    if recipe.trainer == "grpo":
        from trl import GRPOTrainer

        from rl.rewards import build_rewards

        reward_funcs, _ = build_rewards(recipe)  # weights reach TRL as args.reward_weights
        completion_tables(recipe)
        cls = trainer_cls or GRPOTrainer
        if recipe.dynamic_sampling.enabled:
            from rl.dynamic_sampling import dynamic_sampling_trainer

            cls = dynamic_sampling_trainer(cls, recipe.dynamic_sampling.max_rounds)
        trainer = cls(reward_funcs=reward_funcs, **common)
        log_group_spread(trainer)
    else:
        from trl import SFTTrainer

        trainer = (trainer_cls or SFTTrainer)(**common)
    if getattr(args, "log_completions", False):
        bound_completion_logs(trainer, recipe.wandb.completions_per_step)
    attach_evaluation(recipe, trainer)
    return trainer


def completion_tables(recipe: Recipe) -> None:
    """TRL's sample-completions table on the console every `console.completions_every` steps (rl.console)."""
    import torch

    from rl.console import completion_tables as every
    from rl.console import default_table_every

    n = recipe.console.completions_every
    every(default_table_every(torch.cuda.is_available()) if n is None else n)


def check_model(recipe: Recipe) -> str:
    """The model path, or an error saying which stage to run first when a chained stage has no output yet,
    or that the name is neither a model directory nor a hub model this machine can read (rl.pins)."""
    from rl.pins import ModelNotFoundError, locate_model

    path = recipe.model_path
    local = Path(path)
    if recipe.model.from_stage and path == str(recipe.run_dir.parent / recipe.model.from_stage):
        if not (local / "config.json").is_file():
            raise RecipeError(
                f"model.from_stage {recipe.model.from_stage!r}: {local} holds no final checkpoint yet; "
                f"run that stage first, or set model.name_or_path",
                key="model.from_stage",
            )
        return path
    try:
        locate_model(path, recipe.model.revision, "model.name_or_path")
    except ModelNotFoundError as e:
        raise RecipeError(str(e), key="model.name_or_path") from None
    if local.is_dir() and not (local / "config.json").is_file():
        raise RecipeError(f"model.name_or_path {path} is not a model directory (no config.json)", key="model")
    return path


def load_model(recipe: Recipe, path: str) -> PreTrainedModel:
    import torch
    from transformers import AutoModelForCausalLM

    dtype = recipe.model.dtype if recipe.model.dtype == "auto" else getattr(torch, recipe.model.dtype)
    kwargs: dict[str, Any] = {"dtype": dtype, "revision": recipe.model.revision}
    if recipe.model.attn_implementation:
        kwargs["attn_implementation"] = recipe.model.attn_implementation
    if recipe.model.trust_remote_code:
        kwargs["trust_remote_code"] = True
    return AutoModelForCausalLM.from_pretrained(path, **kwargs)


def lora_config(recipe: Recipe) -> LoraConfig | None:
    if not recipe.model.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(task_type="CAUSAL_LM", **recipe.model.lora)


def training_args(recipe: Recipe, use_wandb: bool) -> GRPOConfig | SFTConfig:
    """TRL's config from the recipe's `training` section; CPU and logging defaults where it says nothing."""
    import torch

    defaults: dict[str, Any] = {
        "report_to": ["wandb"] if use_wandb else [],
        "run_name": recipe.wandb.run_name or f"{recipe.name}-{recipe.stage}",
        "logging_steps": 1,
    }
    if not torch.cuda.is_available():
        defaults |= {"use_cpu": True, "bf16": False}
    if recipe.data.order == "by_prompt":
        defaults["shuffle_dataset"] = False  # the rows' order is the data's (rl.data.order_by_prompt)
    if recipe.trainer == "grpo" and use_wandb and recipe.wandb.log_completions:
        defaults |= {"log_completions": True, "num_completions_to_print": 2}
    try:
        return recipe.trl_config(**{k: v for k, v in defaults.items() if k not in recipe.training})
    except (ValueError, TypeError) as e:  # TRL's own consistency checks (batch sizes, generations, ...)
        raise RecipeError(
            f"training: {recipe.trl_config_class().__name__} rejects these settings: {e}", key="training"
        ) from e


def wandb_mode(recipe: Recipe) -> str:
    """offline unless WANDB_API_KEY is set and neither WANDB_MODE nor the recipe says offline."""
    env = os.environ.get("WANDB_MODE")
    if not recipe.wandb.enabled or recipe.wandb.mode == "disabled" or env == "disabled":
        return "disabled"
    if not os.environ.get("WANDB_API_KEY") or env == "offline" or recipe.wandb.mode == "offline":
        return "offline"
    return "online"


def setup_wandb(recipe: Recipe) -> bool:
    """Point wandb at the run dir (runs/<name>/<stage>/wandb/) through its environment; True when on.

    The run id is kept in the run dir (`wandb-run-id`) and resumed ("allow"): a restarted or requeued job
    continues the same wandb run, one curve per stage, instead of starting a new one."""
    mode = wandb_mode(recipe)
    if mode == "disabled":
        return False
    os.environ["WANDB_MODE"] = mode
    os.environ["WANDB_DIR"] = str(recipe.run_dir.resolve())
    os.environ["WANDB_PROJECT"] = recipe.wandb.project
    if recipe.wandb.entity:
        os.environ["WANDB_ENTITY"] = recipe.wandb.entity
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ["WANDB_RUN_ID"] = wandb_run_id(recipe.run_dir)
    os.environ["WANDB_RESUME"] = "allow"
    return True


def wandb_run_id(run_dir: Path) -> str:
    """The run dir's wandb id: made once (random, as wandb's own), then read back by every restart."""
    path = run_dir / "wandb-run-id"
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip()
    import secrets

    run_id = secrets.token_hex(4)
    run_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(run_id + "\n")
    return run_id


def last_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint-N (its trainer_state.json, written last, parses); None to start fresh."""
    done = []
    for path in run_dir.glob("checkpoint-*"):
        try:
            step = int(path.name.removeprefix("checkpoint-"))
            json.loads((path / "trainer_state.json").read_text())
        except (ValueError, OSError):
            continue  # a save cut off by a kill: fall back to the one before
        done.append((step, path))
    return max(done)[1] if done else None


def attach_evaluation(recipe: Recipe, trainer: Any) -> None:
    """Score every saved checkpoint on the recipe's suites (rl.eval.evaluate), ahead of the metrics loggers."""
    if not recipe.evaluation.suites:
        return
    from rl.eval.callback import EvalCallback

    ev = recipe.evaluation
    EvalCallback(ev.suites, limit=ev.limit, samples=ev.samples).attach(trainer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rl train",
        description="Run one training stage (SFT or GRPO) from a recipe. Outputs go to runs/<name>/<stage>/ "
        "(metrics.jsonl, checkpoint-N/, final model, recipe.yaml, wandb/). A killed run resumes when started again.",
    )
    parser.add_argument("recipe", help="recipe YAML, e.g. recipes/smoke/stage1.yaml")
    parser.add_argument(
        "overrides", nargs="*", help="dotted overrides, e.g. training.max_steps=10 rewards.0.weight=0.5"
    )
    parser.add_argument("--print", action="store_true", help="print the resolved recipe and exit")
    args = parser.parse_intermixed_args(argv)  # overrides may follow options
    from rl.checkpointing import EXIT_REQUEUE, StoppedForRequeue
    from rl.data import DataError
    from rl.pass_rates import PassRatesError
    from rl.services import RewardFailureError, ServiceError

    try:
        recipe = load_recipe(args.recipe, args.overrides)
        if args.print:
            print(recipe.to_yaml(), end="")
            return 0
        run_dir = run_stage(recipe)
    except (
        RecipeError,
        DataError,
        PassRatesError,
        ServiceError,
    ) as e:  # fix the recipe, the data or the service: say which
        return error(e)
    except StoppedForRequeue as e:
        print(str(e), file=sys.stderr)
        return EXIT_REQUEUE
    except RewardFailureError as e:
        return error(e, 1)
    print(f"done: {run_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
