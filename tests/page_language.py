"""What a rendered page says, and whether it says it in the page's language (issue 17, "How it is judged"): shared
by the Django-client check (tests/web/test_rendered_language.py) and the browser tour (tests/browser/test_tour.py).

- `visible_text(html)`: the text a user reads or hears — the elements' text without scripts, styles and typed
  input (a textarea's content is the user's own text), plus the title, aria-label, placeholder and alt attributes
  and a button's value; a part marked with another language (`lang="en"` on an English sample) is left out.
- `untranslated(text, lang)`: the catalogue's English source strings found verbatim in an Estonian or Russian
  page (every run of two or more words of a msgid between its placeholders and tags, for the msgids that
  language translates differently), English sentences in no catalogue yet (four or more Latin words, two of them
  English function words), the English of domain errors that never went through the catalogue, raw codes (an
  audit action's `campaign_send`, a role's `preparer`, a Python dict's `{'`), and another word for what the UI
  names with the seed's (Russian "кампания" for "рассылка").
- `time_problems(text, lang)`: dates and times not in the language's one format — et and ru "07.12.2026 14:05",
  en (as used in Estonia) "7 Dec 2026, 14:05"; never ISO "2026-12-07", "12/07/2026", "a.m."/"p.m." or seconds.
"""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parents[1] / "masspost" / "locale"
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{[^{}]*\}")
TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")

SKIPPED = {"script", "style", "textarea", "template", "noscript", "svg"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
INLINE = {"a", "abbr", "b", "bdi", "cite", "code", "em", "i", "kbd", "mark", "q", "s", "small", "span", "strong", "sub",
          "sup", "time", "u", "var"}  # their end does not end a word
SPOKEN = ("title", "aria-label", "placeholder", "alt")

# English that reaches a page without the catalogue: a domain error's message (masspost.content.template's
# TemplateError, the preview's exclusion reasons in masspost.cli) when the page shows it instead of a translation.
ENGLISH_OUTSIDE_CATALOGUE = (
    re.compile(r"\bmerge field\b"), re.compile(r"\bposition \d+"), re.compile(r"\(allowed: "),
    re.compile(r"\bis not closed\b"), re.compile(r"\bwithout '\{'"), re.compile(r"\bdoes not accept\b"),
    re.compile(r"\bnot a plain name\b"), re.compile(r"\bopted out\b"),
)
# English sentences that are in no catalogue yet: a run of four or more Latin-letter words (Estonian's õ ä ö ü and
# any Cyrillic break a run) with two or more English function words that are no Estonian words.
LATIN_RUN = re.compile(r"(?:[A-Za-z][A-Za-z'’-]*[ ,;:()\"“”]+){3,}[A-Za-z][A-Za-z'’-]*")
FUNCTION_WORDS = frozenset((
    "the", "and", "of", "is", "are", "was", "were", "been", "not", "to", "with", "for", "this", "that", "which", "from",
    "your", "you", "has", "have", "will", "be", "by", "or", "an", "it", "its", "at", "into", "than", "instead", "only",
    "when", "who", "what", "can", "cannot", "they", "their", "there", "each", "every", "after", "before", "about",
    "but", "if", "do", "does", "did", "yet", "out", "went",
    # masspost's own English nouns, no Estonian word
    "message", "messages", "patient", "patients", "campaign", "campaigns", "recipient", "recipients"))

# Codes a receptionist should never read, in any language: the audit log's actions and its details' keys, a Python
# repr. In et and ru also the roles' values and Python's None/True/False (in English those are words too).
RAW_CODES = (
    re.compile(r"\b(?:sign_in|sign_in_failed|sign_out|campaign_send|campaign_pause|campaign_resume|campaign_cancel|"
               r"campaign_resend_unknown|user_add|user_disable|user_change|token_create|token_revoke|demo\.generate|"
               r"demo\.reset|email_sanitised|no_address|opted_out|patient_ids|clinic_ids)\b"),
    re.compile(r"\{'|'\}|\['|'\]"),
    re.compile(r"\((?:et|ru|en|fi|lv|lt|de|uk)\)"),  # a language by its code: "the fallback language (et)"
)
# One word for one thing: the seed's words for what the UI names everywhere else (tests/web/test_translations.py,
# test_the_project_words_are_the_seeds) — a Russian page that says "кампания" in one place and "рассылка" in the
# others makes two things of one.
OTHER_WORDS = {"ru": ((re.compile(r"(?<![а-яё])[Кк]ампани[а-яё]*"), "рассылка"),)}
RAW_WORDS = (re.compile(r"\b(?:preparer|sender|admin)s?\b"), re.compile(r"\b(?:None|True|False)\b"))


# --- visible text --------------------------------------------------------------------------------------------------
class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page_lang = ""
        self.chunks: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, hides its content)

    def _hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "html" and not self.page_lang:
            self.page_lang = values.get("lang", "")
        other_language = bool(values.get("lang")) and tag != "html" and (
            values["lang"].split("-")[0] != self.page_lang.split("-")[0])
        hides = self._hidden() or tag in SKIPPED or other_language
        if not hides:
            self.chunks += [f" {values[name]} " for name in SPOKEN if values.get(name)]
            if tag == "input" and values.get("type") in {"submit", "button", "reset"} and values.get("value"):
                self.chunks.append(f" {values['value']} ")
        if tag not in VOID:
            self.stack.append((tag, hides))
        else:
            self.chunks.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break
        if tag not in INLINE:
            self.chunks.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden():
            self.chunks.append(data)


def visible_text(html: str) -> str:
    """The page's text as a user gets it (see the module's docstring), whitespace collapsed to single spaces."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return SPACES.sub(" ", "".join(parser.chunks)).strip()


def page_language(html: str) -> str:
    found = re.search(r"<html[^>]*\blang=\"([^\"]+)\"", html)
    return found.group(1) if found else ""


# --- untranslated ----------------------------------------------------------------------------------------------
def _fragments(msgid: str) -> list[str]:
    """The runs of two or more words of a msgid between its placeholders and tags."""
    out = []
    for piece in re.split(f"{PLACEHOLDER.pattern}|{TAG.pattern}", msgid):
        piece = SPACES.sub(" ", piece).strip(" :;,.—–-·()[]\"'“”…→←")
        words = re.findall(r"[A-Za-z]+", piece)
        if len(words) >= 2 and len("".join(words)) >= 6 and not re.search(r"[^\x00-\x7f’“”–—…·→←×]", piece):
            out.append(piece)
    return out


@functools.cache
def source_strings(lang: str) -> tuple[str, ...]:
    """The catalogue's English (msgid and msgid_plural) fragments that `lang` translates differently."""
    with (LOCALE / lang / "LC_MESSAGES" / "django.po").open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    found: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        ids = [str(i) for i in message.id] if isinstance(message.id, (tuple, list)) else [str(message.id)]
        strings = message.string if isinstance(message.string, (tuple, list)) else [message.string]
        translated = " ".join(str(s) for s in strings if s)
        if not translated:
            continue
        for msgid in ids:
            found.update(f for f in _fragments(msgid) if f not in translated)
    return tuple(sorted(found, key=len, reverse=True))


def _words(fragment: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(word) for word in fragment.split(" "))
    return re.compile(rf"(?<![A-Za-z]){body}(?![A-Za-z])")


@functools.cache
def _source_patterns(lang: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((fragment, _words(fragment)) for fragment in source_strings(lang))


def untranslated(text: str, lang: str) -> list[str]:
    """What in `text` (an et or ru page's visible text) is English or a raw code, each with a little context."""
    found = []
    if lang != "en":
        for fragment, pattern in _source_patterns(lang):
            if match := pattern.search(text):
                found.append(f"English {fragment!r}: …{_around(text, match)}…")
        for run in LATIN_RUN.finditer(text):
            words = re.findall(r"[A-Za-z'’-]+", run.group(0))
            if sum(w.lower() in FUNCTION_WORDS for w in words) >= 2:
                found.append(f"English words {run.group(0)!r}: …{_around(text, run)}…")
        for pattern in ENGLISH_OUTSIDE_CATALOGUE:
            if match := pattern.search(text):
                found.append(f"English (not from the catalogue) {match.group(0)!r}: …{_around(text, match)}…")
    for pattern, word in OTHER_WORDS.get(lang, ()):
        for match in pattern.finditer(text):
            found.append(f"{match.group(0)!r} where the UI says {word!r}: …{_around(text, match)}…")
    for pattern in RAW_CODES + (RAW_WORDS if lang != "en" else ()):
        for match in pattern.finditer(text):
            found.append(f"raw code {match.group(0)!r}: …{_around(text, match)}…")
    return found


def _around(text: str, match: re.Match[str], width: int = 50) -> str:
    return text[max(0, match.start() - width):match.end() + width]


# --- one time format per language --------------------------------------------------------------------------------
MONTHS_EN = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)"
MONTHS_EN_LONG = r"(?:January|February|March|April|June|July|August|September|October|November|December)"
MONTHS_ET = r"(?:jaan|veebr|märts|apr|mai|juuni|juuli|aug|sept|okt|nov|dets)[a-zõäöü]*"
MONTHS_RU = r"(?:январ|феврал|март|апрел|ма[йя]|июн|июл|август|сентябр|октябр|ноябр|декабр)[а-я]*"
# A date or a time as a page may write it; each is then held against the language's one form.
ANY_DATE = re.compile(
    rf"\b\d{{4}}-\d{{1,2}}-\d{{1,2}}\b|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b|\b\d{{1,2}}\.\d{{1,2}}\.\d{{2,4}}\b"
    rf"|\b\d{{1,2}}\.? {MONTHS_ET}\b\.?(?: \d{{4}})?|\b\d{{1,2}} {MONTHS_RU}(?: \d{{4}})?(?: г\.)?"
    rf"|\b\d{{1,2}} {MONTHS_EN}\b\.?(?: \d{{4}})?|\b{MONTHS_EN}\.? \d{{1,2}}(?:, \d{{4}})?"
    rf"|\b{MONTHS_EN_LONG} \d{{1,2}}\b")
ANY_TIME = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?(?:[ap]\.\s?m\.|[AaPp][Mm]\b))?")
DATE_FORM = {"et": re.compile(r"\d{2}\.\d{2}\.\d{4}"), "ru": re.compile(r"\d{2}\.\d{2}\.\d{4}"),
             "en": re.compile(rf"\d{{1,2}} {MONTHS_EN} \d{{4}}|\d{{1,2}} {MONTHS_EN}")}
TIME_FORM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


def time_problems(text: str, lang: str) -> list[str]:
    """Dates and times in `text` not written in `lang`'s one form (see the module's docstring)."""
    found = []
    for match in ANY_DATE.finditer(text):
        if not DATE_FORM[lang].fullmatch(match.group(0)):
            found.append(f"date {match.group(0)!r}: …{_around(text, match, 30)}…")
    for match in ANY_TIME.finditer(text):
        shown = match.group(0)
        if not TIME_FORM.fullmatch(shown):
            found.append(f"time {shown!r}: …{_around(text, match, 30)}…")
        elif text[match.end():match.end() + 4].lstrip().startswith("UTC"):
            found.append(f"time in UTC {shown!r}: …{_around(text, match, 30)}…")
    return found
