"""C++, Rust and JavaScript in the real server: PrimeIntellect-shaped rows judged right and wrong through
`code_reward`, compile errors, the compile cache, request errors, and the dataset spellings."""

import json
import uuid

import pytest

from sandbox import local_server
from sandbox.formats import row_to_tests
from sandbox.languages import SUPPORTED_LANGUAGES, canonical_language
from verifiers import failures
from verifiers.code import code_reward


def languages_here(sbx) -> dict[str, str]:
    """The languages the session's server found toolchains for (its /health)."""
    return sbx.get("/health").json()["languages"]


@pytest.fixture(scope="module")
def toolchains(sbx) -> dict[str, str]:
    found = languages_here(sbx)
    missing = {"cpp", "rust", "javascript"} - set(found)
    if missing:
        pytest.skip(
            f"no toolchain for {', '.join(sorted(missing))} here (.ci/run installs g++, rustc, nodejs)"
        )
    return found


# ------------------------------------------------------------------ rows shaped like the hub's

KADANE_STATEMENT = (
    "Solve the following coding problem using the programming language {lang}:\n\n"
    "For each of t arrays print the largest sum of a non-empty contiguous subarray."
)
KADANE_CASES = [
    {"type": "stdin_stdout", "input": "3\n5\n1 -2 3 4 -1\n3\n-5 -1 -3\n1\n7\n", "output": "7\n-1\n7\n"},
    {"type": "stdin_stdout", "input": "1\n6\n-2 1 -3 4 -1 2\n", "output": "5\n"},
    {
        "type": "stdin_stdout",
        "input": "2\n3\n1000000000 1000000000 1000000000\n2\n-1000000000 1\n",
        "output": "3000000000\n1\n",
    },
]
CPP_RIGHT = """#include <bits/stdc++.h>
using namespace std;

int main() {
    ios::sync_with_stdio(false);
    cin.tie(nullptr);
    int t;
    cin >> t;
    while (t--) {
        int n;
        cin >> n;
        long long best = LLONG_MIN, cur = 0;
        for (int i = 0; i < n; ++i) {
            long long x;
            cin >> x;
            cur = max(x, cur + x);
            best = max(best, cur);
        }
        cout << best << '\\n';
    }
    return 0;
}
"""
CPP_WRONG = CPP_RIGHT.replace("long long", "int").replace("LLONG_MIN", "INT_MIN")  # overflows on test 3
RUST_RIGHT = """use std::io::{self, Read, Write};

fn main() {
    let mut input = String::new();
    io::stdin().read_to_string(&mut input).unwrap();
    let mut it = input.split_ascii_whitespace().map(|x| x.parse::<i64>().unwrap());
    let t = it.next().unwrap();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    for _ in 0..t {
        let n = it.next().unwrap() as usize;
        let mut best = i64::MIN;
        let mut cur = 0i64;
        for _ in 0..n {
            let x = it.next().unwrap();
            cur = x.max(cur + x);
            best = best.max(cur);
        }
        writeln!(out, "{}", best).unwrap();
    }
}
"""
RUST_WRONG = RUST_RIGHT.replace("let mut best = i64::MIN;", "let mut best = 0i64;")  # all-negative arrays
JS_RIGHT = """const readline = require('readline');
const rl = readline.createInterface({ input: process.stdin, terminal: false });
const lines = [];
rl.on('line', (line) => lines.push(line));
rl.on('close', () => {
  const data = lines.join(' ').split(/\\s+/).filter(Boolean).map(Number);
  let p = 0;
  const t = data[p++];
  const out = [];
  for (let k = 0; k < t; k++) {
    const n = data[p++];
    let best = -Infinity, cur = 0;
    for (let i = 0; i < n; i++) {
      const x = data[p++];
      cur = Math.max(x, cur + x);
      best = Math.max(best, cur);
    }
    out.push(String(best));
  }
  console.log(out.join('\\n'));
});
"""
JS_WRONG = JS_RIGHT.replace("let best = -Infinity", "let best = 0")
FENCE = {"cpp": "cpp", "rust": "rust", "javascript": "javascript"}
PROGRAMS = {
    "cpp": (CPP_RIGHT, CPP_WRONG),
    "rust": (RUST_RIGHT, RUST_WRONG),
    "javascript": (JS_RIGHT, JS_WRONG),
}


def hub_row(lang: str, solution: str) -> dict:
    """A PrimeIntellect/verifiable-coding-problems row: `verification_info` is a Python literal string."""
    info = {"language": lang, "test_cases": KADANE_CASES}
    return {
        "source": "codeforces",
        "task_type": "verifiable_code",
        "in_source_id": "1843_C",
        "problem_id": f"vfc_{lang}_kadane",
        "prompt": KADANE_STATEMENT.format(lang=lang),
        "gold_standard_solution": f"```{FENCE[lang]}\n{solution}```",
        "verification_info": repr(info),  # single quotes, as on the hub
        "metadata": repr({"difficulty": "1000", "time_limit": "1 second", "memory_limit": "256 megabytes"}),
    }


def _answer(fenced: str) -> str:
    return f"<think>Kadane's algorithm, in 64-bit.</think>\n{fenced}"


@pytest.fixture
def sandbox_env(sandbox_url, monkeypatch, toolchains):
    monkeypatch.setenv("SANDBOX_URL", sandbox_url)
    failures.drain()
    failures.drain_notes()


@pytest.mark.parametrize("lang", ["cpp", "rust", "javascript"])
def test_hub_rows_judge_the_reference_right_and_a_buggy_variant_wrong(sandbox_env, lang):
    right, wrong = PROGRAMS[lang]
    row = hub_row(lang, right)
    spec = row_to_tests(row)
    assert spec["language"] == lang
    tests = json.dumps({**spec, "timeout_s": 20})  # generous: node starts slowly on a loaded machine
    bad = f"```{FENCE[lang]}\n{wrong}```"
    assert code_reward([_answer(row["gold_standard_solution"]), _answer(bad)], [tests, tests]) == [1.0, 0.0]
    assert code_reward([_answer(bad)], [tests], scoring="fraction") == [2 / 3]
    assert failures.drain() == {}


def test_a_completion_in_another_language_scores_zero_and_is_counted(sandbox_env):
    tests = json.dumps(row_to_tests(hub_row("rust", RUST_RIGHT)))
    in_cpp = _answer(f"```cpp\n{CPP_RIGHT}```")  # right program, wrong language
    in_java = _answer("```java\nclass Main { public static void main(String[] a) {} }\n```")
    untagged = _answer(f"```\n{RUST_RIGHT}```")  # no tag: judged as the row's language
    as_text = _answer(f"```text\n{RUST_RIGHT}```")  # a tag naming no language: the same
    assert code_reward([in_cpp, in_java, untagged, as_text], [tests] * 4) == [0.0, 0.0, 1.0, 1.0]
    assert failures.drain_notes() == {("code_reward", "wrong_language"): 2}
    assert failures.drain() == {}


def test_the_language_column_decides_when_the_tests_do_not_name_one(sandbox_env):
    tests = json.dumps({"mode": "stdio", "tests": [{"input": "2 3\n", "output": "5\n"}], "timeout_s": 20})
    js = "const [a, b] = require('fs').readFileSync(0, 'utf8').trim().split(' ').map(Number);\nconsole.log(a + b);\n"
    answers = [_answer(f"```js\n{js}```")] * 2
    assert code_reward(answers, [tests, tests], language=["nodejs", "python"]) == [1.0, 0.0]
    assert failures.drain_notes() == {("code_reward", "wrong_language"): 1}  # the Python row's JS answer


# ------------------------------------------------------------------ compile step


def test_compile_errors_carry_the_compilers_first_lines(judge, toolchains):
    for lang, code, needle in (
        ("cpp", "int main( { return 0 }", "error"),
        ("rust", 'fn main() { let x: i32 = "no"; }', "mismatched types"),
        ("javascript", "function (", "SyntaxError"),
    ):
        r = judge(code, language=lang, tests=[{"input": "", "output": ""}] * 3)
        assert r["verdicts"] == ["compile_error"] * 3 and r["reward"] == 0.0, lang
        assert needle in r["details"] and len(r["details"].splitlines()) <= 20, r["details"]


def test_a_submission_compiles_once_for_all_its_tests_and_again_never(sbx, judge, toolchains):
    code = f'// {uuid.uuid4()}\n#include <cstdio>\nint main(){{ int a; scanf("%d", &a); printf("%d\\n", a * 2); }}'
    tests = [{"input": f"{i}\n", "output": f"{2 * i}\n"} for i in range(6)]
    before = sbx.get("/health").json()["compile_cache"]
    assert judge(code, language="cpp", tests=tests)["reward"] == 1.0
    assert judge(code, language="c++17", tests=tests[:2])["reward"] == 1.0
    after = sbx.get("/health").json()["compile_cache"]
    assert after["compiles"] - before["compiles"] == 1 and after["hits"] - before["hits"] == 1


def test_identical_sources_in_one_batch_compile_once(sbx, toolchains):
    code = f'// {uuid.uuid4()}\nfn main() {{ println!("7"); }}'
    body = {"code": code, "language": "rs", "tests": [{"input": "", "output": "7"}]}
    before = sbx.get("/health").json()["compile_cache"]["compiles"]
    results = sbx.post("/judge_batch", json={"requests": [body] * 4}).json()["results"]
    assert [r["reward"] for r in results] == [1.0] * 4
    assert sbx.get("/health").json()["compile_cache"]["compiles"] - before == 1


def test_stop_on_first_failure_reports_one_compile_error_and_counts_every_test(judge, toolchains):
    r = judge(
        "int main( {", language="cpp", tests=[{"input": "", "output": ""}] * 4, stop_on_first_failure=True
    )
    assert r["verdicts"] == ["compile_error"] and r["total"] == 4


# ------------------------------------------------------------------ honest programs the isolation must not break


def test_threads_deep_recursion_and_large_io_work_in_cpp(judge, toolchains):
    code = """#include <bits/stdc++.h>
using namespace std;
long long depth(int n) { volatile char pad[64]; pad[0] = 1; return n == 0 ? 0 : 1 + depth(n - 1) + pad[0] - 1; }
int main() {
    int n; scanf("%d", &n);
    vector<long long> part(4);
    vector<thread> ts;
    for (int k = 0; k < 4; ++k) ts.emplace_back([&, k] { for (int i = k; i < n; i += 4) part[k] += i; });
    for (auto &t : ts) t.join();
    printf("%lld %lld\\n", accumulate(part.begin(), part.end(), 0LL), depth(1000000));
    for (int i = 0; i < n; ++i) printf("%d\\n", i);
}
"""
    n = 200000
    expected = f"{n * (n - 1) // 2} 1000000\n" + "".join(f"{i}\n" for i in range(n))
    r = judge(code, language="cpp", tests=[{"input": f"{n}\n", "output": expected}], timeout_s=10)
    assert r["verdicts"] == ["accepted"], r


def test_rust_threads_work(judge, toolchains):
    code = (
        "fn main() { let hs: Vec<_> = (0..4u64).map(|k| std::thread::spawn(move || k * 10)).collect();\n"
        '  println!("{}", hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()); }'
    )
    assert judge(code, language="rust", tests=[{"input": "", "output": "60"}])["verdicts"] == ["accepted"]


def test_javascript_runtime_error_and_memory_are_judged(judge, toolchains):
    assert judge("throw new Error('boom');", language="js")["verdicts"] == ["runtime_error"]
    hog = "const a = []; for (;;) a.push(new Array(1 << 20).fill(1));"
    assert judge(hog, language="javascript", memory_mb=128)["verdicts"] in (
        ["memory_limit"],
        ["runtime_error"],
    )


# ------------------------------------------------------------------ requests


def test_unknown_language_is_422_naming_the_supported_ones(sbx):
    r = sbx.post("/judge", json={"code": "x", "language": "cobol", "tests": [{"input": "", "output": ""}]})
    assert r.status_code == 422 and "cobol" in r.text and "rust" in r.text


def test_function_and_assert_modes_are_python_only(sbx):
    body = {
        "code": "x",
        "language": "cpp",
        "mode": "function",
        "fn_name": "f",
        "tests": [{"input": [1], "output": 1}],
    }
    r = sbx.post("/judge", json=body)
    assert r.status_code == 422 and "Python only" in r.text


def test_an_unknown_language_in_a_batch_fails_that_item_only(sbx):
    good = {"code": "print(1)", "tests": [{"input": "", "output": "1"}]}
    bad = {**good, "language": "brainfuck"}
    results = sbx.post("/judge_batch", json={"requests": [good, bad]}).json()["results"]
    assert results[0]["reward"] == 1.0
    assert results[1]["verdicts"] == ["sandbox_error"] and "brainfuck" in results[1]["error"]


def test_run_code_compiles_and_runs_like_sandboxfusion(sbx, toolchains):
    ok = sbx.post("/run_code", json={"code": CPP_RIGHT, "language": "cpp", "stdin": "1\n2\n-1 5\n"}).json()
    assert ok["status"] == "Success" and ok["run_result"]["stdout"] == "5\n"
    bad = sbx.post("/run_code", json={"code": "fn main() {", "language": "rust"}).json()
    assert (
        bad["status"] == "Failed" and bad["run_result"] is None and "error" in bad["compile_result"]["stderr"]
    )
    assert sbx.post("/run_code", json={"code": "x", "language": "cobol"}).status_code == 422


def test_health_names_each_toolchain_with_its_version(toolchains):
    assert set(toolchains) == SUPPORTED_LANGUAGES
    assert toolchains["cpp"].startswith("g++ ") and toolchains["rust"].startswith("rustc ")


def test_serve_names_the_languages_it_found_at_start_up(tmp_path, toolchains):
    log = tmp_path / "server.log"
    with local_server(workers=1, log_path=str(log)):
        pass
    line = next(line for line in log.read_text().splitlines() if "languages:" in line)
    assert all(f"{name} ({version})" in line for name, version in toolchains.items()), line


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("C++", "cpp"),
        ("cpp17", "cpp"),
        ("GNU C++17", "cpp"),
        ("c++20", "cpp"),
        ("rs", "rust"),
        ("Rust 2021", "rust"),
        ("js", "javascript"),
        ("nodejs", "javascript"),
        ("Node.js", "javascript"),
        ("JavaScript", "javascript"),
        ("Python3", "python"),
        ("pypy3", "python"),
        (None, "python"),
        ("java", "java"),
        ("python2", "python2"),
    ],
)
def test_dataset_spellings_map_to_one_name(spelling, name):
    assert canonical_language(spelling) == name
