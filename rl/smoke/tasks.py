"""The smoke tasks: small math / code / instruction-following sets, generated from a seed.

Rows follow recipes/README.md: `prompt` (chat messages), `task`, and the columns each verifier reads
(`answer` for math, `tests` for code, `instruction_id_list` + `kwargs` for ifeval). Every task has a
`train` split (what GRPO samples prompts from) and a disjoint `test` split (held out, for the report).

The cold-start SFT set (`sft`) is built so that RL has something to teach, the way a real cold start
leaves a model that can do a task but does not always choose to:

- math: half-careful. Some demonstrations reason digit by digit and get the sum right; the rest skip the
  reasoning (`<think>` closed at once) and copy an operand, which is wrong. The careful kind is the
  minority, so greedy decoding after SFT skips and stage 1's verifier reward has a clear choice to reward.
- ifeval: the demonstrations follow the instruction in a minority of cases, so greedy decoding ignores
  it and stage 2's rule reward has something to teach.
- code: always correct (simple stdin/stdout and function problems judged by the real sandbox).

`write_smoke_data(dir)` stores everything as JSONL (`<dir>/<task>/<split>.jsonl`, the layout rl.data's
`local:` sources read); `rl/data/smoke/` holds the copy generated with the default seed.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from verifiers.jsonl import read_jsonl

SEED = 0
DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "smoke"

# Fraction of cold-start demonstrations that take the rewarded path (see module docstring).
SFT_CAREFUL_MATH = 0.35
SFT_FOLLOW_IFEVAL = 0.35
SFT_MATH_ROWS = 900

Row = dict[str, Any]


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


# --------------------------------------------------------------------------------------------- math


def _math_problems() -> list[tuple[int, str, int]]:
    """Place-value sums and differences: the answer's digits are the operands' digits, no carrying.

    A tiny model trained for a minute learns to copy digits across the prompt but not to memorise
    addition tables, so the smoke task is arithmetic it can generalise to unseen (held-out) operands.
    """
    out = []
    for h in range(1, 10):
        for tu in range(10, 100):
            out.append((h * 100, "+", tu))  # 300 + 45 = 345
            out.append((h * 100 + tu, "-", tu))  # 345 - 45 = 300
        for t in range(1, 10):
            for u in range(1, 10):
                out.append((h * 100 + t * 10, "+", u))  # 340 + 5 = 345
    return out


def _math_value(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b


def math_row(a: int, op: str, b: int) -> Row:
    return {"prompt": _user(f"What is {a} {op} {b}?"), "task": "math", "answer": str(_math_value(a, op, b))}


def math_careful(a: int, op: str, b: int) -> str:
    """Reasoning that gets it right: the place values written out, then the result."""
    result = _math_value(a, op, b)
    return (
        f"<think>\nLet me compute. {a} {op} {b} = {result}.\n</think>\n\nThe answer is \\boxed{{{result}}}."
    )


def math_hasty(a: int, op: str, b: int) -> str:
    """No reasoning, a copied operand: always wrong, since b >= 1."""
    return f"<think>\n</think>\n\nThe answer is \\boxed{{{a}}}."


# --------------------------------------------------------------------------------------------- code

# (family, prompt template, stdio program or None, function template or None, input maker, reference)
_NAMES = ["x", "y", "n", "m", "p", "q", "u", "v"]


def _stdio_families() -> list[tuple[str, str, str, Any]]:
    """(name, prompt, program, reference(input) -> output) for stdin/stdout problems."""
    return [
        (
            "sum",
            "Read two integers on one line and print their sum.",
            "a, b = map(int, input().split())\nprint(a + b)",
            lambda a, b: a + b,
        ),
        (
            "difference",
            "Read two integers on one line and print the first minus the second.",
            "a, b = map(int, input().split())\nprint(a - b)",
            lambda a, b: a - b,
        ),
        (
            "product",
            "Read two integers on one line and print their product.",
            "a, b = map(int, input().split())\nprint(a * b)",
            lambda a, b: a * b,
        ),
        (
            "maximum",
            "Read two integers on one line and print the larger one.",
            "a, b = map(int, input().split())\nprint(max(a, b))",
            lambda a, b: max(a, b),
        ),
        (
            "minimum",
            "Read two integers on one line and print the smaller one.",
            "a, b = map(int, input().split())\nprint(min(a, b))",
            lambda a, b: min(a, b),
        ),
    ]


def _function_families() -> list[tuple[str, str, str, Any]]:
    """(name, prompt with {fn}, body with {fn}, reference) for function-call problems."""
    return [
        (
            "add",
            "Write a function {fn}(a, b) that returns the sum of a and b.",
            "return a + b",
            lambda a, b: a + b,
        ),
        (
            "sub",
            "Write a function {fn}(a, b) that returns a minus b.",
            "return a - b",
            lambda a, b: a - b,
        ),
        (
            "mul",
            "Write a function {fn}(a, b) that returns the product of a and b.",
            "return a * b",
            lambda a, b: a * b,
        ),
        (
            "big",
            "Write a function {fn}(a, b) that returns the larger of a and b.",
            "return max(a, b)",
            lambda a, b: max(a, b),
        ),
    ]


_FN_NAMES = [
    "solve",
    "calc",
    "compute",
    "combine",
    "apply",
    "answer",
    "result",
    "work",
    "go",
    "run",
    "do_it",
    "f",
]


def _code_rows(rng: random.Random) -> tuple[list[Row], list[str]]:
    """All code problems (row, reference completion) in a fixed order."""
    rows, solutions = [], []
    for name, prompt, program, ref in _stdio_families():
        for variant in range(12):
            pairs = [(rng.randint(-20, 50), rng.randint(-20, 50)) for _ in range(3)]
            tests: list[dict[str, Any]] = [
                {"input": f"{a} {b}\n", "output": f"{ref(a, b)}\n"} for a, b in pairs
            ]
            text = prompt if variant == 0 else f"{prompt} Example: for input {pairs[0][0]} {pairs[0][1]}."
            rows.append(
                {
                    "prompt": _user(text),
                    "task": "code",
                    "tests": json.dumps({"mode": "stdio", "tests": tests, "timeout_s": 5}),
                }
            )
            solutions.append(_code_answer(f"I read the two numbers and print the {name}.", program))
    for name, prompt, body, ref in _function_families():
        for fn in _FN_NAMES:
            pairs = [(rng.randint(-20, 50), rng.randint(-20, 50)) for _ in range(3)]
            tests = [{"input": [a, b], "output": ref(a, b)} for a, b in pairs]
            rows.append(
                {
                    "prompt": _user(prompt.format(fn=fn)),
                    "task": "code",
                    "tests": json.dumps({"mode": "function", "fn_name": fn, "tests": tests, "timeout_s": 5}),
                }
            )
            solutions.append(_code_answer(f"I write {fn} for the {name}.", f"def {fn}(a, b):\n    {body}"))
    return rows, solutions


def _code_answer(thought: str, program: str) -> str:
    return f"<think>\n{thought}\n</think>\n\n```python\n{program}\n```"


# ------------------------------------------------------------------------------------------- ifeval

_NOUNS = [
    "sky", "sea", "sun", "moon", "river", "city", "garden", "tree", "cat", "dog", "book", "rain",
    "snow", "coffee", "tea", "winter", "summer", "morning", "night", "music", "bread", "fire", "light",
]  # fmt: skip
_ADJS = ["calm", "bright", "quiet", "warm", "cold", "blue", "green", "kind", "happy", "good", "big", "small"]
_ASKS = ["Write a short note about the {n}.", "Describe the {n} in one sentence.", "Tell me about the {n}."]
END_PHRASE = "Is there anything else I can help with?"

# (instruction id, kwargs, instruction text, how a response follows it)
IFEVAL_INSTRUCTIONS: list[tuple[str, dict[str, Any], str]] = [
    ("change_case:english_lowercase", {}, "Your entire response should be in English and in all lowercase letters."),
    ("punctuation:no_comma", {}, "Do not use any commas in your response."),
    ("startend:end_checker", {"end_phrase": END_PHRASE}, f'Finish your response with this exact phrase "{END_PHRASE}".'),
    ("detectable_format:title", {}, "Your answer must contain a title wrapped in double angular brackets like <<title>>."),
    ("startend:quotation", {}, "Wrap your entire response with double quotation marks."),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "At the end of your response add a postscript starting with P.S."),
]  # fmt: skip


def _body(rng: random.Random, noun: str, comma: bool) -> str:
    a, b, c = rng.sample(_ADJS, 3)
    return f"The {noun} is {a}, {b} and {c}." if comma else f"The {noun} is {a} and {b} and {c}."


def _ifeval_response(rng: random.Random, noun: str, iid: str, follow: bool) -> str:
    """A response that follows instruction `iid` or plainly ignores it (and then violates it)."""
    body = _body(rng, noun, comma=not (follow and iid == "punctuation:no_comma"))
    if not follow:
        thought, text = "I will just answer.", body
    else:
        thought = "I will follow the rule."
        text = {
            "change_case:english_lowercase": body.lower(),
            "punctuation:no_comma": body,
            "startend:end_checker": f"{body} {END_PHRASE}",
            "detectable_format:title": f"<<The {noun.title()}>>\n{body}",
            "startend:quotation": f'"{body}"',
            "detectable_content:postscript": f"{body}\nP.S. I like the {noun}.",
        }[iid]
    return f"<think>\n{thought}\n</think>\n\n{text}"


def _ifeval_rows() -> tuple[list[Row], list[str]]:
    """All instruction rows and the noun each asks about, in a fixed order."""
    rows, nouns = [], []
    for iid, kwargs, text in IFEVAL_INSTRUCTIONS:
        for noun in _NOUNS:
            for ask in _ASKS:
                rows.append(
                    {
                        "prompt": _user(f"{ask.format(n=noun)} {text}"),
                        "task": "ifeval",
                        "instruction_id_list": [iid],
                        "kwargs": json.dumps([kwargs]),
                    }
                )
                nouns.append(noun)
    return rows, nouns


# ------------------------------------------------------------------------------------------- splits


def _split(items: list, n_test: int, rng: random.Random) -> tuple[list, list]:
    order = list(range(len(items)))
    rng.shuffle(order)
    test = sorted(order[:n_test])
    train = sorted(order[n_test:])
    return [items[i] for i in train], [items[i] for i in test]


def build_tasks(seed: int = SEED) -> dict[str, dict[str, list[Row]]]:
    """{task: {split: rows}} for math, code, ifeval (train/test) and sft, prefs (train)."""
    return _build(seed)[0]


def reference_completions(seed: int = SEED) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """{task: {split: [(right, wrong) completion per row]}} for math, code and ifeval: what the verifiers
    must accept and reject on every bundled row (the task tests check exactly that)."""
    return _build(seed)[1]


def _build(seed: int) -> tuple[dict[str, dict[str, list[Row]]], dict[str, dict[str, list[tuple[str, str]]]]]:
    rng = random.Random(seed)
    problems = _math_problems()
    math_train, math_test = _split(problems, 128, rng)

    code_rows, code_solutions = _code_rows(rng)
    code_idx_train, code_idx_test = _split(list(range(len(code_rows))), 32, rng)

    ifeval_rows, ifeval_nouns = _ifeval_rows()
    ifeval_idx_train, ifeval_idx_test = _split(list(range(len(ifeval_rows))), 96, rng)

    sft: list[Row] = []
    # The cold start sees only train-split problems; reasoning is careful in a minority of them.
    for a, op, b in rng.sample(math_train, SFT_MATH_ROWS):
        careful = rng.random() < SFT_CAREFUL_MATH
        completion = math_careful(a, op, b) if careful else math_hasty(a, op, b)
        sft.append(_sft_row(math_row(a, op, b), completion))
    for i in code_idx_train:
        sft.append(_sft_row(code_rows[i], code_solutions[i]))
    for i in ifeval_idx_train * 2:
        row, noun = ifeval_rows[i], ifeval_nouns[i]
        follow = rng.random() < SFT_FOLLOW_IFEVAL
        sft.append(_sft_row(row, _ifeval_response(rng, noun, row["instruction_id_list"][0], follow)))
    rng.shuffle(sft)

    prefs = _preferences(rng, [(ifeval_rows[i], ifeval_nouns[i]) for i in ifeval_idx_train], math_train)
    wrong_code = "<think>\n</think>\n\n```python\ndef f(a, b):\n    return 0\nprint(0)\n```"

    def ifeval_pair(i: int) -> tuple[str, str]:
        iid = ifeval_rows[i]["instruction_id_list"][0]
        good, bad = (_ifeval_response(random.Random(i), ifeval_nouns[i], iid, f) for f in (True, False))
        return good, bad

    answers = {
        "math": {
            split: [(math_careful(*p), math_hasty(*p)) for p in problems]
            for split, problems in (("train", math_train), ("test", math_test))
        },
        "code": {
            split: [(code_solutions[i], wrong_code) for i in idx]
            for split, idx in (("train", code_idx_train), ("test", code_idx_test))
        },
        "ifeval": {
            split: [ifeval_pair(i) for i in idx]
            for split, idx in (("train", ifeval_idx_train), ("test", ifeval_idx_test))
        },
    }
    tasks = {
        "math": {"train": [math_row(*p) for p in math_train], "test": [math_row(*p) for p in math_test]},
        "code": {
            "train": [code_rows[i] for i in code_idx_train],
            "test": [code_rows[i] for i in code_idx_test],
        },
        "ifeval": {
            "train": [ifeval_rows[i] for i in ifeval_idx_train],
            "test": [ifeval_rows[i] for i in ifeval_idx_test],
        },
        "sft": {"train": sft},
        "prefs": {"train": prefs},
    }
    return tasks, answers


REWARD_COLUMNS = ("answer", "tests", "instruction_id_list", "kwargs")


def _sft_row(row: Row, completion: str) -> Row:
    """A prompt-completion SFT row (TRL's conversational prompt-completion format).

    Every row carries every reward column (None where it does not apply), so the mixed-task file has
    one schema however its rows are ordered."""
    return {
        **{c: None for c in REWARD_COLUMNS},
        **row,
        "completion": [{"role": "assistant", "content": completion}],
    }


def _preferences(rng: random.Random, ifeval_train: list[tuple[Row, str]], math_train: list) -> list[Row]:
    """Pairs for the smoke reward model: instruction followed over ignored, right sum over copied operand.

    TRL's conversational preference format (`prompt`, `chosen`, `rejected`), final answers only, since the
    reward model scores the text after `</think>`.
    """
    pairs = []
    for row, noun in ifeval_train:
        iid = row["instruction_id_list"][0]
        seed = rng.random()
        good = _ifeval_response(random.Random(seed), noun, iid, True)
        bad = _ifeval_response(random.Random(seed), noun, iid, False)
        pairs.append(_pref(row["prompt"], good, bad))
    for a, op, b in rng.sample(math_train, 120):
        pairs.append(_pref(_user(f"What is {a} {op} {b}?"), math_careful(a, op, b), math_hasty(a, op, b)))
    rng.shuffle(pairs)
    return pairs


def _pref(prompt: list[dict[str, str]], chosen: str, rejected: str) -> Row:
    final = lambda text: text.split("</think>")[-1].strip()  # noqa: E731
    return {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": final(chosen)}],
        "rejected": [{"role": "assistant", "content": final(rejected)}],
    }


def iter_files(tasks: dict[str, dict[str, list[Row]]]) -> Iterator[tuple[str, str, list[Row]]]:
    for task, splits in tasks.items():
        for split, rows in splits.items():
            yield task, split, rows


def write_smoke_data(out_dir: Path | str = DATA_DIR, seed: int = SEED) -> Path:
    """Write every task split as `<out_dir>/<task>/<split>.jsonl`; returns `out_dir`."""
    out = Path(out_dir)
    for task, split, rows in iter_files(build_tasks(seed)):
        path = out / task / f"{split}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return out


def load_split(task: str, split: str, data_dir: Path | str = DATA_DIR) -> list[Row]:
    """Rows of one bundled split, e.g. load_split("math", "test")."""
    path = Path(data_dir) / task / f"{split}.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: regenerate with `python -m rl.smoke.tasks {data_dir}`")
    return read_jsonl(path)


def corpus(seed: int = SEED) -> Iterator[str]:
    """Every prompt and demonstration, as plain text (for tokenizer training)."""
    for _, _, rows in iter_files(build_tasks(seed)):
        for row in rows:
            for key in ("prompt", "completion", "chosen", "rejected"):
                for message in row.get(key, []):
                    yield message["content"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rl.smoke.tasks", description="write the smoke task JSONL files"
    )
    parser.add_argument("out_dir", type=Path, nargs="?", default=DATA_DIR)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    out = write_smoke_data(args.out_dir, args.seed)
    for task, split, rows in iter_files(build_tasks(args.seed)):
        print(f"{out}/{task}/{split}.jsonl: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
