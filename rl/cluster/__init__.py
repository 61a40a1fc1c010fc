"""Cluster launch: the plan per node (build, validate, run), node preflight checks and the memory estimate."""
