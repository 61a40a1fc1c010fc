"""The small bundled preference set for `make rm`, and its loader.

`build()` writes `data/preferences.jsonl` deterministically from the hand-written prompts and answers
below: each prompt's helpful answer is `chosen`; `rejected` is the same prompt answered with one of the
faults stage 2 must train away (an answer to a different question, a needless refusal, a loop, the wrong
language, a bare non-answer, a dismissive reply, an ignored format instruction). Rows carry `group` (the
prompt's index) so the held-out split never shares a prompt with training.

On a cluster, `python -m verifiers.reward_model train --dataset <hub id>` reads any preference dataset
with `prompt`/`chosen`/`rejected` (strings or chat messages) instead.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from verifiers.jsonl import read_jsonl

PATH = Path(__file__).parent / "data" / "preferences.jsonl"

# (prompt, helpful answer). Short, factual, written for this project.
PAIRS: list[tuple[str, str]] = [
    (
        "Why is the sky blue?",
        "Sunlight is scattered by the molecules in the air, and short blue wavelengths scatter much more than red ones (Rayleigh scattering), so blue light reaches our eyes from every direction of the sky.",
    ),
    (
        "How do I boil an egg so the yolk stays soft?",
        "Lower the egg into boiling water, keep it at a gentle boil for about six minutes, then move it to cold water for a minute so it stops cooking. The white will be set and the yolk runny.",
    ),
    (
        "What is the capital of Australia?",
        "The capital of Australia is Canberra, not Sydney or Melbourne; it was chosen as a compromise between those two cities.",
    ),
    (
        "Explain what a Python list comprehension is.",
        "A list comprehension builds a list from an iterable in one expression, for example [x * x for x in range(5)] gives [0, 1, 4, 9, 16]. You can add a condition: [x for x in items if x > 0].",
    ),
    (
        "Give me three tips for sleeping better.",
        "Keep a regular bedtime, even at weekends. Avoid caffeine after early afternoon and screens in the last hour before bed. Keep the bedroom dark, quiet and slightly cool.",
    ),
    (
        "What causes the seasons on Earth?",
        "Earth's axis is tilted about 23.5 degrees. As Earth orbits the Sun, each hemisphere is tilted towards the Sun for part of the year, getting longer days and more direct sunlight (summer), and away from it for the other part (winter).",
    ),
    ("How many minutes are there in a week?", "A week has 7 days × 24 hours × 60 minutes = 10,080 minutes."),
    (
        "Write a short haiku about autumn.",
        "Red leaves drift and fall,\ncold wind hums through empty trees,\nthe year breathes out slow.",
    ),
    (
        "What is the difference between weather and climate?",
        "Weather is the state of the atmosphere at a given place and time, such as today's rain. Climate is the average pattern of weather in a region over many years, such as a wet, mild winter climate.",
    ),
    (
        "How do vaccines work?",
        "A vaccine shows the immune system a harmless piece or weakened form of a germ. The body learns to make antibodies and memory cells against it, so if the real germ arrives later the immune system recognises it and responds quickly.",
    ),
    ("Translate 'good morning' into Spanish.", "'Good morning' in Spanish is 'buenos días'."),
    (
        "What does HTTP status code 404 mean?",
        "404 Not Found means the server was reached but has nothing at the requested URL, for example because the page was moved or the link is mistyped.",
    ),
    (
        "Suggest a name for a small bakery.",
        "How about 'The Rising Loaf'? It is warm, easy to remember and hints at fresh bread baked every morning.",
    ),
    (
        "Why do cats purr?",
        "Cats purr by rapidly twitching the muscles of the larynx. They purr when content, but also when stressed or injured, so it seems to be a way of calming themselves and signalling to others.",
    ),
    (
        "How do I reverse a string in JavaScript?",
        "Split it into characters, reverse the array and join it again: str.split('').reverse().join(''). For text with emoji use [...str].reverse().join('').",
    ),
    (
        "What is photosynthesis?",
        "Photosynthesis is how plants, algae and some bacteria turn light energy into chemical energy: they use sunlight to make glucose from carbon dioxide and water, releasing oxygen as a by-product.",
    ),
    (
        "Is it safe to look directly at the Sun?",
        "No. Looking directly at the Sun, even briefly or during a partial eclipse, can permanently damage the retina. Use certified eclipse glasses or a pinhole projector instead.",
    ),
    ("What is 15% of 80?", "15% of 80 is 0.15 × 80 = 12."),
    (
        "Recommend a good way to learn a new language.",
        "Practise a little every day rather than a lot once a week, learn the most frequent words first, listen to native speakers through podcasts or films, and start speaking early, even with mistakes.",
    ),
    (
        "What is the boiling point of water at sea level?",
        "At sea level water boils at 100 °C (212 °F). At higher altitudes the air pressure is lower, so it boils at a lower temperature.",
    ),
    (
        "Explain recursion to a beginner.",
        "Recursion is when a function solves a problem by calling itself on a smaller version of the same problem, until it reaches a case simple enough to answer directly. Factorial is the classic example: n! = n × (n − 1)!, and 1! = 1.",
    ),
    (
        "Who wrote 'Pride and Prejudice'?",
        "'Pride and Prejudice' was written by Jane Austen and published in 1813.",
    ),
    (
        "How can I save money on groceries?",
        "Plan meals for the week and shop with a list, compare unit prices, buy store brands, cook larger batches and freeze portions, and avoid shopping when hungry.",
    ),
    (
        "What is a prime number?",
        "A prime number is a whole number greater than 1 whose only divisors are 1 and itself, such as 2, 3, 5, 7 and 11.",
    ),
    (
        "Describe the water cycle in two sentences.",
        "Water evaporates from oceans and lakes, rises and cools into clouds, and falls back as rain or snow. It then flows through rivers and ground water back to the sea, where the cycle starts again.",
    ),
    (
        "Why should I back up my files?",
        "Disks fail, laptops get lost and ransomware can encrypt everything. A regular backup, ideally one copy off-site or in the cloud, means a single accident does not destroy your photos and work.",
    ),
    (
        "What is the largest planet in the solar system?",
        "Jupiter is the largest planet; it is more than eleven times as wide as Earth and more massive than all the other planets combined.",
    ),
    (
        "How do I make a cup of green tea?",
        "Heat water to about 80 °C rather than boiling, pour it over the leaves or bag and steep for two to three minutes. Hotter water or longer steeping makes it bitter.",
    ),
    (
        "What is the Pythagorean theorem?",
        "In a right triangle, the square of the hypotenuse equals the sum of the squares of the other two sides: a² + b² = c². For sides 3 and 4, the hypotenuse is 5.",
    ),
    (
        "Give me an idea for a rainy-day activity with kids.",
        "Build a blanket fort in the living room, then read stories inside it with a torch. Afterwards the kids can draw a map of their fort kingdom.",
    ),
    (
        "What does a CPU do?",
        "The CPU is the processor that executes a program's instructions: it fetches each instruction from memory, decodes it and carries it out, doing arithmetic, comparisons and moving data.",
    ),
    (
        "How long does light from the Sun take to reach Earth?",
        "About 8 minutes and 20 seconds, because the Sun is roughly 150 million kilometres away and light travels about 300,000 kilometres per second.",
    ),
    (
        "What is inflation?",
        "Inflation is the general rise of prices over time, which means each unit of money buys less. Central banks usually aim to keep it around 2% a year.",
    ),
    (
        "Write one sentence encouraging someone before an exam.",
        "You have prepared for this, so trust what you know, take a deep breath and give it your best.",
    ),
    (
        "Why do we have leap years?",
        "A year on Earth is about 365.24 days, so adding a day every four years (with a few century exceptions) keeps the calendar aligned with the seasons.",
    ),
    (
        "What is machine learning?",
        "Machine learning is a way of building programs that learn patterns from examples instead of following hand-written rules, for instance learning to recognise spam from thousands of labelled emails.",
    ),
    (
        "How do I get a red wine stain out of a shirt?",
        "Blot (do not rub) the stain, rinse it from the back with cold water, then apply a little dish soap or a mix of dish soap and hydrogen peroxide, and wash as usual. Avoid hot water until the stain is gone.",
    ),
    (
        "What are the three states of matter?",
        "The three common states are solid, liquid and gas. Solids keep their shape, liquids take the shape of their container, and gases spread out to fill it.",
    ),
    (
        "Name a healthy breakfast.",
        "Oatmeal with berries and a spoonful of nuts: it has fibre, some protein and keeps you full for hours.",
    ),
    (
        "How does a refrigerator keep food cold?",
        "A refrigerant circulates through coils: it evaporates inside the fridge, absorbing heat from the food, and is compressed and condensed outside at the back, where it releases that heat into the room.",
    ),
]

# Prompts in other languages, for the wrong-language fault: (prompt, answer in that language, lang).
FOREIGN: list[tuple[str, str]] = [
    (
        "Pourquoi le ciel est-il bleu ?",
        "La lumière du Soleil est diffusée par les molécules de l'air, et le bleu est bien plus diffusé que le rouge, donc le ciel nous paraît bleu.",
    ),
    (
        "Wie koche ich ein weiches Ei?",
        "Lege das Ei in kochendes Wasser, lass es etwa sechs Minuten sanft kochen und schrecke es dann kalt ab.",
    ),
    ("¿Cuál es la capital de Australia?", "La capital de Australia es Canberra, no Sídney ni Melbourne."),
    (
        "为什么要备份文件？",
        "硬盘会损坏，电脑可能丢失，勒索软件也可能加密所有文件。定期备份可以保护你的照片和工作。",
    ),
    ("Quanto fa il 15% di 80?", "Il 15% di 80 è 0,15 × 80 = 12."),
]

REFUSALS = [
    "I'm sorry, but I can't help with that request.",
    "As an AI language model, I am unable to answer this question.",
    "I cannot provide that information.",
]
NON_ANSWERS = ["Sure.", "Good question!", "It depends.", "Yes.", "I think so."]
DISMISSIVE = [
    "Look it up yourself, this is basic.",
    "Why would you even ask that? Figure it out.",
    "Not my problem. Next question.",
]


def _loop(answer: str, rng: random.Random) -> str:
    first = answer.split(". ")[0].rstrip(".") + "."
    return " ".join([first] * rng.randint(6, 10))


def _rows(seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    n = len(PAIRS)
    for g, (prompt, good) in enumerate(PAIRS):
        other = PAIRS[(g + rng.randint(1, n - 1)) % n][1]
        faults = {
            "off_topic": other,
            "refusal": rng.choice(REFUSALS),
            "loop": _loop(good, rng),
            "non_answer": rng.choice(NON_ANSWERS),
            "dismissive": rng.choice(DISMISSIVE),
            "truncated": " ".join(good.split()[: max(3, len(good.split()) // 4)]),
            "wrong_language": FOREIGN[g % len(FOREIGN)][1],
        }
        for fault, bad in faults.items():
            rows.append({"prompt": prompt, "chosen": good, "rejected": bad, "fault": fault, "group": g})
    for i, (prompt, good) in enumerate(FOREIGN):
        g = n + i
        english = PAIRS[i * 7 % n][1]
        rows.append(
            {"prompt": prompt, "chosen": good, "rejected": english, "fault": "wrong_language", "group": g}
        )
        rows.append(
            {
                "prompt": prompt,
                "chosen": good,
                "rejected": rng.choice(REFUSALS),
                "fault": "refusal",
                "group": g,
            }
        )
    return rows


def build(path: Path = PATH) -> Path:
    """Write the bundled preference set (deterministic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in _rows():
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def load(path: Path = PATH) -> list[dict]:
    return read_jsonl(path)


def split(rows: list[dict], eval_fraction: float = 0.2, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Train / held-out rows, split by prompt group so no held-out prompt was seen in training."""
    groups = sorted({r.get("group", r["prompt"]) for r in rows}, key=str)
    random.Random(seed).shuffle(groups)
    held = set(groups[: max(1, round(len(groups) * eval_fraction))])
    train = [r for r in rows if r.get("group", r["prompt"]) not in held]
    test = [r for r in rows if r.get("group", r["prompt"]) in held]
    return train, test


if __name__ == "__main__":
    print(build())
