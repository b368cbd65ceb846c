"""Ledger followers: after-commit work (receipts, caches, later sync) that reads the ledger from a durable cursor."""
