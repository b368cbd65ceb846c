"""What a doctor check reports: a status, what it found and, when not ok, what to fix."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["ok", "warn", "fault"]
EXIT = {"ok": 0, "warn": 1, "fault": 2}  # the command's exit code is that of its worst finding


@dataclass(frozen=True)
class Finding:
    """One check's result: what it found and, when not ok, what to do about it."""

    check: str
    status: Status
    found: str
    fix: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The finding as --json prints it."""
        return asdict(self)


def worst(findings: list[Finding]) -> Status:
    """The status of the whole kiosk: its worst finding's."""
    return max((f.status for f in findings), key=EXIT.__getitem__, default="ok")
