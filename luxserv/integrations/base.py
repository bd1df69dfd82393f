"""The provider interface and the normalized booking event every source is mapped to.

Nothing outside a provider's folder knows that provider's field names: domains see only `BookingEvent`.
"""

from __future__ import annotations

import abc
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from luxserv.core.errors import EventRejected, LuxServError
from luxserv.integrations.http import CallBudget, HttpOptions


class EventKind(StrEnum):
    created = "created"
    updated = "updated"
    cancelled = "cancelled"
    checked_in = "checked_in"
    checked_out = "checked_out"


@dataclass(frozen=True)
class GuestInfo:
    name: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ListingRef:
    """How the source names the property: its own listing id and/or a human name or address."""

    listing_id: str | None = None
    name: str | None = None
    address: str | None = None
    property_id: int | None = None  # set only by trusted internal sources (admin entry, demo)

    def describe(self) -> str:
        return self.name or self.address or self.listing_id or "(no listing given)"


@dataclass(frozen=True)
class BookingEvent:
    """One normalized booking change, whatever the source. `apply` validates it."""

    kind: EventKind
    provider: str
    external_id: str
    listing: ListingRef
    guest: GuestInfo
    check_in: date
    check_out: date
    guest_count: int = 1
    special_requests: str = ""
    status: str | None = None  # an explicit booking status from the source, when it states one
    confirmation_code: str | None = None  # the code the guest was given by the platform, if not the external id
    channel: str | None = None  # where the guest booked (airbnb, vrbo, booking.com, direct)
    occurred_at: datetime | None = None  # the source's own last-change time, used to drop stale events
    version: int | None = None  # a source's sequence number, when it has one
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class MessageEvent:
    """A message between guest and host about a booking (kept on the booking's timeline)."""

    provider: str
    external_id: str  # the booking's external id, as in BookingEvent
    message_id: str
    body: str
    sender: str = "guest"  # guest | host
    sent_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


class SignatureInvalid(LuxServError):
    """The request is not signed by anyone we trust. Nothing is stored."""


class EventSkipped(LuxServError):
    """The event is understood but changes no booking (an inquiry, an owner block, a test ping).

    It stays in the inbox as `ignored`, with this message as the reason.
    """


@dataclass(frozen=True)
class InboundRequest:
    """What a webhook endpoint hands to a provider: the exact bytes and the headers (lower-cased names)."""

    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class AccountConfig:
    """One configured connection to a provider, secrets decrypted (never logged: repr hides them)."""

    id: int | None
    provider: str
    name: str
    owner_id: int | None = None
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    options: Mapping[str, Any] = field(default_factory=dict)

    def credential(self, key: str) -> str:
        """A required credential, or a clear error naming it."""
        value = self.credentials.get(key, "")
        if not value:
            raise LuxServError(f"{self.provider} connection {self.name!r} has no {key!r} credential")
        return value


class TokenStore(Protocol):
    """Where an OAuth access token is kept between calls and processes (the database, encrypted)."""

    def load(self) -> tuple[str, datetime] | None: ...

    def save(self, token: str, expires_at: datetime) -> None: ...


class MemoryTokenStore:
    """A TokenStore for one process (tests, and sources without a stored account)."""

    def __init__(self) -> None:
        self._value: tuple[str, datetime] | None = None

    def load(self) -> tuple[str, datetime] | None:
        return self._value

    def save(self, token: str, expires_at: datetime) -> None:
        self._value = (token, expires_at)


@dataclass(frozen=True)
class ProviderDeps:
    """What a provider instance may use besides its account: HTTP settings, a token store, a call budget."""

    http: HttpOptions = field(default_factory=HttpOptions)
    tokens: TokenStore = field(default_factory=MemoryTokenStore)
    budget: CallBudget | None = None


@dataclass(frozen=True)
class Pulled:
    """One reservation fetched by a sync: the inbox event id and a body the provider's own `map` accepts."""

    event_id: str
    body: dict[str, Any]


class Provider(abc.ABC):
    """A booking source. Subclasses live in `integrations/<name>/` and are the only code that knows its fields.

    Lifecycle of an inbound event:
    - `verify` runs on the webhook request before anything is stored (skipped for pulled events);
    - `event_id` names the delivery for de-duplication (the same event re-sent gives the same id);
    - `enrich` runs outside any database transaction just before applying; it may call the provider's API
      (lean payloads that carry only ids). It must be idempotent; it is called again on retry and replay;
    - `map` turns the (enriched) payload into a `BookingEvent`, or raises `EventRejected` (bad data, kept as
      `rejected`) or `EventSkipped` (not a booking change, kept as `ignored`).
    `pull` lists reservations changed since a time, for syncs; each becomes an inbox event like a webhook.
    """

    name: ClassVar[str]
    accepts_webhooks: ClassVar[bool] = True
    default_daily_call_budget: ClassVar[int | None] = None  # a cap on API calls per day, if the provider has one

    def __init__(self, account: AccountConfig, deps: ProviderDeps | None = None) -> None:
        self.account = account
        self.deps = deps or ProviderDeps()

    def verify(self, request: InboundRequest) -> None:
        """Raise `SignatureInvalid` unless the request carries a valid signature or credentials."""
        raise SignatureInvalid(f"{self.name} does not accept webhooks")

    def event_id(self, request: InboundRequest, payload: Any) -> str:
        """A stable id for this delivery; by default the SHA-256 of the body (same bytes = same event)."""
        return body_event_id(request.body)

    def enrich(self, payload: Any) -> Any:
        """Complete a payload through the provider's API when it lacks details; by default, as is."""
        return payload

    @abc.abstractmethod
    def map(self, payload: Any) -> BookingEvent | MessageEvent:
        """Turn a decoded payload into a `BookingEvent` (or a `MessageEvent` for guest messages)."""

    def pull(self, since: datetime | None, listing_ids: Sequence[str] | None = None) -> Iterator[Pulled]:
        """Reservations changed since `since` (all when None), optionally only for these listing ids."""
        raise LuxServError(f"{self.name} cannot be synced")
        yield  # pragma: no cover

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release HTTP connections."""


class Closable(Protocol):
    def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=Closable)


class ApiProvider(Provider, Generic[ClientT]):
    """A provider with an API client, made on first use (once, even across threads) and closed with it."""

    def __init__(self, account: AccountConfig, deps: ProviderDeps | None = None) -> None:
        super().__init__(account, deps)
        self._client: ClientT | None = None
        self._client_lock = threading.Lock()

    @abc.abstractmethod
    def make_client(self) -> ClientT:
        """Build the API client from `self.account` and `self.deps`."""

    @property
    def client(self) -> ClientT:
        with self._client_lock:
            if self._client is None:
                self._client = self.make_client()
            return self._client

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def body_event_id(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def decode_json(body: bytes) -> Any:
    """Parse a JSON body or reject it with a clear reason."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EventRejected(f"body is not valid JSON: {error}", field="body") from error
    except RecursionError as error:
        raise EventRejected("body is nested too deeply", field="body") from error
