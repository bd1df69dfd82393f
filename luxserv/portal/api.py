"""Guest portal JSON API: open a stay by its access code (or confirmation code + e-mail) and ask for services.

No sign-in: the code is the credential. Every failure to find a live stay gets the same 404 body, and every
lookup is rate limited per client address (see `portal.throttle`); 429 answers carry `Retry-After`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from luxserv.portal import service, throttle
from luxserv.portal.schemas import (
    ConfirmationLookup,
    GuestRequestCreate,
    LookupFailure,
    RequestAnswer,
    StayAnswer,
    StayAnswerWithCode,
    request_read,
    stay_read,
)
from luxserv.web.deps import DatabaseDep, SessionDep

router = APIRouter(prefix="/api/bookings/lookup", tags=["guest portal"])

# Codes travel in URLs: never cache an answer, never leak the URL to another site.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
TOO_MANY = "Too many attempts. Please wait a few minutes and try again."
_FAILURES: dict[int | str, dict[str, Any]] = {
    404: {"model": LookupFailure, "description": "no live stay for that code (wrong, expired or cancelled)"},
    429: {"model": LookupFailure, "description": "too many lookups from this client; see Retry-After"},
}


def _not_found() -> JSONResponse:
    body = LookupFailure(error=service.NOT_FOUND_MESSAGE).model_dump()
    return JSONResponse(body, status_code=404, headers=PRIVATE)


def _refused(gate: throttle.Gate) -> JSONResponse:
    if gate.refused:
        body = LookupFailure(error=TOO_MANY).model_dump()
        return JSONResponse(body, status_code=429, headers={**PRIVATE, "Retry-After": str(gate.retry_after)})
    return _not_found()


def _client(request: Request) -> str:
    return throttle.client_address(request.client.host if request.client else None)


@router.get("/{code}", operation_id="lookup_booking", response_model=StayAnswer, responses=_FAILURES)
def lookup_booking(code: str, request: Request, response: Response, db: DatabaseDep, session: SessionDep) -> Any:
    """The stay an access code (from the welcome e-mail) opens, with the guest's requests."""
    gate = throttle.check(db, _client(request), lambda s: service.open_stay(s, code))
    if not gate.found:
        return _refused(gate)
    try:
        booking = service.open_stay(session, code)
    except service.StayNotFound:
        return _not_found()
    response.headers.update(PRIVATE)
    return StayAnswer(booking=stay_read(service.stay_for(session, booking)))


@router.post("", operation_id="lookup_booking_by_confirmation", response_model=StayAnswerWithCode,
             responses=_FAILURES)  # fmt: skip
def lookup_booking_by_confirmation(
    body: ConfirmationLookup, request: Request, response: Response, db: DatabaseDep, session: SessionDep
) -> Any:
    """The stay with this platform confirmation code and guest e-mail, and a fresh access code for the portal."""
    gate = throttle.check(
        db, _client(request), lambda s: service.find_by_confirmation(s, body.confirmation_code, body.email)
    )
    if not gate.found:
        return _refused(gate)
    try:
        booking, code = service.open_by_confirmation(session, body.confirmation_code, body.email)
    except service.StayNotFound:
        return _not_found()
    response.headers.update(PRIVATE)
    return StayAnswerWithCode(booking=stay_read(service.stay_for(session, booking)), access_code=code)


@router.post("/{code}/service-requests", operation_id="create_guest_service_request", status_code=201,
             response_model=RequestAnswer, responses=_FAILURES)  # fmt: skip
def create_guest_service_request(
    code: str, body: GuestRequestCreate, request: Request, response: Response, db: DatabaseDep, session: SessionDep
) -> Any:
    """A guest asks for a service on a day of their stay (422 for a day outside it or a service not offered)."""
    gate = throttle.check(db, _client(request), lambda s: service.open_stay(s, code))
    if not gate.found:
        return _refused(gate)
    try:
        booking = service.open_stay(session, code)
    except service.StayNotFound:
        return _not_found()
    made = service.file_request(
        session, booking, service_type=body.service_type, day=body.date, time_of_day=body.time, notes=body.notes
    )
    response.headers.update(PRIVATE)
    return RequestAnswer(request=request_read(service.guest_request(session, made)))
