"""The SQLite schema as numbered migrations, applied in order at open, so old kiosks upgrade in place."""

from kiosk.facts.schema import script as facts_script

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
    # 5: the chain. Events record who did them (operator) and their payload's schema version (v); after-commit
    # work follows the ledger with a durable cursor per follower instead of an outbox table (the ledger is the
    # outbox). A follower created later starts at the ledger's end: it must not replay years of receipts.
    """
    ALTER TABLE events ADD COLUMN operator TEXT;
    ALTER TABLE events ADD COLUMN v INTEGER NOT NULL DEFAULT 1;
    DROP TABLE outbox;
    CREATE TABLE cursors (name TEXT PRIMARY KEY, pos INTEGER NOT NULL, updated_at INTEGER NOT NULL);
    """,
    # 6: receipts waiting for the printer (they were in a second SQLite file, print-queue.sqlite3). The receipt
    # follower queues one original per own sale (the unique index makes a re-delivered sale a no-op); reprints
    # are queued by `receipt reprint`. The receipt is built from the committed sale when it prints.
    """
    CREATE TABLE print_jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        txn TEXT NOT NULL,
        reprint INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try_ms INTEGER NOT NULL,
        last_error TEXT,
        created_ms INTEGER NOT NULL,
        printed_ms INTEGER
    );
    CREATE UNIQUE INDEX print_jobs_original ON print_jobs (txn) WHERE reprint = 0;
    CREATE INDEX print_jobs_due ON print_jobs (next_try_ms) WHERE printed_ms IS NULL;
    """,
    # sync (ingest, member directory, sync by file): overdrafts caused by spending on another kiosk are flagged
    # facts, never refusals; member records replicate as a feed of changes (`directory`) merged into `members` and
    # `cards`, with the clashes the merge resolved flagged for staff; `sync_peers` remembers the key each kiosk
    # signed its first file with (trust on first use). `balances.tier_at` is the (ts, kiosk, seq) of the event
    # that set the tier, so tier folds the same in any arrival order. Existing members enter the feed as
    # registrations (with their cards, PIN, erasure) so their kiosk can export them.
    """
    CREATE TABLE overdrafts (
        event_id TEXT NOT NULL REFERENCES events (id),
        what TEXT NOT NULL,
        member_id TEXT,
        amount INTEGER NOT NULL,
        flagged_at INTEGER NOT NULL,
        PRIMARY KEY (event_id, what)
    );
    CREATE TABLE directory (
        pos INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        member_id TEXT NOT NULL,
        kiosk_id TEXT NOT NULL,
        ts INTEGER NOT NULL,
        kind TEXT NOT NULL,
        fields TEXT NOT NULL
    );
    CREATE INDEX directory_member ON directory (member_id);
    CREATE TABLE directory_conflicts (
        member_id TEXT NOT NULL,
        field TEXT NOT NULL,
        value TEXT NOT NULL,
        kept_by TEXT NOT NULL,
        flagged_at INTEGER NOT NULL,
        PRIMARY KEY (member_id, field, value)
    );
    CREATE TABLE sync_peers (kiosk_id TEXT PRIMARY KEY, store_id TEXT NOT NULL, public_key TEXT NOT NULL,
                             first_seen INTEGER NOT NULL);
    ALTER TABLE balances ADD COLUMN tier_at TEXT NOT NULL DEFAULT '[0,"",0]';
    UPDATE balances SET tier_at = COALESCE((
        SELECT json_array(ts, kiosk_id, seq) FROM events e
        WHERE e.member_id = balances.member_id AND e.type IN ('tier.changed', 'member.registered')
          AND json_extract(e.data, '$.tier') IS NOT NULL
        ORDER BY ts DESC, kiosk_id DESC, seq DESC LIMIT 1), '[0,"",0]');
    INSERT INTO directory (id, member_id, kiosk_id, ts, kind, fields)
        SELECT member_id || ':registered', member_id, (SELECT value FROM meta WHERE key = 'kiosk_id'), created_at,
               'registered', json_object('phone', phone, 'name', name, 'birthday', birthday, 'gender', gender,
                                         'consent_at', consent_at)
        FROM members ORDER BY created_at, member_id;
    INSERT INTO directory (id, member_id, kiosk_id, ts, kind, fields)
        SELECT member_id || ':pin', member_id, (SELECT value FROM meta WHERE key = 'kiosk_id'), created_at,
               'pin_set', json_object('pin_hash', pin_hash)
        FROM members WHERE pin_hash IS NOT NULL ORDER BY created_at, member_id;
    INSERT INTO directory (id, member_id, kiosk_id, ts, kind, fields)
        SELECT member_id || ':card:' || uid, member_id, (SELECT value FROM meta WHERE key = 'kiosk_id'), linked_at,
               'card_linked', json_object('uid', uid)
        FROM cards ORDER BY linked_at, uid;
    INSERT INTO directory (id, member_id, kiosk_id, ts, kind, fields)
        SELECT member_id || ':block:' || uid, member_id, (SELECT value FROM meta WHERE key = 'kiosk_id'), blocked_at,
               'card_blocked', json_object('uid', uid)
        FROM cards WHERE status = 'blocked' ORDER BY blocked_at, uid;
    INSERT INTO directory (id, member_id, kiosk_id, ts, kind, fields)
        SELECT member_id || ':erased', member_id, (SELECT value FROM meta WHERE key = 'kiosk_id'), erased_at,
               'erased', '{}'
        FROM members WHERE erased_at IS NOT NULL ORDER BY erased_at, member_id;
    """,
    # 8: the JSON look-ups index only the events they are about, so appending a sale or ingesting a batch does
    # not parse every event's data twice (kiosk/store/lookups.py names the same types, as literals, to use them).
    """
    DROP INDEX events_coupon_code;
    DROP INDEX events_refunded_sale;
    CREATE INDEX events_coupon_code ON events (json_extract(data, '$.code'))
        WHERE type IN ('coupon.redeemed', 'coupon.reinstated');
    CREATE INDEX events_refunded_sale ON events (json_extract(data, '$.sale')) WHERE type = 'sale.refunded';
    """,
    # PIN locks expire: the time of the last wrong PIN, so a lock lifts pins.lock_seconds after it.
    """
    ALTER TABLE members ADD COLUMN pin_failed_at INTEGER;
    ALTER TABLE staff ADD COLUMN pin_failed_at INTEGER;
    """,
    # meta rows carry a checksum like events and members (kiosk/store/meta.py), so a flipped member counter is
    # caught before it hands out a number in use. row_crc() is kiosk.store.checksum.row_crc, registered by Database.
    """
    ALTER TABLE meta ADD COLUMN crc INTEGER;
    UPDATE meta SET crc = row_crc(key, value);
    """,
    # personal data at rest (kiosk/store/pii.py): phone, name and birthday are stored sealed and a phone is found by
    # its keyed hash. Rows written before are sealed by a step at open, since it needs the key that SQL never sees;
    # `pii_unsealed` exists until that step has sealed them and rewritten the file without their plaintext.
    """
    ALTER TABLE members ADD COLUMN phone_index BLOB;
    CREATE UNIQUE INDEX members_phone_index ON members (phone_index);
    CREATE TABLE pii_unsealed (since INTEGER);
    """,
    # the audit chain (kiosk/store/audit.py): each event's HMAC under the kiosk's audit key over the link before it
    # and its own row. The key is not SQL's to see, so the events of an older ledger are linked by a step at open.
    """
    ALTER TABLE events ADD COLUMN link BLOB;
    """,
    # chain sync (kiosk/store/chain_state.py): one row of the link's state (what the hub acknowledged, a lost tail,
    # the directory positions both ways), a cursor per origin kiosk of the hub's event pages, the hub's spending
    # allowances per member (whole, as of a watermark of this kiosk), and the head-office documents applied. Own
    # directory changes are read by kiosk and position.
    """
    CREATE TABLE chain_sync (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        acked_seq INTEGER NOT NULL DEFAULT 0,
        last_ack_at INTEGER,
        directory_acked INTEGER NOT NULL DEFAULT 0,
        hub_directory INTEGER NOT NULL DEFAULT 0,
        lost_tail INTEGER,
        connected INTEGER NOT NULL DEFAULT 0,
        connected_since INTEGER
    );
    INSERT INTO chain_sync (id) VALUES (1);
    CREATE TABLE chain_cursors (origin TEXT PRIMARY KEY, seq INTEGER NOT NULL);
    CREATE TABLE allowances (member_id TEXT PRIMARY KEY, as_of INTEGER NOT NULL, epoch INTEGER NOT NULL,
                             amounts TEXT NOT NULL);
    CREATE TABLE chain_documents (name TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at INTEGER NOT NULL);
    CREATE INDEX directory_kiosk ON directory (kiosk_id, pos);
    """,
    # fleet management (kiosk/store/fleet_state.py): the operator's config version applied per kind, commands run
    # (kept until they expire, so a second delivery is answered with the first outcome instead of running again),
    # outcomes waiting to be published to head office, and the lock that refuses every sale.
    """
    CREATE TABLE fleet_configs (kind TEXT PRIMARY KEY, version INTEGER NOT NULL, id TEXT NOT NULL,
                                applied_at INTEGER NOT NULL);
    CREATE TABLE fleet_commands (id TEXT PRIMARY KEY, cmd TEXT NOT NULL, expires_at INTEGER NOT NULL,
                                 outcome TEXT NOT NULL);
    CREATE INDEX fleet_commands_expiry ON fleet_commands (expires_at);
    CREATE TABLE fleet_outbox (pos INTEGER PRIMARY KEY AUTOINCREMENT, outcome TEXT NOT NULL);
    CREATE TABLE fleet_lock (id INTEGER PRIMARY KEY CHECK (id = 1), reason TEXT NOT NULL, since INTEGER NOT NULL);
    """,
    # notifications (kiosk/notices): members' consent to marketing messages (cleared by erasure, covered by the row
    # checksum); the outbox the notices follower and the daily run write (`key` UNIQUE: a replay or a catch-up never
    # makes a second message), every send attempt, and the last day the daily run did.
    """
    ALTER TABLE members ADD COLUMN marketing_consent_at INTEGER;
    UPDATE members SET crc = row_crc(member_id, phone, name, birthday, gender, consent_at, created_at, erased_at,
                                     marketing_consent_at);
    CREATE TABLE notices (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, member_id TEXT NOT NULL,
                          template TEXT NOT NULL, params TEXT NOT NULL, scheduled INTEGER NOT NULL,
                          created_at INTEGER NOT NULL,
                          status TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0,
                          next_at INTEGER NOT NULL, last_error TEXT, sent_at INTEGER);
    CREATE INDEX notices_due ON notices (status, next_at);
    CREATE TABLE notice_attempts (notice INTEGER NOT NULL REFERENCES notices (id), at INTEGER NOT NULL,
                                  outcome TEXT NOT NULL, detail TEXT);
    CREATE TABLE notice_days (id INTEGER PRIMARY KEY CHECK (id = 1), last_day TEXT NOT NULL);
    """,
    # sales facts (kiosk/facts/schema.py, shared with the hub): narrow integer tables the facts follower writes for
    # reports, analytics and simulate; it starts from the ledger's first event, so an upgraded kiosk gets its history.
    facts_script(),
]
