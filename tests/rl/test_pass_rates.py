"""A pass-rate file says what it measured, and a stage that keeps a band checks it: another model is
refused, other sampling settings warn, prompts the file lacks are counted (`not_estimated`). One real
`python -m rl filter` run with a real tiny model makes the file every test reads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rl.data_check import main as data_main
from rl.difficulty import main as filter_main
from rl.pass_rates import check, fingerprint, read_pass_rates
from rl.recipe import load_recipe

RECIPE = str(Path(__file__).resolve().parents[2] / "recipes" / "smoke" / "stage1.yaml")
PROMPTS = [f"What is {i} + 1?" for i in range(3)]


def rows_file(path: Path, prompts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"prompt": p, "answer": "1"}) + "\n" for p in prompts))
    return path


def overrides(model: Path, src: Path, rates: Path | None = None, band: str = "[0.0,1.0]") -> list[str]:
    out = [
        f"model.name_or_path={model}",
        f"data.mixture=[{{source: 'local:{src}', task: math}}]",
        "training.max_completion_length=8",
        "rewards=[{name: math_accuracy}]",
    ]
    return out + ([f"data.pass_rates={rates}", f"data.pass_rate_band={band}"] if rates else [])


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """(tiny model, its rows, the pass-rate file `rl filter` wrote for them)."""
    from rl.smoke.tiny import build_tiny

    root = tmp_path_factory.mktemp("filter")
    tiny = build_tiny(root / "tiny")
    src = rows_file(root / "m.jsonl", PROMPTS)
    out = root / "rates.jsonl"
    argv = [RECIPE, *overrides(tiny, src), "--model", str(tiny), "--samples", "2", "--out", str(out)]
    assert filter_main(argv) == 0
    return tiny, src, out


@pytest.fixture(scope="module")
def other_model(tmp_path_factory) -> Path:
    from rl.smoke.tiny import build_tiny

    return build_tiny(tmp_path_factory.mktemp("other") / "tiny", seed=1)


def test_rl_filter_records_the_model_the_sampling_and_the_data_it_measured(made):
    tiny, src, out = made
    file = read_pass_rates(out)
    head = file.provenance
    assert head is not None and len(file.rates) == 3 and head["prompts"] == 3
    assert head["model"] == str(tiny) and head["model_identity"] == str(tiny.resolve())
    assert head["model_fingerprint"] == fingerprint(tiny) is not None
    assert (head["samples"], head["seed"], head["limit"], head["backend"]) == (2, 0, None, "transformers")
    recipe = load_recipe(RECIPE, overrides(tiny, src))
    assert (
        head["sampling"]
        == {
            "temperature": 1.0,
            "top_p": 1.0,
            "top_k": 0,
            "max_completion_length": 8,
            "think_prefill": True,
            "system_prompt": None,
            "chat_template": head["sampling"]["chat_template"],
        }
        and len(head["sampling"]["chat_template"]) == 16
    )
    assert head["data"]["mixture"][0]["source"] == f"local:{src}" and head["data"]["seed"] == recipe.data.seed
    assert file.rerun().startswith(f"python -m rl filter {RECIPE} model.name_or_path=")
    assert file.rerun().endswith(f"--model {tiny} --samples 2 --out {out}")


def test_a_band_estimated_with_another_model_is_refused_with_the_command_that_fixes_it(
    made, other_model, capsys
):
    tiny, src, out = made
    assert data_main([RECIPE, *overrides(other_model, src, out)]) == 2
    err = capsys.readouterr().err
    assert f"estimated with {tiny}" in err and f"this stage starts from {other_model}" in err
    assert f"--model {other_model} --samples 2 --out {out}" in err  # the rerun, with the stage's model


def test_the_same_path_with_retrained_weights_is_another_model(made, other_model, tmp_path, capsys):
    tiny, src, out = made
    policy = tmp_path / "policy"
    shutil.copytree(tiny, policy)
    rates = tmp_path / "rates.jsonl"
    lines = out.read_text().splitlines()
    head = json.loads(lines[0])
    head["provenance"] |= {"model": str(policy), "model_identity": str(policy.resolve())}
    rates.write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n")
    assert data_main([RECIPE, *overrides(policy, src, rates)]) == 0  # the weights it measured: fine
    for f in other_model.glob("*.safetensors"):
        shutil.copy(f, policy / f.name)  # `policy` retrained in place
    assert data_main([RECIPE, *overrides(policy, src, rates)]) == 2
    assert "(same path, other weights)" in capsys.readouterr().err


def test_another_model_on_purpose_is_a_warning(made, other_model, caplog, capsys):
    tiny, src, out = made
    argv = [RECIPE, *overrides(other_model, src, out), "data.pass_rates_any_model=true"]
    assert data_main(argv) == 0
    assert "using it anyway" in caplog.text and f"estimated with {tiny}" in caplog.text


def test_other_sampling_settings_warn_and_name_each_difference(made, caplog):
    tiny, src, out = made
    argv = [
        RECIPE,
        *overrides(tiny, src, out),
        "training.temperature=0.6",
        "training.max_completion_length=16",
    ]
    assert data_main(argv) == 0
    assert "temperature 1.0 -> 0.6" in caplog.text and "max_completion_length 8 -> 16" in caplog.text
    caplog.clear()
    assert data_main([RECIPE, *overrides(tiny, src, out)]) == 0
    assert "pass_rates" not in caplog.text  # the settings it was made with: nothing to say
    # `rl train` lets one rank of many say them: the others get the same warnings, silently.
    recipe = load_recipe(RECIPE, [*overrides(tiny, src, out), "training.temperature=0.6"])
    quiet = check(recipe, log_warnings=False)
    assert [w for w in quiet.warnings if "temperature 1.0 -> 0.6" in w] and "pass_rates" not in caplog.text
    assert check(recipe).warnings == quiet.warnings and "temperature 1.0 -> 0.6" in caplog.text


def test_prompts_the_file_does_not_cover_are_counted_as_not_estimated(made, tmp_path, caplog):
    tiny, _, out = made
    src = rows_file(tmp_path / "m.jsonl", [*PROMPTS, "What is 7 + 1?"])  # a row added after the estimate
    report = tmp_path / "report.json"
    assert data_main([RECIPE, *overrides(tiny, src, out), "--report", str(report)]) == 0
    counts = json.loads(report.read_text())[f"local:{src}"]
    assert (counts["read"], counts["kept"], counts["dropped"]) == (4, 3, {"not_estimated": 1})
    assert (
        "no estimate for 1 of this stage's 4 prompts" in caplog.text and "python -m rl filter" in caplog.text
    )


def test_the_rerun_for_prompts_a_limited_estimate_missed_leaves_out_the_limit(made, tmp_path, caplog):
    tiny, src, _ = made
    out = tmp_path / "rates.jsonl"
    argv = [RECIPE, *overrides(tiny, src), "--model", str(tiny), "--samples", "2", "--limit", "2"]
    assert filter_main([*argv, "--out", str(out)]) == 0
    assert data_main([RECIPE, *overrides(tiny, src, out)]) == 0
    assert "no estimate for 1 of this stage's 3 prompts" in caplog.text
    rerun = caplog.text.split("Rerun `")[1].split("`")[0]
    assert rerun.endswith(f"--model {tiny} --samples 2 --out {out}")  # --limit 2 would miss them again


def test_a_file_for_other_data_is_refused(made, tmp_path, capsys):
    tiny, _, out = made
    src = rows_file(tmp_path / "m.jsonl", ["What is 8 + 1?", "What is 9 + 1?"])
    assert data_main([RECIPE, *overrides(tiny, src, out)]) == 2
    assert "has none of this stage's 2 prompts" in capsys.readouterr().err


def test_a_file_written_before_headers_is_read_with_a_warning(made, tmp_path, caplog):
    tiny, src, out = made
    old = tmp_path / "old.jsonl"
    old.write_text("\n".join(out.read_text().splitlines()[1:]) + "\n")
    report = tmp_path / "report.json"
    assert data_main([RECIPE, *overrides(tiny, src, old, "[0.0,1.0]"), "--report", str(report)]) == 0
    assert json.loads(report.read_text())[f"local:{src}"]["kept"] == 3
    assert "has no header" in caplog.text and f"--model {tiny} --samples K --out {old}" in caplog.text


def test_rl_train_refuses_a_band_estimated_with_another_model(made, other_model, tmp_path, capsys):
    from rl.train import main as train_main

    _, src, out = made
    argv = [
        RECIPE,
        *overrides(other_model, src, out),
        f"output_dir={tmp_path / 'run'}",
        "wandb.enabled=false",
    ]
    assert train_main(argv) == 2
    assert "this stage starts from" in capsys.readouterr().err
    assert not (tmp_path / "run" / "metrics.jsonl").exists()
