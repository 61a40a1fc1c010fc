"""The job secret: our servers reachable beyond loopback accept only requests that carry it.

The launcher creates one secret per job (`create_secret`, a 0600 file in the run's log folder on the shared
filesystem) and names it in `OPEN_QWQ_SECRET_FILE` for every command it starts. Servers (`python -m sandbox
serve`, `python -m verifiers.reward_model serve`) read it at start and, through `protect`, refuse a request
from any peer other than 127.0.0.1 / ::1 / a unix socket unless it carries `Authorization: Bearer <secret>`;
`/health` stays open so health waits need nothing. Clients (the code reward, the reward-model scorer) send
`auth_headers()` with every request. A server asked to listen beyond loopback without a secret refuses to
start: a cluster network is shared, and the sandbox runs whatever code it is sent.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from typing import Any

SECRET_FILE_ENV = "OPEN_QWQ_SECRET_FILE"
LOCAL_PEERS = ("127.0.0.1", "::1", "localhost")  # the addresses local tools connect from
OPEN_PATHS = ("/health",)


def create_secret(path: str | Path) -> Path:
    """Write a fresh random secret to `path` (mode 0600, replaced atomically); returns the path."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32))
    os.replace(tmp, path)
    return path


def job_secret() -> str | None:
    """The secret named by OPEN_QWQ_SECRET_FILE, read fresh (a new job may have replaced it); None when unset."""
    name = os.environ.get(SECRET_FILE_ENV)
    if not name:
        return None
    try:
        value = Path(name).read_text().strip()
    except OSError as e:
        raise RuntimeError(
            f"{SECRET_FILE_ENV}={name} cannot be read ({e}): the launcher writes it; check the path and "
            "that the shared filesystem is mounted on this node"
        ) from None
    if not value:
        raise RuntimeError(f"{SECRET_FILE_ENV}={name} is empty: start the job again with the launcher")
    return value


def auth_headers() -> dict[str, str]:
    """The header that proves a request comes from this job (empty when the job has no secret)."""
    value = job_secret()
    return {"Authorization": f"Bearer {value}"} if value else {}


def is_loopback_bind(host: str | None) -> bool:
    return host in (None, "", *LOCAL_PEERS)


def server_secret(host: str | None, socket: str | None = None) -> str | None:
    """The secret a server must check; refuses a bind beyond loopback without one."""
    value = job_secret()
    if value is None and socket is None and not is_loopback_bind(host):
        raise SystemExit(
            f"error: refusing to listen on {host} without a job secret: anyone on that network could use "
            f"this server. Set {SECRET_FILE_ENV} to a file holding a secret (the launcher does), or listen "
            "on 127.0.0.1 / a unix socket"
        )
    return value


class RequireSecret:
    """ASGI middleware: non-local peers need `Authorization: Bearer <secret>` except on OPEN_PATHS."""

    def __init__(self, app: Any, secret: str) -> None:
        self.app = app
        self.expected = f"Bearer {secret}".encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self.allowed(scope):
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"detail": "missing or wrong job secret"}'})
            return
        await self.app(scope, receive, send)

    def allowed(self, scope: dict) -> bool:
        client = scope.get("client")
        if not client or client[0] in LOCAL_PEERS or scope.get("path") in OPEN_PATHS:
            return True  # unix sockets have no client address
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        return hmac.compare_digest(given, self.expected)


def protect(app: Any, secret: str | None) -> Any:
    """The app wrapped so that it checks `secret` (the app itself when there is none)."""
    return RequireSecret(app, secret) if secret else app
