"""Pure content rendering: merge-field templates and language choice. No Django here."""

from masspost.content.html import can_turn_html, is_html_template, keep_plain, looks_like_html
from masspost.content.language import choose_language
from masspost.content.template import MERGE_FIELDS, Template, TemplateError, compile_template

__all__ = ["MERGE_FIELDS", "Template", "TemplateError", "can_turn_html", "choose_language", "compile_template",
           "is_html_template", "keep_plain", "looks_like_html"]
