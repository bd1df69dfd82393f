"""The Hostaway provider: unified webhooks behind HTTP Basic, enrichment of partial payloads, and sync."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from luxserv.core.errors import EventRejected
from luxserv.integrations.base import ApiProvider, BookingEvent, EventSkipped, InboundRequest, Pulled
from luxserv.integrations.hostaway import mapping
from luxserv.integrations.hostaway.client import HostawayClient
from luxserv.integrations.signatures import check_account_basic_auth


class HostawayProvider(ApiProvider[HostawayClient]):
    """Credentials: `webhook_username`, `webhook_password` (webhooks); `account_id`, `api_key` (API).
    Options: `base_url`."""

    name = "hostaway"

    def make_client(self) -> HostawayClient:
        return HostawayClient(self.account, self.deps)

    def verify(self, request: InboundRequest) -> None:
        check_account_basic_auth(self.account, request.headers, provider="Hostaway")

    def enrich(self, payload: Any) -> Any:
        """Hostaway may send a reservation before all its details exist: fetch it when dates or status are missing."""
        if not isinstance(payload, dict) or mapping.skip_reason(payload) is not None:
            return payload
        data = payload.get("data")
        if not isinstance(data, dict) or mapping.is_complete(data):
            return payload
        if data.get("id") is None:
            raise EventRejected("missing field: data.id", field="data.id")
        fetched = self.client.reservation(str(data["id"]))
        if fetched is None:
            raise EventSkipped(f"Hostaway reservation {data['id']} is unknown to the API; nothing to apply")
        return {**payload, "data": {**data, **fetched}}

    def map(self, payload: Any) -> BookingEvent:
        if not isinstance(payload, dict):
            raise EventRejected("body must be a JSON object", field="body")
        reason = mapping.skip_reason(payload)
        if reason is not None:
            raise EventSkipped(reason)
        return mapping.to_event(payload)

    def pull(self, since: datetime | None, listing_ids: Sequence[str] | None = None) -> Iterator[Pulled]:
        """Newest activity first; stops after the first page reaching back past `since`.

        Listings are filtered here (one listing is also asked of the API as `listingId`).
        """
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        wanted = {str(i) for i in listing_ids} if listing_ids is not None else None
        only = next(iter(wanted)) if wanted is not None and len(wanted) == 1 else None
        for page in self.client.reservation_pages(listing_id=only):
            reached_older = False
            for item in page:
                if not isinstance(item, dict) or item.get("id") is None:
                    continue
                changed = mapping.activity_time(item)
                if since is not None and changed is not None and changed < since:
                    reached_older = True
                    continue
                if wanted is not None and str(item.get("listingMapId")) not in wanted:
                    continue
                yield Pulled(
                    event_id=f"sync:{item['id']}:{item.get('updatedOn') or ''}",
                    body={
                        "object": "reservation",
                        "event": "reservation.updated",
                        "accountId": self.account.credentials.get("account_id"),
                        "data": item,
                    },
                )
            if reached_older:
                return
