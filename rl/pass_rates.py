"""Pass-rate files (`python -m rl filter`): what they measured, and whether a stage may use them.

A pass rate is a fact about one model under one way of sampling on one set of prompts. The file's first
line is a header record, `{"provenance": {...}}`: the model (as given, its resolved identity and a
fingerprint of its weights), K, the seed, the sampling settings (temperature, top_p, top_k,
max_completion_length, the `<think>` prefill, the system prompt, a hash of the chat template), the recipe
and overrides, the data section and the exact command. Every other line is one prompt:
`{"key", "source", "task", "pass_rate", "samples"}`.

When a stage keeps a pass-rate band, `check` compares the header with the stage before any data loads:

- another model than the stage starts from is an error: the band would keep the prompts that model found
  neither trivial nor hopeless, and nothing downstream can tell (filtering with a fixed reference model on
  purpose: `data.pass_rates_any_model: true` makes it a warning);
- other sampling settings are a warning: the rates shift (a shorter `max_completion_length` fails more
  long answers) but still order the prompts by difficulty;
- a file without a header (written before it had one) is read with a warning: nothing can be checked.

Prompts of the stage that the file does not cover are dropped as `not_estimated` (rl.data): a band is a
promise that every trained prompt was measured inside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl.pins import is_hub_id

if TYPE_CHECKING:
    from rl.recipe import Recipe

log = logging.getLogger("rl.pass_rates")

WEIGHTS = ("*.safetensors", "*.bin")
# Bytes read from each end of a weight file: retrained weights differ there, and it takes seconds at 32B.
_EDGE = 1 << 20


class PassRatesError(ValueError):
    """A pass-rate file this stage must not use, with the command that makes a right one."""


@dataclass
class PassRates:
    path: Path
    rates: dict[str, float | None]  # prompt key -> pass rate; None: the row's task has no verifier
    provenance: dict[str, Any] | None = None  # None: a file written before headers existed

    def rerun(self, model: str | None = None, whole: bool = False) -> str:
        """The command that rewrites this file (with `model` for --model when given; `whole`: without the
        --limit that left prompts out)."""
        if not self.provenance:
            return f"python -m rl filter RECIPE --model {model or 'MODEL'} --samples K --out {self.path}"
        argv = list(self.provenance["argv"])
        if whole:
            argv = [
                a
                for i, a in enumerate(argv)
                if not (a.startswith("--limit") or argv[i - 1 : i] == ["--limit"])
            ]
        for i, a in enumerate(argv):
            if model is not None and a == "--model" and i + 1 < len(argv):
                argv[i + 1] = model
            elif model is not None and a.startswith("--model="):
                argv[i] = f"--model={model}"
        return shlex.join(["python", "-m", "rl", "filter", *argv])


@dataclass
class Checked:
    """What `check` found: `warnings` to show; an error was raised instead."""

    warnings: list[str] = field(default_factory=list)


def fingerprint(path: str | Path) -> str | None:
    """A hash of a model directory's weights (name, size, first and last MiB of each file); None when the
    directory holds no weights (a hub id not fetched here). Same weights, same hash; retrained, another."""
    root = Path(path)
    files = sorted(f for pattern in WEIGHTS for f in root.glob(pattern)) if root.is_dir() else []
    if not files:
        return None
    h = hashlib.sha256()
    for f in files:
        size = f.stat().st_size
        h.update(f"{f.name}\0{size}\0".encode())
        with f.open("rb") as fh:
            h.update(fh.read(_EDGE))
            if size > 2 * _EDGE:
                fh.seek(-_EDGE, 2)
                h.update(fh.read(_EDGE))
    return h.hexdigest()[:32]


def model_identity(name: str, revision: str | None = None) -> str:
    """`owner/name@commit` for a hub model, the absolute path for a local one."""
    if "@" in name and is_hub_id(name.partition("@")[0]):
        return name
    if is_hub_id(name):
        return f"{name}@{revision}" if revision else name
    return str(Path(name).resolve())


def sampling_settings(recipe: Recipe, tokenizer: Any | None) -> dict[str, Any]:
    """How completions are drawn for a prompt, as `rl filter` samples them (GRPO's own settings)."""
    t = recipe.training
    template = getattr(tokenizer, "chat_template", None) if tokenizer is not None else None
    return {
        "temperature": float(t.get("temperature", 1.0)),
        "top_p": float(t.get("top_p", 1.0)),
        "top_k": int(t.get("top_k") or 0),
        "max_completion_length": int(t.get("max_completion_length") or 256),
        "think_prefill": recipe.data.think_prefill,
        "system_prompt": recipe.data.system_prompt,
        "chat_template": hashlib.sha256(template.encode()).hexdigest()[:16] if template else None,
    }


def provenance(
    recipe: Recipe,
    argv: list[str],
    model_arg: str,
    model_path: str,
    samples: int,
    seed: int,
    limit: int | None,
) -> dict[str, Any]:
    """The header of a pass-rate file: everything the rates depend on, and how to make them again
    (`rl filter` adds the backend, the sampling settings and the prompt count once the model is loaded)."""
    data = asdict(recipe.data)
    for key in ("pass_rates", "pass_rate_band", "pass_rates_any_model", "eval_fraction"):
        data.pop(key, None)  # not what was measured: the band and the file are chosen later
    return {
        "argv": argv,
        "model": model_arg,
        "model_identity": model_identity(model_arg) if "@" in model_arg else model_identity(model_path),
        "model_fingerprint": fingerprint(model_path),
        "samples": samples,
        "seed": seed,
        "limit": limit,
        "data": data,
    }


def write(path: Path, header: dict[str, Any], records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [{"provenance": header}, *records]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines))


def read_pass_rates(path: str | Path) -> PassRates:
    """A `python -m rl filter` file: its header (None in a file written before headers) and its rates."""
    from verifiers import jsonl

    path = Path(path)
    if not path.is_file():
        raise PassRatesError(
            f"data.pass_rates {path} not found: write it with `python -m rl filter RECIPE --model PATH`"
        )
    try:
        rows = jsonl.read_jsonl(path)
    except jsonl.JsonlError as e:
        raise PassRatesError(f"data.pass_rates: {e}: rewrite it with `python -m rl filter`") from e
    header = rows[0].get("provenance") if rows else None
    body = rows[1:] if header is not None else rows
    bad = next((r for r in body if "key" not in r or "pass_rate" not in r), None)
    if bad is not None:
        raise PassRatesError(
            f"data.pass_rates {path}: {json.dumps(bad)[:120]} is not a pass-rate record "
            "({'key', 'pass_rate', ...}): is this a `python -m rl filter` file?"
        )
    rates = {r["key"]: None if r["pass_rate"] is None else float(r["pass_rate"]) for r in body}
    return PassRates(path, rates, header)


def start_model(recipe: Recipe, model_path: str | None = None) -> tuple[str, str, str | None]:
    """The stage's start model: (as to pass to `rl filter --model`, identity, weights fingerprint).
    `model_path` is where it was loaded from when that differs (a hub model's snapshot)."""
    name, revision = recipe.model_path, recipe.model.revision
    arg = f"{name}@{revision}" if revision and is_hub_id(name) else name
    return arg, model_identity(name, revision), fingerprint(model_path or name)


def check(
    recipe: Recipe, tokenizer: Any | None = None, model_path: str | None = None, log_warnings: bool = True
) -> Checked:
    """Whether the stage's `data.pass_rates` measured this stage: PassRatesError when made with another
    model, warnings (returned, and logged unless `log_warnings` is off: one rank of many says them) for
    other sampling settings or a file without a header."""
    out = Checked()
    data = recipe.data
    if data.pass_rate_band is None or not data.pass_rates:
        return out
    file = read_pass_rates(data.pass_rates)
    arg, identity, print_ = start_model(recipe, model_path)
    head = file.provenance
    if head is None:
        out.warnings.append(
            f"data.pass_rates {file.path} has no header (written before `rl filter` recorded its model and "
            f"sampling settings): nothing says it measured {arg}; to be sure, rerun `{file.rerun(arg)}`"
        )
    else:
        theirs = head.get("model_fingerprint")
        same = theirs == print_ if theirs and print_ else head.get("model_identity") == identity
        if not same:
            message = (
                f"data.pass_rates {file.path} was estimated with {head.get('model')} "
                f"({head.get('model_identity')}), but this stage starts from {arg}"
                + (" (same path, other weights)" if head.get("model_identity") == identity else "")
                + f": its pass rates are another model's. Rerun `{file.rerun(arg)}`"
            )
            if not data.pass_rates_any_model:
                raise PassRatesError(
                    message + ", or set data.pass_rates_any_model=true to filter with that model on purpose"
                )
            out.warnings.append(message + " (data.pass_rates_any_model: using it anyway)")
        ours = sampling_settings(recipe, tokenizer)
        diff = [
            f"{k} {head['sampling'].get(k)!r} -> {v!r}"
            for k, v in ours.items()
            if k in head.get("sampling", {})
            and head["sampling"][k] != v
            and not (k == "chat_template" and (v is None or head["sampling"][k] is None))
        ]
        if diff:
            out.warnings.append(
                f"data.pass_rates {file.path} was sampled with other settings than this stage's "
                f"({'; '.join(diff)}): the rates are shifted; rerun `{file.rerun(arg)}` with this recipe"
            )
    for w in out.warnings if log_warnings else ():
        log.warning(w)
    return out
