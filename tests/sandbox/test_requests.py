"""Requests the server cannot judge are refused, naming what is wrong (family 10 of issue 14, issue 15),
and a server stopped with SIGTERM leaves nothing behind, also inside a PID namespace."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from sandbox import client, wait_healthy

REPO = Path(__file__).resolve().parents[2]


def test_a_test_without_an_expected_output_is_a_request_error(sbx):
    r = sbx.post("/judge", json={"code": "print(None)", "tests": [{"input": ""}]})
    assert r.status_code == 422 and "output" in r.text
    r = sbx.post("/judge", json={"code": "print(None)", "tests": [{"input": "", "output": None}]})
    assert r.status_code == 422 and "output" in r.text


def test_control_function_mode_may_expect_none(judge):
    r = judge(
        "def f():\n    return None", mode="function", fn_name="f", tests=[{"input": [], "output": None}]
    )
    assert r["verdicts"] == ["accepted"]


def test_unknown_test_case_keys_are_rejected_naming_the_key(sbx):
    body = {"code": "print(input())", "tests": [{"stdin": "1\n", "expected": "1"}]}
    r = sbx.post("/judge", json=body)
    assert r.status_code == 422 and "stdin" in r.text and "expected" in r.text
    r = sbx.post("/judge", json={"code": "print(1)", "tests": [{"input": "", "output": "1", "outptu": "2"}]})
    assert r.status_code == 422 and "outptu" in r.text


def test_control_unknown_keys_of_the_request_itself_pass_through(judge):
    # Dataset rows carry other columns (difficulty, source, ...); only test cases are strict.
    r = judge("print(1)", tests=[{"input": "", "output": "1"}], difficulty="easy", source="x")
    assert r["verdicts"] == ["accepted"]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_infinity_in_a_numeric_field_is_422(sbx, value):
    body = '{"code": "print(1)", "tests": [{"input": "", "output": "1"}], "timeout_s": VALUE}'.replace(
        "VALUE", value
    )
    r = sbx.post("/judge", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "timeout_s" in r.text
    body = '{"code": "print(1)", "run_timeout": VALUE}'.replace("VALUE", value)
    r = sbx.post("/run_code", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "run_timeout" in r.text


def test_control_finite_numbers_are_accepted(sbx):
    body = '{"code": "print(1)", "tests": [{"input": "", "output": "1"}], "timeout_s": 2.5}'
    r = sbx.post("/judge", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["verdicts"] == ["accepted"]


def test_serve_help_describes_itself_and_shows_defaults():
    out = subprocess.run(
        [sys.executable, "-m", "sandbox", "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    out = " ".join(out.split())
    assert "default: 8000" in out and "default: 127.0.0.1" in out
    assert "isolat" in out.split("options:")[0]  # a description before the options


def _cgroups_of(pid: int) -> set[str]:
    paths = set()
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        for c in ctrls.split(","):
            if "open-qwq-sandbox-" in path and c in ("memory", "cpu"):
                paths.add(f"/sys/fs/cgroup/{c}{path}")
    return paths


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):  # it may end while we look
        for tid in os.listdir(f"/proc/{pid}/task"):
            out += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
    return out


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or os.path.exists("/sys/fs/cgroup/cgroup.controllers"),
    reason="needs root, unshare and cgroup v1 (where slot cgroups are per-controller directories)",
)
def test_sigterm_inside_a_pid_namespace_leaves_no_cgroups_and_prints_the_url():
    tmp = tempfile.mkdtemp(prefix="open-qwq-pidns-")
    sock = os.path.join(tmp, "s.sock")
    log = os.path.join(tmp, "log")
    cmd = ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-m", "sandbox", "serve"]
    cmd += ["--socket", sock, "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(log, "wb") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_healthy(f"unix:{sock}", 60, proc)
        (server,) = _children(proc.pid)  # pid 1 of the new namespace
        slots = _children(server)
        slot_trees = [*slots, *(c for s in slots for c in _children(s))]  # a slot's keeper, then the slot
        made = set().union(*(_cgroups_of(p) for p in slot_trees))
        assert len(slots) == 2 and made and all(os.path.isdir(p) for p in made)
        os.killpg(proc.pid, signal.SIGTERM)  # what a terminal or a job scheduler sends: the whole group
        proc.wait(30)
        deadline = time.monotonic() + 5
        while any(os.path.exists(p) for p in made) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p for p in made if os.path.exists(p)] == []
        assert f"serving at unix:{sock}" in Path(log).read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


LOCAL_SERVER_USER = """
import time
from sandbox import local_server
with local_server(workers=1) as url:
    print(url, flush=True)
    time.sleep(600)
"""


def test_a_local_server_stops_when_the_program_that_started_it_is_killed():
    """`rl train`, `rl eval`, `rl filter` start a server for themselves; kill -9 must not leave it running."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    user = subprocess.Popen(
        [sys.executable, "-c", LOCAL_SERVER_USER], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        url = user.stdout.readline().strip()
        assert url.startswith("unix:"), url
        (server,) = _children(user.pid)
        slots = _children(server)
        assert slots and Path(url[5:]).exists()
        user.kill()
        user.wait(10)
        deadline = time.monotonic() + 30
        while any(os.path.exists(f"/proc/{p}") for p in (server, *slots)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p for p in (server, *slots) if os.path.exists(f"/proc/{p}")] == []
    finally:
        if user.poll() is None:
            user.kill()


AS_ORDINARY_USER = ["unshare", "--map-user=65534", "--map-group=65534"]  # uid 65534, no capability


def ordinary_users_get_user_namespaces() -> bool:
    """Whether a process without capabilities may make a user namespace (a slot's PID namespace then)."""
    probe = [*AS_ORDINARY_USER, "unshare", "--user", "true"]
    return shutil.which("unshare") is not None and subprocess.run(probe, capture_output=True).returncode == 0


DAEMON_THEN_WAIT = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "{mark}"])
    os._exit(0)
time.sleep(60)
"""


def _sleepers(mark: str) -> list[int]:
    """Pids of `sleep MARK` processes anywhere on the machine."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
            if f.read().split(b"\0")[:2] == [b"sleep", mark.encode()]:
                found.append(int(pid))
    return found


@pytest.mark.skipif(os.geteuid() != 0, reason="starts servers as root and as a user-namespaced uid 65534")
@pytest.mark.parametrize("user", ["root", "ordinary"])
def test_a_server_killed_mid_execution_leaves_no_process_of_the_program_running(user):
    """Attack: a daemon started by a program outlived a slot killed mid-execution (OOM killer, kill -9 of
    the server), parented to init, for good. Each slot is now pid 1 of a PID namespace of its own (an
    ordinary user's inside a user namespace of its own)."""
    as_user = AS_ORDINARY_USER if user == "ordinary" else []
    if as_user and not ordinary_users_get_user_namespaces():
        pytest.skip("this kernel refuses user namespaces to ordinary users")
    mark = str(7_000_000 + os.getpid())
    tmp = tempfile.mkdtemp(prefix="open-qwq-kill-")
    os.chmod(tmp, 0o777)
    sock = os.path.join(tmp, "s.sock")
    cmd = [*as_user, sys.executable, "-m", "sandbox", "serve", "--socket", sock, "--workers", "1"]
    server = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True)
    body = {"code": DAEMON_THEN_WAIT.format(mark=mark), "mode": "stdio", "timeout_s": 60}
    body["tests"] = [{"input": "", "output": ""}]
    try:
        wait_healthy(f"unix:{sock}", 60, server)
        with client(f"unix:{sock}", timeout=5) as c:
            assert "+pidns" in c.get("/health").json()["isolation"]
        judging = threading.Thread(target=_post_ignoring_errors, args=(f"unix:{sock}", body), daemon=True)
        judging.start()
        deadline = time.monotonic() + 60
        while not _sleepers(mark) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _sleepers(mark), "the program's daemon never started"
        server.kill()
        server.wait(10)
        deadline = time.monotonic() + 10
        while _sleepers(mark) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _sleepers(mark) == [], "the daemon outlived its killed server"
    finally:
        server.kill()
        server.wait(10)
        for pid in _sleepers(mark):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


def _post_ignoring_errors(url: str, body: dict) -> None:
    with contextlib.suppress(Exception), client(url, timeout=120) as c:
        c.post("/judge", json=body)
