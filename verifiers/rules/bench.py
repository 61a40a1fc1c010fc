"""Benchmark the rule verifiers: IFEval checks per second on the 541 IFEval prompts, strict and loose.

Peer, measured in the same run: the cheapest IFEval rule alone (`punctuation:no_comma`), the floor every
check pays for dispatch and response handling. The other rule rewards are timed beside it (completions/s).

    python -m verifiers.rules.bench [--data PATH] [--repeat N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from verifiers.jsonl import read_jsonl
from verifiers.rules.format import format_reward
from verifiers.rules.ifeval import check_ifeval
from verifiers.rules.language import language_consistency_reward
from verifiers.rules.repetition import repetition_reward


def _response(row: dict) -> str:
    """A plausible response: the prompt's own text reshaped into three paragraphs (exercises every check)."""
    words = row["prompt"].split()
    third = max(1, len(words) // 3)
    return "\n\n".join(" ".join(words[i : i + third]) for i in range(0, len(words), third))


def _timed(fn: Callable[[], int], repeat: int) -> float:
    """Items per second of `fn` (which returns how many items it processed), best of `repeat`."""
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        n = fn()
        best = max(best, n / (time.perf_counter() - start))
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=None, help="IFEval input_data.jsonl (default: the shared data dir's)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if args.data is None:
        from rl.eval.suites import data_dir

        args.data = data_dir() / "ifeval/input_data.jsonl"
    rows = read_jsonl(args.data)
    responses = [_response(r) for r in rows]
    n_checks = sum(len(r["instruction_id_list"]) for r in rows)

    def ifeval(strict: bool) -> Callable[[], int]:
        def run() -> int:
            for r, resp in zip(rows, responses, strict=True):
                check_ifeval(r["prompt"], resp, r["instruction_id_list"], r["kwargs"], strict=strict)
            return n_checks

        return run

    def floor() -> int:
        for resp in responses:
            check_ifeval("", resp, ["punctuation:no_comma"], [{}])
        return len(responses)

    ifeval(True)()  # warm the language model
    strict = _timed(ifeval(True), args.repeat)
    loose = _timed(ifeval(False), args.repeat)
    peer = _timed(floor, args.repeat)
    print(f"IFEval ({len(rows)} prompts, {n_checks} instruction checks)")
    print(f"  strict           {strict:10.0f} checks/s")
    print(
        f"  loose            {loose:10.0f} checks/s   (8 response variants: {strict / loose:.1f}x the cost of strict)"
    )
    print(
        f"  peer: no_comma   {peer:10.0f} checks/s   (strict IFEval averages {peer / strict:.1f}x its cost)"
    )
    completions = ["Let me think about it.\n</think>\n" + r for r in responses]
    prompts = [r["prompt"] for r in rows]
    others = {
        "format": lambda: len(format_reward(completions)),
        "repetition": lambda: len(repetition_reward(completions)),
        "language": lambda: len(language_consistency_reward(completions, prompts=prompts)),
    }
    for name, fn in others.items():
        print(f"  {name:16s} {_timed(fn, args.repeat):10.0f} completions/s")


if __name__ == "__main__":
    main()
