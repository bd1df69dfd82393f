"""Dashboard scale benchmark: the four busiest pages at 1/10 and at full data, per request (see README.md)."""
