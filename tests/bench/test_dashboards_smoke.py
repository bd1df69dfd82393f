"""The dashboard benchmark end to end at two tiny scales on PostgreSQL.

Timing targets are not asserted (a few requests on a shared machine say nothing about them); what must hold
whatever the load: the data is generated at the size asked, every page answers 200 at both scales (the benchmark
stops otherwise), each page sends the same SQL statements, as often, at both scales, and the scratch databases are
gone afterwards.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest

from bench.dashboards.__main__ import main
from bench.support import POSTGRES_ADMIN_URL
from tests.conftest import REQUIRE_POSTGRES


def _postgres_or_skip() -> None:
    try:
        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=5).close()
    except psycopg.OperationalError as error:
        message = f"PostgreSQL for the benchmarks is not reachable: {error}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)


def _scratch_databases() -> list[str]:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'luxserv_bench_dash_%%' AND datname LIKE %s",
            (f"%\\_{os.getpid()}",),
        ).fetchall()
    return [row[0] for row in rows]


def test_dashboard_benchmark_on_postgresql_serves_every_page_with_the_same_queries_at_two_scales(
    tmp_path: Path,
) -> None:
    _postgres_or_skip()
    args = ["--scale", "0.01", "--baseline-scale", "0.005", "--requests", "5", "--warmup", "2"]
    assert main([*args, "--results-dir", str(tmp_path)]) in (0, 1)  # 1 = a time target missed; the run completed

    result = json.loads((tmp_path / "dashboards.json").read_text())
    rows = [dataset["rows"] for dataset in result["datasets"]]
    assert [r["owners"] for r in rows] == [1, 2]
    assert [r["properties"] for r in rows] == [10, 20]
    assert [r["bookings"] for r in rows] == [1_500, 3_000]
    assert [r["service_requests"] for r in rows] == [5_000, 10_000]
    assert all(r["maintenance_items"] == 6 * r["properties"] and r["notifications"] > 0 for r in rows)

    assert [page["page"] for page in result["pages"]] == ["calendar", "owner", "guest", "queue"]
    for page in result["pages"]:
        base, full = page["baseline"], page["full"]
        assert base["requests"] == full["requests"] == 5, page["page"]
        assert base["queries_min"] >= 3, page["page"]  # signed in, the bell, and the page's own reads at least
        # The same statements at twice the data: none new, none sent more often by one request (how many a request
        # sends also depends on what its rows point to, so the counts themselves may differ by an optional one).
        assert page["statements_grown"] == [], page["page"]
        assert page["queries_constant"], page["page"]
        assert 0 < base["p50_ms"] <= base["p95_ms"] <= base["max_ms"], page["page"]
    assert _scratch_databases() == []
