"""OwnerRez (https://www.ownerrez.com): booking webhooks and sync through API v2.

Webhook URL to register (OwnerRez OAuth app → Webhooks; https only): `https://<your LuxServ host>/webhooks/ownerrez`,
with a User and Password of your choosing. OwnerRez sends them as HTTP Basic credentials; there is no HMAC
(https://www.ownerrez.com/support/articles/api-webhooks, https://ownerrez.com/support/articles/api-oauth-app).
Webhooks exist only for OAuth apps.

Credentials (connection keys):
- `webhook_username`, `webhook_password`: the webhook User/Password (both compared in constant time; without them
  every delivery is refused);
- API, one of (https://www.ownerrez.com/support/articles/api-auth):
  - `access_token`: an OAuth app's bearer token (sent with a User-Agent, which OwnerRez requires,
    https://www.ownerrez.com/support/articles/api-errors), or
  - `api_username` (the OwnerRez account e-mail) + `api_token` (a personal access token, `pt_…`): HTTP Basic.
Options: `base_url` (default https://api.ownerrez.com), and the shared `daily_call_budget`.

Webhook envelope: `{id, user_id, action, entity_type, entity_id, entity}`; `action` is `entity_create` or
`entity_insert` (both seen), `entity_update`, `entity_delete`, `webhook_test`, `application_authorization_revoked`.
Only `entity_type == "booking"` changes a booking; blocks (`is_block` true or `type` "block": owner stays, holds)
are ignored. `entity_delete`, `status` canceled/cancelled or a `canceled_utc` cancel. When a delivery lacks the
dates, `GET /v2/bookings/{id}` fills them in (a booking already gone is ignored with a reason); when the booking
names its guest only by id, `GET /v2/guests/{guest_id}` fills the guest in.

Booking fields mapped (GET /v2/bookings, GET /v2/bookings/{id}, webhook `entity`). The v2 reference is linked
from https://ownerrez.com/support/articles/api-overview ("v2.0 Documentation"); the field names below follow it as
quoted in public integrations and OwnerRez's developer forum (https://www.ownerrez.com/forums/developers):
- `id` → external id; `platform_reservation_number` → confirmation code;
- `property_id` → listing id; `property.name` (else `property.external_name`) → listing name;
- `guest.first_name` + `guest.last_name` → guest name; default (else first) `guest.email_addresses[].address`,
  else `guest.email` → e-mail; default (else first) `guest.phones[].number` → phone;
- `arrival` → check-in, `departure` → check-out (dates; `check_in`/`check_out` are times and not used);
- `adults` + `children` (at least 1) → guest count; `notes` → special requests;
- `listing_site` (else `source`) → channel: Airbnb → airbnb, VRBO/HomeAway → vrbo, Booking.com → booking.com,
  Direct/OwnerRez → direct, anything else lower-cased;
- `updated_utc` (else `created_utc`, `booked_utc`) → occurred at (orders updates).

Sync: `GET /v2/bookings?since_utc=…&property_ids=…&include_guest=true`, following `next_page_url` (or
`offset`/`limit`); with neither a time nor listings, every property from `GET /v2/properties` is listed.
"""

from luxserv.integrations.ownerrez.provider import OwnerRezProvider

PROVIDER = OwnerRezProvider

__all__ = ["PROVIDER", "OwnerRezProvider"]
