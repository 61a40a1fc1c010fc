"""rl.cluster.launch: dry-run plans for real cluster shapes, validated without a GPU."""

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from rl.cluster.build import build_plan
from rl.cluster.launch import main
from rl.cluster.memory import GIB
from rl.cluster.plan import emit_tsv
from sandbox import free_port

ROOT = Path(__file__).resolve().parents[3]
STAGE1 = "recipes/qwen2.5-32b/stage1.yaml"
STAGE2 = "recipes/qwen2.5-32b/stage2.yaml"
SANDBOXES = ",".join(f"http://127.0.0.1:{8080 + i}" for i in range(8))


def steps(plan, role):
    return [s for s in plan.steps if s.role == role]


@pytest.mark.parametrize(
    ("nodes", "train_nodes", "train_procs", "vllm_gpus"),
    [
        (1, [0], 6, "0,1"),
        (4, [1, 2, 3], 24, "0,1,2,3,4,5,6,7"),
        (8, [1, 2, 3, 4, 5, 6, 7], 56, "0,1,2,3,4,5,6,7"),
    ],
)
def test_stage1_plans_for_1x8_4x8_and_8x8_are_valid(nodes, train_nodes, train_procs, vllm_gpus, tmp_path):
    plan = build_plan("stage1", STAGE1, nodes=nodes, gpus_per_node=8, overrides=[f"output_dir={tmp_path}"])
    assert plan.errors == []
    (vllm,) = steps(plan, "vllm")
    tp = len(vllm_gpus.split(","))
    assert vllm.node == 0 and vllm.kind == "service"
    assert vllm.env["CUDA_VISIBLE_DEVICES"] == vllm_gpus
    assert vllm.argv[:4] == ["trl", "vllm-serve", "--model", "Qwen/Qwen2.5-32B"]
    assert vllm.argv[vllm.argv.index("--tensor-parallel-size") + 1] == str(tp)
    train = steps(plan, "train")
    assert [s.node for s in train] == train_nodes
    for rank, step in enumerate(train):
        argv = step.argv
        assert argv[:4] == ["accelerate", "launch", "--config_file", "recipes/accelerate/zero3.yaml"]
        assert argv[argv.index("--num_machines") + 1] == str(len(train_nodes))
        assert argv[argv.index("--num_processes") + 1] == str(train_procs)
        assert argv[argv.index("--machine_rank") + 1] == str(rank)
        assert argv[argv.index("--main_process_ip") + 1] == f"node{train_nodes[0]}"
        assert argv[argv.index("-m") + 1 :][:3] == ["rl", "train", STAGE1]
        assert "training.vllm_server_host=node0" in argv
        assert f"sandbox.url={SANDBOXES}" in argv and "SANDBOX_URL" not in step.env  # the recipe, not env
    ups = steps(plan, "sandbox")
    assert [(s.kind, s.node) for s in ups] == [("setup", n) for n in train_nodes] + [
        ("teardown", n) for n in train_nodes
    ]
    assert ups[0].argv == [
        "python",
        "-m",
        "sandbox",
        "up",
        "--replicas",
        "8",
        "--port",
        "8080",
        "--fallback-bare",
    ]
    # health checks on every training node wait for vLLM and the node's own sandboxes
    checks = steps(plan, "health")
    assert [s.node for s in checks] == train_nodes
    assert "vllm=http://node0:8000/health" in checks[0].argv
    kinds = [s.kind for s in plan.steps]
    assert kinds == sorted(kinds, key=["preflight", "service", "setup", "check", "train", "teardown"].index)
    preflights = steps(plan, "preflight")
    assert [s.node for s in preflights] == list(range(nodes))  # every node checks itself first
    # Docker is not required: without it `sandbox up --fallback-bare` runs bare servers, with a warning
    assert "--disk-gib" in preflights[-1].argv and preflights[-1].argv[-1] == "image,docker"
    assert [e.role.split(" (")[0] for e in plan.estimates] == ["training GPU", "vLLM GPU"]
    assert plan.recipe.training["vllm_mode"] == "server"


def test_one_node_gives_vllm_a_gpu_share_and_trains_on_the_rest(tmp_path):
    plan = build_plan("stage1", STAGE1, nodes=1, gpus_per_node=8, overrides=[f"output_dir={tmp_path}"])
    (train,) = steps(plan, "train")
    assert train.env["CUDA_VISIBLE_DEVICES"] == "2,3,4,5,6,7"
    assert "launch.vllm_tensor_parallel_size=2" in train.argv
    # full fine-tuning of 32B on 6 GPUs: 16 bytes/param / 6 = 81 GiB of states alone
    assert any("does not fit" in w and "model.lora.r=64" in w for w in plan.warnings)


def test_the_one_node_lora_plan_counts_the_whole_model_each_weight_sync_gathers(tmp_path):
    lora = "model.lora={r: 64, lora_alpha: 128, target_modules: all-linear}"
    plan = build_plan("stage1", STAGE1, nodes=1, overrides=[f"output_dir={tmp_path}", lora])
    assert plan.errors == []
    train, sync = plan.estimates[:2]
    assert train.total < 45 * GIB  # the step itself: sharded base + activations
    assert sync.role.startswith("training GPU during the LoRA weight sync")
    assert sync.get("whole model gathered to merge LoRA") > 61 * GIB  # 32.8B x 2 bytes on every GPU
    assert 72 * GIB < sync.total <= 80 * GIB  # fits, only just: the plan says so
    assert any("weight sync" in w and "under 10% left" in w for w in plan.warnings)
    roomy = build_plan("stage1", STAGE1, nodes=1, gpu_gib=141, overrides=[f"output_dir={tmp_path}", lora])
    assert roomy.errors == [] and roomy.warnings == []


def test_full_fine_tuning_syncs_one_parameter_at_a_time_so_no_gathered_model_is_counted(tmp_path):
    plan = build_plan("stage1", STAGE1, nodes=4, overrides=[f"output_dir={tmp_path}"])
    assert not any("weight sync" in e.role for e in plan.estimates)


def test_the_disk_check_counts_every_kept_checkpoint_with_its_16_bit_model_and_the_one_being_written(
    tmp_path,
):
    plan = build_plan("stage1", STAGE1, nodes=4, overrides=[f"output_dir={tmp_path}"])
    argv = next(s.argv for s in plan.steps if s.role == "preflight" and "--disk-gib" in s.argv)
    params = 32.76e9  # save_total_limit 2: three checkpoints of 16 B/param while the third is written
    need = (3 * 16 * params + 2 * params) / GIB
    assert abs(int(argv[argv.index("--disk-gib") + 1]) - need) < 0.01 * need
    lora = build_plan(
        "stage1", STAGE1, nodes=4, overrides=[f"output_dir={tmp_path}", "model.lora={r: 64, lora_alpha: 128}"]
    )
    argv = next(s.argv for s in lora.steps if s.role == "preflight" and "--disk-gib" in s.argv)
    assert int(argv[argv.index("--disk-gib") + 1]) < 100  # adapter checkpoints + the merged final model


def test_training_nodes_require_vllm_because_the_trainer_imports_trls_vllm_client(tmp_path):
    plan = build_plan("stage1", STAGE1, nodes=4, overrides=[f"output_dir={tmp_path}"])
    for step in (s for s in plan.steps if s.role == "preflight"):
        required = step.argv[step.argv.index("--require") + 1].split(",")
        assert "vllm" in required, step.node
        if step.node != 0:
            assert "flash_attn" in required


def test_stage2_serves_the_reward_model_beside_vllm_and_points_training_at_it(tmp_path):
    plan = build_plan("stage2", STAGE2, nodes=4, overrides=[f"output_dir={tmp_path}/stage2"])
    assert plan.errors == []
    (rm,) = steps(plan, "reward_model")
    assert rm.node == 0 and rm.env["CUDA_VISIBLE_DEVICES"] == "4"
    assert rm.argv == [
        "python", "-m", "verifiers.reward_model", "serve",
        "--model", "Skywork/Skywork-Reward-V2-Llama-3.1-8B", "--host", "0.0.0.0", "--port", "8001",
        "--batch-size", "16", "--max-length", "4096",
    ]  # fmt: skip
    (vllm,) = steps(plan, "vllm")
    assert vllm.env["CUDA_VISIBLE_DEVICES"] == "0,1,2,3"
    assert vllm.argv[3] == f"{tmp_path}/stage1"  # stage 2 generates with stage 1's checkpoint
    for train in steps(plan, "train"):
        assert "reward_model.path_or_url=http://node0:8001" in train.argv
    assert "reward_model=http://node0:8001/health" in steps(plan, "health")[0].argv
    assert plan.recipe.reward_model.path_or_url == "http://node0:8001"
    assert any("run make stage1 first" in n for n in plan.notes)  # dry run: a note, not an error
    roles = [e.role.split(" (")[0] for e in plan.estimates]
    assert roles == ["training GPU", "vLLM GPU", "reward-model GPU"]
    assert "reference model (beta > 0)" in dict(plan.estimates[0].lines)  # beta 0.001


def test_a_real_stage2_launch_refuses_to_start_before_stage1_exists(tmp_path):
    plan = build_plan(
        "stage2",
        STAGE2,
        nodes=4,
        hosts=["a", "b", "c", "d"],
        overrides=[f"output_dir={tmp_path}/s2"],
        dry_run=False,
    )
    assert any("run make stage1 first" in e for e in plan.errors)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["launch.vllm_tensor_parallel_size=3", "launch.vllm_gpus=3"],
            "does not divide the model's 40 attention",
        ),
        (["launch.vllm_tensor_parallel_size=4"], "data parallel 2, which vLLM rejects"),
        (["training.gradient_accumulation_steps=3"], "not a multiple of num_generations 16"),
        (["launch.accelerate_config=recipes/accelerate/zero9.yaml"], "zero9.yaml not found"),
        (["training.lerning_rate=1e-6"], "did you mean 'training.learning_rate'"),
        (["launch.vllm_gpus=16"], "but has only 8 GPUs"),
        (["rewards.3.kwargs.max_completion_length=8192"], "differs from training.max_completion_length"),
    ],
)
def test_invalid_launches_fail_with_an_error_that_names_the_fix(overrides, message):
    plan = build_plan("stage1", STAGE1, nodes=4, overrides=overrides)
    assert any(message in e for e in plan.errors), plan.errors


def test_a_recipe_of_another_stage_is_refused():
    plan = build_plan("stage1", STAGE2, nodes=4)
    assert any("is a 'stage2' recipe, not 'stage1'" in e for e in plan.errors)


def test_a_requeued_run_reports_the_checkpoint_it_resumes_from(tmp_path):
    for step in (20, 40):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    (tmp_path / "checkpoint-60").mkdir()  # a save cut off by preemption: no trainer_state.json
    plan = build_plan("stage1", STAGE1, nodes=4, overrides=[f"output_dir={tmp_path}"])
    assert f"resume: from {tmp_path}/checkpoint-40 (python -m rl train resumes it)" in plan.notes


def test_dry_run_prints_commands_memory_and_resolved_recipe(capsys):
    assert main(["--stage", "stage1", "--nodes", "4", "--dry-run"]) == 0
    out = capsys.readouterr().out
    for text in (
        "trl vllm-serve",
        "accelerate launch",
        "zero3.yaml",
        "python -m sandbox up",
        "GiB",
        "Qwen/Qwen2.5-32B",
    ):
        assert text in out
    assert "resolved recipe" in out and "epsilon_high: 0.28" in out
    assert out.rstrip().endswith("plan valid: 0 errors, 0 warnings")


def test_dry_run_of_an_invalid_plan_exits_nonzero_naming_the_problem(capsys):
    assert main(["--stage", "stage1", "--dry-run", "launch.vllm_tensor_parallel_size=5"]) == 1
    assert "error: launch.vllm_tensor_parallel_size=5" in capsys.readouterr().out


def test_a_plan_that_does_not_fit_is_refused_for_submission_unless_forced_and_fits_on_141_gb(capsys):
    two_nodes = [
        "--stage",
        "stage1",
        "--nodes",
        "2",
        "--emit",
        "shape",
    ]  # what make stage1 asks before sbatch
    assert main(two_nodes) == 1
    err = capsys.readouterr().err
    assert "error: memory: training GPU" in err and "does not fit" in err and "FORCE=1" in err
    assert main([*two_nodes, "--force"]) == 0
    assert capsys.readouterr().out.split() == ["2", "8"]
    assert main([*two_nodes, "--gpu-memory-gib", "141"]) == 0  # H200s: GPU_MEM=141
    assert (
        main(["--stage", "stage1", "--nodes", "2", "--dry-run"]) == 0
    )  # a dry run shows it, says a launch refuses
    assert "a launch refuses this plan" in capsys.readouterr().out


def test_make_dry_run_passes_hosts_and_node_rank_to_the_plan():
    out = subprocess.run(
        ["make", "-s", "stage1", "DRY_RUN=1", "NODES=2", "HOSTS=hosta,hostb", "NODE_RANK=1", "GPU_MEM=141"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "node 0 (hosta)" in out.stdout and "node 1 (hostb)" in out.stdout
    assert "--main_process_ip hostb" in out.stdout and "node0" not in out.stdout.replace("-node0.log", "")


def test_tsv_emits_one_parsable_line_per_step(capsys):
    assert main(["--stage", "stage1", "--nodes", "4", "--hosts", "g1,g2,g3,g4", "--emit", "tsv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 17  # 4 node preflights, vLLM, 3 x (sandbox up, health, train, sandbox down)
    kind, node, host, log, cmd = lines[4].split("\t")
    assert (kind, node, host) == ("service", "0", "g1")
    assert shlex.split(cmd)[3:5] == ["trl", "vllm-serve"]


def test_a_real_launch_needs_hosts_and_a_node_rank(capsys):
    assert main(["--stage", "stage1", "--nodes", "4"]) == 1
    err = capsys.readouterr().err
    assert "need --hosts" in err and "--node-rank" in err


def test_run_node_starts_services_waits_for_health_trains_then_tears_down(tmp_path):
    """The no-Slurm path with real processes: an HTTP service, the real health check, a 'training' command."""
    from rl.cluster.execute import run_node
    from rl.cluster.plan import Plan, Step

    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "health").write_text("ok")
    port = free_port()
    py = sys.executable
    log = str(tmp_path / "logs" / "x.log")
    plan = Plan(stage="stage1", recipe_path=STAGE1, hosts=["127.0.0.1"])
    serve = [py, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path / "www")]
    wait = [py, "-m", "rl", "preflight", "--timeout", "30", "--wait", f"svc=http://127.0.0.1:{port}/health"]
    train = [py, "-c", "import os; open(os.environ['MARK'], 'w').write('trained')"]
    down = [py, "-c", f"open({str(tmp_path / 'down')!r}, 'w').write('down')"]
    plan.steps = [
        Step("service", 0, "127.0.0.1", "svc", serve, {}, log),
        Step("check", 0, "127.0.0.1", "health", wait, {}, log),
        Step("train", 0, "127.0.0.1", "train", train, {"MARK": str(tmp_path / "mark")}, log),
        Step("teardown", 0, "127.0.0.1", "down", down, {}, log),
    ]
    assert run_node(plan, 0) == 0
    assert (tmp_path / "mark").read_text() == "trained"
    assert (tmp_path / "down").read_text() == "down"
    assert "svc" in Path(log).read_text()  # the health check logged the service it saw


def test_run_node_stops_when_training_fails_and_still_tears_down(tmp_path):
    from rl.cluster.execute import run_node
    from rl.cluster.plan import Plan, Step

    py = sys.executable
    log = str(tmp_path / "x.log")
    plan = Plan(stage="stage1", recipe_path=STAGE1, hosts=["127.0.0.1"])
    plan.steps = [
        Step("train", 0, "127.0.0.1", "train", [py, "-c", "raise SystemExit(3)"], {}, log),
        Step(
            "teardown", 0, "127.0.0.1", "down", [py, "-c", f"open({str(tmp_path / 'down')!r}, 'w')"], {}, log
        ),
    ]
    assert run_node(plan, 0) == 3
    assert (tmp_path / "down").exists()


def test_a_failed_preflight_prints_its_failing_checks(tmp_path, capsys):
    """The real preflight on this GPU-less machine fails its GPU check: the check itself is echoed."""
    from rl.cluster.execute import run_node
    from rl.cluster.plan import Plan, Step

    log = str(tmp_path / "preflight.log")
    check = [sys.executable, "-m", "rl", "preflight", "--gpus", "8", "--skip", "docker,image,disk,wandb,nccl"]
    plan = Plan(stage="stage1", recipe_path=STAGE1, hosts=["127.0.0.1"])
    plan.steps = [Step("preflight", 0, "127.0.0.1", "preflight", check, {}, log)]
    assert run_node(plan, 0) != 0
    err = capsys.readouterr().err
    assert f"see {log}" in err and "  FAIL  gpus" in err


def test_emit_tsv_round_trips_the_environment_and_the_sandbox_override_through_bash(tmp_path):
    plan = build_plan("stage1", STAGE1, nodes=4, overrides=[f"output_dir={tmp_path}"])
    train_line = next(line for line in emit_tsv(plan).splitlines() if line.startswith("train\t"))
    cmd = train_line.split("\t")[4].replace(
        "accelerate launch", "printenv NCCL_ASYNC_ERROR_HANDLING; printf '%s\\n'", 1
    )
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "1"  # the recipe's launch.env
    assert f"sandbox.url={SANDBOXES}" in out
    assert plan.recipe is not None and plan.recipe.sandbox.url == SANDBOXES  # what `rl train` will see


@pytest.mark.parametrize(
    ("name", "kind", "stage"), [("zero2", "DEEPSPEED", 2), ("zero3", "DEEPSPEED", 3), ("fsdp2", "FSDP", 3)]
)
def test_accelerate_configs_load_in_accelerate_and_give_their_sharding_stage(name, kind, stage):
    from accelerate.commands.config.config_args import load_config_from_file

    from rl.cluster.build import accelerate_setup

    path = f"recipes/accelerate/{name}.yaml"
    config = load_config_from_file(path)
    assert config.distributed_type.name == kind and config.mixed_precision == "bf16"
    assert accelerate_setup(Path(path))[0] == stage


def test_zero2_for_32b_warns_that_whole_bf16_weights_do_not_fit():
    plan = build_plan(
        "stage1", STAGE1, nodes=4, overrides=["launch.accelerate_config=recipes/accelerate/zero2.yaml"]
    )
    assert plan.errors == []
    assert plan.estimates[0].get("bf16 weights") == 2 * 32_763_876_352
    assert any("training GPU (ZeRO-2 over 24 GPUs) needs" in w for w in plan.warnings)


def test_without_vllm_gpus_generation_is_colocated_and_its_share_counts_on_every_training_gpu(tmp_path):
    plan = build_plan(
        "stage1",
        STAGE1,
        nodes=4,
        overrides=[f"output_dir={tmp_path}", "launch.vllm_gpus=0", "launch.vllm_tensor_parallel_size=1"],
    )
    assert steps(plan, "vllm") == [] and [s.node for s in steps(plan, "train")] == [0, 1, 2, 3]
    assert "training.vllm_mode=colocate" in steps(plan, "train")[0].argv
    train = plan.estimates[0]
    assert train.role == "training GPU (ZeRO-3 over 32 GPUs)"
    assert train.get("colocated vLLM share") == 0.9 * 80 * GIB  # with the server's 0.9 it cannot fit
    assert any("training GPU (ZeRO-3 over 32 GPUs) needs" in w for w in plan.warnings)
