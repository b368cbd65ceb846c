"""Voice prompts at the customer's main steps: espeak-ng renders each once to a cached WAV, a thread plays it.

The texts are the `voice.*` keys of the UI's message catalogs, so they are translated with the rest of the screen.
Nothing here blocks the UI: `Voice.say` hands the prompt to the voice thread and returns. A kiosk without
espeak-ng or without a player logs why once and stays silent.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from kiosk.background import BackgroundLoop
from kiosk.config import VOICE_MODES
from kiosk.ui import i18n

log = logging.getLogger(__name__)

PROMPTS = ("tap_card", "scan_items", "pay", "take_receipt")  # each is catalog key voice.<prompt>
_MODE_LANG = {"zh": "zh_CN", "en": "en"}
# espeak-ng voices by UI language; "cmn" is Mandarin by name (plain "zh" could pick an MBROLA voice once one is
# installed, and renders the same as cmn without one).
VOICES = {"zh_CN": "cmn", "en": "en"}
ESPEAK = "espeak-ng"
PLAYERS: tuple[tuple[str, ...], ...] = (("aplay", "-q"), ("paplay",))  # ALSA first: a kiosk image has no sound server
RENDER_TIMEOUT_S = 30.0


class VoiceUnavailable(RuntimeError):
    """espeak-ng is missing or failed; the message says what to install or check."""


def language(mode: str, ui_lang: str) -> str | None:
    """The catalog language a prompt is spoken in under `mode` (None: silent)."""
    if mode not in VOICE_MODES:
        raise ValueError(f"voice mode '{mode}' is unknown; use one of {', '.join(VOICE_MODES)}")
    if mode == "off":
        return None
    return ui_lang if mode == "auto" else _MODE_LANG[mode]


def render(prompt: str, lang: str, cache_dir: Path, espeak: str = ESPEAK) -> Path:
    """The WAV of `prompt` in `lang`: rendered by espeak-ng the first time, then read from the cache, which is keyed
    by (prompt, language, text hash) so that an edited text renders anew."""
    if prompt not in PROMPTS or lang not in VOICES:
        raise ValueError(f"no voice prompt '{prompt}' in '{lang}'; prompts: {', '.join(PROMPTS)}, "
                         f"languages: {', '.join(VOICES)}")
    text = i18n.translate(lang, f"voice.{prompt}")
    digest = hashlib.sha256(f"{VOICES[lang]}\n{text}".encode()).hexdigest()[:16]
    path = cache_dir / f"{prompt}.{lang}.{digest}.wav"
    if path.is_file():
        return path
    exe = shutil.which(espeak)
    if exe is None:
        raise VoiceUnavailable(f"{espeak} is not installed, so voice prompts are silent: "
                               f"apt-get install espeak-ng, or set ui.voice = \"off\"")
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{prompt}.", suffix=".wav")
    os.close(fd)
    try:
        subprocess.run([exe, "-v", VOICES[lang], "-w", tmp, text], check=True, capture_output=True,
                       timeout=RENDER_TIMEOUT_S)
        os.replace(tmp, path)  # a crash mid-render never leaves a torn WAV under the cached name
    except subprocess.CalledProcessError as exc:
        raise VoiceUnavailable(f"{espeak} could not render '{prompt}' in {lang} (exit {exc.returncode}): "
                               f"{exc.stderr.decode(errors='replace').strip()}") from None
    except subprocess.TimeoutExpired:
        raise VoiceUnavailable(f"{espeak} took over {RENDER_TIMEOUT_S:.0f} s to render '{prompt}'") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    for stale in cache_dir.glob(f"{prompt}.{lang}.*.wav"):  # renders of texts since edited
        if stale != path:
            stale.unlink(missing_ok=True)
    return path


def player() -> list[str] | None:
    """The command that plays a WAV on this machine's audio output, None when it has no player."""
    for name, *args in PLAYERS:
        exe = shutil.which(name)
        if exe is not None:
            return [exe, *args]
    return None


class Voice(BackgroundLoop):
    """Speaks prompts on its own thread; a new prompt cuts the one playing and replaces one not yet begun."""

    thread_name = "voice"

    def __init__(self, mode: str, cache_dir: Path, espeak: str = ESPEAK) -> None:
        super().__init__()
        language(mode, i18n.DEFAULT_LANG)  # refuse an unknown mode here, not on the voice thread
        self.mode, self.cache_dir, self.espeak = mode, cache_dir, espeak
        self._lock = threading.Lock()
        self._pending: tuple[str, str] | None = None
        self._playing: subprocess.Popen[bytes] | None = None
        self._told: set[str] = set()

    def start(self) -> None:
        """Start the voice thread; a kiosk with voice off runs none."""
        if self.mode != "off":
            super().start()

    def stop(self) -> None:
        """Cut the prompt playing and stop the thread."""
        self._cut()
        super().stop()

    def say(self, prompt: str, ui_lang: str) -> None:
        """Speak `prompt` in the language the mode picks (any thread; returns at once)."""
        lang = language(self.mode, ui_lang)
        if lang is None:
            return
        with self._lock:
            self._pending = (prompt, lang)
        self._cut()
        self.wake()

    def speak(self, prompt: str, lang: str) -> None:
        """Render and play one prompt, waiting for it to end (the voice thread's work); failures are logged once."""
        try:
            wav = render(prompt, lang, self.cache_dir, self.espeak)
        except VoiceUnavailable as exc:
            self._tell(str(exc))
            return
        command = player()
        if command is None:
            self._tell("no audio output: neither aplay nor paplay is installed, so voice prompts are silent")
            return
        playing = subprocess.Popen([*command, str(wav)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        with self._lock:
            self._playing = playing
        _, err = playing.communicate()
        with self._lock:
            self._playing = None
        if playing.returncode > 0:  # negative: cut by a newer prompt
            said = err.decode(errors="replace").strip().splitlines() or [""]
            self._tell(f"no audio output: {Path(command[0]).name} could not play voice prompts "
                       f"(exit {playing.returncode}): {said[-1]}")

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                job, self._pending = self._pending, None
            if job is not None and not self._stop.is_set():
                self.speak(*job)

    def _cut(self) -> None:
        with self._lock:
            if self._playing is not None and self._playing.poll() is None:
                self._playing.terminate()

    def _tell(self, problem: str) -> None:
        """Log a problem once: a kiosk without audio would otherwise repeat it at every customer."""
        if problem not in self._told:
            self._told.add(problem)
            log.warning("%s", problem)
