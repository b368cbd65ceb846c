"""A/B/C/D member classes by visits and spend in the window, against the floors of ClassThresholds."""
from __future__ import annotations

from array import array

from core.analytics.columns import Column, check_columns
from core.analytics.settings import ClassThresholds

CLASS_NAMES = ("A", "B", "C", "D")
D = 3


def classes(frequency: Column, monetary: Column, thresholds: ClassThresholds) -> array:
    """Per member 0..3 (A..D): the first class whose visit floor and amount floor (fen) are both reached, else D."""
    check_columns(0, frequency, monetary)
    floors = thresholds.floors()
    return array("q", (next((c for c, (v, a) in enumerate(floors) if f >= v and m >= a), D)
                       for f, m in zip(frequency, monetary)))
