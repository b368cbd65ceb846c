"""The eight RFM segments (RFM 八类客户) in zh_CN and en, indexed by which of R, F and M score high."""
from __future__ import annotations

from typing import NamedTuple

HIGH = 3  # a score of 3..5 is high, 1..2 low (0: no visit in the window)
NO_SEGMENT = -1  # in RfmResult.segment: the member did not visit in the window


class Segment(NamedTuple):
    """A segment's names; `name(lang)` picks one for a report or a screen."""

    zh_CN: str
    en: str

    def name(self, lang: str = "zh_CN") -> str:
        """The name in `lang` ('zh_CN' or 'en'); any other language gets the Chinese name."""
        return self.en if lang == "en" else self.zh_CN


# Index = 4·(M low) + 2·(R low) + (F low): the classic order, monetary value first, then recency, then frequency.
SEGMENTS: tuple[Segment, ...] = (
    Segment("重要价值客户", "Champions (important value)"),
    Segment("重要发展客户", "Important to develop"),
    Segment("重要保持客户", "Important to keep"),
    Segment("重要挽留客户", "Important to win back"),
    Segment("一般价值客户", "General value"),
    Segment("一般发展客户", "General to develop"),
    Segment("一般保持客户", "General to keep"),
    Segment("一般挽留客户", "General to win back"),
)


def segment_index(r: int, f: int, m: int) -> int:
    """The segment of scores 1..5 (NO_SEGMENT when any score is 0: no visit in the window)."""
    if not (r and f and m):
        return NO_SEGMENT
    return 4 * (m < HIGH) + 2 * (r < HIGH) + (f < HIGH)
