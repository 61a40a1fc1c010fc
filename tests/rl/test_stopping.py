"""Completions end at the end of the assistant turn: a base model that only knows `<|endoftext|>` still
stops on the template's `<|im_end|>`, in the trainer's generation and in vLLM's sampling settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from rl.metrics import read_metrics
from rl.stopping import stop_at_turn_end, stop_token_ids
from rl.train import run_stage
from tests.rl.tiny_recipe import SAY, tiny_stage1


@pytest.fixture(scope="module")
def base_like(tmp_path_factory) -> Path:
    """The tiny model dressed as Qwen2.5 base (eos `<|endoftext|>` only) whose every first token is
    `<|im_end|>`: the residual stream carries the token embedding only (all embeddings equal), and the
    untied head scores `<|im_end|>` far above everything else."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    from rl.smoke.tiny import build_tiny

    tiny = build_tiny(tmp_path_factory.getbasetemp() / "tiny")
    out = tmp_path_factory.mktemp("base_like")
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    tokenizer.eos_token = "<|endoftext|>"
    model = AutoModelForCausalLM.from_pretrained(tiny, tie_word_embeddings=False)
    end_of_text, im_end = tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>"])
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        u = torch.randn(model.config.hidden_size)
        model.model.embed_tokens.weight.copy_(u.expand_as(model.model.embed_tokens.weight))
        head = torch.zeros_like(model.lm_head.weight)
        head[im_end] = 50 * u / u.norm()
        model.lm_head.weight = torch.nn.Parameter(head)
    model.config.tie_word_embeddings = False
    model.config.eos_token_id = end_of_text
    model.generation_config = GenerationConfig(eos_token_id=end_of_text, pad_token_id=end_of_text)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def test_the_stop_set_holds_the_end_of_text_and_the_end_of_turn(base_like):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_like)
    ids = stop_token_ids(tokenizer, tokenizer.eos_token_id)
    assert tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>"]) == ids[:2]


def test_vllm_gets_the_same_stop_ids_as_the_trainer(base_like):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    tokenizer = AutoTokenizer.from_pretrained(base_like)
    model = AutoModelForCausalLM.from_pretrained(base_like)
    args = GRPOConfig(
        output_dir="unused",
        use_vllm=True,
        generation_kwargs={"min_tokens": 1},
        use_cpu=True,
        activation_checkpointing=False,
    )
    ids = stop_at_turn_end(model, tokenizer, args)
    assert args.generation_kwargs == {"min_tokens": 1, "stop_token_ids": ids}
    assert model.generation_config.eos_token_id == ids
    assert set(tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_end|>"])) <= set(ids)


def test_a_grpo_completion_ends_at_the_turn_end_and_is_not_counted_cut_off(tmp_path, base_like):
    recipe = tiny_stage1(
        tmp_path,
        base_like,
        SAY[:4],
        [{"name": "format"}],
        {
            "max_steps": 1,
            "per_device_train_batch_size": 4,
            "num_generations": 4,
            "max_completion_length": 8,
            "mask_truncated_completions": True,
            "save_strategy": "no",
            "gradient_checkpointing": False,
        },
    )
    run_stage(recipe)
    (row,) = [r for r in read_metrics(tmp_path / "run") if "reward" in r]
    assert row["completions/mean_length"] == 1  # `<|im_end|>` ended it; without the stop set: 8 tokens
    assert row["completions/clipped_ratio"] == 0


def test_evaluation_of_a_base_model_stops_at_the_turn_end_too(base_like):
    from rl.eval.generation import TransformersBackend

    backend = TransformersBackend(str(base_like))
    ids = backend.tokenizer(backend.render([{"role": "user", "content": "hi"}]), return_tensors="pt")
    out = backend.model.generate(**ids, max_new_tokens=8, do_sample=False)
    new = out[0, ids["input_ids"].shape[1] :].tolist()
    assert new == backend.tokenizer.convert_tokens_to_ids(["<|im_end|>"])  # one token, then stopped
