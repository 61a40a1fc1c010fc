"""C++, Rust and JavaScript in a real container from `python -m sandbox up`: the image's Debian toolchains
judge the hub-shaped rows right and wrong, and the attack families stay contained there too."""

import json

import pytest

from sandbox import client, container
from sandbox.formats import row_to_tests
from sandbox.languages import CPP, PCH_DIR
from tests.sandbox.test_attacks_native import ASM_SYSCALL, HONEST, X86
from tests.sandbox.test_languages import FENCE, PROGRAMS, hub_row

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def sbx_container(docker_engine, tmp_path_factory):
    """One replica on a unix socket (network none), with two slots; removed afterwards."""
    sock = tmp_path_factory.mktemp("sbx-lang") / "sandbox.sock"
    (url,) = container.up(replicas=1, socket=str(sock), workers=2)
    with client(url, timeout=300) as c:
        yield c
    assert container.down(replicas=1, socket=str(sock)) == 1


def _judge(c, code: str, language: str, **body) -> dict:
    body.setdefault("tests", [{"input": "", "output": ""}])
    r = c.post("/judge", json={"code": code, "language": language, **body})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_image_has_debians_toolchains(sbx_container):
    found = sbx_container.get("/health").json()["languages"]
    assert {"cpp", "rust", "javascript"} <= set(found), found


def test_the_image_has_the_precompiled_header_the_cpp_flags_name(sbx_container):
    assert f"-I {PCH_DIR}" in " ".join(CPP.compile)
    code = f'#include <cstdio>\nint main(){{ puts(fopen("{PCH_DIR}/bits/stdc++.h.gch", "r") ? "PCH" : "none"); }}'
    assert _judge(sbx_container, code, "cpp", tests=[{"input": "", "output": "PCH"}])["verdicts"] == [
        "accepted"
    ]


def test_hub_rows_are_judged_right_and_wrong_in_the_container(sbx_container):
    bodies, expected = [], []
    for lang, (right, wrong) in PROGRAMS.items():
        spec = {**row_to_tests(hub_row(lang, right)), "timeout_s": 20}
        bodies += [{**spec, "code": right}, {**spec, "code": wrong}]
        expected += [1.0, 2 / 3]
    results = sbx_container.post("/judge_batch", json={"requests": bodies}).json()["results"]
    assert [r["reward"] for r in results] == expected, json.dumps(results)[:2000]
    assert FENCE.keys() == PROGRAMS.keys()


def test_compile_errors_are_reported_in_the_container(sbx_container):
    r = _judge(sbx_container, 'fn main() { let x: i32 = "no"; }', "rust")
    assert r["verdicts"] == ["compile_error"] and "mismatched types" in r["details"]


@pytest.mark.parametrize(
    ("code", "language", "limits", "verdicts"),
    [
        ("int main(){volatile long x=0; while(1) x++;}", "cpp", {"timeout_s": 1}, ["time_limit"]),
        ("#include <unistd.h>\nint main(){ while (1) fork(); }", "cpp", {"timeout_s": 2}, ["time_limit"]),
        (
            'fn main(){ let s = "x".repeat(100000); loop { println!("{}", s); } }',
            "rust",
            {"output_mb": 1},
            ["output_limit"],
        ),
        (
            '#include <cstdio>\nint main(){ puts(fopen("/usr/evil", "w") ? "WROTE" : "denied"); }',
            "cpp",
            {"tests": [{"input": "", "output": "denied"}]},
            ["accepted"],
        ),
    ],
    ids=["cpp-loop", "cpp-fork-bomb", "rust-output-flood", "cpp-write-system"],
)
def test_attacks_are_contained_in_the_container(sbx_container, code, language, limits, verdicts):
    assert _judge(sbx_container, code, language, **limits)["verdicts"] == verdicts
    ok = _judge(sbx_container, HONEST, "cpp", tests=[{"input": "2 40\n", "output": "42\n"}])
    assert ok["verdicts"] == ["accepted"]


def test_a_memory_bomb_is_contained_in_the_container(sbx_container):
    code = (
        "#include <cstdlib>\n#include <cstring>\n"
        "int main(){ for (;;) { char *p = (char *)malloc(1 << 24); if (!p) return 3; memset(p, 1, 1 << 24); } }"
    )
    verdicts = _judge(sbx_container, code, "cpp", memory_mb=256)["verdicts"]
    if "cgroup" in sbx_container.get("/health").json()["isolation"]:
        assert verdicts == ["memory_limit"]
    else:  # only the address-space limit bounds it: the allocation fails and the program ends badly
        assert verdicts == ["runtime_error"]


@pytest.mark.skipif(not X86, reason="the inline assembly is x86-64")
def test_raw_syscalls_are_refused_in_the_container(sbx_container):
    code = (
        "#include <cstdio>\n" + ASM_SYSCALL + "int main(){\n"
        '  printf("%ld %ld\\n", sys(272, 0x10000000), sys(56, 0x10000000 | 17)); }'
    )
    assert _judge(sbx_container, code, "cpp", tests=[{"input": "", "output": "-1 -1"}])["verdicts"] == [
        "accepted"
    ]
