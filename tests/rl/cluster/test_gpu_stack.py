"""`make install-gpu` gives a stack TRL 1.16 runs on: vLLM pinned exactly inside the range TRL's own source
accepts, the CUDA torch reinstalled explicitly (the CPU wheel already satisfies torch==2.13.0), flash-attn
pinned and built without isolation; preflight refuses a vLLM outside that range."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from rl.cluster.preflight import check_packages, trl_vllm_range

REPO = Path(__file__).resolve().parents[3]


def gpu_pins() -> dict[str, str]:
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["gpu"]
    pins = {}
    for line in extra:
        req = Requirement(line)
        (spec,) = req.specifier  # exactly one specifier per package
        assert spec.operator == "==", f"{line} is not an exact pin"
        pins[req.name] = spec.version
    return pins


def test_vllm_is_pinned_exactly_inside_the_range_trl_accepts():
    low, high = trl_vllm_range()
    pins = gpu_pins()
    assert Version(low) <= Version(pins["vllm"]) <= Version(high)
    assert set(pins) == {"vllm", "flash-attn"}
    constraints = dict(
        line.split("==") for line in (REPO / "constraints.txt").read_text().splitlines() if "==" in line
    )
    assert all(constraints[name] == version for name, version in pins.items())


def test_install_gpu_reinstalls_cuda_torch_first_then_builds_flash_attn_without_isolation():
    out = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "install-gpu"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [line for line in out.splitlines() if "pip install" in line or "rl preflight" in line]
    cuda = next(i for i, line in enumerate(lines) if "--force-reinstall" in line)
    assert re.search(r"--index-url https://download\.pytorch\.org/whl/cu\d+ torch==2\.13\.0", lines[cuda])
    extra = next(i for i, line in enumerate(lines) if "'.[gpu]'" in line)
    assert "--no-build-isolation" in lines[extra] and cuda < extra
    assert "--require vllm,flash_attn" in lines[-1]


@pytest.fixture
def installed_vllm(tmp_path, monkeypatch):
    """A distribution named vllm at a chosen version on sys.path (what pip would leave behind)."""

    def install(version: str) -> None:
        (tmp_path / "vllm").mkdir(exist_ok=True)
        (tmp_path / "vllm" / "__init__.py").write_text("")
        meta = tmp_path / f"vllm-{version}.dist-info"
        meta.mkdir()
        (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {version}\n")
        monkeypatch.syspath_prepend(str(tmp_path))

    yield install
    sys.modules.pop("vllm", None)


def test_preflight_refuses_a_vllm_trl_does_not_support(installed_vllm):
    installed_vllm("0.33.0")
    check = check_packages(["vllm"])
    assert not check.ok and "0.33.0 is outside the 0.22.0-0.31.0" in check.detail


def test_preflight_accepts_the_pinned_vllm(installed_vllm):
    installed_vllm(gpu_pins()["vllm"])
    assert check_packages(["vllm"]).ok
