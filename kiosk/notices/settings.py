"""What the notices code reads from the configuration, in one value: the shop's policy, language and name."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.notices import Policy, parse_clock_range
from kiosk import config


@dataclass(frozen=True)
class NoticeSettings:
    """The effective notify.* settings (and the shop's name for the messages)."""

    policy: Policy
    language: str
    transactional: bool
    max_attempts: int
    retry_s: float  # the first wait after a failure; it doubles
    shop: str

    @classmethod
    def of(cls, cfg: config.Config, store_id: str) -> NoticeSettings:
        """From an effective configuration; the shop's name falls back to the store id like on receipts."""
        start, end = parse_clock_range(cfg["notify.quiet_hours"])
        policy = Policy(low_balance=cfg["notify.low_balance_fen"], expiry_days=cfg["notify.expiry_days"],
                        birthday_late_days=cfg["notify.birthday_late_days"], quiet_start=start, quiet_end=end)
        return cls(policy, cfg["notify.language"], cfg["notify.transactional"], max(cfg["notify.max_attempts"], 1),
                   cfg["notify.retry_seconds"], cfg["ui.store_name"] or store_id)


def load_settings(docs: Any, store_id: str) -> NoticeSettings:
    """The settings as configured now (files, the operator's documents, the environment)."""
    return NoticeSettings.of(config.load(docs=docs), store_id)
