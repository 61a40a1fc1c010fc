"""Bare sandbox replicas for a node without Docker: `python -m sandbox up --fallback-bare` starts them.

The same server as the containers (`python -m sandbox serve`, which isolates every execution itself with
namespaces, seccomp, rlimits and a memory cgroup), one process per replica on the addresses `up` would
use, detached so that `up` returns like it does with containers. Each server runs under `supervise`, which
starts it again when it dies (an OOM kill, a crash), as Docker's on-failure restart policy does for a
container: the rows it misses meanwhile score None and are counted, and the replica comes back by itself.
The supervisors' pids (each one's process group holds its server) are kept in a state file per
`up` (`$SANDBOX_STATE` or the temp dir, shared by every job on the machine), which `down` reads to stop
them again: those of one `up`, of the `up`s at one port or socket, or (no address given) all of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox.container import address_label, replica_addresses

STATE = Path(os.environ.get("SANDBOX_STATE", Path(tempfile.gettempdir()) / "open-qwq-sandbox"))


def _state_file(replicas: int, port: int, socket: str | None) -> Path:
    names, _, _ = replica_addresses(replicas, port, socket)
    return STATE / f"{names[0]}-x{replicas}.json"


def up_bare(
    replicas: int = 1, port: int = 8000, socket: str | None = None, workers: int | None = None
) -> list[str]:
    """Start `replicas` bare servers, detached; wait until each is healthy; returns their URLs."""
    from sandbox import wait_healthy

    STATE.mkdir(parents=True, exist_ok=True)
    down_bare(replicas, port, socket)  # left over from an earlier `up` with the same arguments
    names, urls, paths = replica_addresses(replicas, port, socket)
    procs = []
    for i, name in enumerate(names):
        where = ["--socket", str(paths[i])] if socket else ["--host", "127.0.0.1", "--port", str(port + i)]
        # `supervise` around `python -m sandbox serve`: the replica comes back when it dies
        cmd = [sys.executable, "-m", "sandbox.bare", urls[i], *where]
        if workers:
            cmd += ["--workers", str(workers)]
        with open(STATE / f"{name}.log", "ab") as log:
            procs.append(
                subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    state = {"pids": [p.pid for p in procs], "urls": urls, "address": address_label(port, socket)}
    _state_file(replicas, port, socket).write_text(json.dumps(state))
    for url, proc, name in zip(urls, procs, names, strict=True):
        try:
            wait_healthy(url, 120.0, proc)
        except (RuntimeError, TimeoutError) as e:
            down_bare(replicas, port, socket)
            raise RuntimeError(f"{e}; see {STATE / f'{name}.log'}") from None
    return urls


def down_bare(replicas: int | None = None, port: int | None = None, socket: str | None = None) -> int:
    """Stop bare servers, as `container.down` removes containers: with `replicas`, those of the `up` with
    these arguments; with only a port or socket, those of every `up` there (another job's stay up); with
    none, every one on this machine. Returns how many."""
    if replicas is not None:
        files = [_state_file(replicas, 8000 if port is None else port, socket)]
    else:
        files = sorted(STATE.glob("*.json"))
    address = address_label(port, socket) if replicas is None and (port, socket) != (None, None) else None
    stopped = 0
    for path in files:
        try:
            state = json.loads(path.read_text())
            pids = state["pids"]
        except (OSError, ValueError, KeyError):
            continue
        if address is not None and state.get("address") != address:
            continue
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGTERM)  # the server and its execution slots
                stopped += 1
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_group_alive(p) for p in pids):
            time.sleep(0.1)  # until each server has let go of its port, not only its supervisor
        for pid in pids:
            if _group_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        path.unlink(missing_ok=True)
    return stopped


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group `pgid` (a supervisor and its server) still runs."""
    if not _alive(pgid):  # reaps the supervisor when it is this process's child
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, 0)
            return True
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a finished child of this process stays a zombie until reaped
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


RESTART_DELAY_S = (0.1, 10.0)  # first and longest wait before a restart; doubled while it keeps failing


def supervise(url: str, serve_args: list[str]) -> int:
    """Run `python -m sandbox serve` at `url`, and start it again whenever it exits non-zero or is killed
    (each restart is said in stderr, the replica's log). A first start that ends by itself before it
    answers (a taken port, a bad option) is final: `up` reports it at once with the log. A kill is not:
    `up` may have seen the server healthy before this process looked, and an OOM kill right then must
    still be restarted. `down` ends supervisor and server together (SIGTERM to their process group,
    whose default action ends this process too)."""
    from sandbox import wait_healthy

    cmd = [sys.executable, "-m", "sandbox", "serve", *serve_args]
    proc = subprocess.Popen(cmd)
    try:
        wait_healthy(url, 3600.0, proc)
    except TimeoutError:
        proc.kill()
        return proc.wait() or 1
    except RuntimeError:  # it exited before this process saw it answer
        if proc.returncode > 0:
            return proc.returncode
    delay, started = RESTART_DELAY_S[0], time.monotonic()
    while (code := proc.wait()) != 0:
        if time.monotonic() - started > 30:  # it had served a while: a new failure, not a crash loop
            delay = RESTART_DELAY_S[0]
        print(f"sandbox server exited {code}: starting it again in {delay:.1f}s", file=sys.stderr, flush=True)
        time.sleep(delay)
        delay = min(2 * delay, RESTART_DELAY_S[1])
        proc, started = subprocess.Popen(cmd), time.monotonic()
    return 0


if __name__ == "__main__":  # `python -m sandbox.bare URL [serve options]`: one supervised bare replica
    sys.exit(supervise(sys.argv[1], sys.argv[2:]))
