"""`python -m rl eval`: score a checkpoint on public benchmarks with the same verifiers used for rewards.

    python -m rl eval --model runs/smoke/stage2 --suites aime24,math500,gsm8k,humaneval,ifeval,bfcl --limit 4

For each suite: generate K samples per problem (QwQ's sampling by default; vLLM on a GPU, transformers on
CPU), score every sample with the task's verifier, report pass@1 averaged over the K samples and unbiased
pass@k. Writes the JSON report (`--out`), a markdown table beside it, and per suite `<suite>.json`, the
scored completions `<suite>.samples.jsonl` and the resumable generations `<suite>.generations.jsonl`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rl.console import error
from rl.eval.generation import TEMPERATURE, TOP_K, TOP_P, Backend, Sampling, generate_cached, load_backend
from rl.eval.passk import SOLVED, aggregate
from rl.pins import model_argument
from rl.rewards import TASK_REWARDS  # task -> its training reward: evaluation scores with exactly those

log = logging.getLogger("rl.eval.evaluate")

DEFAULT_SUITES = ("aime24", "math500", "gsm8k", "humaneval", "ifeval", "bfcl")


def _reward_scores(
    task: str, completions: list[str], rows: list[dict], sandbox_url: str | None
) -> list[float | None]:
    """Call the task's reward function the way TRL does: completions plus every other column as a list.
    Its settings come from a recipe, as in training: here one holding only the sandbox in use."""
    from rl.recipe import Recipe, SandboxSection
    from rl.rewards import resolve

    fn = resolve(
        TASK_REWARDS[task], Recipe(name="eval", stage="eval", sandbox=SandboxSection(url=sandbox_url))
    )
    columns = sorted({k for r in rows for k in r} - {"prompt"})
    kwargs = {c: [r.get(c) for r in rows] for c in columns}
    return list(fn(completions, prompts=[r["prompt"] for r in rows], **kwargs))


def score(
    rows: Sequence[dict], completions: Sequence[str], sandbox_url: str | None = None
) -> list[float | None]:
    """One score in [0, 1] per (row, completion) from the row's task verifier; None where it cannot score."""
    scores: list[float | None] = [None] * len(rows)
    by_task: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_task[str(row.get("task"))].append(i)
    for task, idx in by_task.items():
        batch_rows, batch = [rows[i] for i in idx], [completions[i] for i in idx]
        if task not in TASK_REWARDS:
            log.warning("%d rows of task %r have no verifier to score them; left unscored", len(idx), task)
            continue
        try:
            values = _reward_scores(task, batch, batch_rows, sandbox_url)
        except Exception as e:  # a verifier that cannot run leaves its rows unscored, never a silent 0
            log.error(
                "scoring %d %s rows failed (%s: %s); they are left unscored",
                len(idx),
                task,
                type(e).__name__,
                e,
            )
            continue
        for i, v in zip(idx, values, strict=True):
            scores[i] = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
    return scores


@contextlib.contextmanager
def sandbox_for(rows: Sequence[dict], sandbox_url: str | None = None) -> Iterator[str | None]:
    """The sandbox URL code rows are judged on: `sandbox_url`, else SANDBOX_URL, else a local sandbox server
    running for the duration.

    A sandbox that cannot start leaves the code rows unscored (reported as such), not wrong."""
    url = sandbox_url or os.environ.get("SANDBOX_URL")
    if url or not any(r.get("task") == "code" for r in rows):
        yield url
        return
    from sandbox import local_server

    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(local_server())
        except RuntimeError as e:
            log.error(
                "no local sandbox could start, so code rows stay unscored; run one (`python -m sandbox serve`) "
                "and set SANDBOX_URL. Cause: %s",
                e,
            )
            yield None
            return
        yield url


def _row_keys(rows: Sequence[dict]) -> list[str]:
    ids = [str(r.get("id", i)) for i, r in enumerate(rows)]
    return ids if len(set(ids)) == len(ids) else [str(i) for i in range(len(rows))]


def evaluate_rows(
    model: str | Path | Backend,
    rows: Sequence[dict],
    *,
    samples: int = 1,
    temperature: float = TEMPERATURE,
    top_p: float = TOP_P,
    top_k: int = TOP_K,
    max_new_tokens: int | None = None,
    greedy: bool = False,
    seed: int = 0,
    backend: str = "auto",
    batch_size: int | None = None,
    generations_path: str | Path | None = None,
    samples_path: str | Path | None = None,
    desc: str = "eval",
    sandbox_url: str | None = None,
) -> dict[str, Any]:
    """Generate `samples` completions per row, score each with its task's verifier, aggregate.

    `model` is a checkpoint path (loaded with `backend`) or an already loaded backend from
    `rl.eval.generation.load_backend`. Rows are recipe-style (`prompt` chat messages, `task`, reward columns;
    `tools` JSON for tool rows). Returns `{"pass@1", "n", "samples", "pass@<k>"..., "mean_score",
    "unscored", "by_task"}`; with `samples_path`, every scored sample is written there as JSONL. Code rows
    are judged on `sandbox_url` (else SANDBOX_URL, else a local sandbox started for them).
    """
    rows = list(rows)
    engine = (
        model if not isinstance(model, (str, Path)) else load_backend(model, backend, batch_size=batch_size)
    )
    sampling = Sampling(temperature, top_p, top_k, max_new_tokens, greedy, seed)
    keys = _row_keys(rows)
    prompts = [engine.render(r["prompt"], json.loads(r["tools"]) if r.get("tools") else None) for r in rows]
    # The checkpoint in the cache header: a rerun against another checkpoint must not reuse these samples.
    meta = {"model": str(getattr(engine, "model_path", model)), "backend": engine.name}
    truncated_before = getattr(engine, "truncated", 0)
    generations = generate_cached(
        engine,
        zip(keys, prompts, strict=True),
        n=samples,
        sampling=sampling,
        cache=Path(generations_path) if generations_path else None,
        meta=meta,
        desc=desc,
    )
    flat_rows = [r for r in rows for _ in range(samples)]
    flat = [c for k in keys for c in generations[k]]
    with sandbox_for(rows, sandbox_url) as url:
        flat_scores = score(flat_rows, flat, url)
    per_row = [flat_scores[i * samples : (i + 1) * samples] for i in range(len(rows))]
    result = aggregate(per_row, samples)
    tasks = sorted({r.get("task") for r in rows}, key=str)
    if len(tasks) > 1:
        result["by_task"] = {
            t: aggregate([s for s, r in zip(per_row, rows, strict=True) if r.get("task") == t], samples)
            for t in tasks
        }
    if tasks == ["ifeval"]:
        result.update(ifeval_metrics(flat_rows, flat, flat_scores))
    result["truncated_prompts"] = getattr(engine, "truncated", 0) - truncated_before
    if samples_path:
        _write_samples(Path(samples_path), rows, keys, prompts, generations, per_row)
        result["samples_path"] = str(samples_path)
    return result


def ifeval_metrics(rows: Sequence[dict], completions: Sequence[str], strict: Sequence[float | None]) -> dict:
    """IFEval's four numbers over all samples: prompt- and instruction-level accuracy, strict and loose.
    Prompt-level strict is pass@1 (with K = 1); loose forgives a preamble line and markdown `*`."""
    from rl.rewards import resolve

    loose = resolve("ifeval")(
        list(completions),
        instruction_id_list=[r["instruction_id_list"] for r in rows],
        kwargs=[r["kwargs"] for r in rows],
        strict=False,
    )
    out = {}
    for name, values in (("strict", strict), ("loose", loose)):
        scored = [
            (v, len(r["instruction_id_list"])) for v, r in zip(values, rows, strict=True) if v is not None
        ]
        if scored:
            out[f"prompt_{name}"] = sum(v >= SOLVED for v, _ in scored) / len(scored)
            out[f"inst_{name}"] = sum(v * n for v, n in scored) / sum(n for _, n in scored)
    return out


def _write_samples(path, rows, keys, prompts, generations, per_row) -> None:
    """Every scored completion with its prompt and gold columns, for reading what the model did."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for row, key, prompt, scores in zip(rows, keys, prompts, per_row, strict=True):
            gold = {k: v for k, v in row.items() if k not in ("prompt", "tools")}
            for s, (completion, value) in enumerate(zip(generations[key], scores, strict=True)):
                record = {
                    "key": key,
                    "sample": s,
                    **gold,
                    "score": value,
                    "solved": value is not None and value >= SOLVED,
                }
                record.update(prompt=prompt, completion=completion)
                f.write(json.dumps(record) + "\n")


def load_suites(suites: Sequence[str], limit: int | None = None) -> tuple[dict[str, list], dict[str, str]]:
    """Every suite's rows, or its error: the data is checked before any model is loaded."""
    from rl.eval.suites import SuiteError, load_suite

    rows, errors = {}, {}
    for name in suites:
        try:
            rows[name] = load_suite(name, limit)
        except SuiteError as e:
            errors[name] = str(e)
    return rows, errors


def evaluate_suites(
    model: str | Path | Backend,
    suites: Sequence[str],
    *,
    out_dir: str | Path | None = None,
    limit: int | None = None,
    preloaded: dict[str, list] | None = None,
    **kwargs: Any,
) -> dict[str, dict[str, Any]]:
    """Each suite through `evaluate_rows` with one loaded model; a suite that cannot load reports its error.

    The suites' data is loaded first (or given as `preloaded`), so a missing dataset costs no model load."""
    if preloaded is None:
        rows_by_suite, errors = load_suites(suites, limit)
    else:
        rows_by_suite, errors = preloaded, {}
    report: dict[str, dict[str, Any]] = {}
    for name, message in errors.items():
        log.error("%s", message)
        report[name] = {"error": message}
    if isinstance(model, (str, Path)) and rows_by_suite:
        model = load_backend(model, kwargs.pop("backend", "auto"), batch_size=kwargs.pop("batch_size", None))
    for name in suites:
        if name not in rows_by_suite:
            continue
        out = Path(out_dir) if out_dir is not None else None
        start = time.monotonic()
        result = evaluate_rows(
            model,
            rows_by_suite[name],
            desc=name,
            generations_path=out / f"{name}.generations.jsonl" if out else None,
            samples_path=out / f"{name}.samples.jsonl" if out else None,
            **kwargs,
        )
        result["seconds"] = round(time.monotonic() - start, 1)
        report[name] = result
        if out_dir is not None:
            (Path(out_dir) / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    return {name: report[name] for name in suites if name in report}


# QwQ-32B's published scores (Qwen blog, March 2025), for the reference row of the table. Its BFCL is the
# whole leaderboard; the `bfcl` suite here is the single-turn AST part, so that column is indicative only.
QWQ_32B = {"aime24": 79.5, "livecodebench": 63.4, "ifeval": 83.9, "bfcl": 66.4}


def markdown_table(reports: dict[str, dict[str, dict[str, Any]]]) -> str:
    """Rows = models, columns = suites, cells = pass@1 as a fraction (as `make smoke` and `rl report` give it),
    and a reference row with QwQ-32B's published scores (its percentages / 100) where a suite has one."""
    suites = list(dict.fromkeys(s for rep in reports.values() for s in rep))
    lines = ["| model | " + " | ".join(suites) + " |", "|---|" + "---:|" * len(suites)]
    for model, rep in reports.items():
        cells = []
        for s in suites:
            v = rep.get(s, {})
            if v.get("pass@1") is None:
                cells.append("error" if "error" in v else "–")
            else:
                cells.append(f"{v['pass@1']:.3f} (n={v['n']})")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    if any(s in QWQ_32B for s in suites):
        cells = [f"{QWQ_32B[s] / 100:.3f}" if s in QWQ_32B else "–" for s in suites]
        lines.append("| QwQ-32B (published) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(out: Path, model: str, report: dict[str, dict[str, Any]]) -> str:
    """The JSON report at `out` and its markdown table beside it (`.md`); returns the table."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    table = markdown_table({model: report})
    out.with_suffix(".md").write_text(table)
    return table


def default_out(model: str) -> Path:
    """<checkpoint>/eval/results.json for a local checkpoint, eval/<name>/results.json for a hub id."""
    path = Path(model)
    return (
        path / "eval" if path.is_dir() else Path("eval") / model.replace("/", "__").replace("@", "__")
    ) / "results.json"


def build_parser() -> argparse.ArgumentParser:
    from rl.eval.suites import SUITES

    p = argparse.ArgumentParser(
        prog="python -m rl eval",
        description="Score a checkpoint on public benchmarks with the reward verifiers (pass@1 over K samples).",
        epilog="suites: " + " ".join(SUITES) + " (math, livecodebench: from the hub).",
    )
    p.add_argument(
        "--model",
        required=True,
        nargs="+",
        help="checkpoint dir(s) or hub id(s), pinned as ID@COMMIT: one table row each",
    )
    p.add_argument(
        "--suites", default=",".join(DEFAULT_SUITES), help="comma-separated (default: %(default)s)"
    )
    p.add_argument("--limit", type=int, default=None, help="first N problems of each suite")
    p.add_argument("--samples", type=int, default=1, help="K samples per problem: pass@1 is their mean")
    p.add_argument("--out", type=Path, default=None, help="JSON report (default <model>/eval/results.json)")
    p.add_argument("--temperature", type=float, default=TEMPERATURE, help="default %(default)s (QwQ's)")
    p.add_argument("--top-p", type=float, default=TOP_P, help="default %(default)s (QwQ's)")
    p.add_argument("--top-k", type=int, default=TOP_K, help="default %(default)s (QwQ's)")
    p.add_argument("--max-new-tokens", type=int, default=None, help="default 32768 on GPU, 256 on CPU")
    p.add_argument("--greedy", action="store_true", help="greedy decoding (QwQ advises against it)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling (default 0)")
    p.add_argument(
        "--backend",
        choices=["auto", "vllm", "transformers"],
        default="auto",
        help="auto: vLLM when a GPU and vLLM are present, else transformers",
    )
    p.add_argument("--batch-size", type=int, default=None, help="prompts x samples per generate call")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per sandbox request otherwise
    from rl.eval.suites import SUITES

    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        return error(f"unknown suite(s) {', '.join(unknown)}: choose from {', '.join(SUITES)}")
    if args.samples < 1:
        return error("--samples must be at least 1")
    if args.out and len(args.model) > 1:
        return error("--out names one report; with several --model paths each goes to <model>/eval/")
    # The data, then every model's name, before any model loads: a missing dataset or a typo fails in seconds.
    rows, errors = load_suites(suites, args.limit)
    for message in errors.values():
        error(message)
    if not rows:
        return 2
    try:
        loads = {model: model_argument(model) for model in args.model}
    except ValueError as e:
        return error(e)
    reports, failed = {}, []
    for model in args.model:
        out = args.out or default_out(model)
        out_dir = out.with_suffix("")
        out_dir.mkdir(parents=True, exist_ok=True)
        report = evaluate_suites(
            loads[model],
            suites,
            out_dir=out_dir,
            limit=args.limit,
            samples=args.samples,
            temperature=args.temperature,
            top_p=args.top_p,
            top_k=args.top_k,
            max_new_tokens=args.max_new_tokens,
            greedy=args.greedy,
            seed=args.seed,
            backend=args.backend,
            batch_size=args.batch_size,
            preloaded=rows,
        )
        report |= {name: {"error": error} for name, error in errors.items()}
        write_report(out, model, report)
        print(
            f"{model}: report {out}, table {out.with_suffix('.md')}, completions {out_dir}/<suite>.samples.jsonl"
        )
        reports[model] = report
        failed += [f"{model}:{s}" for s, r in report.items() if r.get("pass@1") is None]
    print(markdown_table(reports))
    if failed:
        return error(f"no score for: {', '.join(failed)} (see the errors above)", 1)
    return 0
