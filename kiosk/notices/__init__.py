"""Member notifications: the outbox in the ledger database, the daily run, the sender and its gateways."""
