"""The UI's translations (masspost/locale): every entry of et and ru translated and none fuzzy, placeholders and
HTML tags kept, every string of the code in the catalogues, and the pages in the receptionist's language with the
seed's words (Masspostitus → Eelvaade → Saada / Tagasi) and its numbers grouped the local way ("1 649")."""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation
from django.utils.translation.template import templatize

from masspost.clinic.models import Patient
from tests.web.conftest import form_data

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "masspost"
LOCALE = PACKAGE / "locale"
TRANSLATED = ("et", "ru")
PLURAL_FORMS = {
    "et": "nplurals=2; plural=(n != 1);",
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
}
# A %-placeholder as Django fills it in (blocktranslate's {{ n }} is %(n)s in the catalogue, a literal % is %%),
# and an HTML tag.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
TAG = re.compile(r"</?[a-zA-Z][^<>]*>")


def catalog(lang: str) -> Catalog:
    with (LOCALE / lang / "LC_MESSAGES" / "django.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def entries(lang: str) -> Iterator[Message]:
    return (m for m in catalog(lang) if m.id)


def marks(text: str) -> Counter[str]:
    return Counter(PLACEHOLDER.findall(text) + TAG.findall(text))


def forms(message: Message) -> tuple[str, ...]:
    return tuple(message.string) if message.pluralizable else (message.string,)


def ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if message.pluralizable else (message.id,)


# --- the catalogues ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", [*TRANSLATED, "en"])
def test_catalogue_header_is_final_with_the_languages_plural_rule(lang: str) -> None:
    cat = catalog(lang)
    assert not cat.fuzzy, f"{lang}: the header entry is still fuzzy"
    assert dict(cat.mime_headers)["Language"] == lang
    if lang in PLURAL_FORMS:
        assert dict(cat.mime_headers)["Plural-Forms"] == PLURAL_FORMS[lang]
        assert cat.num_plurals == int(PLURAL_FORMS[lang].split(";")[0].split("=")[1])


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_entry_is_translated_and_none_is_fuzzy(lang: str) -> None:
    cat = catalog(lang)
    untranslated = [m.id for m in entries(lang) if not all(s.strip() for s in forms(m))]
    fuzzy = [m.id for m in entries(lang) if m.fuzzy]
    wrong_count = [m.id for m in entries(lang) if m.pluralizable and len(forms(m)) != cat.num_plurals]
    assert not untranslated, f"{lang}: no translation for {untranslated}"
    assert not fuzzy, f"{lang}: fuzzy (a guess, left out of the .mo) {fuzzy}"
    assert not wrong_count, f"{lang}: not {cat.num_plurals} plural forms in {wrong_count}"
    assert len(cat) == len(catalog("en")), "et, ru and en hold different entries: run makemessages for all three"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_the_placeholders_and_tags(lang: str) -> None:
    wrong = []
    for m in entries(lang):
        expected = [marks(i) for i in ids(m)]
        wrong += [(m.id, s) for s in forms(m) if marks(s) not in expected]
    assert not wrong, f"{lang}: placeholders or HTML tags differ from the msgid in {wrong}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_project_words_are_the_seeds(lang: str) -> None:
    words = {"et": {"Bulk Mail": "Masspostitus", "Preview": "Eelvaade", "Back": "Tagasi", "E-mail": "E-post",
                    "Campaign": "Kampaania"},
             "ru": {"Bulk Mail": "Массовая рассылка", "Preview": "Предпросмотр", "Back": "Назад",
                    "E-mail": "Эл. почта", "Campaign": "Рассылка"}}[lang]
    cat = catalog(lang)
    assert {msgid: cat[msgid].string for msgid in words} == words
    send = cat[("Send %(shown)s message", "Send %(shown)s messages")].string
    assert all(s.startswith({"et": "Saada ", "ru": "Отправить "}[lang]) for s in send)
    assert cat["SMS"].string == "SMS"


# --- the code's strings are all in the catalogues --------------------------------------------------------------
# Django's makemessages gives xgettext only gettext's own keywords and Django's (gettext_lazy, …): an alias such as
# `gettext_lazy as _lazy` is not among them, and its strings silently fall out of the catalogue.
KEYWORDS = {"_": 1, "gettext": 1, "gettext_lazy": 1, "gettext_noop": 1, "_lazy": 1, "ngettext": 2,
            "ngettext_lazy": 2, "pgettext": 2, "pgettext_lazy": 2, "npgettext": 3, "npgettext_lazy": 3}


def _call_strings(tree: ast.AST) -> Iterator[tuple[str | None, str, int]]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name not in KEYWORDS or len(node.args) < KEYWORDS[name]:
            continue
        args = node.args[:KEYWORDS[name]]
        if not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
            continue
        values = [a.value for a in args if isinstance(a, ast.Constant)]
        context = values.pop(0) if name.startswith(("pgettext", "npgettext")) else None
        yield context, values[0], node.lineno


def _unreadable(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, code) of what xgettext cannot read: a translation function imported under a name it is not given
    (`ngettext_lazy as _nlazy`), and a call whose message is not a string literal (`ngettext(singular, plural, n)`
    inside a helper that takes the strings as arguments) — both leave their strings out of the catalogue."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
            for alias in node.names:
                if "gettext" in alias.name and (alias.asname or alias.name) not in KEYWORDS:
                    yield node.lineno, f"{alias.name} as {alias.asname}"
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in KEYWORDS and not all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                            for a in node.args[:KEYWORDS[name]]):
                yield node.lineno, ast.unparse(node)


def test_every_translated_string_is_a_literal_under_a_name_makemessages_reads() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}: {code}" for path in sorted(PACKAGE.rglob("*.py"))
             if "migrations" not in path.parts
             for line, code in _unreadable(ast.parse(path.read_text(encoding="utf-8")))]
    assert not found, f"strings makemessages cannot extract (write the literal in the call, by its own name): {found}"


def test_the_check_for_unextractable_strings_finds_an_alias_and_a_variable() -> None:
    code = ("from django.utils.translation import ngettext_lazy as _nlazy, ngettext\n"
            "A = _nlazy('%(n)s row', '%(n)s rows', 'count')\n"
            "def f(one, many, n):\n    return ngettext(one, many, n)\n"
            "B = ngettext('%(n)s row', '%(n)s rows', 2)\n")
    assert [line for line, _code in _unreadable(ast.parse(code))] == [1, 4]


def code_strings() -> Iterator[tuple[str, str | None, str]]:
    """(where, context, msgid) of every translatable literal in masspost's Python and templates."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for context, msgid, line in _call_strings(ast.parse(path.read_text(encoding="utf-8"))):
            yield f"{path.relative_to(ROOT)}:{line}", context, msgid
    for path in sorted(PACKAGE.rglob("templates/**/*.html")):
        code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        # templatize writes each string as a call xgettext reads: gettext(u'…'), ngettext(u'…', u'…', count), …
        for found in re.finditer(r"\b(n?p?gettext)\(", code):
            end = code.find(")", found.end())
            while end != -1:
                try:
                    call = ast.parse(code[found.start():end + 1], mode="eval").body
                    break
                except SyntaxError:
                    end = code.find(")", end + 1)
            else:
                raise AssertionError(f"cannot read {code[found.start():found.start() + 80]!r} in {path}")
            for context, msgid, _line in _call_strings(call):
                yield str(path.relative_to(ROOT)), context, msgid


def test_every_string_of_the_code_is_in_the_catalogues() -> None:
    found = list(code_strings())
    assert len(found) > 100, "the scan of the code found too few strings"
    for lang in (*TRANSLATED, "en"):
        cat = catalog(lang)
        missing = [(where, msgid) for where, context, msgid in found if cat.get(msgid, context=context) is None]
        assert not missing, (
            f"{lang}: not in the catalogue (run makemessages with --keyword=_lazy, then translate): {missing}")


# --- the pages -------------------------------------------------------------------------------------------------
def speaking(client: Client, lang: str) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return client


def text_of(response: Any) -> str:
    assert response.status_code == 200, response
    return str(response.content.decode())


@pytest.fixture
def audience(make_patient: Callable[..., Patient]) -> None:
    make_patient(first_name="Mari")
    make_patient(first_name="Jüri")
    make_patient(first_name="Ivan", language="ru")


@pytest.mark.django_db
@pytest.mark.parametrize(("lang", "bulk_mail", "preview", "send", "back"), [
    ("et", "Masspostitus", "Eelvaade", "Saada", "Tagasi"),
    ("ru", "Массовая рассылка", "Предпросмотр", "Отправить", "Назад"),
], ids=["et", "ru"])
def test_bulk_mail_and_preview_speak_the_users_language(alice: Client, audience: None, lang: str, bulk_mail: str,
                                                         preview: str, send: str, back: str) -> None:
    client = speaking(alice, lang)
    page = text_of(client.get("/bulk/"))
    assert f'<html lang="{lang}">' in page
    assert f"<h1>{bulk_mail}</h1>" in page
    assert f"{preview} →" in page
    assert "Bulk Mail" not in page and ">Preview" not in page

    page = text_of(client.post("/bulk/preview/", form_data()))
    assert f'<html lang="{lang}">' in page
    assert f"<h1>{preview}: Recall</h1>" in page
    assert re.search(rf'data-testid="back">← {back}</a>', page)
    assert re.search(rf'data-open-dialog="confirm-send">{send} 2', page), "the send button"
    for english in ("Preview", "Back", "Send", "recipients", "Left out", "patients match"):
        assert f">{english}" not in page and f" {english} " not in page, f"{english!r} left in English"


@pytest.mark.django_db
def test_english_is_the_source(alice: Client, audience: None) -> None:
    page = text_of(speaking(alice, "en").post("/bulk/preview/", form_data()))
    assert '<html lang="en">' in page and "<h1>Preview: Recall</h1>" in page and "← Back</a>" in page


@pytest.mark.django_db
def test_russian_plural_forms_on_a_page(alice: Client, make_patient: Callable[..., Patient]) -> None:
    client = speaking(alice, "ru")
    for n in range(1, 6):
        make_patient(first_name=f"Patient{n}")
        answer = text_of(client.post("/bulk/count/", form_data()))
        word = {1: "пациент", 2: "пациента", 3: "пациента", 4: "пациента", 5: "пациентов"}[n]
        assert f"<b>{n}</b> {word}</span>" in answer, answer


# --- numbers ---------------------------------------------------------------------------------------------------
# Django's own et formats group nothing ("1649"); masspost/web/formats/et (FORMAT_MODULE_PATH) groups with a
# no-break space, like Russian.
GROUPED = [("et", "1\xa0649", "patsienti"), ("ru", "1\xa0649", "пациентов"), ("en", "1,649", "patients")]


def count_partial(patients: int) -> str:
    return render_to_string("web/partials/count.html",
                            {"c": {"patients": patients, "per_channel": [], "languages": {}}})


@pytest.mark.parametrize(("lang", "shown", "word"), GROUPED, ids=["et", "ru", "en"])
def test_thousands_are_grouped_the_local_way(lang: str, shown: str, word: str) -> None:
    with translation.override(lang):
        assert intcomma(1649) == shown
        assert f"<b>{shown}</b> {word}" in count_partial(1649)


@pytest.mark.django_db
@pytest.mark.parametrize(("lang", "shown", "word"), GROUPED, ids=["et", "ru", "en"])
def test_a_count_of_1649_patients(alice: Client, make_patient: Callable[..., Patient], lang: str, shown: str,
                                  word: str) -> None:
    first = make_patient()
    fields = {f.attname: getattr(first, f.attname) for f in Patient._meta.concrete_fields if not f.primary_key}
    Patient.objects.bulk_create([Patient(**{**fields, "external_id": f"B{n:05d}", "phone_e164": f"+3725{n:07d}",
                                            "email_normalized": f"b{n}@example.com"}) for n in range(1648)])
    answer = text_of(speaking(alice, lang).post("/bulk/count/", form_data()))
    assert f"<b>{shown}</b> {word}</span>" in answer, answer[:300]
