"""Analytics thresholds from the rulebook's [analytics] table, so head office tunes them per chain, not in code."""
from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import RulesError
from core.fields import Table, integer, yuan

DAYS = integer(1, 3660)
VISITS = integer(1, 1_000_000)


@dataclass(frozen=True)
class ClassThresholds:
    """A/B/C class floors: a member is in the first class whose visits AND spend (fen) both reach its floor; else D."""

    a_visits: int = 24
    a_amount: int = 500_000
    b_visits: int = 12
    b_amount: int = 200_000
    c_visits: int = 4
    c_amount: int = 50_000

    def floors(self) -> tuple[tuple[int, int], ...]:
        """(visits, amount) of A, B and C, best first."""
        return (self.a_visits, self.a_amount), (self.b_visits, self.b_amount), (self.c_visits, self.c_amount)


@dataclass(frozen=True)
class ChurnThresholds:
    """Days since the last visit up to which a member is still active, lapsing, lapsed; beyond the last: dormant."""

    active_days: int = 30
    lapsing_days: int = 90
    lapsed_days: int = 180


@dataclass(frozen=True)
class AnalyticsSettings:
    """Everything the analytics read from the rulebook, with the defaults a shop gets when it writes nothing."""

    window_days: int = 365  # RFM and classes look at the visits of the last window_days days, as-of day included
    classes: ClassThresholds = field(default_factory=ClassThresholds)
    churn: ChurnThresholds = field(default_factory=ChurnThresholds)
    at_risk_percentile: int = 90  # overdue: the gap since the last visit is above this percentile of own gaps
    at_risk_min_visits: int = 4  # visit days a member needs before their own rhythm means anything
    recommendations: int = 3  # products suggested after a card tap


def parse_analytics(t: Table) -> AnalyticsSettings:
    """The [analytics] table of a rulebook (empty: the defaults); RulesError names the bad key."""
    t.only("window_days", "at_risk_percentile", "at_risk_min_visits", "recommendations", "classes", "churn")
    base = AnalyticsSettings()
    return AnalyticsSettings(
        window_days=t.get("window_days", DAYS, base.window_days),
        classes=_classes(t.table("classes"), base.classes),
        churn=_churn(t.table("churn"), base.churn),
        at_risk_percentile=t.get("at_risk_percentile", integer(1, 100), base.at_risk_percentile),
        at_risk_min_visits=t.get("at_risk_min_visits", integer(2, 1000), base.at_risk_min_visits),
        recommendations=t.get("recommendations", integer(0, 20), base.recommendations),
    )


def _classes(t: Table, base: ClassThresholds) -> ClassThresholds:
    names = [f"{c}_{what}" for c in "abc" for what in ("visits", "amount")]
    t.only(*names)
    found = ClassThresholds(**{n: t.get(n, VISITS if n.endswith("visits") else yuan, getattr(base, n)) for n in names})
    for (better, worse), letter in zip(zip(found.floors(), found.floors()[1:]), "bc"):
        if worse[0] > better[0] or worse[1] > better[1]:
            raise RulesError(f"{t.key(letter + '_visits')}: class {letter.upper()} floors must not be above the class "
                             "before it (A ≥ B ≥ C in both visits and amount)")
    return found


def _churn(t: Table, base: ChurnThresholds) -> ChurnThresholds:
    t.only("active_days", "lapsing_days", "lapsed_days")
    found = ChurnThresholds(**{n: t.get(n, DAYS, getattr(base, n)) for n in ("active_days", "lapsing_days", "lapsed_days")})
    if not found.active_days < found.lapsing_days < found.lapsed_days:
        raise RulesError(f"{t.key('lapsing_days')}: need active_days < lapsing_days < lapsed_days "
                         f"(got {found.active_days}, {found.lapsing_days}, {found.lapsed_days})")
    return found
