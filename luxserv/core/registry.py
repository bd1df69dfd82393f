"""Imports every model module so `Base.metadata` is complete (Alembic and the app both use this)."""

from luxserv.accounts import models as accounts_models
from luxserv.audit import models as audit_models
from luxserv.bookings import models as bookings_models
from luxserv.core.database import Base
from luxserv.guests import models as guests_models
from luxserv.inbox import models as inbox_models
from luxserv.integrations import models as integrations_models
from luxserv.notifications import models as notifications_models
from luxserv.outbox import models as outbox_models
from luxserv.portal import models as portal_models
from luxserv.properties import models as properties_models
from luxserv.services import models as services_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "audit_models",
    "bookings_models",
    "guests_models",
    "inbox_models",
    "integrations_models",
    "metadata",
    "notifications_models",
    "outbox_models",
    "portal_models",
    "properties_models",
    "services_models",
]
