"""The workbook contract: every name the workbook, its readers and its writers agree on.

Declared once, here, and taken from here by validation, the workbook builder, the
headless and live refresh, the CRM import and the worksheet functions:

* sheet names: the data sheets, the Dashboard, ``xlwings.conf`` and the report sheets;
* tables: for each data table its sheet, its Excel table name (``tblProspects``) and
  its fields in the ready workbook's column order. A field has the header the ready
  workbook writes and the other headers accepted when reading (English, French, common
  CRM names);
* words: status words (won, lost, open), forecast categories, forecast call types,
  period granularities, each with the spellings understood in cells;
* settings: each setting's key, its label in the Settings table and its synonyms.

Matching ignores case, accents, spaces, ``_`` and ``-`` (`norm_key`), so "Date de
clôture", "date_de_cloture" and "DATE DE CLOTURE" are one header.

This module imports nothing but the standard library: it sits at the bottom of the core.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ACTIVITIES",
    "ACTIVITY_PLAN",
    "CALLS",
    "CALL_FORM",
    "CALL_FORM_FIELDS",
    "CALL_STATUS",
    "CALL_TYPE_LABELS",
    "CATEGORY_LABELS",
    "DASHBOARD",
    "DATA_ISSUES",
    "DATA_TABLES",
    "FORECAST_RANGE",
    "OWNERS",
    "PIPELINE_FLOW",
    "PROSPECTS",
    "REFRESH_AS_OF",
    "REPORT_MARK",
    "REPORT_SHEETS",
    "SETTINGS",
    "SETTINGS_TABLE",
    "SNAPSHOTS",
    "STAGES",
    "STATUS_LABELS",
    "TABLES",
    "TARGETS",
    "VARIANCE",
    "WORKBOOK_SHEETS",
    "XLWINGS_CONF",
    "Field",
    "FieldKind",
    "Setting",
    "SettingKind",
    "StatusWord",
    "Table",
    "call_type_word",
    "category_word",
    "granularity_word",
    "norm_key",
    "setting_named",
    "stage_status",
    "status_word",
    "table",
]


def norm_key(text: object) -> str:
    """Fold a header or a name for matching: no accents, case, spaces, ``_`` or ``-``."""
    folded = unicodedata.normalize("NFKD", str(text))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return "".join(ch for ch in folded.casefold() if ch.isalnum())


# --------------------------------------------------------------------------- tables

FieldKind = Literal["text", "number", "rate", "date", "raw"]
"""How validation reads a column: text, a number, a rate (0-1), a date, or raw cells."""


@dataclass(frozen=True, slots=True)
class Field:
    """One column of a data table.

    ``header`` is what the ready workbook writes; ``synonyms`` are the other headers
    accepted when reading. ``required``: validation refuses a table without it.
    """

    name: str
    kind: FieldKind
    header: str
    synonyms: tuple[str, ...] = ()
    required: bool = False

    @property
    def headers(self) -> tuple[str, ...]:
        """Every accepted header, the written one first."""
        return (self.header, *self.synonyms)


@dataclass(frozen=True, slots=True)
class Table:
    """A data table: its sheet, its Excel table name and its fields in column order."""

    key: str
    sheet: str
    name: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field:
        """The field called ``name`` (``"amount"``)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    def header(self, name: str) -> str:
        """The header the ready workbook writes for field ``name``."""
        return self.field(name).header

    @property
    def headers(self) -> tuple[str, ...]:
        """The written headers in column order."""
        return tuple(f.header for f in self.fields)

    @property
    def required(self) -> tuple[Field, ...]:
        """The fields validation cannot do without."""
        return tuple(f for f in self.fields if f.required)

    def ref(self, name: str) -> str:
        """Structured reference to field ``name``'s column: ``tblProspects[Amount]``."""
        return f"{self.name}[{self.header(name)}]"

    @property
    def all_ref(self) -> str:
        """Structured reference to the whole table with its header row."""
        return f"{self.name}[#All]"


_ID = ("Deal ID", "Opportunity ID", "Record ID", "Réf", "Ref", "Identifiant")
_OWNER = (
    "Rep", "Sales rep", "Sales agent", "Deal owner", "Opportunity owner",
    "Vendeur", "Commercial", "Responsable",
)  # fmt: skip
_STAGE = ("Deal stage", "Étape", "Phase", "Statut commercial")
_STATUS = ("Statut", "État")
_AMOUNT = ("Deal value", "Value", "Close value", "Montant", "Valeur", "CA")
_EXPECTED = (
    "Close date", "Expected close date", "Date de clôture", "Date de clôture prévue",
    "Clôture prévue",
)  # fmt: skip
_PROBABILITY = ("Probability (%)", "Probabilité", "Deal probability")

PROSPECTS = Table(
    "prospects",
    "Prospects",
    "tblProspects",
    (
        Field("id", "text", "ID", _ID, required=True),
        Field("name", "text", "Name", ("Deal name", "Opportunity name", "Nom", "Affaire")),
        Field(
            "company",
            "text",
            "Company",
            ("Account", "Account name", "Organization", "Client", "Société", "Entreprise"),
        ),
        Field("owner", "text", "Owner", _OWNER),
        Field("source", "text", "Source", ("Lead source", "Origine", "Canal")),
        Field("stage", "text", "Stage", _STAGE, required=True),
        Field("amount", "number", "Amount", _AMOUNT, required=True),
        Field("expected_close", "date", "Expected close", _EXPECTED),
        Field("probability", "rate", "Probability", _PROBABILITY),
        Field(
            "category",
            "text",
            "Category",
            ("Forecast category", "Catégorie", "Catégorie de prévision"),
        ),
        Field("status", "text", "Status", _STATUS),
        Field(
            "created",
            "date",
            "Created",
            ("Create date", "Created date", "Date de création", "Engage date"),
        ),
        Field(
            "closed",
            "date",
            "Closed",
            ("Closed date", "Actual close date", "Date de signature", "Date de clôture réelle"),
        ),
        Field(
            "last_activity", "date", "Last activity", ("Last activity date", "Dernière activité")
        ),
        Field(
            "reached",
            "text",
            "Stage reached",
            ("Furthest stage", "Lost at stage", "Étape atteinte"),
        ),
    ),
)
STAGES = Table(
    "stages",
    "Stages",
    "tblStages",
    (
        Field("stage", "text", "Stage", ("Stage name", "Étape", "Phase"), required=True),
        Field("activity", "text", "Activity", ("Action", "Activité")),
        Field("probability", "rate", "Probability", ("Default probability", "Probabilité")),
        Field("conversion", "rate", "Conversion", ("Conversion rate", "Taux de conversion")),
        Field("days_to_close", "number", "Days to close", ("Typical days", "Délai")),
        Field("status", "text", "Status", _STATUS),
    ),
)
TARGETS = Table(
    "targets",
    "Targets",
    "tblTargets",
    (
        Field(
            "period",
            "raw",
            "Period",
            ("Période", "Month", "Quarter", "Mois", "Trimestre"),
            required=True,
        ),
        Field("owner", "text", "Owner", _OWNER),
        Field(
            "revenue",
            "number",
            "Revenue target",
            ("Target", "Quota", "Objectif", "Objectif CA", "Revenue"),
            required=True,
        ),
        Field("deals", "number", "Deals target", ("Objectif affaires",)),
    ),
)
ACTIVITIES = Table(
    "activities",
    "Activities",
    "tblActivities",
    (
        Field("date", "date", "Date", ("Activity date", "Date d'activité"), required=True),
        Field("owner", "text", "Owner", _OWNER),
        Field(
            "type",
            "text",
            "Activity",
            ("Type", "Activity type", "Action", "Activité"),
            required=True,
        ),
        Field("prospect_id", "text", "Prospect ID", ("Deal ID", "ID", "Opportunity ID")),
        Field("count", "number", "Count", ("Number", "Nombre", "Qty", "Quantity")),
    ),
)
SNAPSHOTS = Table(
    "snapshots",
    "Snapshots",
    "tblSnapshots",
    (
        Field(
            "snapshot_date",
            "date",
            "Snapshot date",
            ("Snapshot", "As of", "Date du relevé"),
            required=True,
        ),
        Field("id", "text", "ID", _ID, required=True),
        Field("owner", "text", "Owner", _OWNER),
        Field("stage", "text", "Stage", _STAGE, required=True),
        Field("status", "text", "Status", _STATUS),
        Field("amount", "number", "Amount", _AMOUNT),
        Field("expected_close", "date", "Expected close", _EXPECTED),
        Field("probability", "rate", "Probability", _PROBABILITY),
    ),
)
SETTINGS_TABLE = Table(
    "settings",
    "Settings",
    "tblSettings",
    (
        Field(
            "setting",
            "text",
            "Setting",
            ("Settings", "Parameter", "Paramètre", "Name", "Key", "Clé"),
            required=True,
        ),
        Field("value", "raw", "Value", ("Valeur",)),
    ),
)
CALLS = Table(
    "calls",
    "Forecast calls",
    "tblCalls",
    (
        Field(
            "period",
            "raw",
            "Period",
            ("Période", "Month", "Quarter", "Mois", "Trimestre"),
            required=True,
        ),
        Field("owner", "text", "Owner", _OWNER),
        Field("type", "text", "Call type", ("Type", "Forecast type", "Type de prévision")),
        Field("amount", "number", "Amount", ("Call amount", "Forecast", "Montant"), required=True),
        Field(
            "submitted_on",
            "date",
            "Submitted on",
            ("Submitted", "Date", "Call date", "Soumis le", "Date de soumission"),
            required=True,
        ),
        Field("submitted_by", "text", "Submitted by", ("By", "Author", "Soumis par", "Auteur")),
        Field(
            "adjustment",
            "number",
            "Manager adjustment",
            ("Adjustment", "Adjusted amount", "Manager override", "Ajustement"),
        ),
        Field("comment", "text", "Comment", ("Comments", "Note", "Notes", "Commentaire")),
    ),
)
"""Forecast calls: what each rep (or, with a blank owner, the team's manager) commits to
for a period, one row per call and type. Rows are only ever added; the latest call on
or before a date is the call as of that date (`pipeline_xl.core.calls`)."""
OWNERS = Table("owners", "Settings", "tblOwners", (Field("owner", "text", "Owner", _OWNER),))
"""The sales team's names (Settings sheet, beside the settings); feeds the drop-downs."""

DATA_TABLES: tuple[Table, ...] = (
    PROSPECTS,
    STAGES,
    TARGETS,
    ACTIVITIES,
    SNAPSHOTS,
    SETTINGS_TABLE,
    CALLS,
)
"""The tables a refresh reads, in the order `pipeline_xl.core.schema.validate` takes them."""
TABLES: tuple[Table, ...] = (*DATA_TABLES, OWNERS)

_TABLE_INDEX = {
    norm_key(key): t for t in TABLES if t is not OWNERS for key in (t.key, t.sheet, t.name)
} | {norm_key(OWNERS.name): OWNERS}


def table(name: str) -> Table:
    """A table by key, sheet or Excel table name (``"prospects"``, ``"tblStages"``)."""
    found = _TABLE_INDEX.get(norm_key(name))
    if found is None:
        known = ", ".join(t.key for t in DATA_TABLES)
        raise ValueError(f"unknown table {name!r}; expected one of {known}")
    return found


# --------------------------------------------------------------------------- sheets

DASHBOARD = "Dashboard"
XLWINGS_CONF = "xlwings.conf"
WORKBOOK_SHEETS: tuple[str, ...] = (
    DASHBOARD,
    PROSPECTS.sheet,
    STAGES.sheet,
    TARGETS.sheet,
    ACTIVITIES.sheet,
    SETTINGS_TABLE.sheet,
    SNAPSHOTS.sheet,
    CALLS.sheet,
    XLWINGS_CONF,
)
"""Sheet order of the ready workbook (the Lite variant leaves out ``xlwings.conf``)."""

REFRESH_AS_OF = "RefreshAsOf"
"""The workbook name holding the as-of date of the last build or refresh (a constant):
the Dashboard's ``AsOfDate`` falls back on it when the Settings as-of date is blank."""

CALL_FORM = "CallForm"
"""The workbook name over the Dashboard's forecast-call form: one input cell per
`CALL_FORM_FIELDS`, in that order, read by the Add call button and script."""
CALL_FORM_FIELDS: tuple[str, ...] = (
    "period", "owner", "commit", "most_likely", "best_case", "comment", "by",
)  # fmt: skip
"""The call form's inputs: period, owner, the three call types' amounts, a comment and
who calls (``by``)."""
CALL_STATUS = "CallStatus"
"""The workbook name of the cell where the Add call button says what it did."""

VARIANCE = "Variance"
ACTIVITY_PLAN = "Activity plan"
FORECAST_RANGE = "Forecast range"
PIPELINE_FLOW = "Pipeline flow"
DATA_ISSUES = "Data issues"
REPORT_SHEETS: tuple[str, ...] = (
    VARIANCE,
    ACTIVITY_PLAN,
    FORECAST_RANGE,
    PIPELINE_FLOW,
    DATA_ISSUES,
)
"""The sheets a refresh writes, in order."""

REPORT_MARK = "pipeline_xl.report"
"""The hidden sheet-scoped workbook name that marks a report sheet the tool created.

Its value is the report's name (``"Variance"``), or ``kept:`` and the name for a report
kept under a dated name. A sheet without it is the user's and is never written over.
"""


# --------------------------------------------------------------------------- words

StatusWord = Literal["open", "won", "lost"]

_STATUS_WORDS: dict[StatusWord, tuple[str, ...]] = {
    "won": ("Won", "Closed won", "Gagné", "Gagnée", "Signed", "Signé", "Signée", "Win"),
    "lost": ("Lost", "Closed lost", "Perdu", "Perdue", "Lose", "Abandonné"),
    "open": ("Open", "Opened", "Ouvert", "Ouverte", "En cours", "Active", "In progress"),
}
_STATUS_INDEX = {norm_key(w): s for s, words in _STATUS_WORDS.items() for w in words}
STATUS_LABELS: dict[StatusWord, str] = {"open": "Open", "won": "Won", "lost": "Lost"}
"""How a status is written in a cell (Status columns, the Snapshots log)."""


def status_word(text: object) -> StatusWord | None:
    """Open / won / lost from a status cell or a stage name; None when not a status word."""
    return _STATUS_INDEX.get(norm_key(text)) if text is not None else None


def stage_status(name: object, status: object = None) -> StatusWord:
    """A stage's status: the Status cell when it names one, else what the name says.

    A stage called Won, Gagné, Signée ... is won; Lost, Perdu ... is lost; any other
    name is an open stage.
    """
    word = status_word(status)
    if word is not None:
        return word
    named = status_word(name)
    return named if named in ("won", "lost") else "open"


_CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "commit": ("Commit", "Committed", "Engagé", "Engagement"),
    "best_case": ("Best case", "Best_case", "Upside", "Meilleur cas", "Potentiel"),
    "pipeline": ("Pipeline", "Pipe"),
    "omitted": ("Omitted", "Omit", "Exclu", "Omis"),
    "": ("Closed",),  # the category CRMs give closed deals: no forecast category
}
_CATEGORY_INDEX = {norm_key(w): c for c, words in _CATEGORY_WORDS.items() for w in words}
CATEGORY_LABELS: dict[str, str] = {
    "commit": "Commit",
    "best_case": "Best case",
    "pipeline": "Pipeline",
    "omitted": "Omitted",
}
"""Forecast categories as the drop-down offers them."""


def category_word(text: object) -> str | None:
    """Commit / best_case / pipeline / omitted ("" for Closed); None when not understood."""
    return _CATEGORY_INDEX.get(norm_key(text)) if text is not None else None


_CALL_TYPE_WORDS: dict[str, tuple[str, ...]] = {
    "commit": ("Commit", "Committed", "Engagé", "Engagement"),
    "most_likely": ("Most likely", "Most_likely", "Likely", "ML", "Probable", "Le plus probable"),
    "best_case": ("Best case", "Best_case", "Upside", "Meilleur cas", "Potentiel"),
}
_CALL_TYPE_INDEX = {norm_key(w): c for c, words in _CALL_TYPE_WORDS.items() for w in words}
CALL_TYPE_LABELS: dict[str, str] = {
    "commit": "Commit",
    "most_likely": "Most likely",
    "best_case": "Best case",
}
"""Forecast call types as the drop-down offers them (a commit is the firm number, most
likely the expected one, best case the upside)."""


def call_type_word(text: object) -> str | None:
    """Commit / most_likely / best_case from a Call type cell; None when not understood."""
    return _CALL_TYPE_INDEX.get(norm_key(text)) if text is not None else None


_GRANULARITY_WORDS: dict[str, tuple[str, ...]] = {
    "month": ("Month", "M", "months", "monthly", "mois", "mensuel", "mensuelle"),
    "quarter": ("Quarter", "Q", "T", "quarters", "quarterly", "trimestre", "trimestriel"),
}
_GRANULARITY_INDEX = {norm_key(w): g for g, words in _GRANULARITY_WORDS.items() for w in words}


def granularity_word(text: object) -> Literal["month", "quarter"] | None:
    """Month / quarter from a Period granularity cell; None when not understood."""
    found = _GRANULARITY_INDEX.get(norm_key(text)) if text is not None else None
    return "month" if found == "month" else "quarter" if found == "quarter" else None


# --------------------------------------------------------------------------- settings

SettingKind = Literal["date", "int", "text", "percent", "granularity"]


@dataclass(frozen=True, slots=True)
class Setting:
    """One row of the Settings table: its key, its label and the other labels accepted."""

    key: str
    label: str
    kind: SettingKind
    synonyms: tuple[str, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        """Every accepted label, the written one first, the key last."""
        return (self.label, *self.synonyms, self.key)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "as_of",
        "As-of date",
        "date",
        (
            "As of",
            "As of date",
            "Reporting date",
            "Date d'arrêté",
            "Date de référence",
            "Arrêté au",
        ),
    ),
    Setting(
        "fiscal_start_month",
        "Fiscal year start month",
        "int",
        (
            "Fiscal year start",
            "Fiscal start month",
            "First fiscal month",
            "Début d'exercice",
            "Mois de début d'exercice",
            "Début de l'exercice",
        ),
    ),
    Setting(
        "granularity",
        "Period granularity",
        "granularity",
        ("Granularity", "Period", "Périodicité", "Granularité", "Période"),
    ),
    Setting("currency", "Currency", "text", ("Devise", "Monnaie")),
    Setting(
        "mc_trials",
        "Monte Carlo trials",
        "int",
        ("Trials", "Simulations", "Nombre de simulations", "Tirages Monte Carlo"),
    ),
    Setting("mc_seed", "Monte Carlo seed", "int", ("Seed", "Graine", "Graine Monte Carlo")),
    Setting(
        "stale_days",
        "Stale deal days",
        "int",
        ("Stale days", "Jours sans activité", "Affaire dormante (jours)"),
    ),
    Setting("slip_probability", "Slip probability", "percent", ("Probabilité de glissement",)),
    Setting("min_history", "Minimum history", "int", ("Min history", "Historique minimum")),
    Setting("owner", "Owner", "text", ("Sales rep", "Rep", "Responsable", "Vendeur")),
    Setting(
        "stage_map",
        "CRM stage map",
        "text",
        ("Stage map", "CRM stages", "Correspondance des étapes", "Étapes du CRM"),
    ),
)
"""Known settings in the ready workbook's order. ``owner`` names the rep a personal
workbook belongs to (a team rollup gives it to rows without an owner). ``stage_map``
holds the ``--stage-map`` of past imports (``CRM stage=workbook stage, ...``), which
later imports apply too."""

_SETTING_INDEX = {norm_key(label): s for s in SETTINGS for label in s.labels}


def setting_named(label: object) -> Setting | None:
    """The setting a Settings-table label names, if any."""
    return _SETTING_INDEX.get(norm_key(label)) if label is not None else None
