"""A tiny Qwen2-architecture model and tokenizer, built locally so the smoke pipeline needs no download.

`build_tiny(out_dir)` trains a byte-level BPE tokenizer (digits split one by one, as Qwen does) on text
generated here, gives it a Qwen-style chat template whose generation prompt opens the assistant turn with
`<think>\\n` (as QwQ's does), initialises a small `Qwen2ForCausalLM` from a fixed seed and saves both with
`save_pretrained`, so `AutoTokenizer` / `AutoModelForCausalLM.from_pretrained(out_dir)` load them.
A second call with the same arguments reuses what is there.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

# Bump when anything below changes what gets built, so cached copies are rebuilt.
VERSION = 3

PAD, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
THINK, END_THINK = "<think>", "</think>"

# Small enough that SFT + two GRPO stages fit in minutes on 2 CPU cores, big enough to learn the smoke tasks.
MODEL_SIZE = {
    "hidden_size": 128,
    "intermediate_size": 384,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "max_position_embeddings": 1024,
}
VOCAB_SIZE = 1024

# Qwen/QwQ-style ChatML. Assistant content is rendered verbatim (it carries its own <think> block), inside
# {% generation %} markers so TRL's assistant_only_loss can mask it; the generation prompt pre-fills
# "<think>\n" the way QwQ-32B's template does, so completions start inside the reasoning.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n<think>\\n' }}{%- endif %}"
)

_WORDS_TEXT = (
    "the a an and or but if then so because of to in on at for with by from as is are was were be been it "
    "this that these those what which who how why when where write answer number numbers sum difference "
    "product add subtract multiply plus minus times equals result first second last final step steps "
    "think let me compute check ones tens digit digits carry so the answer is units value reads prints "
    "print return returns function program input output integer integers string strings list line lines "
    "two three four five six seven eight nine ten given reverse length maximum minimum largest smallest "
    "count word words letter letters upper lower case capital respond response reply title quotation "
    "quotes comma commas end ending phrase sentence sentences paragraph paragraphs bullet points section "
    "sky sea sun moon tree trees river rivers city cities cat cats dog dogs book books music rain snow "
    "spring summer autumn winter morning night friend friends garden bread coffee tea light water fire "
    "good great nice small big quiet bright warm cold calm kind happy blue green red yellow "
    "please describe tell explain short story poem haiku note email about your my our their all capital "
    "letters only lowercase english entire wrap double any anything else help can i is there p.s. "
    "sure here it you we they he she not no yes do does done make made use used"
)
_WORDS = _WORDS_TEXT.split()

_CODE = [
    "def solve():\n    a, b = map(int, input().split())\n    print(a + b)\n",
    "a, b = map(int, input().split())\nprint(a * b)\n",
    "s = input()\nprint(s[::-1])\n",
    "s = input().strip()\nprint(s.upper())\n",
    "n = int(input())\nprint(n * n)\n",
    "xs = list(map(int, input().split()))\nprint(max(xs))\n",
    "def add(a, b):\n    return a + b\n",
    "def largest(xs):\n    return max(xs)\n",
    "class Solution:\n    def reverse(self, s):\n        return s[::-1]\n",
    "for i in range(n):\n    print(i)\n",
]


def _corpus(seed: int, n_lines: int = 6000) -> list[str]:
    """General text for the BPE merges (prose, arithmetic, Python), beside the smoke tasks' own text."""
    rng = random.Random(seed)
    lines: list[str] = []
    for _ in range(n_lines):
        kind = rng.random()
        if kind < 0.4:
            words = rng.choices(_WORDS, k=rng.randint(4, 14))
            text = " ".join(words)
            style = rng.random()
            if style < 0.2:
                text = text.upper()
            elif style < 0.6:
                text = text.capitalize() + rng.choice([".", "?", "!", ","])
            lines.append(text)
        elif kind < 0.7:
            a, b = rng.randint(0, 999), rng.randint(0, 99)
            op = rng.choice(["+", "-", "*"])
            lines.append(
                f"What is {a} {op} {b}? The answer is \\boxed{{{a}}}. ones {a % 10} + {b % 10} = {b}"
            )
        elif kind < 0.9:
            lines.append(rng.choice(_CODE))
            lines.append(f"```python\n{rng.choice(_CODE)}```")
        else:
            lines.append(f'<<{" ".join(rng.choices(_WORDS, k=3)).title()}>>\n"{rng.choice(_WORDS)}" P.S. ')
    return lines


def build_tokenizer(seed: int = 0):
    """A byte-level BPE tokenizer with Qwen's special tokens and the chat template above."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[PAD, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    from rl.smoke.tasks import corpus

    tok.train_from_iterator([*_corpus(seed), *corpus(seed)], trainer=trainer)
    # <think> tags are ordinary added tokens (special=False), as in Qwen: decoding with
    # skip_special_tokens=True, which TRL does for completions, must keep them for the verifiers.
    tok.add_tokens(
        [
            AddedToken(THINK, special=False, normalized=False),
            AddedToken(END_THINK, special=False, normalized=False),
        ]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=PAD,
        unk_token=None,
        chat_template=CHAT_TEMPLATE,
        model_max_length=MODEL_SIZE["max_position_embeddings"],
        padding_side="left",
    )
    return fast


def build_tiny(out_dir: Path | str, seed: int = 0) -> Path:
    """Build (or reuse) the tiny model + tokenizer in `out_dir`; returns `out_dir`.

    Deterministic for a given `seed` and VERSION; a directory built by another seed or version is rebuilt.
    """
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    out = Path(out_dir)
    stamp = out / "tiny.json"
    want = {"version": VERSION, "seed": seed}
    if stamp.exists() and (out / "config.json").exists():
        try:
            if json.loads(stamp.read_text()) == want:
                return out
        except json.JSONDecodeError:
            pass
    out.mkdir(parents=True, exist_ok=True)

    tokenizer = build_tokenizer(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        **MODEL_SIZE,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    stamp.write_text(json.dumps(want))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rl.smoke.tiny", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="where to save the model and tokenizer")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(build_tiny(args.out_dir, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
