"""Hub pins: what a revision must be, what names a hub repository, and the warning for an unpinned model.

A model or dataset read at a branch (`main`) can change upstream between a job and its requeue, or between
our run and a user's; a full commit id cannot. Short ids are refused too: they can become ambiguous, and
tools that compare revisions (caches, our own download plan) see `abc1234` and its full id as two.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

log = logging.getLogger("rl.pins")

COMMIT = re.compile(r"[0-9a-f]{40}")
# What a model load reads: weights, config, tokenizer and chat template (not other formats' weights).
MODEL_FILES = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken", "*.py", "*.jinja"]
_WARNED: set[str] = set()


def revision_problem(revision: str | None) -> str | None:
    """Why `revision` is no pin (None when it is one, or when none is given)."""
    if revision is None or COMMIT.fullmatch(revision):
        return None
    return (
        f"revision {revision!r} is not a full 40-hex commit id; a branch or a short id can move or become "
        "ambiguous: copy the full commit id from the repository's history page on the hub"
    )


def is_hub_id(name: str | None) -> bool:
    """owner/name that is not a local path or URL (what transformers and datasets would look up on the hub)."""
    if not name or name.startswith((".", "/", "local:", "http://", "https://", "unix:")):
        return False
    return name.count("/") == 1 and not Path(name).exists()


def pinned_snapshot(name: str, revision: str | None) -> str:
    """The local directory of hub model `name` at `revision` (fetched once into the HF cache, read from it
    offline); `name` itself when it is a local path or unpinned. Loading from this directory makes every
    reader in the process use the commit: TRL's colocated vLLM loads `model.name_or_path` with no revision,
    which for a model loaded by hub id is the id, i.e. `main`."""
    if revision is None or not is_hub_id(name):
        return name
    from huggingface_hub import snapshot_download

    return snapshot_download(name, revision=revision, allow_patterns=MODEL_FILES)


def warn_if_unpinned(name: str | None, revision: str | None, key: str) -> None:
    """Say once per hub model that it is read at the moving main branch (a local path needs no revision)."""
    if revision is None and is_hub_id(name) and name not in _WARNED:
        _WARNED.add(str(name))
        log.warning(
            "%s reads the hub model %s at the moving main branch (no %s): its weights or tokenizer can change "
            "upstream between a job and its requeue; pin the commit id from the model's history page",
            key.rsplit(".", 1)[0],
            name,
            key,
        )


def model_argument(text: str) -> str:
    """What a command-line `--model` loads: a local path as given, `owner/name@COMMIT` from the hub at that
    commit (its snapshot folder), an unpinned hub id with a warning. ValueError names a bad revision."""
    name, at, revision = text.partition("@")
    if not at or not is_hub_id(name):
        if is_hub_id(text):
            log.warning(
                "--model %s reads the hub at the moving main branch: pin it as %s@<full commit id>",
                text,
                text,
            )
        return text
    problem = revision_problem(revision)
    if problem:
        raise ValueError(f"--model {text}: {problem}")
    return pinned_snapshot(name, revision)
