"""open-qwq's code-execution server: `python -m sandbox serve|up|down`.

`local_server` starts the real server for a script or a test and yields the URL to put in SANDBOX_URL;
`client`, `wait_healthy` and `free_port` help other processes reach it (see `sandbox.service`).
"""

from sandbox.service import client, free_port, local_server, wait_healthy

__all__ = ["client", "free_port", "local_server", "wait_healthy"]
