"""The providers this process knows, built from settings. Domains ask here; they never import a provider."""

from __future__ import annotations

from typing import Any, Protocol

from luxserv.core.errors import NotFound
from luxserv.core.settings import Settings
from luxserv.integrations.base import BookingEvent, WebhookProvider
from luxserv.integrations.generic import GenericProvider
from luxserv.integrations.manual import ManualMapper


class Mapper(Protocol):
    name: str

    def map(self, payload: Any) -> BookingEvent: ...


class Providers:
    """Lookup of mappers (every source) and webhook providers (sources that push to us)."""

    def __init__(self, webhooks: list[WebhookProvider], mappers: list[Mapper]) -> None:
        self._webhooks = {p.name: p for p in webhooks}
        self._mappers: dict[str, Mapper] = {m.name: m for m in mappers}
        self._mappers.update(self._webhooks)

    @classmethod
    def from_settings(cls, settings: Settings) -> Providers:
        generic = GenericProvider(
            settings.webhook_secrets, tolerance_seconds=settings.webhook_timestamp_tolerance_seconds
        )
        return cls(webhooks=[generic], mappers=[ManualMapper()])

    def webhook(self, name: str) -> WebhookProvider:
        try:
            return self._webhooks[name]
        except KeyError:
            raise NotFound(f"no webhook provider named {name!r}") from None

    def mapper(self, name: str) -> Mapper:
        try:
            return self._mappers[name]
        except KeyError:
            raise NotFound(f"no provider named {name!r}") from None
