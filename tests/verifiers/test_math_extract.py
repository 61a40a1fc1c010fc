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
    assert extract_answer("The answer is \\boxed{6 \\text{ or } 8}") is None


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
