"""Whole activity counts from a revenue gap: the scalar backward plan, exact for whole counts.

The backward plan (README, Definitions): ``deals = ceil(gap / average deal)``, then
from the closing stage back to the first activity ``count_k = ceil(count_{k+1} / c_k)``.

Counts are whole numbers and exact: the inputs are taken as the decimal numbers the user
typed (``0.7`` is seven tenths, not the nearest binary float), so ``21 / 0.7`` needs 30
calls, never 31. The float result is used when it is clearly not whole; only a quotient
within a tiny tolerance of an integer is recomputed with fractions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

import numpy as np

from pipeline_xl.core.errors import InputError

__all__ = [
    "MAX_COUNT",
    "Number",
    "PlanTooLargeError",
    "arg_error",
    "checked_rates",
    "required_calls",
    "required_counts",
    "show",
]

Number = float | Fraction | Decimal

# A float quotient q is trusted when it is further than _REL_TOL * scale from an integer;
# its own rounding error is below 1e-15 * scale, so the margin is wide. Quotients at or
# above _FAST_LIMIT go straight to the exact path.
_REL_TOL = 1e-9
_FAST_LIMIT = float(2**50)
_DEALS_LABEL = "Deals"
MAX_COUNT = 10**12  # beyond this a plan is a data error (a near-zero average deal, say)
_NUMBER_TYPES = (float, int, Fraction, Decimal, np.integer, np.floating)


def show(value: object) -> str:
    """A value as the user would recognise it (``1.4``, not ``np.float64(1.4)``)."""
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return repr(value)


def arg_error(argument: str, problem: str, value: object, expected: str) -> InputError:
    """An InputError reading ``argument: problem`` that still carries column/value/expected."""
    err = InputError(f"{argument}: {problem}")
    err.column = argument
    err.value = value
    err.expected = expected
    return err


def _finite(argument: str, value: object) -> float:
    """``value`` as a finite float, or an InputError naming ``argument``."""
    if type(value) is float and value - value == 0.0:  # fast path; inf - inf and nan are nan
        return value
    if value is None:
        raise arg_error(argument, "is empty, a number is needed", value, "a number")
    if isinstance(value, bool) or not isinstance(value, _NUMBER_TYPES):
        raise arg_error(argument, f"{show(value)} is not a number", value, "a number")
    try:
        number = float(value)
    except (OverflowError, ValueError):  # huge integers, signalling-NaN decimals
        number = math.nan
    if not math.isfinite(number):
        raise arg_error(argument, f"{show(value)} is not a finite number", value, "a finite number")
    return number


@lru_cache(maxsize=4096)
def _float_ratio(value: float) -> tuple[int, int]:
    """The decimal that ``repr`` shows for ``value`` as (numerator, denominator)."""
    exact = Fraction(repr(value))
    return exact.numerator, exact.denominator


def _ratio(value: object) -> tuple[int, int]:
    """The exact value the user meant, as (numerator, denominator > 0).

    Floats are the decimals typed (``0.7`` is 7/10); fractions, decimals and integers are
    taken as they are.
    """
    if type(value) is float:
        return _float_ratio(value)
    if isinstance(value, float | np.floating):
        return _float_ratio(float(value))
    if isinstance(value, Fraction):
        return value.numerator, value.denominator
    if isinstance(value, int | np.integer):
        return int(value), 1
    if isinstance(value, Decimal):
        exact = Fraction(value)
        return exact.numerator, exact.denominator
    raise TypeError(value)  # unreachable after validation


def checked_rates(rates: object) -> tuple[list[float], list[object]]:
    """Validate conversion rates: finite numbers in (0, 1]. Returns floats and originals."""
    if isinstance(rates, np.ndarray):
        rates = rates.tolist()  # plain floats take the fast path below
    if isinstance(rates, _NUMBER_TYPES) and not isinstance(rates, bool):
        rates = (rates,)  # a single rate typed in one cell
    elif isinstance(rates, str | bytes) or not isinstance(rates, Iterable):
        raise arg_error(
            "rates", "expected a list of conversion rates", rates, "numbers between 0 and 1"
        )
    originals = list(rates)
    if not originals:
        raise arg_error(
            "rates", "needs at least one conversion rate", rates, "numbers between 0 and 1"
        )
    floats: list[float] = []
    for rate in originals:
        if type(rate) is float and 0.0 < rate <= 1.0:  # fast path
            floats.append(rate)
            continue
        valid = isinstance(rate, _NUMBER_TYPES) and not isinstance(rate, bool)
        value = math.nan
        if valid:
            try:
                value = _finite("rates", rate)
            except InputError:
                valid = False
        # float() may round 1.0000000000000000001 down to 1: check the exact value too.
        if not (valid and 0.0 < value <= 1.0 and (ratio := _ratio(rate))[0] <= ratio[1]):
            raise arg_error(
                "rates",
                f"{show(rate)} is not a conversion rate above 0 and at most 1",
                rate,
                "a conversion rate above 0 and at most 1",
            )
        floats.append(value)
    return floats, originals


def _deals(t: float, a: float, w: float, e: float, exact: Sequence[object]) -> int:
    """``ceil(max(0, t - w - e) / a)``, exact for the decimal inputs (README, Definitions)."""
    q = (t - w - e) / a
    scale = (abs(t) + abs(w) + abs(e)) / a
    if scale < _FAST_LIMIT:
        if abs(q - round(q)) > scale * _REL_TOL:
            return math.ceil(q) if q > 0 else 0
        if scale == 0.0:
            return 0
    (tn, td), (an, ad), (wn, wd), (en, ed) = (_ratio(v) for v in exact)
    # gap = gn / gd over a common denominator; deals = ceil(gap / (an / ad)).
    gn = tn * wd * ed - wn * td * ed - en * td * wd
    return -((-gn * ad) // (td * wd * ed * an)) if gn > 0 else 0


def _levels(deals: int, floats: Sequence[float], originals: Sequence[object]) -> tuple[int, ...]:
    """Counts from the first activity to deals: ``count_k = ceil(count_{k+1} / c_k)``."""
    counts = [deals]
    n = deals
    for i in range(len(floats) - 1, -1, -1):
        if n:
            q = n / floats[i] if n < _FAST_LIMIT else _FAST_LIMIT
            if q < _FAST_LIMIT and abs(q - round(q)) > q * _REL_TOL:
                n = math.ceil(q)
            else:  # n / (num / den), rounded up with integers only
                num, den = _ratio(originals[i])
                n = -((-n * den) // num)
        counts.append(n)
    counts.reverse()
    return tuple(counts)


def required_counts(
    target: Number,
    avg_deal: Number,
    rates: Iterable[Number],
    won_to_date: Number = 0.0,
    expected_pipeline: Number = 0.0,
) -> tuple[int, ...]:
    """Activities needed to reach ``target``: (first activity, ..., last open stage, deals).

    Backward plan (README, Definitions): ``gap = max(0, target - won_to_date -
    expected_pipeline)``, ``deals = ceil(gap / avg_deal)``, then from the closing stage back
    ``count_k = ceil(count_{k+1} / rates[k])``, where ``rates[k]`` is the conversion of open
    stage k to the next one (the last one to Won). Inputs are taken as the decimals typed
    (``Fraction`` and ``Decimal`` values are used exactly), so a whole count is never
    pushed up by binary rounding. This is what ``PIPE_REQUIRED_CALLS`` computes.

    Args:
        target: Revenue target, 0 or more.
        avg_deal: Average won deal, above 0.
        rates: Conversion rate of each open stage, first to last, each in (0, 1].
        won_to_date: Revenue already won in the period.
        expected_pipeline: Weighted open pipeline expected to close in the period.

    Returns:
        One whole count per open stage's activity, then the number of deals.

    Raises:
        InputError: an argument is not a finite number or is out of range; the message
            starts with the argument's name.

    """
    t = _finite("target", target)
    if t < 0:
        raise arg_error("target", "must be 0 or more", target, "a target of 0 or more")
    a = _finite("avg_deal", avg_deal)
    if a <= 0:
        raise arg_error("avg_deal", "must be greater than 0", avg_deal, "an amount above 0")
    w = _finite("won_to_date", won_to_date)
    e = _finite("expected_pipeline", expected_pipeline)
    floats, originals = checked_rates(rates)
    deals = _deals(t, a, w, e, (target, avg_deal, won_to_date, expected_pipeline))
    if deals > MAX_COUNT:
        raise _too_many(deals)
    counts = _levels(deals, floats, originals)
    if counts[0] > MAX_COUNT:
        raise _too_many(counts[0])
    return counts


class PlanTooLargeError(InputError):
    """A backward plan whose counts pass `MAX_COUNT`: the inputs cannot be right."""


def _too_many(count: int) -> PlanTooLargeError:
    digits = len(str(count))
    return PlanTooLargeError(
        f"the plan would need a {digits}-digit number of activities, more than {MAX_COUNT:,}: "
        "check the target, the average deal and the rates",
        expected="amounts and rates that give a plan a team can carry out",
    )


def required_calls(
    target: Number,
    avg_deal: Number,
    rates: Iterable[Number],
    won_to_date: Number = 0.0,
    expected_pipeline: Number = 0.0,
) -> int:
    """First-activity count of `required_counts` (the calls that start the funnel).

    Raises:
        InputError: as `required_counts`.

    """
    return required_counts(target, avg_deal, rates, won_to_date, expected_pipeline)[0]
