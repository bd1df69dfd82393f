"""Provider connections: stored encrypted, loaded as `AccountConfig`, with a shared token store and call budget."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from luxserv.audit.service import record
from luxserv.core.clock import utcnow
from luxserv.core.crypto import Vault
from luxserv.core.database import Database
from luxserv.core.errors import Conflict, InvalidInput, NotFound
from luxserv.integrations.base import AccountConfig
from luxserv.integrations.http import BudgetExceeded
from luxserv.integrations.models import ApiCallBudget, ProviderAccount


def create_account(
    session: Session,
    vault: Vault,
    *,
    provider: str,
    name: str,
    credentials: Mapping[str, str],
    options: Mapping[str, Any] | None = None,
    owner_id: int | None = None,
    sync_interval_minutes: int | None = None,
    actor: str,
) -> ProviderAccount:
    """Store a new connection; credentials are encrypted before they reach the database."""
    if not name.strip():
        raise InvalidInput("a connection needs a name", field="name")
    if session.scalar(
        select(ProviderAccount.id).where(ProviderAccount.provider == provider, ProviderAccount.name == name)
    ):
        raise Conflict(f"a {provider} connection named {name!r} already exists", field="name")
    account = ProviderAccount(
        provider=provider,
        name=name,
        owner_id=owner_id,
        credentials_encrypted=vault.encrypt_json(dict(credentials)),
        options=dict(options or {}),
        sync_interval_minutes=sync_interval_minutes,
    )
    session.add(account)
    session.flush()
    # The audit entry names the credential keys, never their values.
    record(
        session,
        actor=actor,
        action="provider_account.created",
        entity_type="provider_account",
        entity_id=account.id,
        provider=provider,
        credential_keys=sorted(credentials),
    )
    return account


def to_config(account: ProviderAccount, vault: Vault) -> AccountConfig:
    return AccountConfig(
        id=account.id,
        provider=account.provider,
        name=account.name,
        owner_id=account.owner_id,
        credentials=vault.decrypt_json(account.credentials_encrypted),
        options=dict(account.options or {}),
    )


def enabled_accounts(session: Session, provider: str | None = None) -> list[ProviderAccount]:
    query = select(ProviderAccount).where(ProviderAccount.enabled.is_(True))
    if provider is not None:
        query = query.where(ProviderAccount.provider == provider)
    return list(session.scalars(query.order_by(ProviderAccount.id)))


def get_account(session: Session, account_id: int) -> ProviderAccount:
    account = session.get(ProviderAccount, account_id)
    if account is None:
        raise NotFound(f"provider connection {account_id} not found")
    return account


class DbTokenStore:
    """Keeps a connection's OAuth token in its row (encrypted), so every process and restart reuses it."""

    def __init__(self, db: Database, vault: Vault, account_id: int) -> None:
        self._db, self._vault, self._account_id = db, vault, account_id

    def load(self) -> tuple[str, datetime] | None:
        with self._db.unit_of_work(write=False) as session:
            row = session.get(ProviderAccount, self._account_id)
            if row is None or not row.token_encrypted or row.token_expires_at is None:
                return None
            return self._vault.decrypt(row.token_encrypted), row.token_expires_at

    def save(self, token: str, expires_at: datetime) -> None:
        with self._db.unit_of_work() as session:
            session.execute(
                update(ProviderAccount)
                .where(ProviderAccount.id == self._account_id)
                .values(token_encrypted=self._vault.encrypt(token), token_expires_at=expires_at)
            )


class DbCallBudget:
    """A daily allowance of API calls per connection, counted in the database so every process shares it."""

    def __init__(self, db: Database, account_id: int, *, per_day: int) -> None:
        self._db, self._account_id, self.per_day = db, account_id, per_day

    def spend(self) -> None:
        day = utcnow().date()
        with self._db.unit_of_work() as session:
            updated = session.execute(
                update(ApiCallBudget)
                .where(
                    ApiCallBudget.account_id == self._account_id,
                    ApiCallBudget.day == day,
                    ApiCallBudget.calls < self.per_day,
                )
                .values(calls=ApiCallBudget.calls + 1)
            )
            if updated.rowcount == 1:  # type: ignore[attr-defined]
                return
            exists = session.scalar(
                select(ApiCallBudget.id).where(ApiCallBudget.account_id == self._account_id, ApiCallBudget.day == day)
            )
            if exists is not None:
                raise BudgetExceeded(f"the daily budget of {self.per_day} API calls is spent; syncing resumes tomorrow")
            try:
                with session.begin_nested():
                    session.add(ApiCallBudget(account_id=self._account_id, day=day, calls=1))
            except IntegrityError:  # another process opened today's row first: count against it
                session.execute(
                    update(ApiCallBudget)
                    .where(ApiCallBudget.account_id == self._account_id, ApiCallBudget.day == day)
                    .values(calls=ApiCallBudget.calls + 1)
                )

    def spent_today(self) -> int:
        with self._db.unit_of_work(write=False) as session:
            calls = session.scalar(
                select(ApiCallBudget.calls).where(
                    ApiCallBudget.account_id == self._account_id, ApiCallBudget.day == utcnow().date()
                )
            )
            return calls or 0
