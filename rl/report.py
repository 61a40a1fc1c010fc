"""`python -m rl report` and `python -m rl plot`: training curves and evaluation scores of runs side by side.

`report RUN_DIR... [--out DIR]`:
Reads each run's `metrics.jsonl` (reward curves, and `eval/<suite>/pass@1` logged by the evaluation hook) and
its evaluation reports (`eval/results.json` of the final checkpoint, `checkpoint-N/eval/results.json`), and
writes `report.png` (one panel per curve, one line per run) and `report.md` (a table per run and suite).
A directory holding stage directories (`runs/smoke`) stands for all its stages.

`plot RUN_DIR... [--out PNG]`: the same drawing, restricted to the reward curves (total, std, each reward's mean),
completion length and KL.

Only panels with data are drawn (no KL panel when beta is 0), each reward's mean gets its own panel (one line
per stage, so stage 2's IFEval gain shows), SFT and GRPO losses are separate panels (different scales), the
held-out scores of `report.json` (`make smoke` writes one) are a bar panel, and the grid has no empty cells.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rl.console import error
from verifiers.jsonl import read_jsonl

# Training curves worth a panel, in this order, when a run logged them (TRL GRPOTrainer names). Each reward's
# mean (`rewards/<name>/mean`) gets a panel after `reward_std`; `loss` is split by trainer (SFT, GRPO).
CURVES = {
    "reward": "total reward (weighted)",
    "reward_std": "reward std",
    "completions/mean_length": "completion length (tokens)",
    "kl": "KL to reference",
    "loss": "loss",
}
PLOT_CURVES = ("reward", "reward_std", "completions/mean_length", "kl")  # `python -m rl plot`'s panels
REWARD_MEAN = re.compile(r"^rewards/(?P<name>[^/]+)/mean$")
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
    trainer: str | None = None  # grpo | sft, from the run's recipe.yaml (or its metrics)

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


def _read_report(path: Path) -> dict[str, dict[str, Any]]:
    try:
        report = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return {k: v for k, v in report.items() if isinstance(v, dict)}


def load_run(path: Path, label: str | None = None) -> Run:
    run = Run(label or path.name, path)
    if (path / "metrics.jsonl").is_file():
        run.metrics = read_jsonl(path / "metrics.jsonl", skip_invalid=True)  # a line may be mid-write
    run.trainer = _trainer(path, run.metrics)
    if (path / "eval" / "results.json").is_file():
        run.evals["final"] = _read_report(path / "eval" / "results.json")
    for ckpt in path.glob("checkpoint-*/eval/results.json"):
        step = ckpt.parent.parent.name.removeprefix("checkpoint-")
        if step.isdigit():
            run.evals[int(step)] = _read_report(ckpt)
    return run


def _trainer(path: Path, metrics: list[dict[str, Any]]) -> str | None:
    """The run's trainer: its recipe.yaml says; without one, a run that logged rewards is GRPO."""
    import yaml

    try:
        trainer = (yaml.safe_load((path / "recipe.yaml").read_text()) or {}).get("trainer")
    except (OSError, yaml.YAMLError, AttributeError):
        trainer = None
    if trainer:
        return str(trainer)
    return "grpo" if any("reward" in m for m in metrics) else ("sft" if metrics else None)


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


@dataclass(frozen=True)
class Panel:
    key: str  # metric key, suite name, or "heldout"
    title: str
    kind: str = "curve"  # curve | eval | heldout
    trainer: str | None = None  # a curve panel for the runs of one trainer only (loss)


def panels_for(
    runs: list[Run], curves: dict[str, str] = CURVES, evals: bool = True, heldout: dict | None = None
) -> list[Panel]:
    """The panels that have data: curves, each reward's mean, loss per trainer, eval suites, held-out scores."""

    def logged(key: str, trainer: str | None = None) -> bool:
        return any(r.curve(key)[0] for r in runs if trainer is None or r.trainer == trainer)

    panels = []
    for key, title in curves.items():
        if key == "loss":
            for trainer in sorted({r.trainer for r in runs if r.trainer}):
                if logged(key, trainer):
                    panels.append(Panel(key, f"{trainer.upper()} loss", trainer=trainer))
        elif logged(key):
            panels.append(Panel(key, title))
        if key == "reward_std":  # each reward on its own panel, next to the total
            names = sorted(
                {
                    m.group("name")
                    for r in runs
                    for row in r.metrics
                    for k in row
                    if (m := REWARD_MEAN.match(k))
                }
            )
            panels += [
                Panel(f"rewards/{n}/mean", f"{n} (mean reward)") for n in names if logged(f"rewards/{n}/mean")
            ]
    if evals:
        panels += [Panel(s, f"{s} pass@1", "eval") for s in sorted({s for r in runs for s in r.suites()})]
    if heldout:
        panels.append(Panel("heldout", "held-out pass@1 per checkpoint (greedy)", "heldout"))
    return panels


def grid(n: int, max_cols: int = 3) -> list[tuple[int, int, int]]:
    """(row, first column, column span) of n panels on a grid with no empty cell: a short last row is
    stretched across the full width. Columns are counted in units of lcm(cols, last row's count)."""
    import math

    cols = min(max_cols, n)
    rows = -(-n // cols)
    last = n - cols * (rows - 1)
    units = math.lcm(cols, last)
    cells = []
    for i in range(n):
        row, col = divmod(i, cols)
        span = units // (cols if row < rows - 1 else last)
        cells.append((row, col * span, span))
    return cells


def plot(
    runs: list[Run],
    out: Path,
    curves: dict[str, str] = CURVES,
    evals: bool = True,
    heldout: Path | None = None,
) -> Path:
    """One panel per curve any run logged (see `panels_for`), one color per run (stage) in every panel;
    a final checkpoint's eval score is a dotted line; the held-out scores are bars colored by checkpoint."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.gridspec import GridSpec
    from matplotlib.lines import Line2D

    scores = _read_report(heldout) if heldout is not None else {}
    panels = panels_for(runs, curves, evals, scores)
    if not panels:
        raise ValueError("none of the runs has metrics or evaluation scores to plot")
    cells = grid(len(panels))
    rows = cells[-1][0] + 1
    units = max(c + s for _, c, s in cells)
    cols = min(3, len(panels))
    fig = plt.figure(figsize=(5 * cols, 3.6 * rows))
    spec = GridSpec(rows, units, figure=fig)
    colors = {run.label: f"C{i % 10}" for i, run in enumerate(runs)}  # one color per run in every panel
    drawn: set[str] = set()  # runs with a line somewhere: the legend lists only those
    for panel, (row, col, span) in zip(panels, cells, strict=True):
        ax = fig.add_subplot(spec[row, col : col + span])
        if panel.kind == "heldout":
            _heldout_bars(ax, scores, runs, colors)
        else:
            drawn |= _curves(ax, panel, runs, colors)
        if not ax.get_title():
            ax.set_title(panel.title)
        ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=colors[r.label], label=r.label) for r in runs if r.label in drawn]
    fig.legend(handles=handles, loc="upper center", ncol=min(4, len(handles)), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / (3.6 * rows)))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _curves(ax: Any, panel: Panel, runs: list[Run], colors: dict[str, str]) -> set[str]:
    """Draw one line per run that logged the panel's metric; returns their labels."""
    drawn = set()
    for run in runs:
        if panel.trainer is not None and run.trainer != panel.trainer:
            continue
        color = colors[run.label]
        xs, ys = run.eval_curve(panel.key) if panel.kind == "eval" else run.curve(panel.key)
        if not xs:
            continue
        drawn.add(run.label)
        if panel.kind == "eval" or len(xs) < SMOOTH_FROM:
            ax.plot(xs, ys, marker="o", markersize=3, color=color)
        else:  # noisy per-step values faint, their running mean on top
            ax.plot(xs, ys, color=color, alpha=0.25, linewidth=0.8)
            ax.plot(xs, _smooth(ys), color=color)
        final = run.evals.get("final", {}).get(panel.key, {}).get("pass@1") if panel.kind == "eval" else None
        if final is not None:
            ax.axhline(final, linestyle=":", alpha=0.7, color=color)
    ax.set_xlabel("step")
    if panel.kind == "eval":
        ax.set_ylim(-0.02, 1.02)
    values = [abs(v) for run in runs for v in run.curve(panel.key)[1]] if panel.kind == "curve" else []
    if values and max(values) < 1e-6:  # e.g. a reward normalised per prompt group: its mean is 0 by design
        ax.set_title(f"{panel.title}: ~0 by design (normalised per group)", fontsize=9)
    return drawn


def _heldout_bars(
    ax: Any, scores: dict[str, dict[str, Any]], runs: list[Run], colors: dict[str, str]
) -> None:
    """Grouped bars: one group per task, one bar per checkpoint, colored like that stage's curves."""
    tasks = list(dict.fromkeys(t for row in scores.values() for t in row))
    by_stage = {run.path.name: colors[run.label] for run in runs}
    width = 0.8 / max(1, len(scores))
    for i, (ckpt, row) in enumerate(scores.items()):
        xs = [t + (i - (len(scores) - 1) / 2) * width for t in range(len(tasks))]
        values = [float(row.get(task) or 0.0) for task in tasks]
        bars = ax.bar(xs, values, width, color=by_stage.get(ckpt, f"C{(len(runs) + i) % 10}"), label=ckpt)
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7, padding=1)
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_ylim(0, 1.25)
    ax.legend(fontsize=8, loc="upper center", frameon=False, ncol=len(scores))


def markdown(runs: list[Run], image: str | None = "report.png") -> str:
    """Training summary per run, and pass@1 (a fraction, as `make smoke` and `rl eval` give it) per suite."""
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
        lines += ["", "## Evaluation (pass@1; latest checkpoint)", ""]
        lines += ["| run | " + " | ".join(suites) + " |", "|---|" + "---:|" * len(suites)]
        for run in runs:
            scores = run.latest_scores()
            cells = [_fmt(scores[s]["pass@1"]) if s in scores else "–" for s in suites]
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
        heldout = next((p / "report.json" for p in args.runs if (p / "report.json").is_file()), None)
        image = plot(runs, args.out / "report.png", heldout=heldout)
    except (FileNotFoundError, ValueError) as e:
        return error(e, 1)
    text = markdown(runs, image.name) + heldout_tables(args.runs)
    (args.out / "report.md").write_text(text)
    print(text)
    print(f"wrote {image} and {args.out / 'report.md'}")
    return 0


def plot_main(argv: list[str] | None = None) -> int:
    """`python -m rl plot RUN_DIR... [--out PNG]`: reward, reward std, length and KL curves to one PNG."""
    parser = argparse.ArgumentParser(
        prog="python -m rl plot",
        description="The total reward, its std, each reward's mean, completion length and (when logged) KL of "
        "one or more runs, one line per run, in one PNG.",
    )
    parser.add_argument("run_dirs", nargs="+", type=Path, help="run directories holding metrics.jsonl")
    parser.add_argument(
        "--out", type=Path, default=None, help="PNG path (default: <first run dir>/curves.png)"
    )
    args = parser.parse_args(argv)
    missing = [d for d in args.run_dirs if not (d / "metrics.jsonl").is_file()]
    if missing:
        return error(f"no metrics.jsonl in {', '.join(map(str, missing))}: is it a run directory?")
    runs = [load_run(d, _label(d)) for d in args.run_dirs]
    curves = {k: CURVES[k] for k in PLOT_CURVES}
    print(plot(runs, args.out or args.run_dirs[0] / "curves.png", curves, evals=False))
    return 0
