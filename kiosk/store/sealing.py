"""Encryption at rest at open: load the pii key, check it opens what is stored, and seal what an older version wrote.

Sealing an old ledger needs the key, which SQL never sees, so it is a step at open rather than a migration: the
migration leaves `pii_unsealed` behind, this step seals every member row and directory change in one transaction,
then VACUUMs and truncates the WAL so no page of the file keeps the plaintext (secure_delete zeroes what later
updates free), and only then drops the marker. A step interrupted, or refused by a busy ledger, runs again at the
next open.
"""
from __future__ import annotations

import logging
import sqlite3

from kiosk.store import directory, members
from kiosk.store.db import Database
from kiosk.store.keyring import KeyRing
from kiosk.store.pii import PiiKey, bind, is_sealed, is_sealed_store

log = logging.getLogger(__name__)


def unlock(db: Database, keys: KeyRing) -> PiiKey:
    """Bind the pii key to the store's connection; PersonalDataLocked when the stored data was sealed by another."""
    key = bind(db.conn, keys)
    with db.reading() as conn:
        sample = conn.execute("SELECT member_id, COALESCE(phone, name, birthday) FROM members"
                              " WHERE COALESCE(phone, name, birthday) IS NOT NULL LIMIT 1").fetchone()
        if sample and is_sealed(sample[1]):  # the right key? (a damaged value is verify's to report, not a stop)
            key.check_sealer(*sample)
        pending = not is_sealed_store(conn)
    if pending:
        _seal_old_rows(db)
    return key


def _seal_old_rows(db: Database) -> None:
    with db.transaction() as conn:
        sealed = members.seal_plaintext(conn) + directory.seal_plaintext(conn)
    try:
        db.conn.execute("VACUUM")
        if not db.checkpoint():
            raise sqlite3.OperationalError("the WAL is in use by another process")
    except sqlite3.OperationalError as exc:
        log.warning("sealed %d old rows, but could not yet rewrite %s without their plaintext (%s); the next open "
                    "tries again", sealed, db.path.name, exc)
        return
    with db.transaction() as conn:
        conn.execute("DROP TABLE IF EXISTS pii_unsealed")  # another process may have finished first
    db.checkpoint()
