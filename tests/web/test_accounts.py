"""The console's accounts (on both hub databases) and session key, without a browser: argon2 hashes, roles, names,
the key file's mode."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from core.errors import Conflict, InvalidInput, NotFound
from mqtt.hub.store import HubStore
from mqtt.hub.web.accounts import Accounts
from mqtt.hub.web.secret import SecretDamaged, session_secret
from tests.hub.conftest import postgres, store_url  # noqa: F401


@pytest.fixture
def accounts(store_url: str) -> Iterator[Accounts]:  # noqa: F811
    """The accounts table on SQLite and on PostgreSQL (tests/hub's backends)."""
    with HubStore.open(store_url) as hub:
        yield Accounts(hub.db, clock=lambda: 1_000)


def test_passwords_are_kept_only_as_argon2id_hashes(accounts: Accounts) -> None:
    accounts.add("carol", "viewer", "a long passphrase")
    with accounts.db.transaction(write=False) as tx:
        (stored,) = tx.one("SELECT hash FROM web_accounts WHERE name = 'carol'")
    assert stored.startswith("$argon2id$") and "a long passphrase" not in stored
    assert accounts.authenticate("carol", "a long passphrase").role == "viewer"
    assert accounts.authenticate("carol", "a long passphrasE") is None
    assert accounts.authenticate("nobody", "a long passphrase") is None


def test_roles_names_and_lengths_are_checked(accounts: Accounts) -> None:
    with pytest.raises(InvalidInput, match="role 'admin'"):
        accounts.add("dave", "admin", "a long passphrase")
    with pytest.raises(InvalidInput, match="too short"):
        accounts.add("dave", "operator", "short")
    with pytest.raises(InvalidInput, match="account name"):
        accounts.add(" dave", "operator", "a long passphrase")
    dave = accounts.add("dave", "operator", "a long passphrase")
    assert dave.operator and accounts.all() == [dave]
    with pytest.raises(Conflict, match="remove dave"):
        accounts.add("dave", "viewer", "another long one")
    accounts.remove("dave")
    assert accounts.get("dave") is None
    with pytest.raises(NotFound):
        accounts.remove("dave")


def test_the_session_key_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    key = session_secret(tmp_path / "hub")
    path = tmp_path / "hub" / "web-session.key"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert session_secret(tmp_path / "hub") == key and len(key) == 64
    path.chmod(0o644)
    with pytest.raises(SecretDamaged, match="chmod 600"):
        session_secret(tmp_path / "hub")
