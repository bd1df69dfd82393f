"""Does a guest's special request mention a celebration? Word-aware, case-insensitive, negation-aware.

What the matcher does:
- text and keywords are compared as whole words after Unicode case folding ("Birthday!" matches "birthday",
  "birthdays" matches "birthday", but "rebirthday" does not); a keyword may be several words ("baby moon");
- a keyword preceded by a negation ("no", "not", "without", "don't", "skip", "avoid", "never", "nothing") in the
  same clause, at most four words before it, does not count, so "no birthday fuss" and "please don't make a
  birthday thing" are not hits, while "it's my birthday, no fuss" and "No pets, anniversary trip" are (a comma,
  full stop, semicolon, colon, dash or bracket ends a clause);
- quotes around a word do not hide it ("our 'anniversary' weekend").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"\w+(?:'\w+)*", re.UNICODE)
_CLAUSE = re.compile(r"[,.;:!?()\[\]\u2013\u2014]|\s-\s")
_NEGATIONS = {"no", "not", "without", "don't", "dont", "do not", "skip", "avoid", "never", "nothing", "none"}
_LOOKBEHIND = 4


def words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    return _WORD.findall(folded)


def parse_keywords(value: str) -> list[list[str]]:
    """'anniversary, baby moon' → [['anniversary'], ['baby', 'moon']]."""
    return [words(part) for part in value.split(",") if words(part)]


def mentions(text: str, keywords: Iterable[list[str]]) -> bool:
    """True if any keyword appears as whole words in `text`, not just after a negation in its clause."""
    wanted = list(keywords)
    return any(_clause_mentions(words(clause), wanted) for clause in _CLAUSE.split(text))


def _clause_mentions(tokens: list[str], keywords: list[list[str]]) -> bool:
    for keyword in keywords:
        size = len(keyword)
        for start in range(len(tokens) - size + 1):
            window = tokens[start : start + size]
            if not all(_same(token, wanted) for token, wanted in zip(window, keyword, strict=True)):
                continue
            if not _negated(tokens, start):
                return True
    return False


def _same(token: str, wanted: str) -> bool:
    return token == wanted or token == wanted + "s" or token == wanted + "'s"


def _negated(tokens: list[str], start: int) -> bool:
    before = tokens[max(0, start - _LOOKBEHIND) : start]
    return any(word in _NEGATIONS for word in before)
