"""No way out through the environment or the kernel's namespace calls (families 7 and 8 of issue 14)."""

import os
import secrets
from pathlib import Path

import pytest

from sandbox import client, local_server

# Makes itself dumpable again (the kernel clears that on the uid change), then reads every environment
# it can reach: its own, its parent's, any process's.
READ_ENVIRONMENTS = r"""
import ctypes, os
ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)
seen = dict(os.environ)
texts = []
for pid in ["self"] + [p for p in os.listdir("/proc") if p.isdigit()] + [str(os.getppid())]:
    try:
        texts.append(open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace"))
    except OSError:
        pass
print("CANARY" if any("OPEN_QWQ_CANARY" in t for t in texts) or "OPEN_QWQ_CANARY" in seen else "CLEAN")
print(sorted(seen))
"""


@pytest.fixture(scope="module")
def canary_server():
    """A server started with a secret in its environment, as a cluster job has hub/wandb tokens."""
    os.environ["OPEN_QWQ_CANARY"] = secrets.token_hex(8)
    try:
        with local_server(workers=1) as url, client(url, timeout=120) as c:
            yield c
    finally:
        del os.environ["OPEN_QWQ_CANARY"]


def test_the_servers_environment_is_not_reachable(canary_server):
    r = canary_server.post("/run_code", json={"code": READ_ENVIRONMENTS}).json()
    assert r["run_result"]["stdout"].splitlines()[0] == "CLEAN", r


def test_control_programs_get_a_minimal_working_environment(canary_server):
    r = canary_server.post("/run_code", json={"code": READ_ENVIRONMENTS}).json()
    assert r["run_result"]["stdout"].splitlines()[1] == (
        "['HOME', 'LANG', 'MKL_NUM_THREADS', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'PATH', 'TMPDIR']"
    )


NAMESPACE_ROUTES = r"""
import ctypes, errno, os, signal
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID = 0x10000000, 0x20000, 0x40000000, 0x20000000
results = []
for flags in (CLONE_NEWUSER, CLONE_NEWUSER | CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID):
    pid = libc.syscall(56, flags | signal.SIGCHLD, 0, 0, 0, 0)  # raw clone (x86_64)
    if pid == 0:
        os._exit(0)
    if pid > 0:
        os.waitpid(pid, 0)
    results.append("refused" if pid < 0 else "CLONED")
args = (ctypes.c_uint64 * 11)(CLONE_NEWUSER, 0, 0, 0, signal.SIGCHLD, 0, 0, 0, 0, 0, 0)
pid = libc.syscall(435, ctypes.byref(args), ctypes.sizeof(args))  # clone3
if pid == 0:
    os._exit(0)
results.append("refused" if pid < 0 else "CLONED")
results.append("refused" if libc.unshare(CLONE_NEWUSER) != 0 else "UNSHARED")
import socket
for family in (socket.AF_NETLINK, socket.AF_PACKET, 38, 40):  # 38 AF_ALG, 40 AF_VSOCK
    try:
        socket.socket(family, socket.SOCK_RAW if family != 38 else socket.SOCK_SEQPACKET)
        results.append("SOCKET")
    except OSError:
        results.append("refused")
print(" ".join(results))
"""


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="raw syscall numbers are x86_64's")
def test_every_route_to_a_new_namespace_and_unneeded_socket_families_are_refused(judge):
    r = judge(NAMESPACE_ROUTES, tests=[{"input": "", "output": " ".join(["refused"] * 10)}])
    assert r["verdicts"] == ["accepted"], r


def test_control_threads_processes_subprocesses_and_local_sockets_work(judge):
    code = (
        "import os, socket, subprocess, threading, multiprocessing\n"
        "out = []\nt = threading.Thread(target=out.append, args=('thread',))\nt.start()\nt.join()\n"
        "pid = os.fork()\nif pid == 0:\n    os._exit(7)\nout.append(str(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])))\n"
        "out.append(subprocess.run(['echo', 'spawned'], capture_output=True, text=True).stdout.strip())\n"
        "a, b = socket.socketpair()\na.sendall(b'pair')\nout.append(b.recv(4).decode())\n"
        "print(' '.join(out))"
    )
    r = judge(code, tests=[{"input": "", "output": "thread 7 spawned pair"}], timeout_s=20)
    assert r["verdicts"] == ["accepted"], r


def test_control_a_multiprocessing_pool_works(judge):
    code = "import multiprocessing\nwith multiprocessing.Pool(2) as p:\n    print(sum(p.map(abs, [-1, -2])))"
    for _ in range(5):
        r = judge(code, tests=[{"input": "", "output": "3"}], timeout_s=20)
        assert r["verdicts"] == ["accepted"], r


# The slot worker ignores SIGTERM and SIGINT, and ignored signals survive fork and exec: a program that
# inherited them could not stop its own children (`Pool.terminate()` hung about 1 run in 10 under load).
STOPS_ITS_CHILDREN = r"""
import os, signal, subprocess, time
pid = os.fork()
if pid == 0:
    time.sleep(30)
    os._exit(0)
os.kill(pid, signal.SIGTERM)
_, status = os.waitpid(pid, 0)
shell = subprocess.run(["sh", "-c", "kill -TERM $$; echo survived"], capture_output=True, text=True)
print(os.WIFSIGNALED(status) and os.WTERMSIG(status), shell.returncode, shell.stdout.strip() or "-")
print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN)
"""


def test_control_a_program_stops_its_children_with_sigterm_as_outside_the_sandbox(judge):
    r = judge(STOPS_ITS_CHILDREN, tests=[{"input": "", "output": "15 -15 -\nTrue True"}], timeout_s=5)
    assert r["verdicts"] == ["accepted"], r


def test_seccomp_syscall_table_matches_the_kernel_headers():
    from sandbox import syscalls

    header = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
    if not os.path.exists(header):
        pytest.skip("no kernel headers here")
    numbers = {}
    for line in Path(header).read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "#define" and parts[1].startswith("__NR_"):
            numbers[parts[1][5:]] = int(parts[2])
    assert {k: numbers[k] for k in syscalls.SYSCALLS["x86_64"]} == syscalls.SYSCALLS["x86_64"]
