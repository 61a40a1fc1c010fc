"""Repetition / looping penalty on real multilingual prose and on the loops QwQ falls into."""

import json
import random

import pytest

from tests.verifiers.multilingual import UDHR_1
from verifiers.rules.repetition import repetition_reward, tail_loop_share, tokens


@pytest.mark.parametrize("lang", sorted(UDHR_1))
def test_natural_prose_in_any_language_is_not_penalised(lang):
    text = "Let me recall the declaration.\n</think>\n" + UDHR_1[lang]
    assert repetition_reward([text]) == [0.0]


@pytest.mark.parametrize("lang", ["en", "zh", "ru", "ja"])
def test_a_paragraph_looping_until_the_limit_is_penalised_near_minus_one(lang):
    text = "Let me check again. " + UDHR_1[lang] * 12
    assert repetition_reward([text])[0] < -0.8


def test_penalty_grows_with_the_share_of_repeated_text():
    prose = " ".join(UDHR_1[k] for k in ("en", "fr", "de", "es", "it", "pt"))
    loop = " Wait, so the answer is 5. Let me verify once more."
    light, heavy = repetition_reward([prose + loop * 3, prose + loop * 30])
    assert -1.0 <= heavy < light < 0.0


def test_a_word_stuck_at_the_tail_is_a_loop():
    toks = tokens(UDHR_1["en"] + " the" * 40)
    assert tail_loop_share(toks) > 0.4


def test_cjk_text_is_tokenised_per_character():
    assert tokens("人人生而自由")[:3] == ["人", "人", "生"]
    assert repetition_reward([UDHR_1["zh"]]) == [0.0]


def test_a_loop_disguised_by_invisible_characters_look_alikes_punctuation_or_markdown_is_still_a_loop():
    rng = random.Random(0)
    loop = "Wait, let me check the answer again carefully now. "
    invisible = ["\u200b", "\u200c", "\u2060", "\ufeff", "\u00ad"]
    look_alike = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "c": "\u0441", "p": "\u0440"}
    hidden = "".join(" ".join(w + rng.choice(invisible) for w in loop.split()) + " " for _ in range(60))
    spoofed = "".join(
        "".join(look_alike[ch] if ch in look_alike and rng.random() < 0.5 else ch for ch in loop)
        for _ in range(60)
    )
    marks = ["", ",", ";", ":", "!", "...", " -"]
    punctuated = " ".join(w.strip(",.") + rng.choice(marks) for w in loop.split() * 60)
    bolded = " ".join(f"**{w}**" if rng.random() < 0.3 else w for w in loop.split() * 60)
    assert repetition_reward(["Hmm.</think>" + loop * 60])[0] < -0.9
    for text in (hidden, spoofed, punctuated, bolded):
        assert repetition_reward(["Hmm.</think>" + text])[0] < -0.9


def test_structured_output_whose_values_differ_is_not_a_loop():
    records = json.dumps([{"id": i, "name": f"user{i}", "active": True} for i in range(30)], indent=2)
    items = "\n".join(f'<li class="item"><a href="/p/{i}">Page {i}</a></li>' for i in range(30))
    for answer in (records, items):
        assert repetition_reward(["Let me write it.</think>" + answer]) == [0.0]


def test_a_run_of_punctuation_at_the_end_is_a_loop():
    assert repetition_reward(["Let me see.</think>The answer is 4" + "!" * 400])[0] < -0.9
