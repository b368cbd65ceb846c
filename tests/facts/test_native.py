"""The Cython facts kernels equal the pure reference exactly: the rows and sums of every sale of a real ledger,
a refund's rows, and the same BadPayload on a bad line."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import core.facts as ref
import native
from bench.facts import build_ledger
from core.events import SALE_COMPLETED
from core.payloads import BadPayload
from kiosk.store import cursors

pytestmark = pytest.mark.skipif(not native.AVAILABLE, reason=f"native kernels not in use: {native.REASON}")


class Codes(dict):
    """Ids by string, a new string the next id (as the writer's dictionary gives them)."""

    def __missing__(self, value: str) -> int:
        id_ = self[value] = len(self)
        return id_


def test_rows_and_sums_of_every_sale_of_a_ledger_equal_the_reference(kiosk):
    build_ledger(kiosk, 300, members=20)
    with kiosk.db.reading() as conn:
        sales = [ref.extract(e, kiosk.clock.tz) for _pos, e in cursors.events_after(conn, 0, 10**6)
                 if e.type == SALE_COMPLETED]
    assert len(sales) == 300
    ours, theirs = (Codes(), Codes()), (Codes(), Codes())
    for member, f in enumerate(sales):
        rows = native.line_rows(f.sale, 1, f.seq, member, *ours)
        assert rows == ref.line_rows(f.sale, 1, f.seq, member, *theirs) and rows
        assert native.totals(rows) == ref.totals(rows)
        refund = f.sale._replace(kind=ref.REFUND, lines=(), refunded=(len(rows) - 1, 99))  # 99: not in the sale
        back = ref.refund_rows(refund, rows, 1, f.seq + 1, member)
        assert [(r[2], r[21]) for r in back] == [(len(rows) - 1, ref.REFUND)]
        assert native.totals(back) == ref.totals(back) == [-t for t in ref.totals(rows[-1:])]
    assert ours == theirs and len(ours[0]) > 1  # SKUs and names got the same ids in the same order
    assert native.totals([]) == ref.totals([]) == [0] * len(ref.TOTALS)


@pytest.mark.parametrize("line", [{"sku": "TEA"}, {}, "TEA", None,
                                  {**dict.fromkeys(ref.LINE_COLUMNS, 1), "sku": "TEA", "name": "茶", "threshold": "x"}])
def test_a_bad_line_fails_the_same_way(line):
    sale = ref.SaleFact(ref.SALE, None, 0, 1, 0, "s1", None, None, None, [line])
    with pytest.raises(BadPayload) as ours:
        native.line_rows(sale, 1, 7, -1, Codes(), Codes())
    with pytest.raises(BadPayload) as theirs:
        ref.line_rows(sale, 1, 7, -1, Codes(), Codes())
    assert str(ours.value) == str(theirs.value) and "sale 7" in str(ours.value)


def test_skip_native_gives_the_reference_facts_kernels():
    code = "import native, core.facts as f; print(native.line_rows is f.line_rows and native.totals is f.totals)"
    env = {**os.environ, "MEMBERKIOSK_SKIP_NATIVE": "1"}
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout.strip() == "True"
