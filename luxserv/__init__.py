"""LuxServ: bookings in from every channel, concierge services planned, owners and guests told."""

__version__ = "0.1.0"
