"""Two kiosks of one store, A and B, on real data directories."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from kiosk.app import Kiosk
from tests.sync.helpers import STORE, share_pii_key


@pytest.fixture
def pair(tmp_path: Path, clock) -> Iterator[tuple[Kiosk, Kiosk]]:
    """Kiosks A and B of store s1, acting as manager M01 (who may spend stored value without the member's PIN)."""
    share_pii_key(tmp_path / "chain-pii.key", tmp_path / "a-keys", tmp_path / "b-keys")
    a = Kiosk.open(tmp_path / "a", clock=clock, kiosk_id="A", store_id=STORE, operator="M01", key_dir=tmp_path / "a-keys")
    b = Kiosk.open(tmp_path / "b", clock=clock, kiosk_id="B", store_id=STORE, operator="M01", key_dir=tmp_path / "b-keys")
    yield a, b
    a.close()
    b.close()
