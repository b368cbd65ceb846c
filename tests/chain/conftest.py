"""Kiosks in a chain (escrow on) on real data directories, and a head office that answers spend requests in-process."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from kiosk.app import Kiosk
from kiosk.services.escrow import AskFailed, SpendReply
from tests.sync.helpers import STORE, load_shop, share_pii_key


class FakeHub:
    """Answers spend requests as head office would, from a script: grant, refuse, or be unreachable (AskFailed)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, dict[str, Any], float]] = []
        self.answer: str = "offline"  # "grant", "refuse" or "offline"
        self.allowance: dict[str, Any] = {}
        self.as_of = 0

    def ask(self, member_id: str, amounts: dict[str, Any], timeout: float) -> SpendReply:
        self.asked.append((member_id, amounts, timeout))
        if self.answer == "offline":
            raise AskFailed("no answer from head office in time")
        granted = self.answer == "grant"
        return SpendReply(granted, None if granted else "stored value at head office ¥12.00, ¥30.00 of it promised "
                          "to other kiosks", self.allowance, self.as_of)


def open_chain_kiosk(tmp_path: Path, clock, name: str) -> Kiosk:
    """Kiosk `name` of store s1 in a chain (escrow on), acting as manager M01, with the chain's pii key."""
    share_pii_key(tmp_path / "chain-pii.key", tmp_path / f"{name}-keys")
    return Kiosk.open(tmp_path / name, clock=clock, kiosk_id=name, store_id=STORE, operator="M01",
                      key_dir=tmp_path / f"{name}-keys", escrow=True)


@pytest.fixture
def hub() -> FakeHub:
    return FakeHub()


@pytest.fixture
def chained(tmp_path: Path, clock, hub: FakeHub) -> Iterator[Kiosk]:
    """Kiosk A in a chain with the demo shop loaded and `hub` as its asker."""
    k = open_chain_kiosk(tmp_path, clock, "A")
    load_shop(k)
    k.set_asker(hub, timeout=0.5)
    yield k
    k.close()
