"""IFEval checks read what a reader sees: each attack below scored 1 (the check passed without the
instruction being followed) until the checks read `visible_text` and the stricter rules of
`ifeval_checks`; each honest answer beside it, and each honest form that used to score 0, passes."""

import pytest

from verifiers.rules.ifeval import check_ifeval, ifeval_reward

EN = "The river runs quietly through the old valley and the farmers watch the water rise each spring."
ZW, WJ, FILLER = "\u200b", "\u2060", "\u3164"  # zero-width space, word joiner, Hangul filler

# id -> kwargs, honest response that follows, attacks that look as if they follow but do not
ATTACKS = {
    "punctuation:no_comma": (
        {},
        "No commas here at all.",
        {
            "fullwidth comma": "One comma\uff0c here.",
            "arabic comma": "One comma\u060c here.",
            "low-9 quote as comma": "One comma\u201a here.",
            "only a full stop": ".",
        },
    ),
    "keywords:forbidden_words": (
        {"forbidden_words": ["river"]},
        EN.replace("river", "stream"),
        {
            "zero-width space": EN.replace("river", f"ri{ZW}ver"),
            "soft hyphen": EN.replace("river", "ri\u00adver"),
            "underscore-joined": EN.replace("river", "river_"),
            "fullwidth": EN.replace("river", "\uff52\uff49\uff56\uff45\uff52"),
            "cyrillic e": EN.replace("river", "riv\u0435r"),
            "mathematical bold": EN.replace("river", "\U0001d42b\U0001d422\U0001d42f\U0001d41e\U0001d42b"),
        },
    ),
    "keywords:frequency": (
        {"keyword": "water", "frequency": 2, "relation": "less than"},
        "The water was cold.",
        {"word joiner": f"water wa{WJ}ter", "cyrillic a": "water w\u0430ter"},
    ),
    "keywords:frequency:whole_words": (
        {"keyword": "river", "frequency": 1, "relation": "exactly", "whole_words": True},
        "The river runs past the rivers.",
        {"two more joined by an underscore": "The river runs by the river_river."},
    ),
    "keywords:letter_frequency": (
        {"letter": "f", "let_frequency": 2, "let_relation": "less than"},
        "A dog sits.",
        {"ligatures": "A \ufb01ne \ufb01sh."},
    ),
    "length_constraints:number_words": (
        {"num_words": 5, "relation": "less than"},
        "The river runs quietly.",
        {
            "hangul filler as space": FILLER.join(EN.split()),
            "underscores as spaces": "_".join(EN.split()),
        },
    ),
    "length_constraints:number_sentences": (
        {"num_sentences": 2, "relation": "less than"},
        "It rained all day.",
        {
            "one-dot leader": "It rained\u2024 We stayed in\u2024 We read\u2024 We slept\u2024",
            "fullwidth full stop": "It rained\uff0e We stayed in\uff0e We read\uff0e We slept\uff0e",
            "ideographic full stop": "It rained\u3002 We stayed in\u3002 We read\u3002 We slept\u3002",
        },
    ),
    "length_constraints:number_paragraphs": (
        {"num_paragraphs": 3},
        "First.\n***\nSecond.\n***\nThird.",
        {
            "invisible paragraph": f"First.\n***\n{ZW}\n***\nThird.",
            "bold italic inside one line": "One paragraph with ***bold italic*** words in it.",
        },
    ),
    "detectable_format:title": (
        {},
        "<<A Quiet River>>\nThe text.",
        {
            "zero-width title": f"<<{ZW}>>\nThe text.",
            "filler title": f"<<{FILLER}>>\nThe text.",
            "punctuation title": "<<...>>\nThe text.",
        },
    ),
    "detectable_format:number_highlighted_sections": (
        {"num_highlights": 2},
        "This is *important* and **also this**.",
        {"invisible highlights": f"This *{ZW}* and *{WJ}*.", "punctuation highlights": "This *.* and *-*."},
    ),
    "detectable_content:number_placeholders": (
        {"num_placeholders": 2},
        "Dear [name], meet me at [address] or [____].",
        {"empty brackets": "Dear [], meet me at [ ].", "invisible brackets": f"Dear [{ZW}] and [{WJ}]."},
    ),
    "detectable_format:multiple_sections": (
        {"section_spliter": "Section", "num_sections": 3},
        "## Section 1\nIntro.\n**Section 2**\nBody.\nSection 3: The end.",
        {
            "headings with nothing under them": "Section 1\nSection 2\nSection 3",
            "named inside a sentence": "See Section 1, Section 2 and Section 3 of the law for details.",
        },
    ),
    "detectable_format:number_bullet_lists": (
        {"num_bullets": 3},
        "Points:\n* first\n- second\n  * third",
        {"empty items": "Points:\n* first\n-\n* ."},
    ),
    "detectable_format:constrained_response": (
        {},
        "After thinking it over: My answer is no.",
        {"every option": "My answer is yes. My answer is no. My answer is maybe."},
    ),
    "detectable_format:json_format": (
        {},
        '```json\n{"answer": "The river runs quietly."}\n```',
        {"prose in quotes": '"The river runs quietly."', "a number": "42", "null": "```json\nnull\n```"},
    ),
    "combination:two_responses": (
        {},
        "Answer one.\n******\nAnswer two.",
        {
            "twice the same behind a zero-width space": f"Answer one.\n******\nAnswer one.{ZW}",
            "punctuation only": "Answer one.\n******\n.",
            "twice the same in other case": "Answer one.\n******\nANSWER ONE!",
        },
    ),
    "language:response_language": (
        {"language": "fr"},
        "Le fleuve traverse tranquillement la vieille vallée et les paysans regardent l'eau monter.",
        {"nothing to detect": "."},
    ),
}

# id -> kwargs and an honest response, as models write them, that scored 0 before
HONEST = {
    "CRLF line endings": (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "however"},
        "It was late.\r\n\r\nHowever, we went on.",
    ),
    "the first word in bold, after a line of spaces": (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 3, "nth_paragraph": 3, "first_word": "however"},
        "It was late.\n  \nWe were tired.\n\n\n\n**However**, we went on.\n",
    ),
    "bold italic inside a paragraph": (
        "length_constraints:number_paragraphs",
        {"num_paragraphs": 3},
        "First.\n\n***\n\nSecond, with ***emphasis***.\n***\nThird.\n",
    ),
    "curly apostrophe in the end phrase": (
        "startend:end_checker",
        {"end_phrase": "That's all I have to say."},
        "We are done here. That\u2019s all I have to say.",
    ),
    "curly quotes around the end phrase": (
        "startend:end_checker",
        {"end_phrase": "Any other questions?"},
        "\u201cWe are done here. Any other questions?\u201d",
    ),
    "curly double quotes wrapping the answer": ("startend:quotation", {}, "\u201cWrapped in quotes.\u201d"),
    "curly apostrophe in a keyword": (
        "keywords:existence",
        {"keywords": ["river's"]},
        "The river\u2019s source is high.",
    ),
    "repeated prompt with a curly apostrophe": (
        "combination:repeat_prompt",
        {"prompt_to_repeat": "Write a poem about the river's source."},
        "Write a poem about the river\u2019s source.\nHere it is.",
    ),
    "repeated prompt with a line break for a space": (
        "combination:repeat_prompt",
        {"prompt_to_repeat": "Write a poem. Make it short."},
        "Write a poem.\nMake it short.\n\nWater runs.",
    ),
    "Chinese sentences, each ending with its full stop": (
        "length_constraints:number_sentences",
        {"num_sentences": 3, "relation": "at least"},
        "河流静静地流过山谷。农民们看着河水。春天来了！",
    ),
    "a list item naming its section": (
        "detectable_format:multiple_sections",
        {"section_spliter": "Section", "num_sections": 2},
        "- Section 1: the intro.\n- Section 2: the body.",
    ),
    "dividers at the ends of lines": (
        "length_constraints:number_paragraphs",
        {"num_paragraphs": 3},
        "A cat sat on a mat,\nand dreamed of a hat. ***\n\nThe hat was red. ***\n\nThe end.",
    ),
    "a divider between two sentences of one line": (
        "length_constraints:number_paragraphs",
        {"num_paragraphs": 2},
        "The first part says one thing. *** The second part says another.",
    ),
    "the whole answer in quotes, sections in capitals": (
        "detectable_format:multiple_sections",
        {"section_spliter": "PART", "num_sections": 2},
        '"PART 1: the intro comes first.\n\nPART 2: the body follows."',
    ),
    "a markdown rule under the bullets": (
        "detectable_format:number_bullet_lists",
        {"num_bullets": 2},
        "Points:\n* first\n* second\n\n---\n\nDone.\n\n* * *",
    ),
}


@pytest.mark.parametrize(
    ("iid", "attack"), [(iid, name) for iid, (_, _, attacks) in ATTACKS.items() for name in attacks]
)
@pytest.mark.parametrize("strict", [True, False])
def test_attack_that_only_looks_like_following_fails_and_the_honest_answer_passes(iid, attack, strict):
    kwargs, honest, attacks = ATTACKS[iid]
    iid = iid.removesuffix(":whole_words")
    assert check_ifeval("", honest, [iid], [kwargs], strict=strict) == [True]
    assert check_ifeval("", attacks[attack], [iid], [kwargs], strict=strict) == [False]


@pytest.mark.parametrize("case", sorted(HONEST))
def test_honest_answer_as_models_write_it_passes(case):
    iid, kwargs, response = HONEST[case]
    assert check_ifeval("", response, [iid], [kwargs]) == [True]


def test_an_answer_of_invisible_characters_is_no_answer():
    ids, kwargs = [["punctuation:no_comma"]], ["[{}]"]
    for blank in (ZW, f"{FILLER} {WJ}\u00ad"):
        assert ifeval_reward([f"Thinking.</think>{blank}"], ids, kwargs) == [0.0]
    assert ifeval_reward(["Thinking.</think>No commas here."], ids, kwargs) == [1.0]


def test_json_nested_past_what_json_reads_scores_zero_not_the_batch_none():
    """Attack: an answer of JSON nested deeper than Python's json reads made json_format raise
    RecursionError out of ifeval_reward, so the whole batch scored None (every ifeval row unscored, left
    out of its group's baseline). Now that answer fails the instruction (0.0) and the rows beside it are
    scored. Control: honest JSON still passes; an unknown instruction id is still None (a data failure)."""
    ids, kwargs = [["detectable_format:json_format"]] * 2, ["[{}]"] * 2
    deep = "Thinking.</think>```json\n" + "[" * 100_000 + "]" * 100_000 + "\n```"
    honest = 'Thinking.</think>```json\n{"answer": [1, 2]}\n```'
    assert ifeval_reward([deep, honest], ids, kwargs) == [0.0, 1.0]
    assert ifeval_reward([honest], [["detectable_format:no_such_check"]], ["[{}]"]) == [None]
