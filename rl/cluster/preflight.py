"""`python -m rl preflight`: check a cluster node before a stage starts, or wait for services.

Node checks (each prints ok/FAIL with what to do): GPUs visible (and how many), NCCL available to torch,
the Docker engine answering, the sandbox image present, free disk for checkpoints, and wandb reachable
(or offline mode). `--wait NAME=URL[,URL...]` instead polls health URLs until every one answers 200,
and fails naming the service that did not: the launch plan runs it on every training node before
training starts (rl/cluster/launch.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rl.console import error
from sandbox.container import image_name

GIB = 1024**3
HEALTH_PATH = "/health"  # every service waited for (vLLM, sandbox, reward model) answers it


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name:<10} {self.detail}"


def check_gpus(expected: int | None) -> Check:
    """nvidia-smi lists the GPUs this process can see; their count must match the node's share."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return Check("gpus", False, "nvidia-smi not found: no NVIDIA driver on this node (is it a GPU node?)")
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (subprocess.SubprocessError, OSError) as e:
        return Check("gpus", False, f"nvidia-smi failed ({e}): check the driver with `nvidia-smi`")
    gpus = [line.strip() for line in out.splitlines() if line.strip()]
    if expected is not None and len(gpus) != expected:
        return Check(
            "gpus",
            False,
            f"{len(gpus)} GPUs visible, expected {expected}: check CUDA_VISIBLE_DEVICES / --gres",
        )
    if not gpus:
        return Check("gpus", False, "no GPU visible: check CUDA_VISIBLE_DEVICES and the Slurm --gres request")
    return Check("gpus", True, f"{len(gpus)} x {gpus[0]}")


def check_packages(modules: list[str]) -> Check:
    """The GPU-only packages a node's role needs (vllm, flash_attn) come from `make install-gpu`; vLLM must
    also be a version TRL supports (TRL imports version-specific weight-transfer APIs from it)."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        return Check(
            "packages", False, f"{', '.join(missing)} not installed: run make install-gpu on this node"
        )
    if "vllm" in modules:
        from importlib.metadata import version

        from packaging.version import Version

        low, high = trl_vllm_range()
        have = version("vllm")
        if not Version(low) <= Version(Version(have).base_version) <= Version(high):
            return Check(
                "packages",
                False,
                f"vllm {have} is outside the {low}-{high} TRL supports: run make install-gpu (pins vllm)",
            )
    return Check("packages", True, ", ".join(modules) + " importable")


def trl_vllm_range() -> tuple[str, str]:
    """The vLLM versions the installed TRL supports, read from TRL's own version check (its import_utils)."""
    import importlib.util
    import re

    spec = importlib.util.find_spec("trl.import_utils")
    text = Path(spec.origin).read_text() if spec and spec.origin else ""
    found = re.search(r'Version\("([\d.]+)"\)\s*<=\s*_vllm_base_version\s*<=\s*Version\("([\d.]+)"\)', text)
    if found is None:
        raise RuntimeError("cannot find the vLLM range TRL supports in trl.import_utils: is TRL installed?")
    return found.group(1), found.group(2)


def check_nccl() -> Check:
    """torch must be a CUDA build with NCCL; the CPU wheel used for tests has neither."""
    try:
        import torch
        import torch.distributed as dist
    except ImportError as e:
        return Check("nccl", False, f"torch does not import ({e}): run make install-gpu")
    if not torch.cuda.is_available():
        return Check(
            "nccl", False, f"torch {torch.__version__} sees no CUDA device: run make install-gpu on GPU nodes"
        )
    if not dist.is_nccl_available():
        return Check("nccl", False, f"torch {torch.__version__} was built without NCCL: run make install-gpu")
    version = ".".join(map(str, torch.cuda.nccl.version()))
    return Check(
        "nccl", True, f"NCCL {version}, torch {torch.__version__}, {torch.cuda.device_count()} devices"
    )


def check_docker(image: str) -> list[Check]:
    """The sandbox needs a Docker engine; `python -m sandbox up` builds the image when it is missing."""
    try:
        import docker

        client = docker.from_env(timeout=10)
        version = client.version().get("Version", "?")
    except Exception as e:  # the SDK raises several kinds when there is no engine
        reason = str(e).splitlines()[0][:120]
        return [
            Check(
                "docker",
                False,
                f"no Docker engine answers ({reason}): start dockerd or use the sandbox's serve mode",
            ),
            Check("image", False, f"{image}: cannot check without a Docker engine"),
        ]
    checks = [Check("docker", True, f"engine {version}")]
    try:
        client.images.get(image)
        checks.append(Check("image", True, image))
    except Exception:
        checks.append(
            Check("image", False, f"{image} missing: run `python -m sandbox up` once (it builds the image)")
        )
    return checks


def check_disk(path: Path, need_gib: float) -> Check:
    """Checkpoints of a 32B ZeRO-3 run are ~14 bytes/parameter each: check the run directory's disk."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free / GIB
    detail = f"{free:.0f} GiB free at {probe} (need {need_gib:.0f} GiB)"
    if free < need_gib:
        return Check("disk", False, detail + ": free space or point output_dir at a larger filesystem")
    return Check("disk", True, detail)


def check_wandb() -> Check:
    """Online wandb needs WANDB_API_KEY and the API reachable; without a key runs log offline (wandb sync)."""
    if os.environ.get("WANDB_MODE") in {"offline", "disabled"} or not os.environ.get("WANDB_API_KEY"):
        return Check("wandb", True, "offline mode: runs log to ./wandb, upload later with `wandb sync`")
    base = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai").rstrip("/")
    try:
        status = http_status(base)
    except OSError as e:
        return Check(
            "wandb", False, f"{base} unreachable ({e}): set WANDB_MODE=offline on nodes without internet"
        )
    return Check("wandb", True, f"{base} answers (HTTP {status})")


def http_status(url: str, timeout: float = 5.0) -> int:
    """HTTP status of a GET (4xx/5xx included); raises OSError when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def wait_healthy(services: list[tuple[str, str]], timeout_s: float) -> list[str]:
    """Wait for each (name, health URL) with sandbox.wait_healthy, the one health wait of the project, until
    one shared deadline; returns the services still down at it, with why."""
    from sandbox import wait_healthy as wait_one

    deadline = time.monotonic() + timeout_s
    failed = []
    for name, url in services:
        # Every service gets at least one try, so one that stayed down does not starve the next.
        remaining = max(1.0, deadline - time.monotonic())
        try:
            wait_one(url.removesuffix(HEALTH_PATH), remaining, name=name)
            print(f"ok    {name} {url}", flush=True)
        except (TimeoutError, RuntimeError) as e:
            failed.append(str(e))
    return failed


def parse_waits(items: list[str]) -> list[tuple[str, str]]:
    services = []
    for item in items:
        name, sep, urls = item.partition("=")
        if not sep or not urls:
            raise ValueError(f"--wait {item!r}: write NAME=URL[,URL...], e.g. vllm=http://node0:8000/health")
        for url in filter(None, urls.split(",")):
            if not url.endswith(HEALTH_PATH):
                raise ValueError(f"--wait {name}={url}: give the service's {HEALTH_PATH} URL")
            services.append((name, url))
    return services


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rl preflight",
        description="Check this node before a cluster stage: GPUs, NCCL, Docker engine, sandbox image, disk for "
        "checkpoints, wandb. With --wait, poll service health URLs instead and fail naming any that stay down.",
    )
    parser.add_argument("--gpus", type=int, help="GPUs this node should see (default: any)")
    parser.add_argument(
        "--image",
        default=os.environ.get("SANDBOX_IMAGE") or image_name(),
        help="sandbox image (default: the one this checkout's `python -m sandbox up` builds)",
    )
    parser.add_argument("--run-dir", default="runs", help="where checkpoints go (default runs/)")
    parser.add_argument(
        "--disk-gib", type=float, default=1000.0, help="free disk needed (default 1000: two 32B checkpoints)"
    )
    parser.add_argument(
        "--skip", default="", help="comma-separated checks to skip: gpus,nccl,docker,image,disk,wandb"
    )
    parser.add_argument(
        "--require", default="", help="comma-separated modules this node needs: vllm,flash_attn"
    )
    parser.add_argument(
        "--wait", action="append", default=[], metavar="NAME=URL[,URL]", help="service health URL(s)"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds to wait for services (default 1800)"
    )
    args = parser.parse_args(argv)

    if args.wait:
        try:
            services = parse_waits(args.wait)
        except ValueError as e:
            return error(e)
        failed = wait_healthy(services, args.timeout)
        for message in failed:
            error(f"{message}: see that service's log under runs/<name>/<stage>/logs/")
        return 1 if failed else 0

    skip = {s for s in args.skip.split(",") if s}
    checks: list[Check] = []
    if "gpus" not in skip:
        checks.append(check_gpus(args.gpus))
    if "nccl" not in skip:
        checks.append(check_nccl())
    if args.require:
        checks.append(check_packages([m for m in args.require.split(",") if m]))
    if "docker" not in skip:
        checks += [c for c in check_docker(args.image) if c.name not in skip]
    if "disk" not in skip:
        checks.append(check_disk(Path(args.run_dir), args.disk_gib))
    if "wandb" not in skip:
        checks.append(check_wandb())
    for check in checks:
        print(check.line())
    failed = [c.name for c in checks if not c.ok]
    print(f"preflight: {'FAILED: ' + ', '.join(failed) if failed else 'all checks passed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
