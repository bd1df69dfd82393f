"""Guesty (Open API): reservation and message webhooks delivered through Svix, and reservation syncs.

Webhook URL to register in Guesty (POST https://open-api.guesty.com/v1/webhooks, `{url, events}`):
    https://<your LuxServ host>/webhooks/guesty
with the events `reservation.created.v2`, `reservation.updated.v2` (and/or the legacy `reservation.new`,
`reservation.updated`), `reservation.messageReceived`, `reservation.messageSent`.

Credentials (`AccountConfig.credentials`, stored encrypted)
- `client_id`, `client_secret`: an Open API OAuth application (Integrations > Developer tools > OAuth applications).
  https://open-api-docs.guesty.com/docs/authentication
- `webhook_secrets`: the endpoint's Svix signing secret(s), `whsec_...`, one per line; while rotating, list the new
  and the old one (either is accepted). Guesty gives the secret at
  `GET /v1/webhooks-v2/secret?url=<webhook url>` (third-party code only; not found in Guesty's text).

Options (`AccountConfig.options`)
- `base_url`: API root, default https://open-api.guesty.com
- `token_url`: default https://open-api.guesty.com/oauth2/token
- `guesty_account_id`: optional; when set, a body whose `accountId` names another Guesty account is rejected.

Verification: Svix / Standard Webhooks (https://docs.svix.com/receiving/verifying-payloads/how-manual):
`svix-id`, `svix-timestamp`, `svix-signature` (or `webhook-id`, `webhook-timestamp`, `webhook-signature`),
HMAC-SHA256 over `{id}.{timestamp}.{raw body}`, base64, several space-separated `v1,` signatures, timestamp
within 300 s. The event id is `svix-id` (stable when Svix re-sends), else `meta.eventId`, else the body's hash.

Events
- `reservation.new`, `reservation.updated` (legacy; body `{event, reservation}` with the full reservation)
  https://open-api-docs.guesty.com/docs/webhooks-reservations
- `reservation.created.v2`, `reservation.updated.v2` (lean; `publishedAt` and ids only). Treated as a trigger: the
  reservation is fetched again (id from `data.reservationId`, `data.reservation._id|id`, `data._id|id` or
  `reservationId`, as the payload tables were not readable). The fetched reservation's `lastUpdatedAt` orders
  the event (what was applied is that state); `publishedAt` is used only when it has none.
  https://open-api-docs.guesty.com/docs/reservation-webhooks-migration-guide
- `reservation.sync`: what `pull` produces, `{event, reservation}` with a reservation from GET /v1/reservations.
- `reservation.messageReceived` (sender guest), `reservation.messageSent` (sender host): `reservationId`,
  `message._id|id`, `message.body|text|content`, `message.createdAt|sentAt`.
  https://open-api-docs.guesty.com/docs/webhooks-messages
- anything else is skipped (kept in the inbox as `ignored`).

Reservation fields mapped (https://open-api-docs.guesty.com/docs/webhooks-reservations,
https://open-api-docs.guesty.com/docs/how-to-search-for-reservations, https://open-api-docs.guesty.com/docs/valid-enumerations)
- `_id` -> external id; `confirmationCode` -> confirmation code
- `status`: canceled/cancelled/declined/expired/closed -> cancelled; checked_in / checked_out -> those;
  confirmed/reserved -> created or updated (status kept); `inquiry` and anything else -> skipped
  (https://open-api-docs.guesty.com/docs/canceling-a-booking-or-inquiry)
- `listingId` (or `listing._id`); `listing.nickname` or `listing.title`; `listing.address.full`
- `guest.fullName` or `guest.firstName` + `guest.lastName`; `guest.email` (or `emails[0]`); `guest.phone` (or
  `phones[0]`). Missing guest/listing are fetched: GET /v1/guests-crud/{guestId}?fields=... and
  GET /v1/listings/{id} (https://open-api-docs.guesty.com/reference/guestsopenapicontroller_getguest)
- `checkInDateLocalized` / `checkOutDateLocalized` (listing-local dates), else the date part of `checkIn`/`checkOut`
- `guestsCount`; `notes` (a string, or `notes.specialRequests` and `notes.guest`) -> special requests
- `integration.platform`, else `source` -> channel: airbnb2/airbnb -> airbnb, homeaway2/homeaway/vrbo -> vrbo,
  bookingCom -> booking.com, manual/direct/website -> direct, others lower-cased
- `lastUpdatedAt`, else `updatedAt`, else `createdAt` -> occurred_at (stale events change nothing)

API (https://open-api-docs.guesty.com/reference/get-started, https://open-api-docs.guesty.com/docs/rate-limits):
OAuth2 client credentials (form POST `grant_type=client_credentials`, `scope=open-api`, `client_id`,
`client_secret`; `access_token`, `expires_in`). At most five tokens per 24 h: the token is kept in memory and in
the connection's token store until five minutes before it expires. GET /v1/reservations (`limit`=100, `skip`,
`sort`, `fields`, `filters`; `results`, `count`), GET /v1/reservations/{id}, GET /v1/guests-crud/{id},
GET /v1/listings[/{id}]. 429 (Retry-After), 5xx and network errors are retried by `ApiClient`.
"""

from __future__ import annotations

from luxserv.integrations.guesty.client import GuestyClient
from luxserv.integrations.guesty.provider import GuestyProvider

PROVIDER = GuestyProvider

__all__ = ["PROVIDER", "GuestyClient", "GuestyProvider"]
