"""What a stage saves beyond TRL's periodic checkpoints: a checkpoint before a time-limit requeue, and a
final model that `from_pretrained` and vLLM load, whichever backend trained it.

Requeue: Slurm warns a job before its time limit (`#SBATCH --signal=B:USR1@<lead>`, to the batch shell).
recipes/slurm/stage.sbatch then creates the job's stop file (`OPEN_QWQ_STOP_FILE`), and `StopForRequeue`,
checked at the end of every optimizer step, saves a checkpoint there and stops training; the script
requeues the job and the next run resumes from that checkpoint. A SIGUSR1 sent to the training process
itself does the same (a run started by hand). The ranks agree on the step to stop at with one all-reduce,
so none waits in a collective the others have left.

Resume at the end: a job killed after its last checkpoint (checkpoint-N, N = max_steps) but before its final
model is on disk resumes from checkpoint-N. transformers runs a step of its loop before it looks at
max_steps, so that resume would train step N+1 (a metrics row and a checkpoint past the end);
`EndAtMaxSteps` leaves training at once instead, and the stage goes on to its final save.

Final save (`save_final_model`):
- FSDP checkpoints are sharded (`SHARDED_STATE_DICT`, fast to write and to resume from), and with that
  setting `Trainer.save_model` writes no weights at all; the final save switches to a full state dict.
- DeepSpeed ZeRO-3 writes a 16-bit model only with `zero3_save_16bit_model: true`
  (recipes/accelerate/zero3.yaml); without it the check below fails naming that key.
- LoRA saves only its adapter; the main process merges it into the base model on the CPU and writes the
  merged model at the run directory's root (the adapter is kept in `adapter/`), so the next stage and vLLM
  load one ordinary model.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

STOP_FILE_ENV = "OPEN_QWQ_STOP_FILE"
REQUEUE_SIGNAL = signal.SIGUSR1
EXIT_REQUEUE = 75  # EX_TEMPFAIL: stopped early on request, with a checkpoint to resume from
ADAPTER_DIR = "adapter"


class StoppedForRequeue(Exception):
    """Training stopped early on request with a checkpoint at `step`; running the stage again resumes it."""

    def __init__(self, step: int, checkpoint: Path) -> None:
        super().__init__(
            f"stopped at step {step} on request: {checkpoint} saved; start the stage again to resume from it"
        )
        self.step = step


class StopForRequeue(TrainerCallback):
    """Save a checkpoint and stop at the end of the current step once SIGUSR1 arrives or the stop file exists."""

    def __init__(self, stop_file: str | Path | None = None) -> None:
        self.stop_file = Path(stop_file) if stop_file else None
        self.requested = False
        self.stopped_at: int | None = None
        self._previous: Any = None

    def __enter__(self) -> StopForRequeue:
        if threading.current_thread() is threading.main_thread():  # Python handles signals there only
            self._previous = signal.signal(REQUEUE_SIGNAL, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(REQUEUE_SIGNAL, self._previous)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.requested = True
        print(f"signal {signal.Signals(signum).name}: saving a checkpoint after this step", file=sys.stderr)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        local = self.requested or bool(self.stop_file and self.stop_file.exists())
        if _any_rank(local, args) and state.global_step < state.max_steps:
            control.should_save = True
            control.should_training_stop = True
            self.stopped_at = state.global_step
        return control


class TrainingComplete(Exception):
    """The checkpoint resumed from already reached max_steps: only the final save is left."""

    def __init__(self, step: int) -> None:
        super().__init__(f"training already reached its last step ({step})")
        self.step = step


class EndAtMaxSteps(TrainerCallback):
    """Raise TrainingComplete when training begins at max_steps (see the module docstring).

    By `on_train_begin` the Trainer has loaded the checkpoint's weights on every backend (plain, FSDP,
    DeepSpeed, LoRA), so the final save that follows writes the trained model. Every rank reads the same
    trainer state, so all of them leave together."""

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if 0 < state.max_steps <= state.global_step:
            raise TrainingComplete(state.global_step)
        return control


def _any_rank(flag: bool, args: Any) -> bool:
    """True on every rank when it is True on one (a MAX all-reduce; the flag alone without distributed)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    import torch

    value = torch.tensor([int(flag)], device=args.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def stop_file_from_env() -> Path | None:
    value = os.environ.get(STOP_FILE_ENV)
    return Path(value) if value else None


def save_final_model(trainer: Any, run_dir: Path, base_model: str, revision: str | None = None) -> None:
    """Write the final model at `run_dir`'s root as one consolidated checkpoint (see the module docstring)."""
    if getattr(trainer, "is_fsdp_enabled", False):
        full_state_dict_for_final_save(trainer.accelerator.state.fsdp_plugin)
    trainer.save_model(str(run_dir))
    if trainer.args.should_save:
        trainer.processing_class.save_pretrained(str(run_dir))
        if (run_dir / "adapter_config.json").is_file():
            merge_adapter(run_dir, base_model, revision)
        check_final_model(run_dir)
    trainer.accelerator.wait_for_everyone()  # the others leave once the model on disk is complete


def full_state_dict_for_final_save(fsdp_plugin: Any) -> None:
    """Checkpoints stay sharded (resume reads them back in parallel); the final model is gathered whole."""
    fsdp_plugin.set_state_dict_type("FULL_STATE_DICT")


def merge_adapter(run_dir: Path, base_model: str, revision: str | None = None) -> None:
    """Merge the LoRA adapter saved at `run_dir` into its base model (on the CPU) and save that instead."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    adapter = run_dir / ADAPTER_DIR
    if adapter.exists():
        shutil.rmtree(adapter)
    adapter.mkdir()
    for name in ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin"):
        if (run_dir / name).exists():
            (run_dir / name).replace(adapter / name)
    base = AutoModelForCausalLM.from_pretrained(base_model, revision=revision, dtype="auto")
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    merged.save_pretrained(str(run_dir))


def check_final_model(run_dir: Path) -> None:
    """The root must hold a config and full weights; say which setting to change when it does not."""
    weights = [*run_dir.glob("model*.safetensors"), *run_dir.glob("pytorch_model*.bin")]
    if (run_dir / "config.json").is_file() and weights:
        return
    raise RuntimeError(
        f"the final save left no loadable model in {run_dir} (config.json and model weights): with DeepSpeed "
        "ZeRO-3 set zero3_save_16bit_model: true in the accelerate config (recipes/accelerate/zero3.yaml); "
        "the last checkpoint-N holds the trained state"
    )
