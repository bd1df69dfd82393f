"""Pulling reservations from providers. Every pulled reservation goes through the inbox exactly like a webhook."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update

from luxserv.core.clock import utcnow
from luxserv.core.database import Database
from luxserv.core.errors import LuxServError
from luxserv.inbox import flows
from luxserv.inbox.models import InboxStatus
from luxserv.inbox.service import NewEvent
from luxserv.integrations.accounts import get_account
from luxserv.integrations.models import ProviderAccount
from luxserv.integrations.registry import Providers

log = logging.getLogger(__name__)
# Re-read a little before the last sync, so a change written while it ran is not missed.
SYNC_OVERLAP = timedelta(minutes=10)
# Reservations applied per transaction (a Guesty page): one disk flush for all, the rules and listing matches read
# once per home, and a writer lock held for about a second at most.
BATCH_SIZE = 100


@dataclass
class SyncReport:
    """What one sync did, by inbox outcome."""

    source: str
    pulled: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    error: str = ""

    def count(self, receipt: flows.Receipt) -> None:
        self.pulled += 1
        if receipt.duplicate:
            self.duplicates += 1
        key = receipt.outcome or receipt.status.value
        self.statuses[key] = self.statuses.get(key, 0) + 1

    def summary(self) -> str:
        parts = [f"{self.pulled} pulled"]
        if self.duplicates:
            parts.append(f"{self.duplicates} already known")
        parts += [f"{n} {status}" for status, n in sorted(self.statuses.items()) if status != InboxStatus.processed]
        text = f"{self.source}: " + ", ".join(parts)
        return f"{text}; error: {self.error}" if self.error else text


Progress = Callable[[int], None]


def sync_account(
    db: Database,
    providers: Providers,
    account_id: int,
    *,
    since: datetime | None = None,
    listing_ids: Sequence[str] | None = None,
    on_progress: Progress | None = None,
) -> SyncReport:
    """Pull what changed since `since` (default: the last sync, minus an overlap) and apply it via the inbox.

    A provider error ends the sync early; what was pulled before it stays applied, and the error is recorded on
    the connection and returned in the report (the next run starts from the last complete sync).
    """
    with db.unit_of_work(write=False) as session:
        account = get_account(session, account_id)
        name, last = account.provider, account.last_synced_at
    provider = providers.for_account(account_id)
    report = SyncReport(source=f"{name} #{account_id}")
    started = utcnow()
    window = since if since is not None else (last - SYNC_OVERLAP if last else None)
    batch: list[NewEvent] = []

    def flush() -> None:
        events = list(batch)
        batch.clear()
        for receipt in flows.receive_many(db, providers, events, actor=f"sync:{name}"):
            report.count(receipt)
        if on_progress:
            on_progress(len(events))

    try:
        try:
            for pulled in provider.pull(window, listing_ids):
                batch.append(
                    NewEvent(
                        provider=name,
                        event_id=pulled.event_id[:200],
                        source="sync",
                        body=json.dumps(pulled.body, sort_keys=True, default=str).encode(),
                        account_id=account_id,
                    )
                )
                if len(batch) >= BATCH_SIZE:
                    flush()
        finally:  # what was pulled before an error is applied all the same
            if batch:
                flush()
    except LuxServError as error:
        report.error = error.message
    except Exception as error:  # a provider answering nonsense must not kill the worker
        log.exception("sync of %s #%s failed", name, account_id)
        report.error = f"{type(error).__name__}: {error}"
    with db.unit_of_work() as session:
        values: dict[str, object] = {"last_sync_error": report.error}
        if not report.error and listing_ids is None:
            values["last_synced_at"] = started
        session.execute(update(ProviderAccount).where(ProviderAccount.id == account_id).values(**values))
    return report
