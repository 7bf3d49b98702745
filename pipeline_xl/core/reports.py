"""The refresh's report: five sheets built from the engine, as one `Report` value.

`build_report` reads a validated `Model` and returns the sheets a refresh writes, in order.
Every sheet reads one state of the pipeline: the model as it stood on its as-of date
(`pipeline_xl.core.timeline.as_it_stood`); for a date before the workbook's latest record
that is a view of the past, and every sheet's subtitle says "As it stood on ...".

1. **Variance**: expected result (the calibrated forecast, `pipeline_xl.core.forecast`)
   against target and against the baseline forecast per period and owner (design notes,
   section 6, "Variance" and "Forecast accuracy");
2. **Activity plan**: the backward plan's activities against the Activities table for the
   current and the next period, and the dated plan still to do ("Backward plan");
3. **Forecast range**: Monte Carlo P10/P50/P90 and P(reaching target) ("Monte Carlo");
4. **Pipeline flow**: inflow of new prospects, work in progress and flow per stage
   ("Little's law"), movement since the previous snapshot, headline metrics ("Win rate",
   "Coverage", "Sales velocity") and the learned win odds with the counts behind them;
5. **Data issues**: every problem validation found, cell values kept as text.

It also records the prospects as a snapshot on ``as_of`` and returns the whole new change
log, which the writer puts back on the Snapshots sheet; a view of the past records
nothing (`Report.view`, an empty log). A block whose engine call raises an
`InputError` (no target for a period, no deal size to plan with, ...) becomes a note in its
place, so one missing input never stops the refresh. Nothing here reads the clock or global
randomness: ``as_of`` comes from the Settings and the Monte Carlo uses the generator given.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

import pandas as pd

from pipeline_xl.core import contract
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.forecast import forecast_table, period_range
from pipeline_xl.core.history import model_lead_times, rates_for
from pipeline_xl.core.model import Model
from pipeline_xl.core.periods import Period
from pipeline_xl.core.planning import Freq, dated_plan
from pipeline_xl.core.report_flow import (
    FLOW_WINDOW_DAYS,
    INFLOW_AHEAD,
    INFLOW_BACK,
    TOP_MOVES,
    flow_sheet,
)
from pipeline_xl.core.report_model import Block, ChartSpec, Column, ColumnKind, Report, ReportSheet
from pipeline_xl.core.report_parts import (
    TEAM_LABEL,
    Context,
    block,
    count_kind,
    guarded,
    note,
    owner_labels,
    source_text,
)
from pipeline_xl.core.snapshots import RECORDED_LOG, recorded_log
from pipeline_xl.core.timeline import as_it_stood, as_seen, is_past
from pipeline_xl.core.variance import activity_variance, forecast_accuracy, variance_table

__all__ = [
    "FLOW_WINDOW_DAYS",
    "FORECAST_PERIODS",
    "INFLOW_AHEAD",
    "INFLOW_BACK",
    "TEAM_LABEL",
    "TOP_MOVES",
    "build_report",
]

FORECAST_PERIODS = 6  # the current period and the next five
_FREQ_TEXT: dict[str, tuple[str, str]] = {"week": ("Weekly", "week"), "month": ("Monthly", "month")}

# Notes under the blocks: the definitions of design notes, section 6, in the user's words.
_EXPECTED_NOTE = (
    "Expected = won + weighted pipeline (each open deal's amount x its learned probability of "
    "being won inside the period) + new deals (revenue from deals not created yet, learned "
    "from the same months of history). Var. target = expected - target; positive is "
    "favourable (F)."
)
_BASELINE_NOTE = (
    "Baseline forecast: the same forecast made on the pipeline as it stood on the period's "
    "first day, with today's learned rates. Var. forecast = expected - baseline."
)
_ACCURACY_NOTE = (
    "Over closed periods with a baseline forecast (A = won, F = baseline): "
    "WAPE = sum |A - F| / sum A; bias = sum (F - A) / sum A (above 0: forecast too high). "
    "pipeline-xl backtest scores forecasts made with only what was known then."
)
_REQUIRED_NOTE = (
    "Required to date: the part of each activity's window (its lead time before the period) "
    "already past; variance to date = done - required to date."
)
_SLIP_NOTE = (
    "{trials:,} trials: each open deal is won in at most one period, with its learned "
    "probability for each ({timing}); the new-deal line is added to every trial."
)
_HIT_NOTE = "P(reach target) = share of trials whose won + simulated wins reach the target."


# --------------------------------------------------------------------------- blocks


# --------------------------------------------------------------------------- 1. variance

_VARIANCE_COLUMNS = (
    Column("period", "Period", "text"),
    Column("owner", "Owner", "text"),
    Column("state", "State", "text"),
    Column("target", "Target", "amount"),
    Column("won", "Won", "amount"),
    Column("weighted", "Weighted pipeline", "amount"),
    Column("new_deals", "New deals", "amount"),
    Column("expected", "Expected", "amount"),
    Column("baseline", "Baseline forecast", "amount"),
    Column("variance_target", "Var. target", "amount"),
    Column("variance_target_pct", "Var. target %", "pct"),
    Column("flag_target", "F/U", "flag"),
    Column("variance_forecast", "Var. forecast", "amount"),
    Column("variance_forecast_pct", "Var. forecast %", "pct"),
    Column("flag_forecast", "F/U", "flag"),
)
_TEAM_COLUMNS = (
    Column("period", "Period", "text"),
    Column("state", "State", "text"),
    Column("target", "Target", "amount"),
    Column("won", "Won", "amount"),
    Column("expected", "Expected", "amount"),
    Column("variance_target", "Var. target", "amount"),
    Column("variance_target_pct", "Var. target %", "pct"),
    Column("flag_target", "F/U", "flag"),
)
_ACCURACY_COLUMNS = (
    Column("owner", "Owner", "text"),
    Column("periods", "Closed periods", "int"),
    Column("actual", "Won", "amount"),
    Column("forecast", "Baseline forecast", "amount"),
    Column("wape", "WAPE", "pct"),
    Column("bias", "Bias", "pct"),
)


def _sorted_variance(table: pd.DataFrame) -> pd.DataFrame:
    """Rows by period start, the team first, then owners by name."""
    is_owner = (table["owner"] != "").to_numpy()
    ordered = table.assign(_owner_rank=is_owner).sort_values(
        ["start", "_owner_rank", "owner"], kind="stable"
    )
    return ordered.drop(columns="_owner_rank").reset_index(drop=True)


def _variance_sheet(ctx: Context) -> ReportSheet:
    model = ctx.model
    table = _sorted_variance(variance_table(model, forecast=ctx.forecast))
    team_forecast = ctx.forecast.loc[ctx.forecast["owner"] == ""]
    unplaced = int(team_forecast["unplaced"].iloc[0]) if len(team_forecast) else 0
    notes = [_EXPECTED_NOTE, _BASELINE_NOTE]
    if unplaced:
        notes.append(
            f"{unplaced} open deals have neither an expected close nor enough history to "
            "place them, and land in no period."
        )
    shown = table.assign(owner=owner_labels(table["owner"]))
    team = shown.loc[table["owner"] == ""]
    chart = ChartSpec(
        kind="column",
        title="Team: won and expected against target",
        categories="period",
        series=("won", "expected"),
        line_series=("target",),
        y_title=ctx.currency,
    )
    blocks = [
        block("By period and owner", shown, _VARIANCE_COLUMNS, notes=notes),
        block("Team by period", team, _TEAM_COLUMNS, charts=(chart,)),
        *guarded("Forecast accuracy", _ACCURACY_COLUMNS, lambda: [_accuracy_block(table)]),
    ]
    return ReportSheet(
        name=contract.VARIANCE,
        title="Variance against target and forecast",
        subtitle=ctx.subtitle(f"probabilities from {source_text(ctx.team_source)}"),
        blocks=tuple(blocks),
    )


def _accuracy_block(variance: pd.DataFrame) -> Block:
    title = "Forecast accuracy"
    accuracy = forecast_accuracy(variance)
    if accuracy.empty:
        return note(
            title,
            _ACCURACY_COLUMNS,
            "No closed period has a baseline forecast yet: a period is scored once it is "
            "over and the workbook shows its pipeline on its first day.",
        )
    notes = [_ACCURACY_NOTE]
    shown = accuracy.assign(owner=owner_labels(accuracy["owner"]))
    return block(title, shown, _ACCURACY_COLUMNS, notes=notes)


# --------------------------------------------------------------------------- 2. activity plan


def _team_per_bucket(variance: pd.DataFrame, plan_rows: pd.DataFrame) -> pd.Series:
    """Team "per bucket": remaining / team buckets left with work, where the engine left NaN."""
    team_rows = plan_rows.loc[(plan_rows["owner"] == "") & (plan_rows["required"] > 0)]
    buckets = team_rows.groupby("activity", sort=False).size()
    counts = variance["activity"].map(buckets).astype("float64")
    fill = variance["remaining"].astype("float64") / counts.where(counts > 0)
    is_team = variance["owner"] == ""
    return variance["per_bucket"].where(~is_team | variance["per_bucket"].notna(), fill)


def _activity_columns(freq: Freq, count_kind: ColumnKind = "int") -> tuple[Column, ...]:
    """Columns of the required-against-done blocks; done counts may be fractional."""
    return (
        Column("owner", "Owner", "text"),
        Column("activity", "Activity", "text"),
        Column("required", "Required", "int"),
        Column("required_to_date", "Required to date", "int"),
        Column("done_to_date", "Done to date", count_kind),
        Column("variance_to_date", "Variance to date", count_kind),
        Column("remaining", "Remaining", count_kind),
        Column("per_bucket", f"Per {_FREQ_TEXT[freq][1]}", "number"),
    )


def _activity_blocks(model: Model, period: Period, freq: Freq, currency: str) -> list[Block]:
    plan = dated_plan(model, period, None, freq)
    done = activity_variance(model, period, None, freq)
    done = done.assign(per_bucket=_team_per_bucket(done, plan.rows))
    label, unit = _FREQ_TEXT[freq]
    kind = count_kind(done["done_to_date"], done["variance_to_date"], done["remaining"])
    columns = _activity_columns(freq, kind)
    has_team = bool((done["owner"] == "").any())
    team = done.loc[done["owner"] == ""] if has_team else done
    owners = done.loc[done["owner"] != ""] if has_team else done.iloc[0:0]
    team_plan = plan.plans[0] if len(plan.plans) == 1 else None
    notes = [_REQUIRED_NOTE]
    if team_plan is not None:
        notes.append(
            f"Target {team_plan.target:,.0f} {currency}, won {team_plan.won:,.0f}, "
            f"expected pipeline and new deals {team_plan.expected_pipeline:,.0f}: gap "
            f"{team_plan.gap:,.0f} = {team_plan.deals} deals of {team_plan.avg_deal:,.0f}."
        )
    chart = ChartSpec(
        kind="bar",
        title=f"Team {period.label}: required vs done to date",
        categories="activity",
        series=("required_to_date", "done_to_date"),
    )
    blocks = [
        block(
            f"Required against done - {period.label}",
            team.assign(owner=owner_labels(team["owner"])),
            columns,
            charts=(chart,),
            notes=notes,
        )
    ]
    if len(owners):
        blocks.append(block(f"Required against done by owner - {period.label}", owners, columns))
    rows = plan.rows.loc[plan.rows["required"] > 0]
    lead = ", ".join(
        f"{activity} {days} days"
        for activity, days in zip(model.stages.activities, plan.lead_days, strict=True)
    )
    plan_notes = [*plan.warnings, f"Lead times before the period: {lead}."]
    if rows.empty:
        plan_notes.insert(0, f"Nothing left to schedule for {period.label}.")
    plan_columns = (
        Column("bucket_start", unit.capitalize(), "date"),
        Column("owner", "Owner", "text"),
        Column("activity", "Activity", "text"),
        Column("required", "Required", "int"),
    )
    blocks.append(
        block(
            f"{label} plan - {period.label}",
            rows.assign(owner=owner_labels(rows["owner"])),
            plan_columns,
            notes=plan_notes,
        )
    )
    return blocks


def _activity_sheet(ctx: Context, freq: Freq) -> ReportSheet:
    model = ctx.model
    blocks: list[Block] = []
    for period in (ctx.current, ctx.current.next()):
        blocks += guarded(
            f"Required against done - {period.label}",
            _activity_columns(freq),
            partial(_activity_blocks, model, period, freq, ctx.currency),
        )
    conversions = rates_for(model, "").source
    lead_source = model_lead_times(model)[1]
    return ReportSheet(
        name=contract.ACTIVITY_PLAN,
        title="Activity plan: required against done",
        subtitle=ctx.subtitle(
            f"conversions from {source_text(conversions)}",
            f"lead times from {source_text(lead_source)}",
            f"plan per {_FREQ_TEXT[freq][1]}",
        ),
        blocks=tuple(blocks),
    )


# --------------------------------------------------------------------------- 3. forecast range

_RANGE_COLUMNS = (
    Column("period", "Period", "text"),
    Column("target", "Target", "amount"),
    Column("won", "Won", "amount"),
    Column("new_deals", "New deals", "amount"),
    Column("p10", "P10", "amount"),
    Column("p50", "P50", "amount"),
    Column("p90", "P90", "amount"),
    Column("mean", "Mean", "amount"),
    Column("hit_probability", "P(reach target)", "pct"),
)
_OWNER_RANGE_COLUMNS = (
    Column("owner", "Owner", "text"),
    Column("target", "Target", "amount"),
    Column("p10", "P10", "amount"),
    Column("p50", "P50", "amount"),
    Column("p90", "P90", "amount"),
    Column("hit_probability", "P(hit)", "pct"),
)


def _forecast_sheet(ctx: Context, seed: int) -> ReportSheet:
    model = ctx.model
    trials = model.settings.mc_trials
    periods = [ctx.current.next(i) for i in range(FORECAST_PERIODS)]
    title = "Forecast range (Monte Carlo)"
    probabilities = f"probabilities from {source_text(ctx.team_source)}"
    try:
        # Each (period, owner) simulated alone with the Settings' seed: the very figures
        # the Dashboard's PIPE_FORECAST_RANGE and PIPE_HIT_PROBABILITY show.
        ranges = [period_range(model, p, trials=trials, seed=seed) for p in periods]
        per_owner = [
            period_range(model, ctx.current, owner, trials=trials, seed=seed)
            for owner in ctx.owners
        ]
    except InputError as err:
        return ReportSheet(
            name=contract.FORECAST_RANGE,
            title=title,
            subtitle=ctx.subtitle(probabilities),
            blocks=(note("Team range by period", _RANGE_COLUMNS, f"Not available: {err}"),),
        )
    team = ranges[0]
    team_table = pd.concat([r.table for r in ranges], ignore_index=True)
    notes = [_SLIP_NOTE.format(trials=team.trials, timing=team.timing), _HIT_NOTE]
    if team.timing.startswith("geometric"):
        slip_from = "the Settings sheet" if team.slip_source == "setting" else team.slip_source
        notes.append(
            f"Geometric slip: a win slips at least k periods with probability slip^k (slip "
            f"{team.slip:.1%}, from {slip_from})."
        )
    if team.unplaced:
        notes.append(f"{team.unplaced} open deals could not be placed in a period: not simulated.")
    chart = ChartSpec(
        kind="column",
        title="Team: simulated range against target",
        categories="period",
        series=("p10", "p50", "p90"),
        line_series=("target",),
        y_title=ctx.currency,
    )
    blocks = [block("Team range by period", team_table, _RANGE_COLUMNS, (chart,), notes)]
    if per_owner:
        owners = pd.concat([r.table.assign(owner=r.owner) for r in per_owner], ignore_index=True)
        blocks.append(block(f"By owner - {ctx.current.label}", owners, _OWNER_RANGE_COLUMNS))
    return ReportSheet(
        name=contract.FORECAST_RANGE,
        title=title,
        subtitle=ctx.subtitle(
            probabilities, "timing learned from history", f"{team.trials:,} trials"
        ),
        blocks=tuple(blocks),
    )


# --------------------------------------------------------------------------- 4. pipeline flow

# --------------------------------------------------------------------------- 5. data issues

_ISSUE_COLUMNS = (
    Column("sheet", "Sheet", "text"),
    Column("row", "Row", "int"),
    Column("column", "Column", "text"),
    Column("value", "Value", "text", 30.0),
    Column("problem", "Problem", "text", 60.0),
    Column("severity", "Severity", "text"),
)


def _issues_sheet(ctx: Context) -> ReportSheet:
    model = ctx.model
    issues = model.issues
    checked = sum(
        len(t) for t in (model.prospects, model.targets, model.activities, model.snapshots)
    )
    title = "Problems found"
    if issues.empty:
        found = note(title, _ISSUE_COLUMNS, f"No problems found in {checked:,} rows.")
        counts = "no problems"
    else:
        frame = issues.reindex(columns=[c.key for c in _ISSUE_COLUMNS])
        severity = frame["severity"].astype(object).fillna("").astype(str)
        errors, warnings = int((severity == "error").sum()), int((severity == "warning").sum())
        counts = f"{errors} errors (rows left out of every number) · {warnings} warnings (kept)"
        found = block(
            title,
            frame,
            _ISSUE_COLUMNS,
            notes=("Row is the row number as Excel shows it; Value is the cell as found.",),
        )
    return ReportSheet(
        name=contract.DATA_ISSUES,
        title=contract.DATA_ISSUES,
        subtitle=ctx.subtitle(f"{checked:,} rows checked", counts),
        blocks=(found,),
    )


# --------------------------------------------------------------------------- the report


def build_report(model: Model, *, seed: int | None = None, freq: Freq = "week") -> Report:
    """The five report sheets of `contract.REPORT_SHEETS` and the new Snapshots change log.

    ``seed`` seeds the Monte Carlo of each period and owner (default: the Settings' Monte
    Carlo seed, so a refresh repeats its numbers and matches the Dashboard's); trials come
    from the Settings. ``freq``
    is the bucket of the dated activity plan (``week`` or ``month``). Every sheet reads the
    model as it stood on ``as_of`` (`as_it_stood`). The change log is `record_snapshot` of
    the prospects on ``as_of`` (recording the same day again gives the same log); for an
    ``as_of`` before the workbook's latest record the report is a view (`Report.view`)
    and its change log is empty: nothing may be recorded in the past.

    Raises:
        InputError: ``freq`` is not ``week`` or ``month``, or ``as_of`` lies before
            everything the workbook has dated. Missing inputs for one block (a period
            without a target, no deal size, ...) become notes in that block's place.

    """
    if freq not in _FREQ_TEXT:
        raise InputError("unknown plan frequency", value=freq, expected="week or month")
    settings = model.settings
    as_of = settings.as_of.date() if isinstance(settings.as_of, datetime) else settings.as_of
    mc_seed = settings.mc_seed if seed is None else seed
    view = is_past(model, as_of)
    model = as_it_stood(model, as_of)
    log = recorded_log(model)
    history = as_seen(model, as_of)
    if history is not model and not (model.snapshots["snapshot_date"] > pd.Timestamp(as_of)).any():
        # Recording as_of over the earlier snapshots gives the same log: reuse it.
        RECORDED_LOG.known(history, log)
    model = history
    forecast = forecast_table(model)
    team = forecast.loc[forecast["owner"] == ""]
    ctx = Context(
        model=model,
        as_of=as_of,
        currency=settings.currency,
        current=settings.current_period,
        forecast=forecast,
        team_source=str(team["source"].iloc[0]) if len(team) else "",
        owners=tuple(sorted({str(o) for o in forecast["owner"] if o})),
        view=view,
    )
    sheets = (
        _variance_sheet(ctx),
        _activity_sheet(ctx, freq),
        _forecast_sheet(ctx, mc_seed),
        flow_sheet(ctx, log),
        _issues_sheet(ctx),
    )
    recorded = log.iloc[0:0] if view else log
    return Report(
        as_of=as_of, currency=settings.currency, sheets=sheets, snapshots=recorded, view=view
    )
