"""`python -m rl gpu-check` (`make gpu-check`): prove the GPU path on one GPU in minutes, with no download.

The model is Qwen2.5-0.5B's layer shape (hidden 896, 14 heads / 2 KV heads, MLP 4864) with 32 layers over
the smoke pipeline's local tokenizer, built here from its config: 0.48B parameters, random weights. Every
part runs the real commands a cluster stage runs (`accelerate launch ... -m rl train` with the repository's
accelerate configs, `python -m verifiers.reward_model serve`, `trl vllm-serve`, torchrun) on the bundled
smoke tasks with the real rewards, each in its own processes with its own time limit, so one failing part
is a row "failed: why" and the others still run:

  nccl        an all-reduce over NCCL (torchrun, every visible GPU up to 2)
  grpo-bf16   GRPO in bf16 on CUDA, plain data parallel, 2 steps, a checkpoint each step
  resume      the same run started again to 3 steps: it must resume from checkpoint-2
  zero3       the same under DeepSpeed ZeRO-3
  lora        the same with LoRA adapters
  stage2-rm   one stage-2 step scored by a reward-model server on the same GPU
  vllm-colocate / vllm-server   generation by vLLM in the trainer / from `trl vllm-serve` (needs vLLM)

It prints one table: each part ok / failed / skipped, step time, generated tokens per second (completion
tokens of a step over its whole time), peak GPU memory (nvidia-smi, above the idle level) beside
rl/cluster/memory.py's estimate for the training process. Without a CUDA GPU it says so in one line and
exits 2 at once. Outputs (logs, metrics) go to runs/gpu-check/.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rl.console import error

ROOT = Path(__file__).resolve().parents[2]
SHAPE = {  # Qwen2.5-0.5B's layers; 32 of them over a 1k vocabulary give ~0.48B parameters
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 32,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "max_position_embeddings": 4096,
}
BATCH, GROUP, COMPLETION = 16, 8, 256  # 2 prompts x 8 completions of up to 256 tokens per step
BUDGET_S = 570.0  # the whole check stays under 10 minutes: later parts are skipped past this


@dataclass
class Row:
    part: str
    status: str = "ok"
    step_s: float | None = None
    tokens_s: float | None = None
    peak_gib: float | None = None
    estimate_gib: float | None = None
    notes: list[str] = field(default_factory=list)


class Failed(Exception):
    """A part that did not do what it checks; the message is the table's reason."""


class GpuMemory:
    """Samples GPU 0's used memory with nvidia-smi while a part runs; the peak above the level at start."""

    def __init__(self) -> None:
        self.smi = shutil.which("nvidia-smi")
        self.base = self.read() or 0.0
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def read(self) -> float | None:
        if self.smi is None:
            return None
        try:
            out = subprocess.run(
                [self.smi, "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
            return float(out.split()[0]) / 1024
        except (OSError, ValueError, IndexError, subprocess.SubprocessError):
            return None

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            used = self.read()
            if used is not None:
                self.peak = max(self.peak, used)

    def __enter__(self) -> GpuMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    @property
    def peak_above_idle(self) -> float | None:
        return max(0.0, self.peak - self.base) if self.smi else None


class Check:
    """Shared state of one gpu-check: the output folder, the model, the services it started."""

    def __init__(self, out: Path, part_timeout_s: float, rehearsal: bool = False) -> None:
        self.out = out
        self.part_timeout_s = part_timeout_s
        self.rehearsal = rehearsal  # CPU, tiny model: tries every command of the parts without a GPU
        self.model = out / "model"
        self.started = time.monotonic()
        self.env = {**os.environ, "WANDB_MODE": "disabled", "TOKENIZERS_PARALLELISM": "false"}
        self.env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

    # -- processes -------------------------------------------------------------------------------------
    def start(self, name: str, argv: list[str], env: dict[str, str] | None) -> tuple[subprocess.Popen, Path]:
        """Start a command in its own session, its output in `logs/<name>.log`."""
        log = self.out / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as f:
            proc = subprocess.Popen(
                argv, cwd=ROOT, env={**self.env, **(env or {})}, stdout=f, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        return proc, log

    def run(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> str:
        """Run a command to completion under the part's time limit; its output, or Failed naming the log."""
        proc, log = self.start(name, argv, env)
        try:
            code = proc.wait(self.part_timeout_s)
        except subprocess.TimeoutExpired:
            stop(proc)
            raise Failed(f"timed out after {self.part_timeout_s:.0f} s (log: {log})") from None
        text = log.read_text(errors="replace")
        if code:
            raise Failed(f"exit {code}: {last_error(text)} (log: {log})")
        return text

    def service(
        self, name: str, argv: list[str], health: str, timeout_s: float, env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        """Start a server and wait for its health URL; Failed (with its log's last error) when it dies."""
        from sandbox import wait_healthy

        proc, log = self.start(name, argv, env)
        try:
            wait_healthy(health.removesuffix("/health"), timeout_s, proc, name=name)
        except (RuntimeError, TimeoutError) as e:
            stop(proc)
            raise Failed(f"{e}: {last_error(log.read_text(errors='replace'))} (log: {log})") from None
        return proc

    # -- training --------------------------------------------------------------------------------------
    def train(
        self,
        name: str,
        config: str,
        overrides: list[str],
        stage: str = "stage1",
        env: dict[str, str] | None = None,
    ) -> str:
        """`accelerate launch --config_file recipes/accelerate/<config> -m rl train` on the smoke recipe."""
        from sandbox import free_port

        argv = [
            "accelerate", "launch", "--config_file", f"recipes/accelerate/{config}",
            "--num_processes", "1", "--num_machines", "1", "--machine_rank", "0",
            "--main_process_port", str(free_port()),
            "-m", "rl", "train", f"recipes/smoke/{stage}.yaml",
            f"output_dir={self.out / name}", "model.from_stage=null", f"model.name_or_path={self.model}",
            "model.dtype=bfloat16", "wandb.enabled=false", "training.bf16=true", "training.logging_steps=1",
            f"training.per_device_train_batch_size={BATCH}", f"training.num_generations={GROUP}",
            f"training.max_completion_length={COMPLETION}", "training.learning_rate=1.0e-5",
            "training.save_steps=1", "training.max_steps=2", *overrides,
        ]  # fmt: skip
        if self.rehearsal:
            argv[argv.index("--num_processes") : argv.index("--num_processes")] = ["--mixed_precision", "no"]
            argv += ["model.dtype=float32", "training.bf16=false"]
        return self.run(name, argv, env)

    def rows_of(self, name: str) -> list[dict]:
        path = self.out / name / "metrics.jsonl"
        if not path.is_file():
            raise Failed(f"no metrics.jsonl in {self.out / name}")
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def measured(self, row: Row, name: str, want_steps: int) -> None:
        """Step time and generated tokens/s from the run's metrics; Failed unless it reached `want_steps`."""
        steps = [r for r in self.rows_of(name) if "step_time" in r]
        if not steps or max(r["step"] for r in steps) < want_steps:
            raise Failed(
                f"metrics reach step {max((r['step'] for r in steps), default=0)}, want {want_steps}"
            )
        last = steps[-1]
        row.step_s = float(last["step_time"])
        row.tokens_s = float(last.get("completions/mean_length", 0.0)) * BATCH / max(row.step_s, 1e-9)
        failed = {k: v for k, v in last.items() if k.endswith("/failed") and v}
        if failed:
            row.notes.append(f"reward rows failed at the last step: {failed}")
        for key in ("reward", "loss"):
            if last.get(key) is None:
                raise Failed(f"the last step logged no {key}: {json.dumps(last)[:200]}")

    def left_s(self) -> float:
        return BUDGET_S - (time.monotonic() - self.started)


def stop(proc: subprocess.Popen) -> None:
    """Stop a process and everything it started (its own session)."""
    import signal

    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def last_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    hits = [line for line in lines if "Error" in line or "error:" in line]
    return (hits or lines or ["no output"])[-1][:200]


def build_model(out: Path, rehearsal: bool = False) -> Path:
    """The 0.48B Qwen2 model from its config with the smoke tokenizer, saved for every part to load."""
    import torch
    from transformers import AutoTokenizer, GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    if (out / "config.json").is_file():
        return out
    tiny = (
        out if rehearsal else out.parent / "tiny"
    )  # the smoke pipeline's tokenizer, built in its own process
    subprocess.run(
        [sys.executable, "-m", "rl.smoke.tiny", str(tiny)], cwd=ROOT, check=True, capture_output=True
    )
    if rehearsal:
        return tiny
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        **SHAPE,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def estimate_gib(
    model: Path, zero: int = 0, lora_r: int | None = None, vllm_share: float = 0.0
) -> float | None:
    """rl/cluster/memory.py's per-GPU estimate of one training process of these parts."""
    from rl.cluster import memory

    shape = memory.model_shape(str(model))
    if shape is None:
        return None
    setup = memory.TrainSetup(
        train_gpus=1, zero_stage=zero, micro_batch=BATCH, seq_len=COMPLETION + 128,
        completion_len=COMPLETION, gradient_checkpointing=False, lora_r=lora_r,
    )  # fmt: skip
    gpu = gpu_memory_gib() or 80.0
    return memory.training_estimate(shape, setup, gpu).total / memory.GIB + vllm_share * gpu


def gpu_count() -> int:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(line.startswith("GPU ") for line in out.splitlines())


def gpu_memory_gib() -> float | None:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=memory.total", "--format=csv,noheader,nounits", "-i", "0"],
            capture_output=True, text=True, timeout=10,
        ).stdout  # fmt: skip
        return float(out.split()[0]) / 1024
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None


# -- the parts ----------------------------------------------------------------------------------------
NCCL_SCRIPT = """
import os, time, torch, torch.distributed as dist
torch.cuda.set_device(int(os.environ["LOCAL_RANK"])); dist.init_process_group("nccl")
rank = dist.get_rank()
x = torch.full((64 * 2**20,), float(rank + 1), device="cuda")
dist.all_reduce(x); torch.cuda.synchronize(); t = time.perf_counter()
for _ in range(5): dist.all_reduce(x)
torch.cuda.synchronize(); dt = (time.perf_counter() - t) / 5
n = dist.get_world_size(); want = n * (n + 1) / 2 * (n ** 5)
assert abs(x[0].item() - want) < 1e-3 * want, (x[0].item(), want)
if rank == 0: print(f"nccl ok: world {n}, {x.numel() * 4 / 2**20:.0f} MiB all-reduce in {dt * 1e3:.1f} ms, NCCL {'.'.join(map(str, torch.cuda.nccl.version()))}")
dist.destroy_process_group()
"""


def part_nccl(check: Check, row: Row) -> None:
    if check.rehearsal:
        raise Skipped("rehearsal on CPU: no NCCL")
    script = check.out / "nccl_check.py"
    script.write_text(NCCL_SCRIPT)
    n = max(1, min(2, gpu_count()))
    out = check.run("nccl", ["torchrun", "--standalone", f"--nproc_per_node={n}", str(script)])
    row.notes.append(
        next(line for line in out.splitlines() if line.startswith("nccl ok"))[len("nccl ok: ") :]
    )


def part_grpo(check: Check, row: Row) -> None:
    check.train("grpo-bf16", "ddp.yaml", [])
    check.measured(row, "grpo-bf16", 2)
    for step in (1, 2):
        if not (check.out / "grpo-bf16" / f"checkpoint-{step}" / "trainer_state.json").is_file():
            raise Failed(f"no complete checkpoint-{step}")
    if not (check.out / "grpo-bf16" / "config.json").is_file():
        raise Failed("no final model at the run directory's root")
    row.estimate_gib = estimate_gib(check.model)


def part_resume(check: Check, row: Row) -> None:
    if not (check.out / "grpo-bf16" / "checkpoint-2").is_dir():
        raise Failed("needs the grpo-bf16 part's checkpoint-2")
    out = check.train("grpo-bf16", "ddp.yaml", ["training.max_steps=3"])
    if "from checkpoint-2" not in out:
        raise Failed("the second start did not resume from checkpoint-2")
    check.measured(row, "grpo-bf16", 3)
    row.estimate_gib = estimate_gib(check.model)


def part_zero3(check: Check, row: Row) -> None:
    if check.rehearsal:
        raise Skipped("rehearsal on CPU: DeepSpeed needs a GPU")
    check.train("zero3", "zero3.yaml", [])
    check.measured(row, "zero3", 2)
    row.estimate_gib = estimate_gib(check.model, zero=3)


def part_lora(check: Check, row: Row) -> None:
    lora = "model.lora={r: 16, lora_alpha: 32, target_modules: all-linear}"
    check.train("lora", "ddp.yaml", [lora, "training.learning_rate=1.0e-4"])
    check.measured(row, "lora", 2)
    row.estimate_gib = estimate_gib(check.model, lora_r=16)


def part_stage2(check: Check, row: Row) -> None:
    from sandbox import free_port

    rm = check.out / "reward-model"
    if not (rm / "config.json").is_file():
        check.run("reward-model-build", [sys.executable, "-c", BUILD_RM, str(rm)])
    port = free_port()
    device = "cpu" if check.rehearsal else "cuda"
    argv = ["python", "-m", "verifiers.reward_model", "serve", "--model", str(rm), "--device", device]
    server = check.service(
        "reward-model", [*argv, "--port", str(port)], f"http://127.0.0.1:{port}/health", 180
    )
    try:
        overrides = [f"reward_model.path_or_url=http://127.0.0.1:{port}", "training.max_steps=1"]
        check.train("stage2-rm", "ddp.yaml", overrides, stage="stage2")
        check.measured(row, "stage2-rm", 1)
        last = [r for r in check.rows_of("stage2-rm") if "step_time" in r][-1]
        if last.get("rewards/reward_model/failed"):
            raise Failed(f"{last['rewards/reward_model/failed']:.0f} reward-model rows failed")
        if last.get("rewards/reward_model/mean") is None:
            raise Failed("the reward model scored no row")
    finally:
        stop(server)
    row.estimate_gib = estimate_gib(check.model)
    row.notes.append("reward-model server on the training GPU")


BUILD_RM = """
import sys
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from verifiers.reward_model.train import default_base_model
base = default_base_model()
AutoModelForSequenceClassification.from_pretrained(base, num_labels=1).save_pretrained(sys.argv[1])
AutoTokenizer.from_pretrained(base).save_pretrained(sys.argv[1])
"""


def need_vllm() -> None:
    if importlib.util.find_spec("vllm") is None:
        raise Skipped("vLLM is not installed here (make install-gpu adds it)")


class Skipped(Exception):
    """A part that cannot run on this machine (said plainly in the table)."""


def part_vllm_colocate(check: Check, row: Row) -> None:
    need_vllm()
    share = 0.3
    overrides = [
        "training.use_vllm=true", "training.vllm_mode=colocate",
        f"training.vllm_gpu_memory_utilization={share}", "training.vllm_max_model_length=1024",
    ]  # fmt: skip
    check.train("vllm-colocate", "ddp.yaml", overrides)
    check.measured(row, "vllm-colocate", 2)
    row.estimate_gib = estimate_gib(check.model, vllm_share=share)


def part_vllm_server(check: Check, row: Row) -> None:
    need_vllm()
    if gpu_count() < 2:
        raise Skipped(
            "server mode needs a second GPU: TRL syncs weights to the server over NCCL, which cannot join two "
            "processes on one device (vllm-colocate covers one GPU)"
        )
    from sandbox import free_port

    port = free_port()
    argv = [
        "trl", "vllm-serve", "--model", str(check.model), "--port", str(port), "--host", "127.0.0.1",
        "--gpu_memory_utilization", "0.3", "--max_model_len", "1024", "--dtype", "bfloat16",
    ]  # fmt: skip
    gpu1 = {"CUDA_VISIBLE_DEVICES": "1"}
    server = check.service("vllm-server", argv, f"http://127.0.0.1:{port}/health", 300, env=gpu1)
    try:
        overrides = [
            "training.use_vllm=true", "training.vllm_mode=server",
            "training.vllm_server_host=127.0.0.1", f"training.vllm_server_port={port}",
        ]  # fmt: skip
        check.train("vllm-server", "ddp.yaml", overrides, env={"CUDA_VISIBLE_DEVICES": "0"})
        check.measured(row, "vllm-server", 2)
    finally:
        stop(server)
    row.estimate_gib = estimate_gib(check.model)
    row.notes.append("server on GPU 1, trainer on GPU 0 (peak: GPU 0)")


PARTS: list[tuple[str, Callable[[Check, Row], None]]] = [
    ("nccl", part_nccl),
    ("grpo-bf16", part_grpo),
    ("resume", part_resume),
    ("zero3", part_zero3),
    ("lora", part_lora),
    ("stage2-rm", part_stage2),
    ("vllm-colocate", part_vllm_colocate),
    ("vllm-server", part_vllm_server),
]


def render(rows: list[Row], gpu: str) -> str:
    def num(v: float | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    head = (
        f"{'part':<14} {'result':<8} {'step s':>7} {'gen tok/s':>10} {'peak GiB':>9} {'est. GiB':>9}  notes"
    )
    lines = [f"gpu-check on {gpu}", head, "-" * len(head)]
    for r in rows:
        status = r.status.split(":", 1)[0]
        notes = ([r.status.split(":", 1)[1].strip()] if ":" in r.status else []) + r.notes
        lines.append(
            f"{r.part:<14} {status:<8} {num(r.step_s, '.2f'):>7} {num(r.tokens_s, '.0f'):>10} "
            f"{num(r.peak_gib, '.1f'):>9} {num(r.estimate_gib, '.1f'):>9}  {'; '.join(notes)}"
        )
    ok = sum(r.status == "ok" for r in rows)
    failed = sum(r.status.startswith("failed") for r in rows)
    lines.append(f"gpu-check: {ok} ok, {failed} failed, {len(rows) - ok - failed} skipped")
    return "\n".join(lines)


def gpu_name() -> str:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "a CUDA GPU"
    out = subprocess.run(
        [smi, "--query-gpu=name,memory.total", "--format=csv,noheader", "-i", "0"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() or "a CUDA GPU"


@contextlib.contextmanager
def bare_sandbox(check: Check, rows: list[Row]) -> Iterator[str | None]:
    """The bare sandbox server for the code rewards; when it cannot start, a failed row and no URL (code
    rows then score None and are counted, and every other part still runs)."""
    from sandbox import local_server

    try:
        cm = local_server(workers=2, log_path=str(check.out / "sandbox.log"))
        url = cm.__enter__()
    except Exception as e:  # noqa: BLE001 - the reason goes in the table
        rows.append(Row("sandbox", f"failed: {str(e).splitlines()[0][:160]}"))
        yield None
        return
    rows.append(Row("sandbox", notes=[f"bare server at {url}"]))
    try:
        yield url
    finally:
        cm.__exit__(None, None, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rl gpu-check",
        description="Prove the GPU path on one GPU in under 10 minutes with no download: GRPO in bf16, ZeRO-3, "
        "LoRA, checkpoint + resume, a stage-2 step with the reward-model server, vLLM colocate and server "
        "mode (when installed), an NCCL all-reduce; prints one table. Exits 2 at once without a GPU.",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/gpu-check"), help="outputs and logs")
    parser.add_argument("--only", default="", help="comma-separated parts to run (default: all)")
    parser.add_argument("--part-timeout", type=float, default=240.0, help="seconds per part (default 240)")
    parser.add_argument("--rehearsal", action="store_true", help=argparse.SUPPRESS)  # CPU + tiny model
    args = parser.parse_args(argv)

    import torch  # is_available() reads the driver without creating a CUDA context in this process

    if not torch.cuda.is_available() and not args.rehearsal:
        return error(
            f"no CUDA GPU visible for gpu-check (torch {torch.__version__}, CUDA_VISIBLE_DEVICES="
            f"{os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}): run it on a GPU node after make install-gpu"
        )
    only = {p for p in args.only.split(",") if p}
    unknown = only - {name for name, _ in PARTS}
    if unknown:
        return error(
            f"unknown part(s) {', '.join(sorted(unknown))}: choose from {', '.join(n for n, _ in PARTS)}"
        )
    out = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    check = Check(out, args.part_timeout, rehearsal=args.rehearsal)
    rows: list[Row] = []
    with bare_sandbox(check, rows) as sandbox_url:
        if sandbox_url:
            check.env["SANDBOX_URL"] = sandbox_url
        try:
            build_model(check.model, rehearsal=args.rehearsal)
        except Exception as e:  # noqa: BLE001 - without the model no training part can run; say why
            rows.append(Row("model", f"failed: {type(e).__name__}: {e}"))
        else:
            for name, fn in PARTS:
                if only and name not in only:
                    continue
                row = Row(name)
                if check.left_s() < 30 and not check.rehearsal:
                    row.status = "skipped: the 10-minute budget is spent"
                    rows.append(row)
                    continue
                started = time.monotonic()
                with GpuMemory() as mem:
                    try:
                        fn(check, row)
                    except Skipped as e:
                        row.status = f"skipped: {e}"
                    except Failed as e:
                        row.status = f"failed: {e}"
                    except Exception as e:  # noqa: BLE001 - a bug in one part must not hide the others
                        row.status = f"failed: {type(e).__name__}: {e}"
                row.peak_gib = mem.peak_above_idle if row.status == "ok" else None
                row.notes.append(f"{time.monotonic() - started:.0f} s")
                print(f"gpu-check: {name}: {row.status.split(':', 1)[0]}", file=sys.stderr, flush=True)
                rows.append(row)
    print(render(rows, "CPU (rehearsal, tiny model)" if args.rehearsal else gpu_name()))
    return 0 if all(not r.status.startswith("failed") for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
