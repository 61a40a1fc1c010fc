"""pass@k: the unbiased estimator of Chen et al. (2021) and the harness's aggregation of sample scores."""

from __future__ import annotations

import itertools
import math

import pytest

from rl.eval.passk import aggregate, k_values, pass_at_k


def brute_force_pass_at_k(n: int, c: int, k: int) -> float:
    """Fraction of all k-subsets of the n samples that contain at least one correct sample."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(samples, k))
    return sum(any(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_equals_the_fraction_of_k_subsets_holding_a_correct_sample(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(brute_force_pass_at_k(n, c, k), abs=1e-12)


def test_pass_at_1_is_the_fraction_correct():
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(16, 0, 1) == 0.0
    assert pass_at_k(16, 16, 1) == 1.0


def test_pass_at_k_matches_the_binomial_formula_for_large_n_without_overflow():
    n, c, k = 200, 13, 50
    expected = 1 - math.comb(n - c, k) / math.comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(expected, rel=1e-12)


def test_pass_at_k_is_one_when_fewer_wrong_samples_than_k():
    assert pass_at_k(5, 3, 3) == 1.0


@pytest.mark.parametrize(("n", "c", "k"), [(4, 5, 1), (4, 2, 0), (4, 2, 5), (4, -1, 1)])
def test_pass_at_k_rejects_impossible_counts(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_k_values_are_powers_of_two_up_to_the_sample_count_and_the_count_itself():
    assert k_values(1) == [1]
    assert k_values(8) == [1, 2, 4, 8]
    assert k_values(6) == [1, 2, 4, 6]


def test_aggregate_averages_pass_at_1_over_samples_then_problems():
    # problem 1: 3 of 4 solved; problem 2: 1 of 4 (0.5 is a partial score, not solved); problem 3: 0 of 4
    per_row = [[1.0, 1.0, 0.0, 1.0], [0.5, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    result = aggregate(per_row, samples=4)
    assert result["n"] == 3
    assert result["unscored"] == 0
    assert result["pass@1"] == pytest.approx((3 / 4 + 1 / 4 + 0) / 3)
    assert result["pass@2"] == pytest.approx((pass_at_k(4, 3, 2) + pass_at_k(4, 1, 2) + 0) / 3)
    assert result["pass@4"] == pytest.approx((1 + 1 + 0) / 3)
    assert result["mean_score"] == pytest.approx((3 / 4 + 1.5 / 4 + 0) / 3)


def test_aggregate_leaves_unscorable_samples_out_instead_of_counting_them_wrong():
    per_row = [[1.0, None], [None, None], [0.0, 0.0]]
    result = aggregate(per_row, samples=2)
    assert result["n"] == 2
    assert result["unscored"] == 1
    assert result["pass@1"] == pytest.approx((1.0 + 0.0) / 2)
    # pass@2 only over problems with 2 scored samples
    assert result["pass@2"] == 0.0


def test_aggregate_of_nothing_scorable_has_no_pass_at_1():
    result = aggregate([[None], [None]], samples=1)
    assert result["pass@1"] is None
    assert result["n"] == 0
    assert result["unscored"] == 2
