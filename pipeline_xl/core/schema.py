"""Validation: the workbook's raw tables in, the clean `Model` and an issues table out.

A raw table is what Excel hands over: a list of rows (the header row is found among the
first 10 rows, below any title rows) or a DataFrame whose columns are the headers.
Headers match ignoring case, spaces, accents, ``_`` and ``-`` and accept common CRM and
French synonyms (`match_headers`). Cells are read by `pipeline_xl.core.cells`.

Only structural problems raise `InputError`: a missing required column, an empty
Prospects or Stages table, a Stages table without an open or a Won stage, no as-of date,
a setting out of range. Everything else becomes a row of ``Model.issues`` (sheet, Excel
row, the user's column header, value, problem, severity). Severity "error" means the
row is left out of every number; "warning" means the row is kept as described.

Rules, all tables:

* blank rows (every recognised column empty) are skipped silently; columns that no
  header matches are ignored;
* a cell that cannot be read (text in a number column, an Excel error value such as
  ``#N/A``) is an error in a required column and a warning (cell left blank) elsewhere;
* text starting like a formula (``= + - @``) is kept as text, with a warning;
* owner names (every table), companies and sources: stray spaces are removed and
  spellings that differ only by case are unified to the most common spelling (ties go
  to the Title Case one, then to the first seen), with a warning on the changed cells.

Prospects (required columns ID, Stage, Amount):

* missing ID: warning, the deal is kept under the ID ``ROW-<row>``; a repeated ID is an
  error on every later occurrence;
* missing or unknown stage: error. Stage names match the Stages table; ``Closed won``,
  ``Gagné``, ``Signed`` ... and ``Closed lost``, ``Perdu`` ... are understood even when
  the table spells Won and Lost differently;
* a Status column: a won/lost status that disagrees with the stage wins (warning); an
  open status on a won/lost stage gives way to the stage (warning); a status word that
  is not understood is ignored (warning). Without a Status column the status comes from the stage;
* amount missing or unreadable: error; zero or negative: error, except a lost deal at
  zero (warning, kept: CRMs record lost deals at 0);
* probability override: 35 (0-100 scale) becomes 0.35 (warning); ``35%`` is read as
  0.35 directly (the sign says the scale, nothing is guessed); outside 0-1 after that:
  override dropped (warning);
* forecast category: Commit, Best case/Upside, Pipeline, Omitted (English or French);
  ``Closed`` is the category of closed deals and is left blank silently; anything else:
  warning, left blank;
* a header ``Close date`` is read as the expected close; won and lost deals without a
  Closed column value take it as their close date (one warning on the header row);
* won deal without a close date: the expected close is used (warning); neither: error.
  A lost deal without a close date takes its expected close too (warning);
* open deal without an expected close: warning (it cannot be placed in a period);
* closed before created: warning;
* ``reached_idx``: won deals reach the end (``n_open``); open deals their stage or the
  furthest stage column if further; lost deals the furthest stage column, else the open
  stage they were lost from when a Status column says lost, else -1 (unknown).

Stages (required Stage): a missing or repeated name is an error; a blank activity takes
the stage name; status comes from a Status column or from the name (Won, Closed won,
Gagné, Signed, Signé -> won; Lost, Closed lost, Perdu -> lost). Rates on a 0-100 scale
are divided by 100 (warning); rates outside 0-1 and negative days are dropped (warning).
A missing probability is c_k x p_(k+1) and a missing conversion p_k / p_(k+1), with
p_Won = 1 (README, Definitions: P(win | stage k) is the product of the conversions
from k to Won). Open stages keep their table order; Won and Lost follow.

Targets (required Period, Target): unreadable period, missing/unreadable or negative
target: error; a repeated period (the same months, however written) and owner: error
on later rows. A whole number from 1900
to 2200 in the Period column is a year (``2026``), not an Excel serial date. Blank owner =
the whole team. A negative or unreadable deals target is dropped (warning).

Activities (required Date, Type): missing date or type: error; count blank = 1; count
zero or negative: error. Types are matched to the Stages activities.

Snapshots (required Snapshot date, ID, Stage): missing date or ID, unknown stage, or a
repeated (snapshot date, ID): error. Status, amount and probability follow the Prospects
rules as warnings.

Forecast calls (required Period, Amount, Submitted on): unreadable or missing period,
missing or negative amount, missing date: error; an unknown call type: error; a blank
call type is read as Commit (warning; without a Call type column every row is a commit,
one warning on the header row). A negative manager adjustment is dropped (warning).
Repeated rows are allowed: calls are only ever added, and the latest one counts
(`pipeline_xl.core.calls`).

Settings: a Setting | Value table or a mapping. An unknown setting is a warning; a value
that cannot be read or is out of range raises `InputError` naming the setting. The
``as_of`` argument overrides the sheet.

Row numbers: a list of rows is numbered from Excel row 1 (or so that the found header
row is ``header_rows[sheet]`` when given); a DataFrame's data rows are numbered from
``header_rows[sheet] + 1`` (header row 1 by default). A problem with a whole column sits
on the header row. ``Model.issues.row`` is a nullable integer (``Int64``), empty only
for settings given as a mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from pipeline_xl.core import contract
from pipeline_xl.core.contract import ACTIVITIES, CALLS, PROSPECTS, SNAPSHOTS, STAGES, TARGETS
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import (
    Model,
    Settings,
    Stages,
    activities_frame,
    calls_frame,
    default_stages,
    snapshots_frame,
    targets_frame,
)
from pipeline_xl.core.validation.prospects import validate_prospects
from pipeline_xl.core.validation.reading import (
    ISSUE_COLUMNS,
    Issues,
    RawTable,
    match_headers,
    read_raw,
)
from pipeline_xl.core.validation.settings import read_settings
from pipeline_xl.core.validation.sheet import Sheet, canonical_spellings
from pipeline_xl.core.validation.stages import validate_stage_rows
from pipeline_xl.core.validation.tables import (
    validate_activities,
    validate_calls,
    validate_snapshots,
    validate_targets,
)

__all__ = [
    "ISSUE_COLUMNS",
    "RawTable",
    "match_headers",
    "read_settings_table",
    "validate",
    "validate_calls_table",
    "validate_stages",
    "without_targets",
]

_OWNER_UNIFIED = "owner spelling unified"  # the start of `unify`'s warning on owner cells


def _sheet(
    raw: RawTable | None,
    table: contract.Table,
    header_rows: Mapping[str, int] | None,
    issues: Issues,
) -> Sheet | None:
    if raw is None:
        return None
    found = read_raw(raw, table, header_rows)
    return None if found is None else Sheet(found, issues)


def validate_stages(
    stages: RawTable, header_rows: Mapping[str, int] | None = None
) -> tuple[Stages, pd.DataFrame]:
    """Validate the Stages table alone: the ordered stages and the issues found.

    Raises:
        InputError: the table is empty or has no open or Won stage.

    """
    issues = Issues()
    found = read_raw(stages, STAGES, header_rows)
    if found is None:
        raise InputError(
            "the Stages table is empty", sheet=STAGES.sheet, expected="one row per stage"
        )
    return validate_stage_rows(found, issues), issues.frame()


# Dates that say something already happened; an expected close may lie ahead.
_HAPPENED = (("created", "created"), ("closed", "closed"), ("last_activity", "last active"))


def _flag_later_dates(
    as_of: date, prospects: Sheet, activities: Sheet | None, snapshots: Sheet | None
) -> None:
    """Warn on each date of something that happened later than the as-of date.

    Such a date is a typo or a view of the past. The workbook's own record says which:
    when the Snapshots log reaches beyond the as-of, the refresh looks back on purpose and
    later dates are expected. Otherwise the row is flagged with its Excel row, and the
    as-of stays what it was (nothing moves "today"). The value still counts as dated.
    """
    if snapshots is not None and snapshots.has("snapshot_date"):
        logged = snapshots.date("snapshot_date")
        logged = logged[~np.isnat(logged)]
        if len(logged) and logged.max() > np.datetime64(as_of, "ns"):
            return
    limit = np.datetime64(as_of, "ns")
    shown = as_of.isoformat()
    checks = [(prospects, name, what) for name, what in _HAPPENED]
    if activities is not None:
        checks.append((activities, "date", "done"))
    for sheet, name, what in checks:
        if not sheet.has(name):
            continue
        later = sheet.present & (sheet.date(name) > limit)
        if later.any():
            sheet.flag(
                name,
                later,
                f"{what} after the as-of date {shown}: a typo? The figures are as of {shown}",
                "warning",
            )


def read_settings_table(
    settings: RawTable | Mapping[str, object] | None, *, as_of: date | str | None = None
) -> Settings:
    """The run settings of a Settings table alone (``as_of`` overrides its as-of date).

    Raises:
        InputError: no as-of date, or a setting that cannot be read or is out of range.

    """
    return read_settings(settings, as_of, None, Issues())


def validate_calls_table(
    calls: RawTable, settings: Settings, header_rows: Mapping[str, int] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate the Forecast calls table alone: the clean calls and the issues found.

    ``settings`` gives the fiscal calendar the periods are read with.

    Raises:
        InputError: the table lacks a required column.

    """
    issues = Issues()
    sheet = _sheet(calls, CALLS, header_rows, issues)
    if sheet is None:
        return calls_frame([], settings.fiscal_start_month), issues.frame()
    owners = canonical_spellings([(sheet.coded("owner"), sheet.present)])
    return validate_calls(sheet, settings, owners), issues.frame()


def validate(  # noqa: PLR0917 - the tables come in the workbook's sheet order
    prospects: RawTable,
    stages: RawTable | Stages | None = None,
    targets: RawTable | None = None,
    activities: RawTable | None = None,
    snapshots: RawTable | None = None,
    settings: RawTable | Mapping[str, object] | Settings | None = None,
    calls: RawTable | None = None,
    *,
    as_of: date | str | None = None,
    header_rows: Mapping[str, int] | None = None,
) -> Model:
    """Validate the workbook's raw tables into the clean `Model` plus its issues table.

    Missing optional tables give empty clean tables; a missing Stages table gives
    `default_stages`. A Prospects table with its header and no deal (a new workbook) is
    a model without deals. ``as_of`` overrides the Settings sheet's as-of date.


    The tables come in `contract.DATA_TABLES` order. Missing optional tables give empty
    clean tables; a missing Stages table gives
    `default_stages`. ``as_of`` overrides the Settings sheet's as-of date.
    ``header_rows`` maps a sheet name to the Excel row of its header (module docstring).

    Raises:
        InputError: a structural problem (missing required column, no header row in the
            Prospects table, an empty Stages table, no open or Won stage, no as-of date,
            a setting out of range).

    """
    issues = Issues()
    clean_settings = read_settings(settings, as_of, header_rows, issues)
    if stages is None:
        stage_model = default_stages()
    elif isinstance(stages, Stages):
        stage_model = stages
    else:
        found = read_raw(stages, STAGES, header_rows)
        if found is None:
            raise InputError(
                "the Stages table is empty", sheet=STAGES.sheet, expected="one row per stage"
            )
        stage_model = validate_stage_rows(found, issues)
    p_raw = read_raw(prospects, PROSPECTS, header_rows)
    if p_raw is None:
        raise InputError(
            "the Prospects table is empty", sheet=PROSPECTS.sheet, expected="a header row and deals"
        )
    p_sheet = Sheet(p_raw, issues)
    t_sheet = _sheet(targets, TARGETS, header_rows, issues)
    a_sheet = _sheet(activities, ACTIVITIES, header_rows, issues)
    s_sheet = _sheet(snapshots, SNAPSHOTS, header_rows, issues)
    c_sheet = _sheet(calls, CALLS, header_rows, issues)
    with_owner = [
        s for s in (p_sheet, t_sheet, a_sheet, s_sheet, c_sheet) if s is not None and s.has("owner")
    ]
    owners = canonical_spellings([(s.coded("owner"), s.present) for s in with_owner])
    _flag_later_dates(clean_settings.as_of, p_sheet, a_sheet, s_sheet)
    clean_prospects = validate_prospects(p_sheet, stage_model, owners)
    fiscal = clean_settings.fiscal_start_month
    clean_calls = (
        calls_frame([], fiscal)
        if c_sheet is None
        else validate_calls(c_sheet, clean_settings, owners)
    )
    return Model(
        prospects=clean_prospects,
        stages=stage_model,
        targets=(
            targets_frame([], fiscal)
            if t_sheet is None
            else validate_targets(t_sheet, clean_settings, owners)
        ),
        activities=(
            activities_frame([])
            if a_sheet is None
            else validate_activities(a_sheet, stage_model, owners)
        ),
        snapshots=(
            snapshots_frame([], stage_model)
            if s_sheet is None
            else validate_snapshots(s_sheet, stage_model, owners)
        ),
        settings=clean_settings,
        issues=issues.frame(),
        calls=clean_calls,
    )


def without_targets(model: Model) -> Model | None:
    """The model `validate` gives for the same tables without the Targets table, or None.

    The Targets table touches the other tables only through the owners' spellings (their
    most common spelling is counted over every table). When no owner cell needed
    unifying, no name has two spellings, so leaving the Targets table out changes no
    other cell: the model is this one with empty targets and without the Targets
    issues, keeping what was learned from it without reading the targets
    (`Model.derive`). Otherwise None (validate again to know).
    """
    issues = model.issues
    if len(issues):
        problems = issues["problem"].astype(str)
        if bool(problems.str.startswith(_OWNER_UNIFIED).any()):
            return None
        issues = issues.loc[issues["sheet"] != TARGETS.sheet].reset_index(drop=True)
    return model.derive(targets=targets_frame([], model.settings.fiscal_start_month), issues=issues)
