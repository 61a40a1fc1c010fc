"""Nothing of one execution reaches the next on its slot (families 4 and 5 of issue 14).

Every writable place is a fresh tmpfs and every IPC object dies with the execution's own IPC
namespace; the reset between executions cannot fail however the program left its files, and a slot
that cannot be reset is replaced (`/health` counts the slots that serve).
"""

import os

import pytest

WORKERS = 2  # the session server's slots: a batch of this many lands one execution on each

DEEP_TREE = (
    "import os\n"
    "for _ in range(3000):\n"
    "    os.mkdir('d' * 200)\n    os.chdir('d' * 200)\n"
    "    open('f', 'w').write('x')\n"
    "print('deep')"
)

# Leaves a file in /dev/shm and in the scratch dir, and System V shared memory, a message queue and
# semaphores (created, never removed); then the same program reports what it finds of an earlier run.
IPC = r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT, KEY = 0o1000, 0x5AFE
found = []
for name in ("/dev/shm/planted", "planted"):  # the working directory is /tmp/run
    if os.path.exists(name):
        found.append(name)
    try:
        open(name, "w").write("x")
    except OSError:
        pass
if libc.shmget(KEY, 0, 0) != -1:
    found.append("shm")
if libc.msgget(KEY, 0) != -1:
    found.append("msg")
if libc.semget(KEY, 0, 0) != -1:
    found.append("sem")
made = [libc.shmget(KEY, 1 << 20, IPC_CREAT | 0o666) != -1, libc.msgget(KEY, IPC_CREAT | 0o666) != -1,
        libc.semget(KEY, 4, IPC_CREAT | 0o666) != -1]
print("FOUND " + ",".join(found) if found else "CLEAN", all(made))
"""


# Every directory the program can write to, on every read-write mount it can see.
WRITABLE = r"""
import os
found = set()
for line in open("/proc/self/mountinfo"):
    fields = line.split()
    where, options = fields[4], fields[5].split(",")
    if "rw" in options and not where.startswith(("/proc", "/sys")):
        for root, dirs, files in os.walk(where):
            if os.access(root, os.W_OK):
                found.add(root)
print(sorted(found))
"""


def test_the_only_writable_places_are_the_working_directory_and_dev_shm(judge, sbx):
    if not sbx.get("/health").json()["isolation"].startswith("namespaces"):
        pytest.skip("without namespaces the host's own writable places are visible")
    r = judge(WRITABLE, tests=[{"input": "", "output": "['/dev/shm', '/tmp/run']"}], timeout_s=20)
    assert r["verdicts"] == ["accepted"]


def _batch(sbx, code: str, output: str, n: int = WORKERS, **body) -> list[str]:
    req = {"code": code, "mode": "stdio", "tests": [{"input": "", "output": output}], **body}
    results = sbx.post("/judge_batch", json={"requests": [req] * n}).json()["results"]
    return [v for r in results for v in r["verdicts"]]


def test_a_deep_tree_cannot_break_its_slot(sbx):
    assert _batch(sbx, DEEP_TREE, "deep", timeout_s=30) == ["accepted"] * WORKERS
    assert _batch(sbx, "print(input())", "", n=4 * WORKERS) == ["runtime_error"] * 4 * WORKERS  # EOF: ran
    assert _batch(sbx, "print(7)", "7", n=4 * WORKERS) == ["accepted"] * 4 * WORKERS
    health = sbx.get("/health").json()
    assert health["status"] == "ok" and health["serving"] == WORKERS


def test_files_and_ipc_objects_do_not_survive_into_the_next_execution(sbx):
    first = _batch(sbx, IPC, "CLEAN True")
    assert first == ["accepted"] * WORKERS  # control: the program could make every object
    for _ in range(2):  # every later execution, on every slot, finds none of them
        assert _batch(sbx, IPC, "CLEAN True") == ["accepted"] * WORKERS


def test_control_files_and_ipc_objects_work_within_one_execution(judge):
    code = (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "open('/dev/shm/a', 'w').write('x')\nopen('here', 'w').write('yz')\n"
        "key = libc.shmget(0x5AFF, 4096, 0o1000 | 0o600)\n"
        "print(open('/dev/shm/a').read() + open('here').read(), key != -1,"
        " libc.shmget(0x5AFF, 0, 0) == key)"
    )
    assert judge(code, tests=[{"input": "", "output": "xyz True True"}])["verdicts"] == ["accepted"]


def test_a_slot_whose_scratch_cannot_be_reset_is_marked_broken_not_raised(tmp_path):
    from sandbox.worker import Worker

    w = Worker(slot=0, uid=None)
    w.workdir = str(tmp_path / "not-a-directory")
    open(w.workdir, "w").close()
    w._reset()  # must not raise: the slot reports itself broken and the pool replaces it
    assert w.broken and "cannot reset" in w.broken


def test_control_the_reset_removes_any_depth_without_recursion(tmp_path):
    from sandbox.scratch import remove_tree

    root = tmp_path / "run"
    path = root
    for _ in range(1500):  # deeper than the recursion limit, paths longer than PATH_MAX
        path = path / ("d" * 100)
    os.makedirs(root)
    cur = os.open(root, os.O_RDONLY)
    for _ in range(1500):
        os.mkdir("d" * 100, dir_fd=cur)
        nxt = os.open("d" * 100, os.O_RDONLY, dir_fd=cur)
        os.close(cur)
        cur = nxt
    os.close(cur)
    remove_tree(str(root))
    assert not root.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="the per-slot cgroup needs root")
def test_the_slot_memory_limit_does_not_grow_with_what_executions_leave(judge, sbx):
    # Spread over processes (each under its own rlimit), 300 MiB exceeds a 256 MiB execution however
    # many times executions ran before on the slot.
    code = (
        "import os, time\nfor _ in range(6):\n    if os.fork() == 0:\n        x = b'x' * (50 * 2**20)\n"
        "        time.sleep(10)\n        os._exit(0)\ntime.sleep(10)"
    )
    if "cgroup" not in sbx.get("/health").json()["isolation"]:
        pytest.skip("no memory cgroup here")
    for _ in range(2):
        _batch(sbx, IPC, "CLEAN True")
        assert judge(code, memory_mb=256, timeout_s=4)["verdicts"] == ["memory_limit"]
