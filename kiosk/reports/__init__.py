"""Reports over the facts tables: queries (portable SQL), charts (matplotlib) and output (text, CSV, JSON).

A leaf package like kiosk.facts: the kiosk's services and the hub both run it on their own database cursor.
"""
from kiosk.reports.model import ChartSpec, Column, Inputs, Period, Report, ReportError
from kiosk.reports.queries import BY, NAMES, run

__all__ = ["BY", "NAMES", "ChartSpec", "Column", "Inputs", "Period", "Report", "ReportError", "run"]
