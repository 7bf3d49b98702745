"""The standard deals exports of the CRMs ``import`` and ``metrics`` know (``--preset``).

A preset lists, per Prospects field, the columns of the CRM's standard deals export; when
several are present the first non-blank one is taken on each row (Pipedrive's close date
is the won time or else the lost time). Column names follow each CRM's standard export
(checked against the CRM documentation and public sample files); a missing column is
simply not mapped:

==========  =============================================================================
preset      export and columns read (field <- column)
==========  =============================================================================
salesforce  Opportunity report, "details only": ID <- Opportunity ID, Name <- Opportunity
            Name, Company <- Account Name, Owner <- Opportunity Owner, Source <- Lead
            Source, Stage <- Stage, Amount <- Amount, Expected close <- Close Date,
            Probability <- Probability (%), Category <- Forecast Category, Created <-
            Created Date, Last activity <- Last Activity. Close Date is also the close
            date of won and lost deals.
hubspot     Deals export (index view): ID <- Record ID, Name <- Deal Name, Company <-
            Associated Company (Primary) / Associated Company, Owner <- Deal owner,
            Source <- Original Source Type, Stage <- Deal Stage, Amount <- Amount,
            Expected close <- Close Date, Probability <- Deal probability, Category <-
            Forecast category, Created <- Create Date, Last activity <- Last Activity Date.
            Close Date is also the close date of won and lost deals; Pipeline is not read.
pipedrive   Deals list export: ID <- Deal - ID / Deal - Pipedrive System ID, Name <- Deal
            - Title, Company <- Deal - Organization / Organization, Owner <- Deal - Owner,
            Source <- Deal - Source channel, Stage <- Deal - Stage, Status <- Deal -
            Status, Amount <- Deal - Value, Expected close <- Deal - Expected close date,
            Probability <- Deal - Probability, Created <- Deal - Deal created / Deal -
            Creation date, Closed <- Deal - Won time / Deal - Lost time / Deal - Closed
            on, Last activity <- Deal - Last activity date. A won or lost status moves the
            deal to Won or Lost; a lost deal's stage becomes its Stage reached.
maven       Maven Analytics CRM Sales Opportunities (sales_pipeline.csv): ID <-
            opportunity_id, Owner <- sales_agent, Name <- product, Company <- account,
            Stage <- deal_stage, Created <- engage_date, Closed <- close_date, Amount <-
            close_value. With products.csv beside the export, open deals (no close_value)
            and lost deals (close_value 0) are priced at the product's sales_price, so
            the value win rate counts them (design notes, section 6: win rate by value =
            won amount / (won + lost amount)); product names match by `contract.norm_key`
            ("GTXPro" = "GTX Pro").
==========  =============================================================================

Each preset also carries the CRM's default open stages, in process order with their
default probability, for an export read on its own (``metrics`` on an export file).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PRESETS", "Preset"]


@dataclass(frozen=True, slots=True)
class Preset:
    """The standard deals export of one CRM.

    ``columns``: field -> the export's column names, first choice first (on each row
    the first non-blank present column is taken). ``stages``: the CRM's default open
    stages in process order with their default probability (None when the CRM sets
    none). ``close_date_closes``: the close-date column is also the actual close date of
    won and lost deals. ``prices``: (file beside the export, product column, price
    column) used to price open and lost deals; ``product_field``: the field that holds
    the product name.
    """

    name: str
    title: str
    columns: Mapping[str, tuple[str, ...]]
    stages: tuple[tuple[str, float | None], ...] = ()
    close_date_closes: bool = False
    prices: tuple[str, str, str] | None = None
    product_field: str | None = None


PRESETS: dict[str, Preset] = {
    "salesforce": Preset(
        "salesforce",
        "Salesforce opportunity report",
        {
            "id": ("Opportunity ID", "Opportunity ID (18)"),
            "name": ("Opportunity Name",),
            "company": ("Account Name",),
            "owner": ("Opportunity Owner",),
            "source": ("Lead Source",),
            "stage": ("Stage",),
            "amount": ("Amount",),
            "expected_close": ("Close Date",),
            "probability": ("Probability (%)",),
            "category": ("Forecast Category",),
            "created": ("Created Date",),
            "last_activity": ("Last Activity",),
        },
        stages=(
            ("Prospecting", 0.10),
            ("Qualification", 0.10),
            ("Needs Analysis", 0.20),
            ("Value Proposition", 0.50),
            ("Id. Decision Makers", 0.60),
            ("Perception Analysis", 0.70),
            ("Proposal/Price Quote", 0.75),
            ("Negotiation/Review", 0.90),
        ),
        close_date_closes=True,
    ),
    "hubspot": Preset(
        "hubspot",
        "HubSpot deals export",
        {
            "id": ("Record ID",),
            "name": ("Deal Name",),
            "company": ("Associated Company (Primary)", "Associated Company"),
            "owner": ("Deal owner",),
            "source": ("Original Source Type",),
            "stage": ("Deal Stage",),
            "amount": ("Amount",),
            "expected_close": ("Close Date",),
            "probability": ("Deal probability",),
            "category": ("Forecast category",),
            "created": ("Create Date",),
            "last_activity": ("Last Activity Date",),
        },
        stages=(
            ("Appointment Scheduled", 0.20),
            ("Qualified To Buy", 0.40),
            ("Presentation Scheduled", 0.60),
            ("Decision Maker Bought-In", 0.80),
            ("Contract Sent", 0.90),
        ),
        close_date_closes=True,
    ),
    "pipedrive": Preset(
        "pipedrive",
        "Pipedrive deals export",
        {
            "id": ("Deal - ID", "Deal - Pipedrive System ID"),
            "name": ("Deal - Title",),
            "company": ("Deal - Organization", "Organization"),
            "owner": ("Deal - Owner",),
            "source": ("Deal - Source channel",),
            "stage": ("Deal - Stage",),
            "status": ("Deal - Status",),
            "amount": ("Deal - Value",),
            "expected_close": ("Deal - Expected close date",),
            "probability": ("Deal - Probability",),
            "created": ("Deal - Deal created", "Deal - Creation date"),
            "closed": ("Deal - Won time", "Deal - Lost time", "Deal - Closed on"),
            "last_activity": ("Deal - Last activity date",),
        },
        stages=(
            ("Qualified", None),
            ("Contact Made", None),
            ("Demo Scheduled", None),
            ("Proposal Made", None),
            ("Negotiations Started", None),
        ),
    ),
    "maven": Preset(
        "maven",
        "Maven Analytics CRM sales pipeline",
        {
            "id": ("opportunity_id",),
            "owner": ("sales_agent",),
            "name": ("product",),
            "company": ("account",),
            "stage": ("deal_stage",),
            "created": ("engage_date",),
            "closed": ("close_date",),
            "amount": ("close_value",),
        },
        stages=(("Prospecting", None), ("Engaging", None)),
        prices=("products.csv", "product", "sales_price"),
        product_field="name",
    ),
}
"""The presets by name (``--preset``)."""
