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
            the value win rate counts them (README, Definitions: win rate by value =
            won amount / (won + lost amount)); product names match by `contract.norm_key`
            ("GTXPro" = "GTX Pro").
==========  =============================================================================

Stages (``stages``): each preset knows its CRM's standard open stages and maps them onto
the workbook's own process (`model.default_stages`: Lead, entered by a call; Qualified,
by a meeting; Proposal, by an offer; Negotiation), rather than adding the CRM's stages to
the Stages table. The team keeps planning with one process (its activities, conversions
and backward plan), conversions are learned from the deals' history whatever the CRM
called the stages, and exports of different CRMs land in the same stages. The rule: a
stage before any conversation is a Lead; talking, qualifying, presenting, all before an
offer, is Qualified; an offer or quote out is Proposal; negotiating or a contract out is
Negotiation:

==========  =============================================================================
preset      CRM stage -> workbook stage
==========  =============================================================================
salesforce  Prospecting -> Lead; Qualification, Needs Analysis, Value Proposition, Id.
            Decision Makers, Perception Analysis -> Qualified; Proposal/Price Quote ->
            Proposal; Negotiation/Review -> Negotiation.
hubspot     Appointment Scheduled -> Lead (the meeting is booked, not held); Qualified To
            Buy, Presentation Scheduled -> Qualified; Decision Maker Bought-In -> Proposal;
            Contract Sent -> Negotiation.
pipedrive   Qualified, Contact Made, Demo Scheduled -> Qualified (a Pipedrive deal starts
            qualified: raw leads live in its Leads Inbox); Proposal Made -> Proposal;
            Negotiations Started -> Negotiation.
maven       Prospecting -> Lead (no engage date yet: nobody talked to the account);
            Engaging -> Qualified (in conversation; Maven records no offer stage).
==========  =============================================================================

A workbook stage of the CRM stage's own name wins over the preset's map, and a
``--stage-map`` (given now or stored in the workbook's Settings) over both.

Currency: Maven's data is in US dollars (``currency``); Salesforce (multi-currency
orgs), HubSpot and Pipedrive exports may carry a currency column (``currency_columns``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_xl.core.model import default_stages

__all__ = ["PRESETS", "Preset"]

_LEAD, _QUALIFIED, _PROPOSAL, _NEGOTIATION = (s.name for s in default_stages().open)
"""The open stages of the workbook's default process, first to last."""


@dataclass(frozen=True, slots=True)
class Preset:
    """The standard deals export of one CRM.

    ``columns``: field -> the export's column names, first choice first (on each row
    the first non-blank present column is taken). ``stages``: the CRM's standard open
    stages in process order, each with the stage of the workbook's default process it
    maps onto (module docstring). ``close_date_closes``: the close-date column is also
    the actual close date of won and lost deals. ``prices``: (file beside the export,
    product column, price column) used to price open and lost deals; ``product_field``:
    the field that holds the product name. ``currency``: the ISO code of every amount
    of this export, when the CRM fixes it; ``currency_columns``: columns that give each
    deal's currency.
    """

    name: str
    title: str
    columns: Mapping[str, tuple[str, ...]]
    stages: tuple[tuple[str, str], ...] = ()
    close_date_closes: bool = False
    prices: tuple[str, str, str] | None = None
    product_field: str | None = None
    currency: str | None = None
    currency_columns: tuple[str, ...] = ()


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
            ("Prospecting", _LEAD),
            ("Qualification", _QUALIFIED),
            ("Needs Analysis", _QUALIFIED),
            ("Value Proposition", _QUALIFIED),
            ("Id. Decision Makers", _QUALIFIED),
            ("Perception Analysis", _QUALIFIED),
            ("Proposal/Price Quote", _PROPOSAL),
            ("Negotiation/Review", _NEGOTIATION),
        ),
        close_date_closes=True,
        currency_columns=("Opportunity Currency", "Amount Currency"),
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
            ("Appointment Scheduled", _LEAD),
            ("Qualified To Buy", _QUALIFIED),
            ("Presentation Scheduled", _QUALIFIED),
            ("Decision Maker Bought-In", _PROPOSAL),
            ("Contract Sent", _NEGOTIATION),
        ),
        close_date_closes=True,
        currency_columns=("Currency", "Deal currency code"),
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
            ("Qualified", _QUALIFIED),
            ("Contact Made", _QUALIFIED),
            ("Demo Scheduled", _QUALIFIED),
            ("Proposal Made", _PROPOSAL),
            ("Negotiations Started", _NEGOTIATION),
        ),
        currency_columns=("Deal - Currency",),
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
        stages=(("Prospecting", _LEAD), ("Engaging", _QUALIFIED)),
        prices=("products.csv", "product", "sales_price"),
        product_field="name",
        currency="USD",
    ),
}
"""The presets by name (``--preset``)."""
