"""rl.cluster.launch: dry-run plans for real cluster shapes, validated without a GPU."""

import contextlib
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
        host = "127.0.0.1" if nodes == 1 else "node0"  # one node: loopback, never a placeholder name
        assert argv[argv.index("--main_process_ip") + 1] == (
            "127.0.0.1" if nodes == 1 else f"node{train_nodes[0]}"
        )
        assert argv[argv.index("-m") + 1 :][:3] == ["rl", "train", STAGE1]
        assert f"training.vllm_server_host={host}" in argv
        assert f"sandbox.url={SANDBOXES}" in argv and "SANDBOX_URL" not in step.env  # the recipe, not env
    ups = steps(plan, "sandbox")
    assert [(s.kind, s.node) for s in ups] == [("setup", n) for n in train_nodes] + [
        ("teardown", n) for n in train_nodes
    ]
    assert ups[0].argv[:8] == ["python", "-m", "sandbox", "up", "--replicas", "8", "--port", "8080"]
    # health checks on every training node wait for vLLM and the node's own sandboxes
    checks = steps(plan, "health")
    assert [s.node for s in checks] == train_nodes
    assert f"vllm=http://{'127.0.0.1' if nodes == 1 else 'node0'}:8000/health" in checks[0].argv
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
        "--model", "Skywork/Skywork-Reward-V2-Llama-3.1-8B",
        "--revision", "cba2f842f3f1af2f1b2f0d35e794d789976390c5", "--host", "0.0.0.0", "--port", "8001",
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
        (
            ["dynamic_sampling.enabled=true", "training.gradient_accumulation_steps=8"],
            "dynamic sampling unable to tell which groups to keep",
        ),
    ],
)
def test_invalid_launches_fail_with_an_error_that_names_the_fix(overrides, message):
    plan = build_plan("stage1", STAGE1, nodes=4, overrides=overrides)
    assert any(message in e for e in plan.errors), plan.errors


def test_half_groups_per_process_are_fine_without_dynamic_sampling():
    """The control of the case above: 24 GPUs x 8 = 192 completions is 12 whole groups of 16 for TRL."""
    plan = build_plan("stage1", STAGE1, nodes=4, overrides=["training.gradient_accumulation_steps=8"])
    assert not plan.errors, plan.errors
    assert "each generation batch: 12 prompts x 16 completions = 192" in plan.notes


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
        "--model Qwen/Qwen2.5-32B --revision 1818d35814b8319459f4bd55ed1ac8709630f003",  # vLLM at the pin
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
    # GPU_MEM is what the estimate, the resolved recipe and the training command all use
    assert "of 141 GiB" in out.stdout and "gpu_memory_gib: 141.0" in out.stdout
    assert "launch.gpu_memory_gib=141" in out.stdout and "gpu_memory_gib: 80" not in out.stdout


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


def test_node_0_writes_a_fresh_job_secret_before_services_and_restarts_a_dead_service(tmp_path, capsys):
    """Real processes: the secret file is new (0600) before the service starts; a service that dies while
    training runs is started again; launch.json records the run and its exit code."""
    from rl.cluster.execute import run_node
    from rl.cluster.plan import Plan, Step
    from rl.recipe import load_recipe

    py = sys.executable
    secret = tmp_path / "logs" / "job.secret"
    secret.parent.mkdir()
    secret.write_text("last job's")
    env = {"OPEN_QWQ_SECRET_FILE": str(secret)}
    starts = tmp_path / "starts"
    service = [  # records the secret it sees; the first start dies, the restarted one keeps serving
        py, "-c",
        "import os, pathlib, time\n"
        f"p = pathlib.Path({str(starts)!r}); first = not p.exists()\n"
        "p.open('a').write(open(os.environ['OPEN_QWQ_SECRET_FILE']).read() + chr(10))\n"
        "time.sleep(0 if first else 60)",
    ]  # fmt: skip
    train = [py, "-c", "import time; time.sleep(6)"]
    plan = Plan(stage="stage1", recipe_path=STAGE1, hosts=["127.0.0.1"], world_size=1, processes_per_node=1)
    plan.recipe = load_recipe(STAGE1, [f"output_dir={tmp_path}"])
    log = str(tmp_path / "logs" / "x.log")
    plan.steps = [
        Step("service", 0, "127.0.0.1", "svc", service, env, log),
        Step("train", 0, "127.0.0.1", "train", train, env, log),
    ]
    assert run_node(plan, 0) == 0
    seen = starts.read_text().splitlines()
    assert len(seen) == 2 and seen[0] == seen[1] and seen[0] != "last job's" and len(seen[0]) >= 32
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
    assert "svc exited 0 during training: restarting it" in capsys.readouterr().err
    info = json.loads((tmp_path / "launch.json").read_text())
    assert info["exit_code"] == 0 and info["status"] == "finished" and info["world_size"] == 1


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


@pytest.mark.parametrize("stage", ["stage1", "stage2"])
def test_one_node_without_hosts_uses_loopback_and_names_no_placeholder(stage, tmp_path):
    recipe = STAGE1 if stage == "stage1" else STAGE2
    plan = build_plan(stage, recipe, nodes=1, overrides=[f"output_dir={tmp_path}/{stage}"])
    assert plan.errors == [] and plan.hosts == ["127.0.0.1"]
    text = "\n".join(s.shell() for s in plan.steps)
    assert "node0" not in text and "0.0.0.0" not in text  # services listen on loopback only
    assert "training.vllm_server_host=127.0.0.1" in steps(plan, "train")[0].argv


def test_a_cpu_plan_trains_cpu_processes_over_gloo_without_vllm(tmp_path):
    plan = build_plan(
        "stage1", STAGE1, nodes=1, gpus_per_node=2, overrides=[f"output_dir={tmp_path}"], device="cpu"
    )
    assert plan.errors == [] and steps(plan, "vllm") == [] and plan.estimates == []
    (train,) = steps(plan, "train")
    argv = train.argv
    assert argv[argv.index("--config_file") + 1] == "recipes/accelerate/ddp.yaml"
    assert argv[argv.index("--mixed_precision") + 1] == "no"
    assert argv[argv.index("--num_processes") + 1] == "2" and "training.use_vllm=false" in argv
    assert "CUDA_VISIBLE_DEVICES" not in train.env
    (preflight,) = steps(plan, "preflight")
    assert "--gpus" not in preflight.argv and "gpus,nccl" in preflight.argv[-1]
    assert (plan.device, plan.world_size, plan.processes_per_node) == ("cpu", 2, 2)


def test_two_node_ranks_on_one_host_get_their_own_sandbox_ports(tmp_path):
    plan = build_plan(
        "stage1", STAGE1, nodes=2, gpus_per_node=1, hosts=["127.0.0.1", "127.0.0.1"],
        overrides=[f"output_dir={tmp_path}", "sandbox.replicas=2"], device="cpu", dry_run=False,
    )  # fmt: skip
    assert plan.errors == []
    ups = [s for s in steps(plan, "sandbox") if s.kind == "setup"]
    ports = [s.argv[s.argv.index("--port") + 1] for s in ups]
    assert ports == ["8080", "8082"]  # node 1's block starts after node 0's two replicas
    assert plan.sandbox_urls == {
        0: ["http://127.0.0.1:8080", "http://127.0.0.1:8081"],
        1: ["http://127.0.0.1:8082", "http://127.0.0.1:8083"],
    }
    for node, train in enumerate(steps(plan, "train")):
        assert f"sandbox.url={','.join(plan.sandbox_urls[node])}" in train.argv
        assert train.argv[train.argv.index("--main_process_ip") + 1] == "127.0.0.1"
    assert [s.node for s in steps(plan, "train")] == [0, 1]  # without vLLM every node trains


def test_sandbox_slots_and_sympy_workers_are_sized_from_the_node(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_CPUS_ON_NODE", "64")
    plan = build_plan("stage1", STAGE1, nodes=4, overrides=[f"output_dir={tmp_path}"])
    up = steps(plan, "sandbox")[0]
    assert up.argv[up.argv.index("--workers") + 1] == "4"  # half of 64 cores over 8 replicas
    assert "rewards.0.kwargs.workers=2" in steps(plan, "train")[0].argv  # a quarter over 8 ranks
    plan = build_plan("stage1", STAGE1, nodes=4, overrides=[f"output_dir={tmp_path}", "sandbox.workers=3"])
    up = steps(plan, "sandbox")[0]
    assert up.argv[up.argv.index("--workers") + 1] == "3"  # the recipe's choice wins


def test_a_reward_model_server_beyond_loopback_gets_the_job_secret_and_local_ones_do_not(tmp_path):
    plan = build_plan(
        "stage2", STAGE2, nodes=4, hosts=["a", "b", "c", "d"], overrides=[f"output_dir={tmp_path}/s2"]
    )
    (rm,) = steps(plan, "reward_model")
    secret = f"{tmp_path}/s2/logs/job.secret"
    assert rm.argv[rm.argv.index("--host") + 1] == "0.0.0.0" and rm.env["OPEN_QWQ_SECRET_FILE"] == secret
    assert all(t.env["OPEN_QWQ_SECRET_FILE"] == secret for t in steps(plan, "train"))  # clients send it
    assert "OPEN_QWQ_SECRET_FILE" not in steps(plan, "vllm")[0].env  # TRL's server cannot check it
    plan = build_plan("stage2", STAGE2, nodes=1, overrides=[f"output_dir={tmp_path}/s2"])
    (rm,) = steps(plan, "reward_model")
    assert rm.argv[rm.argv.index("--host") + 1] == "127.0.0.1" and "OPEN_QWQ_SECRET_FILE" not in rm.env


def test_a_reward_model_without_its_own_gpu_shares_the_training_gpu_and_counts_there(tmp_path):
    plan = build_plan(
        "stage2",
        "recipes/qwen2.5-1.5b/stage2.yaml",
        nodes=1,
        gpus_per_node=1,
        overrides=[f"output_dir={tmp_path}/s2"],
    )
    assert plan.errors == []
    (rm,) = steps(plan, "reward_model")
    assert rm.env["CUDA_VISIBLE_DEVICES"] == "0"
    assert plan.estimates[0].get("reward-model server (same GPU)") > 16 * GIB  # 8B in bf16
    assert plan.estimates[0].fits


def test_reward_model_normalisation_needs_whole_groups_on_each_process(tmp_path):
    plan = build_plan(
        "stage2",
        STAGE2,
        nodes=4,
        overrides=[f"output_dir={tmp_path}/s2", "training.gradient_accumulation_steps=4"],
    )
    assert any("split across processes" in e for e in plan.errors), plan.errors


def test_a_node_stopped_with_sigterm_stops_its_training_and_tears_down(tmp_path):
    """Real processes: SIGTERM to `run_node` ends the running training step's whole process group (its
    children too) and still runs teardown."""
    import signal
    import time

    pids, down = tmp_path / "pids", tmp_path / "down"
    node = f"""
import sys
from rl.cluster.execute import run_node
from rl.cluster.plan import Plan, Step
py, log = sys.executable, {str(tmp_path / "x.log")!r}
child = "import os, subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); open({str(pids)!r}, 'w').write(str(c.pid)); time.sleep(120)"
plan = Plan(stage="stage1", recipe_path="x", hosts=["127.0.0.1"])
plan.steps = [Step("train", 0, "127.0.0.1", "train", [py, "-c", child], {{}}, log),
              Step("teardown", 0, "127.0.0.1", "down", [py, "-c", "open({str(down)!r}, 'w')"], {{}}, log)]
sys.exit(run_node(plan, 0))
"""
    proc = subprocess.Popen([sys.executable, "-c", node])
    deadline = time.monotonic() + 60
    while not pids.exists() or not pids.read_text():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.2)
    grandchild = int(pids.read_text())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 128 + signal.SIGTERM
    assert down.exists()
    import psutil

    time.sleep(0.5)
    with contextlib.suppress(psutil.NoSuchProcess):  # gone with its group (a zombie awaiting init counts)
        assert psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE
