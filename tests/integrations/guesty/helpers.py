"""Payload files, signing like Svix, and connection set-up for the Guesty tests."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from luxserv.core.clock import utcnow
from luxserv.core.crypto import Vault
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.integrations.accounts import create_account
from luxserv.integrations.base import AccountConfig, InboundRequest, ProviderDeps
from luxserv.integrations.guesty import GuestyProvider
from tests.integrations.guesty.fake import API_BASE, CLIENT_ID, CLIENT_SECRET, TOKEN_URL

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
OTHER_SECRET = "whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldCEhIQ=="
MAIN_ID = "6650b1f0a1b2c3d4e5f60001"
MAIN_LISTING = "64f1c0ffee0000000000aa01"
GUESTY_ACCOUNT = "62a8a2be2e53190032102a6e"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def reservation(name: str = "legacy_new") -> dict[str, Any]:
    found: dict[str, Any] = copy.deepcopy(load(name)["reservation"])
    return found


def config(
    *, secrets: tuple[str, ...] = (SECRET,), options: dict[str, Any] | None = None, account_id: int | None = 1
) -> AccountConfig:
    return AccountConfig(
        id=account_id,
        provider="guesty",
        name="Main",
        credentials=credentials(secrets),
        options={"base_url": API_BASE, "token_url": TOKEN_URL, **(options or {})},
    )


def credentials(secrets: tuple[str, ...] = (SECRET,)) -> dict[str, str]:
    return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "webhook_secrets": "\n".join(secrets)}


def provider(deps: ProviderDeps, **kwargs: Any) -> GuestyProvider:
    return GuestyProvider(config(**kwargs), deps)


def svix_headers(
    body: bytes,
    *,
    secret: str = SECRET,
    msg_id: str = "msg_2hVkN3bCqLJxYfPq0sXoT1mZgA",
    at: datetime | None = None,
    prefix: str = "svix",
) -> dict[str, str]:
    """What Svix sends: id, seconds-since-epoch timestamp, and `v1,<base64 HMAC>` made by the reference library."""
    sent = at or utcnow()
    return {
        f"{prefix}-id": msg_id,
        f"{prefix}-timestamp": str(int(sent.timestamp())),
        f"{prefix}-signature": Webhook(secret).sign(msg_id, sent, body.decode("utf-8")),
    }


def inbound(body: bytes, headers: dict[str, str]) -> InboundRequest:
    return InboundRequest(body=body, headers={k.lower(): v for k, v in headers.items()})


def encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def post_guesty(
    client: TestClient,
    payload: Any,
    *,
    secret: str = SECRET,
    msg_id: str | None = None,
    age: timedelta = timedelta(0),
    prefix: str = "svix",
    path: str = "/webhooks/guesty",
    raw: bytes | None = None,
    signed_body: bytes | None = None,
) -> Any:
    body = raw if raw is not None else encode(payload)
    headers = svix_headers(
        signed_body if signed_body is not None else body,
        secret=secret,
        msg_id=msg_id or f"msg_{uuid.uuid4().hex}",
        at=utcnow() - age,
        prefix=prefix,
    )
    return client.post(path, content=body, headers={"Content-Type": "application/json", **headers})


def connect(
    db: Database,
    settings: Settings,
    *,
    secrets: tuple[str, ...] = (SECRET,),
    options: dict[str, Any] | None = None,
    name: str = "Main",
) -> int:
    with db.unit_of_work() as session:
        account = create_account(
            session,
            Vault(settings),
            provider="guesty",
            name=name,
            credentials=credentials(secrets),
            options={"base_url": API_BASE, "token_url": TOKEN_URL, **(options or {})},
            actor="test",
        )
        return account.id
