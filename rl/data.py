"""Training data: a weighted mixture of sources, every row tagged with a `task`, prompts rendered as text.

`local:<path or bundled name>` reads JSONL here (no network); anything else is a hub dataset id loaded
with `datasets` on a cluster. Prompts are rendered with the model's own chat template and the assistant
turn opened by `<think>\\n`, as QwQ does, so the policy's completions start inside its reasoning.
Rewards receive every other column as keyword arguments (see recipes/README.md for the columns per task).
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verifiers import jsonl
from verifiers.completion import message_text

if TYPE_CHECKING:
    from datasets import Dataset

    from rl.recipe import DataSection, DataSource

THINK_PREFILL = "<think>\n"
# Columns a row keeps (recipes/README.md): the prompt, SFT targets, `task`, and what the rewards read.
# Everything else a hub dataset carries (long reference solutions, metadata) is dropped after adapting.
COLUMNS = (
    "prompt",
    "completion",
    "messages",
    "task",
    "answer",
    "tests",
    "instruction_id_list",
    "kwargs",
    "tools",
    "ground_truth",
    "id",
)
# Where `local:<name>` looks after the path itself: <root>/<name>/<split>.jsonl or <root>/<name>.jsonl.
# rl/data/smoke/<task>/<split>.jsonl holds the bundled smoke tasks (rl/smoke/tasks.py writes them).
BUNDLED_ROOTS = (Path(__file__).resolve().parent / "data",)


class DataError(ValueError):
    """A data source that cannot be read, with what to do about it."""


def local_path(name: str, split: str) -> Path:
    """The JSONL file behind `local:<name>`: a path (file, or dir holding <split>.jsonl), else a bundled name."""
    candidates: list[Path] = []
    for root in (Path.cwd(), *BUNDLED_ROOTS):
        base = root / name
        candidates += [
            base,
            base / f"{split}.jsonl",
            base.with_name(f"{base.name}.jsonl"),
            base / f"{split}.json",
        ]
        candidates.append(base.with_name(f"{base.name}_{split}.jsonl"))
    for c in candidates:
        if c.is_file():
            return c
    roots = ", ".join(str(r) for r in BUNDLED_ROOTS)
    raise DataError(
        f"local:{name} (split {split}) not found: give a JSONL path or a directory with {split}.jsonl, "
        f"or a bundled name under {roots}"
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        return jsonl.read_jsonl(path)
    except jsonl.JsonlError as e:
        raise DataError(str(e)) from e


def load_source(src: DataSource, seed: int = 0) -> Dataset:
    """One mixture entry as a Dataset with its columns renamed, a `task` column, capped and weighted."""
    from datasets import Dataset, load_dataset

    if src.source.startswith("local:"):
        rows = read_jsonl(local_path(src.source.removeprefix("local:"), src.split))
        if not rows:
            raise DataError(f"{src.source} (split {src.split}) has no rows")
        ds = Dataset.from_list([_normalise(r) for r in rows])
    else:
        try:
            ds = load_dataset(src.source, src.subset, split=src.split)
        except Exception as e:  # offline, unknown id, gated, bad split: one message, not a traceback
            cause = str(e).splitlines()[0] if str(e) else ""
            raise DataError(
                f"{src.source} (split {src.split}) could not be loaded from the Hugging Face hub "
                f"({type(e).__name__}: {cause}). Check the id and split; on a machine without internet, fetch it "
                "first on one that has it (`python -m rl download RECIPE.yaml`) and run with HF_HUB_OFFLINE=1"
            ) from e
    if src.columns:
        missing = [c for c in src.columns if c not in ds.column_names]
        if missing:
            raise DataError(f"{src.source}: columns {missing} to rename are not in {ds.column_names}")
        ds = ds.rename_columns(src.columns)
    if "prompt" not in ds.column_names and "messages" not in ds.column_names:
        raise DataError(
            f"{src.source} has no `prompt` column (has {ds.column_names}): map one with columns: {{<col>: prompt}}"
        )
    if src.task is not None:
        ds = ds.remove_columns([c for c in ("task",) if c in ds.column_names])
        ds = ds.add_column("task", [src.task] * len(ds))
    elif "task" not in ds.column_names:
        raise DataError(f"{src.source} has no `task` column: set task: in its mixture entry")
    if src.max_samples is not None and len(ds) > src.max_samples:
        ds = ds.shuffle(seed=seed).select(range(src.max_samples))
    if "prompt" in ds.column_names and getattr(ds.features["prompt"], "dtype", None) in (
        "string",
        "large_string",
    ):
        ds = ds.map(lambda row: {"prompt": to_messages(row["prompt"])}, desc=f"{src.source}: prompts as chat")
    ds = adapt(ds, src)
    ds = ds.select_columns([c for c in ds.column_names if c in COLUMNS or c in src.keep])
    return _weighted(ds, src.weight, seed)


def adapt(ds: Dataset, src: DataSource) -> Dataset:
    """Hub formats to our reward columns: code rows without `tests` (sandbox.formats adapters) and
    RLVR-IFeval rows (`ground_truth` naming an open-instruct check) without `instruction_id_list`."""
    cols = set(ds.column_names)
    tasks = set(ds.unique("task")) if "task" in cols else set()
    if "code" in tasks and "tests" not in cols:
        from sandbox.formats import row_to_tests

        ds = ds.map(lambda row: {"tests": json.dumps(row_to_tests(row))}, desc=f"{src.source}: tests")
    if "ifeval" in tasks and "instruction_id_list" not in cols and "ground_truth" in cols:
        ds = ds.map(lambda row: rlvr_ifeval(row["ground_truth"]), desc=f"{src.source}: IFEval ids")
    return ds


def _relation(quantifier: str | None, n: int) -> tuple[str, int]:
    """open-instruct's at least / at most / around N as IFEval's (`at least` | `less than`, N)."""
    if quantifier == "at most":
        return "less than", n + 1
    if quantifier == "around":  # IFEval has no "around": keep the lower edge of open-instruct's tolerance
        return "at least", max(0, n - max(round(n * 0.1), 1))
    return "at least", n


def rlvr_ifeval(ground_truth: str | dict) -> dict[str, Any]:
    """An allenai/RLVR-IFeval `ground_truth` (open-instruct check name + args) as IFEval id + kwargs."""
    gt = json.loads(ground_truth) if isinstance(ground_truth, str) else dict(ground_truth)
    name, n = gt.get("func_name"), gt.get("N")
    table: dict[str, tuple[str, dict[str, Any]]] = {
        "verify_keywords": ("keywords:existence", {"keywords": gt.get("keyword_list")}),
        "validate_forbidden_words": (
            "keywords:forbidden_words",
            {"forbidden_words": gt.get("forbidden_words")},
        ),
        "validate_response_language": ("language:response_language", {"language": gt.get("language")}),
        "verify_paragraph_count": ("length_constraints:number_paragraphs", {"num_paragraphs": n}),
        "validate_paragraphs": (
            "length_constraints:nth_paragraph_first_word",
            {"num_paragraphs": n, "nth_paragraph": gt.get("i"), "first_word": gt.get("first_word")},
        ),
        "verify_postscript": (
            "detectable_content:postscript",
            {"postscript_marker": gt.get("postscript_marker")},
        ),
        "validate_placeholders": ("detectable_content:number_placeholders", {"num_placeholders": n}),
        "verify_bullet_points": ("detectable_format:number_bullet_lists", {"num_bullets": n}),
        "validate_title": ("detectable_format:title", {}),
        "validate_choice": ("detectable_format:constrained_response", {}),
        "validate_highlighted_sections": (
            "detectable_format:number_highlighted_sections",
            {"num_highlights": n},
        ),
        "validate_sections": (
            "detectable_format:multiple_sections",
            {"section_spliter": gt.get("section_splitter"), "num_sections": n},
        ),
        "validate_json_format": ("detectable_format:json_format", {}),
        "validate_repeat_prompt": (
            "combination:repeat_prompt",
            {"prompt_to_repeat": gt.get("original_prompt")},
        ),
        "validate_two_responses": ("combination:two_responses", {}),
        "validate_uppercase": ("change_case:english_capital", {}),
        "validate_lowercase": ("change_case:english_lowercase", {}),
        "validate_end": ("startend:end_checker", {"end_phrase": gt.get("end_phrase")}),
        "validate_quotation": ("startend:quotation", {}),
        "validate_no_commas": ("punctuation:no_comma", {}),
    }
    if name == "verify_keyword_frequency":
        iid, kw = "keywords:frequency", {"keyword": gt.get("word"), "frequency": n, "relation": "exactly"}
    elif name == "verify_letter_frequency":
        iid, kw = (
            "keywords:letter_frequency",
            {"letter": gt.get("letter"), "let_frequency": n, "let_relation": "exactly"},
        )
    elif name in (
        "validate_word_constraint",
        "verify_sentence_constraint",
        "validate_frequency_capital_words",
    ):
        if not isinstance(n, int):
            raise DataError(f"RLVR-IFeval check {name} needs an integer N, got {n!r}")
        relation, count = _relation(gt.get("quantifier"), n)
        iid, kw = {
            "validate_word_constraint": (
                "length_constraints:number_words",
                {"num_words": count, "relation": relation},
            ),
            "verify_sentence_constraint": (
                "length_constraints:number_sentences",
                {"num_sentences": count, "relation": relation},
            ),
            "validate_frequency_capital_words": (
                "change_case:capital_word_frequency",
                {"capital_frequency": count, "capital_relation": relation},
            ),
        }[name]
    elif name in table:
        iid, kw = table[name]
    else:
        raise DataError(f"RLVR-IFeval ground_truth names {name!r}, which has no IFEval counterpart here")
    return {"instruction_id_list": [iid], "kwargs": json.dumps([kw])}


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-encode dict/list-of-dict columns other than `prompt`/`completion`, so mixed schemas concatenate."""
    out = {}
    for key, value in row.items():
        if key not in ("prompt", "completion", "messages") and (
            isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value))
        ):
            value = json.dumps(value)
        if key == "answer" and value is not None and not isinstance(value, str):
            value = str(value)
        out[key] = value
    return out


def _weighted(ds: Dataset, weight: float, seed: int) -> Dataset:
    """weight x rows: whole repeats plus a seeded sample of the remainder."""
    if weight == 1.0:
        return ds
    target = max(1, round(weight * len(ds)))
    order = list(range(len(ds))) * (target // len(ds))
    rest = list(range(len(ds)))
    random.Random(seed).shuffle(rest)
    order += rest[: target - len(order)]
    return ds.select(order)


def load_mixture(data: DataSection) -> tuple[Dataset, Dataset | None]:
    """All sources concatenated (columns a source lacks are None), then the eval split if asked for."""
    from datasets import concatenate_datasets

    parts = [load_source(src, data.seed) for src in data.mixture]
    ds = concatenate_datasets(_align(parts)) if len(parts) > 1 else parts[0]
    if data.eval_fraction > 0:
        n_eval = max(1, math.floor(len(ds) * data.eval_fraction))
        split = ds.train_test_split(test_size=n_eval, seed=data.seed)
        return split["train"], split["test"]
    return ds, None


def _align(parts: list[Dataset]) -> list[Dataset]:
    """Give every part the union of columns, typed from the first part where a column is not all-null."""
    from datasets import Features, Value

    features: dict[str, Any] = {}
    for ds in parts:
        for name, feat in ds.features.items():
            if name not in features or features[name] == Value("null"):
                features[name] = feat
    aligned = []
    for ds in parts:
        for name, feat in features.items():
            if name not in ds.column_names:
                ds = ds.add_column(name, [None] * len(ds), feature=feat)
        ds = ds.select_columns(list(features))
        if ds.features != Features(features):
            ds = ds.cast(Features(features))
        aligned.append(ds)
    return aligned


def to_messages(prompt: str | list[dict[str, str]], system_prompt: str | None = None) -> list[dict[str, str]]:
    """A prompt as chat messages: a bare string is one user turn; the recipe's system prompt goes first."""
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
    if system_prompt and (not messages or messages[0]["role"] != "system"):
        messages = [{"role": "system", "content": system_prompt}, *messages]
    return messages


def render_prompt(
    prompt: str | list[dict[str, str]],
    tokenizer: Any,
    system_prompt: str | None = None,
    think_prefill: bool = True,
) -> str:
    """Chat-template text ending in the opened assistant turn, plus `<think>\\n` unless the template adds it."""
    text = tokenizer.apply_chat_template(
        to_messages(prompt, system_prompt), tokenize=False, add_generation_prompt=True
    )
    if think_prefill and not text.endswith(THINK_PREFILL):
        text += THINK_PREFILL
    return text


def sft_target(completion: str | list[dict[str, str]], think_prefill: bool = True) -> str:
    """An SFT target as text after the rendered prompt: the assistant content minus the prefilled `<think>\\n`."""
    if not isinstance(completion, str):
        completion = "".join(message_text(m) for m in completion if m["role"] == "assistant")
    if think_prefill and completion.startswith(THINK_PREFILL):
        completion = completion[len(THINK_PREFILL) :]
    elif think_prefill and completion.startswith("<think>"):
        completion = completion[len("<think>") :].lstrip("\n")
    return completion


def prepare(ds: Dataset, tokenizer: Any, data: DataSection) -> Dataset:
    """Render `prompt` (and an SFT `completion`) to text, keeping the messages as `prompt_messages`.

    A row with a full `messages` conversation and no `prompt` is left for SFTTrainer's own templating.
    """

    if "prompt" not in ds.column_names:
        return ds

    def render(row: dict[str, Any]) -> dict[str, Any]:
        if row["prompt"] is None:  # a `messages` row mixed with prompt rows
            return {}
        out = {
            "prompt": render_prompt(row["prompt"], tokenizer, data.system_prompt, data.think_prefill),
            # the conversation itself: rl.rewards hands it to verifiers as `prompts` instead of the rendered text
            "prompt_messages": to_messages(row["prompt"], data.system_prompt),
        }
        if row.get("completion") is not None:
            out["completion"] = sft_target(row["completion"], data.think_prefill)
        return out

    return ds.map(render, desc="rendering prompts")


def load_training_data(data: DataSection, tokenizer: Any) -> tuple[Dataset, Dataset | None]:
    """The stage's train (and eval) rows, rendered and ready for GRPOTrainer / SFTTrainer."""
    train, evaluation = load_mixture(data)
    train = prepare(train, tokenizer, data)
    return train, (prepare(evaluation, tokenizer, data) if evaluation is not None else None)
