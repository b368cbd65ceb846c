"""The head-office web console (`memberkiosk hub web`): fleet status, kiosk pages, the reconcile list and signed
config pushes, rendered on the server for accounts with a viewer or operator role."""
