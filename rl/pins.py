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


class ModelNotFoundError(ValueError):
    """A model name that is neither a local directory nor a hub model this machine can read."""


def locate_model(name: str, revision: str | None = None, what: str = "--model") -> str:
    """`name` when something can load it: a local directory, a hub model in the HF cache, or one the hub
    serves. Otherwise ModelNotFoundError at once, saying what to do: a mistyped local path looks like an
    `owner/name` hub id, and transformers would retry the hub for half a minute before a traceback."""
    path = Path(name)
    if path.is_dir():
        return name
    if path.exists():
        raise ModelNotFoundError(f"{what} {name} is a file, not a model directory (config.json and weights)")
    if not is_hub_id(name):
        raise ModelNotFoundError(f"{what} {name}: no such directory (from {Path.cwd()}): check the path")
    from huggingface_hub import HfApi, is_offline_mode, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        snapshot_download(name, revision=revision, local_files_only=True)
        return name
    except (OSError, ValueError):  # not in the cache (LocalEntryNotFoundError is an OSError)
        pass
    at = f" at {revision}" if revision else ""
    fetch = f"fetch it first (`python -m rl download RECIPE.yaml` or `hf download {name}`)"
    if is_offline_mode():
        raise ModelNotFoundError(
            f"{what} {name} is neither a directory here nor a hub model available offline (HF_HUB_OFFLINE "
            f"is set and the HF cache has no {name}{at}): check the path, or {fetch}, or set HF_HUB_OFFLINE=0"
        )
    try:
        HfApi().model_info(name, revision=revision, timeout=10)
    except GatedRepoError:
        return name  # the loader says how to get access
    except RepositoryNotFoundError:
        raise ModelNotFoundError(
            f"{what} {name} is neither a directory here nor a model on the hub: check the path"
        ) from None
    except RevisionNotFoundError:
        raise ModelNotFoundError(f"{what} {name}: the hub has no revision {revision}") from None
    except HfHubHTTPError:
        return name  # the hub answered; the loader reports what it said
    except ValueError as e:  # HFValidationError: no hub id can be spelled so
        raise ModelNotFoundError(
            f"{what} {name} is neither a directory here nor a hub id ({e}): check the path"
        ) from None
    except Exception as e:  # no network: the HTTP client's connection errors have no common base with OSError
        raise ModelNotFoundError(
            f"{what} {name} is neither a directory here nor a hub model available offline (not in the HF "
            f"cache, and the hub is unreachable: {e}): check the path, or {fetch} on a machine with network"
        ) from None
    return name


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
    """Say once per hub model that it is read at the moving main branch. A local path needs no revision, and
    `runs/x` or `dir/x` beside a local `dir/` is a path, likely mistyped, that `locate_model` reports."""
    looks_local = name is not None and (name.startswith("runs/") or Path(name).parent.is_dir())
    if revision is None and is_hub_id(name) and not looks_local and name not in _WARNED:
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
        locate_model(text)
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
    locate_model(name, revision)
    return pinned_snapshot(name, revision)
