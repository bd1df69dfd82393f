"""ASGI entry point for uvicorn/gunicorn: `uvicorn luxserv.asgi:app`."""

from luxserv.app import create_app

app = create_app()
