"""Events as kiosks make them, for the hub tests: deterministic ids so a re-send is a true duplicate."""
from __future__ import annotations

import uuid

from core.events import SALE_COMPLETED, TOPPED_UP, Event

T0 = 1_795_000_000_000  # tests.conftest's instant; not imported from there, which loads the whole kiosk app
_NS = uuid.UUID("5b0e2f1c-3f5e-4d7a-9a8e-7c2b1d0e9f10")


def event(kiosk: str, seq: int, member: str | None = "m1", stored_value: int = 0, points: int = 0,
          store: str = "s1", **visits: int) -> Event:
    """Kiosk `kiosk`'s event number `seq`: a top-up when it adds stored value, else a sale moving the balances."""
    eid = str(uuid.uuid5(_NS, f"{kiosk}/{seq}"))
    deltas: dict = {k: v for k, v in (("stored_value", stored_value), ("points", points)) if v}
    if visits:
        deltas["visits"] = visits
    kind = TOPPED_UP if stored_value > 0 else SALE_COMPLETED
    return Event(eid, kiosk, store, seq, T0 + seq, eid, kind, member, {}, deltas)


def run(kiosk: str, first: int, last: int, member: str = "m1", stored_value: int = 1) -> list[Event]:
    """Events first..last of a kiosk, each adding `stored_value` to one member."""
    return [event(kiosk, s, member, stored_value) for s in range(first, last + 1)]
