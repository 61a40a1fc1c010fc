"""rl.cluster.memory against numbers worked out by hand for Qwen2.5-32B (config.json on the Hub:
hidden 5120, 64 layers, 40 heads, 8 KV heads, intermediate 27648, vocab 152064, untied, q/k/v bias)."""

import json

import pytest

from rl.cluster.memory import GIB, KNOWN_MODELS, TrainSetup, model_shape, training_estimate, vllm_estimate

QWEN32 = KNOWN_MODELS["Qwen/Qwen2.5-32B"]

# Per layer: q 5120*5120 + 5120 bias, k and v 5120*1024 + 1024 bias each, o 5120*5120,
# gate/up/down 3 * 5120*27648, two RMSNorms 2 * 5120.
LAYER = (26_214_400 + 5_120) + 2 * (5_242_880 + 1_024) + 26_214_400 + 3 * 141_557_760 + 10_240
# embed_tokens and lm_head 152064*5120 each (untied), 64 layers, final norm 5120.
PARAMS = 2 * 778_567_680 + 64 * LAYER + 5_120


def test_qwen32b_parameter_count_matches_the_hand_count():
    assert LAYER == 487_605_248
    assert QWEN32.layer_params() == LAYER
    assert QWEN32.num_params() == PARAMS == 32_763_876_352  # 65.5 GB of bf16 safetensors on the Hub


def test_zero3_over_24_gpus_shards_weights_gradients_and_adam_states():
    # 4 nodes x 8 GPUs with node 0 serving vLLM: 24 training GPUs, stage1 sequence lengths.
    est = training_estimate(QWEN32, TrainSetup(24, 3, 1, 18_432, 16_384), gpu_gib=80)
    assert est.get("bf16 weights") == pytest.approx(2 * PARAMS / 24)  # 2_730_323_029 B = 2.54 GiB
    assert est.get("bf16 gradients") == pytest.approx(2 * PARAMS / 24)
    assert est.get("fp32 master + Adam states") == pytest.approx(12 * PARAMS / 24)  # 15.26 GiB
    assert est.get("ZeRO-3 gathered parameters") == 2 * 1_000_000_000  # DeepSpeed stage3_max_live_parameters
    assert est.get("activations: layer checkpoints") == 64 * 18_432 * 5_120 * 2  # 11.25 GiB
    # one layer's bf16 activations per token: 6*5120 + 2*1024 + 4*27648 = 143_360 elements
    assert est.get("activations: one layer recomputed") == 18_432 * 143_360 * 2  # 4.92 GiB
    assert est.get("logits + their gradient") == 16_384 * 152_064 * 4  # 9.28 GiB
    assert est.total / GIB == pytest.approx(50.66, abs=0.01)
    assert est.fits


def test_zero2_keeps_whole_weights_and_zero0_keeps_everything():
    z2 = training_estimate(QWEN32, TrainSetup(24, 2, 1, 18_432, 16_384), gpu_gib=80)
    assert z2.get("bf16 weights") == 2 * PARAMS  # 61.03 GiB on every GPU
    assert z2.get("bf16 gradients") == pytest.approx(2 * PARAMS / 24)
    assert not z2.fits
    z0 = training_estimate(QWEN32, TrainSetup(24, 0, 1, 18_432, 16_384), gpu_gib=80)
    assert z0.get("fp32 master + Adam states") == 12 * PARAMS  # 366 GiB: 16 bytes/parameter in all
    assert z0.total > z2.total > training_estimate(QWEN32, TrainSetup(24, 3), gpu_gib=80).total


def test_full_finetune_on_one_node_does_not_fit_but_lora_does():
    full = training_estimate(QWEN32, TrainSetup(6, 3, 1, 18_432, 16_384), gpu_gib=80)
    states = sum(full.get(k) for k in ("bf16 weights", "bf16 gradients", "fp32 master + Adam states"))
    assert states / GIB == pytest.approx(81.37, abs=0.01)  # 16 * PARAMS / 6: the states alone exceed 80 GiB
    assert not full.fits
    lora = training_estimate(QWEN32, TrainSetup(6, 3, 1, 18_432, 16_384, lora_r=64), gpu_gib=80)
    # r * (in + out) per projection: r * (9*5120 + 2*1024 + 3*27648) = 64 * 131_072 per layer
    assert QWEN32.lora_params(64) == 64 * 131_072 * 64 == 536_870_912
    assert lora.get("fp32 master + Adam states") == pytest.approx(12 * 536_870_912 / 6)
    assert lora.fits


def test_reference_model_counts_only_when_beta_is_positive_without_lora():
    with_ref = training_estimate(QWEN32, TrainSetup(24, 3, ref_model=True), gpu_gib=80)
    assert with_ref.get("reference model (beta > 0)") == pytest.approx(2 * PARAMS / 24)
    lora_ref = training_estimate(QWEN32, TrainSetup(24, 3, ref_model=True, lora_r=16), gpu_gib=80)
    assert "reference model (beta > 0)" not in dict(lora_ref.lines)  # the base with adapters off


def test_vllm_tp8_holds_weights_and_a_kv_cache_for_many_long_sequences():
    est = vllm_estimate(QWEN32, tensor_parallel=8, gpu_gib=80, utilization=0.9, max_model_len=18_432)
    assert est.get("bf16 weights / TP") == pytest.approx(2 * PARAMS / 8)  # 7.63 GiB
    # K and V, 64 layers, 8 KV heads / TP 8 = 1 head of 128 dims, bf16: 32 KiB per token per GPU
    assert QWEN32.kv_bytes_per_token(8) == 2 * 64 * 1 * 128 * 2 == 32_768
    kv = 0.9 * 80 * GIB - 2 * PARAMS / 8
    assert est.get("KV cache (rest of the share)") == pytest.approx(kv)  # 64.37 GiB
    assert f"{int(kv // 32_768):,} tokens" in est.notes[0]  # 2,109,327 tokens: 114 sequences of 18432
    assert est.fits


def test_a_kv_cache_too_small_for_one_sequence_does_not_fit():
    # TP 1 at 0.8: (68_719_476_736 B share - 65_527_752_704 B weights) / 262_144 B per token = 12_175 < 18_432
    est = vllm_estimate(QWEN32, tensor_parallel=1, gpu_gib=80, utilization=0.8, max_model_len=18_432)
    assert est.get("KV cache (rest of the share)") == pytest.approx(0.8 * 80 * GIB - 2 * PARAMS)
    assert "12,175 tokens" in est.notes[0]
    assert not est.fits


def test_a_local_config_json_gives_the_same_shape_as_the_table(tmp_path):
    config = {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_size": 5120,
        "num_hidden_layers": 64,
        "num_attention_heads": 40,
        "num_key_value_heads": 8,
        "intermediate_size": 27648,
        "vocab_size": 152064,
        "tie_word_embeddings": False,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert model_shape(str(tmp_path)) == QWEN32
    assert model_shape("no/such-model") is None


def test_a_larger_gpu_fits_what_an_80_gib_one_cannot():
    setup = TrainSetup(6, 3, 1, 18_432, 16_384)
    assert not training_estimate(QWEN32, setup, gpu_gib=80).fits
    assert training_estimate(QWEN32, setup, gpu_gib=141).fits  # H200: 111.7 GiB of 141
    assert vllm_estimate(QWEN32, 8, gpu_gib=141, utilization=0.9, max_model_len=18_432).fits
