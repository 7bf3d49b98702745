"""Values learned once per model: handed over by `Model.derive` only when still true.

Every value that declares what it reads is checked the same way: computed on a model,
handed over to a model that differs elsewhere, and compared with the value the new model
computes for itself from scratch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipeline_xl.core import calibration, forecast, history, timeline
from pipeline_xl.core.model import PARTS, Derived, DerivedBy, Model, targets_frame
from pipeline_xl.core.sample import generate
from pipeline_xl.core.schema import validate, without_targets

AS_OF = date(2026, 11, 30)
SHEETS = ("Prospects", "Stages", "Targets", "Activities", "Snapshots", "Settings")

DECLARED: dict[str, Derived[object]] = {
    "calibration": calibration.CALIBRATION,  # type: ignore[dict-item]
    "entry days": calibration._ENTRY_DAYS,  # type: ignore[dict-item]
    "funnel rates": history.FUNNEL_RATES,  # type: ignore[dict-item]
    "lead times": history.LEAD_TIMES,  # type: ignore[dict-item]
    "book": forecast._BOOK,  # type: ignore[dict-item]
    "learned slip": forecast.LEARNED_SLIP,  # type: ignore[dict-item]
    "timeline index": timeline._INDEX,  # type: ignore[dict-item]
    "dates": timeline._DATES,  # type: ignore[dict-item]
}


@pytest.fixture(scope="module")
def model() -> Model:
    data = generate(600, as_of=AS_OF, seed=4)
    return validate(*(data.tables[s] for s in SHEETS), as_of=data.as_of)


def _same_pandas(left: object, right: object) -> bool:
    check = {
        pd.DataFrame: pd.testing.assert_frame_equal,
        pd.Series: pd.testing.assert_series_equal,
        pd.Index: pd.testing.assert_index_equal,
    }[type(left) if type(left) in {pd.DataFrame, pd.Series} else pd.Index]
    try:
        check(left, right)  # type: ignore[operator]
    except AssertionError:
        return False
    return True


def _same_array(left: np.ndarray, right: object) -> bool:
    if not isinstance(right, np.ndarray) or left.dtype != right.dtype:
        return False
    if left.dtype.kind in "mM":  # NaT equal to NaT
        return np.array_equal(left.view("int64"), right.view("int64"))
    return np.array_equal(left, right, equal_nan=left.dtype.kind in "fc")


def same(left: object, right: object) -> bool:
    """Equal values, NaN equal to NaN, through dataclasses, containers, arrays and frames."""
    if dataclasses.is_dataclass(left) and not isinstance(left, type):
        fields = [f.name for f in dataclasses.fields(left)]
        pairs = [(getattr(left, f), getattr(right, f)) for f in fields]
        ok = type(left) is type(right)
    elif isinstance(left, pd.DataFrame | pd.Series | pd.Index):
        return _same_pandas(left, right)
    elif isinstance(left, np.ndarray):
        return _same_array(left, right)
    elif isinstance(left, dict) and isinstance(right, dict):
        pairs = [(left[k], right[k]) for k in left]
        ok = list(left) == list(right)
    elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
        ok = type(left) is type(right) and len(left) == len(right)
        pairs = list(zip(left, right, strict=False))
    else:
        nan = isinstance(left, float) and isinstance(right, float) and left != left  # noqa: PLR0124 - NaN test
        return (nan and right != right) or bool(left == right)  # noqa: PLR0124 - NaN test
    return ok and all(same(a, b) for a, b in pairs)


def fresh(model: Model) -> Model:
    """The same model with nothing learned (a new object)."""
    return dataclasses.replace(model)


def carried(changed: Model) -> dict[str, object]:
    found = changed._derived
    return {name: found[d] for name, d in DECLARED.items() if d in found}


Change = Callable[[Model], Model]
CHANGES: dict[str, Change] = {
    "granularity": lambda m: m.derive(
        settings=dataclasses.replace(m.settings, granularity="quarter")
    ),
    "targets": lambda m: m.derive(targets=targets_frame([], m.settings.fiscal_start_month)),
    "issues": lambda m: m.derive(issues=m.issues.iloc[:0]),
}


class TestDerive:
    """What `Model.derive` hands over, and that it is what the new model would learn."""

    @pytest.mark.parametrize("change", sorted(CHANGES))
    def test_handed_over_values_are_those_learned_anew(self, model, change):
        base = fresh(model)
        for derived in DECLARED.values():
            derived.of(base)
        changed = CHANGES[change](base)
        handed = carried(changed)
        assert handed, "nothing handed over"
        anew = CHANGES[change](fresh(model))
        for name, value in handed.items():
            assert same(value, DECLARED[name].of(anew)), name

    def test_only_values_that_do_not_read_the_change(self, model):
        base = fresh(model)
        for derived in DECLARED.values():
            derived.of(base)
        quarter = CHANGES["granularity"](base)
        assert "learned slip" not in carried(quarter)  # reads the granularity
        assert "calibration" in carried(quarter)
        alone = CHANGES["targets"](base)
        assert "funnel rates" not in carried(alone)  # names the targets' owners
        assert "book" not in carried(alone)
        assert "calibration" in carried(alone)
        other = base.derive(settings=dataclasses.replace(base.settings, min_history=5))
        assert set(carried(other)) == {"entry days", "dates", "timeline index"}

    def test_undeclared_values_stay_behind(self, model):
        base = fresh(model)
        everything: Derived[int] = Derived(lambda m: len(m.prospects))
        keyed: DerivedBy[int, int] = DerivedBy(lambda m, k: k)
        assert everything.reads == PARTS
        everything.of(base)
        keyed.of(base, 3)
        changed = base.derive(issues=base.issues.iloc[:0])
        assert everything not in changed._derived
        assert (keyed, 3) not in changed._derived

    def test_values_asked_later_are_learned_once_for_both(self, model):
        base = fresh(model)
        alone = CHANGES["targets"](base)  # derived before anything was learned
        assert not carried(alone)
        learned = calibration.CALIBRATION.of(alone)
        assert calibration.CALIBRATION.of(base) is learned  # computed on the origin
        assert history.FUNNEL_RATES.of(alone) is not history.FUNNEL_RATES.of(base)
        quarter = CHANGES["granularity"](alone)  # a chain of derived models
        assert calibration.CALIBRATION.of(quarter) is learned
        anew = CHANGES["granularity"](fresh(model))
        assert same(forecast.LEARNED_SLIP.of(quarter), forecast.LEARNED_SLIP.of(anew))

    def test_nothing_changed_hands_everything_over(self, model):
        base = fresh(model)
        for derived in DECLARED.values():
            derived.of(base)
        assert set(carried(base.derive(targets=base.targets))) == set(DECLARED)


def test_without_targets_keeps_the_calibration(model):
    base = fresh(model)
    learned = calibration.CALIBRATION.of(base)
    alone = without_targets(base)
    assert alone is not None
    assert calibration.CALIBRATION.of(alone) is learned
    assert alone.targets.empty


class TestSharedRuns:
    """The same model and arguments give one object: learned and simulated once."""

    def test_as_seen_is_one_model_per_day(self, model):
        seen = timeline.as_seen(model)
        assert timeline.as_seen(model) is seen
        assert timeline.as_seen(model, model.settings.as_of) is seen

    def test_period_range_simulates_once(self, model):
        period = model.settings.current_period
        first = forecast.period_range(model, period, trials=500)
        assert forecast.period_range(model, period.label, trials=500) is first
        other = forecast.period_range(model, period, trials=500, seed=1)
        assert other is not first

    def test_a_quarter_range_learns_nothing_again(self, model, monkeypatch):
        base = fresh(model)
        quarter = base.settings.period_of(base.settings.as_of, "quarter")
        calibration.CALIBRATION.of(base)
        calls: list[Model] = []
        learn = calibration.CALIBRATION._compute

        def counting(m: Model) -> object:
            calls.append(m)
            return learn(m)

        monkeypatch.setattr(calibration.CALIBRATION, "_compute", counting)
        shared = forecast.period_range(base, quarter, trials=500)
        assert calls == []
        anew = forecast.simulate(
            dataclasses.replace(
                fresh(model), settings=dataclasses.replace(model.settings, granularity="quarter")
            ),
            np.random.default_rng(model.settings.mc_seed),
            trials=500,
            periods=[quarter],
        )
        pd.testing.assert_frame_equal(shared.table, anew.table)
