"""What the data loader drops, and why, counted per source: `DataReport`.

Rows are dropped, never silently: every reason has a name in the report (`python -m rl data` prints it,
training logs it). Reasons: `no_gold` (placeholder math golds), `unsupported_language` (code the sandbox
cannot run), `unreadable` (columns that do not parse as their format), `contaminated` (shares an n-gram
with an eval suite, `rl.decontam`), `too_long` (the rendered prompt leaves less than
`max_completion_length` of the vLLM context), `too_easy` / `too_hard` (outside the recipe's pass-rate band),
`not_estimated` (not in the band's pass-rate file: added or changed since the estimate, rl.pass_rates),
`weight` (usable rows a source weight below 1 leaves out). `kept` is what the stage trains on from a source
(with a weight above 1, repeats included).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasets import Dataset

    from rl.recipe import Recipe

MIN_REFERENCE_PASS_RATE = 0.95  # below this a source's own references fail its reward: look before training


@dataclass
class SourceCount:
    read: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    reference_pass_rate: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "reference_pass_rate": self.reference_pass_rate,
        }


class DataReport(dict[str, SourceCount]):
    """`{source: SourceCount}` in mixture order; `drop` counts a reason and lowers `kept`."""

    def source(self, name: str) -> SourceCount:
        return self.setdefault(name, SourceCount())

    def drop(self, name: str, reason: str, n: int = 1) -> None:
        if n:
            entry = self.source(name)
            entry.dropped[reason] += n
            entry.kept -= n

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: c.to_dict() for name, c in self.items()}

    def table(self) -> str:
        """A plain-text table: one line per source with read, kept, each drop reason and the reference rate."""
        reasons = sorted({r for c in self.values() for r in c.dropped})
        head = ["source", "read", "kept", *reasons, "reference"]
        rows = [
            [
                name,
                str(c.read),
                str(c.kept),
                *(str(c.dropped.get(r, 0)) for r in reasons),
                "-"
                if c.reference_pass_rate is None
                else f"{c.reference_pass_rate:.3f}"
                + ("  LOW" if c.reference_pass_rate < MIN_REFERENCE_PASS_RATE else ""),
            ]
            for name, c in self.items()
        ]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

        def fmt(row: list[str]) -> str:
            cells = [
                v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))
            ]
            return "  ".join(cells)

        return "\n".join([fmt(head), *(fmt(r) for r in rows)])

    def summary(self) -> str:
        """The sources that lost rows to a data problem, for the training log."""
        return "; ".join(
            f"{name}: kept {c.kept}/{c.read} ("
            + ", ".join(f"{r} {n}" for r, n in sorted(c.dropped.items()))
            + ")"
            for name, c in self.items()
            if set(c.dropped) - {"weight"}  # a weight below 1 is the recipe's choice, not a data problem
        )


def prompt_budget(recipe: Recipe) -> int | None:
    """The most prompt tokens a GRPO stage can take: `vllm_max_model_length - max_completion_length`.

    A longer prompt makes the vLLM server answer HTTP 400 for the whole batch and the step raises; a
    requeued job replays the same batch. None when the recipe sets no vLLM context (no such limit).
    """
    t = recipe.training
    if recipe.trainer != "grpo" or not t.get("vllm_max_model_length"):
        return None
    return int(t["vllm_max_model_length"]) - int(t.get("max_completion_length") or 256)


def drop_too_long(ds: Dataset, tokenizer: Any, budget: int, report: DataReport | None) -> Dataset:
    """Rows whose rendered `prompt` is longer than `budget` tokens, dropped and counted as `too_long`."""
    lengths = [len(ids) for ids in tokenizer(list(ds["prompt"]), add_special_tokens=False)["input_ids"]]
    keep = [i for i, n in enumerate(lengths) if n <= budget]
    if len(keep) == len(ds):
        return ds
    if report is not None and "source" in ds.column_names:
        for name, n in Counter(list(ds.select(sorted(set(range(len(ds))) - set(keep)))["source"])).items():
            report.drop(name, "too_long", n)
    return ds.select(keep)


def prompt_key(messages: Any) -> str:
    """A stable key for one prompt (its chat messages before rendering), for pass-rate files."""
    text = messages if isinstance(messages, str) else json.dumps(messages, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def band_reason(rate: float | None, band: list[float]) -> str | None:
    """`too_hard` below the band, `too_easy` above it, None inside it or without an estimate."""
    if rate is None:
        return None
    if rate < band[0]:
        return "too_hard"
    if rate > band[1]:
        return "too_easy"
    return None
