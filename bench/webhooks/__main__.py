"""`python -m bench.webhooks [--seconds 20] [--rate 100] [--senders 16] [--db sqlite|postgresql|both]`.

Exit status: 0 when every target and oracle passes, 1 when one fails.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench.support import RESULTS_DIR, write_json
from bench.webhooks import report
from bench.webhooks.runner import DATABASES, Options, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured phase (default 20)")
    parser.add_argument("--rate", type=float, default=100.0, help="offered load, requests per second (default 100)")
    parser.add_argument("--senders", type=int, default=16, help="concurrent senders at saturation (default 16)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a request counts as an error")
    parser.add_argument("--db", choices=[*DATABASES, "both"], default="both")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where webhooks-<db>.json goes")
    args = parser.parse_args(argv)
    passed = True
    for db in DATABASES if args.db == "both" else (args.db,):
        options = Options(
            db=db,
            seconds=args.seconds,
            rate=args.rate,
            senders=args.senders,
            timeout=args.timeout,
            results_dir=args.results_dir,
        )
        print(f"webhooks on {db}: measuring the floor, then LuxServ ({4 * args.seconds:g} s of load) …", flush=True)
        machine, floor, lux = run(options)
        print(report.render(options, machine, floor, lux))
        result = report.as_json(options, machine, floor, lux, os.getloadavg())
        path = write_json(args.results_dir, f"webhooks-{db}.json", result)
        print(f"written to {path}\n", flush=True)
        passed = passed and bool(result["passed"])
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
