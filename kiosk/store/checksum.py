"""Row checksums: SQLite has no page checksums, so rows carry their own to expose flipped bytes."""
import zlib
from typing import Sequence


def row_crc(values: Sequence) -> int:
    """CRC-32 of a row's values as text (None as empty), stable across read-back."""
    return zlib.crc32("\x1f".join(["" if v is None else str(v) for v in values]).encode())
