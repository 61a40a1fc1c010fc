"""IFEval checks read letters by the shape a reader sees: each attack below passed (1.0) while its text
showed capitals, or a forbidden word, that Python did not see (small capitals are lowercase letters to
`str.islower`; a word spelled wholly in Cyrillic look-alikes is not the Latin keyword); each honest
answer beside it keeps its verdict."""

import pytest

from verifiers.rules.ifeval import check_ifeval
from verifiers.rules.language import language_shares


def follows(iid: str, response: str, **kwargs) -> bool:
    (strict,) = check_ifeval("", response, [iid], [kwargs])
    (loose,) = check_ifeval("", response, [iid], [kwargs], strict=False)
    assert strict == loose, "the one-line answers here read the same in loose mode"
    return strict


LOUD = "this is loud and i am shouting at everyone in the room right now"


@pytest.mark.parametrize(
    "spoof",
    [
        "ᴛʜɪꜱ ɪꜱ ʟᴏᴜᴅ ᴀɴᴅ ɪ ᴀᴍ ꜱʜᴏᴜᴛɪɴɢ ᴀᴛ ᴇᴠᴇʀʏᴏɴᴇ ɪɴ ᴛʜᴇ ʀᴏᴏᴍ ʀɪɢʜᴛ ɴᴏᴡ",  # Latin small capitals
        "ꮋꭼꮮꮮo this is loud and i am shouting at everyone in the room right now",  # Cherokee small letters
        "тнis is loud and i am shouting at everyone in the room right now",  # Cyrillic т, н inside a word
        "тнат is loud and i am shouting at everyone in the room right now",  # a word wholly Cyrillic
    ],
)
def test_capitals_in_disguise_are_not_lowercase(spoof):
    assert follows("change_case:english_lowercase", LOUD)
    assert not follows("change_case:english_lowercase", spoof)


def test_small_capitals_read_as_capitals_everywhere():
    """Decision: a small capital is the capital it shows, so an all-small-capitals answer is in capitals,
    its words count as capital words, and a forbidden word in small capitals is the word."""
    small_caps = "ᴛʜɪꜱ ɪꜱ ʟᴏᴜᴅ ᴀɴᴅ ɪ ᴀᴍ ꜱʜᴏᴜᴛɪɴɢ ᴀᴛ ᴇᴠᴇʀʏᴏɴᴇ"
    assert follows("change_case:english_capital", small_caps)
    few = {"capital_frequency": 3, "capital_relation": "less than"}
    assert follows("change_case:capital_word_frequency", "I SAID this is loud.", **few)
    assert not follows("change_case:capital_word_frequency", "ɪ ꜱᴀɪᴅ ᴛʜɪꜱ ɪꜱ ʟᴏᴜᴅ.", **few)
    assert not follows("keywords:forbidden_words", "It was ʟᴏᴜᴅ all night.", forbidden_words=["loud"])
    # Boxed letters (Python already counts them as capitals) are the letters they show.
    assert not follows("keywords:forbidden_words", "It was 🅻🅾🆄🅳 all night.", forbidden_words=["loud"])
    # Control: Greek letters used as variables stay lowercase (τ imitates a small capital T, but in an
    # English sentence it is the variable tau), fullwidth and mathematical letters fold as before.
    assert follows(
        "change_case:english_lowercase", "the time constant τ is small, and so is σ for this circuit."
    )
    assert not follows(
        "change_case:english_lowercase", "this is \U0001d40b\U0001d40e\U0001d414\U0001d403 now"
    )
    assert not follows("change_case:english_lowercase", "this is ＬＯＵＤ now, is it not, my friend")


CAP = "A police officer stopped the car and asked the driver for his papers."


@pytest.mark.parametrize(
    ("spoof", "forbidden"),
    [
        ("A сор stopped the car and asked the driver for his papers.", "cop"),  # с, о, р: Cyrillic
        ("He wore a red сар and a blue coat to the market.", "cap"),
        ("The ре teacher said we run laps today.", "pe"),
        ("Тһе сор іѕ һеrе.", "cop"),  # every word in look-alikes: the whole text decides, and is Latin
        ("He saw it. Сор! Then he left.", "cop"),  # a sentence of one spoofed word inside English ones
        ("He saw it. Да, the сор, да, да, да. Then he left.", "cop"),  # its sentence padded with Russian
        ("He saw the ΤΟΡ of the hill from the road below.", "top"),  # Greek capitals
    ],
)
def test_a_forbidden_word_in_look_alikes_of_another_script_is_the_word(spoof, forbidden):
    assert follows("keywords:forbidden_words", CAP, forbidden_words=[forbidden])
    assert not follows("keywords:forbidden_words", spoof, forbidden_words=[forbidden])


def test_keyword_counts_and_letters_read_look_alike_words_as_latin():
    once = {"keyword": "cap", "frequency": 2, "relation": "less than"}
    assert follows("keywords:frequency", "He wore a red cap to the market.", **once)
    assert not follows("keywords:frequency", "He wore a red cap and a blue сар to the market.", **once)
    letters = {"letter": "p", "let_frequency": 2, "let_relation": "less than"}
    assert follows("keywords:letter_frequency", "He wore a red hat.", **letters)
    assert not follows("keywords:letter_frequency", "He wore a red hat and a сар and a рор.", **letters)


def test_honest_russian_keeps_its_words():
    """Decision: a Cyrillic word that happens to look like the Latin keyword is a Russian word in a Russian
    sentence (its sentence holds more words of its own script than Latin ones), and is left alone; only
    among Latin words is it read as the Latin word it shows."""
    russian = "Мы убрали весь сор из комнаты. Потом вынесли сор на улицу."  # "сор": litter
    assert follows("keywords:forbidden_words", russian, forbidden_words=["cop"])
    assert not follows("keywords:forbidden_words", russian, forbidden_words=["сор"])
    assert follows("keywords:frequency", russian, keyword="сор", frequency=2, relation="at least")
    assert follows("keywords:existence", russian, keywords=["сор"])
    assert follows("language:response_language", russian, language="ru")
    # The language reward reads real Cyrillic text as it did: Russian, all of it.
    assert language_shares("Мы видели сор. Сор был везде. Ответ равен пяти.") == {"ru": 1.0}
