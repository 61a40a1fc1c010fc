"""IFEval: every instruction id passes a following response and fails a narrowly different one, strict and
loose; the 541 IFEval prompts all parse; the reward handles TRL's column shapes."""

import json

import pytest

from rl.eval.suites import data_dir
from verifiers.rules.ifeval import INSTRUCTION_IDS, check_ifeval, ifeval_reward

IFEVAL = data_dir() / "ifeval/input_data.jsonl"

EN = "The river runs quietly through the old valley and the farmers watch the water rise each spring."

# id -> (kwargs, response that follows, response that narrowly does not)
CASES = {
    "keywords:existence": ({"keywords": ["river", "spring"]}, EN, EN.replace("spring", "autumn")),
    "keywords:frequency": (
        {"keyword": "water", "frequency": 3, "relation": "at least"},
        "Water here, water there, WATER everywhere.",
        "Water here, water there, nothing everywhere.",
    ),
    "keywords:forbidden_words": ({"forbidden_words": ["river"]}, EN.replace("river", "stream"), EN),
    "keywords:letter_frequency": (
        {"letter": "z", "let_frequency": 3, "let_relation": "less than"},
        "Jazz is fun.",
        "Jazz is fuzzy.",
    ),
    "language:response_language": (
        {"language": "fr"},
        "Le fleuve traverse tranquillement la vieille vallée et les paysans regardent l'eau monter.",
        "Der Fluss fließt ruhig durch das alte Tal und die Bauern sehen das Wasser steigen.",
    ),
    "length_constraints:number_sentences": (
        {"num_sentences": 3, "relation": "less than"},
        "Dr. Smith arrived at 3.15 p.m. today. He left soon after.",
        "Dr. Smith arrived at 3.15 p.m. today. He left soon after. It rained.",
    ),
    "length_constraints:number_paragraphs": (
        {"num_paragraphs": 2},
        "First paragraph here.\n***\nSecond paragraph here.",
        "First paragraph here.\n***\n***\nSecond paragraph here.",
    ),
    "length_constraints:number_words": (
        {"num_words": 5, "relation": "at least"},
        "one two three four five",
        "one two three four",
    ),
    "length_constraints:nth_paragraph_first_word": (
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "however"},
        'It was late.\n\n"However, we went on.',
        "It was late.\n\nAnd however, we went on.",
    ),
    "detectable_content:number_placeholders": (
        {"num_placeholders": 2},
        "Dear [name], meet me at [address].",
        "Dear [name], meet me at the address.",
    ),
    "detectable_content:postscript": (
        {"postscript_marker": "P.S."},
        "Thanks for reading.\np.s. see you soon",
        "Thanks for reading.\nps see you soon",
    ),
    "detectable_format:number_bullet_lists": (
        {"num_bullets": 2},
        "Points:\n* first\n- second",
        "Points:\n* first\n* extra\n- second\nDone.",
    ),
    "detectable_format:constrained_response": ({}, "My answer is maybe.", "My answer is perhaps."),
    "detectable_format:number_highlighted_sections": (
        {"num_highlights": 2},
        "This is *important* and **also this**.",
        "This is *important* and * * that.",
    ),
    "detectable_format:multiple_sections": (
        {"section_spliter": "Section", "num_sections": 2},
        "Section 1\nintro\nSection 2\nbody",
        "Section 1\nintro\nSection two\nbody",
    ),
    "detectable_format:json_format": ({}, '```json\n{"a": 1}\n```', '```json\n{"a": 1,}\n```'),
    "detectable_format:title": ({}, "<<A Quiet River>>\nThe text.", "<< >>\nThe text."),
    "combination:two_responses": ({}, "Answer one.\n******\nAnswer two.", "Answer one.\n******\nAnswer one."),
    "combination:repeat_prompt": (
        {"prompt_to_repeat": "Write a poem about rivers."},
        "write a poem about rivers. Here it is: water flows.",
        "Sure! Write a poem about rivers. Here it is.",
    ),
    "startend:end_checker": (
        {"end_phrase": "Any other questions?"},
        '"That is all. Any other questions?"',
        "That is all. Any other questions? Bye.",
    ),
    "startend:quotation": ({}, '  "Wrapped in quotes."  ', '"Wrapped in quotes.'),
    "change_case:capital_word_frequency": (
        {"capital_frequency": 2, "capital_relation": "at least"},
        "This is VERY WELL-KNOWN.",
        "This is VERY well-known.",
    ),
    "change_case:english_capital": (
        {},
        "THE RIVER RUNS QUIETLY THROUGH THE OLD VALLEY AND THE FARMERS WATCH THE WATER.",
        "THE RIVER RUNS QUIETLY THROUGH THE OLD VALLEY AND THE FARMERS WATCH THE WATEr.",
    ),
    "change_case:english_lowercase": ({}, EN.lower(), EN),
    "punctuation:no_comma": ({}, "No commas here at all.", "One comma, here."),
}

# Responses that IFEval's loose mode accepts and strict mode rejects, one per transformation it tries.
LOOSE_ONLY = {
    "startend:end_checker": ({"end_phrase": "Bye now."}, "Text. Bye now.\n(signed)"),  # last line dropped
    "combination:repeat_prompt": (
        {"prompt_to_repeat": "Say hi."},
        "Sure:\nSay hi. Hi!",
    ),  # first line dropped
    "detectable_format:json_format": ({}, 'Here you go:\n{"a": 1}\nHope it helps.'),  # both dropped
    "startend:quotation": ({}, '**"Quoted."**'),  # asterisks removed
}


def test_all_25_instruction_ids_are_supported():
    assert len(INSTRUCTION_IDS) == 25
    assert set(INSTRUCTION_IDS) == set(CASES)


@pytest.mark.parametrize("iid", sorted(CASES))
@pytest.mark.parametrize("strict", [True, False])
def test_following_response_passes_and_near_miss_fails(iid, strict):
    kwargs, good, bad = CASES[iid]
    assert check_ifeval("", good, [iid], [kwargs], strict=strict) == [True]
    assert check_ifeval("", bad, [iid], [kwargs], strict=strict) == [False]


@pytest.mark.parametrize("iid", sorted(LOOSE_ONLY))
def test_loose_mode_forgives_preamble_trailer_and_markdown(iid):
    kwargs, response = LOOSE_ONLY[iid]
    assert check_ifeval("", response, [iid], [kwargs], strict=True) == [False]
    assert check_ifeval("", response, [iid], [kwargs], strict=False) == [True]


def test_empty_response_follows_nothing_even_no_comma():
    assert check_ifeval("", "   ", ["punctuation:no_comma"], [{}]) == [False]


def test_every_ifeval_prompt_parses_and_uses_only_supported_ids():
    rows = [json.loads(line) for line in IFEVAL.read_text().splitlines()]
    assert len(rows) == 541
    for row in rows:
        assert set(row["instruction_id_list"]) <= set(INSTRUCTION_IDS)
        for strict in (True, False):
            got = check_ifeval(
                row["prompt"], "A short reply.", row["instruction_id_list"], row["kwargs"], strict
            )
            assert len(got) == len(row["instruction_id_list"])


def test_reward_is_fraction_or_all_or_nothing_and_reads_only_the_final_answer():
    ids = [["punctuation:no_comma", "keywords:existence"]]
    kwargs = [json.dumps([{"keywords": None}, {"keywords": ["river"], "num_words": None}])]
    completion = ["thinking, with commas, about a river</think>No commas and no keyword."]
    assert ifeval_reward(completion, instruction_id_list=ids, kwargs=kwargs) == [0.5]
    assert ifeval_reward(completion, instruction_id_list=ids, kwargs=kwargs, all_or_nothing=True) == [0.0]
    messages = [[{"role": "assistant", "content": "x</think>The river, flowing."}]]
    assert ifeval_reward(messages, instruction_id_list=ids, kwargs=kwargs) == [0.5]


def test_reward_leaves_rows_without_instructions_to_other_rewards():
    got = ifeval_reward(["a", "b"], instruction_id_list=[None, []], kwargs=[None, None])
    assert got == [None, None]


def test_reward_scores_a_real_ifeval_row_loose_above_strict():
    row = {
        "instruction_id_list": ["startend:end_checker"],
        "kwargs": [{"end_phrase": "Is there anything else?"}],
    }
    completion = "</think>Here is the answer. Is there anything else?\n-- assistant"
    strict = ifeval_reward([completion], [row["instruction_id_list"]], [row["kwargs"]])
    loose = ifeval_reward([completion], [row["instruction_id_list"]], [row["kwargs"]], strict=False)
    assert strict == [0.0] and loose == [1.0]


def test_loose_reward_drops_the_answer_preamble_after_the_templates_blank_line() -> None:
    from verifiers.rules.ifeval import ifeval_reward

    completion = '<think>\nWrap it in quotes.\n</think>\n\nSure, here it is:\n"Hello world"'
    ids, kwargs = [["startend:quotation"]], ["[{}]"]
    assert ifeval_reward([completion], ids, kwargs, strict=False) == [1.0]
    assert ifeval_reward([completion], ids, kwargs, strict=True) == [0.0]
