"""The argument parser and one handler per sub-command (parse, call a use case, print)."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Sequence
from datetime import date
from difflib import get_close_matches
from pathlib import Path

from pipeline_xl.cli.show import amount, pct, progress, say, table
from pipeline_xl.core.crm import PRESETS
from pipeline_xl.core.dates import parse_as_of
from pipeline_xl.core.display import counted
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.metrics import Metrics
from pipeline_xl.io.locking import DEFAULT_WAIT

__all__ = ["main", "parser"]

log = logging.getLogger("pipeline_xl")


def _today() -> date:
    return date.today()  # noqa: DTZ011 - the command line is where the clock is read


def _as_of(args: argparse.Namespace) -> date | None:
    return parse_as_of(getattr(args, "as_of", None))


# --------------------------------------------------------------------------- demo


def _demo(args: argparse.Namespace) -> int:
    from pipeline_xl.usecases.demo import run_demo  # noqa: PLC0415 - builds workbooks

    result = run_demo(
        args.out,
        as_of=_as_of(args) or _today(),
        prospects=args.prospects,
        seed=args.seed,
        screens=args.screens,
        replace=args.replace,
    )
    model = result.model
    say(f"{result.company}: {len(model.prospects):,} prospects, as of {result.as_of.isoformat()}\n")
    team = result.forecast.loc[result.forecast["owner"] == ""]
    current = model.settings.current_period.label
    rows = []
    for rec in team.to_dict("records"):
        target, expected = float(rec["target"]), float(rec["expected"])
        share = expected / target if target else math.nan
        rows.append((
            rec["period"], amount(target), amount(float(rec["won"])),
            amount(float(rec["weighted"])), amount(float(rec["new_deals"])), amount(expected),
            amount(expected - target), pct(share), "<- now" if rec["period"] == current else "",
        ))  # fmt: skip
    cur = model.settings.currency
    table(
        ["Period", f"Target {cur}", "Won", "From open deals", "New deals", "Forecast", "Variance",
         "% target", ""],
        rows,
        title="Calibrated forecast against target (team)",
        numeric=[False, True, True, True, True, True, True, True, False],
    )  # fmt: skip
    for item in result.plans:
        say()
        if item.plan is None:
            say(f"No plan for {item.period}: {item.problem}")
            continue
        plan = item.plan
        title = (
            f"Backward plan for {item.period} (team): target {amount(plan.target)}, "
            f"won {amount(plan.won)}, expected from open deals {amount(plan.expected_pipeline)}, "
            f"gap {amount(plan.gap)}, average deal {amount(plan.avg_deal)} "
            f"(rates from {plan.source})"
        )
        levels = [
            (level.activity or level.stage, pct(level.conversion), f"{level.count:,}")
            for level in plan.levels
        ]
        table(
            ["Activity", "Conversion", "Required"],
            levels,
            title=title,
            numeric=[False, True, True],
        )
        for warning in item.warnings:
            say(f"  ! {warning}")
    say("\nFiles:")
    for path in result.files:
        say(f"  {path.resolve()}")
    if result.workbook is not None and result.refresh is not None:
        say(f"  {result.workbook.resolve()}\n    {result.refresh.summary()}")
    if result.no_pictures is not None:
        say(f"  no pictures of the sheets: {result.no_pictures}")
    for picture in result.pictures:
        say(f"  {picture.resolve()}")
    return 0


# --------------------------------------------------------------------------- workbooks


def _new(args: argparse.Namespace) -> int:
    from pipeline_xl.usecases.new import new_workbook  # noqa: PLC0415 - builds workbooks

    written = new_workbook(
        Path(args.path),
        company=args.company or ("Acme Components" if args.sample else "Sales team"),
        sample=None if args.empty else args.sample,
        empty=args.empty,
        currency=args.currency,
        fiscal_start=args.fiscal_start,
        as_of=_as_of(args),
        today=_today(),
        lite=args.lite,
        replace=args.replace,
        wait=args.wait,
    )
    say(f"Workbook: {written.resolve()}")
    module = written.with_suffix(".py")
    if module.exists() and not args.lite:
        say(f"Module:   {module.resolve()} (keep it beside the workbook)")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    from pipeline_xl.usecases.refresh import refresh_file  # noqa: PLC0415 - reads workbooks

    result = refresh_file(
        Path(args.path),
        as_of=_as_of(args),
        today=_today(),
        keep_history=args.keep_history,
        wait=args.wait,
    )
    say(result.summary())
    for note in result.notes:
        say(f"  {note}")
    return 0


def _call(args: argparse.Namespace) -> int:
    from pipeline_xl.usecases.calls import add_call  # noqa: PLC0415 - writes workbooks

    result = add_call(
        Path(args.path), period=args.period, owner=args.owner or "", commit=args.commit,
        most_likely=args.most_likely, best_case=args.best_case, comment=args.comment or "",
        by=args.by or "", as_of=_as_of(args), today=_today(), wait=args.wait,
    )  # fmt: skip
    for line in result.lines():
        say(line)
    return 0


# --------------------------------------------------------------------------- CRM data


def _import(args: argparse.Namespace) -> int:
    from pipeline_xl.usecases.importing import import_export  # noqa: PLC0415 - reads files

    with progress() as bar:
        result = import_export(
            args.file,
            args.into,
            preset=args.preset,
            mapping=args.map,
            stage_map=args.stage_map,
            currency=args.currency,
            sheet=args.sheet,
            dry_run=args.dry_run,
            progress=bar,
            wait=args.wait,
        )
    for line in result.lines(dry_run=args.dry_run, preview=args.preview):
        say(line)
    return 0


def _metric_rows(m: Metrics, currency: str) -> list[tuple[str, str]]:
    def days(x: float) -> str:
        return "" if math.isnan(x) else f"{x:,.1f}"

    cover = (
        ""
        if math.isnan(m.coverage)
        else ("covered" if math.isinf(m.coverage) else f"{m.coverage:.2f}x")
    )
    return [
        ("Win rate (count)", f"{pct(m.win_rate)}  ({m.won_count:,} won, {m.lost_count:,} lost)"),
        ("Win rate (value)", pct(m.win_rate_value)),
        ("Won total", amount(m.won_amount, currency)),
        ("Average won deal", amount(m.avg_won_deal, currency)),
        ("Median cycle (days)", days(m.median_cycle_days)),
        ("P80 cycle (days)", days(m.p80_cycle_days)),
        ("Open pipeline", f"{amount(m.open_amount, currency)}  ({counted(m.open_count, 'deal')})"),
        (f"Coverage ({m.coverage_period})", cover),
        ("Velocity (per day)", amount(m.velocity, currency)),
        ("Stale open deals", f"{m.stale_count:,}"),
    ]


def _metrics(args: argparse.Namespace) -> int:
    from pipeline_xl.usecases.metrics import metrics_of  # noqa: PLC0415 - reads files

    result = metrics_of(
        args.source, preset=args.preset, mapping=args.map, as_of=_as_of(args), today=_today(),
        owner=args.owner or "", currency=args.currency,
    )  # fmt: skip
    if args.json:
        say(json.dumps(result.to_dict(), ensure_ascii=False, sort_keys=True))
        return 0
    for hint in result.hints:
        say(hint)
    m = result.metrics
    who = f"owner {m.owner}" if m.owner else "team"
    title = f"Metrics of {result.source.name} ({result.kind}), {who}, as of {m.as_of.isoformat()}"
    table(["Metric", "Value"], _metric_rows(m, result.currency), title=title)
    data = result.to_dict()
    errors, warnings = int(str(data["issues_errors"])), int(str(data["issues_warnings"]))
    say(f"Data issues: {counted(errors, 'error')} (rows left out), {counted(warnings, 'warning')}")
    for line in result.issue_lines():
        say(f"  {line}")
    if result.notes:
        say("Conversion of the export:")
    for note in result.notes:
        say(f"  {note}")
    return 0


_BACKTEST_HEADERS = {
    "weighted": "Weighted",
    "calibrated": "Calibrated",
    "monte_carlo_p50": "Monte Carlo P50",
    "previous": "Previous period",
    "mean_3": "Mean of 3",
}


def _backtest(args: argparse.Namespace) -> int:
    from pipeline_xl.usecases.backtest import backtest_of  # noqa: PLC0415 - reads files

    result = backtest_of(
        args.source, preset=args.preset, mapping=args.map, first=args.first, last=args.last,
        horizon=args.horizon, as_of=_as_of(args), today=_today(),
    )  # fmt: skip
    if args.json:
        say(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    test = result.backtest
    methods = list(_BACKTEST_HEADERS)
    rows = [
        (str(r["period"]), amount(float(r["actual"])), *(amount(float(r[m])) for m in methods))
        for r in test.periods.to_dict("records")
    ]
    ahead = "one period" if test.horizon == 1 else f"{test.horizon} periods"
    table(
        ["Period", "Won", *_BACKTEST_HEADERS.values()],
        rows,
        title=f"Backtest of {result.source.name} ({result.kind}), forecasts made {ahead} ahead",
        numeric=[False, True, *(True for _ in methods)],
    )
    say()
    scores = [
        (_BACKTEST_HEADERS[str(r["method"])], pct(float(r["wape"])), pct(float(r["bias"])))
        for r in test.summary.to_dict("records")
    ]
    table(["Method", "WAPE", "Bias"], scores, title="Accuracy", numeric=[False, True, True])
    say("WAPE = sum |won - forecast| / sum won; bias = sum (forecast - won) / sum won.")
    for note in result.notes:
        say(f"  {note}")
    return 0


def _rollup(args: argparse.Namespace) -> int:
    from pipeline_xl.usecases.rollup import rollup  # noqa: PLC0415 - builds workbooks

    with progress() as bar:
        result = rollup(
            args.out, args.workbooks, as_of=_as_of(args), company=args.company,
            refresh=not args.no_refresh, progress=bar, replace=args.replace, wait=args.wait,
        )  # fmt: skip
    for line in result.lines():
        say(line)
    return 0


# --------------------------------------------------------------------------- parser


def _replace_option(command: argparse.ArgumentParser, text: str) -> None:
    command.add_argument("--replace", action="store_true", help=text)


def _wait_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help="how long to wait for another command writing the same workbook "
        f"(default {DEFAULT_WAIT:g})",
    )


def _workbook_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="run the main job on built-in sample data")
    demo.add_argument("--out", default="build/demo", help="folder for the files written")
    demo.add_argument("--as-of", help="as-of date YYYY-MM-DD (default: today)")
    demo.add_argument("--prospects", type=int, default=1000, help="sample size")
    demo.add_argument("--seed", type=int, default=7, help="sample generator seed")
    demo.add_argument("--screens", help="folder for sheet pictures (default: OUT/screens)")
    _replace_option(demo, "replace the demo's files in OUT (each kept as NAME.bak)")
    demo.set_defaults(handler=_demo)

    new = sub.add_parser("new", help="create a ready workbook")
    new.add_argument("path", help="the workbook to create (.xlsm; .xlsx with --lite)")
    new.add_argument("--company", help="company name (default: Sales team, or the sample's)")
    size = new.add_mutually_exclusive_group()
    size.add_argument("--sample", type=int, metavar="N",
                      help="fill with the sample company's N prospects (e.g. 1000)")  # fmt: skip
    size.add_argument(
        "--empty", action="store_true", help="empty tables and default stages (the default)"
    )
    new.add_argument(
        "--currency", default="EUR", metavar="CODE", help="ISO 4217 currency code (default EUR)"
    )
    new.add_argument("--fiscal-start", type=int, default=1, metavar="MONTH",
                     help="fiscal-year start month, 1-12 (default 1)")  # fmt: skip
    new.add_argument("--lite", action="store_true", help="an xlwings Lite workbook (.xlsx)")
    new.add_argument("--as-of", help="as-of date YYYY-MM-DD (default: today)")
    _replace_option(new, "replace an existing workbook (kept as NAME.bak)")
    _wait_option(new)
    new.set_defaults(handler=_new)

    refresh = sub.add_parser("refresh", help="write the report sheets into a workbook")
    refresh.add_argument("path", help="the workbook to refresh")
    refresh.add_argument("--as-of", help="as-of date YYYY-MM-DD (default: the Settings sheet)")
    refresh.add_argument("--keep-history", action="store_true",
                         help="keep the previous report sheets under dated names")  # fmt: skip
    _wait_option(refresh)
    refresh.set_defaults(handler=_refresh)

    call = sub.add_parser(
        "call",
        help="add a forecast call (commit, most likely, best case) to a workbook",
        description="Append a forecast call to the Forecast calls table (tblCalls): one row "
        "per amount given. Calls are only ever added; the latest on or before a date is the "
        "call as of that date.",
    )
    call.add_argument("path", help="the workbook")
    call.add_argument("--period", required=True, help="the period called, e.g. 2026-Q1 or 2026-03")
    call.add_argument("--owner", help="the rep calling (default: the team, the manager's call)")
    call.add_argument("--commit", type=float, metavar="N", help="the commit amount")
    call.add_argument("--most-likely", type=float, metavar="N", help="the most likely amount")
    call.add_argument("--best-case", type=float, metavar="N", help="the best case amount")
    call.add_argument("--comment", help="a comment on the call")
    call.add_argument("--by", metavar="NAME", help="who makes the call (Submitted by)")
    call.add_argument("--as-of", help="the call's date YYYY-MM-DD (default: the Settings "
                      "as-of date, else today)")  # fmt: skip
    _wait_option(call)
    call.set_defaults(handler=_call)


def _data_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    presets = "|".join(PRESETS)
    imp = sub.add_parser(
        "import",
        help="import a CRM export (CSV or Excel) into a workbook's Prospects table",
        description="Upsert the deals of a CRM export into tblProspects by ID: new deals "
        "are added, changed deals updated, other columns and deals kept. Prints the "
        "column mapping used.",
    )
    imp.add_argument("file", help="the export: .csv, .txt, .xlsx, .xls ...")
    imp.add_argument("--into", required=True, metavar="WORKBOOK", help="the pipeline workbook")
    imp.add_argument("--preset", help=f"the CRM's standard export: {presets}")
    imp.add_argument(
        "--map",
        metavar="FIELD=COLUMN,...",
        help="explicit mapping, e.g. amount=Deal value,closed=Won on|Lost on",
    )
    imp.add_argument(
        "--stage-map",
        metavar="CRM=STAGE,...",
        help="rename CRM stages to workbook stages, e.g. Engaging=Qualified",
    )
    imp.add_argument(
        "--currency",
        metavar="CODE",
        help="ISO 4217 code of the export's amounts, e.g. USD (default: the preset's or "
        "the export's currency column); set on a workbook without deals",
    )
    imp.add_argument("--sheet", help="sheet of an Excel export (default: the first with deals)")
    imp.add_argument("--dry-run", action="store_true", help="show the changes, write nothing")
    imp.add_argument("--preview", type=int, default=5, help="changed deals to list (default 5)")
    _wait_option(imp)
    imp.set_defaults(handler=_import)

    met = sub.add_parser(
        "metrics",
        help="win rates, deal size, cycle, pipeline, coverage and velocity",
        description="Headline metrics of a workbook or of a CRM export file.",
    )
    met.add_argument("source", help="a pipeline workbook or a CRM export")
    met.add_argument("--preset", help=f"the export's CRM: {presets}")
    met.add_argument("--map", metavar="FIELD=COLUMN,...", help="explicit column mapping")
    met.add_argument(
        "--as-of",
        help="as-of date YYYY-MM-DD (default: the workbook's or the export's latest date)",
    )
    met.add_argument("--owner", help="one owner's metrics (default: the team)")
    met.add_argument(
        "--currency", metavar="CODE", help="ISO 4217 code of an export's amounts, e.g. USD"
    )
    met.add_argument("--json", action="store_true", help="print one JSON object")
    met.set_defaults(handler=_metrics)

    bt = sub.add_parser(
        "backtest",
        help="forecast past periods from the pipeline as it stood, and score every method",
        description="For each period, rebuild the pipeline as it stood when the forecast "
        "is made, forecast the period with every method (weighted, calibrated, Monte Carlo "
        "P50, previous period, mean of the last three) and score them against what was won "
        "(WAPE and bias).",
    )
    bt.add_argument("source", help="a pipeline workbook or a CRM export")
    bt.add_argument("--preset", help=f"the export's CRM: {presets}")
    bt.add_argument("--map", metavar="FIELD=COLUMN,...", help="explicit column mapping")
    bt.add_argument("--from", dest="first", metavar="PERIOD", help="first period (e.g. 2017-06)")
    bt.add_argument("--to", dest="last", metavar="PERIOD", help="last period (default: the "
                    "last closed one; --from defaults to twelve periods before it)")  # fmt: skip
    bt.add_argument("--horizon", type=int, default=1,
                    help="periods ahead the forecasts are made (default 1)")  # fmt: skip
    bt.add_argument("--as-of", help="as-of date YYYY-MM-DD (default: the workbook's or the "
                    "export's latest date)")  # fmt: skip
    bt.add_argument("--json", action="store_true", help="print one JSON object")
    bt.set_defaults(handler=_backtest)

    rol = sub.add_parser(
        "rollup",
        help="consolidate reps' workbooks into one team workbook",
        description="Stack several workbooks' deals, targets, activities and snapshots into "
        "one team workbook (.xlsm classic or .xlsx Lite, by suffix), then refresh it.",
    )
    rol.add_argument("out", help="the team workbook to write (.xlsm or .xlsx)")
    rol.add_argument("workbooks", nargs="+", help="the reps' workbooks")
    rol.add_argument("--as-of", help="as-of date YYYY-MM-DD (default: the latest of the inputs)")
    rol.add_argument("--company", default="Sales team", help="name shown on the Dashboard")
    rol.add_argument("--no-refresh", action="store_true", help="build without refreshing")
    _replace_option(rol, "replace an existing team workbook (kept as NAME.bak)")
    _wait_option(rol)
    rol.set_defaults(handler=_rollup)


def _unrecognized(command: argparse.ArgumentParser, extras: Sequence[str]) -> str:
    """``unrecognized arguments: --asof 2026-01-31 (did you mean --as-of?)``."""
    options = [o for a in command._actions for o in a.option_strings]
    meant = [
        match[0]
        for e in extras
        if e.startswith("-") and (match := get_close_matches(e.split("=")[0], options, 1, 0.6))
    ]
    hint = f" (did you mean {' / '.join(dict.fromkeys(meant))}?)" if meant else ""
    return f"unrecognized arguments: {' '.join(extras)}{hint}"


def parser() -> argparse.ArgumentParser:
    """The ``pipeline-xl`` argument parser."""
    top = argparse.ArgumentParser(
        prog="pipeline-xl", description="Sales-pipeline forecasts and plans for Excel."
    )
    top.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = top.add_subparsers(dest="command", required=True)
    _workbook_commands(sub)
    _data_commands(sub)
    return top


def _command(top: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of sub-command ``name``."""
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            found: argparse.ArgumentParser = action.choices[name]
            return found
    return top


_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a program stopped by a closed pipe returns


def _quiet_stdout() -> None:
    """Send what is still to be printed nowhere (the reader of a pipe went away)."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file behind stdout (tests): nothing to flush
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code.

    An unknown option is refused by its sub-command, with the sub-command's usage and
    the option meant (argparse alone shows the top-level usage). A problem the user can
    fix is one line on standard error (exit code 2); anything else is a short line too,
    with the traceback only in the log (``-v``). When the output goes to a pipe that is
    closed early (``| head -2``), the command ends quietly.
    """
    top = parser()
    args, extras = top.parse_known_args(argv)
    if extras:
        command = _command(top, str(getattr(args, "command", "")))
        command.error(_unrecognized(command, extras))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    try:
        code = int(args.handler(args))
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        return _BROKEN_PIPE
    except InputError as err:
        print(f"pipeline-xl: {err}", file=sys.stderr)
        return 2
    except Exception:
        log.exception("unexpected error")
        print("pipeline-xl: unexpected error (run with -v for details)", file=sys.stderr)
        return 1
    return code
