"""`memberkiosk doctor`: the technician's health check of the whole kiosk; exit 0 healthy, 1 warnings, 2 faults."""
from __future__ import annotations

import argparse

from kiosk.cli.common import add_command, emit
from kiosk.services import doctor

MARK = {"ok": "ok", "warn": "WARN", "fault": "FAULT"}


def _doctor(args: argparse.Namespace) -> int:
    findings = doctor.run(args.data_dir)
    status = doctor.worst(findings)
    pricing = next(f.detail for f in findings if f.check == "pricing")
    lines = []
    for f in findings:
        lines.append(f"{MARK[f.status]:<6} {f.check:<16} {f.found}")
        if f.fix:
            lines.append(f"{'':<6} {'':<16} fix: {f.fix}")
    counts = {s: sum(f.status == s for f in findings) for s in ("warn", "fault")}
    lines.append("healthy" if status == "ok" else f"{counts['fault']} fault(s), {counts['warn']} warning(s)")
    emit(args, {"status": status, "checks": [f.as_json() for f in findings], **pricing}, "\n".join(lines))
    return doctor.EXIT[status]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `doctor`."""
    add_command(subparsers, "doctor", _doctor,
                "check configuration, store, devices, broker, clock, disk, permissions and the pricing engine; "
                "exit 0 healthy, 1 with warnings, 2 with faults")
