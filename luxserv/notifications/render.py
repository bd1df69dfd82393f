"""Jinja2 templates for notifications: HTML with autoescaping (guest-typed values are escaped), and plain text.

The templates ship with the code, so each is compiled once per process and not checked for changes on every use
(`auto_reload=False`: no file-system look-up per e-mail).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

_TEMPLATES = Path(__file__).resolve().parent / "templates"
_HTML = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True, undefined=StrictUndefined, auto_reload=False)
# Plain-text e-mail bodies, never shown as HTML: nothing to escape.
_TEXT = Environment(  # noqa: S701  # nosec B701
    loader=FileSystemLoader(_TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True, auto_reload=False
)


def render_html(name: str, context: dict[str, Any]) -> str:
    return _HTML.get_template(name).render(context)


def render_text(name: str, context: dict[str, Any]) -> str:
    return _TEXT.get_template(name).render(context)
