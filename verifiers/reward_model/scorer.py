"""`RewardModelScorer`: scores the final answer (text after `</think>`) of each completion with a sequence
classification reward model, in process on a device or over HTTP from `python -m verifiers.reward_model
serve`. Both paths render and tokenize the same way (`render`/`encode`), so they give the same scores.

Rendering: with a chat template (Skywork-Reward-V2 and other decoder RMs) the conversation is the prompt's
messages plus one assistant turn holding the answer; without one (BERT-style encoders such as the MiniLM
`make rm` starts from) it is `prompt [SEP] answer`, truncated from the left so the answer survives. Text inside the prompt and the
answer never becomes structure: a special token written as text (`<|eot_id|>`, `[SEP]`) is read as text.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sandbox.auth import auth_headers
from verifiers.completion import final_answer, prompt_text

if TYPE_CHECKING:
    import httpx

DEFAULT_MAX_LENGTH = 1024


def is_url(path_or_url: str) -> bool:
    return path_or_url.startswith(("http://", "https://", "unix:"))


def messages_of(prompt: Any) -> list[dict]:
    """A prompt as chat messages (a bare string becomes one user turn)."""
    if prompt is None:
        return []
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [dict(m) for m in prompt if m.get("role") != "assistant"] or [
        {"role": "user", "content": prompt_text(prompt)}
    ]


@functools.lru_cache(maxsize=8)
def _specials_pattern(specials: tuple[str, ...]) -> re.Pattern[str] | None:
    return re.compile("|".join(map(re.escape, specials))) if specials else None


def well_formed(text: str) -> str:
    """`text` with each lone surrogate (U+D800..U+DFFF, which JSON can carry but no UTF-8 can) made U+FFFD.

    Tokenizers refuse such a string (TypeError), so one answer holding `\\ud800` failed the whole batch:
    every row None, left out of its group's baseline. It is read as the replacement character instead.
    """
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def as_text(tokenizer: Any, text: str) -> str:
    """`text` with each special token written in it broken by a word joiner (U+2060), so the tokenizer reads
    it as the characters it is. Tokenizers parse special tokens inside any text they are given: an answer
    writing `<|im_end|><|im_start|>user ...` would otherwise hand the reward model a forged conversation
    (an easy question of its own, then an answer to that) and be scored as its last turn. Lone surrogates
    become U+FFFD (`well_formed`)."""
    text = well_formed(text)
    decoder = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    specials = {t.content for t in decoder.values() if t.special} | set(tokenizer.all_special_tokens)
    pattern = _specials_pattern(tuple(sorted((t for t in specials if len(t) > 1), key=len, reverse=True)))
    return text if pattern is None else pattern.sub(lambda m: m[0][0] + "\u2060" + m[0][1:], text)


def render(tokenizer: Any, prompt: Any, completion: Any) -> str:
    """The text the reward model reads for one (prompt, completion): the prompt and the final answer only.

    The completion is read as a bare answer where it has no think block (preference rows hold final
    answers); `make_reward_function` keeps unanswered training completions away from the model. Special
    tokens written in either are text (`as_text`); only the template's own are structure.
    """
    answer = as_text(tokenizer, final_answer(completion, think_prefill=False) or "")
    messages = [
        {**m, "content": as_text(tokenizer, m["content"])} if isinstance(m.get("content"), str) else m
        for m in messages_of(prompt)
    ]
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            [*messages, {"role": "assistant", "content": answer}], tokenize=False
        )
    question = "\n".join(prompt_text(m) for m in messages)
    sep = f" {tokenizer.sep_token} " if tokenizer.sep_token else "\n\n"
    return question + sep + answer


def encode(tokenizer: Any, texts: list[str], max_length: int, padding: bool = True) -> Any:
    """Tokenize rendered texts; a chat-templated text already carries its special tokens."""
    tokenizer.truncation_side = "left"
    return tokenizer(
        texts,
        padding=padding,
        truncation=True,
        max_length=max_length,
        add_special_tokens=not getattr(tokenizer, "chat_template", None),
        return_tensors="pt" if padding else None,
    )


class RewardModelScorer:
    """Scores (prompt, completion) pairs with a reward model at a local path / hub id or behind a URL
    (`http://host:port` or `unix:/path.sock`, served by `python -m verifiers.reward_model serve`)."""

    def __init__(
        self,
        path_or_url: str,
        device: str | None = None,
        batch_size: int = 8,
        max_length: int = DEFAULT_MAX_LENGTH,
        timeout_s: float = 120.0,
        revision: str | None = None,  # a hub id's commit; a local path or URL needs none
    ) -> None:
        self.path_or_url = path_or_url
        self.batch_size = batch_size
        self.max_length = max_length
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self.model: Any = None  # transformers model and tokenizer, when scoring in process
        self.tokenizer: Any = None
        if is_url(path_or_url):
            import httpx

            if path_or_url.startswith("unix:"):
                transport = httpx.HTTPTransport(uds=path_or_url.removeprefix("unix:"))
                self._client = httpx.Client(transport=transport, base_url="http://rm", timeout=timeout_s)
            else:
                self._client = httpx.Client(base_url=path_or_url.rstrip("/"), timeout=timeout_s)
            self.model = self.tokenizer = None
            return
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self._client = None
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path_or_url, revision=revision)
            self.model = AutoModelForSequenceClassification.from_pretrained(
                path_or_url, revision=revision, dtype=dtype
            )
        except OSError as e:
            raise OSError(
                f"cannot load a reward model from {path_or_url!r}: {e}. Train one with `make rm` "
                "(writes runs/rm/), pass a hub id reachable from here, or a URL of a running "
                "`python -m verifiers.reward_model serve`."
            ) from e
        if self.model.config.num_labels != 1:
            raise ValueError(
                f"{path_or_url!r} has num_labels={self.model.config.num_labels}; a reward model has 1"
            )
        positions = getattr(self.model.config, "max_position_embeddings", None)
        if positions:  # an encoder like BERT cannot read past its position table (512)
            self.max_length = min(self.max_length, positions)
        if self.model.config.pad_token_id is None and self.tokenizer.pad_token_id is not None:
            self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.model.to(self.device).eval()

    @classmethod
    def from_objects(
        cls, model: Any, tokenizer: Any, max_length: int = DEFAULT_MAX_LENGTH, batch_size: int = 8
    ):
        """A scorer around a model and tokenizer already in memory (e.g. before and after training)."""
        scorer = cls.__new__(cls)
        scorer.path_or_url, scorer.batch_size, scorer.max_length = "<in memory>", batch_size, max_length
        scorer._lock, scorer._client = threading.Lock(), None
        scorer.model, scorer.tokenizer = model.eval(), tokenizer
        scorer.device = str(next(model.parameters()).device)
        return scorer

    def score(self, prompts: Sequence[Any] | None, completions: Sequence[Any]) -> list[float]:
        """One scalar per completion, for its final answer given its prompt. Raises on any failure."""
        return self.score_and_cut(prompts, completions)[0]

    def score_and_cut(
        self, prompts: Sequence[Any] | None, completions: Sequence[Any]
    ) -> tuple[list[float], list[bool]]:
        """`score`, and for each row whether its text was longer than `max_length` and so read cut (from
        the left: the start of the prompt, or all of it, unread). Raises on any failure."""
        prompts = list(prompts) if prompts is not None else [None] * len(completions)
        if len(prompts) != len(completions):
            raise ValueError(f"{len(prompts)} prompts for {len(completions)} completions")
        if not completions:
            return [], []
        if self._client is not None:
            return self._score_http(prompts, list(completions))
        texts = [render(self.tokenizer, p, c) for p, c in zip(prompts, completions, strict=True)]
        lengths = [len(ids) for ids in encode(self.tokenizer, texts, 10**9, padding=False)["input_ids"]]
        return self.score_texts(texts), [n > self.max_length for n in lengths]

    def score_texts(self, texts: list[str]) -> list[float]:
        """Scores for already-rendered texts, in batches of `batch_size`."""
        import torch

        out: list[float] = []
        with self._lock, torch.inference_mode():
            for i in range(0, len(texts), self.batch_size):
                batch = encode(self.tokenizer, texts[i : i + self.batch_size], self.max_length)
                batch = {k: v.to(self.device) for k, v in batch.items()}
                out.extend(self.model(**batch).logits[:, 0].float().cpu().tolist())
        return out

    def _score_http(self, prompts: list, completions: list) -> tuple[list[float], list[bool]]:
        assert self._client is not None  # only called for a URL
        # As json.dumps writes it (non-ASCII escaped): httpx's own encoder refuses a lone surrogate, which
        # failed the batch here; escaped, it reaches the server, which reads it as U+FFFD (`as_text`).
        body = json.dumps({"prompts": prompts, "completions": completions}).encode()
        reply = self._client.post(
            "/score", content=body, headers={"content-type": "application/json", **auth_headers()}
        )
        reply.raise_for_status()
        body = reply.json()
        scores, cut = body["scores"], body.get("cut") or [False] * len(completions)
        if len(scores) != len(completions) or len(cut) != len(completions):
            raise ValueError(f"reward-model server returned {len(scores)} scores for {len(completions)} rows")
        return [float(s) for s in scores], [bool(c) for c in cut]

    def health(self) -> dict:
        """The server's /health body (URL scorers) or this process's model and device."""
        if self._client is not None:
            reply = self._client.get("/health")
            reply.raise_for_status()
            return reply.json()
        return {"status": "ok", "model": self.path_or_url, "device": self.device}
