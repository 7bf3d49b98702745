"""The refresh's report: five sheets built from the engine, as one `Report` value.

`build_report` reads a validated `Model` and returns the sheets a refresh writes, in order:

1. **Variance**: expected result against target and against the baseline forecast per
   period and owner (design notes, section 6, "Variance" and "Forecast accuracy");
2. **Activity plan**: the backward plan's activities against the Activities table for the
   current and the next period, and the dated plan still to do ("Backward plan");
3. **Forecast range**: Monte Carlo P10/P50/P90 and P(reaching target) ("Monte Carlo");
4. **Pipeline flow**: inflow of new prospects, work in progress and flow per stage
   ("Little's law"), movement since the previous snapshot and headline metrics
   ("Win rate", "Coverage", "Sales velocity");
5. **Data issues**: every problem validation found, cell values kept as text.

It also records the prospects as a snapshot on ``as_of`` and returns the whole new change
log, which the writer puts back on the Snapshots sheet. A block whose engine call raises an
`InputError` (no target for a period, no deal size to plan with, ...) becomes a note in its
place, so one missing input never stops the refresh. Nothing here reads the clock or global
randomness: ``as_of`` comes from the Settings and the Monte Carlo uses the generator given.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

import numpy as np
import pandas as pd

from pipeline_xl.core import contract
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.forecast import forecast_table, simulate
from pipeline_xl.core.history import model_lead_times, rates_for
from pipeline_xl.core.metrics import Metrics, compute_metrics, stage_flow
from pipeline_xl.core.model import Model
from pipeline_xl.core.periods import Period
from pipeline_xl.core.planning import Freq, dated_plan, inflow
from pipeline_xl.core.report_model import Block, ChartSpec, Column, ColumnKind, Report, ReportSheet
from pipeline_xl.core.snapshots import (
    RECORDED_LOG,
    movement,
    movement_summary,
    recorded_log,
    snapshot_dates,
)
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

TEAM_LABEL = "Team"  # how the whole team (owner "") is shown in Owner columns
FORECAST_PERIODS = 6  # the current period and the next five
INFLOW_BACK = 6  # inflow: the last six periods, the current one included ...
INFLOW_AHEAD = 2  # ... and the next two
FLOW_WINDOW_DAYS = 90  # stage flow over the last 90 days
TOP_MOVES = 50  # moved deals listed

_SOURCE_TEXT = {"history": "history", "team history": "team history", "stages": "the Stages table"}
_FREQ_TEXT: dict[str, tuple[str, str]] = {"week": ("Weekly", "week"), "month": ("Monthly", "month")}

# Notes under the blocks: the definitions of design notes, section 6, in the user's words.
_EXPECTED_NOTE = (
    "Expected = won + weighted pipeline (open amount x win probability, deals landing in the "
    "period). Var. target = expected - target; positive is favourable (F)."
)
_BASELINE_NOTE = (
    "Baseline forecast: the expected result rebuilt from the last snapshot on or before the "
    "period's first day. Var. forecast = expected - baseline."
)
_ACCURACY_NOTE = (
    "Over closed periods with a baseline forecast (A = won, F = baseline): "
    "WAPE = sum |A - F| / sum A; bias = sum (F - A) / sum A (above 0: forecast too high)."
)
_REQUIRED_NOTE = (
    "Required to date: the part of each activity's window (its lead time before the period) "
    "already past; variance to date = done - required to date."
)
_SLIP_NOTE = (
    "{trials:,} trials: each open deal wins with its probability; a win slips at least k "
    "periods with probability slip^k (slip {slip:.1%}, from {source}: the share of deals seen "
    "still open after the period they were expected in)."
)
_HIT_NOTE = "P(reach target) = share of trials whose won + simulated wins reach the target."
_INFLOW_NOTE = (
    "Needed: first-stage count of the team's backward plan, spread over its window before each "
    "target period. Actual: prospects created in the period, by source."
)
_METRICS_NOTE = (
    "Win rate = won / (won + lost) closed deals (by value: their amounts). Coverage = open "
    "pipeline closing in the period / (target - won). Velocity = open deals x average won "
    "deal x win rate / median cycle days."
)


# --------------------------------------------------------------------------- blocks


def _is_blank(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return isinstance(value, float | np.floating) and math.isnan(value)


def _text(value: object) -> str:
    """A cell value as the text a user would recognise; blanks and NaN become ""."""
    if isinstance(value, str):
        return value
    if _is_blank(value):
        return ""
    if isinstance(value, bool | np.bool_):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, int | np.integer):
        text = str(int(value))
    elif isinstance(value, float | np.floating):
        number = float(value)
        text = str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    elif isinstance(value, datetime | np.datetime64):  # pandas Timestamps included
        stamp = pd.Timestamp(value)
        midnight = stamp == stamp.normalize()
        text = stamp.date().isoformat() if midnight else stamp.isoformat(sep=" ")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    return text


def _column_data(values: pd.Series, kind: ColumnKind) -> pd.Series:
    """One block column: text as ``str``, flags as "F"/"U"/None, the rest as they are."""
    if kind == "text":
        return pd.Series([_text(v) for v in values.tolist()], dtype=object)
    if kind == "flag":
        return pd.Series([v if v in ("F", "U") else None for v in values.tolist()], dtype=object)
    return pd.Series(values.to_numpy(), dtype=values.dtype)


def _block(
    title: str,
    frame: pd.DataFrame,
    columns: Sequence[Column],
    charts: Iterable[ChartSpec] = (),
    notes: Iterable[str] = (),
) -> Block:
    """A block over exactly ``columns``: a fresh 0-based frame with writer-ready values."""
    keys = [c.key for c in columns]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate column keys in block {title!r}: {keys}")
    data = {c.key: _column_data(frame[c.key], c.kind) for c in columns}
    return Block(
        title, pd.DataFrame(data, columns=keys), tuple(columns), tuple(charts), tuple(notes)
    )


def _note(title: str, columns: Sequence[Column], *notes: str) -> Block:
    """A block with its header but no rows, and notes saying why."""
    empty = pd.DataFrame({c.key: pd.Series([], dtype=object) for c in columns})
    return _block(title, empty, columns, notes=notes)


def _guarded(
    title: str, columns: Sequence[Column], build: Callable[[], list[Block]]
) -> list[Block]:
    """``build()``, or an empty block noting the user's error when an input is missing."""
    try:
        return build()
    except InputError as err:
        return [_note(title, columns, f"Not available: {err}")]


def _owner_labels(owners: pd.Series) -> pd.Series:
    """Owner names with the team (owner "") shown as `TEAM_LABEL`."""
    names = owners.astype(object).fillna("").astype(str)
    return names.where(names != "", TEAM_LABEL)


def _count_kind(*series: pd.Series) -> ColumnKind:
    """``int`` when every value is whole (or blank), else ``number``."""
    for values in series:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
        finite = numbers[np.isfinite(numbers)]
        if finite.size and not np.array_equal(finite, np.round(finite)):
            return "number"
    return "int"


def _source_text(source: str) -> str:
    parts = [p.strip() for p in source.split(",") if p.strip()]
    return ", ".join(_SOURCE_TEXT.get(p, p) for p in parts) or "the Stages table"


@dataclass(frozen=True)
class _Context:
    """What every sheet shares: the model, its as-of date, the forecast table, the owners."""

    model: Model
    as_of: date
    currency: str
    current: Period
    forecast: pd.DataFrame  # forecast_table(model), default periods
    team_source: str  # where the team's probabilities came from
    owners: tuple[str, ...]  # every owner of the forecast table, by name

    def subtitle(self, *parts: str) -> str:
        """``As of 2026-11-30 · EUR · <parts>``."""
        return " · ".join([f"As of {self.as_of.isoformat()}", self.currency, *parts])


# --------------------------------------------------------------------------- 1. variance

_VARIANCE_COLUMNS = (
    Column("period", "Period", "text"),
    Column("owner", "Owner", "text"),
    Column("state", "State", "text"),
    Column("target", "Target", "amount"),
    Column("won", "Won", "amount"),
    Column("weighted", "Weighted", "amount"),
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


def _variance_sheet(ctx: _Context) -> ReportSheet:
    model = ctx.model
    table = _sorted_variance(variance_table(model, forecast=ctx.forecast))
    team_forecast = ctx.forecast.loc[ctx.forecast["owner"] == ""]
    unplaced = int(team_forecast["unplaced"].iloc[0]) if len(team_forecast) else 0
    notes = [_EXPECTED_NOTE, _BASELINE_NOTE]
    if unplaced:
        notes.append(f"{unplaced} open deals have no expected close and land in no period.")
    shown = table.assign(owner=_owner_labels(table["owner"]))
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
        _block("By period and owner", shown, _VARIANCE_COLUMNS, notes=notes),
        _block("Team by period", team, _TEAM_COLUMNS, charts=(chart,)),
        *_guarded("Forecast accuracy", _ACCURACY_COLUMNS, lambda: [_accuracy_block(model, table)]),
    ]
    return ReportSheet(
        name=contract.VARIANCE,
        title="Variance against target and forecast",
        subtitle=ctx.subtitle(f"probabilities from {_source_text(ctx.team_source)}"),
        blocks=tuple(blocks),
    )


def _accuracy_block(model: Model, variance: pd.DataFrame) -> Block:
    title = "Forecast accuracy"
    if model.snapshots.empty:
        return _note(
            title,
            _ACCURACY_COLUMNS,
            "Forecast accuracy needs snapshots: each refresh records one on the Snapshots "
            "sheet, and a closed period is scored once a snapshot from before it began exists.",
        )
    accuracy = forecast_accuracy(variance)
    notes = [_ACCURACY_NOTE]
    if accuracy.empty:
        notes.append("No closed period has a baseline forecast yet.")
    shown = accuracy.assign(owner=_owner_labels(accuracy["owner"]))
    return _block(title, shown, _ACCURACY_COLUMNS, notes=notes)


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
    count_kind = _count_kind(done["done_to_date"], done["variance_to_date"], done["remaining"])
    columns = _activity_columns(freq, count_kind)
    has_team = bool((done["owner"] == "").any())
    team = done.loc[done["owner"] == ""] if has_team else done
    owners = done.loc[done["owner"] != ""] if has_team else done.iloc[0:0]
    team_plan = plan.plans[0] if len(plan.plans) == 1 else None
    notes = [_REQUIRED_NOTE]
    if team_plan is not None:
        notes.append(
            f"Target {team_plan.target:,.0f} {currency}, won {team_plan.won:,.0f}, "
            f"weighted pipeline {team_plan.expected_pipeline:,.0f}: gap "
            f"{team_plan.gap:,.0f} = {team_plan.deals} deals of {team_plan.avg_deal:,.0f}."
        )
    chart = ChartSpec(
        kind="bar",
        title=f"Team {period.label}: required vs done to date",
        categories="activity",
        series=("required_to_date", "done_to_date"),
    )
    blocks = [
        _block(
            f"Required against done - {period.label}",
            team.assign(owner=_owner_labels(team["owner"])),
            columns,
            charts=(chart,),
            notes=notes,
        )
    ]
    if len(owners):
        blocks.append(_block(f"Required against done by owner - {period.label}", owners, columns))
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
        _block(
            f"{label} plan - {period.label}",
            rows.assign(owner=_owner_labels(rows["owner"])),
            plan_columns,
            notes=plan_notes,
        )
    )
    return blocks


def _activity_sheet(ctx: _Context, freq: Freq) -> ReportSheet:
    model = ctx.model
    blocks: list[Block] = []
    for period in (ctx.current, ctx.current.next()):
        blocks += _guarded(
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
            f"conversions from {_source_text(conversions)}",
            f"lead times from {_source_text(lead_source)}",
            f"plan per {_FREQ_TEXT[freq][1]}",
        ),
        blocks=tuple(blocks),
    )


# --------------------------------------------------------------------------- 3. forecast range

_RANGE_COLUMNS = (
    Column("period", "Period", "text"),
    Column("target", "Target", "amount"),
    Column("won", "Won", "amount"),
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


def _forecast_sheet(ctx: _Context, rng: np.random.Generator) -> ReportSheet:
    model = ctx.model
    trials = model.settings.mc_trials
    periods = [ctx.current.next(i) for i in range(FORECAST_PERIODS)]
    title = "Forecast range (Monte Carlo)"
    probabilities = f"probabilities from {_source_text(ctx.team_source)}"
    try:
        team = simulate(model, rng, trials=trials, periods=periods)
        per_owner = [
            simulate(model, rng, trials=trials, periods=[ctx.current], owner=owner, slip=team.slip)
            for owner in ctx.owners
        ]
    except InputError as err:
        return ReportSheet(
            name=contract.FORECAST_RANGE,
            title=title,
            subtitle=ctx.subtitle(probabilities),
            blocks=(_note("Team range by period", _RANGE_COLUMNS, f"Not available: {err}"),),
        )
    slip_from = "the Settings sheet" if team.slip_source == "setting" else team.slip_source
    notes = [
        _SLIP_NOTE.format(trials=team.trials, slip=team.slip, source=slip_from),
        _HIT_NOTE,
    ]
    if team.unplaced:
        notes.append(f"{team.unplaced} open deals have no expected close and are not simulated.")
    chart = ChartSpec(
        kind="column",
        title="Team: simulated range against target",
        categories="period",
        series=("p10", "p50", "p90"),
        line_series=("target",),
        y_title=ctx.currency,
    )
    blocks = [_block("Team range by period", team.table, _RANGE_COLUMNS, (chart,), notes)]
    if per_owner:
        owners = pd.concat([r.table.assign(owner=r.owner) for r in per_owner], ignore_index=True)
        blocks.append(_block(f"By owner - {ctx.current.label}", owners, _OWNER_RANGE_COLUMNS))
    return ReportSheet(
        name=contract.FORECAST_RANGE,
        title=title,
        subtitle=ctx.subtitle(
            probabilities, f"slip {team.slip:.1%} from {slip_from}", f"{team.trials:,} trials"
        ),
        blocks=tuple(blocks),
    )


# --------------------------------------------------------------------------- 4. pipeline flow

_FLOW_COLUMNS = (
    Column("stage", "Stage", "text"),
    Column("wip", "WIP", "int"),
    Column("entered", "Entered", "int"),
    Column("exited", "Exited", "int"),
    Column("throughput", "Throughput/day", "number"),
    Column("avg_days_in_stage", "Avg days in stage", "number"),
    Column("littles_law_wip", "Little's-law WIP", "number"),
    Column("littles_law_ratio", "Ratio", "number"),
    Column("bottleneck", "Bottleneck", "text"),
)
_SUMMARY_COLUMNS = (
    Column("change", "Change", "text"),
    Column("count", "Deals", "int"),
    Column("amount", "Amount", "amount"),
    Column("amount_change", "Amount change", "amount"),
)
_MOVE_COLUMNS = (
    Column("id", "ID", "text"),
    Column("owner", "Owner", "text"),
    Column("change", "Change", "text"),
    Column("stage_before", "Stage before", "text"),
    Column("stage_after", "Stage after", "text"),
    Column("amount_before", "Amount before", "amount"),
    Column("amount_after", "Amount after", "amount"),
    Column("amount_change", "Amount change", "amount"),
)
_INFLOW_TITLE = "Inflow of new prospects by source"
_FLOW_TITLE = "Work in progress and flow per stage"
_MOVES_TITLE = "Movement since the previous snapshot"
_INFLOW_COLUMNS = (
    Column("period", "Period", "text"),
    Column("needed", "Needed", "int"),
    Column("actual", "Actual", "int"),
    Column("starved", "Starved", "text"),
)
_METRIC_COLUMNS = (Column("metric", "Metric", "text", 44.0), Column("value", "Value", "number"))


def _inflow_block(ctx: _Context) -> list[Block]:
    periods = [ctx.current.next(i) for i in range(1 - INFLOW_BACK, INFLOW_AHEAD + 1)]
    result = inflow(ctx.model, periods)
    rows = result.rows
    sources = [c for c in rows.columns if c not in {"period", "needed", "actual", "starved"}]
    frame = pd.DataFrame(
        {
            "period": rows["period"],
            "needed": rows["needed"],
            "actual": rows["actual"],
            **{f"source_{i}": rows[name] for i, name in enumerate(sources)},
            "starved": np.where(rows["starved"].to_numpy(dtype=bool), "starved", ""),
        }
    )
    columns = (
        *_INFLOW_COLUMNS[:3],
        *(Column(f"source_{i}", name, "int") for i, name in enumerate(sources)),
        _INFLOW_COLUMNS[3],
    )
    chart = ChartSpec(
        kind="column",
        title="New prospects: actual against needed",
        categories="period",
        series=("actual",),
        line_series=("needed",),
    )
    notes = [*result.warnings, _INFLOW_NOTE]
    return [_block(_INFLOW_TITLE, frame, columns, (chart,), notes)]


def _stage_block(model: Model) -> list[Block]:
    flow = stage_flow(model, FLOW_WINDOW_DAYS)
    frame = flow.assign(
        bottleneck=np.where(flow["bottleneck"].to_numpy(dtype=bool), "bottleneck", "")
    )
    notes = [str(flow.attrs.get("note", ""))] if flow.attrs.get("note") else []
    notes.append(
        f"Over the last {flow.attrs.get('window_days', FLOW_WINDOW_DAYS)} days. Little's law: "
        "average WIP = throughput x average days in stage; ratio = WIP / Little's-law WIP "
        "(above 1: deals pile up). Bottleneck: the lowest exited / entered."
    )
    chart = ChartSpec(
        kind="bar", title="Work in progress per stage", categories="stage", series=("wip",)
    )
    return [_block(_FLOW_TITLE, frame, _FLOW_COLUMNS, (chart,), notes)]


def _movement_blocks(ctx: _Context, log: pd.DataFrame) -> list[Block]:
    dates = snapshot_dates(log)
    if len(dates) < 2:
        return [
            _note(
                _MOVES_TITLE,
                _SUMMARY_COLUMNS,
                "Movement needs two snapshot dates; the change log starts with this one.",
            )
        ]
    start, end = dates[-2], dates[-1]
    settings = ctx.model.settings
    moves = movement(log, start, end, settings.granularity, settings.fiscal_start_month)
    summary = movement_summary(moves)
    summary = summary.assign(change=summary["change"].str.replace("_", " "))
    size = moves["amount_change"].abs().fillna(0.0)
    top = (
        moves.assign(_size=size, _amount=moves["amount_after"].fillna(0.0))
        .sort_values(["_size", "_amount", "id"], ascending=[False, False, True], kind="stable")
        .head(TOP_MOVES)
    )
    top = top.assign(change=top["change"].str.replace("_", " "))
    shown = f"the {len(top)} largest by amount change" if len(moves) > TOP_MOVES else "all"
    return [
        _block(
            f"Movement from {start.isoformat()} to {end.isoformat()}",
            summary,
            _SUMMARY_COLUMNS,
            notes=("Amount: after the move; amount change: after - before (new deals from 0).",),
        ),
        _block(
            "Moved deals",
            top,
            _MOVE_COLUMNS,
            notes=(f"{len(moves)} deals moved; {shown} shown.",),
        ),
    ]


def _metric_rows(metrics: Metrics, currency: str, stale_days: int) -> list[tuple[str, float]]:
    period = metrics.coverage_period
    return [
        ("Win rate by count (%)", 100.0 * metrics.win_rate),
        ("Win rate by value (%)", 100.0 * metrics.win_rate_value),
        ("Won deals", float(metrics.won_count)),
        ("Lost deals", float(metrics.lost_count)),
        (f"Average won deal ({currency})", metrics.avg_won_deal),
        ("Cycle time, median (days)", metrics.median_cycle_days),
        ("Cycle time, P80 (days)", metrics.p80_cycle_days),
        (f"Open pipeline ({currency})", metrics.open_amount),
        ("Open deals", float(metrics.open_count)),
        (f"Target {period} ({currency})", metrics.target),
        (f"Won in {period} ({currency})", metrics.won_in_period),
        (f"Open pipeline closing in {period} ({currency})", metrics.open_in_period),
        (f"Coverage {period} (x)", metrics.coverage),
        (f"Velocity ({currency} per day)", metrics.velocity),
        (f"Stale deals (idle over {stale_days} days)", float(metrics.stale_count)),
    ]


def _metrics_block(ctx: _Context) -> list[Block]:
    settings = ctx.model.settings
    metrics = compute_metrics(ctx.model)
    rows = _metric_rows(metrics, ctx.currency, settings.stale_days)
    frame = pd.DataFrame(
        {
            "metric": [name for name, _ in rows],
            "value": [value if math.isfinite(value) else math.nan for _, value in rows],
        }
    )
    notes = [_METRICS_NOTE]
    if math.isinf(metrics.coverage):
        notes.append(f"Coverage {metrics.coverage_period}: the target is already reached.")
    return [_block("Headline metrics", frame, _METRIC_COLUMNS, notes=notes)]


def _flow_sheet(ctx: _Context, log: pd.DataFrame) -> ReportSheet:
    model = ctx.model
    blocks = [
        *_guarded(_INFLOW_TITLE, _INFLOW_COLUMNS, partial(_inflow_block, ctx)),
        *_guarded(_FLOW_TITLE, _FLOW_COLUMNS, partial(_stage_block, model)),
        *_guarded(_MOVES_TITLE, _SUMMARY_COLUMNS, partial(_movement_blocks, ctx, log)),
        *_guarded("Headline metrics", _METRIC_COLUMNS, partial(_metrics_block, ctx)),
    ]
    conversions = rates_for(model, "").source
    return ReportSheet(
        name=contract.PIPELINE_FLOW,
        title="Pipeline flow, movement and health",
        subtitle=ctx.subtitle(
            f"conversions from {_source_text(conversions)}",
            f"flow over the last {FLOW_WINDOW_DAYS} days",
        ),
        blocks=tuple(blocks),
    )


# --------------------------------------------------------------------------- 5. data issues

_ISSUE_COLUMNS = (
    Column("sheet", "Sheet", "text"),
    Column("row", "Row", "int"),
    Column("column", "Column", "text"),
    Column("value", "Value", "text", 30.0),
    Column("problem", "Problem", "text", 60.0),
    Column("severity", "Severity", "text"),
)


def _issues_sheet(ctx: _Context) -> ReportSheet:
    model = ctx.model
    issues = model.issues
    checked = sum(
        len(t) for t in (model.prospects, model.targets, model.activities, model.snapshots)
    )
    title = "Problems found"
    if issues.empty:
        block = _note(title, _ISSUE_COLUMNS, f"No problems found in {checked:,} rows.")
        counts = "no problems"
    else:
        frame = issues.reindex(columns=[c.key for c in _ISSUE_COLUMNS])
        severity = frame["severity"].astype(object).fillna("").astype(str)
        errors, warnings = int((severity == "error").sum()), int((severity == "warning").sum())
        counts = f"{errors} errors (rows left out of every number) · {warnings} warnings (kept)"
        block = _block(
            title,
            frame,
            _ISSUE_COLUMNS,
            notes=("Row is the row number as Excel shows it; Value is the cell as found.",),
        )
    return ReportSheet(
        name=contract.DATA_ISSUES,
        title=contract.DATA_ISSUES,
        subtitle=ctx.subtitle(f"{checked:,} rows checked", counts),
        blocks=(block,),
    )


# --------------------------------------------------------------------------- the report


def _history_before(model: Model, as_of: date) -> Model:
    """The model with only the snapshots taken before ``as_of``.

    A snapshot on ``as_of`` is this refresh's own record (a second refresh on the same day
    finds the first one's): leaving it out of the analysis makes two refreshes one.
    """
    log = model.snapshots
    if log.empty or not (log["snapshot_date"] >= pd.Timestamp(as_of)).any():
        return model
    return dataclasses.replace(model, snapshots=log.loc[log["snapshot_date"] < pd.Timestamp(as_of)])


def build_report(
    model: Model, *, rng: np.random.Generator | None = None, freq: Freq = "week"
) -> Report:
    """The five report sheets of `contract.REPORT_SHEETS` and the new Snapshots change log.

    ``rng`` drives the Monte Carlo (default: a generator seeded with the Settings' Monte
    Carlo seed, so a refresh repeats its numbers); trials come from the Settings. ``freq``
    is the bucket of the dated activity plan (``week`` or ``month``). The change log is
    `record_snapshot` of the prospects on ``as_of``: recording the same day again gives
    the same log.

    Raises:
        InputError: ``freq`` is not ``week`` or ``month``. Missing inputs for one block
            (a period without a target, no deal size, ...) become notes in that block's
            place instead.

    """
    if freq not in _FREQ_TEXT:
        raise InputError("unknown plan frequency", value=freq, expected="week or month")
    settings = model.settings
    as_of = settings.as_of.date() if isinstance(settings.as_of, datetime) else settings.as_of
    generator = rng if rng is not None else np.random.default_rng(settings.mc_seed)
    log = recorded_log(model)
    history = _history_before(model, as_of)
    if history is not model and not (model.snapshots["snapshot_date"] > pd.Timestamp(as_of)).any():
        # Recording as_of over the earlier snapshots gives the same log: reuse it.
        RECORDED_LOG.known(history, log)
    model = history
    forecast = forecast_table(model)
    team = forecast.loc[forecast["owner"] == ""]
    ctx = _Context(
        model=model,
        as_of=as_of,
        currency=settings.currency,
        current=settings.current_period,
        forecast=forecast,
        team_source=str(team["source"].iloc[0]) if len(team) else "",
        owners=tuple(sorted({str(o) for o in forecast["owner"] if o})),
    )
    sheets = (
        _variance_sheet(ctx),
        _activity_sheet(ctx, freq),
        _forecast_sheet(ctx, generator),
        _flow_sheet(ctx, log),
        _issues_sheet(ctx),
    )
    return Report(as_of=as_of, currency=settings.currency, sheets=sheets, snapshots=log)
