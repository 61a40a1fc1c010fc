"""Evaluation: benchmark suites, generation backends, pass@k, and the in-training checkpoint evaluation."""
