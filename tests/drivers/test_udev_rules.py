"""The udev rules parse as udev reads them (no udevadm verify on Debian 12's systemd 252) and grant the kiosk group."""
from __future__ import annotations

import re
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "systemd" / "99-memberkiosk.rules"
_PAIR = re.compile(r'^(ACTION|SUBSYSTEM|KERNEL|ENV\{\w+\}|ATTRS?\{\w+\}|GROUP|MODE|SYMLINK|GOTO|LABEL|RUN)'
                   r'(==|!=|\+=|=)"[^"]*"$')


def rules() -> list[str]:
    text = RULES.read_text().replace("\\\n", "")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_every_rule_is_well_formed():
    for rule in rules():
        for pair in (p.strip() for p in rule.split(", ")):
            assert _PAIR.match(pair), f"malformed udev key in: {rule}"


def test_scanners_printers_get_the_kiosk_group_and_stable_names():
    all_rules = rules()
    granting = [r for r in all_rules if 'GROUP="kiosk"' in r]
    assert any('SUBSYSTEM=="input"' in r for r in granting)
    assert any('SUBSYSTEM=="usbmisc"' in r for r in granting)
    assert any('SUBSYSTEM=="tty"' in r for r in granting)
    assert all('MODE="0660"' in r for r in granting)
    assert sum('GOTO="memberkiosk_end"' in r for r in all_rules) == 1 and all_rules[-1] == 'LABEL="memberkiosk_end"'
