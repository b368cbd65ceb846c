"""Receipt printing for the app: the print worker (its jobs live in the ledger database) and PNG previews."""
