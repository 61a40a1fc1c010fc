"""Hostile C++ and Rust programs (and compiles): each attack family of the Python suite, contained with the
right verdict, and the server keeps serving after it. The compiler and the compiled program run under the
same namespaces, uid, seccomp filter, rlimits and cgroup as Python."""

import os
import platform
import socket
import time

import pytest

from tests.sandbox.test_languages import languages_here

HONEST = "#include <iostream>\nint main(){long long a,b;std::cin>>a>>b;std::cout<<a+b<<'\\n';}"
X86 = platform.machine() == "x86_64"
# A raw system call through inline assembly: no libc wrapper for the filter to miss.
ASM_SYSCALL = """
static long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  long r; register long r10 asm("r10") = d; register long r8 asm("r8") = e;
  asm volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
  return r;
}
"""


def _slot_uids(sbx) -> set[int]:
    """This server's slot uids and their checkers' (its /health names the base)."""
    health = sbx.get("/health").json()
    base, n = health["uid_base"], health["workers"]
    return set() if base is None else {*range(base, base + n), *range(base + 500, base + 500 + n)}


def _slot_processes(uids: set[int]) -> list[int]:
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if uid in uids:
            pids.append(int(pid))
    return pids


@pytest.fixture(autouse=True)
def still_serving(sbx, judge):
    """Before: the toolchains exist. After: nothing of the attack runs, and an honest C++ program passes."""
    missing = {"cpp", "rust"} - set(languages_here(sbx))
    if missing:
        pytest.skip(
            f"no {', '.join(sorted(missing))} toolchain on this machine (.ci/run installs g++ and rustc)"
        )
    uids = _slot_uids(sbx)
    yield
    deadline = time.monotonic() + 5
    while _slot_processes(uids) and time.monotonic() < deadline:
        time.sleep(0.1)
    if os.geteuid() == 0:
        assert _slot_processes(uids) == [], "an execution left processes behind"
    ok = judge(HONEST, language="cpp", tests=[{"input": "2 40\n", "output": "42\n"}])
    assert ok["verdicts"] == ["accepted"]


@pytest.fixture
def isolated(sbx):
    if not sbx.get("/health").json()["isolation"].startswith("namespaces"):
        pytest.skip("server runs without namespaces here (not root): host files are visible")


@pytest.fixture
def cgroup(sbx):
    if "cgroup" not in sbx.get("/health").json()["isolation"]:
        pytest.skip("no memory cgroup here: a native memory bomb ends as its allocation failure")


def test_cpp_infinite_loop_is_time_limit(judge):
    assert judge("int main(){volatile long x=0; while(1) x++;}", language="cpp", timeout_s=1)["verdicts"] == [
        "time_limit"
    ]


def test_rust_sleeping_forever_is_time_limit(judge):
    code = "fn main(){ std::thread::sleep(std::time::Duration::from_secs(1000)); }"
    assert judge(code, language="rust", timeout_s=1)["verdicts"] == ["time_limit"]


def test_cpp_fork_bomb_is_contained(judge):
    code = "#include <unistd.h>\nint main(){ while (1) fork(); }"
    assert judge(code, language="cpp", timeout_s=2)["verdicts"] == ["time_limit"]


def test_cpp_memory_bomb_is_memory_limit(judge, cgroup):
    code = (
        "#include <cstdlib>\n#include <cstring>\n"
        "int main(){ for (;;) { char *p = (char *)malloc(1 << 24); memset(p, 1, 1 << 24); } }"
    )
    assert judge(code, language="cpp", memory_mb=256)["verdicts"] == ["memory_limit"]


def test_rust_memory_bomb_is_memory_limit(judge, cgroup):
    code = "fn main(){ let mut v = Vec::new(); loop { v.push(vec![1u8; 1 << 24]); } }"
    assert judge(code, language="rust", memory_mb=256)["verdicts"] == ["memory_limit"]


def test_rust_output_flood_is_output_limit(judge):
    code = 'fn main(){ let s = "x".repeat(100000); loop { println!("{}", s); } }'
    assert judge(code, language="rust", output_mb=1)["verdicts"] == ["output_limit"]


def test_cpp_disk_fill_is_stopped_by_the_file_size_limit(judge):
    code = (
        "#include <cstdio>\nstatic char b[1 << 20];\n"
        'int main(){ FILE *f = fopen("big", "wb"); for (;;) { fwrite(b, 1, sizeof b, f); fflush(f); } }'
    )
    assert judge(code, language="cpp", disk_mb=8)["verdicts"] == ["runtime_error"]
    assert not os.path.exists("/tmp/run/big")


def test_cpp_network_is_unreachable_even_to_loopback(judge):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    code = (
        "#include <sys/socket.h>\n#include <netinet/in.h>\n#include <arpa/inet.h>\n#include <cstdio>\n"
        'int main(){ int s = socket(AF_INET, SOCK_STREAM, 0); if (s < 0) { puts("NO_NET"); return 0; }\n'
        f"  sockaddr_in a{{}}; a.sin_family = AF_INET; a.sin_port = htons({port});\n"
        '  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);\n'
        '  puts(connect(s, (sockaddr *)&a, sizeof a) == 0 ? "CONNECTED" : "NO_NET"); }'
    )
    try:
        assert judge(code, language="cpp", tests=[{"input": "", "output": "NO_NET"}])["verdicts"] == [
            "accepted"
        ]
    finally:
        listener.close()


def test_cpp_host_files_are_hidden_and_the_system_is_read_only(judge, isolated):
    secret = os.path.abspath(__file__)
    code = (
        "#include <cstdio>\n"
        f'int main(){{ printf("%d\\n", fopen("{secret}", "r") != nullptr);\n'
        '  const char *paths[] = {"/etc/passwd-x", "/usr/evil", "/root/evil"};\n'
        '  for (auto p : paths) puts(fopen(p, "w") ? "WROTE" : "denied"); }'
    )
    r = judge(code, language="cpp", tests=[{"input": "", "output": "0\ndenied\ndenied\ndenied\n"}])
    assert r["verdicts"] == ["accepted"]


def test_the_compiler_cannot_include_host_files(judge, isolated):
    r = judge(f'#include "{os.path.abspath(__file__)}"\nint main(){{}}', language="cpp")
    assert r["verdicts"] == ["compile_error"]
    assert "No such file" in r["details"] and "still_serving" not in r["details"]


def test_a_compile_writing_past_the_file_size_limit_is_compile_error(judge):
    r = judge("char a[1 << 30] = {1};\nint main(){ return a[5]; }", language="cpp")
    assert r["verdicts"] == ["compile_error"] and r["details"]


def test_a_program_too_large_to_carry_to_its_tests_is_compile_error_not_a_sandbox_error(judge):
    r = judge("char a[48 << 20] = {1};\nint main(){ return a[5] - 1; }", language="cpp")
    assert r["verdicts"] == ["compile_error"] and "larger than" in r["details"]


def test_cpp_killing_the_parent_or_everyone_is_refused(judge):
    code = (
        "#include <signal.h>\n#include <unistd.h>\n#include <cstdio>\n"
        'int main(){ kill(getppid(), SIGKILL); kill(1, SIGKILL); kill(-1, SIGKILL); puts("alive"); }'
    )
    assert judge(code, language="cpp", tests=[{"input": "", "output": "alive"}])["verdicts"] == ["accepted"]


def test_cpp_leftover_daemon_is_killed_with_its_execution(sbx, judge):
    code = (
        "#include <unistd.h>\n#include <cstdio>\n"
        "int main(){ if (fork() == 0) { setsid(); if (fork() == 0) sleep(1000); _exit(0); }\n"
        '  puts("parent done"); }'
    )
    assert judge(code, language="cpp", tests=[{"input": "", "output": "parent done"}])["verdicts"] == [
        "accepted"
    ]
    assert _slot_processes(_slot_uids(sbx)) == [] or os.geteuid() != 0


@pytest.mark.skipif(not X86, reason="the inline assembly is x86-64")
def test_cpp_raw_syscalls_through_inline_assembly_are_refused(judge):
    # unshare(CLONE_NEWUSER), ptrace(PTRACE_ATTACH, 1), mount(tmpfs), unshare through the x32 ABI,
    # clone(CLONE_NEWUSER | SIGCHLD) and clone3 (whose flags no filter can read): EPERM, ..., ENOSYS.
    code = (
        "#include <cstdio>\n" + ASM_SYSCALL + "int main(){\n"
        "  unsigned long args[11] = {0x10000000, 0, 0, 0, 17};\n"
        '  printf("%ld\\n", sys(272, 0x10000000));\n'
        '  printf("%ld\\n", sys(101, 16, 1));\n'
        '  printf("%ld\\n", sys(165, (long)"none", (long)"/tmp", (long)"tmpfs"));\n'
        '  printf("%ld\\n", sys(0x40000000 | 272, 0x10000000));\n'
        '  printf("%ld\\n", sys(56, 0x10000000 | 17));\n'
        '  printf("%ld\\n", sys(435, (long)args, sizeof args)); }'
    )
    r = judge(code, language="cpp", tests=[{"input": "", "output": "-1\n-1\n-1\n-1\n-1\n-38\n"}])
    assert r["verdicts"] == ["accepted"]


@pytest.mark.skipif(not X86, reason="the inline assembly is x86-64")
def test_rust_raw_syscalls_through_unsafe_are_refused(judge):
    # unshare(CLONE_NEWUSER) through asm!, ptrace(PTRACE_ATTACH, 1) through libc's syscall() over FFI.
    code = (
        "use std::arch::asm;\n"
        'extern "C" { fn syscall(n: i64, ...) -> i64; }\n'
        "fn main(){\n"
        "  let r: i64;\n"
        '  unsafe { asm!("syscall", inlateout("rax") 272i64 => r, in("rdi") 0x10000000i64,'
        ' lateout("rcx") _, lateout("r11") _); }\n'
        '  println!("{}", r);\n'
        '  println!("{}", unsafe { syscall(101, 16i64, 1i64) });\n'
        "}"
    )
    r = judge(code, language="rust", tests=[{"input": "", "output": "-1\n-1\n"}])
    assert r["verdicts"] == ["accepted"]


def test_a_reserved_exit_status_is_the_programs_own_runtime_error(judge):
    for status in (121, 1, 255):  # 121 is the harness's own "setup failed"
        r = judge(f"int main(){{ return {status}; }}", language="cpp")
        assert r["verdicts"] == ["runtime_error"], status


ENVIRONMENT_NAMES = "HOME\nLANG\nMKL_NUM_THREADS\nOMP_NUM_THREADS\nOPENBLAS_NUM_THREADS\nPATH\nTMPDIR\n"


def test_cpp_sees_a_minimal_environment(judge):
    code = (
        "#include <cstdio>\n#include <set>\n#include <string>\nextern char **environ;\n"
        "int main(){ std::set<std::string> names; for (char **e = environ; *e; ++e) {\n"
        "  std::string kv(*e); names.insert(kv.substr(0, kv.find('='))); }\n"
        "  for (auto &n : names) puts(n.c_str()); }"
    )
    r = judge(code, language="cpp", tests=[{"input": "", "output": ENVIRONMENT_NAMES}])
    assert r["verdicts"] == ["accepted"]


def test_a_program_that_replaces_its_own_binary_does_not_change_the_next_test(judge):
    code = (
        "#include <cstdio>\n#include <unistd.h>\n#include <sys/stat.h>\n"
        'int main(){ unlink("solution"); FILE *f = fopen("solution", "w");\n'
        '  if (f) { fputs("#!/bin/sh\\necho 42\\n", f); fclose(f); chmod("solution", 0755); }\n'
        '  puts("1"); }'
    )
    tests = [{"input": "", "output": "1"}] * 6
    assert judge(code, language="cpp", tests=tests)["verdicts"] == ["accepted"] * 6
