"""`python -m sandbox serve | up | down`: the code-execution server, directly or in Docker containers."""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m sandbox", description="Code-execution server for code rewards."
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser(
        "serve",
        help="run the server here, in the foreground (isolates each execution itself)",
        description="Serve /judge, /judge_batch and /run_code here, in the foreground. Each slot runs one "
        "execution at a time, isolated by namespaces, a uid of its own, cgroups and seccomp when run as "
        "root (seccomp and rlimits only otherwise; /health says which). Prints its URL once ready.",
    )
    s.add_argument("--host", default="127.0.0.1", help="TCP address to listen on (default: %(default)s)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--port", type=int, default=8000, help="TCP port (default: %(default)s)")
    g.add_argument("--socket", help="listen on this unix socket instead of TCP (default: TCP)")
    s.add_argument("--workers", type=int, default=None, help="execution slots (default: one per core)")
    s.add_argument(
        "--queue", type=int, default=None, help="judgments admitted at once before 429 (default: 4096)"
    )
    s.add_argument(
        "--parent", type=int, default=None, help="stop when the process with this pid (our parent) dies"
    )
    u = sub.add_parser(
        "up",
        help="run the server in Docker containers (builds the image when missing)",
        description="Start REPLICAS containers of the sandbox image, each running `serve` on 127.0.0.1 "
        "(port+i) or a unix socket, and print their URLs, comma-separated, for SANDBOX_URL. The image is "
        "built from sandbox/Dockerfile when missing (from a locally made base when no registry answers).",
    )
    u.add_argument("--replicas", type=int, default=1, help="containers to start (default 1)")
    g = u.add_mutually_exclusive_group()
    g.add_argument(
        "--port", type=int, default=8000, help="first port; replica i listens on port+i (127.0.0.1)"
    )
    g.add_argument("--socket", help="unix socket path; replica i listens on PATH.i when replicas > 1")
    u.add_argument("--workers", type=int, default=None, help="execution slots per replica")
    u.add_argument(
        "--base", default=None, help="base image (default python:3.11-slim, else a local debootstrap)"
    )
    u.add_argument("--rebuild", action="store_true", help="rebuild the image even when it exists")
    u.add_argument(
        "--fallback-bare",
        action="store_true",
        help="on a node without a Docker engine, warn and start bare `serve` replicas on the same addresses",
    )
    d = sub.add_parser(
        "down",
        help="stop and remove the containers `up` started (all, or those of one `up`)",
        description="Stop and remove the sandbox containers (and bare servers) that `up` started: all of "
        "them, or only those of the `up` given the same --replicas/--port/--socket.",
    )
    d.add_argument(
        "--replicas", type=int, default=None, help="only the replicas of an `up` with these arguments"
    )
    g = d.add_mutually_exclusive_group()
    g.add_argument("--port", type=int, default=None, help="only the `up`s at this first port")
    g.add_argument("--socket", help="only the `up`s at this unix socket path")
    sub.add_parser(
        "build",
        help="build the image only",
        description="Build the sandbox image from sandbox/Dockerfile again (even when it exists) and print "
        "its name; `up` does this by itself when the image is missing.",
    )
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if a.cmd == "serve":
        from sandbox.server import serve

        serve(a.host, a.port, a.socket, a.workers, a.queue, a.parent)
        return 0
    from sandbox import container

    if a.cmd == "up":
        if a.fallback_bare and not container.engine_reachable():
            from sandbox.bare import up_bare

            print(
                "warning: no Docker engine reachable on this node: starting the bare sandbox server instead "
                "(`python -m sandbox serve`: every execution still gets its own namespaces, seccomp filter, "
                "rlimits and memory cgroup, without the container around the server)",
                file=sys.stderr,
            )
            urls = up_bare(a.replicas, a.port, a.socket, a.workers)
        else:
            urls = container.up(
                replicas=a.replicas,
                port=a.port,
                socket=a.socket,
                workers=a.workers,
                base=a.base,
                rebuild=a.rebuild,
            )
        print(",".join(urls))  # ready for SANDBOX_URL
    elif a.cmd == "down":
        from sandbox.bare import down_bare

        bare = down_bare(a.replicas, a.port, a.socket)
        removed = container.down(a.replicas, a.port, a.socket) if container.engine_reachable() else 0
        print(f"removed {removed} container(s)" + (f" and {bare} bare server(s)" if bare else ""))
    else:
        print(container.build_image(base=None, rebuild=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
