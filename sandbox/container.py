"""`python -m sandbox up/down`: the same server in Docker containers, through the docker SDK.

The image is built from `sandbox/Dockerfile` when missing. Its base is a Debian made here with debootstrap
from the machine's own apt sources, with python3 and the toolchains of the judged languages (g++, rustc,
nodejs), and `docker import`ed (cached); else the official slim Python when it is present locally (the
Dockerfile then adds the toolchains with apt), else pulled: CI never needs a registry.

Each replica runs read-only, with a pids limit, with host networking bound to 127.0.0.1 (`--port`) or
with no network at all and a bind-mounted unix socket (`--socket`), in a cgroup namespace of its own. It
gets CAP_SYS_ADMIN only so its slots can build their own namespaces and cgroups; executed programs drop
every privilege before they run (and each is the OOM killer's first choice, see `sandbox.child`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sandbox.auth import SECRET_FILE_ENV
from sandbox.languages import DEBIAN_PACKAGES

log = logging.getLogger("sandbox")

REPOSITORY = "open-qwq/sandbox"
DEFAULT_BASE = "python:3.11-slim"
LOCAL_BASE = "open-qwq/sandbox-base:bookworm-toolchains"  # python3 and the judged languages' toolchains
LABEL = "open-qwq.sandbox"
CACHE = Path(os.environ.get("SANDBOX_CACHE", Path.home() / ".cache" / "open-qwq"))
_SERVER_DISTS = ("fastapi", "uvicorn", "pydantic")
# Libraries judged Python programs may import, as `serve` offers them from its own environment: copied
# into the image beside its interpreter (under /usr, which every slot keeps visible; see the Dockerfile).
# Contest and LeetCode-style Python uses numpy.
PROGRAM_DISTS = ("numpy",)
_PACKAGE = Path(__file__).resolve().parent


def _docker():
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as e:
        raise RuntimeError(
            f"no Docker engine reachable ({e}); start one (dockerd --bridge=none --iptables=false) "
            "or run the server directly with `python -m sandbox serve`"
        ) from None
    return client


def engine_reachable() -> bool:
    """Whether a Docker engine answers here (`up --fallback-bare` starts bare servers when none does)."""
    try:
        _docker()
    except RuntimeError:
        return False
    return True


def _has_image(client, name: str) -> bool:
    import docker

    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


def _apt_mirror() -> tuple[str, str]:
    """The Debian mirror and suite this machine installs from (falls back to deb.debian.org bookworm)."""
    suite = "bookworm"
    with open("/etc/os-release") as f:
        osr = dict(line.rstrip().split("=", 1) for line in f if "=" in line)
    if osr.get("ID") == "debian" and osr.get("VERSION_CODENAME"):
        suite = osr["VERSION_CODENAME"].strip('"')
    mirror = "http://deb.debian.org/debian"
    for path in ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"):
        if os.path.exists(path):
            text = Path(path).read_text()
            m = re.search(r"^URIs:\s*(\S+/debian)\s*$", text, re.M) or re.search(
                r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)\s", text, re.M
            )
            if m:
                mirror = m.group(1)
                break
    return mirror, suite


def make_local_base(client) -> str:
    """Debootstrap a minimal Debian with python3 and the toolchains (g++, rustc, nodejs) into a folder and
    import it as LOCAL_BASE (cached tarball)."""
    mirror, suite = _apt_mirror()
    tarball = CACHE / f"sandbox-base-{suite}-toolchains.tar"
    if not tarball.exists():
        if not shutil.which("debootstrap") or os.geteuid() != 0:
            raise RuntimeError(
                "no base image: none is present locally, and making one needs root and debootstrap "
                f"(apt-get install debootstrap), or pass --base with an image that has python{sys.version_info.major}.{sys.version_info.minor}"
            )
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            rootfs = Path(tmp) / "rootfs"
            packages = ",".join(("python3", *DEBIAN_PACKAGES))
            log.info(
                "making a local base: debootstrap %s (%s) from %s (a few minutes)", suite, packages, mirror
            )
            subprocess.run(
                ["debootstrap", "--variant=minbase", f"--include={packages}", suite, str(rootfs), mirror],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
            subprocess.run(["tar", "-C", str(rootfs), "-cf", f"{tarball}.part", "."], check=True)
            os.replace(f"{tarball}.part", tarball)
    repo, tag = LOCAL_BASE.split(":")
    client.api.import_image_from_file(str(tarball), repository=repo, tag=tag)
    return LOCAL_BASE


def resolve_base(client, base: str | None) -> str:
    if base:
        if not _has_image(client, base):
            client.images.pull(base)
        return base
    for name in (LOCAL_BASE, DEFAULT_BASE):  # ours first: it already has the toolchains
        if _has_image(client, name):
            return name
    try:
        return make_local_base(client)
    except (RuntimeError, subprocess.CalledProcessError) as e:
        log.warning("%s; trying to pull %s", e, DEFAULT_BASE)
        client.images.pull(DEFAULT_BASE)
        return DEFAULT_BASE


def _requirements(names: tuple[str, ...]) -> list[md.Distribution]:
    """The installed distributions the server needs (the given ones and their unconditional requirements)."""
    seen: dict[str, md.Distribution] = {}
    todo = list(names)
    while todo:
        name = re.split(r"[\s<>=!~;\[(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen[name] = dist
        todo += [r for r in dist.requires or [] if "extra ==" not in r]
    return list(seen.values())


def _stage_context(dest: Path) -> None:
    shutil.copy(_PACKAGE / "Dockerfile", dest / "Dockerfile")
    shutil.copytree(
        _PACKAGE, dest / "sandbox", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "Dockerfile")
    )
    _copy_dists(_SERVER_DISTS, dest / "deps")
    _copy_dists(PROGRAM_DISTS, dest / "programs")


def _copy_dists(names: tuple[str, ...], into: Path) -> None:
    """The installed files of these distributions and their requirements, laid out as in site-packages."""
    into.mkdir()
    for dist in _requirements(names):
        for f in dist.files or []:
            rel = str(f)
            if rel.startswith("..") or "__pycache__" in rel or rel.endswith(".pyc"):
                continue
            src = Path(str(dist.locate_file(f)))
            if src.is_file():
                (into / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, into / rel)


def source_hash() -> str:
    """A digest of the sandbox package, so an image built from older code is rebuilt."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted(_PACKAGE.rglob("*")):  # subpackages too: sandbox/runners/ runs every program
        if f.is_file() and f.suffix in (".py", "") and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(_PACKAGE)).encode() + f.read_bytes())
    return h.hexdigest()[:16]


def image_name() -> str:
    """This code's image, tagged with its source digest: checkouts sharing an engine do not swap images."""
    return f"{REPOSITORY}:{source_hash()}"


def build_image(base: str | None = None, rebuild: bool = False, client=None) -> str:
    """Build this code's image from sandbox/Dockerfile unless it exists; returns its name.

    `latest` also names the newest build, for people; `up` runs the digest tag, which another checkout's
    build cannot move between the build and the start of the containers.
    """
    import docker

    client = client or _docker()
    digest = source_hash()
    name = image_name()
    try:
        current = client.images.get(name).labels.get(f"{LABEL}.source") == digest
    except docker.errors.ImageNotFound:
        current = False
    if current and not rebuild:
        return name
    base = resolve_base(client, base)
    with tempfile.TemporaryDirectory() as ctx:
        _stage_context(Path(ctx))
        log.info("building %s from %s", name, base)
        image, _ = client.images.build(
            path=ctx,
            tag=name,
            buildargs={"BASE": base},
            rm=True,
            labels={f"{LABEL}.source": digest},
            # The toolchains layer runs apt once (then it is cached); the containers get no network.
            network_mode="host",
        )
    image.tag(REPOSITORY, "latest")
    # A rebuild of the same code leaves the previous one untagged; drop it unless a container still uses it.
    client.images.prune(filters={"dangling": True, "label": f"{LABEL}.source"})
    return name


def up(
    replicas: int = 1,
    port: int = 8000,
    socket: str | None = None,
    workers: int | None = None,
    base: str | None = None,
    rebuild: bool = False,
    timeout_s: float = 120.0,
    memory_gb: float | None = None,
) -> list[str]:
    """Start `replicas` containers and wait until each is healthy; returns their URLs (for SANDBOX_URL)."""
    from sandbox import wait_healthy

    client = _docker()
    image = build_image(base, rebuild, client)
    slots = workers or os.cpu_count() or 1
    names, urls, paths = replica_addresses(replicas, port, socket)
    address = address_label(port, socket)
    for c in _ours(client):  # a replica left on the same port or socket by an earlier `up`
        if c.name in names:
            c.remove(force=True)
    # Replicas listen on 127.0.0.1 or a socket, so a job secret is not needed; when one exists it is
    # mounted read-only all the same, for a replica someone binds further out.
    secret = os.environ.get(SECRET_FILE_ENV)
    secret = secret if secret and Path(secret).is_file() else None
    mounts = {str(Path(secret).resolve()): {"bind": "/run/open-qwq/secret", "mode": "ro"}} if secret else {}
    for i in range(replicas):
        env = {"SANDBOX_UID_BASE": str(61000 + 1000 * i)}
        if secret:
            env[SECRET_FILE_ENV] = "/run/open-qwq/secret"
        common = dict(
            image=image,
            name=names[i],
            detach=True,
            read_only=True,
            tmpfs={"/tmp": "size=16m"},
            pids_limit=64 * slots + 64,
            mem_limit=f"{memory_gb or 2 * slots + 1}g",  # bounds all of a replica's executions together
            cap_add=["SYS_ADMIN"],
            cgroupns="private",  # slots nest their cgroups inside the container's (see sandbox.cgroups)
            security_opt=["no-new-privileges"],
            environment=env,
            labels={LABEL: "1", f"{LABEL}.address": address},
            restart_policy={"Name": "on-failure"},  # a crashed replica comes back; `down` removes it for good
        )
        args = ["--workers", str(slots)]
        if socket:
            path = paths[i]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
            client.containers.run(
                command=["--socket", f"/run/sandbox/{path.name}", *args],
                network_mode="none",
                volumes={str(path.parent): {"bind": "/run/sandbox", "mode": "rw"}, **mounts},
                **common,
            )
        else:
            client.containers.run(
                command=["--host", "127.0.0.1", "--port", str(port + i), *args],
                network_mode="host",
                volumes=mounts,
                **common,
            )
    for url in urls:
        try:
            wait_healthy(url, timeout_s)
        except TimeoutError:
            logs = "\n".join(c.logs(tail=20).decode(errors="replace") for c in _ours(client))
            raise RuntimeError(
                f"sandbox container at {url} did not become healthy; container logs:\n{logs}"
            ) from None
    return urls


def replica_addresses(
    replicas: int, port: int, socket: str | None
) -> tuple[list[str], list[str], list[Path]]:
    """Container names, URLs and socket paths of the replicas that `up` starts with these arguments.

    `down` finds one `up`'s containers by these names; launch plans print these URLs.
    """
    if not socket:
        names = [f"open-qwq-sandbox-{port + i}" for i in range(replicas)]
        return names, [f"http://127.0.0.1:{port + i}" for i in range(replicas)], []
    paths = [Path(f"{socket}.{i}" if replicas > 1 else socket).resolve() for i in range(replicas)]
    names = [f"open-qwq-sandbox-sock-{hashlib.sha1(str(p).encode()).hexdigest()[:12]}" for p in paths]
    return names, [f"unix:{p}" for p in paths], paths


def _ours(client) -> list:
    return client.containers.list(all=True, filters={"label": LABEL})


def address_label(port: int | None, socket: str | None) -> str:
    """Which `up` a container belongs to: its first port or its socket path (a label `down` filters on)."""
    return f"socket:{Path(socket).resolve()}" if socket else f"port:{port}"


def down(replicas: int | None = None, port: int | None = None, socket: str | None = None) -> int:
    """Stop and remove containers `up` started; returns how many.

    With `replicas`, only those an `up` with the same replicas/port/socket started; with only a port or
    socket, every replica of the `up`s at that address (so a job sharing the engine with another removes
    its own); with none of them, every container of ours.
    """
    client = _docker()
    found = _ours(client)
    if replicas is not None:
        names = set(replica_addresses(replicas, 8000 if port is None else port, socket)[0])
        found = [c for c in found if c.name in names]
    elif port is not None or socket is not None:
        address = address_label(port or 0, socket)
        found = [c for c in found if c.labels.get(f"{LABEL}.address") == address]
    for c in found:
        c.remove(force=True)
    return len(found)
