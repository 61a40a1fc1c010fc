"""The judged languages: how datasets spell them, how each is compiled and run, which toolchains exist here.

Python runs inside the slot's warm interpreter (`sandbox.child`). The others run as a real program that
the child `execve`s after confining itself (the same namespaces, uid, seccomp filter, rlimits and cgroup):
C++ (g++) and Rust (rustc) are compiled once per submission into a binary that every test then runs;
JavaScript (node) is syntax-checked once, then each test runs `node` on the source. Toolchains are the
Debian packages (`g++`, `rustc`, `nodejs`) found on the sandbox's own PATH: the host's for `serve`, the
image's in containers. `available()` says which ones this machine has; `/health` reports it.
"""

from __future__ import annotations

import functools
import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

# What a judged program sees as PATH (`sandbox.child` sets the same): tools elsewhere are invisible there.
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
# Tools must resolve under these, the system directories a slot keeps visible (homes and /opt are hidden).
_VISIBLE_ROOTS = ("/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/etc/")
DEBIAN_PACKAGES = ("g++", "rustc", "nodejs")  # what .ci/run and sandbox/Dockerfile install


@dataclass(frozen=True)
class Language:
    """One judged language. `compile`/`run` are argv templates; `{mem}` is the execution's memory in MiB."""

    name: str
    tool: str  # the executable whose presence makes the language available
    source: str  # the file name the submission is written to
    compile: tuple[str, ...] = ()  # empty: nothing to compile (Python)
    artifact: str | None = None  # the file the compile step produces and every test runs
    run: tuple[str, ...] = ()
    # Address space a run may map beyond its memory limit: node reserves about 0.8 GiB up front.
    reserve_mb: int = 64
    version_flag: str = "--version"

    @property
    def in_process(self) -> bool:
        """Python runs in the slot's warm interpreter, not as a program of its own."""
        return self.name == "python"


PYTHON = Language("python", tool="python3", source="solution.py")
# A precompiled <bits/stdc++.h> (the header most contest C++ starts with) for the flags below: g++ finds
# PCH_DIR/bits/stdc++.h.gch before the header and compiles such a program about 5x faster. The image
# builds it (`python3 sandbox/languages.py --build-pch`); where it is missing or stale, g++ uses the header.
PCH_DIR = "/usr/local/share/open-qwq/pch"
_CPP_FLAGS = ("-O2", "-std=gnu++17", "-DONLINE_JUDGE", "-pipe")  # as Codeforces: -O2, ONLINE_JUDGE
CPP = Language(
    "cpp",
    tool="g++",
    source="solution.cpp",
    # gnu++17 accepts C++11/14 code and GNU extensions.
    compile=("g++", *_CPP_FLAGS, "-I", PCH_DIR, "-o", "solution", "solution.cpp"),
    artifact="solution",
    run=("./solution",),
)
RUST = Language(
    "rust",
    tool="rustc",
    source="solution.rs",
    # -O as Codeforces compiles; stripped, the binary that travels to every test is ~0.4 MiB, not ~11.
    compile=("rustc", "--edition", "2021", "-O", "-C", "strip=symbols", "-o", "solution", "solution.rs"),
    artifact="solution",
    run=("./solution",),
)
JAVASCRIPT = Language(
    "javascript",
    tool="node",
    source="solution.js",
    compile=("node", "--check", "solution.js"),  # a syntax error is compile_error, once, not per test
    run=("node", "--max-old-space-size={mem}", "solution.js"),
    reserve_mb=1024,
)
LANGUAGES = {lang.name: lang for lang in (PYTHON, CPP, RUST, JAVASCRIPT)}
SUPPORTED_LANGUAGES = frozenset(LANGUAGES)

_ALIASES = {
    "python": "python",
    "python3": "python",
    "py": "python",
    "py3": "python",
    "pypy": "python",
    "pypy3": "python",
    "cpp": "cpp",
    "c++": "cpp",
    "cxx": "cpp",
    "cc": "cpp",
    "g++": "cpp",
    "rust": "rust",
    "rs": "rust",
    "rustc": "rust",
    "javascript": "javascript",
    "js": "javascript",
    "node": "javascript",
    "nodejs": "javascript",
    "node.js": "javascript",
}
# Versioned spellings: cpp17, c++14, gnu c++17, "GNU C++20 (64)", rust 2021, "JavaScript V8", "Node.js 12".
_VERSIONED = (
    (re.compile(r"(?:gnu|ms|clang)?\s*(?:c\+\+|cpp|cxx)\s*(?:\d\d|0x|1[xyz]|2[abc])?(?:\s*\(\d+\))?"), "cpp"),
    (re.compile(r"rust\s*(?:20\d\d)?"), "rust"),
    (re.compile(r"(?:javascript|js|node(?:\.?js)?)\s*(?:v8|\d+)?"), "javascript"),
    (re.compile(r"python\s*3(?:\.\d+)?|pypy\s*3(?:\.\d+)?"), "python"),
)


def canonical_language(name: str | None) -> str:
    """A dataset's spelling (`C++17`, `cpp`, `rs`, `nodejs`, `Python3`) as one name; None is Python.

    Unknown spellings come back lower-cased and stripped, so `name in SUPPORTED_LANGUAGES` filters them.
    """
    key = (name or "python").strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    for pattern, canonical in _VERSIONED:
        if pattern.fullmatch(key):
            return canonical
    return key


def resolve(name: str | None) -> Language:
    """The language for a request's `language`; ValueError naming the supported ones when unknown."""
    lang = LANGUAGES.get(canonical_language(name))
    if lang is None:
        raise ValueError(
            f"unknown language {name!r}: supported are {', '.join(sorted(SUPPORTED_LANGUAGES))} "
            "(and spellings such as python3, c++, cpp17, rs, js, nodejs)"
        )
    return lang


def tool_path(tool: str) -> str | None:
    """Where a program in the sandbox finds `tool`, or None when it cannot (absent, or outside the system)."""
    found = shutil.which(tool, path=SANDBOX_PATH)
    if found is None:
        return None
    real = os.path.realpath(found)
    return found if real.startswith(_VISIBLE_ROOTS) else None


@functools.cache
def available() -> dict[str, str]:
    """Each language this machine can judge, with its toolchain's version line (probed once)."""
    import sys

    found = {"python": f"python {sys.version.split()[0]}"}
    for lang in (CPP, RUST, JAVASCRIPT):
        path = tool_path(lang.tool)
        if path is None:
            continue
        try:
            out = subprocess.run(
                [path, lang.version_flag], capture_output=True, text=True, timeout=30, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        found[lang.name] = f"{lang.tool} {_version(out)}"
    return found


def _version(text: str) -> str:
    """The version number in a tool's `--version` output (`g++ (Debian 12.2.0-14) 12.2.0` -> 12.2.0)."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    numbers = re.findall(r"v?(\d+\.\d+(?:\.\d+)?)", first)
    return numbers[-1] if numbers else first


def missing_message(lang: Language) -> str:
    """Why a language this server knows cannot be judged here, and what to do about it."""
    return (
        f"language {lang.name!r} needs {lang.tool}, which this server does not have on {SANDBOX_PATH}: "
        f"install the Debian packages {' '.join(DEBIAN_PACKAGES)} (the sandbox image has them)"
    )


def build_pch(dest: str = PCH_DIR) -> str:
    """Precompile the system's <bits/stdc++.h> with C++'s flags into `dest`/bits/stdc++.h.gch; its path."""
    headers = sorted(
        glob.glob("/usr/include/*/c++/*/bits/stdc++.h") + glob.glob("/usr/include/c++/*/bits/stdc++.h")
    )
    if not headers:
        raise FileNotFoundError("no bits/stdc++.h under /usr/include: install g++ first")
    out = os.path.join(dest, "bits", "stdc++.h.gch")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    subprocess.run(["g++", *_CPP_FLAGS, "-x", "c++-header", headers[-1], "-o", out], check=True)
    # g++ -H marks a precompiled header it used with "!": make sure the judged compile line will use it.
    probe = subprocess.run(
        ["g++", *_CPP_FLAGS, "-I", dest, "-H", "-fsyntax-only", "-x", "c++", "-"],
        input="#include <bits/stdc++.h>\nint main() {}\n",
        capture_output=True,
        text=True,
        check=True,
    )
    if not probe.stderr.startswith(f"! {out}"):
        raise RuntimeError(f"g++ does not use {out} with the judged flags: {probe.stderr[:200]!r}")
    return out


if __name__ == "__main__":  # run as a file by sandbox/Dockerfile, before the package is in place
    import sys

    if sys.argv[1:] != ["--build-pch"]:
        sys.exit("usage: python3 sandbox/languages.py --build-pch")
    print(build_pch())
