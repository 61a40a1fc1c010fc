"""Reaching a sandbox server from another process: an HTTP client for its URL, a health wait, a free
loopback port, and `local_server`, which runs the real server beside a script or a test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket as _socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx


def client(url: str, timeout: float = 600.0) -> httpx.Client:
    """An httpx client for a sandbox URL: `http://host:port` or `unix:/path/to.sock`."""
    import httpx

    from sandbox.auth import auth_headers

    if url.startswith("unix:"):
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=url[5:]), base_url="http://sandbox", timeout=timeout
        )
    return httpx.Client(base_url=url.rstrip("/"), timeout=timeout, headers=auth_headers())


def wait_healthy(
    url: str, timeout_s: float = 60.0, proc: subprocess.Popen | None = None, name: str = "sandbox"
) -> None:
    """Block until `url` answers /health, or raise saying why; `proc` is the server, when we started it."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{name} server exited with code {proc.returncode} before becoming healthy")
        with contextlib.suppress(httpx.HTTPError), client(url, timeout=2) as c:
            if c.get("/health").status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{name} at {url} not healthy after {timeout_s:.0f}s")


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on right now (for servers started beside this process)."""
    with _socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_server(
    workers: int | None = None,
    unix_socket: bool = True,
    log_path: str | None = None,
    timeout_s: float = 60.0,
    queue: int | None = None,
) -> Iterator[str]:
    """Run `python -m sandbox serve` in a subprocess for the duration of the block; yields its URL.

    The URL is `unix:/tmp/.../sandbox.sock` (default) or `http://127.0.0.1:PORT` with `unix_socket=False`;
    set it as SANDBOX_URL for `verifiers.code.code_reward`. The server log goes to `log_path` (default:
    a file next to the socket, printed in the error if the server fails to start).
    """
    tmp = tempfile.mkdtemp(prefix="open-qwq-sandbox-")
    if unix_socket:
        path = os.path.join(tmp, "sandbox.sock")
        url, where = f"unix:{path}", ["--socket", path]
    else:
        port = free_port()
        url, where = f"http://127.0.0.1:{port}", ["--port", str(port)]
    cmd = [sys.executable, "-m", "sandbox", "serve", *where, "--parent", str(os.getpid())]
    if workers:
        cmd += ["--workers", str(workers)]
    if queue:
        cmd += ["--queue", str(queue)]
    log_path = log_path or os.path.join(tmp, "server.log")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        try:
            wait_healthy(url, timeout_s, proc)
        except (RuntimeError, TimeoutError) as e:
            with open(log_path, errors="replace") as f:
                raise RuntimeError(f"{e}; server log ({log_path}):\n{f.read()[-3000:]}") from None
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
