"""The kiosk's sync agent: its ledger up to head office, what head office holds down to it, spend requests.

settings.py builds the broker connection from the kiosk's configuration, outbox.py publishes the ledger in a
bounded window until the hub acknowledges it, asker.py asks the hub for spending beyond an allowance, and
agent.py is the loop that runs them on one connection.
"""
