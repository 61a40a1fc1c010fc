"""`python -m rl report`: curves and evaluation scores of several runs, side by side, as PNG + markdown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rl.report import find_runs, grid, main, panels_for, plot_main, series


def write_run(path: Path, rewards: list[float], evals: dict[int, float] | None = None) -> Path:
    path.mkdir(parents=True)
    with (path / "metrics.jsonl").open("w") as f:
        for step, reward in enumerate(rewards, 1):
            row = {"step": step, "reward": reward, "reward_std": 0.1, "rewards/math_accuracy/mean": reward}
            if evals and step in evals:
                row["eval/gsm8k/pass@1"] = evals[step]
            f.write(json.dumps(row) + "\n")
    return path


def test_report_renders_png_and_markdown_with_every_run_and_suite(tmp_path):
    a = write_run(tmp_path / "runs" / "a" / "stage1", [0.1, 0.2, 0.4], evals={2: 0.25, 3: 0.5})
    b = write_run(tmp_path / "runs" / "b" / "stage1", [0.3, 0.3, 0.2])
    (b / "eval").mkdir()
    (b / "eval" / "results.json").write_text(
        json.dumps({"gsm8k": {"pass@1": 0.75, "n": 4}, "ifeval": {"error": "x"}})
    )
    out = tmp_path / "report"

    assert main([str(a), str(b), "--out", str(out)]) == 0

    png = (out / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    md = (out / "report.md").read_text()
    assert "| a/stage1 | 3 | 0.100 | 0.400 | 0.100 |" in md
    assert "| b/stage1 | 3 | 0.300 | 0.200 | 0.100 |" in md
    # latest logged eval for a (step 3), the final checkpoint's report for b
    assert "| a/stage1 | 0.500 |" in md  # fractions, as make smoke and rl eval report them
    assert "| b/stage1 | 0.750 |" in md


def test_a_folder_of_stages_stands_for_all_its_stages(tmp_path):
    write_run(tmp_path / "smoke" / "stage1", [0.1])
    write_run(tmp_path / "smoke" / "stage2", [0.2])
    assert [r.label for r in find_runs([tmp_path / "smoke"])] == ["smoke/stage1", "smoke/stage2"]


def test_checkpoint_eval_reports_become_points_of_the_eval_curve(tmp_path):
    run = write_run(tmp_path / "r" / "stage1", [0.1, 0.2])
    for step, score in [(1, 0.0), (2, 0.5)]:
        (run / f"checkpoint-{step}" / "eval").mkdir(parents=True)
        (run / f"checkpoint-{step}" / "eval" / "results.json").write_text(
            json.dumps({"aime24": {"pass@1": score, "n": 4}})
        )
    (loaded,) = find_runs([run])
    assert loaded.eval_curve("aime24") == ([1, 2], [0.0, 0.5])


def test_a_path_without_runs_is_an_error_that_names_it(tmp_path, capsys):
    assert main([str(tmp_path), "--out", str(tmp_path / "o")]) == 1
    assert str(tmp_path) in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"]])
def test_help_fits_a_screen(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    assert len(capsys.readouterr().out.splitlines()) < 25


def test_a_smoke_report_json_beside_the_stages_becomes_a_held_out_table(tmp_path):
    write_run(tmp_path / "smoke" / "stage1", [0.1, 0.3])
    heldout = {"stage0": {"math": 0.25, "ifeval": 0.5}, "stage1": {"math": 0.5, "ifeval": 0.5}}
    (tmp_path / "smoke" / "report.json").write_text(json.dumps(heldout))
    assert main([str(tmp_path / "smoke"), "--out", str(tmp_path / "out")]) == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| checkpoint | math | ifeval |" in md
    assert "| stage0 | 0.250 | 0.500 |" in md
    assert "| stage1 | 0.500 | 0.500 |" in md


# `python -m rl plot`: the curves panels only, to one PNG.


def fake_run(path: Path, rewards: list[float], kl: bool = False) -> Path:
    path.mkdir(parents=True)
    rows = [
        {
            "step": i + 1,
            "reward": r,
            "reward_std": 0.1,
            "completions/mean_length": 10 + i,
            **({"kl": 0.01} if kl else {}),
        }
        for i, r in enumerate(rewards)
    ]
    rows.append({"step": len(rewards), "train_runtime": 1.0})  # the trainer's summary line has no reward
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_plotting_two_runs_writes_a_png(tmp_path):
    a = fake_run(tmp_path / "smoke" / "stage1", [0.1, 0.2, 0.4], kl=True)
    b = fake_run(tmp_path / "smoke" / "stage2", [0.3, 0.5])
    out = tmp_path / "curves.png"
    assert plot_main([str(a), str(b), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_series_skips_lines_without_the_metric():
    rows = [{"step": 1, "reward": 0.5}, {"step": 1, "train_runtime": 2.0}, {"step": 2, "reward": None}]
    assert series(rows, "reward") == ([1], [0.5])


def test_a_directory_without_metrics_is_an_error(tmp_path, capsys):
    assert plot_main([str(tmp_path)]) == 2
    assert "metrics.jsonl" in capsys.readouterr().err


def test_panels_come_from_the_data_the_runs_have(tmp_path):
    """No KL panel when beta is 0 (no run logged kl), one panel per reward's mean, SFT and GRPO loss apart,
    and the held-out scores when a report.json is given."""
    sft = tmp_path / "smoke" / "stage0"
    sft.mkdir(parents=True)
    (sft / "recipe.yaml").write_text("trainer: sft\n")
    (sft / "metrics.jsonl").write_text('{"step": 10, "loss": 5.0}\n{"step": 20, "loss": 1.0}\n')
    grpo = write_run(tmp_path / "smoke" / "stage1", [0.1, 0.2])
    with (grpo / "metrics.jsonl").open("a") as f:
        f.write(json.dumps({"step": 3, "reward": 0.3, "loss": -0.1, "rewards/ifeval/mean": 0.5}) + "\n")
    runs = find_runs([tmp_path / "smoke"])
    titles = [p.title for p in panels_for(runs, heldout={"stage0": {"math": 0.1}})]
    assert "KL to reference" not in titles
    assert {"math_accuracy (mean reward)", "ifeval (mean reward)", "SFT loss", "GRPO loss"} <= set(titles)
    assert titles[-1].startswith("held-out")
    fake_run(tmp_path / "kl" / "stage1", [0.1], kl=True)
    assert "KL to reference" in [p.title for p in panels_for(find_runs([tmp_path / "kl"]))]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 10])
def test_the_panel_grid_has_no_empty_cell(n):
    cells = grid(n)
    units = max(col + span for _, col, span in cells)
    for row in {r for r, _, _ in cells}:
        spans = sorted((col, span) for r, col, span in cells if r == row)
        assert spans[0][0] == 0 and sum(span for _, span in spans) == units  # each row filled edge to edge
        assert all(a + w == b for (a, w), (b, _) in zip(spans, spans[1:], strict=False))
