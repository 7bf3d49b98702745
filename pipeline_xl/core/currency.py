"""Currency codes: what the workbook's Currency setting and ``--currency`` accept.

A currency is an ISO 4217 code: three letters, any case (``usd`` is ``USD``), among the
currencies in use (`CURRENCY_CODES`, no fund, metal or test codes) or withdrawn recently
enough to be found in a CRM's history (HRK, SLL, ZWL, CUC). Anything else is refused
with a hint: a currency's name or symbol (``euro``, ``€``, ``pound``) names the code
meant; other text gets the common codes (`COMMON_CODES`). A word is never taken for a
code: "euro" on a Dashboard reads "amounts in EURO", which is why it is refused.
"""

from __future__ import annotations

from pipeline_xl.core.contract import norm_key
from pipeline_xl.core.errors import InputError

__all__ = ["COMMON_CODES", "CURRENCY_CODES", "currency_code"]

CURRENCY_CODES: frozenset[str] = frozenset((
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD",
    "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN",
    "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUC", "CUP", "CVE", "CZK",
    "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
    "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR",
    "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF",
    "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD",
    "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR",
    "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP",
    "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG",
    "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
    "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD",
    "UYU", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF",
    "YER", "ZAR", "ZMW", "ZWG", "ZWL",
))  # fmt: skip
"""ISO 4217 codes accepted as a currency."""

COMMON_CODES: tuple[str, ...] = (
    "EUR", "USD", "GBP", "CHF", "JPY", "CNY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN",
    "INR", "BRL", "MXN", "ZAR",
)  # fmt: skip
"""The codes a refused currency's hint lists."""


def _name_key(text: str) -> str:
    """A currency name folded like a header; a symbol (no letter or digit) as it is."""
    return norm_key(text) or text.strip()


# A currency's name or symbol -> the codes it may mean (the first is the likeliest).
_NAMES: dict[str, tuple[str, ...]] = {
    _name_key(name): codes
    for names, codes in (
        (("euro", "euros", "€"), ("EUR",)),
        (("dollar", "dollars", "us dollar", "us dollars", "$", "us$"), ("USD", "CAD", "AUD")),
        (("pound", "pounds", "sterling", "pound sterling", "£"), ("GBP",)),
        (("swiss franc", "swiss francs", "franc", "francs"), ("CHF",)),
        (("yen", "¥"), ("JPY", "CNY")),
        (("yuan", "renminbi", "rmb"), ("CNY",)),
        (("canadian dollar", "canadian dollars", "ca$"), ("CAD",)),
        (("australian dollar", "australian dollars", "au$"), ("AUD",)),
        (("krona", "kronor"), ("SEK",)),
        (("krone", "kroner", "kr"), ("NOK", "DKK", "SEK")),
        (("zloty", "złoty", "zł"), ("PLN",)),
        (("rupee", "rupees", "₹"), ("INR",)),
        (("real", "reais"), ("BRL",)),
        (("peso", "pesos"), ("MXN",)),
        (("rand",), ("ZAR",)),
    )
    for name in names
}


def currency_code(text: object, *, argument: str = "currency") -> str:
    """The ISO 4217 code ``text`` names, upper case (``" usd "`` -> ``USD``).

    Raises:
        InputError: not a code of `CURRENCY_CODES`; the message names ``argument`` and
            suggests the code a currency name or symbol means.

    """
    typed = str(text).strip() if text is not None else ""
    code = typed.upper()
    if code in CURRENCY_CODES:
        return code
    meant = _NAMES.get(_name_key(typed), ())
    if meant:
        codes = meant[0] if len(meant) == 1 else f"{', '.join(meant[:-1])} or {meant[-1]}"
        hint = f"the three-letter code: {codes}"
    else:
        hint = f"an ISO 4217 code such as {', '.join(COMMON_CODES)}"
    problem = "not an ISO 4217 currency code" if typed else "no currency code"
    raise InputError(f"{argument}: {problem}", value=typed or None, expected=hint)
