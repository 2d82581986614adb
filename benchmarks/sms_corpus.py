"""Deterministic SMS corpora for benchmarks/bench_sms.py.

`hard_corpus()`: texts whose length lands around every part boundary of both encodings, in several
scripts, with extension characters and emoji placed exactly on part boundaries, plus the odd cases
(empty text, ESC, TAB, NBSP, ZWJ sequences). `personalised()`: clinic messages of 100-300 characters
rendered with patient names, as the campaign preview produces them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

SEED = 20261125

GSM_BOUNDARIES = [0, 1, 70, 71, 134, 135, 152, 153, 154, 159, 160, 161, 305, 306, 307, 458, 459, 460,
                  612, 613]  # fmt: skip
UCS_BOUNDARIES = [1, 66, 67, 68, 69, 70, 71, 133, 134, 135, 201, 202, 306, 307, 459, 460]

ASCII_WORDS = ["your", "appointment", "at", "the", "clinic", "is", "on", "Monday", "please", "call", "us",
               "to", "change", "it", "thank", "you"]  # fmt: skip
GERMAN_WORDS = ["Ihr", "Termin", "für", "die", "Zahnärztin", "ist", "am", "Montag", "Grüße", "Änderungen",
                "bitte", "anrufen", "Öffnungszeiten"]  # fmt: skip
ESTONIAN_WORDS = ["Teie", "visiit", "hambaarsti", "juurde", "on", "esmaspäeval", "õhtul", "palun",
                  "helistage", "kohtumiseni", "šokolaad"]  # fmt: skip
RUSSIAN_WORDS = ["Ваш", "визит", "к", "стоматологу", "в", "понедельник", "пожалуйста", "позвоните", "нам",
                 "спасибо"]  # fmt: skip
CJK_WORDS = ["您的", "牙科", "预约", "在", "星期一", "请", "致电", "谢谢"]
EXTENSION = "€[]{}~^|\\\f"
EMOJI = [
    "\U0001f600",
    "\U0001f9b7",  # tooth
    "\U0001f44d\U0001f3fd",  # thumbs up, medium skin tone
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # family (ZWJ sequence)
    "\U0001f1ea\U0001f1ea",  # flag of Estonia
    "\u2764\ufe0f",
]
ODD = ["\x1b", "\t", "\u00a0", "’", "“", "”", "–", "…", "ç", "Ç", "õ", "`"]
SCRIPTS = {
    "ascii": ASCII_WORDS,
    "german": GERMAN_WORDS,
    "estonian": ESTONIAN_WORDS,
    "russian": RUSSIAN_WORDS,
    "cjk": CJK_WORDS,
}


def _words(rng: random.Random, words: list[str], length: int) -> str:
    pieces: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(words)
        pieces.append(word)
        size += len(word) + 1
    return " ".join(pieces)[:length]


def _around(rng: random.Random, boundaries: list[int]) -> int:
    return abs(rng.choice(boundaries) + rng.randint(-2, 2))


def _plain(rng: random.Random) -> str:
    script = rng.choice(list(SCRIPTS))
    boundaries = GSM_BOUNDARIES if script in ("ascii", "german") else UCS_BOUNDARIES
    return _words(rng, SCRIPTS[script], _around(rng, boundaries))


def _two_units_at_boundary(rng: random.Random, words: list[str], wide: str, per_part: int) -> str:
    # A two-unit character whose first unit is the last, or second-to-last, unit of a part, in a text
    # whose total is within a few units of a whole number of parts: where straddling adds a part.
    parts = rng.choice([1, 2, 3])
    boundary = per_part * parts
    head = _words(rng, words, boundary - rng.choice([1, 2]))
    tail_units = per_part * (parts + 1) - len(head) - 2 - rng.randint(-1, 2)
    return head + wide + _words(rng, words, max(1, tail_units))


def _extension_at_boundary(rng: random.Random) -> str:
    return _two_units_at_boundary(rng, rng.choice([ASCII_WORDS, GERMAN_WORDS]), rng.choice(EXTENSION), 153)


def _emoji_at_boundary(rng: random.Random) -> str:
    words = SCRIPTS[rng.choice(["estonian", "russian", "cjk"])]
    return _two_units_at_boundary(rng, words, rng.choice(EMOJI[:2]), 67)


def _mixed(rng: random.Random) -> str:
    text = list(_words(rng, rng.choice([ASCII_WORDS, GERMAN_WORDS]), _around(rng, GSM_BOUNDARIES + UCS_BOUNDARIES)))
    for _ in range(rng.randint(1, 3)):
        if text:
            text[rng.randrange(len(text))] = rng.choice(ODD + EMOJI + list(EXTENSION))
    return "".join(text)


def _extension_heavy(rng: random.Random) -> str:
    length = _around(rng, [80, 81, 153, 154, 230])
    return "".join(rng.choice(EXTENSION + "ab ") for _ in range(length))


GENERATORS = [_plain, _plain, _extension_at_boundary, _emoji_at_boundary, _mixed, _extension_heavy]


def hard_corpus(size: int = 24_000, seed: int = SEED) -> list[str]:
    """`size` texts, the same ones on every run."""
    rng = random.Random(seed)
    return [rng.choice(GENERATORS)(rng) for _ in range(size)]


FIRST_NAMES = ["Mari", "Tõnu", "Jüri", "Anneli", "Ülle", "Sergei", "Наталья", "Дмитрий", "Kai", "Hans-Peter",
               "Žanna", "Liis", "Jürgen", "Françoise", "Søren"]  # fmt: skip
LAST_NAMES = ["Tamm", "Saar", "Mägi", "Kask", "Õunapuu", "Ivanov", "Смирнова", "Müller", "Šmidt", "Lepp",
              "O'Brien", "Kõiv"]  # fmt: skip
CLINICS = [
    "Hambakliinik Naeratus",
    "Smile Dental",
    "Стоматология Улыбка",
    "Zahnklinik Müller",
    "Tartu Hammas",
]
TEMPLATES = [
    "Tere {first_name}! Teie visiit kliinikusse {clinic_name} on homme kell 14:30. Muutmiseks: {phone}.",
    "Hello {first_name} {last_name}, this is a reminder of your appointment at {clinic_name}. Call {phone}.",
    "Здравствуйте, {first_name}! Напоминаем о визите в {clinic_name} завтра в 14:30. Телефон {phone}.",
    "Hallo {first_name} {last_name}, Ihr Termin bei {clinic_name} ist morgen um 14:30. Tel. {phone}.",
    "Lugupeetud {first_name} {last_name}! {clinic_name} kutsub Teid hammaste kontrolli. Broneeri: {phone}",
]
EXTRAS = [
    " Palun tulge 10 minutit varem.",
    " Please bring your ID card.",
    " Пожалуйста, приходите за 10 минут.",
    " Parkimine on tasuta.",
    " Hind alates 39 €.",
    " Vastake STOP, et loobuda.",
    " 🦷",
]


def personalised(count: int = 1_000_000, seed: int = SEED) -> Iterator[str]:
    """`count` rendered messages of 100-300 characters, as the preview would render them."""
    rng = random.Random(seed)
    for _ in range(count):
        text = rng.choice(TEMPLATES).format(
            first_name=rng.choice(FIRST_NAMES),
            last_name=rng.choice(LAST_NAMES),
            clinic_name=rng.choice(CLINICS),
            phone=f"+372 5{rng.randrange(10**6):06d}",
        )
        target = rng.randint(100, 300)
        while len(text) < target:
            text += rng.choice(EXTRAS)
        yield text[:target]
