"""Webhook ingestion: LuxServ against a bare ASGI floor, at a fixed offered load and at saturation."""
