"""Training data: a weighted mixture of sources, every row tagged with a `task`, prompts rendered as text.

`local:<path or bundled name>` reads JSONL here (no network); anything else is a hub dataset id loaded
with `datasets` on a cluster. Prompts are rendered with the model's own chat template and the assistant
turn opened by `<think>\\n`, as QwQ does, so the policy's completions start inside its reasoning.
Rewards receive every other column as keyword arguments (see recipes/README.md for the columns per task).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl import console
from rl.adapters import (
    DROP_KEY,
    adapt_code,
    adapt_ifeval,
    adapt_tools,
    code_language,
    has_gold,
    instruction_text,
    reference_completion,
    with_instruction,
)
from rl.decontam import prompt_text
from rl.filters import DataReport, band_reason, drop_too_long, prompt_key
from rl.pass_rates import PassRates, read_pass_rates
from sandbox.formats import SUPPORTED_LANGUAGES
from verifiers import jsonl
from verifiers.completion import message_text

if TYPE_CHECKING:
    from datasets import Dataset

    from rl.decontam import Decontaminator
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
    "source",  # the mixture entry a row came from (replaces a hub dataset's own `source` column)
)
# Where `local:<name>` looks after the path itself: <root>/<name>/<split>.jsonl or <root>/<name>.jsonl.
# rl/data/smoke/<task>/<split>.jsonl holds the bundled smoke tasks (rl/smoke/tasks.py writes them).
BUNDLED_ROOTS = (Path(__file__).resolve().parent / "data",)
log = logging.getLogger("rl.data")


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


def read_source(src: DataSource) -> Dataset:
    """The rows of one mixture entry as they are: a local JSONL file, or the hub dataset at its revision."""
    from datasets import Dataset, load_dataset

    if src.source.startswith("local:"):
        rows = read_jsonl(local_path(src.source.removeprefix("local:"), src.split))
        if not rows:
            raise DataError(f"{src.source} (split {src.split}) has no rows")
        return Dataset.from_list([_normalise(r) for r in rows])
    try:
        return load_dataset(src.source, src.subset, split=src.split, revision=src.revision)
    except Exception as e:  # offline, unknown id, gated, bad split: one message, not a traceback
        cause = str(e).splitlines()[0] if str(e) else ""
        raise DataError(
            f"{src.source} (split {src.split}) could not be loaded from the Hugging Face hub "
            f"({type(e).__name__}: {cause}). Check the id and split; on a machine without internet, fetch it "
            "first on one that has it (`python -m rl download RECIPE.yaml`) and run with HF_HUB_OFFLINE=1"
        ) from e


def load_source(
    src: DataSource,
    seed: int = 0,
    report: DataReport | None = None,
    decontaminator: Decontaminator | None = None,
    references: bool = False,
    pass_rates: dict[str, float | None] | None = None,
    band: list[float] | None = None,
) -> Dataset:
    """One mixture entry as a Dataset with its columns renamed, a `task` and a `source` column, adapted to
    our reward columns, capped, filtered (each dropped row counted in `report` under its reason), weighted,
    and kept inside the pass-rate `band` (estimated by `python -m rl filter` on these weighted rows).

    With `references`, a `reference` column holds a completion made of the row's own reference answer.
    """
    ds = read_source(src)
    if src.columns:
        missing = [c for c in src.columns if c not in ds.column_names]
        if missing:
            raise DataError(f"{src.source}: columns {missing} to rename are not in {ds.column_names}")
        ds = ds.rename_columns(src.columns)
    if "prompt" in ds.column_names and "messages" in ds.column_names:
        ds = ds.remove_columns("messages")  # e.g. OpenR1-Math's full reasoning traces: no reward reads them
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
    ds = adapt(ds, src, decontaminator, references)
    report = report if report is not None else DataReport()
    count = report.source(src.source)
    count.read += len(ds)
    count.kept += len(ds)
    for reason, n in Counter(r for r in ds[DROP_KEY] if r is not None).items():
        report.drop(src.source, reason.split(":")[0], n)
    ds = ds.filter(lambda r: r[DROP_KEY] is None, desc=f"{src.source}: dropping")
    ds = ds.remove_columns("source") if "source" in ds.column_names else ds
    ds = ds.add_column("source", [src.source] * len(ds))
    extra = ["reference"] if references else []
    ds = ds.select_columns([c for c in ds.column_names if c in COLUMNS or c in src.keep or c in extra])
    usable = len(ds)
    ds = _weighted(ds, src.weight, seed)
    if len(ds) < usable:  # a weight below 1 samples the usable rows: the rest are not trained on
        report.drop(src.source, "weight", usable - len(ds))
    else:
        count.kept = len(ds)  # a weight above 1 repeats rows
    if band is not None and pass_rates is not None:
        ds = _in_band(ds, pass_rates, band, report)
    return ds


def adapt(
    ds: Dataset, src: DataSource, decontaminator: Decontaminator | None = None, references: bool = False
) -> Dataset:
    """Hub formats to our reward columns, by the columns a source has (rl.adapters), plus the recipe's
    instruction; sets the `_drop` column to the reason a row is dropped (None when kept)."""
    from datasets import Features, Sequence, Value

    cols = set(ds.column_names)
    tasks = set(ds.unique("task")) if "task" in cols else set()
    instruction = instruction_text(src.instruction)
    new: dict[str, Any] = {DROP_KEY: Value("string")}
    if "code" in tasks and "tests" not in cols:
        new["tests"] = Value("string")
    if "tool" in tasks and {"tools", "ground_truth"} <= cols:
        new.update(tools=Value("string"), ground_truth=Value("string"))
    if "ifeval" in tasks and "instruction_id_list" not in cols and "ground_truth" in cols:
        new.update(instruction_id_list=Sequence(Value("string")), kwargs=Value("string"))
    if references:
        new["reference"] = Value("string")
    solution = next((c for c in ("gold_standard_solution", "canonical_solution") if c in cols), None)

    def row_adapter(row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {k: None for k in new}
        task = row.get("task")
        if task == "code" and "tests" in new:
            out.update(adapt_code(row))
        elif task == "code" and row.get("language") and code_language(row) not in SUPPORTED_LANGUAGES:
            out[DROP_KEY] = "unsupported_language"
        elif task == "tool" and "tools" in new:
            out.update(adapt_tools(row))
        elif task == "ifeval" and "kwargs" in new:
            out.update(adapt_ifeval(row))
        elif task == "math" and "answer" in cols and not has_gold(row["answer"]):
            out[DROP_KEY] = "no_gold"
        for key in ("tests", "tools", "ground_truth", "instruction_id_list", "kwargs"):
            if key not in new and key in out:
                del out[key]
        if instruction and task == "math" and row.get("prompt") is not None:
            out["prompt"] = with_instruction(row["prompt"], instruction)
        if (
            out[DROP_KEY] is None
            and decontaminator is not None
            and row.get("prompt") is not None
            and decontaminator.suite_of(prompt_text(row["prompt"])) is not None
        ):
            out[DROP_KEY] = "contaminated"
        if references:
            out["reference"] = reference_completion({**row, **out}, row.get(solution) if solution else None)
        return out

    features = Features({**ds.features, **new})
    return ds.map(row_adapter, features=features, desc=f"{src.source}: adapting")


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


def load_mixture(
    data: DataSection,
    report: DataReport | None = None,
    references: bool = False,
    decontaminator: Decontaminator | None = None,
    progress: bool = False,
) -> tuple[Dataset, Dataset | None]:
    """All sources concatenated (columns a source lacks are None), decontaminated and kept inside the
    pass-rate band when the recipe asks, then the eval split if asked for. Drops are counted in `report`;
    `progress` shows one bar over the sources (the commands that prepare data on their own)."""
    from datasets import concatenate_datasets

    report = report if report is not None else DataReport()
    if data.decontaminate and decontaminator is None:
        raise DataError(
            f"data.decontaminate {data.decontaminate} needs the eval suites' problems: pass "
            "decontaminator=rl.eval.suites.decontaminator(data.decontaminate, data.decontaminate_ngram)"
        )
    estimate = (
        read_pass_rates(data.pass_rates) if data.pass_rate_band is not None and data.pass_rates else None
    )
    rates = estimate.rates if estimate is not None else None
    parts = []
    # a context manager: closed on an error too, so the error's line is not written into the bar's
    with console.progress("loading sources", len(data.mixture), "source", enabled=progress) as bar:
        for src in data.mixture:
            bar.set_postfix_str(src.source, refresh=False)
            parts.append(
                load_source(src, data.seed, report, decontaminator, references, rates, data.pass_rate_band)
            )
            bar.update()
    if estimate is not None:
        _check_coverage(estimate, report)
    ds = concatenate_datasets(_align(parts)) if len(parts) > 1 else parts[0]
    if data.eval_fraction > 0:
        n_eval = max(1, math.floor(len(ds) * data.eval_fraction))
        split = ds.train_test_split(test_size=n_eval, seed=data.seed)
        return split["train"], split["test"]
    return ds, None


def _in_band(ds: Dataset, rates: dict[str, float | None], band: list[float], report: DataReport) -> Dataset:
    """Rows whose estimated pass rate is inside `band`. A row the file has no line for is `not_estimated`
    (dropped: the band promises every trained prompt was measured); one whose task has no verifier (its
    rate is None, e.g. the reward model's `general` rows) stays."""
    keys = [prompt_key(p) for p in list(ds["prompt"])]
    reasons = [band_reason(rates[k], band) if k in rates else "not_estimated" for k in keys]
    for (name, reason), n in Counter(zip(list(ds["source"]), reasons, strict=True)).items():
        if reason is not None:
            report.drop(name, reason, n)
    return ds.select([i for i, r in enumerate(reasons) if r is None])


def _check_coverage(estimate: PassRates, report: DataReport) -> None:
    """A file that covers none of the stage's prompts is for other data (an error); one that misses some
    is older than the data: said with the count, and the rows are dropped as `not_estimated`."""
    missing = sum(c.dropped.get("not_estimated", 0) for c in report.values())
    if not missing:
        return
    banded = (c.kept + c.dropped.get("too_easy", 0) + c.dropped.get("too_hard", 0) for c in report.values())
    total = missing + sum(banded)
    rerun = estimate.rerun(whole=True)
    if missing == total:
        raise DataError(
            f"data.pass_rates {estimate.path} has none of this stage's {total} prompts: it was estimated on "
            f"other data (another recipe, source, revision, max_samples or seed). Rerun `{rerun}`"
        )
    log.warning(
        "data.pass_rates %s has no estimate for %d of this stage's %d prompts (dropped as not_estimated): "
        "the data changed since `rl filter` ran, or it ran with --limit. Rerun `%s` to train on them",
        estimate.path,
        missing,
        total,
        rerun,
    )


def _align(parts: list[Dataset]) -> list[Dataset]:
    """Give every part the union of columns, typed from the first part where a column is not all-null.
    A part its filters emptied is rebuilt empty with those columns (`datasets` cannot add a column to a
    table left without row blocks)."""
    from datasets import Dataset, Features, Value

    features: dict[str, Any] = {}
    for ds in parts:
        for name, feat in ds.features.items():
            if name not in features or features[name] == Value("null"):
                features[name] = feat
    aligned = []
    for ds in parts:
        if len(ds) == 0:
            ds = Dataset.from_dict({name: [] for name in features}, features=Features(features))
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
    tools: list[dict] | None = None,
) -> str:
    """Chat-template text ending in the opened assistant turn, plus `<think>\\n` unless the template adds it.

    Tool schemas go through the template's own `tools` argument when it has one (Qwen's does); otherwise
    they are listed in a system message in Qwen's `<tool_call>` convention, so any model sees them.
    """
    messages = to_messages(prompt, system_prompt)
    extra: dict[str, Any] = {}
    if tools:
        tools = [t if "function" in t else {"type": "function", "function": t} for t in tools]  # OpenAI form
        if "tools" in (getattr(tokenizer, "chat_template", None) or ""):
            extra["tools"] = tools
        else:
            system = tool_system_prompt(tools)
            if messages and messages[0]["role"] == "system":
                system = messages[0]["content"] + "\n\n" + system
                messages = messages[1:]
            messages = [{"role": "system", "content": system}, *messages]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **extra)
    if think_prefill and not text.endswith(THINK_PREFILL):
        text += THINK_PREFILL
    return text


def tool_system_prompt(tools: list[dict]) -> str:
    """Qwen2.5's function-calling system text, for templates that cannot render tools themselves."""
    listing = "\n".join(json.dumps(t) for t in tools)
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n"
        f"<tools>\n{listing}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments within "
        "<tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


def sft_target(completion: str | list[dict[str, str]], think_prefill: bool = True) -> str:
    """An SFT target as text after the rendered prompt: the assistant content minus the prefilled `<think>\\n`."""
    if not isinstance(completion, str):
        completion = "".join(message_text(m) for m in completion if m["role"] == "assistant")
    if think_prefill and completion.startswith(THINK_PREFILL):
        completion = completion[len(THINK_PREFILL) :]
    elif think_prefill and completion.startswith("<think>"):
        completion = completion[len("<think>") :].lstrip("\n")
    return completion


def prepare(
    ds: Dataset,
    tokenizer: Any,
    data: DataSection,
    max_prompt_tokens: int | None = None,
    report: DataReport | None = None,
) -> Dataset:
    """Render `prompt` (and an SFT `completion`) to text, keeping the messages as `prompt_messages`;
    tool rows show their `tools` through the chat template, as evaluation does. With `max_prompt_tokens`,
    longer rendered prompts are dropped and counted as `too_long`.

    A row with a full `messages` conversation and no `prompt` is left for SFTTrainer's own templating.
    """

    if "prompt" not in ds.column_names:
        return ds

    def render(row: dict[str, Any]) -> dict[str, Any]:
        if row["prompt"] is None:  # a `messages` row mixed with prompt rows
            return {}
        tools = json.loads(row["tools"]) if isinstance(row.get("tools"), str) else row.get("tools")
        out = {
            "prompt": render_prompt(row["prompt"], tokenizer, data.system_prompt, data.think_prefill, tools),
            # the conversation itself: rl.rewards hands it to verifiers as `prompts` instead of the rendered text
            "prompt_messages": to_messages(row["prompt"], data.system_prompt),
        }
        if row.get("completion") is not None:
            out["completion"] = sft_target(row["completion"], data.think_prefill)
        return out

    ds = ds.map(render, desc="rendering prompts")
    if max_prompt_tokens is not None:
        ds = drop_too_long(ds, tokenizer, max_prompt_tokens, report)
    return ds


def order_by_prompt(ds: Dataset, seed: int) -> Dataset:
    """Rows sorted by a hash of `seed`, the prompt and its repeat number (`data.order: by_prompt`): a row's
    place depends on nothing else, so a mixture a filter thinned out keeps the others' relative order."""
    seen: Counter[str] = Counter()
    ranks = []
    for prompt in ds["prompt"]:
        key = prompt_key(prompt)
        ranks.append(hashlib.sha256(f"{seed}:{key}:{seen[key]}".encode()).hexdigest())
        seen[key] += 1
    return ds.select(sorted(range(len(ds)), key=ranks.__getitem__))


def load_training_data(
    data: DataSection,
    tokenizer: Any,
    max_prompt_tokens: int | None = None,
    report: DataReport | None = None,
    references: bool = False,
    decontaminator: Decontaminator | None = None,
    order_seed: int = 0,
    progress: bool = False,
) -> tuple[Dataset, Dataset | None]:
    """The stage's train (and eval) rows, rendered, filtered and ready for GRPOTrainer / SFTTrainer;
    what was dropped and why is counted per source in `report`. With `data.order: by_prompt` the train
    rows come in `order_by_prompt(order_seed)` order."""
    report = report if report is not None else DataReport()
    train, evaluation = load_mixture(data, report, references, decontaminator, progress)
    if data.order == "by_prompt":
        train = order_by_prompt(train, order_seed)
    train = prepare(train, tokenizer, data, max_prompt_tokens, report)
    if evaluation is not None:
        evaluation = prepare(evaluation, tokenizer, data, max_prompt_tokens, report)
    return train, evaluation
