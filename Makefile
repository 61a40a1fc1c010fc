# open-qwq: every user-facing job is one target. `make help` lists them.
PY      := .venv/bin/python
NODES   ?=
GPUS_PER_NODE ?=
RECIPE  ?=
DRY_RUN ?=
NODE_RANK ?=
HOSTS   ?=
ARGS    ?=
GPU_MEM ?=
FORCE   ?=
SBATCH_ARGS ?=
LAUNCH   = $(PY) -m rl launch --stage $@ $(if $(RECIPE),--recipe $(RECIPE)) $(if $(NODES),--nodes $(NODES)) $(if $(GPUS_PER_NODE),--gpus-per-node $(GPUS_PER_NODE)) $(if $(GPU_MEM),--gpu-memory-gib $(GPU_MEM)) $(if $(FORCE),--force)

.PHONY: help install test smoke stage1 stage2 rm bench lint format install-gpu gpu-check
# Benchmarks print their tables, not library chatter (loading reports, progress bars, DeepSpeed's CPU notice).
BENCH_ENV = TRANSFORMERS_VERBOSITY=error HF_DATASETS_DISABLE_PROGRESS_BARS=1 TQDM_DISABLE=1 PYTHONWARNINGS=ignore \
  HF_HUB_OFFLINE=1 $(if $(shell command -v nvidia-smi),,DS_ACCELERATOR=cpu)

help:  ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

.venv/.installed: pyproject.toml constraints.txt
	python3 -m venv .venv
	# The CPU torch wheel first, so no dependency below can pull a CUDA build.
	.venv/bin/pip install -q torch==2.13.0
	.venv/bin/pip install -q -c constraints.txt -e '.[dev]'
	# BFCL data and ground truth for the tool-call tests; its declared deps pin an old numpy, so no deps.
	.venv/bin/pip install -q --no-deps bfcl-eval==2026.3.23
	# The reference IFEval checks (lm-eval's copy of google-research's code) for the agreement tests; the
	# tests load those files alone, so none of lm-eval's evaluation stack is needed.
	.venv/bin/pip install -q --no-deps lm-eval==0.4.13
	touch $@

install: .venv/.installed  ## create .venv with the CPU stack and test tools (idempotent)

rm: install  ## train the reward model (TRL RewardTrainer, bundled preferences, MiniLM) into runs/rm/
	HF_HUB_OFFLINE=1 $(PY) -m verifiers.reward_model train --output-dir runs/rm $(RM_ARGS)

test: install  ## run the whole test suite
	$(PY) -m pytest

smoke: install  ## stage 0 -> 1 -> 2 on CPU with a tiny model, then runs/smoke/report.json
	$(PY) -m rl smoke

# Cluster stages (rl/cluster/launch.py). NODES/GPUS_PER_NODE default to the recipe's launch section; ARGS adds
# recipe overrides; GPU_MEM is one GPU's memory in GB (141 for H200s); FORCE=1 launches a plan whose memory
# estimate does not fit. With sbatch on PATH the stage is submitted (recipes/slurm/stage.sbatch) with
# SBATCH_ARGS (partition, account, time, QoS, ...); without Slurm run `make stage1 NODE_RANK=k HOSTS=h0,h1,...`
# on every node (node 0 first). DRY_RUN=1 prints the plan with the same HOSTS / NODE_RANK.
define STAGE_RUN
@test -x $(PY) || { echo "no $(PY): run make install (and make install-gpu on cluster nodes)"; exit 1; }
@if [ -n "$(DRY_RUN)" ]; then \
  $(LAUNCH) --dry-run $(if $(NODE_RANK),--node-rank $(NODE_RANK)) $(if $(HOSTS),--hosts $(HOSTS)) $(ARGS); \
elif [ -z "$(NODE_RANK)" ] && command -v sbatch >/dev/null 2>&1; then \
  set -- $$($(LAUNCH) --emit shape $(ARGS)) && mkdir -p runs/slurm && \
  STAGE=$@ RECIPE=$(or $(RECIPE),recipes/qwen2.5-32b/$@.yaml) GPUS_PER_NODE=$$2 ARGS='$(ARGS)' \
    GPU_MEM='$(GPU_MEM)' FORCE='$(FORCE)' \
    sbatch --nodes=$$1 --gpus-per-node=$$2 $(SBATCH_ARGS) --export=ALL recipes/slurm/stage.sbatch; \
else \
  $(LAUNCH) --node-rank $(or $(NODE_RANK),0) $(if $(HOSTS),--hosts $(HOSTS)) $(ARGS); \
fi
endef

stage1:  ## cluster stage 1 (NODES, GPUS_PER_NODE, GPU_MEM, RECIPE, ARGS, HOSTS, SBATCH_ARGS, FORCE; DRY_RUN=1 prints the plan)
	$(STAGE_RUN)

stage2:  ## cluster stage 2 from stage 1's checkpoint (same variables as stage1)
	$(STAGE_RUN)

# One GPU, < 10 minutes, no download: GRPO bf16, ZeRO-3, LoRA, resume, the RM server, vLLM, NCCL; one table.
gpu-check:  ## prove the GPU path on this node's GPU (says so and fails at once without one)
	@test -x $(PY) || { echo "no $(PY): run make install (and make install-gpu on GPU nodes)"; exit 1; }
	@$(PY) -m rl gpu-check $(ARGS)

# GPU nodes only, never CI. `2.13.0+cpu` from `make install` already satisfies torch==2.13.0, so the CUDA
# build is reinstalled explicitly from PyTorch's index (TORCH_CUDA: the CUDA of the vLLM wheel and driver),
# then the pinned `gpu` extra: vLLM 0.30.0 (TRL 1.16 supports 0.22.0-0.31.0) and flash-attn, which
# compiles against that torch and so needs --no-build-isolation (its build dependencies come first).
TORCH_CUDA ?= cu128
TORCH_INDEX = https://download.pytorch.org/whl/$(TORCH_CUDA)
install-gpu: install  ## cluster nodes: CUDA torch, then vllm and flash-attn (pinned) into .venv
	.venv/bin/pip install -q --force-reinstall --no-deps --index-url $(TORCH_INDEX) torch==2.13.0
	.venv/bin/pip install -q -c constraints.txt --extra-index-url $(TORCH_INDEX) torch==2.13.0
	.venv/bin/pip install -q -c constraints.txt packaging ninja psutil
	.venv/bin/pip install -q -c constraints.txt --no-build-isolation -e '.[gpu]'
	$(PY) -m rl preflight --skip docker,image,disk,wandb --require vllm,flash_attn

.venv/.bench-installed: .venv/.installed
	.venv/bin/pip install -q -c constraints.txt -e '.[bench]'
	touch $@

# Each benchmark (each package's bench.py) prints its figure next to the named peer, measured in the same run.
bench: .venv/.bench-installed  ## math verifier vs math-verify, sandbox vs docker-run, rules + RM throughput, GRPO step split
	$(BENCH_ENV) $(PY) -m verifiers.math.bench
	$(BENCH_ENV) $(PY) -m sandbox.bench
	$(BENCH_ENV) $(PY) -m verifiers.rules.bench
	$(BENCH_ENV) $(PY) -m verifiers.reward_model.bench
	$(BENCH_ENV) $(PY) -m rl bench

lint: install  ## ruff lint + format check, mypy type check, import directions (import-linter)
	$(PY) -m ruff check rl verifiers sandbox tests
	$(PY) -m ruff format --check rl verifiers sandbox tests
	$(PY) -m mypy
	.venv/bin/lint-imports

format:  ## ruff format + autofix
	$(PY) -m ruff format rl verifiers sandbox tests
	$(PY) -m ruff check --fix rl verifiers sandbox tests
