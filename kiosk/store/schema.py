"""The SQLite schema as numbered migrations, applied in order at open, so old kiosks upgrade in place."""

MIGRATIONS: list[str] = [
    # 1: ledger, projections, members and cards, sync outbox.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE events (
        pos INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        kiosk_id TEXT NOT NULL,
        store_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        txn TEXT NOT NULL,
        type TEXT NOT NULL,
        member_id TEXT,
        data TEXT NOT NULL,
        deltas TEXT NOT NULL,
        crc INTEGER NOT NULL,
        UNIQUE (kiosk_id, seq)
    );
    CREATE INDEX events_member ON events (member_id, pos);
    CREATE INDEX events_txn ON events (txn);
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: record a correction event instead'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: record a correction event instead'); END;
    CREATE TABLE members (
        member_id TEXT PRIMARY KEY,
        phone TEXT UNIQUE,
        name TEXT,
        birthday TEXT,
        gender TEXT,
        consent_at INTEGER,
        created_at INTEGER NOT NULL,
        erased_at INTEGER,
        pin_hash TEXT,
        pin_failures INTEGER NOT NULL DEFAULT 0,
        crc INTEGER NOT NULL
    );
    CREATE TABLE cards (
        uid TEXT PRIMARY KEY,
        member_id TEXT NOT NULL REFERENCES members (member_id),
        status TEXT NOT NULL CHECK (status IN ('active', 'blocked')),
        linked_at INTEGER NOT NULL,
        blocked_at INTEGER
    );
    CREATE INDEX cards_member ON cards (member_id);
    CREATE TABLE balances (
        member_id TEXT PRIMARY KEY,
        points INTEGER NOT NULL,
        stored_value INTEGER NOT NULL,
        lifetime_spend INTEGER NOT NULL,
        tier TEXT NOT NULL,
        visits TEXT NOT NULL
    );
    CREATE TABLE stock (sku TEXT PRIMARY KEY, qty INTEGER NOT NULL);
    CREATE TABLE outbox (pos INTEGER PRIMARY KEY REFERENCES events (pos));
    """,
    # 2: staff accounts; their clock-in/out is in the ledger like every other business fact.
    """
    CREATE TABLE staff (
        staff_no TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('cashier', 'manager')),
        pin_hash TEXT NOT NULL,
        pin_failures INTEGER NOT NULL DEFAULT 0,
        card_uid TEXT UNIQUE,
        active INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX events_type_ts ON events (type, ts);
    """,
    # 3: look-ups pricing makes on every checkout: is this coupon used, what was refunded of this sale.
    """
    CREATE INDEX events_coupon_code ON events (json_extract(data, '$.code'));
    CREATE INDEX events_refunded_sale ON events (json_extract(data, '$.sale'));
    """,
    # 4: baskets a customer takes to the counter ("pay at the counter"): the cashier calls them up by number.
    """
    CREATE TABLE parked (
        number INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id TEXT,
        basket TEXT NOT NULL,
        coupons TEXT NOT NULL,
        due INTEGER NOT NULL,
        parked_at INTEGER NOT NULL,
        taken_at INTEGER
    );
    """,
]
