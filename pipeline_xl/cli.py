"""The ``pipeline-xl`` command line (an adapter: parse arguments, call the core, print).

The command line is where the clock is read: ``--as-of`` defaults to today.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from pipeline_xl.cli_data import register as register_data_commands
from pipeline_xl.errors import InputError
from pipeline_xl.forecast import forecast_table
from pipeline_xl.io.headless import RefreshResult, refresh_file
from pipeline_xl.model import Model
from pipeline_xl.planning import backward_plan, dated_plan
from pipeline_xl.sample import generate
from pipeline_xl.schema import validate
from pipeline_xl.textable import fmt_amount, fmt_pct, render_table

__all__ = ["main"]

log = logging.getLogger("pipeline_xl")
REPORT_SHEETS = ("Variance", "Activity plan", "Forecast range", "Pipeline flow", "Data issues")


def _as_of(text: str | None) -> date:
    if not text:
        return date.today()  # noqa: DTZ011 - the command line is the one place that reads the clock
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        msg = f"--as-of: {text!r} is not a date (expected YYYY-MM-DD)"
        raise InputError(msg) from err


def _forecast_text(model: Model, table: pd.DataFrame) -> str:
    team = table.loc[table["owner"] == ""]
    current = model.settings.current_period.label
    rows = []
    for rec in team.to_dict("records"):
        target, expected = float(rec["target"]), float(rec["expected"])
        rows.append((
            rec["period"], fmt_amount(target), fmt_amount(float(rec["won"])),
            fmt_amount(float(rec["weighted"])), fmt_amount(expected),
            fmt_amount(expected - target), fmt_pct(expected / target if target else float("nan")),
            "<- now" if rec["period"] == current else "",
        ))  # fmt: skip
    cur = model.settings.currency
    headers = ["Period", f"Target {cur}", "Won", "Weighted", "Expected", "Variance", "% target", ""]
    return render_table(headers, rows, title="Forecast against target (team)")


def _plan_text(model: Model, period_label: str) -> str:
    plan = backward_plan(model, period_label)
    rows = [
        (level.activity or level.stage, fmt_pct(level.conversion), f"{level.count:,}")
        for level in plan.levels
    ]
    title = (
        f"Backward plan for {period_label} (team): target {fmt_amount(plan.target)}, "
        f"won {fmt_amount(plan.won)}, expected pipeline {fmt_amount(plan.expected_pipeline)}, "
        f"gap {fmt_amount(plan.gap)}, average deal {fmt_amount(plan.avg_deal)} "
        f"(rates from {plan.source})"
    )
    text = render_table(["Activity", "Conversion", "Required"], rows, title=title)
    dated = dated_plan(model, period_label, owner="")
    if dated.warnings:
        text += "\n" + "\n".join(f"  ! {w}" for w in dated.warnings)
    return text


def _demo(args: argparse.Namespace) -> int:
    as_of = _as_of(args.as_of)
    sample = generate(args.prospects, as_of=as_of, seed=args.seed)
    tables = sample.tables
    model = validate(
        tables["Prospects"], tables["Stages"], tables["Targets"], tables["Activities"],
        tables["Snapshots"], tables["Settings"], as_of=as_of,
    )  # fmt: skip
    table = forecast_table(model)
    print(f"{sample.company}: {len(model.prospects):,} prospects, as of {as_of.isoformat()}\n")
    print(_forecast_text(model, table))
    current = model.settings.current_period
    for period in (current, current.next()):
        print()
        try:
            print(_plan_text(model, period.label))
        except InputError as err:
            print(f"No plan for {period.label}: {err}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "forecast.csv", index=False)
    model.issues.to_csv(out / "data-issues.csv", index=False)
    print(
        f"\nFiles:\n  {(out / 'forecast.csv').resolve()}\n  {(out / 'data-issues.csv').resolve()}"
    )
    _demo_workbook(args, as_of, out)
    return 0


def _new(args: argparse.Namespace) -> int:
    as_of = _as_of(args.as_of)
    sample = None if args.empty else args.sample
    path = Path(args.path)
    if args.lite:
        from pipeline_xl.lite import new_lite  # noqa: PLC0415 - only this command needs it

        written = new_lite(path, args.company, sample, args.empty, args.currency,
                           args.fiscal_start, as_of)  # fmt: skip
    else:
        from workbook_templates.builder import new_workbook  # noqa: PLC0415 - same

        written = new_workbook(path, args.company, sample, args.empty, args.currency,
                               args.fiscal_start, as_of)  # fmt: skip
    print(f"Workbook: {written.resolve()}")
    module = written.with_suffix(".py")
    if module.exists() and not args.lite:
        print(f"Module:   {module.resolve()} (keep it beside the workbook)")
    return 0


def _refresh_summary(result: RefreshResult) -> str:
    text = (
        f"refreshed {result.path} as of {result.as_of}: {', '.join(result.sheets)}; "
        f"{result.issues} data issues ({result.errors} rows left out); "
        f"{result.snapshot_rows_added} snapshot rows added"
    )
    if result.kept:
        text += f"; kept {', '.join(result.kept)}"
    if result.backup:
        text += f"; backup {result.backup}"
    return text


def _refresh(args: argparse.Namespace) -> int:
    as_of = _as_of(args.as_of) if args.as_of else None
    result = refresh_file(Path(args.path), as_of=as_of, keep_history=args.keep_history)
    print(_refresh_summary(result))
    return 0


def _demo_workbook(args: argparse.Namespace, as_of: date, out: Path) -> None:
    """Build the sample workbook, refresh it headlessly and picture its sheets."""
    from workbook_templates import libreoffice  # noqa: PLC0415
    from workbook_templates.builder import new_workbook  # noqa: PLC0415

    book = new_workbook(out / "acme_pipeline.xlsm", "Acme Components", args.prospects, False,
                        "EUR", 1, as_of)  # fmt: skip
    result = refresh_file(book, as_of=as_of)
    print(f"  {book.resolve()}\n    {_refresh_summary(result)}")
    reason = libreoffice.missing_reason()
    if reason is not None:
        print(f"  no pictures of the sheets: {reason}")
        return
    screens = Path(args.screens)
    sheets = ["Dashboard", "Prospects", *REPORT_SHEETS]
    pictures = libreoffice.render(book, screens, sheets)
    for picture in pictures:
        print(f"  {Path(picture).resolve()}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeline-xl", description="Sales-pipeline forecasts and plans for Excel."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the main job on built-in sample data")
    demo.add_argument("--out", default="build/demo", help="folder for the files written")
    demo.add_argument("--as-of", help="as-of date YYYY-MM-DD (default: today)")
    demo.add_argument("--prospects", type=int, default=1000, help="sample size")
    demo.add_argument("--seed", type=int, default=7, help="sample generator seed")
    demo.add_argument("--screens", default="build/screens", help="folder for sheet pictures")
    demo.set_defaults(handler=_demo)

    new = sub.add_parser("new", help="create a ready workbook")
    new.add_argument("path", help="the workbook to create (.xlsm; .xlsx with --lite)")
    new.add_argument("--company", default="Acme Components", help="company name")
    size = new.add_mutually_exclusive_group()
    size.add_argument("--sample", type=int, default=1000, metavar="N",
                      help="fill with N sample prospects (default 1000)")  # fmt: skip
    size.add_argument("--empty", action="store_true", help="one blank row, default stages")
    new.add_argument("--currency", default="EUR", help="currency code (default EUR)")
    new.add_argument("--fiscal-start", type=int, default=1, metavar="MONTH",
                     help="fiscal-year start month, 1-12 (default 1)")  # fmt: skip
    new.add_argument("--lite", action="store_true", help="an xlwings Lite workbook (.xlsx)")
    new.add_argument("--as-of", help="as-of date YYYY-MM-DD (default: today)")
    new.set_defaults(handler=_new)

    refresh = sub.add_parser("refresh", help="write the report sheets into a workbook")
    refresh.add_argument("path", help="the workbook to refresh")
    refresh.add_argument("--as-of", help="as-of date YYYY-MM-DD (default: the Settings sheet)")
    refresh.add_argument("--keep-history", action="store_true",
                         help="keep the previous report sheets under dated names")  # fmt: skip
    refresh.set_defaults(handler=_refresh)
    register_data_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return int(args.handler(args))
    except InputError as err:
        print(f"pipeline-xl: {err}", file=sys.stderr)
        return 2
    except Exception:
        log.exception("unexpected error")
        print("pipeline-xl: unexpected error (run with -v for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
