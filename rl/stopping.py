"""Where a completion ends: at the end of the assistant turn, whichever end-of-text token the model knows.

A base model (Qwen2.5-32B) declares only `<|endoftext|>` as its end, while the chat template closes every
turn with `<|im_end|>`. Generation that stops on only one of them runs on past the turn (and that text is
trained on and graded), and TRL counts a completion as cut off unless its last token is one of the ids it
takes from `model.generation_config.eos_token_id`; with `mask_truncated_completions` a completion that
ended on an id TRL does not know gets no gradient at all. So both sides get the same stop set:

- `model.generation_config.eos_token_id`: what transformers' `generate` stops on and what TRL counts as a
  finished completion (and what a saved checkpoint's `generation_config.json` carries to vLLM later);
- `generation_kwargs["stop_token_ids"]` when vLLM generates: TRL passes these to vLLM's sampling params,
  in server and colocate mode alike (the server itself only knows the base model's own end token).
"""

from __future__ import annotations

from typing import Any

# Turn and text ends of the chat templates our recipes use (Qwen's ChatML; Llama 3 for reward models).
TURN_END_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>")


def stop_token_ids(tokenizer: Any, model_eos: int | list[int] | None = None) -> list[int]:
    """The ids that end a completion: the model's own eos ids, the tokenizer's, and every known turn end
    the tokenizer has as one token; in that order, without repeats."""
    ids: list[int] = []
    declared = [model_eos] if isinstance(model_eos, int) else list(model_eos or [])
    unk = getattr(tokenizer, "unk_token_id", None)
    candidates = [*declared, tokenizer.eos_token_id]
    vocab = tokenizer.get_vocab()
    candidates += [vocab[t] for t in TURN_END_TOKENS if t in vocab]
    for token_id in candidates:
        if token_id is not None and token_id != unk and token_id not in ids:
            ids.append(int(token_id))
    return ids


def stop_at_turn_end(model: Any, tokenizer: Any, args: Any) -> list[int]:
    """Give the trainer's model and, when vLLM generates, TRL's vLLM sampling the same stop set."""
    ids = stop_token_ids(tokenizer, model.generation_config.eos_token_id)
    model.generation_config.eos_token_id = ids
    if getattr(args, "use_vllm", False):
        args.generation_kwargs = {**(args.generation_kwargs or {}), "stop_token_ids": ids}
    return ids
