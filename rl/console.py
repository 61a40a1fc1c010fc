"""What a run prints: the signal (progress, per-step metrics, our own notices), not library chatter.

- `quiet_libraries`: each known noisy warning is shown once per process (not once per stage or step: a
  "once" filter alone does not hold, because CPython keeps "once" in the warning site's registry, which
  every filter change, `catch_warnings` included, clears; the display is de-duplicated instead);
  transformers' weight-loading reports and bars and datasets' per-map bars are off. Warnings of our own
  (`rl.*`, `verifiers.*`, `sandbox.*`) are untouched: a reward that cannot score still says so.
- `error`: every command's user-facing error, one line to stderr as `error: <what is wrong>: <what to
  do>`, so they read alike and a script can grep them.
- `progress`: one bar per phase of a command's long work (loading the sources, scoring references), in
  place of the libraries' per-step bars that `quiet_libraries` turns off (datasets prints several per
  source: adapting, dropping, flattening).
- `completion_tables`: TRL prints a table of sample completions at every logged step when
  `log_completions` is on (thousands of lines in a short run); here it prints every N steps only, and
  never when N is 0. The wandb table and parquet files TRL writes beside it are not affected.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import warnings
from collections.abc import Callable
from typing import Any

# (message regex, category): warnings every stage or step repeats, useful once.
NOISY_WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    (r".*is deprecated and will be removed in v\d", FutureWarning),
    (r".*torch_dtype.*is deprecated", FutureWarning),
    (r".*`resume_download` is deprecated", FutureWarning),
    (r".*does not have many workers", UserWarning),
    (r".*The given NumPy array is not writable", UserWarning),
)
# Library loggers whose INFO/WARNING lines repeat per stage without telling the user anything to do.
CHATTY_LOGGERS: dict[str, int] = {
    "DeepSpeed": logging.ERROR,  # "Setting accelerator to CPU" on every import
    "httpx": logging.WARNING,  # one line per sandbox / reward-model request
    "datasets": logging.ERROR,
}
DEFAULT_TABLE_EVERY_GPU = 10  # logged steps between completion tables on a GPU run


@functools.cache
def quiet_libraries() -> None:
    """Idempotent: known noisy warnings once per process, library progress bars and load reports off."""
    warnings.showwarning = _noisy_once(warnings.showwarning)
    for name, level in CHATTY_LOGGERS.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addFilter(_AtLeast(level))  # DeepSpeed sets its own logger's level again when imported
    try:
        import datasets
        import transformers

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    except ImportError:  # the CLI's --help paths run without them
        pass


def _noisy_once(show: Callable[..., Any]) -> Callable[..., Any]:
    """warnings.showwarning that shows each known noisy warning (category, text) once per process."""
    seen: set[tuple[type, str]] = set()

    @functools.wraps(show)
    def show_once(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        text = str(message)
        if any(issubclass(category, c) and re.match(p, text) for p, c in NOISY_WARNINGS):
            if (category, text) in seen:
                return
            seen.add((category, text))
        show(message, category, *args, **kwargs)

    return show_once


class _AtLeast(logging.Filter):
    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


def progress(desc: str, total: int, unit: str, enabled: bool = True) -> Any:
    """A tqdm bar for one phase, used as a context manager (closed on an error too, so the error's line is
    its own); `update(n)` as items finish. `enabled=False`: the same object, silent."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, mininterval=1.0, dynamic_ncols=True, disable=not enabled)


def default_table_every(cuda: bool) -> int:
    """Completion tables are off by default on CPU (short runs: every step would drown the console)."""
    return DEFAULT_TABLE_EVERY_GPU if cuda else 0


def completion_tables(every: int) -> None:
    """Make TRL print its completions table only at steps that are a multiple of `every` (0: never)."""
    from trl.trainer import grpo_trainer

    original: Callable[..., Any] = getattr(
        grpo_trainer.print_prompt_completions_sample,
        "__wrapped__",
        grpo_trainer.print_prompt_completions_sample,
    )

    @functools.wraps(original)
    def every_n_steps(*args: Any, **kwargs: Any) -> None:
        step = kwargs.get("step", args[4] if len(args) > 4 else 0)
        if every > 0 and step % every == 0:
            original(*args, **kwargs)

    every_n_steps.every = every  # type: ignore[attr-defined]
    grpo_trainer.print_prompt_completions_sample = every_n_steps


def error(message: object, code: int = 2) -> int:
    """Print `error: message` to stderr and return `code` (2: fix the input, 1: the work failed), for
    `return error(...)` in a command's main."""
    print(f"error: {message}", file=sys.stderr)
    return code
