"""Telling people what happened: owner and admin notifications, written as outbox rows with the change."""

from luxserv.notifications.booking import booking_cancelled, booking_created

__all__ = ["booking_cancelled", "booking_created"]
