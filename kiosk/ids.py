"""Globally unique, time-ordered ids for events, so ledgers from many kiosks merge without clashes."""
import os
import uuid


def new_event_id(now_ms: int) -> str:
    """A UUIDv7 (RFC 9562): 48-bit millisecond time, then 74 random bits."""
    rand = int.from_bytes(os.urandom(10), "big")
    value = (now_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64 | 0b10 << 62 | rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))
