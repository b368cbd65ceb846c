"""The running kiosk sends notices in the background when a gateway is configured, and not otherwise."""
from __future__ import annotations

import json

from kiosk.runtime import DeviceRuntime
from kiosk.services.members import Registration
from tests.conftest import wait_until


def test_the_kiosk_queues_and_sends_in_the_background_with_a_gateway_set(kiosk, tmp_path, monkeypatch):
    sent = tmp_path / "sms.jsonl"
    conf = tmp_path / "kiosk.toml"
    conf.write_text(f'[notify]\ngateway = "file"\nfile = "{sent}"\n', encoding="utf-8")
    monkeypatch.setenv("MEMBERKIOSK_CONFIG", str(conf))
    with DeviceRuntime.start(kiosk, {}) as runtime:
        assert runtime.notices is not None and [f.name for f in runtime.followers.followers] == ["facts", "notices"]
        kiosk.members.register(Registration(phone="13800138000", consent=True, name="张三"))
        wait_until(lambda: sent.exists() and sent.read_text(encoding="utf-8"), 10, "the welcome message")
    line = json.loads(sent.read_text(encoding="utf-8"))
    assert line["phone"] == "13800138000" and line["template"] == "registered" and "张三" in line["text"]
    assert sent.stat().st_mode & 0o777 == 0o600


def test_without_a_gateway_setting_nothing_runs(kiosk, tmp_path, monkeypatch):
    conf = tmp_path / "kiosk.toml"
    conf.write_text('[ui]\nstore_name = "鲜果超市"\n', encoding="utf-8")
    monkeypatch.setenv("MEMBERKIOSK_CONFIG", str(conf))  # not the machine's /etc file
    with DeviceRuntime.start(kiosk, {}) as runtime:
        assert runtime.notices is None
        assert "notices" not in [f.name for f in (runtime.followers.followers if runtime.followers else [])]
