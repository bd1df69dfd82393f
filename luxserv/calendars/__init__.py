"""Owners' calendar subscriptions: their properties' stays and planned services as an iCalendar feed."""
