"""A completion as text, and where its final answer is: one rule shared by every reward and the reward model.

TRL hands a reward function each completion either as a string or as chat messages (conversational
data); `completion_text` turns both into the assistant's text, `prompt_text` does the same for a prompt.

**The final answer** (`final_answer`) is cut the same way for every verifier:

1. The turn ends at the first end-of-turn token (`<|im_end|>`, `<|endoftext|>`, ...): a model that runs
   past its turn is writing the next one, which answers nothing.
2. If the text closes a thought (`</think>`), the final answer is what follows the last `</think>`, unless
   a `<think>` opens again there: that second thought never closed (rule 3).
3. If it never closes its thinking, it has given **no final answer** (None). That covers a `<think>` it
   opened itself and, with `think_prefill=True` (the recipe default, as QwQ's chat template ends the
   prompt with `<think>\\n`), a completion that started inside the prefilled thought and never left it:
   its text is reasoning, however answer-like its last line looks.
4. With `think_prefill=False` (a bare answer, a model that does not think, `verify(gold, answer)`), a text
   without any think tag is the final answer as a whole.
5. A final answer that is empty or only whitespace or invisible characters (zero-width spaces, fillers:
   `is_blank`) is no final answer either.

**Unanswered is wrong, not unscorable.** A reward whose row has a readable reference scores an unanswered
completion like a wrong answer (0.0 for math, code, IFEval, tool calls and language; the lowest score in its
group for the reward model), never None: None means the reward could not judge the row, and a completion
that never answers must not escape the loss that way. The format reward scores it 0.0 as malformed; the
repetition penalty reads the whole text, thought included, so a loop that never closes is still penalised.
"""

from __future__ import annotations

from typing import Any

import regex

THINK, END_THINK = "<think>", "</think>"
# A chat model that runs past its turn keeps writing the next one; nothing after these counts.
TURN_END = ("<|im_end|>", "<|im_start|>", "<|endoftext|>", "<|eot_id|>")


# What shows nothing and is not whitespace: format and control characters (zero-width spaces and joiners,
# word joiner, soft hyphen, BOM, direction marks), and the letters and symbols that render as a blank (Hangul
# fillers, the empty Braille pattern), which read as spaces.
_FILLERS = "\u115f\u1160\u3164\uffa0\u2800"
INVISIBLE = regex.compile(r"(?V1)[[\p{Cf}\p{Cc}]--\s]")
BLANK_FILLERS = regex.compile(f"[{_FILLERS}]")
_SHOWN = regex.compile(rf"(?V1)[^\s\p{{Cf}}\p{{Cc}}{_FILLERS}]")


def is_blank(text: str) -> bool:
    """Whether `text` shows nothing: only whitespace and invisible characters."""
    return _SHOWN.search(text) is None


def message_text(message: dict) -> str:
    """One chat message's text (multimodal-style content parts keep their text parts)."""
    body = message.get("content", "")
    if isinstance(body, list):
        return "".join(p.get("text", "") for p in body if isinstance(p, dict))
    return str(body or "")


def _last_with_role(messages: list, roles: tuple[str, ...]) -> str:
    for role in roles:
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == role:
                return message_text(message)
    last = messages[-1] if messages else None
    return message_text(last) if isinstance(last, dict) else str(last or "")


def completion_text(completion: Any) -> str:
    """A completion as TRL passes it (a string, a message dict, or chat messages) as the assistant's text."""
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return message_text(completion)
    return _last_with_role(list(completion), ("assistant",))


def prompt_text(prompt: Any) -> str:
    """The text a prompt asks the model to answer: a string, or the last user message of a conversation."""
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, dict):
        return message_text(prompt)
    return _last_with_role(list(prompt), ("user",))


def end_of_turn(text: str) -> str:
    """`text` up to its first end-of-turn token."""
    for mark in TURN_END:
        cut = text.find(mark)
        if cut >= 0:
            text = text[:cut]
    return text


def final_answer(completion: Any, think_prefill: bool = True) -> str | None:
    """The completion's final answer, stripped, or None when it gave none (see the module docstring)."""
    text = end_of_turn(completion_text(completion))
    _, closed, after = text.rpartition(END_THINK)
    if closed:
        if THINK in after:
            return None  # it opened another thought and never closed it: no final answer
        answer = after
    elif think_prefill or THINK in text:
        return None
    else:
        answer = text
    answer = answer.strip()
    return None if is_blank(answer) else answer
