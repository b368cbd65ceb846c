"""Picks the pricing, analytics and facts engine: the Cython kernels when built, else the pure reference in core (and says so).

MEMBERKIOSK_SKIP_NATIVE=1 forces the reference, so the same tests can run both ways. MEMBERKIOSK_REQUIRE_NATIVE=1
(set by tests/run.sh) makes this import fail instead of falling back, so a build that lost its kernels fails the
suite rather than skipping the tests of the kernels; SKIP_NATIVE wins when both are set.
"""
from __future__ import annotations

import os

from core import analytics as ref
from core.batch import price_batch as reference_price_batch
from core.facts import line_rows as reference_line_rows
from core.facts import totals as reference_totals
from core.pricing import price_basket as reference_price_basket

REASON = ""
try:
    if os.environ.get("MEMBERKIOSK_SKIP_NATIVE") == "1":
        raise ImportError("MEMBERKIOSK_SKIP_NATIVE=1")
    from native.analytics import aggregate, at_risk, churn_states, classes, rfm
    from native.facts import line_rows, totals
    from native.kernels import price_basket, price_batch
except ImportError as exc:  # not compiled, or disabled on purpose
    if os.environ.get("MEMBERKIOSK_REQUIRE_NATIVE") == "1" and os.environ.get("MEMBERKIOSK_SKIP_NATIVE") != "1":
        raise ImportError(f"MEMBERKIOSK_REQUIRE_NATIVE=1 but the Cython kernels did not load ({exc}); "
                          "build them with `pip install -e .` (needs Cython and a C compiler)") from exc
    REASON = str(exc)
    price_basket = reference_price_basket
    price_batch = reference_price_batch
    line_rows, totals = reference_line_rows, reference_totals
    aggregate, at_risk, churn_states, classes, rfm = ref.aggregate, ref.at_risk, ref.churn_states, ref.classes, ref.rfm

AVAILABLE = not REASON
ENGINE = "native" if AVAILABLE else "reference"


def describe() -> str:
    """One line for `memberkiosk doctor`: which engine prices baskets and why."""
    return "native (Cython kernels)" if AVAILABLE else f"reference (pure Python): {REASON}"
