"""Property-based API testing with schemathesis: every operation in the OpenAPI, with all its checks.

Each operation gets generated requests (valid and invalid) as a signed-in admin; every response must match the
documented status codes, content types and schemas, and no request may cause a server error.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from luxserv.app import create_app
from luxserv.core.database import Database
from luxserv.core.settings import Settings
from tests.factories import login, make_owner, make_property, make_user

EXAMPLES = 10


def test_every_operation_honours_its_contract(db: Database, settings: Settings) -> None:
    app = create_app(settings, db, run_worker=False)
    owner = make_owner(db)
    make_property(db, owner_id=owner)
    make_user(db)
    with TestClient(app) as client:
        token = login(client)["token"]
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                             database=None, derandomize=True)  # fmt: skip
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers)

        try:
            check()
        except BaseException as failure:  # collect every operation's problem, then fail once with all of them
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
