"""Code reward: run each completion's final program against its tests in the sandbox server.

`code_reward` is a TRL reward function. It extracts the program, the last fenced code block after `</think>`
(an example-output block is not a code block: see below), sends
the programs in batches to `/judge_batch` on the sandbox server(s) at `sandbox_url` (the recipe's
`sandbox.url`, which rl.rewards binds; used on its own, the SANDBOX_URL environment variable), comma-separated
(a batch goes to each in turn), retries server errors on the next server, and scores:

- `binary` (default): 1.0 when every test passes, else 0.0
- `fraction`: the fraction of tests passed
- `codeforces`: tests judged in order and stopped at the first failure, as Codeforces does; the score is
  the fraction passed before it (1.0 only when accepted)

Rows without tests return None (not code rows). Rows the sandbox could not judge return None and are
counted with `verifiers.failures.record`, never scored 0.0. A completion with no code block in its final
answer scores 0.0, as does one that never closed its thinking (`verifiers.completion`).

Which block is the program (`program_block`): the final answer's last fenced code block, where a block
that shows output is not a code block. Blocks rank by their tag, and the last block of the highest rank
present is the program (blank blocks are skipped):

1. tagged with a programming language (```python, ```cpp, ```rust, ```js, ```java, ...: any spelling
   `sandbox.languages.canonical_language` knows, and the other languages listed below);
2. untagged (```);
3. tagged with anything else: output and data (```text, ```output, ```console, ```plaintext, ```json),
   shells and terminals (```bash, ```sh, ```shell: how the program is run, not the program).

So an example-output block after a tagged program (```text, ```output, ```console or an untagged block)
is never what is judged, and a later block of a lower rank can never displace the program: a right program
in ```text after a wrong one in ```python is not looked at. The choice reads only tags and order, never the
content or a test, so every answer has exactly one program judged. Write the program in a tagged block: an
untagged program followed by untagged output is judged on the output.

Languages: a row asks for the language in its tests' `language` (else its `language` column, else
Python); the program is judged in that language. A program tagged with another language (```cpp
for a Rust row, ```python for a C++ row) scores 0.0 without being run, and is counted
(`verifiers.failures.note`, logged as `rewards/<name>/wrong_language`) so the drift can be watched.
A program taken from an untagged block, or from one whose tag names no language (```text), is judged
in the row's language.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from sandbox.api import JudgeRequest
from sandbox.auth import auth_headers
from sandbox.compiler import COMPILE_TIMEOUT_S
from sandbox.languages import SUPPORTED_LANGUAGES, canonical_language, resolve
from verifiers import failures
from verifiers.completion import final_answer

log = logging.getLogger("verifiers")

SCORINGS = ("binary", "fraction", "codeforces")
_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)```", re.DOTALL)
_BATCH = 64
_RETRIES = 4
# How long a batch may take: its programs' own worst case (`_batch_timeout_s`) on top of this, which covers
# waiting in the server's queue behind other ranks' batches.
_WAIT_S = 900.0
_DEFAULT_TIMEOUT_S = JudgeRequest.model_fields["timeout_s"].default
_EXEC_OVERHEAD_S = 1.0  # per execution, beyond its time limit: fork, reading output, killing, resetting
# Each rank of a node starts its round-robin over the node's replicas at its local rank, so the first
# batches of 8 ranks go to 8 replicas instead of all to the first.
_rr = int(os.environ.get("LOCAL_RANK", "0") or 0)
_rr_lock = threading.Lock()


# Fence tags that name a programming language the sandbox does not judge: a block so tagged is a program in
# another language than any row asks for. Other tags (text, output, console...) say nothing about the
# language, and neither do shells (bash, sh, shell, zsh, powershell): a shell block shows how a program
# is run, so it is not the program (`program_block`).
_OTHER_LANGUAGES = frozenset(
    [
        "c",
        "java",
        "go",
        "golang",
        "kotlin",
        "csharp",
        "cs",
        "c#",
        "fsharp",
        "ruby",
        "rb",
        "php",
        "typescript",
        "ts",
        "swift",
        "scala",
        "haskell",
        "hs",
        "pascal",
        "perl",
        "lua",
        "r",
        "julia",
        "ocaml",
        "d",
        "dart",
        "elixir",
        "erlang",
        "clojure",
        "fortran",
        "cobol",
        "sql",
        "zig",
        "nim",
        "crystal",
        "groovy",
        "objective-c",
        "objc",
        "vb",
        "vbnet",
    ]
)


_PROGRAM, _UNTAGGED, _OTHER = 2, 1, 0  # how surely a fenced block is the program, by its tag


def program_block(text: str) -> tuple[str, str | None, str] | None:
    """The fenced block of `text` that is the program (the module docstring's rule): its tag as written,
    the language that tag names (canonical; None when it names none) and its code; None when no fenced
    block has any code."""
    best: tuple[int, str, str | None, str] | None = None
    for tag, code in _FENCE.findall(text):
        if not code.strip():
            continue
        language = canonical_language(tag) if tag else None
        if language in SUPPORTED_LANGUAGES or language in _OTHER_LANGUAGES:
            rank = _PROGRAM
        else:
            rank, language = (_OTHER if tag else _UNTAGGED), None
        if best is None or rank >= best[0]:  # a later block of the same rank wins
            best = (rank, tag, language, code)
    return None if best is None else best[1:]


def extract_program(completion: Any, think_prefill: bool = True) -> tuple[str | None, str | None]:
    """The program of the final answer (`verifiers.completion.final_answer`, then `program_block`) and the
    language its tag names, canonical (`cpp` for ```c++; None when the tag names none, e.g. ```text or
    no tag); (None, None) when there is no program."""
    answer = final_answer(completion, think_prefill)
    if answer is None:
        return None, None  # the reasoning never finished: there is no final answer
    block = program_block(answer)
    return (None, None) if block is None else block[1:]


def extract_code(completion: Any, think_prefill: bool = True) -> str | None:
    """The program of the final answer (`extract_program`), or None."""
    return extract_program(completion, think_prefill)[1]


def _spec(tests: Any) -> dict[str, Any] | None:
    if tests is None or tests == "" or tests == {}:
        return None
    return json.loads(tests) if isinstance(tests, str) else dict(tests)


def _servers(sandbox_url: str | None = None) -> list[str]:
    """The sandbox URLs: `sandbox_url` (the recipe's sandbox.url), else SANDBOX_URL for standalone use."""
    raw = sandbox_url or os.environ.get("SANDBOX_URL", "")
    urls = [u.strip() for u in raw.split(",") if u.strip()]
    if not urls:
        raise RuntimeError(
            "no sandbox URL: set sandbox.url in the recipe (or SANDBOX_URL when calling code_reward on its own) "
            "to a running sandbox (python -m sandbox serve|up)"
        )
    return urls


def _client(url: str, timeout_s: float = _WAIT_S) -> httpx.Client:
    timeout = httpx.Timeout(_WAIT_S, read=timeout_s)
    if url.startswith("unix:"):
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=url[5:]), base_url="http://sandbox", timeout=timeout
        )
    return httpx.Client(base_url=url.rstrip("/"), timeout=timeout, headers=auth_headers())


def _batch_timeout_s(bodies: list[dict[str, Any]]) -> float:
    """How long to wait for a batch's answer: `_WAIT_S`, plus every execution of the batch run one after
    another to its time limit (a compile step to the compiler's).

    The server ends every execution at its limit, so this bounds a batch that one slot judges alone. A
    fixed wait let the answers themselves fail the batch: programs that each sleep to the limit in
    every test outlasted it, and all rows of the batch (honest ones too) scored None, escaping the 0 a
    time limit earns.
    """
    total = _WAIT_S
    for body in bodies:
        try:
            limit = float(body.get("timeout_s", _DEFAULT_TIMEOUT_S))
            lang = resolve(str(body.get("language") or "python"))
        except (TypeError, ValueError):  # the server refuses the row; it adds no execution
            continue
        runs = 1 if body.get("mode") == "assert" else len(body.get("tests") or ())
        total += runs * (limit + _EXEC_OVERHEAD_S) + (COMPILE_TIMEOUT_S if lang.compile else 0.0)
    return total


def _post_batch(bodies: list[dict[str, Any]], urls: list[str]) -> list[dict[str, Any]]:
    """POST one batch, moving to the next server on connection errors, 429 and 5xx; raises when all fail.

    The body is JSON with non-ASCII escaped (as `json.dumps` writes it), so a lone surrogate in one program
    or test (JSON allows "\\ud800") reaches the server, which judges that row alone, instead of failing to
    encode as UTF-8 and taking every row of the batch down to None.
    """
    global _rr
    with _rr_lock:
        start, _rr = _rr, _rr + 1
    payload = json.dumps({"requests": bodies}).encode()
    timeout_s = _batch_timeout_s(bodies)
    last = "no attempt"
    for attempt in range(_RETRIES * len(urls)):
        url = urls[(start + attempt) % len(urls)]
        try:
            with _client(url, timeout_s) as c:
                r = c.post("/judge_batch", content=payload, headers={"content-type": "application/json"})
            if r.status_code == 200:
                results = r.json()["results"]
                if len(results) == len(bodies):
                    return results
                last = f"{url} returned {len(results)} results for {len(bodies)} requests"
            else:
                last = f"{url} answered HTTP {r.status_code}: {r.text[:200]}"
                if r.status_code < 500 and r.status_code != 429:
                    break  # our request is wrong; retrying will not help
        except (httpx.HTTPError, ValueError, KeyError) as e:
            last = f"{url}: {type(e).__name__}: {e}"
        time.sleep(min(8.0, 0.25 * 2 ** (attempt // len(urls))))
    raise RuntimeError(last)


def _score(result: dict[str, Any], scoring: str) -> float | None:
    verdicts, total = result.get("verdicts", []), result.get("total", 0)
    if "sandbox_error" in verdicts or not total:
        return None
    if scoring == "fraction":
        return result["passed"] / total
    if scoring == "codeforces":
        first_fail = next((i for i, v in enumerate(verdicts) if v != "accepted"), len(verdicts))
        return first_fail / total
    return 1.0 if result["passed"] == total else 0.0


def code_reward(
    completions: list[Any],
    tests: list[Any],
    sandbox_url: str | None = None,
    scoring: str | None = None,
    think_prefill: bool = True,
    **kwargs: Any,
) -> list[float | None]:
    """TRL reward: one score per completion; None for non-code rows and for rows the sandbox failed on.

    `sandbox_url` and `scoring` come from the recipe (`sandbox.url`, the reward's `kwargs`); on its own,
    the sandbox is SANDBOX_URL and the scoring binary."""
    scoring = scoring or "binary"
    if scoring not in SCORINGS:
        raise ValueError(f"unknown code scoring {scoring!r}; use one of {', '.join(SCORINGS)}")
    scores: list[float | None] = [None] * len(completions)
    todo: list[tuple[int, dict[str, Any]]] = []
    row_languages = kwargs.get("language")  # the dataset's column, when it has one
    if not isinstance(row_languages, list | tuple) or len(row_languages) != len(completions):
        row_languages = [None] * len(completions)
    wrong_language = 0
    for i, (completion, spec_raw) in enumerate(zip(completions, tests, strict=True)):
        try:
            spec = _spec(spec_raw)
        except (ValueError, TypeError) as e:
            failures.record("code_reward", f"row {i}: tests column is not a JSON object: {e}")
            continue
        if spec is None:
            continue
        tag, code = extract_program(completion, think_prefill)
        if code is None:
            scores[i] = 0.0  # no program in the answer: the model's fault
            continue
        language = canonical_language(spec.get("language") or row_languages[i])
        if tag is not None and tag != language:
            scores[i] = 0.0  # a program in another language than the row asks for
            wrong_language += 1
            continue
        body = {**spec, "code": code, "language": language}
        if scoring == "codeforces":
            body["stop_on_first_failure"] = True
        todo.append((i, body))
    failures.note("code_reward", "wrong_language", wrong_language)
    chunks = [todo[k : k + _BATCH] for k in range(0, len(todo), _BATCH)]
    if not chunks:
        return scores

    def run(chunk: list[tuple[int, dict[str, Any]]]) -> None:
        try:
            results = _post_batch([b for _, b in chunk], urls)
        except RuntimeError as e:
            failures.record("code_reward", f"sandbox unavailable: {e}", n=len(chunk))
            return
        for (i, _), res in zip(chunk, results, strict=True):
            scores[i] = _score(res, scoring)
            if scores[i] is None:
                failures.record("code_reward", f"sandbox error: {res.get('error') or res.get('verdicts')}")

    urls = _servers(sandbox_url)
    with ThreadPoolExecutor(max_workers=min(len(chunks), 4 * len(urls))) as ex:
        list(ex.map(run, chunks))
    return scores
