"""The iCal import tests' environment: a property, a vault, and a fake feed server."""

from __future__ import annotations

import pytest

from luxserv.core.crypto import Vault
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from tests.factories import make_property
from tests.integrations.ical.helpers import Env, FeedServer


@pytest.fixture
def env(db: Database, settings: Settings) -> Env:
    return Env(db=db, vault=Vault(settings), server=FeedServer(), property_id=make_property(db))
