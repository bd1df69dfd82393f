"""Hostaway (https://www.hostaway.com): unified reservation webhooks and sync through the public API v1.

Webhook URL to register (Hostaway dashboard → Settings → Integrations → Webhooks, the unified webhook):
`https://<your LuxServ host>/webhooks/hostaway`, protected with a login and password of your choosing
(https://support.hostaway.com/hc/en-us/articles/360009022653-Using-Hostaway-Web-hooks). Hostaway sends them as HTTP
Basic credentials; no signature scheme is documented. A connection without them refuses every delivery.

Credentials (connection keys):
- `webhook_username`, `webhook_password`: the webhook login/password (both compared in constant time);
- `account_id` (the Hostaway account ID, sent as `client_id`) and `api_key` (the API secret from Hostaway's
  settings, sent as `client_secret`): exchanged at `POST /v1/accessTokens` (grant_type=client_credentials,
  scope=general) for a bearer token, kept in the connection's token store until near its expiry.
Options: `base_url` (default https://api.hostaway.com), and the shared `daily_call_budget`.

API reference: https://api.hostaway.com/documentation (standard answer `{status, result, count, limit, offset}`;
rate limits 15 requests per 10 s per IP, 20 per account, then HTTP 429).

Webhook envelope: `{object: "reservation", event, accountId, data}`, `event` being `reservation.created` or
`reservation.updated` (spellings like `reservationCreated` are accepted too); `data: "test"` is a test ping.
Other objects (guest messages among them) are ignored. A reservation without dates or status is completed with
`GET /v1/reservations/{id}` (Hostaway sends some details later).

Reservation fields mapped (webhook `data`, `GET /v1/reservations`, `GET /v1/reservations/{id}`):
- `id` → external id; `reservationId`, else `channelReservationId`, else `confirmationCode` → confirmation code;
- `listingMapId` → listing id; `listingName` → listing name;
- `guestName`, else `guestFirstName` + `guestLastName` → guest name; `guestEmail` → e-mail; `phone` → phone;
- `arrivalDate` → check-in, `departureDate` → check-out;
- `numberOfGuests`, else `adults` + `children` (at least 1) → guest count;
- `guestNote` and `bookingcomSpecialRequests`, else `comment` → special requests;
- `channelName` → channel: airbnbOfficial/airbnb → airbnb, homeaway/vrbo… → vrbo, bookingcom → booking.com,
  direct → direct, anything else lower-cased;
- `status`: new/modified (and confirmed) apply; cancelled/canceled/declined/expired cancel; ownerStay (a block),
  inquiry*, pending, awaitingPayment and anything unknown are ignored with the reason;
- `updatedOn` (else `insertedOn`; "YYYY-MM-DD HH:MM:SS" in UTC) → occurred at (orders updates).

Sync: `GET /v1/reservations?limit=100&offset=…&sortOrder=latestActivity`, newest first, stopping after the page
that reaches back past the sync window (`latestActivityOn`, else `updatedOn`); listings are filtered here.
"""

from luxserv.integrations.hostaway.provider import HostawayProvider

PROVIDER = HostawayProvider

__all__ = ["PROVIDER", "HostawayProvider"]
