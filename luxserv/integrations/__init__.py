"""Booking sources. Each provider folder verifies and maps its own payloads; nothing else knows their fields."""
