"""Airbnb through its partner API (approved, API-connected software only).

The Airbnb partner API is **not publicly documented** (access needs approval and an NDA). What is mapped here
follows the partner reservation fields as commonly documented by integrators, and is lenient about their form:

- `confirmation_code` (the guest's `HM…` code; `code` accepted) → external id and confirmation code;
- `listing_id` (string or number; `listing_name` optional) → matched against the property's Airbnb listing id;
- guest: `guest{first_name,last_name,email,phone}` or flat `guest_first_name`, `guest_last_name`, `guest_email`,
  `guest_phone` (`guest_name` / `phone_numbers[0]` accepted); no name at all → "Airbnb guest";
- stay: `start_date`/`end_date` or `check_in`/`check_out` (`YYYY-MM-DD`; `end_date` may be `nights`);
- guests: `number_of_guests` (or `guests_count`, `guest_count`, `guests`), else `guest_details` adults + children
  (infants do not count, as on Airbnb);
- `status`: accepted/confirmed (or none) → created (updated when `created_at` ≠ `updated_at`); cancelled*,
  denied, declined → cancelled; checked_in / checked_out; pending, inquiry, request, expired… → skipped (kept in
  the inbox as ignored); any other value → rejected for an admin to look at;
- `updated_at` → occurred_at (older events than the stored booking change nothing); channel is "airbnb".
A body may be the reservation itself or `{"reservation": {...}}`.

Connection (`provider_accounts`): credentials `access_token` (sent as `Authorization: Bearer`) and optionally
`api_key` (sent as `X-Airbnb-API-Key`); options `base_url` (required to sync: the partner API root given with
access), `page_size` (default 50, at most 100), `reservations_path` (default `/reservations`) and
`daily_call_budget` (default 1,000 calls per UTC day, counted in the database per connection, shared by every
process; each HTTP attempt, retries included, spends one).

Sync: `GET {base_url}{reservations_path}?_offset=N&_limit=M[&updated_since=ISO][&listing_id=ID]` — the
underscore-prefixed offset/limit parameters of Airbnb's v2-style API; a page is a bare list or an object with
`reservations` (or `data`/`results`) and `metadata.total_count`. Reservations older than `since` are also dropped
client-side in case the server ignores `updated_since`. Each becomes inbox event `sync:{code}:{updated_at}`.

Webhooks: Airbnb publishes no webhook signature scheme we could verify, so this provider accepts none.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from luxserv.core.errors import EventRejected
from luxserv.integrations.airbnb.client import AirbnbClient
from luxserv.integrations.airbnb.mapping import confirmation_code, map_reservation, unwrap
from luxserv.integrations.base import ApiProvider, BookingEvent, Pulled
from luxserv.integrations.fields import parse_datetime


class AirbnbProvider(ApiProvider[AirbnbClient]):
    name = "airbnb"
    accepts_webhooks = False
    default_daily_call_budget = 1000

    def map(self, payload: Any) -> BookingEvent:
        return map_reservation(payload, provider=self.name)

    def make_client(self) -> AirbnbClient:
        return AirbnbClient(self.account, self.deps)

    def pull(self, since: datetime | None, listing_ids: Sequence[str] | None = None) -> Iterator[Pulled]:
        client = self.client
        for listing_id in listing_ids if listing_ids is not None else [None]:
            for item in client.reservations(since=since, listing_id=listing_id):
                pulled = _pulled(item, since, listing_id)
                if pulled is not None:
                    yield pulled


def _pulled(item: dict[str, Any], since: datetime | None, listing_id: str | None) -> Pulled | None:
    reservation = unwrap(item)
    code = confirmation_code(reservation)
    if not code:
        return None  # nothing to key it on; a reservation without a code is not one we can keep in step
    if listing_id is not None and str(reservation.get("listing_id", listing_id)) != listing_id:
        return None
    try:
        updated = parse_datetime(reservation, "updated_at")
    except EventRejected:
        updated = None
    if since is not None and updated is not None and updated < since:
        return None
    stamp = str(reservation.get("updated_at") or "") if updated else ""
    if not stamp:  # no change time: the content itself names the version
        stamp = "sha256:" + hashlib.sha256(json.dumps(reservation, sort_keys=True, default=str).encode()).hexdigest()
    return Pulled(event_id=f"sync:{code}:{stamp}"[:200], body=reservation)


PROVIDER = AirbnbProvider
