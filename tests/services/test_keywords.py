"""The celebration matcher: whole words, plurals, multi-word keywords, negations, Unicode case folding."""

from __future__ import annotations

import pytest

from luxserv.services.keywords import mentions, parse_keywords, words

# The seeded celebration rule's keywords (migration 0004), plus a multi-word one.
CELEBRATIONS = parse_keywords(
    "anniversary, birthday, honeymoon, engagement, proposal, babymoon, celebration, celebrating, baby moon"
)


def test_keywords_are_parsed_into_folded_words() -> None:
    assert parse_keywords("Anniversary,  Baby Moon , ,birthday!") == [["anniversary"], ["baby", "moon"], ["birthday"]]
    assert parse_keywords(" , ") == []


@pytest.mark.parametrize(
    "text",
    [
        "Celebrating anniversary",
        "Our 10th ANNIVERSARY",
        "Birthday!",
        "two birthdays this week",
        "my husband's birthday's on Saturday",
        "we are on our honeymoon",
        "Engagement weekend",
        "I'm planning a proposal on the beach",
        "Babymoon trip",
        "a small celebration please",
        "we are on a baby moon",
        "BABY   MOON",
        "it's my birthday, no fuss",
        "It\u2019s my birthday, no fuss",  # typographic apostrophe
        "No fuss at all, just our anniversary",  # a negation further back than two words does not count
    ],
)
def test_hits(text: str) -> None:
    assert mentions(text, CELEBRATIONS), text


@pytest.mark.parametrize(
    "text",
    [
        "no birthday fuss",
        "not a birthday",
        "without any birthday decorations",
        "please never a birthday cake",
        "rebirthday",
        "birthdaycake",
        "anniversarial",
        "baby shower then moon watching",  # the words of a multi-word keyword must be adjacent
        "Early check-in if possible",
        "",
    ],
)
def test_misses(text: str) -> None:
    assert not mentions(text, CELEBRATIONS), text


@pytest.mark.parametrize("text", ["don't make a birthday thing", "please don't make a birthday thing"])
def test_documented_negation_three_words_back(text: str) -> None:
    assert not mentions(text, CELEBRATIONS)


def test_a_keyword_in_single_quotes_is_a_hit() -> None:
    assert mentions("Our 'anniversary' weekend", CELEBRATIONS)


def test_a_negation_does_not_reach_across_a_comma() -> None:
    assert mentions("No pets, anniversary trip", CELEBRATIONS)


def test_unicode_case_folding() -> None:
    # casefold, not lower: ß folds to ss; NFKC turns the "ﬁ" ligature and full-width letters into plain ones.
    assert mentions("STRASSENFEST im Juni", parse_keywords("Straßenfest"))
    assert mentions("Straßenfest", parse_keywords("STRASSENFEST"))
    assert mentions("our ﬁftieth", parse_keywords("fiftieth"))
    assert mentions("".join(chr(ord(c) + 0xFEE0) for c in "BIRTHDAY"), CELEBRATIONS)  # full-width letters
    assert mentions("ΓΕΝΈΘΛΙΑ", parse_keywords("γενέθλια"))
    assert mentions("ὈΔΥΣΣΕΎΣ", parse_keywords("Ὀδυσσεύς"))  # final and medial sigma fold alike
    assert words("ÉTÉ à Noël") == ["été", "à", "noël"]


def test_any_of_several_keywords_is_enough_and_none_means_no_hit() -> None:
    assert mentions("honeymoon", [["anniversary"], ["honeymoon"]])
    assert not mentions("honeymoon", [])
