"""Pure content rendering: merge-field templates and language choice. No Django here."""

from masspost.content.language import choose_language
from masspost.content.template import MERGE_FIELDS, Template, TemplateError, compile_template

__all__ = ["MERGE_FIELDS", "Template", "TemplateError", "choose_language", "compile_template"]
