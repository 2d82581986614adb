"""HTML e-mail bodies written by staff, cleaned with an allow-list (docs/campaign.md, "E-mail: what HTML is kept").

The body is cleaned with nh3 (ammonia, html5ever's parser) when the campaign is read, so the cleaned body is what
the preview renders, what its token covers and what is sent. What the cleaning took out is said in the user's
words ("<script> element", "onclick attribute", "javascript: link") so the preview can show it before anything
goes out.

Kept: what a clinic's e-mail needs — paragraphs, line breaks, headings (h1–h4), emphasis, lists, simple tables,
links to http(s), mailto: and tel:, images from https: addresses only, and inline `style` limited to layout and
typography properties. Everything else goes: scripts and their content, <style> blocks, forms, frames, objects,
event handlers (on…), comments, other URL schemes. Merge fields are plain text to the cleaner and pass as they
are; their values are HTML-escaped when rendered (masspost.content.html).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3

TAGS = frozenset({"p", "br", "div", "span", "a", "b", "strong", "i", "em", "u", "s", "small", "sub", "sup",
                  "ul", "ol", "li", "h1", "h2", "h3", "h4", "blockquote", "hr", "img",
                  "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td"})
ATTRIBUTES: dict[str, set[str]] = {
    "*": {"style", "title", "align", "dir", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "table": {"width", "border", "cellpadding", "cellspacing"},
    "td": {"colspan", "rowspan", "width", "valign"},
    "th": {"colspan", "rowspan", "width", "valign", "scope"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
STYLE_PROPERTIES = frozenset({
    "color", "background-color", "font-family", "font-size", "font-style", "font-weight", "line-height",
    "text-align", "text-decoration", "text-transform", "vertical-align", "letter-spacing", "white-space",
    "width", "max-width", "min-width", "height", "display",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "border", "border-top", "border-right", "border-bottom", "border-left", "border-color", "border-style",
    "border-width", "border-radius", "border-collapse", "border-spacing",
})
_URL_ATTRIBUTES = {"href": "link", "src": "image"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Removal:
    """One kind of thing the cleaning took out of a body: `kind` element | attribute | link | image | style |
    comment; `name` the tag, attribute, URL scheme or CSS property; `count` how many of them."""

    kind: str
    name: str
    count: int = 1

    @property
    def text(self) -> str:
        """In the user's words: "<script> element", "onclick attribute", "javascript: link"."""
        return {"element": f"<{self.name}> element", "attribute": f"{self.name} attribute",
                "link": f"{self.name}: link", "image": f"{self.name}: image", "style": f"{self.name} style",
                "comment": "comment"}[self.kind]

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "count": self.count, "text": self.text}


@dataclass(frozen=True, kw_only=True, slots=True)
class Sanitised:
    html: str
    removed: tuple[Removal, ...]  # in the order first met in the body


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    # Images only from https: addresses (a plain-http image is fetched in the clear, and marks the reader).
    if tag == "img" and attribute == "src" and not value.strip().lower().startswith("https:"):
        return None
    return value


def sanitise_html(source: str) -> Sanitised:
    """`source` cleaned by the allow-list, and what was taken out."""
    clean = nh3.clean(source, tags=set(TAGS), clean_content_tags={"script", "style"},
                      attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
                      attribute_filter=_keep_attribute, url_schemes=set(URL_SCHEMES), strip_comments=True,
                      link_rel=None, filter_style_properties=set(STYLE_PROPERTIES))
    before, after = _inventory(source), _inventory(clean)
    kept_tags = {name for kind, name in after if kind == "element"}
    removed: list[Removal] = []
    for (kind, name), n in before.items():
        gone = n - after.get((kind, name), 0)
        if gone <= 0:
            continue
        # An attribute of an element that went is not news: the element is named.
        if kind != "element" and kind != "comment" and name.partition("|")[0] not in kept_tags:
            continue
        removed.append(Removal(kind=kind, name=name.partition("|")[2] or name, count=gone))
    return Sanitised(html=clean, removed=_merged(removed))


def _merged(removed: list[Removal]) -> tuple[Removal, ...]:
    """One entry per kind and name (an onclick on a <p> and on an <a> is "onclick attribute", twice)."""
    counts: dict[tuple[str, str], int] = {}
    for r in removed:
        counts[(r.kind, r.name)] = counts.get((r.kind, r.name), 0) + r.count
    return tuple(Removal(kind=k, name=n, count=c) for (k, n), c in counts.items())


class _Inventory(HTMLParser):
    """What a body holds, counted: elements by tag; attributes, URL schemes and style properties by the tag they
    are on ("a|onclick"); comments."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: Counter[tuple[str, str]] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.items[("element", tag)] += 1
        for name, value in attrs:
            if name in _URL_ATTRIBUTES and value and ":" in value.split("/", 1)[0]:
                scheme = value.strip().split(":", 1)[0].lower()
                self.items[(_URL_ATTRIBUTES[name], f"{tag}|{scheme}")] += 1
            elif name == "style" and value:
                for declaration in value.split(";"):
                    prop = declaration.partition(":")[0].strip().lower()
                    if prop:
                        self.items[("style", f"{tag}|{prop}")] += 1
            else:
                self.items[("attribute", f"{tag}|{name}")] += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_comment(self, data: str) -> None:
        self.items[("comment", "comment")] += 1


def _inventory(html: str) -> Counter[tuple[str, str]]:
    parser = _Inventory()
    parser.feed(html)
    parser.close()
    return parser.items
