"""The main job on built-in sample data (``make demo``, ``pipeline-xl demo``).

Generates the sample company, validates it, forecasts every period against target and
plans the current and the next period backward; writes the forecast and the data issues
as CSV files, builds the sample workbook, refreshes it headlessly and, when LibreOffice
is installed, renders pictures of its sheets. Files already in the folder are replaced
only when told (``replace``), each kept as ``NAME.bak``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from pipeline_xl.core import contract
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.forecast import forecast_table
from pipeline_xl.core.model import Model
from pipeline_xl.core.planning import BackwardPlan, backward_plan, dated_plan
from pipeline_xl.core.sample import ONE_OF_EACH, generate
from pipeline_xl.core.schema import validate
from pipeline_xl.io import libreoffice
from pipeline_xl.io.locking import workbook_lock
from pipeline_xl.io.safety import atomic_write, check_replace
from pipeline_xl.usecases.new import prepare_target, write_workbook
from pipeline_xl.usecases.refresh import RefreshResult, refresh_file

__all__ = ["DemoResult", "PeriodPlan", "run_demo"]

COMPANY = "Acme Components"
WORKBOOK = "acme_pipeline.xlsm"


@dataclass(frozen=True)
class PeriodPlan:
    """The team's backward plan for one period, or why there is none."""

    period: str
    plan: BackwardPlan | None
    warnings: tuple[str, ...] = ()
    problem: str = ""


@dataclass
class DemoResult:
    """What the demo computed and wrote."""

    company: str
    as_of: date
    model: Model
    forecast: pd.DataFrame
    plans: list[PeriodPlan]
    files: list[Path] = field(default_factory=list)
    workbook: Path | None = None
    refresh: RefreshResult | None = None
    pictures: list[Path] = field(default_factory=list)
    no_pictures: str | None = None


def _plan(model: Model, label: str) -> PeriodPlan:
    try:
        plan = backward_plan(model, label)
    except InputError as err:
        return PeriodPlan(label, None, problem=str(err))
    warnings = tuple(dated_plan(model, label, owner="").warnings)
    return PeriodPlan(label, plan, warnings)


def run_demo(
    out: str | Path,
    *,
    as_of: date,
    prospects: int = 1000,
    seed: int = 7,
    screens: str | Path | None = None,
    replace: bool = False,
) -> DemoResult:
    """Run the demo into folder ``out`` (pictures into ``screens``, default ``out/screens``).

    Raises:
        InputError: a bad size or date, or a file of the demo already in ``out`` (without
            ``replace``).

    """
    folder = Path(out)
    names = ("forecast.csv", "data-issues.csv", WORKBOOK, Path(WORKBOOK).with_suffix(".py"))
    for name in names:
        check_replace(folder / name, replace=replace, command="pipeline-xl demo")
    sample = generate(prospects, as_of=as_of, seed=seed, company=COMPANY, messy=ONE_OF_EACH)
    tables = sample.tables
    model = validate(
        *(tables[t.sheet] for t in contract.DATA_TABLES),
        as_of=as_of,
    )
    forecast = forecast_table(model)
    current = model.settings.current_period
    result = DemoResult(
        sample.company,
        as_of,
        model,
        forecast,
        [_plan(model, p.label) for p in (current, current.next())],
    )
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in (("forecast.csv", forecast), ("data-issues.csv", model.issues)):
        text = frame.to_csv(index=False).encode("utf-8")
        atomic_write(folder / name, text, backup=True)
        result.files.append(folder / name)
    with workbook_lock(folder / WORKBOOK) as book:
        prepare_target(book, book, replace=replace, command="pipeline-xl demo", lite=False)
        result.workbook = write_workbook(
            book,
            tables,
            company=COMPANY,
            currency="EUR",
            fiscal_start=1,
            as_of=as_of,
            lite=False,
        )
        result.refresh = refresh_file(result.workbook, as_of=as_of, backup=False)
    result.no_pictures = libreoffice.missing_reason()
    if result.no_pictures is None:
        sheets = [contract.DASHBOARD, contract.PROSPECTS.sheet, *contract.REPORT_SHEETS]
        target = Path(screens) if screens is not None else folder / "screens"
        result.pictures = [Path(p) for p in libreoffice.render(result.workbook, target, sheets)]
    return result
