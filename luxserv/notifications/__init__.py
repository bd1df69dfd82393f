"""Telling people what happened: owners, admins and guests, in the app and by e-mail (outbox rows)."""

from luxserv.notifications.booking import booking_cancelled, booking_changed, booking_created, new_booking, new_bookings
from luxserv.notifications.guest import send_welcome

__all__ = ["booking_cancelled", "booking_changed", "booking_created", "new_booking", "new_bookings", "send_welcome"]
