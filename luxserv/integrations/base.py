"""The provider interface and the normalized booking event every source is mapped to.

Nothing outside a provider's folder knows that provider's field names: domains see only `BookingEvent`.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from luxserv.core.errors import EventRejected, LuxServError


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
    channel: str | None = None  # where the guest booked (airbnb, vrbo, booking.com, direct)
    occurred_at: datetime | None = None  # the source's own last-change time, used to drop stale events
    version: int | None = None  # a source's sequence number, when it has one
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


class SignatureInvalid(LuxServError):
    """The request is not signed by anyone we trust. Nothing is stored."""


@dataclass(frozen=True)
class InboundRequest:
    """What a webhook endpoint hands to a provider: the exact bytes and the headers (lower-cased names)."""

    body: bytes
    headers: Mapping[str, str]


class WebhookProvider(abc.ABC):
    """A source that pushes booking events to LuxServ.

    `verify` runs before anything is stored; `event_id` names the event for de-duplication;
    `map` runs when the stored event is applied (at once, by the worker on retry, or on replay).
    """

    name: str

    @abc.abstractmethod
    def verify(self, request: InboundRequest) -> None:
        """Raise `SignatureInvalid` unless the request carries a valid signature or credentials."""

    @abc.abstractmethod
    def event_id(self, request: InboundRequest, payload: Any) -> str:
        """A stable id for this delivery: the same event re-sent gives the same id."""

    @abc.abstractmethod
    def map(self, payload: Any) -> BookingEvent:
        """Turn a decoded payload into a `BookingEvent`; raise `EventRejected(field=…)` if it cannot."""


def decode_json(body: bytes) -> Any:
    """Parse a JSON body or reject it with a clear reason."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EventRejected(f"body is not valid JSON: {error}", field="body") from error
    except RecursionError as error:
        raise EventRejected("body is nested too deeply", field="body") from error
