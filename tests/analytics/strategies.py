"""Random shops for the property tests: per-visit columns over a few members and days, with ties made likely."""
from __future__ import annotations

from array import array

from hypothesis import strategies as st

ASOF = 740_000  # a date ordinal (2027); days fall around it, some after it


@st.composite
def shops(draw, max_members: int = 12, max_rows: int = 60):
    """(member, day, amount, n_members): small ranges so that equal days and amounts happen often."""
    n = draw(st.integers(0, max_members))
    rows = draw(st.lists(st.tuples(st.integers(0, max(n - 1, 0)), st.integers(ASOF - 400, ASOF + 3),
                                   st.sampled_from([-500, 0, 1, 100, 100, 250, 10_000, 10**9])),
                         max_size=max_rows if n else 0))
    member, day, amount = (array("q", col) for col in zip(*rows)) if rows else (array("q"), array("q"), array("q"))
    return member, day, amount, n


windows = st.integers(1, 500)
