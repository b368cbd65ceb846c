"""Sales facts: narrow integer tables in the ledger database (or the hub's), written by a ledger follower."""
