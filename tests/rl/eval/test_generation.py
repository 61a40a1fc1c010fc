"""Seeds of sampled generation: every sample of every prompt draws its own random numbers."""

from __future__ import annotations

from rl.eval.generation import Sampling, batch_sampling, prompt_seeds


def test_no_two_samples_of_a_run_share_a_vllm_seed():
    """vLLM seeds a request's n samples seed, seed + 1, ...: prompts or calls that shared one seed drew the
    same numbers (the k-th sample of every prompt was one draw)."""
    n, per_call, prompts = 4, 3, 9
    seeds = []
    for start in range(0, prompts, per_call):  # as generate_cached and `rl filter` split their prompts
        call = batch_sampling(Sampling(seed=7), start, n)
        seeds += [s + k for s in prompt_seeds(call.seed, per_call, n) for k in range(n)]
    assert len(seeds) == prompts * n == len(set(seeds))
