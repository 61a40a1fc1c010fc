"""`python -m rl report` and `python -m rl plot`: training curves and evaluation scores of runs side by side.

`report RUN_DIR... [--out DIR]`:
Reads each run's `metrics.jsonl` (reward curves, and `eval/<suite>/pass@1` logged by the evaluation hook) and
its evaluation reports (`eval/results.json` of the final checkpoint, `checkpoint-N/eval/results.json`), and
writes `report.png` (one panel per curve, one line per run) and `report.md` (a table per run and suite).
A directory holding stage directories (`runs/smoke`) stands for all its stages.

`plot RUN_DIR... [--out PNG]`: the same drawing, restricted to the reward, reward std, completion length and KL
panels; a panel whose metric no run logged (e.g. KL with beta=0) says so instead of staying silently empty.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Training curves worth a panel, in this order, when a run logged them (TRL GRPOTrainer names).
CURVES = {
    "reward": "reward",
    "reward_std": "reward std",
    "completions/mean_length": "completion length (tokens)",
    "kl": "KL to reference",
    "loss": "loss",
}
PLOT_CURVES = ("reward", "reward_std", "completions/mean_length", "kl")  # `python -m rl plot`'s panels
SMOOTH_FROM = 20  # curves with at least this many points get a running mean over faint raw values
EVAL_KEY = re.compile(r"^eval/(?P<suite>[^/]+)/pass@1$")


def series(rows: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) of the logged rows that hold a number for `key` (the trainer's summary line has none)."""
    points = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), int | float) and "step" in r]
    return [p[0] for p in points], [p[1] for p in points]


@dataclass
class Run:
    label: str
    path: Path
    metrics: list[dict[str, Any]] = field(default_factory=list)
    evals: dict[int | str, dict[str, dict[str, Any]]] = field(
        default_factory=dict
    )  # step or "final" -> report

    def curve(self, key: str) -> tuple[list[float], list[float]]:
        return series(self.metrics, key)

    def eval_curve(self, suite: str) -> tuple[list[float], list[float]]:
        """pass@1 per evaluated step: the hook's logged values, else the checkpoints' saved reports."""
        points = dict(zip(*self.curve(f"eval/{suite}/pass@1"), strict=True))
        for step, report in self.evals.items():
            if isinstance(step, int) and report.get(suite, {}).get("pass@1") is not None:
                points.setdefault(step, report[suite]["pass@1"])
        return sorted(points), [points[s] for s in sorted(points)]

    def suites(self) -> list[str]:
        names = {m.group("suite") for row in self.metrics for k in row if (m := EVAL_KEY.match(k))}
        names |= {s for report in self.evals.values() for s in report}
        return sorted(names)

    def latest_scores(self) -> dict[str, dict[str, Any]]:
        """The final checkpoint's report, else the latest logged value per suite."""
        scores: dict[str, dict[str, Any]] = {}
        for suite in self.suites():
            steps, values = self.eval_curve(suite)
            if steps:
                scores[suite] = {"pass@1": values[-1], "step": steps[-1]}
        for suite, result in self.evals.get("final", {}).items():
            if result.get("pass@1") is not None:
                scores[suite] = {"pass@1": result["pass@1"], "n": result.get("n"), "step": "final"}
        return scores


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # a line being written while we read
            continue
    return rows


def _read_report(path: Path) -> dict[str, dict[str, Any]]:
    try:
        report = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return {k: v for k, v in report.items() if isinstance(v, dict)}


def load_run(path: Path, label: str | None = None) -> Run:
    run = Run(label or path.name, path)
    if (path / "metrics.jsonl").is_file():
        run.metrics = _read_jsonl(path / "metrics.jsonl")
    if (path / "eval" / "results.json").is_file():
        run.evals["final"] = _read_report(path / "eval" / "results.json")
    for ckpt in path.glob("checkpoint-*/eval/results.json"):
        step = ckpt.parent.parent.name.removeprefix("checkpoint-")
        if step.isdigit():
            run.evals[int(step)] = _read_report(ckpt)
    return run


def find_runs(paths: list[Path]) -> list[Run]:
    """Each path is a run (has metrics.jsonl or eval results) or a folder of runs (its stages)."""
    runs = []
    for path in paths:
        if not path.is_dir():
            raise FileNotFoundError(
                f"{path} is not a directory: give run directories such as runs/smoke/stage1"
            )
        if (path / "metrics.jsonl").is_file() or (path / "eval" / "results.json").is_file():
            runs.append(load_run(path, _label(path)))
            continue
        stages = sorted(p.parent for p in path.glob("*/metrics.jsonl"))
        if not stages:
            raise FileNotFoundError(
                f"{path} has no metrics.jsonl, eval/results.json or run folders with them"
            )
        runs += [load_run(p, _label(p)) for p in stages]
    return runs


def _label(path: Path) -> str:
    """`<run>/<stage>` for runs/<run>/<stage>, else the folder name."""
    return f"{path.parent.name}/{path.name}" if path.parent.name and path.parent.name != "." else path.name


def _smooth(values: list[float]) -> list[float]:
    """Centred running mean over ~1/15 of the curve: shows the trend without the lag of an EMA."""
    half = max(1, len(values) // 30)
    return [
        sum(window) / len(window)
        for i in range(len(values))
        for window in [values[max(0, i - half) : i + half + 1]]
    ]


def plot(
    runs: list[Run],
    out: Path,
    curves: dict[str, str] = CURVES,
    always: tuple[str, ...] = (),
    evals: bool = True,
) -> Path:
    """One panel per curve any run has (training curves, then pass@1 per suite), one color per run;
    a final checkpoint's score is a dotted line. Curves in `always` get a panel even when no run logged them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    panels = [
        (k, title, False) for k, title in curves.items() if k in always or any(r.curve(k)[0] for r in runs)
    ]
    if evals:
        panels += [(s, f"{s} pass@1", True) for s in sorted({s for r in runs for s in r.suites()})]
    if not panels:
        raise ValueError("none of the runs has metrics or evaluation scores to plot")
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    colors = {run.label: f"C{i % 10}" for i, run in enumerate(runs)}  # one color per run in every panel
    for ax, (key, title, is_eval) in zip(axes.flat, panels, strict=False):
        for run in runs:
            color = colors[run.label]
            xs, ys = run.eval_curve(key) if is_eval else run.curve(key)
            if is_eval or len(xs) < SMOOTH_FROM:
                ax.plot(xs, ys, marker="o", markersize=3, color=color)
            else:  # noisy per-step values faint, their running mean on top
                ax.plot(xs, ys, color=color, alpha=0.25, linewidth=0.8)
                ax.plot(xs, _smooth(ys), color=color)
            final = run.evals.get("final", {}).get(key, {}).get("pass@1") if is_eval else None
            if final is not None:
                ax.axhline(final, linestyle=":", alpha=0.7, color=color)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if not is_eval and not any(r.curve(key)[0] for r in runs):
            ax.text(0.5, 0.5, f"no run logged {key}", ha="center", va="center", transform=ax.transAxes)
        if is_eval:
            ax.set_ylim(-0.02, 1.02)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    handles = [Line2D([], [], color=colors[r.label], label=r.label) for r in runs]
    fig.legend(handles=handles, loc="upper center", ncol=min(4, len(handles)), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def markdown(runs: list[Run], image: str | None = "report.png") -> str:
    """Training summary per run, and pass@1 (percent) per run and suite."""
    lines = ["# Runs", ""]
    if image:
        lines += [f"![training curves and evaluation scores]({image})", ""]
    lines += ["| run | steps | first reward | last reward | last reward std |", "|---|---:|---:|---:|---:|"]
    for run in runs:
        _, reward = run.curve("reward")
        _, std = run.curve("reward_std")
        last_step = max((m.get("step", 0) for m in run.metrics), default=0)
        lines.append(
            f"| {run.label} | {last_step} | {_fmt(reward[0] if reward else None)} | "
            f"{_fmt(reward[-1] if reward else None)} | {_fmt(std[-1] if std else None)} |"
        )
    suites = sorted({s for r in runs for s in r.suites()})
    if suites:
        lines += ["", "## Evaluation (pass@1, %; latest checkpoint)", ""]
        lines += ["| run | " + " | ".join(suites) + " |", "|---|" + "---:|" * len(suites)]
        for run in runs:
            scores = run.latest_scores()
            cells = [f"{100 * scores[s]['pass@1']:.1f}" if s in scores else "–" for s in suites]
            lines.append(f"| {run.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _fmt(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "–"


def heldout_tables(paths: list[Path]) -> str:
    """`report.json` of run folders (`make smoke` writes one: held-out score per checkpoint and task)."""
    lines: list[str] = []
    for path in paths:
        report = _read_report(path / "report.json")
        if not report:
            continue
        tasks = list(dict.fromkeys(t for scores in report.values() for t in scores))
        lines += ["", f"## Held-out task scores ({path / 'report.json'})", ""]
        lines += ["| checkpoint | " + " | ".join(tasks) + " |", "|---|" + "---:|" * len(tasks)]
        for ckpt, scores in report.items():
            cells = [_fmt(v) if isinstance(v := scores.get(t), (int, float)) else "–" for t in tasks]
            lines.append(f"| {ckpt} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n" if lines else ""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m rl report",
        description="Training curves and evaluation scores of several runs side by side (PNG + markdown).",
    )
    p.add_argument("runs", nargs="+", type=Path, help="run dirs (runs/<name>/<stage>) or folders of stages")
    p.add_argument("--out", type=Path, default=Path("report"), help="output dir (default: %(default)s)")
    args = p.parse_args(argv)
    try:
        runs = find_runs(args.runs)
        image = plot(runs, args.out / "report.png")
    except (FileNotFoundError, ValueError) as e:
        print(f"rl report: {e}", file=sys.stderr)
        return 1
    text = markdown(runs, image.name) + heldout_tables(args.runs)
    (args.out / "report.md").write_text(text)
    print(text)
    print(f"wrote {image} and {args.out / 'report.md'}")
    return 0


def plot_main(argv: list[str] | None = None) -> int:
    """`python -m rl plot RUN_DIR... [--out PNG]`: reward, reward std, length and KL curves to one PNG."""
    parser = argparse.ArgumentParser(
        prog="python -m rl plot", description="reward, reward std, completion length and KL curves of runs"
    )
    parser.add_argument("run_dirs", nargs="+", type=Path, help="run directories holding metrics.jsonl")
    parser.add_argument(
        "--out", type=Path, default=None, help="PNG path (default: <first run dir>/curves.png)"
    )
    args = parser.parse_args(argv)
    missing = [d for d in args.run_dirs if not (d / "metrics.jsonl").is_file()]
    if missing:
        print(
            f"error: no metrics.jsonl in {', '.join(map(str, missing))}: is it a run directory?",
            file=sys.stderr,
        )
        return 2
    runs = [load_run(d, _label(d)) for d in args.run_dirs]
    curves = {k: CURVES[k] for k in PLOT_CURVES}
    print(plot(runs, args.out or args.run_dirs[0] / "curves.png", curves, always=PLOT_CURVES, evals=False))
    return 0
