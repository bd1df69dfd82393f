"""Webhook endpoints. Each verifies, commits the raw event to the inbox, applies it, and answers (the deliveries
that arrive together are applied together: see `intake.py`).

Answers (JSON):
- 200 `{"status":"success","booking_id":…,"event_id":…,"outcome":…}`; a re-delivery adds `"duplicate": true`
- 202 `{"status":"accepted",…}`: stored, but applying failed; the worker retries it (re-sending would not help)
- 400 malformed JSON, 422 a missing/invalid field (named in `field`); both are kept in the inbox as `rejected`
- 401 bad or missing signature (nothing stored), 413 body over the limit, 415 not JSON
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from luxserv.core.errors import LuxServError, PayloadTooLarge
from luxserv.core.settings import Settings
from luxserv.inbox import flows
from luxserv.inbox.models import InboxStatus
from luxserv.inbox.service import NewEvent
from luxserv.integrations.base import InboundRequest, Provider, SignatureInvalid, decode_json
from luxserv.integrations.registry import Providers
from luxserv.web.errors import error_body
from luxserv.webhooks.intake import Intake, SenderGone

router = APIRouter(tags=["webhooks"])


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than `limit` bytes (LUXSERV_WEBHOOK_MAX_BYTES) without reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdecimal() and int(declared) > limit:
        raise PayloadTooLarge(f"body is larger than {limit} bytes")
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise PayloadTooLarge(f"body is larger than {limit} bytes")
    return bytes(chunks)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media in ("", "application/json", "text/json") or media.endswith("+json")


def _answer(receipt: flows.Receipt) -> JSONResponse:
    body: dict[str, Any] = {
        "booking_id": receipt.booking_id,
        "event_id": receipt.event_id,
        "inbox_id": receipt.inbox_id,
    }
    if receipt.duplicate:
        body["duplicate"] = True
    if receipt.status == InboxStatus.rejected:
        status = 400 if receipt.error_field == "body" else 422
        return JSONResponse(
            {**error_body(receipt.error, receipt.error_field), "status": "rejected", **body},
            status_code=status,
        )
    if receipt.status == InboxStatus.failed or (receipt.status == InboxStatus.received and not receipt.duplicate):
        return JSONResponse(
            {"status": "accepted", "detail": "stored; it will be applied by the worker", **body},
            status_code=202,
        )
    if receipt.outcome:
        body["outcome"] = receipt.outcome
    return JSONResponse({"status": "success", **body})


async def receive_webhook(provider_name: str, request: Request) -> JSONResponse:
    """Webhook routes take only the request and read the app's state themselves: this is the busiest path, and
    FastAPI's dependency resolution would cost more than everything else it does before the database."""
    state = request.app.state
    settings: Settings = state.settings
    providers: Providers = state.providers
    body = await read_limited_body(request, settings.webhook_max_bytes)
    if not _is_json(request.headers.get("content-type", "")):
        return JSONResponse(error_body("send the body as application/json", "content-type"), status_code=415)
    headers = {k.lower(): v for k, v in request.headers.items()}
    inbound = InboundRequest(body=body, headers=headers)
    if providers.is_builtin(provider_name):
        candidates = providers.webhook_candidates(provider_name)
    else:  # stored connections: may read the database
        candidates = await run_in_threadpool(providers.webhook_candidates, provider_name)
    if not candidates:
        return JSONResponse(error_body(f"no {provider_name} connection is configured", "provider"), status_code=404)
    provider = _verified(candidates, inbound)
    if provider is None:
        return JSONResponse(error_body(_refusal(candidates, inbound), "signature"), status_code=401)
    try:
        payload = decode_json(body)
    except LuxServError:
        payload = None  # stored anyway; applying it records the rejection
    new = NewEvent(
        provider=provider.name,
        event_id=provider.event_id(inbound, payload)[:200],
        source="webhook",
        body=body,
        content_type=headers.get("content-type", "application/json"),
        headers=headers,
        account_id=provider.account.id,
    )
    intake: Intake = state.intake
    try:
        receipt = await intake.receive(new, providers, actor=f"webhook:{provider.name}", hang_up=request.receive)
    except SenderGone:  # nothing was stored; the answer goes nowhere (499: "client closed request", as nginx logs it)
        return JSONResponse(error_body("the sender hung up before its delivery was stored", "connection"), 499)
    return _answer(receipt)


def _verified(candidates: list[Provider], inbound: InboundRequest) -> Provider | None:
    """The connection whose secret or credentials this request carries (each provider checks only its own)."""
    for candidate in candidates:
        try:
            candidate.verify(inbound)
        except SignatureInvalid:
            continue
        return candidate
    return None


def _refusal(candidates: list[Provider], inbound: InboundRequest) -> str:
    try:
        candidates[0].verify(inbound)
    except SignatureInvalid as error:
        return error.message
    return "signature is not valid"


@router.post("/webhooks/generic", operation_id="webhook_generic", summary="Generic booking webhook")
async def generic_webhook(request: Request) -> JSONResponse:
    """A booking event in the flat or nested generic shape (see README), signed with LUXSERV_WEBHOOK_SECRET."""
    return await receive_webhook("generic", request)


@router.post(
    "/webhooks/booking-created",
    operation_id="webhook_booking_created",
    summary="Generic booking webhook (alias)",
)
async def booking_created_webhook(request: Request) -> JSONResponse:
    """The same as /webhooks/generic; kept for senders configured with this path."""
    return await receive_webhook("generic", request)


@router.post(
    "/webhooks/{provider_name}",
    operation_id="webhook_provider",
    summary="Channel-manager webhook (guesty, ownerrez, hostaway, airbnb)",
)
async def provider_webhook(provider_name: str, request: Request) -> JSONResponse:
    """A channel manager's own webhook, verified as that provider documents (see README, "Connecting providers").

    Only the named provider's secrets or credentials are tried: a delivery signed for another provider is 401.
    """
    return await receive_webhook(provider_name, request)
