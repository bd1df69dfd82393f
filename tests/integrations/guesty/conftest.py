"""Fixtures for the Guesty tests: the fake API, recorded sleeps, provider dependencies using them."""

from __future__ import annotations

import pytest

from luxserv.integrations.base import MemoryTokenStore, ProviderDeps
from luxserv.integrations.http import HttpOptions
from tests.integrations.guesty.fake import FakeGuesty


@pytest.fixture
def fake() -> FakeGuesty:
    return FakeGuesty()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def tokens() -> MemoryTokenStore:
    return MemoryTokenStore()


@pytest.fixture
def deps(fake: FakeGuesty, sleeps: list[float], tokens: MemoryTokenStore) -> ProviderDeps:
    return ProviderDeps(http=HttpOptions(transport=fake.transport, sleep=sleeps.append), tokens=tokens)
