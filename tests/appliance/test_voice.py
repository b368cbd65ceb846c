"""Voice prompts: each renders with the real espeak-ng to a PCM WAV that is audible and of a plausible length, the
cache spares espeak-ng a second run, "off" renders nothing, and a kiosk without espeak-ng or a player stays silent."""
from __future__ import annotations

import array
import logging
import math
import subprocess
import time
import wave
from pathlib import Path

import pytest

from kiosk import config
from kiosk.ui import voice
from kiosk.ui.voice import PROMPTS, Voice, VoiceUnavailable, language, render

MIN_S, MAX_S = 0.5, 6.0
RMS_FLOOR = 300  # of 32767: espeak-ng speech is in the thousands, silence is 0


def measure(path: Path) -> tuple[float, float]:
    """(seconds, RMS of the 16-bit samples) of a mono PCM WAV; fails unless it is one."""
    with wave.open(str(path), "rb") as wav:
        assert (wav.getcomptype(), wav.getsampwidth(), wav.getnchannels()) == ("NONE", 2, 1)
        frames, rate = wav.getnframes(), wav.getframerate()
        samples = array.array("h", wav.readframes(frames))
    return frames / rate, math.sqrt(sum(s * s for s in samples) / max(len(samples), 1))


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("prompt", PROMPTS)
def test_each_prompt_renders_to_an_audible_wav_of_a_plausible_length(tmp_path: Path, prompt: str, lang: str,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    seconds, rms = measure(render(prompt, lang, tmp_path))
    with capsys.disabled():
        print(f"\nvoice prompt {prompt:13} {lang:6} {seconds:.2f} s  rms {rms:.0f}")
    assert MIN_S <= seconds <= MAX_S
    assert rms > RMS_FLOOR


def test_a_cached_prompt_is_not_rendered_again_and_an_edited_text_is(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    first = render("pay", "en", tmp_path)
    runs: list[list[str]] = []
    real_run = subprocess.run
    monkeypatch.setattr(voice.subprocess, "run", lambda cmd, **kw: runs.append(cmd) or real_run(cmd, **kw))
    assert render("pay", "en", tmp_path) == first and runs == []
    monkeypatch.setattr(voice.i18n, "translate", lambda lang, key: "Pay here, please")
    edited = render("pay", "en", tmp_path)
    assert edited != first and len(runs) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [edited.name]  # the stale render is gone


def test_voice_off_renders_and_runs_nothing(tmp_path: Path) -> None:
    speaker = Voice("off", tmp_path / "voice")
    speaker.start()
    speaker.say("tap_card", "en")
    speaker.stop()
    assert speaker._thread is None and not (tmp_path / "voice").exists()
    assert config.load(files=[], environ={})["ui.voice"] == "off"


def test_the_mode_picks_the_language_and_config_refuses_an_unknown_one() -> None:
    assert [language(mode, "en") for mode in config.VOICE_MODES] == [None, "zh_CN", "en", "en"]
    assert language("auto", "zh_CN") == "zh_CN"
    assert config.load(files=[], environ={}, flags={"ui.voice": "auto"})["ui.voice"] == "auto"
    with pytest.raises(config.ConfigError, match="ui.voice = 'loud'.*expected one of off, zh, en, auto"):
        config.load(files=[], environ={}, flags={"ui.voice": "loud"})
    with pytest.raises(ValueError, match="use one of off, zh, en, auto"):
        Voice("loud", Path("/nonexistent"))


def test_the_shop_settings_switch_voice_prompts(cli) -> None:
    assert cli("settings", "--voice", "auto", "--json").json() == {"voice": "auto"}
    shown = cli("config", "show", "--json").json()["ui.voice"]
    assert shown == {"value": "auto", "layer": "document settings"}


def test_a_kiosk_without_espeak_ng_logs_why_once_and_stays_silent(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(VoiceUnavailable, match="no-espeak-here is not installed.*apt-get install espeak-ng"):
        render("pay", "en", tmp_path, espeak="no-espeak-here")
    speaker = Voice("auto", tmp_path, espeak="no-espeak-here")
    speaker.start()
    try:
        with caplog.at_level(logging.WARNING, logger="kiosk.ui.voice"):
            speaker.say("tap_card", "zh_CN")  # returns at once; the voice thread finds espeak-ng missing
            deadline = time.monotonic() + 5
            while not caplog.records and time.monotonic() < deadline:
                time.sleep(0.01)
            speaker.speak("pay", "en")  # the same problem again is not logged again
    finally:
        speaker.stop()
    assert [r.getMessage() for r in caplog.records] == [
        'no-espeak-here is not installed, so voice prompts are silent: apt-get install espeak-ng, '
        'or set ui.voice = "off"']
    assert list(tmp_path.iterdir()) == []


def test_a_kiosk_without_a_player_logs_that_it_has_no_audio_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(voice, "PLAYERS", (("no-player-here",),))
    with caplog.at_level(logging.WARNING, logger="kiosk.ui.voice"):
        Voice("en", tmp_path).speak("take_receipt", "en")
    assert "no audio output" in caplog.text
    assert len(list(tmp_path.glob("take_receipt.en.*.wav"))) == 1  # rendered, ready for when a speaker is fitted


def test_say_returns_at_once_and_a_new_prompt_cuts_the_one_playing(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    played = tmp_path / "played"
    # A player that notes the WAV it was given and plays for 3 s (sh puts the WAV's path in $0).
    monkeypatch.setattr(voice, "PLAYERS", (("sh", "-c", f'echo "$0" >> {played}; exec sleep 3'),))

    def heard() -> list[str]:
        return played.read_text().split() if played.exists() else []

    def until(count: int) -> None:
        deadline = time.monotonic() + 5
        while len(heard()) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    speaker = Voice("en", tmp_path / "voice")
    speaker.start()
    try:
        began = time.monotonic()
        speaker.say("scan_items", "zh_CN")
        assert time.monotonic() - began < 0.1  # the UI thread never waits for espeak-ng or the player
        until(1)
        speaker.say("pay", "zh_CN")
        until(2)
        assert time.monotonic() - began < 3  # the first prompt was cut, not played to its end
    finally:
        speaker.stop()
    assert [Path(p).name.split(".")[:2] for p in heard()] == [["scan_items", "en"], ["pay", "en"]]
