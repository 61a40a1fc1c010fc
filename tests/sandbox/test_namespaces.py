"""A root server whose slots may not make a mount namespace: no PID namespace without a /proc of its own.

A slot in a PID namespace of its own but with the host's /proc gave its programs pids that name other
processes there (`os.getppid()` is 1: the host's init; `/proc/<own pid>` another process). The refusal is
forced as a restricted host would: the server runs under a seccomp filter that answers EPERM to
unshare(CLONE_NEWNS) and lets unshare(CLONE_NEWPID) through.
"""

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from sandbox import client, wait_healthy

REPO = Path(__file__).resolve().parents[2]

# Installs the filter (classic BPF: unshare with CLONE_NEWNS in its flags -> EPERM), then runs the server.
NO_MOUNT_NAMESPACE = """
import errno, os, struct, sys
from sandbox import seccomp, syscalls
unshare = syscalls.table()["unshare"]
ins = [
    (0x20, 0, 0, 0),  # A = syscall number
    (0x15, 0, 3, unshare),  # not unshare: allow
    (0x20, 0, 0, 16),  # A = low half of the flags
    (0x45, 0, 1, syscalls.CLONE_NEWNS),  # no CLONE_NEWNS: allow
    (0x06, 0, 0, 0x00050000 | errno.EPERM),
    (0x06, 0, 0, 0x7FFF0000),
]
seccomp.install(b"".join(struct.pack("HBBI", *i) for i in ins))
os.execv(sys.executable, [sys.executable, "-m", "sandbox", "serve", *sys.argv[1:]])
"""

# What a program reads of itself through /proc: honest programs do this (psutil, memory probes).
SELF = """
import os
me = os.readlink("/proc/self") == str(os.getpid())
try:
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
        parent = b"sandbox.worker" in f.read()
except FileNotFoundError:  # hidden (a slot's own /proc shows only the program's uid): no other process either
    parent = True
print(me, parent)
"""


@pytest.fixture(scope="module")
def no_mount_ns_url():
    if os.geteuid() != 0 or platform.machine() not in ("x86_64", "aarch64"):
        pytest.skip("needs root (slot namespaces) and a seccomp syscall table (x86_64, aarch64)")
    tmp = tempfile.mkdtemp(prefix="open-qwq-nomntns-")
    sock = os.path.join(tmp, "s.sock")
    cmd = [sys.executable, "-c", NO_MOUNT_NAMESPACE, "--socket", sock, "--workers", "1"]
    server = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True)
    try:
        wait_healthy(f"unix:{sock}", 60, server)
        yield f"unix:{sock}"
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def test_without_a_mount_namespace_a_slot_takes_no_pid_namespace(no_mount_ns_url):
    with client(no_mount_ns_url, timeout=60) as c:
        isolation = c.get("/health").json()["isolation"]
    assert isolation.startswith("uid+seccomp"), isolation  # the mount namespace was refused, as forced
    assert "+pidns" not in isolation, isolation


def test_control_a_programs_pids_name_its_own_processes_in_proc(no_mount_ns_url):
    """A program's own pid and its parent's name those processes in /proc (not the host's init)."""
    body = {"code": SELF, "mode": "stdio", "tests": [{"input": "", "output": "True True"}]}
    with client(no_mount_ns_url, timeout=60) as c:
        r = c.post("/judge", json=body).json()
    assert r["verdicts"] == ["accepted"], r


def test_control_with_namespaces_the_slot_has_both_and_a_proc_of_its_own(judge, sbx):
    if os.geteuid() != 0:
        pytest.skip("slot namespaces need root")
    assert "namespaces" in sbx.get("/health").json()["isolation"]
    assert judge(SELF, tests=[{"input": "", "output": "True True"}])["verdicts"] == ["accepted"]


# The race the probe cannot close: the slot entered its PID namespace, then its mount namespace was refused.
PROBE_PASSED_THEN_REFUSED = (
    NO_MOUNT_NAMESPACE.split("os.execv")[0]
    + """
from sandbox import namespaces
from sandbox.worker import Worker
namespaces._own_proc_works = lambda: True
try:
    Worker(0, 100999, 16, "").setup()
except RuntimeError as e:
    print(e, flush=True)
    os._exit(3)
print("served", namespaces.proc_is_own(), flush=True)
"""
)


def test_a_slot_in_a_pid_namespace_without_its_own_proc_refuses_to_serve():
    if os.geteuid() != 0 or platform.machine() not in ("x86_64", "aarch64"):
        pytest.skip("needs root (slot namespaces) and a seccomp syscall table (x86_64, aarch64)")
    run = subprocess.run(
        [sys.executable, "-c", PROBE_PASSED_THEN_REFUSED],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 3 and "no /proc of its own: refusing" in run.stdout, (
        run.stdout,
        run.stderr[-500:],
    )
