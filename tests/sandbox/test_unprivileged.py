"""The server run by an ordinary user (no slot uids, no cgroup): rlimits, seccomp and the worker's own kill
sweep must still give every hostile program its right verdict.

Two ordinary users. `setpriv`: uid 65534 keeping one capability, CAP_DAC_READ_SEARCH, which only lets it
read the interpreter and the checkout where they sit below root-only directories (/root/.pyenv); a user
namespace would void it, so its slots run without a PID namespace. `userns`: a user namespace that maps
this process to uid 65534 with no capability, as a login user is: its slots each get a user and PID
namespace of their own.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import client, wait_healthy
from tests.sandbox.test_requests import AS_ORDINARY_USER, _children, ordinary_users_get_user_namespaces

NOBODY = 65534
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to start a non-root server",
)


def _status(pid: int | str) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _executions(server_pid: int) -> set[int]:
    """What executions left: the server's descendants other than its slots (behind a PID namespace, a
    slot is pid 1 there, under a keeper), and uid-65534 processes anywhere outside the server's tree."""
    tree, todo = set(), [server_pid]
    while todo:
        with_children = _children(todo.pop())
        tree.update(with_children)
        todo += with_children
    slots = set(_children(server_pid))
    slots |= {c for s in slots for c in _children(s) if _status(c).get("NSpid", "").split()[-1:] == ["1"]}
    left = tree - slots
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = _status(pid)
        except OSError:
            continue
        if int(status["Uid"].split()[0]) == NOBODY and int(pid) != server_pid and int(pid) not in tree:
            left.add(int(pid))
    return left


@pytest.fixture(scope="module", params=["setpriv", "userns"])
def nobody_server(request) -> Iterator[tuple[str, int]]:
    """(URL, pid) of a sandbox server running as uid 65534 (setpriv and unshare exec it: the pid is the
    server's)."""
    tmp = tempfile.mkdtemp(prefix="open-qwq-nobody-")
    os.chmod(tmp, 0o777)
    sock = os.path.join(tmp, "sandbox.sock")
    if request.param == "setpriv":
        caps = "+dac_read_search"
        cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", f"--inh-caps={caps}"]
        cmd += [f"--ambient-caps={caps}"]
    else:
        if not ordinary_users_get_user_namespaces():
            pytest.skip("this kernel refuses user namespaces to ordinary users")
        cmd = list(AS_ORDINARY_USER)
    cmd += [sys.executable, "-m", "sandbox", "serve", "--socket", sock, "--workers", "1"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": tmp}
    with open(os.path.join(tmp, "server.log"), "wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp, start_new_session=True
        )
    try:
        wait_healthy(f"unix:{sock}", 60, proc)
        yield f"unix:{sock}", proc.pid
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def nobody_sbx(nobody_server) -> Iterator[object]:
    with client(nobody_server[0], timeout=120) as c:
        yield c


def judge(c, code: str, output: str = "", **body) -> str:
    r = c.post(
        "/judge", json={"code": code, "mode": "stdio", "tests": [{"input": "", "output": output}], **body}
    )
    assert r.status_code == 200, r.text
    (verdict,) = r.json()["verdicts"]
    return verdict


def test_server_reports_that_it_runs_without_namespaces(nobody_sbx, request):
    health = nobody_sbx.get("/health").json()
    assert health["isolation"].startswith("seccomp (not root")
    assert ("+pidns" in health["isolation"]) == (request.node.callspec.params["nobody_server"] == "userns")
    assert judge(nobody_sbx, "import os\nprint(os.getuid())", output=str(NOBODY)) == "accepted"


def test_limits_hold_without_namespaces(nobody_sbx):
    assert judge(nobody_sbx, "while True:\n    pass", timeout_s=1) == "time_limit"
    assert judge(nobody_sbx, "x = bytearray(8 * 2**30)", memory_mb=256) == "memory_limit"
    assert judge(nobody_sbx, "while True:\n    print('x' * 100000)", output_mb=1) == "output_limit"


def test_sockets_are_refused_by_seccomp_without_a_network_namespace(nobody_sbx):
    code = (
        "import socket\ntry:\n    socket.socket()\n    print('SOCKET')\nexcept OSError:\n    print('NO_NET')"
    )
    assert judge(nobody_sbx, code, output="NO_NET") == "accepted"


def test_a_daemon_that_escapes_its_process_group_dies_with_the_execution(nobody_sbx, nobody_server):
    server_pid = nobody_server[1]
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(600)\n    os._exit(0)\n"
        "print('parent done')"
    )
    before = _executions(server_pid)  # a server run as uid 65534 elsewhere may have its own
    assert judge(nobody_sbx, code, output="parent done") == "accepted"
    leftovers = _executions(server_pid) - before
    assert leftovers == set(), f"processes left after the execution: {leftovers}"
    assert judge(nobody_sbx, "print(input())", output="") == "runtime_error"  # no stdin line: EOFError
    assert judge(nobody_sbx, "print(2 + 2)", output="4") == "accepted"


def test_without_namespaces_a_deep_tree_cannot_break_the_slot(nobody_sbx):
    from tests.sandbox.test_state import DEEP_TREE

    assert judge(nobody_sbx, DEEP_TREE, output="deep", timeout_s=60) == "accepted"
    assert judge(nobody_sbx, "import os\nprint(os.listdir('.'))", output="[]") == "accepted"
    assert nobody_sbx.get("/health").json()["serving"] == 1


def test_without_namespaces_the_servers_environment_and_memory_are_out_of_reach(nobody_sbx, nobody_server):
    from tests.sandbox.test_escape import READ_ENVIRONMENTS

    # The server was started with HOME=<its tmp dir>; programs get their own HOME and nothing else of it.
    code = READ_ENVIRONMENTS.replace("OPEN_QWQ_CANARY", "open-qwq-nobody-")
    out = nobody_sbx.post("/run_code", json={"code": code}).json()["run_result"]["stdout"]
    assert out.splitlines()[0] == "CLEAN", out
    server_pid = nobody_server[1]
    probe = f"try:\n    open('/proc/{server_pid}/mem', 'rb')\n    print('OPEN')\nexcept OSError:\n    print('denied')"
    assert judge(nobody_sbx, probe, output="denied") == "accepted"


def test_without_namespaces_assert_mode_still_hides_the_test(nobody_sbx):
    from tests.sandbox.test_assert_mode import FIND_THE_TEST

    token = "tok-00112233aabbccdd"
    test = f"def check(candidate):\n    assert candidate() == '{token}'\n"
    # Besides its own memory, a program of the server's uid tries the worker's descriptors.
    code = FIND_THE_TEST.replace(
        "FOUND = _find()",
        "FOUND = _find()\nimport os\nfor fd in range(64):\n    try:\n"
        "        FOUND = _scan_text(open(f'/proc/{os.getppid()}/fd/{fd}', 'rb').read()) or FOUND\n"
        "    except OSError:\n        pass",
    )
    for _ in range(2):
        r = nobody_sbx.post("/judge", json={"code": code, "mode": "assert", "test": test, "entry_point": "f"})
        assert r.json()["reward"] == 0.0
    honest = {"code": f"def f():\n    return '{token}'", "mode": "assert", "test": test, "entry_point": "f"}
    assert nobody_sbx.post("/judge", json=honest).json()["reward"] == 1.0


def test_without_namespaces_a_program_cannot_kill_its_worker_or_the_server(
    nobody_sbx, nobody_server, request
):
    code = (
        "import os, signal\nworker = os.getppid()\n"
        "server = int(open(f'/proc/{worker}/status').read().split('PPid:')[1].split()[0])\n"
        "refused = 0\n"
        "targets = {-1, worker, server, -os.getpgid(worker), -server} - {0}  # 0: outside a PID namespace\n"
        "for target in targets:\n"
        "    try:\n        os.kill(target, signal.SIGKILL)\n    except OSError:\n        refused += 1\n"
        "print(refused, len(targets))"
    )
    out = nobody_sbx.post("/run_code", json={"code": code}).json()["run_result"]["stdout"].split()
    # setpriv: -1, the worker, the server and its group (the worker's group too); behind a PID namespace
    # only -1 and the worker (pid 1) are in sight.
    expected = 4 if request.node.callspec.params["nobody_server"] == "setpriv" else 2
    assert list(map(int, out)) == [expected, expected], out
    assert nobody_sbx.get("/health").json()["serving"] == 1
    assert judge(
        nobody_sbx, "import os, signal\nos.kill(os.getpid(), 0)\nprint('self ok')", output="self ok"
    ) == ("accepted")
    assert os.path.exists(f"/proc/{nobody_server[1]}")


def test_without_namespaces_cpp_compiles_runs_and_stays_contained(nobody_sbx):
    if "cpp" not in nobody_sbx.get("/health").json()["languages"]:
        pytest.skip("no g++ on this machine (.ci/run installs it)")
    add = "#include <iostream>\nint main(){long long a,b;std::cin>>a>>b;std::cout<<a+b<<'\\n';}"
    r = nobody_sbx.post(
        "/judge", json={"code": add, "language": "cpp", "tests": [{"input": "2 3", "output": "5"}]}
    )
    assert r.json()["verdicts"] == ["accepted"]
    assert judge(nobody_sbx, "int main(){volatile long x=0; while(1) x++;}", language="cpp", timeout_s=1) == (
        "time_limit"
    )
    bomb = "#include <unistd.h>\nint main(){ while (1) fork(); }"
    assert judge(nobody_sbx, bomb, language="cpp", timeout_s=2) == "time_limit"
    assert judge(nobody_sbx, "int main( {", language="cpp") == "compile_error"


NAMESPACE_AND_CAPABILITIES = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print("unshare", libc.unshare(0x10000000 | 0x20000000), ctypes.get_errno())  # a user + PID namespace
with open("/proc/self/status") as f:
    print(*(line.split()[1] for line in f if line.startswith(("CapEff", "CapPrm", "CapBnd", "CapAmb"))))
"""


def test_a_program_can_neither_make_a_namespace_nor_use_its_slots_capabilities(nobody_sbx, request):
    """Attack: a slot in a user namespace holds every capability there until it drops them, and any
    program forked from it would inherit what it kept; a nested namespace would lend fresh ones."""
    run = nobody_sbx.post("/run_code", json={"code": NAMESPACE_AND_CAPABILITIES}).json()["run_result"]
    unshare, caps = run["stdout"].splitlines()
    assert unshare == "unshare -1 1", run  # EPERM from the seccomp filter
    if request.node.callspec.params["nobody_server"] == "userns":
        assert caps.split() == ["0000000000000000"] * 4, run
