"""Synthetic CRM exports shaped like each preset's standard export, and their true values.

`DEALS` holds what each deal really is; `write_export` writes them the way one CRM
exports them (its column names, stage words, number and date formats, encoding and
delimiter), so an import can be checked cell by cell against `DEALS`.
"""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "maven-crm"
AS_OF = date(2026, 3, 31)

# id, name, company, owner, stage (workbook name), amount, expected close, created, closed,
# probability, status.
DEALS: list[dict[str, object]] = [
    {"id": "D-001", "name": "Alpha roll-out", "company": "Société Alpha", "owner": "Ann Lee",
     "stage": "Qualified", "amount": 12000.0, "expected_close": date(2026, 4, 30),
     "created": date(2026, 1, 5), "closed": None, "probability": 0.2, "status": "open"},
    {"id": "D-002", "name": "Beta renewal", "company": "Beta GmbH", "owner": "Bob Roy",
     "stage": "Proposal", "amount": 1234.5, "expected_close": date(2026, 5, 15),
     "created": date(2026, 2, 10), "closed": None, "probability": 0.5, "status": "open"},
    {"id": "D-003", "name": "Gamma \u2013 phase 2", "company": "Gamma SA", "owner": "Ann Lee",
     "stage": "Won", "amount": 50000.0, "expected_close": date(2026, 3, 2),
     "created": date(2025, 11, 20), "closed": date(2026, 3, 2), "probability": 1.0,
     "status": "won"},
    {"id": "D-004", "name": "Delta", "company": None, "owner": "Cy Dee", "stage": "Lost",
     "amount": 7500.0, "expected_close": date(2026, 2, 13), "created": date(2025, 12, 1),
     "closed": date(2026, 2, 13), "probability": 0.0, "status": "lost"},
    {"id": "D-005", "name": "=Epsilon (formula-like)", "company": "Eps Ltd", "owner": "Bob Roy",
     "stage": "Negotiation", "amount": 99.99, "expected_close": date(2026, 6, 30),
     "created": date(2026, 3, 1), "closed": None, "probability": 0.8, "status": "open"},
]  # fmt: skip
# Stage where each Pipedrive deal stood when it was won or lost.
PIPEDRIVE_LAST_STAGE = {"D-003": "Negotiation", "D-004": "Proposal"}


def _us(day: object) -> str:
    return "" if day is None else f"{day.month}/{day.day}/{day.year}"  # type: ignore[attr-defined]


def _iso(day: object) -> str:
    return "" if day is None else day.isoformat()  # type: ignore[attr-defined]


def _comma_amount(value: float) -> str:
    """1234.5 -> 1.234,50 (decimal comma, dot thousands)."""
    text = f"{value:,.2f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def salesforce_rows(deals=DEALS) -> list[list[str]]:
    words = {"Won": "Closed Won", "Lost": "Closed Lost"}
    rows = [["Opportunity Owner", "Account Name", "Opportunity Name", "Stage", "Fiscal Period",
             "Amount", "Probability (%)", "Close Date", "Created Date", "Opportunity ID",
             "Type"]]  # fmt: skip
    for d in deals:
        close = d["closed"] or d["expected_close"]
        rows.append([
            d["owner"], d["company"] or "", d["name"], words.get(d["stage"], d["stage"]),
            "Q1-2026", f"${d['amount']:,.2f}", f"{d['probability'] * 100:g}", _us(close),
            _us(d["created"]), d["id"], "New Business",
        ])  # fmt: skip
    return rows


def hubspot_rows(deals=DEALS) -> list[list[str]]:
    words = {"Won": "Closed won", "Lost": "Closed lost"}
    rows = [["Record ID", "Deal Name", "Deal Stage", "Amount", "Close Date", "Deal owner",
             "Create Date", "Pipeline", "Associated Company (Primary)",
             "Deal probability"]]  # fmt: skip
    for d in deals:
        close = d["closed"] or d["expected_close"]
        rows.append([
            d["id"], d["name"], words.get(d["stage"], d["stage"]), f"{d['amount']:g}",
            f"{_iso(close)} 00:00", d["owner"], f"{_iso(d['created'])} 09:30",
            "Sales Pipeline", d["company"] or "", f"{d['probability']:g}",
        ])  # fmt: skip
    return rows


def pipedrive_rows(deals=DEALS) -> list[list[str]]:
    rows = [["Deal - ID", "Deal - Title", "Deal - Organization", "Deal - Owner", "Deal - Stage",
             "Deal - Status", "Deal - Value", "Deal - Currency", "Deal - Expected close date",
             "Deal - Won time", "Deal - Lost time", "Deal - Deal created",
             "Deal - Probability"]]  # fmt: skip
    for d in deals:
        status = str(d["status"])
        stage = PIPEDRIVE_LAST_STAGE.get(str(d["id"]), str(d["stage"]))
        rows.append([
            str(d["id"]), str(d["name"]), str(d["company"] or ""), str(d["owner"]), stage,
            status.capitalize(), _comma_amount(float(d["amount"])), "EUR",  # type: ignore[arg-type]
            _iso(d["expected_close"]),
            f"{_iso(d['closed'])} 14:05:00" if status == "won" else "",
            f"{_iso(d['closed'])} 16:00:00" if status == "lost" else "",
            f"{_iso(d['created'])} 08:00:00", f"{d['probability'] * 100:g}",
        ])  # fmt: skip
    return rows


def maven_rows(deals=DEALS) -> list[list[str]]:
    rows = [["opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date",
             "close_date", "close_value"]]  # fmt: skip
    for d in deals:
        value = "" if d["status"] == "open" else f"{d['amount']:g}"
        rows.append([str(d["id"]), str(d["owner"]), str(d["name"]), str(d["company"] or ""),
                     str(d["stage"]), _iso(d["created"]), _iso(d["closed"]), value])  # fmt: skip
    return rows


# preset -> (rows writer, encoding, BOM, delimiter)
FORMATS = {
    "salesforce": (salesforce_rows, "cp1252", b"", ","),
    "hubspot": (hubspot_rows, "utf-8", codecs.BOM_UTF8, ","),
    "pipedrive": (pipedrive_rows, "utf-8", b"", ";"),
    "maven": (maven_rows, "utf-16-le", codecs.BOM_UTF16_LE, "\t"),
}


def write_rows(path: Path, rows, *, encoding="utf-8", bom=b"", delimiter=",") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(bom + buffer.getvalue().encode(encoding))
    return path


def write_export(path: Path, preset: str, deals=DEALS) -> Path:
    rows_of, encoding, bom, delimiter = FORMATS[preset]
    return write_rows(path, rows_of(deals), encoding=encoding, bom=bom, delimiter=delimiter)


@pytest.fixture
def empty_book(tmp_path) -> Path:
    """A new empty workbook (one blank prospect row, the default stages)."""
    from pipeline_xl.usecases.new import new_workbook

    return new_workbook(tmp_path / "pipeline.xlsm", company="Test Co", sample=None, as_of=AS_OF)


@pytest.fixture(scope="session")
def empty_book_bytes(tmp_path_factory) -> bytes:
    """The bytes of a new empty workbook, built once (copy them to get a fresh workbook)."""
    from pipeline_xl.usecases.new import new_workbook

    folder = tmp_path_factory.mktemp("empty")
    path = new_workbook(folder / "pipeline.xlsm", company="Test Co", sample=None, as_of=AS_OF)
    return path.read_bytes()


@pytest.fixture
def book(tmp_path, empty_book_bytes) -> Path:
    """A fresh copy of the empty workbook."""
    path = tmp_path / "pipeline.xlsm"
    path.write_bytes(empty_book_bytes)
    return path
