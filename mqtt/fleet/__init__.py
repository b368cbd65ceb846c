"""Fleet management over MQTT: each kiosk's state and health, the operator's signed configs and commands.

protocol.py holds the payloads and their checks (shared by kiosk, hub and operator CLI), signing.py the
operator's Ed25519 key, kiosk.py the kiosk's FleetAgent on the sync agent's connection.
"""
