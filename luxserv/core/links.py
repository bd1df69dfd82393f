"""Absolute links for e-mails, built from the public base URL the session's database was opened with."""

from __future__ import annotations

from sqlalchemy.orm import Session


def absolute(session: Session, path: str) -> str:
    """`path` (starting with "/") prefixed with `LUXSERV_BASE_URL`; unchanged when no base URL is known."""
    base = str(session.info.get("base_url", "") or "")
    return base.rstrip("/") + path
