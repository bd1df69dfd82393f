"""The owner portal: an owner's homes at a glance, each home's calendar, bookings and service requests."""
