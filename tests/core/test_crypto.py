from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from luxserv.core.crypto import DecryptionFailed, Vault
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.integrations import accounts
from luxserv.integrations.models import ProviderAccount


def test_round_trip_and_tamper(settings: Settings) -> None:
    vault = Vault(settings)
    token = vault.encrypt("s3cret value")
    assert "s3cret" not in token
    assert vault.decrypt(token) == "s3cret value"
    with pytest.raises(DecryptionFailed):
        vault.decrypt(token[:-4] + "AAAA")
    assert "s3cret" not in repr(vault)


def test_previous_key_still_reads_after_rotation(settings: Settings) -> None:
    old = Vault(settings.model_copy(update={"encryption_key": SecretStr("first key material")}))
    stored = old.encrypt("client-secret")
    rotated = Vault(
        settings.model_copy(
            update={
                "encryption_key": SecretStr("second key material"),
                "previous_encryption_key": SecretStr("first key material"),
            }
        )
    )
    assert rotated.decrypt(stored) == "client-secret"
    with pytest.raises(DecryptionFailed):
        Vault(settings.model_copy(update={"encryption_key": SecretStr("second key material")})).decrypt(stored)


def test_credentials_are_encrypted_at_rest(db: Database, settings: Settings) -> None:
    vault = Vault(settings)
    with db.unit_of_work() as session:
        account = accounts.create_account(
            session,
            vault,
            provider="guesty",
            name="Main",
            credentials={"client_id": "abc", "client_secret": "very-secret-value"},
            options={"base_url": "https://example.test"},
            actor="test",
        )
        account_id = account.id
    with db.engine.connect() as conn:
        raw = conn.execute(select(ProviderAccount.__table__)).mappings().one()
    assert "very-secret-value" not in str(dict(raw))
    with db.unit_of_work(write=False) as session:
        config = accounts.to_config(accounts.get_account(session, account_id), vault)
    assert config.credentials["client_secret"] == "very-secret-value"
    assert "very-secret-value" not in repr(config)
