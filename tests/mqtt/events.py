"""Events and directory changes to put in messages, made without a kiosk (the wire codec is what is tested)."""
from __future__ import annotations

from core.directory import Change
from core.events import Event
from kiosk.ids import new_event_id

T0 = 1_795_000_000_000


def event(kiosk: str = "shop1-k1", store: str = "shop1", seq: int = 1, member: str = "shop1-k1-000001",
          fen: int = 1000) -> Event:
    """A top-up of `fen` at `kiosk`, sequence `seq`."""
    return Event(new_event_id(T0 + seq), kiosk, store, seq, T0 + seq, new_event_id(T0 + seq), "stored_value.topped_up",
                 member, data={"paid": fen}, deltas={"stored_value": fen}, operator="C01")


def events(n: int, kiosk: str = "shop1-k1", store: str = "shop1") -> list[Event]:
    """`n` events of one kiosk, sequences 1..n."""
    return [event(kiosk, store, seq) for seq in range(1, n + 1)]


def change(kiosk: str = "shop1-k1", member: str = "shop1-k1-000001") -> Change:
    """A registration made at `kiosk`."""
    return Change(new_event_id(T0), member, kiosk, T0, "registered", {"phone": "13800138000", "name": "张三"})
