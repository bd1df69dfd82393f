"""`GuestyProvider`: verifies Guesty's (Svix) webhooks, completes lean events through the API, maps, pulls."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from luxserv.core.errors import LuxServError
from luxserv.integrations.base import (
    ApiProvider,
    BookingEvent,
    InboundRequest,
    MessageEvent,
    Pulled,
    SignatureInvalid,
    body_event_id,
)
from luxserv.integrations.guesty.client import DEFAULT_BASE_URL, DEFAULT_TOKEN_URL, GuestyClient
from luxserv.integrations.guesty.mapping import (
    LEGACY_EVENTS,
    SYNC_EVENT,
    V2_EVENTS,
    is_booking,
    map_payload,
    v2_reservation_id,
)
from luxserv.integrations.http import ProviderError
from luxserv.integrations.signatures import verify_standard_webhooks

log = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300  # Svix's own window for svix-timestamp
_SECRET_SEPARATORS = re.compile(r"[\s,]+")


class GuestyProvider(ApiProvider[GuestyClient]):
    """Credentials: `client_id`, `client_secret`, `webhook_secrets` (newline-separated `whsec_...`).
    Options: `base_url`, `token_url`, `guesty_account_id`. See the package docstring."""

    name = "guesty"

    # --- webhooks --------------------------------------------------------------------------------------------

    @property
    def webhook_secrets(self) -> list[str]:
        raw = self.account.credentials.get("webhook_secrets", "")
        return [s for s in _SECRET_SEPARATORS.split(raw) if s]

    def verify(self, request: InboundRequest) -> None:
        """Svix / Standard Webhooks: `svix-id`, `svix-timestamp`, `svix-signature` (or the `webhook-` names).

        Every configured secret is tried, so the old and the new one both work while the secret is rotated.
        """
        secrets = self.webhook_secrets
        if not secrets:
            raise SignatureInvalid(f"guesty connection {self.account.name!r} has no webhook secret")
        if "svix-signature" in request.headers:
            prefix = "svix"
        elif "webhook-signature" in request.headers:
            prefix = "webhook"
        else:
            raise SignatureInvalid("missing svix-id, svix-timestamp or svix-signature header (Guesty signs via Svix)")
        verify_standard_webhooks(
            request.headers, request.body, secrets, tolerance_seconds=TOLERANCE_SECONDS, prefix=prefix
        )

    def event_id(self, request: InboundRequest, payload: Any) -> str:
        """Svix's message id (the same when a delivery is re-sent), else `meta.eventId`, else the body's hash."""
        for header in ("svix-id", "webhook-id"):
            value = request.headers.get(header, "").strip()
            if value:
                return value[:200]
        meta = payload.get("meta") if isinstance(payload, dict) else None
        if isinstance(meta, dict) and isinstance(meta.get("eventId"), str) and meta["eventId"].strip():
            return str(meta["eventId"]).strip()[:200]
        return body_event_id(request.body)

    # --- events ----------------------------------------------------------------------------------------------

    def enrich(self, payload: Any) -> Any:
        """v2 events carry ids only: fetch the reservation. Any reservation without its guest or listing
        gets them from the API too. Inquiries and other non-bookings are left alone (they are skipped)."""
        if not isinstance(payload, dict):
            return payload
        name = payload.get("event")
        if name in V2_EVENTS:
            fetched = self.client.get_reservation(v2_reservation_id(payload))
            return {**payload, "reservation": self._complete(fetched)}
        if name in LEGACY_EVENTS or name == SYNC_EVENT:
            reservation = payload.get("reservation")
            if isinstance(reservation, dict):
                completed = self._complete(reservation)
                if completed is not reservation:
                    return {**payload, "reservation": completed}
        return payload

    def _complete(self, reservation: dict[str, Any]) -> dict[str, Any]:
        if not is_booking(reservation):
            return reservation
        result = reservation
        guest = reservation.get("guest")
        guest_id = reservation.get("guestId")
        if not (isinstance(guest, dict) and _has_name(guest)) and isinstance(guest_id, str) and guest_id:
            fetched = self._fetch_optional(self.client.get_guest, guest_id)
            if fetched is not None:
                result = {**result, "guest": fetched}
        listing_id = reservation.get("listingId")
        if not isinstance(reservation.get("listing"), dict) and isinstance(listing_id, str) and listing_id:
            fetched = self._fetch_optional(self.client.get_listing, listing_id)
            if fetched is not None:
                result = {**result, "listing": fetched}
        return result

    @staticmethod
    def _fetch_optional(fetch: Callable[[str], dict[str, Any]], item_id: str) -> dict[str, Any] | None:
        """A guest or listing; None if Guesty no longer has it (mapping then says what is missing)."""
        try:
            return fetch(item_id)
        except ProviderError as error:
            if error.status == 404:
                return None
            raise

    def map(self, payload: Any) -> BookingEvent | MessageEvent:
        return map_payload(payload, account_id=self._guesty_account_id)

    # --- sync ------------------------------------------------------------------------------------------------

    def pull(self, since: datetime | None, listing_ids: Sequence[str] | None = None) -> Iterator[Pulled]:
        for reservation in self.client.iter_reservations(since, listing_ids):
            reservation_id = reservation.get("_id")
            if not isinstance(reservation_id, str) or not reservation_id:
                log.warning("guesty connection %s: a reservation without _id was skipped", self.account.id)
                continue
            stamp = reservation.get("lastUpdatedAt") or ""
            yield Pulled(
                event_id=f"sync:{reservation_id}:{stamp}",
                body={"event": SYNC_EVENT, "reservation": reservation},
            )

    # --- API client ------------------------------------------------------------------------------------------

    def make_client(self) -> GuestyClient:
        return GuestyClient(
            client_id=self.account.credential("client_id"),
            client_secret=self.account.credential("client_secret"),
            base_url=self._option("base_url", DEFAULT_BASE_URL),
            token_url=self._option("token_url", DEFAULT_TOKEN_URL),
            http=self.deps.http,
            tokens=self.deps.tokens,
            budget=self.deps.budget,
        )

    @property
    def _guesty_account_id(self) -> str | None:
        value = self.account.options.get("guesty_account_id")
        return (value.strip() or None) if isinstance(value, str) else None

    def _option(self, key: str, default: str) -> str:
        value = self.account.options.get(key)
        if value is None or value == "":
            return default
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise LuxServError(f"guesty connection {self.account.name!r}: option {key!r} must be an http(s) URL")
        return value


def _has_name(guest: dict[str, Any]) -> bool:
    return any(isinstance(guest.get(k), str) and guest[k].strip() for k in ("fullName", "firstName", "lastName"))
