"""rl.cluster.preflight: node checks and the health wait the launch plan runs before training."""

import http.server
import shutil
import threading

import pytest

from rl.cluster.preflight import check_disk, check_gpus, check_packages, check_wandb, main, wait_healthy
from sandbox import free_port


@pytest.fixture
def health_server():
    """A real HTTP server on 127.0.0.1: /health answers 200, anything else 503."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200 if self.path == "/health" else 503)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_wait_returns_once_every_service_is_healthy(health_server, capsys):
    assert main(["--wait", f"vllm={health_server}/health", "--wait", f"sandbox={health_server}/health"]) == 0
    assert "ok    vllm" in capsys.readouterr().out


def test_wait_fails_naming_the_service_that_stayed_down(health_server, capsys):
    down = f"http://127.0.0.1:{free_port()}/health"
    code = main(
        ["--timeout", "1", "--wait", f"vllm={health_server}/health", "--wait", f"reward_model={down}"]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert f"reward_model at {down.removesuffix('/health')} not healthy" in err and "vllm" not in err


def test_a_service_answering_an_error_status_is_not_healthy(health_server):
    """/health answering 503 is down; the service named first does not use up the one behind it."""
    broken = f"{health_server}/broken"  # this server's /broken/health answers 503
    failures = wait_healthy([("sandbox", f"{broken}/health"), ("vllm", f"{health_server}/health")], 0.5)
    assert len(failures) == 1 and f"sandbox at {broken} not healthy" in failures[0]


def test_a_wait_url_must_be_the_health_endpoint(capsys):
    assert main(["--wait", "vllm=http://node0:8000"]) == 2
    assert "/health URL" in capsys.readouterr().err


def test_a_malformed_wait_is_a_usage_error(capsys):
    assert main(["--wait", "http://node0:8000/health"]) == 2
    assert "NAME=URL" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this node has NVIDIA GPUs")
def test_a_node_without_gpus_fails_the_gpu_check_with_the_reason():
    check = check_gpus(expected=8)
    assert not check.ok and "nvidia-smi not found" in check.detail


def test_disk_check_compares_free_space_with_the_need(tmp_path):
    assert check_disk(tmp_path / "runs" / "not-yet", need_gib=0).ok  # walks up to an existing parent
    too_much = check_disk(tmp_path, need_gib=10**9)
    assert not too_much.ok and "output_dir" in too_much.detail


def test_wandb_without_a_key_is_offline_mode(monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    check = check_wandb()
    assert check.ok and "offline" in check.detail


def test_wandb_with_a_key_must_reach_its_server(monkeypatch, health_server):
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_BASE_URL", health_server)
    assert check_wandb().ok
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{free_port()}")
    check = check_wandb()
    assert not check.ok and "WANDB_MODE=offline" in check.detail


def test_node_check_reports_each_result_and_fails_when_one_fails(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    assert main(["--skip", "gpus,nccl,docker", "--run-dir", str(tmp_path), "--disk-gib", "0"]) == 0
    assert "all checks passed" in capsys.readouterr().out
    assert main(["--skip", "gpus,nccl,docker", "--run-dir", str(tmp_path), "--disk-gib", "1e9"]) == 1
    assert "preflight: FAILED: disk" in capsys.readouterr().out


def test_a_node_missing_a_gpu_package_is_told_to_run_install_gpu():
    check = check_packages(["yaml", "no_such_module_xyz"])
    assert (
        not check.ok and check.detail == "no_such_module_xyz not installed: run make install-gpu on this node"
    )
    assert check_packages(["yaml"]).ok
