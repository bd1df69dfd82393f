"""`python -m bench.dashboards [--scale 1.0] [--requests 200] [--keep-db]`.

Generates two datasets on PostgreSQL (the baseline at a tenth of `--scale`, and `--scale`), measures the admin
calendar (month), the owner portal, the guest portal and the service queue on both, and prints each page's p95
server time at both scales, its growth, its SQL statements per request, and its target with PASS/FAIL.
Exit status: 0 when every page passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.dashboards.dataset import Dataset, Size, drop_database, generate, new_password_hash, server_version
from bench.dashboards.pages import FLOOR, PAGES, Page, Samples, Site, measure
from bench.support import RESULTS_DIR, Machine, table, verdict, write_json

FLAT_LIMIT = 1.5  # p95 at full scale over p95 at the baseline: above this, a page grows with the data
WARMUP = 10  # unrecorded requests per page and dataset first (connections, prepared statements, caches)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboards", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="full dataset; 1.0 = 2,000 homes (default 1.0)")
    parser.add_argument("--baseline-scale", type=float, help="the baseline dataset (default: a tenth of --scale)")
    parser.add_argument("--requests", type=int, default=200, help="recorded requests per page and scale (200)")
    parser.add_argument("--warmup", type=int, default=WARMUP, help=f"unrecorded requests first ({WARMUP})")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch databases (their URLs are printed)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where dashboards.json goes")
    args = parser.parse_args(argv)
    if args.scale <= 0 or (args.baseline_scale is not None and args.baseline_scale <= 0):
        parser.error("--scale and --baseline-scale must be above 0")
    if args.requests < 1 or args.warmup < 0:
        parser.error("--requests must be at least 1 and --warmup at least 0")
    sizes = (Size.of(args.baseline_scale or args.scale / 10), Size.of(args.scale))
    if sizes[0].scale >= sizes[1].scale:
        parser.error("--baseline-scale must be below --scale")
    machine = Machine.describe()
    postgres = server_version()
    print(f"machine: {machine.line()}\nPostgreSQL: {postgres}", flush=True)
    datasets: list[Dataset] = []
    try:
        password_hash = new_password_hash()
        for size in sizes:
            print(f"generating scale {size.label}: {size.line()} …", flush=True)
            name = f"luxserv_bench_dash_{size.label.replace('.', '_')}_{os.getpid()}"
            data = generate(size, name, password_hash)
            datasets.append(data)
            steps = ", ".join(f"{step} {seconds:.1f}" for step, seconds in data.seconds.items())
            print(f"  generated in {data.generation_seconds:.1f} s ({steps})", flush=True)
        with ExitStack() as stack:
            sites = [Site(data, stack) for data in datasets]
            print(f"measuring {args.requests} requests per page and scale, alternating scales …", flush=True)
            measure(sites, args.requests, args.warmup, progress=lambda page: print(f"  {page.title}: done", flush=True))
            results = [_page_result(page, sites) for page in PAGES]
            floor = [site.samples[FLOOR.key].stats() for site in sites]
            print()
            print(render(machine, postgres, datasets, results, floor, args.requests))
            _explain_failures(sites[-1], results)
        data_out = as_json(machine, postgres, datasets, results, floor, args)
        print(f"\nwritten to {write_json(args.results_dir, 'dashboards.json', data_out)}")
        return 0 if all(r["passed"] for r in results) else 1
    finally:
        for data in datasets:
            if args.keep_db:
                print(f"kept scale {data.size.label}: {data.url}")
            else:
                drop_database(data.database)


def _page_result(page: Page, sites: list[Site]) -> dict[str, Any]:
    base, full = (site.samples[page.key] for site in sites)
    base_stats, full_stats = base.stats(), full.stats()
    growth = full_stats["p95_ms"] / base_stats["p95_ms"] if base_stats["p95_ms"] else math.nan
    # No statement at full scale that the baseline never sent, and none sent more often in one request.
    grown = {shape: times for shape, times in full.shapes.items() if times > base.shapes.get(shape, 0)}
    constant = not grown
    on_target = page.target_ms is None or full_stats["p95_ms"] <= page.target_ms
    flat = growth <= FLAT_LIMIT
    failed = [why for why, ok in (("p95", on_target), ("growth", flat), ("queries", constant)) if not ok]
    return {
        "page": page.key,
        "title": page.title,
        "path": page.path,
        "urls": [_public(visit.url) for visit in sites[-1].visits[page.key]],
        "target_ms": page.target_ms,
        "baseline": base_stats,
        "full": full_stats,
        "growth": growth,
        "queries_constant": constant,
        "flat": flat,
        "on_target": on_target,
        "passed": not failed,
        "failed": failed,
        "statements_grown": [
            {"sql": shape, "times_per_request": {"baseline": base.shapes.get(shape, 0), "full": times}}
            for shape, times in grown.items()
        ],
        "slowest_statements": {"baseline": _slowest(base), "full": _slowest(full)},
    }


def _slowest(samples: Samples) -> list[dict[str, Any]]:
    per_request = max(1, len(samples.ms))
    return [
        {"sql": s.text, "ms_per_request": s.ms / per_request, "calls": s.calls, "slowest_ms": s.slowest_ms}
        for s in samples.slowest()
    ]


def _public(url: str) -> str:
    """A URL as written to the results: guest codes are secrets (if only of a scratch database)."""
    return "/portal?booking=<code>" if url.startswith("/portal?") else url


def render(
    machine: Machine,
    postgres: str,
    datasets: list[Dataset],
    results: list[dict[str, Any]],
    floor: list[dict[str, Any]],
    requests: int,
) -> str:
    base, full = (d.size.label for d in datasets)
    data_rows = [
        [
            f"scale {d.size.label}",
            f"{d.rows['owners']:,}",
            f"{d.rows['properties']:,}",
            f"{d.rows['bookings']:,}",
            f"{d.rows['service_requests']:,}",
            f"{d.rows['service_request_changes']:,}",
            f"{d.generation_seconds:.1f}",
        ]
        for d in datasets
    ]
    summary = [
        [
            r["title"],
            f"{r['baseline']['p95_ms']:.1f}",
            f"{r['full']['p95_ms']:.1f}",
            f"{r['growth']:.2f}x",
            _queries(r["baseline"]),
            _queries(r["full"]),
            f"<= {r['target_ms']:.0f} ms" if r["target_ms"] is not None else "-",
            verdict(r["passed"]) + (f" ({', '.join(r['failed'])})" if r["failed"] else ""),
        ]
        for r in results
    ]
    detail = [
        [
            f"{title} @ {label}",
            f"{stats['p50_ms']:.1f}",
            f"{stats['p95_ms']:.1f}",
            f"{stats['max_ms']:.1f}",
            f"{stats['sql_p50_ms']:.1f}",
            f"{stats['cpu_p50_ms']:.1f}",
            _queries(stats),
        ]
        for title, pair in [*((r["title"], (r["baseline"], r["full"])) for r in results), (FLOOR.title, floor)]
        for label, stats in zip((base, full), pair, strict=True)
    ]
    headers = ["page", f"p95 ms @{base}", f"p95 ms @{full}", "growth", f"queries @{base}", f"queries @{full}"]
    headers += ["target (p95)", "result"]
    return "\n".join(
        [
            f"Dashboard pages at scale {base} (baseline) and {full}, PostgreSQL, {requests} requests per page and "
            "scale",
            f"machine: {machine.line()}",
            f"PostgreSQL: {postgres}",
            "server time = wall time of the in-process TestClient call (the whole ASGI stack, no network)",
            "",
            table(["dataset", "owners", "homes", "bookings", "tasks", "task history", "generated in s"], data_rows),
            "",
            table(headers, summary),
            f"PASS: p95 within target at scale {full}, growth <= {FLAT_LIMIT}x (flat), and constant queries: no "
            f"request at scale {full} sends a statement (IN lists folded) that none sent at {base}, or sends one "
            "more often (how many a request sends also depends on what its rows point to: min-max)",
            "",
            table(["page @ scale", "p50 ms", "p95 ms", "max ms", "SQL p50 ms", "CPU p50 ms", "queries"], detail),
            "SQL: time inside the database driver's execute calls; CPU: this process's CPU time (app and TestClient); "
            "on a busy machine the rest of a request is mostly waiting for a CPU. The floor is the least a request "
            "costs here (TestClient, ASGI stack, one unit of work running SELECT 1); it is not judged",
        ]
    )


def _queries(stats: dict[str, Any]) -> str:
    low, high = stats["queries_min"], stats["queries_max"]
    return str(high) if low == high else f"{low}-{high}"


def _explain_failures(site: Site, results: list[dict[str, Any]]) -> None:
    """For each page that failed: its slowest statement at full scale, EXPLAIN ANALYZEd (kept in the JSON too)."""
    for result in results:
        if result["passed"]:
            continue
        samples = site.samples[result["page"]]
        statement = samples.slowest(1)[0]
        plan = site.explain(statement)
        result["explain"] = {"sql": statement.text, "params": repr(statement.slowest_params), "plan": plan}
        print(f"\n{result['title']} failed ({', '.join(result['failed'])}).")
        for grown in result["statements_grown"]:
            times = grown["times_per_request"]
            print(f"sent up to {times['full']} times per request at full scale, {times['baseline']} at the baseline:")
            print(grown["sql"])
        print(
            f"Its slowest statement at scale {site.data.size.label} "
            f"({statement.ms / max(1, len(samples.ms)):.1f} ms per request):\n{statement.text}\n"
            f"parameters: {statement.slowest_params!r}\n{plan}"
        )


def as_json(
    machine: Machine,
    postgres: str,
    datasets: list[Dataset],
    results: list[dict[str, Any]],
    floor: list[dict[str, Any]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    return {
        "benchmark": "dashboards",
        "machine": machine.as_dict(),
        "postgresql": postgres,
        "load_average_after": os.getloadavg(),
        "options": {
            "scale": args.scale,
            "baseline_scale": datasets[0].size.scale,
            "requests": args.requests,
            "warmup": args.warmup,
            "flat_limit": FLAT_LIMIT,
        },
        "server_time": "wall time of the in-process TestClient call, including the ASGI stack",
        "datasets": [
            {
                "scale": d.size.scale,
                "today": d.today,
                "rows": d.rows,
                "generation_seconds": d.generation_seconds,
                "steps": d.seconds,
            }
            for d in datasets
        ],
        "pages": results,
        "floor": {"path": FLOOR.path, "baseline": floor[0], "full": floor[1]},
        "passed": all(r["passed"] for r in results),
    }


if __name__ == "__main__":
    sys.exit(main())
