"""Run bench suites, print a table, write JSON, compare with a baseline by ratio.

    python -m benches.run                       # every suite, size small
    python -m benches.run catalog --size medium
    python -m benches.run --json out.json --baseline benches/baseline.json
    python -m benches.run --save-baseline benches/baseline.json

A regression is a ratio (mlcore time / reference time, same run) that grew by
more than ``--tolerance`` over the baseline's, or a ratio above the case's goal.
Exit code 1 when any regression or missed goal is found.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benches import suites
from benches.harness import SIZES, execute


def suite_names() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(suites.__path__) if not m.name.startswith("_")
    )


def run_suite(name: str, size: str) -> list[dict[str, Any]]:
    module = importlib.import_module(f"benches.suites.{name}")
    rows = []
    for case in module.cases(size):
        m = execute(case)
        ratio = m.ratio
        rows.append(
            {
                "suite": name,
                "case": case.name,
                "size": size,
                "seconds": m.seconds,
                "reference": case.reference_name or None,
                "reference_seconds": m.reference_seconds,
                "ratio": ratio,
                "max_ratio": case.max_ratio,
                "goal_met": None
                if ratio is None or case.max_ratio is None
                else ratio <= case.max_ratio,
                "extras": m.extras,
                "note": case.note,
            }
        )
    return rows


def compare(rows: list[dict[str, Any]], baseline: dict[str, Any], tolerance: float) -> list[str]:
    base = {(r["suite"], r["case"], r["size"]): r for r in baseline.get("results", [])}
    problems = []
    for r in rows:
        if r["goal_met"] is False:
            problems.append(
                f"{r['suite']}/{r['case']}: ratio {r['ratio']:.3f} above goal {r['max_ratio']}"
            )
        b = base.get((r["suite"], r["case"], r["size"]))
        if b and b.get("ratio") and r["ratio"] and r["ratio"] > b["ratio"] * (1 + tolerance):
            problems.append(
                f"{r['suite']}/{r['case']}: ratio {r['ratio']:.3f} vs baseline {b['ratio']:.3f}"
                f" (+{(r['ratio'] / b['ratio'] - 1) * 100:.0f}%)"
            )
    return problems


def _fmt_s(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f}us"
    if s < 1:
        return f"{s * 1e3:.2f}ms"
    return f"{s:.2f}s"


def print_table(rows: list[dict[str, Any]]) -> None:
    header = f"{'suite/case':48} {'time':>10} {'reference':>10} {'ratio':>8} {'goal':>7}  extras"
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.3f}"
        goal = "-" if r["max_ratio"] is None else f"<={r['max_ratio']}"
        mark = "" if r["goal_met"] is not False else " MISSED"
        extras = ", ".join(f"{k}={_fmt_extra(v)}" for k, v in r["extras"].items())
        print(
            f"{r['suite'] + '/' + r['case']:48} {_fmt_s(r['seconds']):>10}"
            f" {_fmt_s(r['reference_seconds']):>10} {ratio:>8} {goal:>7}{mark}  {extras}"
        )


def _fmt_extra(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benches.run", description=__doc__.split("\n")[0])
    p.add_argument(
        "suites", nargs="*", help=f"suites to run (default all: {', '.join(suite_names())})"
    )
    p.add_argument("--size", choices=SIZES, default="small")
    p.add_argument("--json", type=Path, help="write results here")
    p.add_argument("--baseline", type=Path, help="compare ratios with this earlier --json output")
    p.add_argument("--save-baseline", type=Path, help="write results as the new baseline")
    p.add_argument(
        "--tolerance", type=float, default=0.25, help="allowed ratio growth (0.25 = 25%%)"
    )
    args = p.parse_args(argv)

    names = args.suites or suite_names()
    unknown = sorted(set(names) - set(suite_names()))
    if unknown:
        p.error(f"unknown suite(s) {', '.join(unknown)}; known: {', '.join(suite_names())}")
    rows: list[dict[str, Any]] = []
    for name in names:
        print(f"# {name} ({args.size})", file=sys.stderr)
        rows.extend(run_suite(name, args.size))
    print_table(rows)
    doc = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "results": rows,
    }
    for path in (args.json, args.save_baseline):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(doc, indent=2, default=str))
    problems = (
        compare(rows, json.loads(args.baseline.read_text()), args.tolerance)
        if args.baseline
        else []
    )
    problems += [] if args.baseline else compare(rows, {}, args.tolerance)
    for line in problems:
        print(f"regression: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
