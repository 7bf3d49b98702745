"""A workbook's data tables as found, before validation: what every reader hands over.

The headless reader (python-calamine), the live reader (an xlwings ``Book``) and the
tests all produce a `RawWorkbook`; `RawWorkbook.validate` is the one read-and-validate
step that the refresh, the import, ``metrics`` and the rollup share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from pipeline_xl.core import contract
from pipeline_xl.core.cells import clean_text, parse_number
from pipeline_xl.core.contract import SETTINGS_TABLE, Table, norm_key
from pipeline_xl.core.dates import parse_date
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Model, Stages, default_stages
from pipeline_xl.core.schema import validate, validate_stages
from pipeline_xl.core.validation.reading import HEADER_SCAN

__all__ = ["RawWorkbook", "Rows", "settings_pairs"]

Rows = list[list[object]]
_SETTING_HEADERS = frozenset(map(norm_key, SETTINGS_TABLE.field("setting").headers))


@dataclass(frozen=True)
class RawWorkbook:
    """The workbook's tables as found, keyed by sheet name (``Prospects``, ...).

    ``tables`` hold rows, header first; ``header_rows`` the Excel row of each header;
    ``sources`` where each table came from (``tblProspects`` or ``sheet Prospects``);
    ``settings`` the Setting -> Value pairs of the Settings table; ``names`` the
    workbook-scoped names and their formulas (no leading ``=``).
    """

    name: str
    tables: Mapping[str, Rows]
    header_rows: Mapping[str, int] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    sheet_names: tuple[str, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)

    def table(self, which: Table | str) -> Rows | None:
        """Rows of a table (header first), or None when the workbook has none."""
        sheet = which.sheet if isinstance(which, Table) else contract.table(which).sheet
        return self.tables.get(sheet)

    @property
    def settings(self) -> dict[str, object]:
        """The Setting -> Value pairs of the Settings table."""
        return settings_pairs(self.table(SETTINGS_TABLE))

    def setting(self, key: str) -> object:
        """The value of setting ``key`` (``"as_of"``, ``"currency"`` ...) as found, or None."""
        for label, value in self.settings.items():
            found = contract.setting_named(label)
            if found is not None and found.key == key:
                return value
        return None

    @property
    def last_refresh(self) -> date | None:
        """The as-of date of the last build or refresh (`contract.REFRESH_AS_OF`), if any."""
        serial = parse_number(self.names.get(contract.REFRESH_AS_OF))
        return None if serial is None else parse_date(serial)

    def as_of(self, *, given: date | None = None, today: date | None = None) -> date | None:
        """The as-of date a command uses, the first known of these.

        ``given`` (``--as-of``), the Settings as-of date, the last refresh's, ``today``;
        None when none is known (validation then says so).
        """
        if given is not None:
            return given
        typed = self.setting("as_of")
        if typed not in (None, ""):
            return parse_date(typed)
        return self.last_refresh or today

    def require_prospects(self) -> Rows:
        """The Prospects rows.

        Raises:
            InputError: the workbook has no Prospects table.

        """
        rows = self.table(contract.PROSPECTS)
        if not rows:
            raise InputError(
                f"{self.name} has no Prospects table",
                sheet=contract.PROSPECTS.sheet,
                expected=f"a table named {contract.PROSPECTS.name} or a sheet named "
                f"{contract.PROSPECTS.sheet} (a workbook made by pipeline-xl new)",
            )
        return rows

    def validate(self, *, as_of: object = None) -> Model:
        """`pipeline_xl.core.schema.validate` on these tables (``as_of`` overrides Settings).

        Raises:
            InputError: no Prospects table, or a structural problem validation finds.

        """
        return validate(
            self.require_prospects(),
            self.table(contract.STAGES),
            self.table(contract.TARGETS),
            self.table(contract.ACTIVITIES),
            self.table(contract.SNAPSHOTS),
            self.table(SETTINGS_TABLE),
            self.table(contract.CALLS),
            as_of=as_of,  # type: ignore[arg-type]  # validate parses dates and text itself
            header_rows=self.header_rows,
        )

    def stages(self) -> Stages:
        """The validated Stages table, or the default process when there is none.

        Raises:
            InputError: the Stages table has no open or Won stage.

        """
        rows = self.table(contract.STAGES)
        if rows is None:
            return default_stages()
        return validate_stages(rows, self.header_rows)[0]


def settings_pairs(rows: Sequence[Sequence[object]] | None) -> dict[str, object]:
    """Setting -> Value pairs of a Settings table (the header row and blank names left out)."""
    if not rows:
        return {}
    start = 0
    for i, row in enumerate(rows[:HEADER_SCAN]):
        if row and norm_key(clean_text(row[0])) in _SETTING_HEADERS:
            start = i + 1
            break
    out: dict[str, object] = {}
    for row in rows[start:]:
        key = clean_text(row[0]) if row else ""
        if key:
            out[key] = row[1] if len(row) > 1 else None
    return out
