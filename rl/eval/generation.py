"""Generation backends for evaluation: vLLM when a GPU and vllm are present, transformers `generate` otherwise.

Both take rendered prompt strings and return `n` completions per prompt. `generate_cached` adds what a long
evaluation needs on top of a backend: a progress bar and a JSONL file of finished samples, appended as
batches finish, so an interrupted run resumes where it stopped instead of starting over.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from rl.stopping import stop_token_ids
from verifiers.jsonl import read_jsonl

log = logging.getLogger("rl.eval.generation")

# QwQ-32B's model card: temperature 0.6, top-p 0.95, top-k 20-40 (its generation_config uses 40), no greedy
# decoding (it loops), and "<think>\n" as the start of every answer. 32k new tokens is its evaluation budget.
TEMPERATURE, TOP_P, TOP_K = 0.6, 0.95, 40
GPU_MAX_NEW_TOKENS = 32768
# On CPU (the tiny smoke model, a laptop) a 32k budget would take hours: cap it unless asked otherwise.
CPU_MAX_NEW_TOKENS = 256
SMALL_MODEL_PARAMS = 100_000_000


@dataclass(frozen=True)
class Sampling:
    """Decoding settings; `greedy` overrides the sampling ones (for stable scores of small models)."""

    temperature: float = TEMPERATURE
    top_p: float = TOP_P
    top_k: int = TOP_K
    max_new_tokens: int | None = None  # None: the backend's default (GPU_/CPU_MAX_NEW_TOKENS)
    greedy: bool = False
    seed: int = 0


def batch_sampling(sampling: Sampling, start: int, n: int) -> Sampling:
    """The settings for the generate call whose first prompt is the `start`-th: seeds `n` per prompt apart,
    so no two calls (and, with `prompt_seeds`, no two prompts of a call) draw the same random numbers."""
    return replace(sampling, seed=sampling.seed + start * n)


def prompt_seeds(seed: int, prompts: int, n: int) -> list[int]:
    """One vLLM request seed per prompt. vLLM seeds a request's `n` samples seed, seed + 1, ... seed + n - 1,
    so prompts that share one seed all draw the same random numbers: the k-th sample of every prompt in a call
    would be one draw, and each prompt's pass rate or pass@k would follow the others'."""
    return [seed + i * n for i in range(prompts)]


class Backend(Protocol):
    name: str
    model_path: str
    max_new_tokens: int
    tokenizer: Any
    batch_size: int

    def render(self, messages: list[dict], tools: list[dict] | None = None) -> str: ...

    def generate(self, prompts: list[str], sampling: Sampling, n: int) -> list[list[str]]: ...


def render_chat(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None) -> str:
    """The prompt text for chat `messages` (and tool schemas), rendered exactly as in training (rl.data)."""
    from rl.data import render_prompt

    return render_prompt(messages, tokenizer, tools=tools)


def gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


def load_backend(model_path: str | Path, backend: str = "auto", **kwargs: Any) -> Backend:
    """`auto` picks vLLM when a GPU and the vllm package are present, transformers otherwise."""
    if backend == "auto":
        import importlib.util

        backend = "vllm" if gpu_available() and importlib.util.find_spec("vllm") else "transformers"
    log.info("loading %s for generation with %s", model_path, backend)
    if backend == "vllm":
        return VLLMBackend(str(model_path), **kwargs)
    if backend == "transformers":
        return TransformersBackend(str(model_path), **kwargs)
    raise ValueError(f"unknown generation backend {backend!r}: use auto, vllm or transformers")


class TransformersBackend:
    """Batched `model.generate` with left padding; prompts longer than the context are cut from the left."""

    name = "transformers"

    def __init__(
        self, model_path: str, *, batch_size: int | None = None, model: Any = None, tokenizer: Any = None
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_path = model_path
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = tokenizer or AutoTokenizer.from_pretrained(model_path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if model is None:
            dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
            model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype).to(self.device)
        self.model = model.eval()
        # A base model's own eos is <|endoftext|>; the chat turn ends at <|im_end|>: stop on both (rl.stopping)
        self.model.generation_config.eos_token_id = stop_token_ids(
            self.tokenizer, self.model.generation_config.eos_token_id
        )
        self.batch_size = batch_size or (32 if self.device == "cuda" else 8)
        self.max_new_tokens = GPU_MAX_NEW_TOKENS if self.device == "cuda" else CPU_MAX_NEW_TOKENS
        self.context = int(getattr(self.model.config, "max_position_embeddings", 0) or 1 << 30)
        self.truncated = 0
        # A small model decodes one token in a few ms; with several threads on a busy CPU the threads' spin
        # waits cost 20-50x that (measured on the 2-core dev box), so small models decode on one thread.
        self.single_thread = self.device == "cpu" and self.model.num_parameters() < SMALL_MODEL_PARAMS

    def render(self, messages: list[dict], tools: list[dict] | None = None) -> str:
        return render_chat(self.tokenizer, messages, tools)

    def generate(self, prompts: list[str], sampling: Sampling, n: int) -> list[list[str]]:
        import torch

        ids = [self.tokenizer(p, add_special_tokens=False, verbose=False)["input_ids"] for p in prompts]
        # The whole budget when prompt + budget fit the context; otherwise fewer new tokens, down to half the
        # context, and then prompts are cut (a small model's short context must not make the run fail).
        new_tokens = sampling.max_new_tokens or self.max_new_tokens
        new_tokens = max(1, min(new_tokens, max(self.context - max(map(len, ids)), self.context // 2)))
        room = self.context - new_tokens
        for i, seq in enumerate(ids):
            if len(seq) > room:
                self.truncated += 1
                log.warning(
                    "prompt of %d tokens cut to its last %d to fit the %d-token context with %d new tokens",
                    len(seq),
                    room,
                    self.context,
                    new_tokens,
                )
                ids[i] = seq[-room:]
        repeats = 1 if sampling.greedy else n
        batch = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(self.device)
        gen_kwargs: dict[str, Any] = {"max_new_tokens": new_tokens, "num_return_sequences": repeats}
        if sampling.greedy:
            gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            gen_kwargs.update(
                do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=sampling.top_k
            )
        torch.manual_seed(sampling.seed)
        threads = torch.get_num_threads()
        if self.single_thread:
            torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                out = self.model.generate(**batch, **gen_kwargs, pad_token_id=self.tokenizer.pad_token_id)
        finally:
            torch.set_num_threads(threads)
        texts = self.tokenizer.batch_decode(out[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)
        grouped = [texts[i * repeats : (i + 1) * repeats] for i in range(len(prompts))]
        return [g * n if sampling.greedy else g for g in grouped]


class VLLMBackend:
    """vLLM offline engine over all visible GPUs (tensor parallel), QwQ's long generation budget."""

    name = "vllm"

    def __init__(self, model_path: str, *, batch_size: int | None = None, **engine: Any):
        import torch
        from vllm import LLM

        self.model_path = model_path
        engine.setdefault("tensor_parallel_size", max(1, torch.cuda.device_count()))
        self.llm = LLM(model=model_path, **engine)
        self.tokenizer = self.llm.get_tokenizer()
        self.stop_ids = stop_token_ids(self.tokenizer)  # the turn end too, not only the model's eos
        # vLLM schedules its own batches; feeding it many prompts at once is what makes it fast.
        self.batch_size = batch_size or 1024
        self.max_new_tokens = GPU_MAX_NEW_TOKENS
        self.truncated = 0

    def render(self, messages: list[dict], tools: list[dict] | None = None) -> str:
        return render_chat(self.tokenizer, messages, tools)

    def generate(self, prompts: list[str], sampling: Sampling, n: int) -> list[list[str]]:
        from vllm import SamplingParams

        samples = 1 if sampling.greedy else n
        params = [
            SamplingParams(
                n=samples,
                temperature=0.0 if sampling.greedy else sampling.temperature,
                top_p=1.0 if sampling.greedy else sampling.top_p,
                top_k=-1 if sampling.greedy else sampling.top_k,
                max_tokens=sampling.max_new_tokens or self.max_new_tokens,
                seed=seed,
                stop_token_ids=self.stop_ids,
            )
            for seed in prompt_seeds(sampling.seed, len(prompts), samples)
        ]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        texts = [[c.text for c in o.outputs] for o in outputs]
        return [t * n if sampling.greedy else t for t in texts]


def _read_cache(path: Path, meta: dict) -> dict[tuple[str, int], str]:
    """Finished samples of an earlier run with the same settings; a different run's file is set aside."""
    if not path.exists():
        return {}
    records = read_jsonl(path, skip_invalid=True)  # a line cut short by an interrupted write is skipped
    head = records[0] if records else {}
    if head.get("meta") != meta:
        stale = path.with_suffix(path.suffix + ".stale")
        log.warning("%s was made with other settings; moved to %s and starting over", path, stale)
        path.replace(stale)
        return {}
    done: dict[tuple[str, int], str] = {}
    for rec in records[1:]:
        done[(str(rec["key"]), int(rec["sample"]))] = rec["completion"]
    return done


def generate_cached(
    backend: Backend,
    items: Iterable[tuple[str, str]],
    *,
    n: int,
    sampling: Sampling,
    cache: Path | None = None,
    meta: dict | None = None,
    desc: str = "generating",
) -> dict[str, list[str]]:
    """`n` completions for each (key, prompt), resuming from and appending to the JSONL `cache`.

    The cache's first line records `meta` (model, sampling, ...); its other lines are
    `{"key", "sample", "completion"}`.
    """
    from tqdm.auto import tqdm

    items = list(items)
    meta = {"sampling": asdict(sampling), "n": n, **(meta or {})}
    done = _read_cache(cache, meta) if cache else {}
    todo = [(k, p) for k, p in items if any((k, s) not in done for s in range(n))]
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        if not cache.exists():
            cache.write_text(json.dumps({"meta": meta}) + "\n")
    if done and todo:
        log.info("resuming %s: %d of %d prompts already generated", desc, len(items) - len(todo), len(items))
    # Similar lengths in one batch waste less padding; longest first surfaces memory problems early.
    todo.sort(key=lambda kp: -len(kp[1]))
    bar = tqdm(total=len(items), initial=len(items) - len(todo), desc=desc, unit="prompt", mininterval=2.0)
    size = max(1, backend.batch_size // (1 if sampling.greedy else n))
    with open(cache, "a") if cache else open(os.devnull, "w") as sink:
        for start in range(0, len(todo), size):
            chunk = todo[start : start + size]
            step = batch_sampling(sampling, start, n)
            outs = backend.generate([p for _, p in chunk], step, n)
            for (key, _), completions in zip(chunk, outs, strict=True):
                for s, text in enumerate(completions):
                    done[(key, s)] = text
                    sink.write(json.dumps({"key": key, "sample": s, "completion": text}) + "\n")
            sink.flush()
            bar.update(len(chunk))
    bar.close()
    return {k: [done[(k, s)] for s in range(n)] for k, _ in items}
