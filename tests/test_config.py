"""Layered configuration: each layer overrides the one below and is named; bad values name their key and layer;
the kiosk id comes from configuration, never the hostname, and a data directory keeps the id it was created with."""
from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from kiosk import config
from kiosk.app import Kiosk
from kiosk.config import ConfigError
from kiosk.store.documents import open_documents, replace_table
from tests.conftest import _console_script

KIOSK_TOML = """
[kiosk]
id = "shop1-k1"
store_id = "shop1"
timezone = "Asia/Shanghai"

[ui]
idle_seconds = 45
store_name = "From the file"

[devices.printer]
type = "escpos"
transport = "network"
host = "192.168.1.50"
paper = "80mm"

[sync]
broker = "mqtts://hub.example.com:8883"
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_each_layer_overrides_the_one_below_and_says_which_it_was(tmp_path: Path) -> None:
    etc = write(tmp_path / "kiosk.toml", KIOSK_TOML)
    boot = write(tmp_path / "memberkiosk.toml", '[ui]\nidle_seconds = 30\nstaff_idle_seconds = 90\n')
    (tmp_path / "data").mkdir()
    docs = open_documents(tmp_path / "data")
    replace_table(docs, "settings", [{"store_name": "鲜果超市"}])
    replace_table(docs, "devices", [{"card": {"type": "sim"}}])
    env = {"MEMBERKIOSK_KIOSK_ID": "env-k2", "MEMBERKIOSK_TIMEZONE": "Europe/Berlin"}
    cfg = config.load(files=[etc, boot], docs=docs, environ=env, flags={"ui.idle_seconds": 20, "ui.fullscreen": None})
    assert (cfg["kiosk.store_id"], cfg.layer("kiosk.store_id")) == ("shop1", str(etc))
    assert (cfg["ui.staff_idle_seconds"], cfg.layer("ui.staff_idle_seconds")) == (90.0, str(boot))
    assert (cfg["ui.store_name"], cfg.layer("ui.store_name")) == ("鲜果超市", "document settings")
    assert (cfg["devices"], cfg.layer("devices")) == ({"card": {"type": "sim"}}, "document devices")
    assert (cfg["kiosk.id"], cfg.layer("kiosk.id")) == ("env-k2", "env MEMBERKIOSK_KIOSK_ID")
    assert (cfg["kiosk.timezone"], cfg.layer("kiosk.timezone")) == ("Europe/Berlin", "env MEMBERKIOSK_TIMEZONE")
    assert (cfg["ui.idle_seconds"], cfg.layer("ui.idle_seconds")) == (20.0, "flag")
    assert (cfg["ui.fullscreen"], cfg.layer("ui.fullscreen")) == (True, "default")  # a flag left None is not given
    assert (cfg["sync.broker"], cfg.layer("sync.broker")) == ("mqtts://hub.example.com:8883", str(etc))
    docs.close()


def test_a_file_alone_sets_devices_and_the_defaults_fill_the_rest(tmp_path: Path) -> None:
    cfg = config.load(files=[write(tmp_path / "kiosk.toml", KIOSK_TOML)], environ={})
    assert cfg["devices"]["printer"]["paper"] == "80mm"
    assert (cfg["kiosk.data_dir"], cfg.layer("kiosk.data_dir")) == (Path("/var/lib/memberkiosk"), "default")
    assert dict(config.load(files=[], environ={}))["kiosk.id"].value is None


@pytest.mark.parametrize(("text", "message"), [
    ('[ui]\nidle_secs = 45\n', "unknown key 'ui.idle_secs'"),
    ('[kiosk]\nid = "-k1"\n', "kiosk.id = '-k1'"),
    ('[kiosk]\nid = "k12345678901234567890123456789012"\n', "1-32 letters"),
    ('[kiosk]\ntimezone = "Asia/Shangai"\n', "time zone 'Asia/Shangai' is unknown"),
    ('[ui]\nidle_seconds = -1\n', "ui.idle_seconds = -1"),
    ('[ui]\nfullscreen = "maybe"\n', "expected true or false"),
    ('[sync]\nbroker = "mqtt://hub.example.com:1883"\n', "sync.broker"),
    ('[sync]\nbroker = "mqtts://hub.example.com"\n', "mqtts://HOST:PORT"),
    ('[devices.printer]\ntype = "laser"\n', "printer type 'laser' is unknown; use one of escpos, sim"),
    ('[devices.till]\ntype = "sim"\n', "kind 'till' must be one of card, scanner, printer"),
    ('[kiosk\nid = 1\n', "is not valid TOML"),
])
def test_a_bad_value_names_its_key_and_file(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "kiosk.toml", text)
    with pytest.raises(ConfigError) as raised:
        config.load(files=[path], environ={})
    assert message in str(raised.value) and str(path) in str(raised.value)


def test_values_from_the_environment_are_parsed_and_bad_ones_name_the_variable() -> None:
    env = {"MEMBERKIOSK_BROKER": "mqtt://127.0.0.1:1883", "MEMBERKIOSK_DATA_DIR": "/srv/k"}
    cfg = config.load(files=[], environ=env)
    assert (cfg["sync.broker"], cfg["kiosk.data_dir"]) == ("mqtt://127.0.0.1:1883", Path("/srv/k"))
    with pytest.raises(ConfigError, match=r"kiosk.id = 'shop 1' \(env MEMBERKIOSK_KIOSK_ID\)"):
        config.load(files=[], environ={"MEMBERKIOSK_KIOSK_ID": "shop 1"})
    with pytest.raises(ConfigError, match="MEMBERKIOSK_CONFIG=/nonexistent/kiosk.toml is not a file"):
        config.load(environ={"MEMBERKIOSK_CONFIG": "/nonexistent/kiosk.toml"})


def test_a_new_data_directory_without_a_configured_id_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MEMBERKIOSK_KIOSK_ID", raising=False)
    monkeypatch.setenv("MEMBERKIOSK_CONFIG", str(write(tmp_path / "kiosk.toml", "")))
    with pytest.raises(ConfigError, match="no kiosk id is configured: set kiosk.id in /etc/memberkiosk/kiosk.toml"):
        Kiosk.open(tmp_path / "data")
    write(tmp_path / "kiosk.toml", '[kiosk]\nid = "shop1-k1"\nstore_id = "shop1"\n')
    with Kiosk.open(tmp_path / "data") as kiosk:
        assert (kiosk.who.kiosk_id, kiosk.who.store_id) == ("shop1-k1", "shop1") != (socket.gethostname(), "shop1")


def test_a_data_directory_keeps_its_id_and_refuses_a_different_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MEMBERKIOSK_CONFIG", str(write(tmp_path / "kiosk.toml", "")))
    monkeypatch.delenv("MEMBERKIOSK_KIOSK_ID", raising=False)
    Kiosk.open(tmp_path / "data", kiosk_id="k1", store_id="s1").close()
    with Kiosk.open(tmp_path / "data") as kiosk:  # nothing configured: the id it was created with
        assert (kiosk.who.kiosk_id, kiosk.who.store_id) == ("k1", "s1")
    monkeypatch.setenv("MEMBERKIOSK_KIOSK_ID", "k2")
    with pytest.raises(ConfigError, match=r"kiosk.id 'k1', but kiosk.id is 'k2' \(env MEMBERKIOSK_KIOSK_ID\)"):
        Kiosk.open(tmp_path / "data")
    with pytest.raises(ConfigError, match="belongs to kiosk.store_id 's1'"):
        Kiosk.open(tmp_path / "data", kiosk_id="k1", store_id="s2")


def test_config_show_prints_each_value_and_its_layer(cli, tmp_path: Path) -> None:
    cli("settings", "--store-name", "鲜果超市")
    shown = cli("config", "show", "--json").json()
    assert shown["kiosk.id"] == {"value": "k9", "layer": "env MEMBERKIOSK_KIOSK_ID"}
    assert shown["ui.store_name"] == {"value": "鲜果超市", "layer": "document settings"}
    assert shown["kiosk.data_dir"] == {"value": str(cli.data_dir), "layer": "env MEMBERKIOSK_DATA_DIR"}
    assert shown["ui.idle_seconds"] == {"value": 60.0, "layer": "default"}
    text = cli("--data-dir", str(cli.data_dir), "config", "show").stdout
    assert [line.split() for line in text.splitlines() if line.startswith("kiosk.data_dir ")] == \
        [["kiosk.data_dir", str(cli.data_dir), "(flag)"]]  # the column is as wide as the longest key


def test_a_command_on_a_new_data_directory_without_an_id_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MEMBERKIOSK_KIOSK_ID"}
    env.update(MEMBERKIOSK_DATA_DIR=str(tmp_path / "data"), MEMBERKIOSK_CONFIG=str(write(tmp_path / "kiosk.toml", "")))
    proc = subprocess.run([_console_script(), "members", "find", "--phone", "13800138000"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and "MEMBERKIOSK_KIOSK_ID" in proc.stderr and "Traceback" not in proc.stderr
    env["MEMBERKIOSK_KIOSK_ID"] = "shop1-k1"
    created = subprocess.run([_console_script(), "members", "add", "--phone", "13800138000", "--consent", "--json"],
                             capture_output=True, text=True, env=env, timeout=60)
    assert created.returncode == 0, created.stderr
    assert '"shop1-k1-000001"' in created.stdout
