"""Specifications for finding the final answer in a completion."""

from verifiers.math import extract_answer


def test_last_box_after_think_is_the_answer():
    assert extract_answer("<think>\n3+4=7\n</think>\nThe answer is \\boxed{7}") == "7"


def test_answer_only_inside_think_is_no_answer():
    assert extract_answer("<think>so it is \\boxed{7}</think>") is None


def test_unfinished_thinking_is_no_answer():
    assert extract_answer("<think>long reasoning \\boxed{7}") is None


def test_two_different_boxed_answers_commit_to_neither():
    assert extract_answer("First \\boxed{6}. On reflection the answer is \\boxed{8}.") is None


def test_boxes_listing_one_answer_are_joined():
    assert extract_answer("\\boxed{1} and \\boxed{2}") == "1, 2"


def test_hedged_answer_is_no_answer():
    assert extract_answer("The answer is \\boxed{\\text{either } 6 \\text{ or } 8}") is None


def test_values_joined_by_or_are_the_list_of_them():
    """`x = 2 or x = -2` is how a "find all" answer is written: it answers the gold 2, -2 (it scored 0);
    against one gold value a second value makes it wrong, so "6 or 8" still earns nothing for 6."""
    from verifiers.math import verify_batch

    golds = ["2, -2", "\\pm 2", "\\{6, 8\\}", "6", "8", "2, -2", "2, -2", "2, -2", "2", "2"]
    answers = [
        "\\boxed{x = 2 \\text{ or } x = -2}",
        "\\boxed{2 \\text{ or } -2}",
        "\\boxed{6 \\text{ or } 8}",
        "\\boxed{6 \\text{ or } 8}",  # attack: a hedge between the gold and another value
        "The answer is \\boxed{\\text{either } 6 \\text{ or } 8}",
        "\\boxed{2 \\text{ or } 3}",  # a wrong second value
        "\\boxed{2 \\text{ or } -2 \\text{ or } 3}",  # a superset
        "\\boxed{x = 2} or \\boxed{x = -2}",  # boxed one by one
        "\\boxed{2} or \\boxed{-2}",  # attack: one gold value, two boxes
        "\\boxed{2}, or possibly \\boxed{3}",  # attack: a hedge between boxes is no answer
    ]
    expected = [True, True, True, False, False, False, False, True, False, False]
    assert verify_batch(golds, answers, timeout_s=30) == expected


def test_empty_and_unclosed_boxes_are_no_answer():
    assert extract_answer("so \\boxed{}") is None
    assert extract_answer("so \\boxed{12") is None


def test_final_answer_phrase_and_hash_marks():
    assert (
        extract_answer("Final Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.")
        == "\\frac{1}{2}"
    )
    assert extract_answer("so 40 + 2 = 42\n#### 42") == "42"


def test_last_expression_when_nothing_is_marked():
    assert extract_answer("we add them and get 12 apples, so 15") == "15"


def test_answer_phrase_prefilter_changes_no_match():
    """`_PHRASE` starts with a lookahead on the phrases' first letters, for speed only: the same pattern
    without it must find the same phrases, in every case and language (a new phrase whose first letter
    the lookahead lacks would silently stop being found)."""
    import re

    from verifiers.math.extract import _PHRASE

    head = "(?=[#ftar最答정о])"
    assert _PHRASE.pattern.startswith(head)
    plain = re.compile(_PHRASE.pattern[len(head) :], _PHRASE.flags)
    phrases = [
        "final answer is", "Final Answer:", "the answer is", "answer:", "Answer is:", "####", "最终答案是",
        "答案：", "答え：", "答えは", "정답:", "정답은", "Ответ:", "ответ:", "Respuesta final:", "respuesta:",
        "Réponse finale :", "réponse:", "Antwort:", "Risposta:", "Resposta:",
    ]  # fmt: skip
    for phrase in phrases:
        for form in (phrase, phrase.upper(), phrase.lower(), phrase.title()):
            text = f"We work it out; so {form} $5$, or the answer is\n\n{form} 7."
            got = [m.span() for m in _PHRASE.finditer(text)]
            assert got == [m.span() for m in plain.finditer(text)], form
            assert got, form


def test_phrase_after_the_last_box_is_found_from_the_box_on():
    """The scan for a final-answer phrase that overrides the boxes starts at the last box (speed on long
    completions); it must decide as a scan of the whole text does: a phrase before the last box, or
    between boxes, leaves the box; one after it overrides it."""
    import re

    from verifiers.math.extract import _BOX_OPEN, _PHRASE, _phrase_after_boxes, _phrase_answer

    def whole_scan(text: str) -> str | None:
        phrases, boxes = list(_PHRASE.finditer(text)), list(_BOX_OPEN.finditer(text))
        if not phrases or (boxes and boxes[-1].start() > phrases[-1].start()):
            return None
        ans = _phrase_answer(text)
        if ans is not None and re.match(r"\s*(?:the|a|an|this|that|it|to|in|of|when|which)\b", ans, re.I):
            return None
        return ans

    texts = [
        "The answer is 4, so \\boxed{4}.",
        "\\boxed{4}. The final answer is 5.",
        "So \\fbox{3}; answer: 3 and then \\framebox{6}",
        "\\boxed{1} and the answer is 2, then \\boxed{3}; #### 7",
        "Answer: \\boxed{9}",
        "\\boxed{9}\\boxed{10} the answer is the number of ways",
        "答案：5 \\boxed{6} Ответ: 7",
        "no box, the answer is 8",
    ]
    overridden = 0
    for text in texts:
        assert _phrase_after_boxes(text) == whole_scan(text), text
        overridden += _phrase_after_boxes(text) is not None
    assert overridden >= 3
    assert extract_answer("\\boxed{4}. The final answer is 5") == "5"
    assert extract_answer("The answer is 4, so \\boxed{6}.") == "6"


def test_a_box_inside_a_box_holds_its_contents():
    """`\\boxed{\\fbox{5}}` answers 5 (it was read as the text `\\fbox{5}`, which no parser reads: a right
    answer scored 0); a box around only part of the answer is left as written."""
    from verifiers.math import verify

    assert extract_answer("so \\boxed{\\fbox{5}}") == "5"
    assert extract_answer("so \\boxed{ \\framebox{\\boxed{5}} }") == "5"
    assert verify("5", "so \\boxed{\\fbox{5}}")
    assert not verify("6", "so \\boxed{\\fbox{5}}")  # control: the wrong number stays wrong
    assert extract_answer("so \\boxed{\\fbox{5} + 1}") == "\\fbox{5} + 1"
    assert extract_answer("First \\boxed{\\fbox{6}}. The answer is \\boxed{8}.") is None  # still two answers
