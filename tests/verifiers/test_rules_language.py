"""Language identification and the language-consistency reward on real multilingual text."""

import pytest

from tests.verifiers.multilingual import QUESTION, UDHR_1
from verifiers.rules.language import (
    detect,
    language_consistency_reward,
    language_shares,
    segments,
    strip_non_prose,
)


@pytest.mark.parametrize("lang", sorted(UDHR_1))
def test_detector_identifies_udhr_article_1_in_eleven_languages(lang):
    assert detect(UDHR_1[lang])[0] == lang


@pytest.mark.parametrize("lang", sorted(QUESTION))
def test_answer_in_the_prompts_language_scores_one(lang):
    prompt = [{"role": "user", "content": QUESTION[lang]}]
    completion = "Let me think in English about this.</think>\n" + UDHR_1[lang]
    assert language_consistency_reward([completion], prompts=[prompt]) == [1.0]


def test_answer_in_another_language_scores_zero():
    prompt = [{"role": "user", "content": QUESTION["fr"]}]
    assert language_consistency_reward(["</think>" + UDHR_1["de"]], prompts=[prompt]) == [0.0]


def test_switching_to_chinese_mid_answer_is_penalised_in_proportion():
    switched = UDHR_1["en"] + " " + UDHR_1["zh"]
    reward = language_consistency_reward(["</think>" + switched], prompts=[QUESTION["en"]])[0]
    assert 0.4 < reward < 0.9
    shares = language_shares(switched)
    assert set(shares) == {"en", "zh"}


def test_switch_inside_one_sentence_is_seen_by_script_segmentation():
    text = "All human beings are born free and equal，人人生而自由，在尊严和权利上一律平等。"
    assert [detect(s)[0] for s in segments(text)] == ["en", "zh"]


def test_code_math_and_short_terms_do_not_count_as_switching():
    answer = (
        "</think>Die Lösung verwendet die Funktion `numpy.linalg.solve` und die Formel $E = mc^2$, "
        "wie im Handbuch unter https://example.org/docs beschrieben. Das Ergebnis ist korrekt.\n"
        "```python\nprint('hello world, this is english code text')\n```"
    )
    assert language_consistency_reward([answer], prompts=[QUESTION["de"]]) == [1.0]


def test_bare_numeric_answer_is_consistent_and_unidentifiable_prompt_is_not_owned():
    got = language_consistency_reward(["</think>42", "</think>42"], prompts=[QUESTION["en"], "2+2=?"])
    assert got == [1.0, None]


def test_thought_is_checked_only_when_asked():
    completion = UDHR_1["zh"] + "</think>" + UDHR_1["en"]
    assert language_consistency_reward([completion], prompts=[QUESTION["en"]]) == [1.0]
    assert language_consistency_reward([completion], prompts=[QUESTION["en"]], include_thought=True)[0] < 0.8


def test_an_answer_of_short_sentences_in_another_language_is_seen():
    """Attack: every sentence under the letters one needs to identify it, so each was skipped and the
    answer counted as having no language (1.0). Whole short sentences of one script are now read together."""
    short_english = "</think>The result is 5. It is the sum. We add two. So five."
    assert language_consistency_reward([short_english], prompts=[QUESTION["fr"]]) == [0.0]
    # Controls: short sentences in the prompt's language, and Latin names inside Russian sentences.
    short_french = "</think>On additionne. Deux plus trois. Cela fait cinq. Voilà."
    russian = (
        "</think>Мы используем NumPy и pandas. Функция groupby из DataFrame считает суммы. Ответ равен пяти."
    )
    got = language_consistency_reward([short_french, russian], prompts=[QUESTION["fr"], QUESTION["ru"]])
    assert got == [1.0, 1.0]
    # Terse fragments read together are often misidentified ("Also x = 5. Dann y = 3. Fertig." reads as
    # English at 0.32): an unconfident reading does not count against them, nor for them (None, not 0).
    # A sentence of 12-19 letters alone is misread as often ("Enfin comptons." reads as English at 0.67):
    # such sentences are read with the answer's other short ones.
    terse = [
        "</think>Also x = 5. Dann y = 3. Fertig.",
        "</think>Donc x = 5. Puis y = 3. Fini.",
        "</think>Trions. Puis parcourons. Enfin comptons. Terminé.",
    ]
    got = language_consistency_reward(terse, prompts=[QUESTION["de"], QUESTION["fr"], QUESTION["fr"]])
    assert got == [None, None, None]
    # ...and one short sentence in another language, alone, is still seen.
    assert language_consistency_reward(["</think>Die Summe ist neun."], prompts=[QUESTION["en"]]) == [0.0]


def test_a_sentence_fasttext_is_unsure_of_is_read_with_the_others():
    """Honest answers lost reward to one sentence read alone at low probability in the wrong language
    ("Ensuite on simplifie la fraction." as English at 0.30, "Sustituimos x por su valor." as Portuguese
    at 0.46); and the same misreads counted for an answer in the wrong language. A whole sentence read
    under `POOLED_MIN_PROBABILITY` now joins the pool of short sentences."""
    honest = [
        "</think>On additionne les deux nombres. Ensuite on simplifie la fraction. Le résultat est donc égal à douze.",
        "</think>Sumamos los dos números. Sustituimos x por su valor. El resultado es igual a doce.",
    ]
    assert detect("Ensuite on simplifie la fraction.")[0] != "fr"
    assert language_consistency_reward(honest, prompts=[QUESTION["fr"], QUESTION["es"]]) == [1.0, 1.0]
    # Attack: French to an English prompt, with sentences fastText reads as French only unsurely (0.38)
    # or as English (0.30); each used to count as read, so the answer scored 0.34.
    french = "</think>On obtient ainsi la solution. Cette valeur satisfait la condition. Ensuite on simplifie la fraction."
    assert language_consistency_reward([french], prompts=[QUESTION["en"]]) == [0.0]
    # Control: a sentence read with confidence in another language still counts alone.
    mixed = (
        "</think>We add the two numbers. Then we simplify the fraction. Cette valeur satisfait la condition."
    )
    (share,) = language_consistency_reward([mixed], prompts=[QUESTION["en"]])
    assert 0.4 < share < 0.8


def test_english_in_cyrillic_look_alikes_is_read_as_english():
    """Attack: Cyrillic а, е, о inside English words cut every word into runs of two scripts, each too short
    to identify, so the answer had no identifiable prose and passed any prompt's language (1.0)."""
    english = "</think>We add the two numbers together. Then we simplify the fraction. So the answer is five."
    spoofed = english.replace("a", "\u0430").replace("e", "\u0435").replace("o", "\u043e")
    assert language_consistency_reward([english, spoofed], prompts=[QUESTION["fr"]] * 2) == [0.0, 0.0]
    # Controls: Russian stays Russian, and a Latin name inside a Russian sentence is still skipped.
    russian = "</think>Складываем два числа. Затем сокращаем дробь. Ответ равен пяти, как считает NumPy."
    assert language_consistency_reward([russian, spoofed], prompts=[QUESTION["ru"], QUESTION["en"]]) == [
        1.0,
        1.0,
    ]


def test_an_answer_whose_prose_nothing_identifies_is_read_whole_never_free():
    """Attack: one sentence too short to identify ("So it is 5.", 6 letters) or one fastText reads alone
    under `POOLED_MIN_PROBABILITY`, in another language than the prompt, had no identified prose and scored
    1.0. Its prose is now read in one go: sure readings (English at 0.93-0.99 here) score; unsure ones are
    None, noted `unidentified`; math and code without prose keep 1.0."""
    from verifiers import failures

    failures.drain_notes()
    english = ["</think>So it is 5.", "</think>The answer is 5.", "</think>That is all.", "</think>It is 5."]
    assert language_consistency_reward(english, prompts=[QUESTION["fr"]] * 4) == [0.0] * 4
    # Controls: the same answers to an English prompt, and short answers in the prompt's language.
    assert language_consistency_reward(english, prompts=[QUESTION["en"]] * 4) == [1.0] * 4
    honest = ["</think>C'est 5.", "</think>Es gibt fünf.", "</think>Respuesta: 5", "</think>Il y en a cinq."]
    prompts = [QUESTION["fr"], QUESTION["de"], QUESTION["es"], QUESTION["fr"]]
    assert language_consistency_reward(honest, prompts=prompts) == [1.0] * 4
    # Too short to tell either way ("Oui." reads as Italian at 0.48, "Thus x = 5." as English at 0.46):
    # None, whichever the prompt's language, and counted.
    unsure = ["</think>Oui.", "</think>Thus x = 5.", "</think>Voilà: $x=5$."]
    assert language_consistency_reward(unsure, prompts=[QUESTION["fr"]] * 3) == [None] * 3
    assert failures.drain_notes()[("language_consistency_reward", "unidentified")] == 3
    # No prose at all: a number, a formula, a boxed answer written outside `$`, code.
    bare = [
        "</think>42",
        "</think>$x=5$",
        "</think>\\boxed{5}",
        "</think>x = sin(y)",
        "</think>```\nprint(5)\n```",
    ]
    assert language_consistency_reward(bare, prompts=[QUESTION["fr"]] * 5) == [1.0] * 5


def test_a_short_chinese_answer_is_chinese_not_japanese():
    """fastText reads short Han-only text as Japanese ("答案是5。" -> ja at 0.52): an honest Chinese answer
    scored 0 to a Chinese prompt, and the same Chinese answer scored 1.0 to a Japanese prompt (attack).
    Han without kana is Chinese; Japanese prose writes its particles in kana."""
    chinese = ["</think>答案是5。", "</think>答案是 $x=5$。", "</think>所以答案是五。"]
    assert language_consistency_reward(chinese, prompts=[QUESTION["zh"]] * 3) == [1.0] * 3
    assert language_consistency_reward(chinese, prompts=[QUESTION["ja"]] * 3) == [0.0] * 3
    # Controls: Japanese (kana) stays Japanese, either way round.
    japanese = ["</think>結論は5です。", "</think>答えは五です。"]
    assert language_consistency_reward(japanese, prompts=[QUESTION["ja"]] * 2) == [1.0] * 2
    assert language_consistency_reward(japanese, prompts=[QUESTION["zh"]] * 2) == [0.0] * 2


@pytest.mark.timeout(60)  # a hang guard (pytest-timeout fails the test), not a speed target: it took minutes
@pytest.mark.parametrize("answer", ["a" * 200_000, "\\(" * 100_000, "\\)" + "\\[" * 100_000])
def test_an_answer_built_to_make_the_prose_filters_quadratic_is_read_in_seconds(answer):
    """Attack: one unbroken word (the e-mail pattern tried every start against the whole run) or openers
    `\\(` without a closer (math was scanned from each to the end) took 84 s and 165 s on the trainer's
    step for one row (a step held past the collective timeout fails the run). Both are linear now.
    Control: prose after an unclosed opener is still read as prose, so the opener hides nothing."""
    (got,) = language_consistency_reward(
        [f"<think>ok</think>\n{answer}"], prompts=["Please explain how photosynthesis works in plants."]
    )
    assert got is None or 0.0 <= got <= 1.0
    assert strip_non_prose("Die Antwort \\(x\\) ist \\( fünf.").split() == [
        "Die",
        "Antwort",
        "ist",
        "\\",
        "(",
        "fünf.",
    ]
