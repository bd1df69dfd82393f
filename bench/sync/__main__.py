"""`python -m bench.sync [--reservations 10000] [--listings 50] [--db sqlite|postgresql|both]`.

Exit status: 0 when the time target and every check pass, 1 when one fails.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.support import RESULTS_DIR, Machine, table, verdict, write_json
from bench.sync.runner import DATABASES, Options, Result, run

MAX_SECONDS = 60.0


def render(machine: Machine, result: Result) -> str:
    per_second = result.reservations / result.luxserv_seconds if result.luxserv_seconds else 0.0
    baseline_rate = result.reservations / result.baseline_seconds if result.baseline_seconds else 0.0
    name = "SQLite" if result.db == "sqlite" else "PostgreSQL"
    rows = [
        ["baseline: every page with httpx only", f"{result.baseline_seconds:.2f}", f"{baseline_rate:,.0f}", "1.0x", ""],
        [
            "`luxserv sync guesty` (process start to exit)",
            f"{result.luxserv_seconds:.2f}",
            f"{per_second:,.0f}",
            f"{result.luxserv_seconds / result.baseline_seconds:.1f}x",
            f"{result.luxserv_cpu_seconds * 1000 / result.reservations:.1f}",
        ],
    ]
    expected = f"{result.reservations:,}"
    checks = [
        ["end-to-end time", f"{result.luxserv_seconds:.1f} s", f"<= {MAX_SECONDS:.0f} s", verdict(_fast(result))],
        ["exit status", str(result.luxserv_exit), "0", verdict(result.luxserv_exit == 0)],
        ["token endpoint calls", str(result.token_requests), "1", verdict(result.token_requests == 1)],
        ["bookings in the database", f"{result.bookings:,}", expected, verdict(result.bookings == result.reservations)],
        ["placed on a property", f"{result.placed:,}", expected, verdict(result.placed == result.reservations)],
        [
            "reservations the baseline read",
            f"{result.baseline_reservations:,}",
            expected,
            verdict(result.baseline_reservations == result.reservations),
        ],
    ]
    return "\n".join(
        [
            f"Guesty sync on {name}: {result.reservations:,} reservations across {result.listings} listings "
            "mapped to properties, from a fake Guesty on loopback",
            f"machine: {machine.line()}",
            "",
            table(["run", "time s", "reservations/s", "vs baseline", "CPU ms/reservation"], rows),
            "",
            table(["target / check", "measured", "expected", "result"], checks),
            f"luxserv said: {result.luxserv_summary}",
        ]
    )


def _fast(result: Result) -> bool:
    return result.luxserv_seconds <= MAX_SECONDS


def as_json(machine: Machine, result: Result, options: Options) -> dict[str, Any]:
    return {
        "benchmark": "sync",
        "database": result.db,
        "machine": machine.as_dict(),
        "load_average_after": os.getloadavg(),
        "result": asdict(result),
        "reservations_per_second": result.reservations / result.luxserv_seconds,
        "ratio_to_baseline": result.luxserv_seconds / result.baseline_seconds,
        "target_seconds": MAX_SECONDS,
        "passed": _fast(result) and result.checks_passed,
        "options": {"reservations": options.reservations, "listings": options.listings},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__)
    parser.add_argument("--reservations", type=int, default=10_000, help="reservations in the fake (default 10000)")
    parser.add_argument("--listings", type=int, default=50, help="listings, one property each (default 50)")
    parser.add_argument("--db", choices=[*DATABASES, "both"], default="both")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where sync-<db>.json goes")
    args = parser.parse_args(argv)
    passed = True
    for db in DATABASES if args.db == "both" else (args.db,):
        options = Options(db=db, reservations=args.reservations, listings=args.listings, results_dir=args.results_dir)
        print(f"sync on {db}: {args.reservations:,} reservations …", flush=True)
        machine, result = run(options)
        print(render(machine, result))
        data = as_json(machine, result, options)
        print(f"written to {write_json(args.results_dir, f'sync-{db}.json', data)}\n", flush=True)
        passed = passed and bool(data["passed"])
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
