"""rl.smoke.tiny: the locally built tiny model and tokenizer load with the Auto classes and speak QwQ's chat format."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from rl.smoke.tiny import build_tiny


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny(tmp_path_factory.mktemp("tiny"))


def test_generation_prompt_opens_the_assistant_turn_inside_think(tiny: Path) -> None:
    tok = AutoTokenizer.from_pretrained(tiny)
    text = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n"


def test_think_tags_survive_decoding_without_special_tokens(tiny: Path) -> None:
    tok = AutoTokenizer.from_pretrained(tiny)
    text = "<think>\nLet me compute. 12 + 3 = 15.\n</think>\n\nThe answer is \\boxed{15}."
    ids = tok(text + "<|im_end|>", add_special_tokens=False)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == text
    assert tok.convert_tokens_to_ids("</think>") in ids


def test_any_text_round_trips_through_the_byte_level_tokenizer(tiny: Path) -> None:
    tok = AutoTokenizer.from_pretrained(tiny)
    text = "naïve café — 42² ≠ 1764? 日本語 ```python\nprint('ok')\n```\t\n"
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text


def test_digits_are_single_tokens(tiny: Path) -> None:
    tok = AutoTokenizer.from_pretrained(tiny)
    assert tok.tokenize("12345") == ["1", "2", "3", "4", "5"]


def test_assistant_turn_including_its_end_token_is_the_assistant_mask(tiny: Path) -> None:
    tok = AutoTokenizer.from_pretrained(tiny)
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "<think>\n</think>\n\nyo"},
    ]
    out = tok.apply_chat_template(messages, return_assistant_tokens_mask=True, return_dict=True)
    masked = [i for i, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tok.decode(masked) == "<think>\n</think>\n\nyo<|im_end|>"


def test_model_is_a_qwen2_that_generates_and_stops_on_im_end(tiny: Path) -> None:
    tok = AutoTokenizer.from_pretrained(tiny)
    model = AutoModelForCausalLM.from_pretrained(tiny)
    assert model.config.model_type == "qwen2"
    assert model.generation_config.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")
    enc = tok(["<|im_start|>user\nhi<|im_end|>\n"], return_tensors="pt")
    out = model.generate(**enc, max_new_tokens=4, do_sample=False)
    assert out.shape[1] <= enc["input_ids"].shape[1] + 4


def test_build_is_deterministic_and_reused(tmp_path: Path, tiny: Path) -> None:
    again = build_tiny(tmp_path / "again")
    a = AutoModelForCausalLM.from_pretrained(tiny).state_dict()
    b = AutoModelForCausalLM.from_pretrained(again).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    stamp = (again / "model.safetensors").stat().st_mtime_ns
    assert build_tiny(again) == again
    assert (again / "model.safetensors").stat().st_mtime_ns == stamp


def test_another_seed_gives_other_weights(tmp_path: Path, tiny: Path) -> None:
    other = build_tiny(tmp_path / "seed1", seed=1)
    a = AutoModelForCausalLM.from_pretrained(tiny).state_dict()
    b = AutoModelForCausalLM.from_pretrained(other).state_dict()
    assert not torch.equal(a["model.embed_tokens.weight"], b["model.embed_tokens.weight"])
