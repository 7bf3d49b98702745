"""The Pipeline flow sheet: inflow, flow per stage, movement, headline metrics, win odds.

Definitions (design notes, section 6): Little's law for a stage, win rate, coverage and
sales velocity (`pipeline_xl.core.metrics`), stage conversion by cohort and P(win | stage)
(`pipeline_xl.core.history`). Every learned rate is shown with the counts behind it:
the closed deals that reached the stage and how many of them were won, and for an owner
the weight of the owner's own deals in the rate used (a beta prior centred on the team's
rate, `pipeline_xl.core.history.shrink`).
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd

from pipeline_xl.core import contract
from pipeline_xl.core.history import model_funnel_rates, rates_for
from pipeline_xl.core.metrics import Metrics, compute_metrics, stage_flow
from pipeline_xl.core.model import Model
from pipeline_xl.core.planning import inflow
from pipeline_xl.core.report_model import Block, ChartSpec, Column, ReportSheet
from pipeline_xl.core.report_parts import (
    TEAM_LABEL,
    Context,
    block,
    guarded,
    note,
    source_text,
)
from pipeline_xl.core.snapshots import movement, movement_summary, snapshot_dates

__all__ = ["FLOW_WINDOW_DAYS", "INFLOW_AHEAD", "INFLOW_BACK", "TOP_MOVES", "flow_sheet"]

INFLOW_BACK = 6  # inflow: the last six periods, the current one included ...
INFLOW_AHEAD = 2  # ... and the next two
FLOW_WINDOW_DAYS = 90  # stage flow over the last 90 days
TOP_MOVES = 50  # moved deals listed

_INFLOW_NOTE = (
    "Needed: first-stage count of the team's backward plan, spread over its window before each "
    "target period. Actual: prospects created in the period, by source."
)
_METRICS_NOTE = (
    "Win rate = won / (won + lost) closed deals (by value: their amounts). Coverage = open "
    "pipeline closing in the period / (target - won). Velocity = open deals x average won "
    "deal x win rate / median cycle days."
)


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


def _inflow_block(ctx: Context) -> list[Block]:
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
    return [block(_INFLOW_TITLE, frame, columns, (chart,), notes)]


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
    return [block(_FLOW_TITLE, frame, _FLOW_COLUMNS, (chart,), notes)]


def _movement_blocks(ctx: Context, log: pd.DataFrame) -> list[Block]:
    dates = snapshot_dates(log)
    if len(dates) < 2:
        return [
            note(
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
        block(
            f"Movement from {start.isoformat()} to {end.isoformat()}",
            summary,
            _SUMMARY_COLUMNS,
            notes=("Amount: after the move; amount change: after - before (new deals from 0).",),
        ),
        block(
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


def _metrics_block(ctx: Context) -> list[Block]:
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
    return [block("Headline metrics", frame, _METRIC_COLUMNS, notes=notes)]


_ODDS_TITLE = "Win odds per stage (learned)"
_ODDS_COLUMNS = (
    Column("owner", "Owner", "text"),
    Column("stage", "Stage", "text"),
    Column("reached", "Closed deals that reached it", "int"),
    Column("won", "Won", "int"),
    Column("own", "Own P(win)", "pct"),
    Column("used", "P(win) used", "pct"),
    Column("weight", "Weight of own deals", "pct"),
)


def _odds_block(ctx: Context) -> list[Block]:
    """P(win | stage) of the team and of every owner, with the counts behind each rate."""
    rates = model_funnel_rates(ctx.model)
    team = rates[""]
    rows = []
    for owner, mine in rates.items():
        if owner and owner not in ctx.owners:
            continue
        raw = mine.raw_win_probabilities or tuple(math.nan for _ in mine.stages)
        weights = mine.weights or tuple(math.nan for _ in mine.stages)
        for k, stage in enumerate(mine.stages):
            rows.append({
                "owner": owner or TEAM_LABEL, "stage": stage, "reached": mine.reached[k],
                "won": mine.won if mine.source == "history" else 0, "own": raw[k],
                "used": mine.win_probabilities[k], "weight": weights[k],
            })  # fmt: skip
    frame = pd.DataFrame(rows, columns=[c.key for c in _ODDS_COLUMNS])
    strength = ctx.model.settings.min_history
    notes = [
        (
            "P(win | stage) = won / closed deals that reached the stage (a won deal reached "
            "every stage). An owner's rate used = (won + m x team rate) / (reached + m) with "
            f"m = {strength} (Minimum history): a beta prior centred on the team's rate; the "
            "weight of the owner's own deals is reached / (reached + m)."
        )
    ]
    if team.source == "stages":
        notes.append(
            f"Fewer than {strength} closed deals: every rate is the Stages table's (no counts)."
        )
    return [block(_ODDS_TITLE, frame, _ODDS_COLUMNS, notes=notes)]


def flow_sheet(ctx: Context, log: pd.DataFrame) -> ReportSheet:
    """The Pipeline flow sheet; ``log`` is the change log with this refresh's snapshot."""
    model = ctx.model
    blocks = [
        *guarded(_INFLOW_TITLE, _INFLOW_COLUMNS, partial(_inflow_block, ctx)),
        *guarded(_FLOW_TITLE, _FLOW_COLUMNS, partial(_stage_block, model)),
        *guarded(_MOVES_TITLE, _SUMMARY_COLUMNS, partial(_movement_blocks, ctx, log)),
        *guarded("Headline metrics", _METRIC_COLUMNS, partial(_metrics_block, ctx)),
        *guarded(_ODDS_TITLE, _ODDS_COLUMNS, partial(_odds_block, ctx)),
    ]
    conversions = rates_for(model, "").source
    return ReportSheet(
        name=contract.PIPELINE_FLOW,
        title="Pipeline flow, movement and health",
        subtitle=ctx.subtitle(
            f"conversions from {source_text(conversions)}",
            f"flow over the last {FLOW_WINDOW_DAYS} days",
        ),
        blocks=tuple(blocks),
    )
