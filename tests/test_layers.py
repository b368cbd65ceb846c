"""The import contract: every import of our own code points down the layers, never up or sideways.

core <- native, drivers <- kiosk's leaf modules <- kiosk.config <- kiosk.store <- kiosk.followers <- kiosk.services
<- kiosk.printing <- kiosk.app (the bootstrap) <- kiosk.runtime, kiosk.demo <- mqtt, kiosk.ui <- kiosk.cli.
Every import counts, at module level or inside a function, and under `if TYPE_CHECKING:` too (a type that names
an upper layer is still a dependency on it). A new package of ours fails this test until it is given a row.
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("core", "native", "drivers", "kiosk", "mqtt")  # bench/ and tests/ may import anything
OURS = SCANNED + ("tests", "bench")  # nothing we ship imports the tests or the benchmarks

# Each group (a top-level package, or a module or sub-package of kiosk) and what it may import besides itself.
LEAVES = {"kiosk", "kiosk.clock", "kiosk.ids", "kiosk.fonts", "kiosk.background",  # time, ids, fonts, threads
          "kiosk.notify"}  # and telling systemd the kiosk is alive
CONFIG = {"core", "drivers", *LEAVES}  # config checks device types by their names in drivers.factory
STORE = {"core", *LEAVES, "kiosk.config", "kiosk.facts"}  # the fact tables are part of the ledger's schema
NOTICES = STORE | {"kiosk.store"}  # the notifications outbox, daily run, sender and gateways work on the store
FOLLOWERS = NOTICES | {"kiosk.notices"}  # the notices follower writes that outbox
SERVICES = FOLLOWERS | {"native", "drivers", "kiosk.followers", "kiosk.reports"}
PRINTING = SERVICES | {"kiosk.services"}  # the print queue and worker render receipts of committed sales
APP = PRINTING | {"kiosk.printing"}
EDGES = APP | {"kiosk.app"}  # the device runtime, the demo seed and sync build on the bootstrapped kiosk
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "native": {"core"},
    "drivers": {"core"},
    **{leaf: {"core"} for leaf in LEAVES},
    "kiosk.facts": {"core", "native", *LEAVES},  # the sales facts' tables and writer (its line kernel in native),
    # shared by the kiosk and the hub
    "kiosk.reports": {"core", "native", *LEAVES, "kiosk.facts"},  # reports over the facts, at the kiosk and the hub
    "kiosk.config": CONFIG,
    "kiosk.store": STORE,
    "kiosk.notices": NOTICES,
    "kiosk.followers": FOLLOWERS,
    "kiosk.services": SERVICES,
    "kiosk.printing": PRINTING,
    "kiosk.app": APP,
    "kiosk.runtime": EDGES,
    "kiosk.demo": EDGES,
    "mqtt": EDGES | {"kiosk.runtime"},
    "mqtt.hub": {"core", *LEAVES, "kiosk.config", "mqtt", "kiosk.facts", "kiosk.reports"},  # the head-office hub: the domain,
    # settings, wire protocol (mqtt.topics, messages, connection) and the fact tables; no kiosk store
    "kiosk.ui": EDGES | {"kiosk.runtime", "kiosk.demo"},
    "kiosk.cli": EDGES | {"kiosk.runtime", "kiosk.demo", "kiosk.ui", "mqtt", "mqtt.hub"},
}


def group(module: str) -> str:
    """The layer group of a dotted module name: the top-level package, or for kiosk its first sub-module
    (and mqtt.hub, the hub, apart from the kiosk's agent)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "kiosk" and len(parts) > 1 or parts[:2] == ["mqtt", "hub"] else parts[0]


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, dotted target) of every import in `tree`; `from kiosk import config` targets kiosk.config."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = module.split(".")
            if node.level:  # relative: from the package this module is in (or is)
                base = base[: len(base) - node.level + (1 if is_package else 0)]
            else:
                base = []
            target = ".".join(base + ([node.module] if node.module else []))
            found += [(node.lineno, f"{target}.{alias.name}" if target in ("kiosk", "") else target)
                      for alias in node.names]
    return sorted(found)


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """Imports in `source` (the text of `module`) that the table does not allow, as 'line: group -> group'."""
    own = group(module)
    if own not in ALLOWED:
        return [f"{module}: group {own} has no row in ALLOWED; place it in the layers"]
    bad = []
    for line, target in imported(ast.parse(source), module, is_package):
        if target.split(".")[0] not in OURS:
            continue
        to = group(target.strip("."))
        if to != own and to not in ALLOWED[own]:
            bad.append(f"{line}: {own} imports {target}")
    return bad


def test_no_import_crosses_the_layers_the_wrong_way() -> None:
    found = []
    for top in SCANNED:
        for path in sorted((REPO / top).rglob("*.py")):
            for problem in violations(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"):
                found.append(f"{path.relative_to(REPO)}:{problem}")
    assert not found, "imports that cross the layers the wrong way:\n" + "\n".join(found)


def test_the_contract_catches_upward_imports_at_module_and_function_level() -> None:
    source = (
        "import os\n"
        "from core.money import format_fen\n"
        "from kiosk import ui\n"
        "def later():\n"
        "    import kiosk.services.sales\n"
        "    from ..cli import common\n"
    )
    assert violations(source, "kiosk.store.bad") == [
        "3: kiosk.store imports kiosk.ui",
        "5: kiosk.store imports kiosk.services.sales",
        "6: kiosk.store imports kiosk.cli",
    ]
    assert violations("def f():\n    import drivers.factory\n", "core.bad") == ["2: core imports drivers.factory"]
    assert violations("from tests.conftest import T0\n", "mqtt.agent") == ["1: mqtt imports tests.conftest"]
    assert violations("from kiosk import clock, config\n", "kiosk.store.ok") == []
    assert violations("", "kiosk.newthing") == [
        "kiosk.newthing: group kiosk.newthing has no row in ALLOWED; place it in the layers"]
