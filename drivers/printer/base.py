"""The receipt printer contract: send one whole job, report health; errors say what the cashier should do."""
from __future__ import annotations

from typing import Protocol

from core.receipt import WIDTH_58MM, WIDTH_80MM
from drivers.base import DeviceConfigError
from drivers.events import DeviceHealth

PAPER_COLUMNS = {"58mm": WIDTH_58MM, "80mm": WIDTH_80MM}


class PrinterError(Exception):
    """A job could not be printed; it stays in the print queue and is retried."""


class PrinterUnavailable(PrinterError):
    """The printer cannot be reached (unplugged, switched off, network down) or vanished mid-job."""


class PrinterNotReady(PrinterError):
    """The printer answers but cannot print: paper out, cover open, offline."""


class Printer(Protocol):
    """What the print worker needs from any printer."""

    name: str
    columns: int
    simulated: bool

    def send(self, job: bytes) -> None:
        """Print one complete ESC/POS job or raise PrinterError."""

    def check(self) -> DeviceHealth:
        """Ask the printer for its state now."""

    def health(self) -> DeviceHealth:
        """The last known health."""

    def start(self) -> None:
        """Begin (printers usually need nothing)."""

    def stop(self) -> None:
        """Release the printer."""


def columns_for(paper: str | int) -> int:
    """Text columns for a paper width ('58mm' -> 32, '80mm' -> 48) or an explicit column count."""
    if isinstance(paper, int) or str(paper).isdigit():
        return int(paper)
    try:
        return PAPER_COLUMNS[str(paper).lower()]
    except KeyError:
        raise DeviceConfigError(f"printer paper '{paper}' must be 58mm, 80mm or a number of columns") from None
