"""Play a synthesized clip, with an honest answer when this computer cannot play sound.

Why three outputs, tried in order:

1. **sounddevice** (PortAudio): ``sd.play`` is non-blocking and ``sd.stop`` is immediate, so the GUI thread
   starts and stops playback without a thread of our own. PortAudio may be missing (importing sounddevice
   raises OSError), the machine may have no output device (``query_devices(kind="output")`` raises or is
   empty: servers, containers, remote desktops), or the device may refuse the stream (``play`` raises
   PortAudioError). Each of these moves on to the next output.
2. **QtMultimedia** (QMediaPlayer + QAudioOutput on a temporary WAV): Qt's own audio stack, which finds
   devices PortAudio sometimes does not (PulseAudio/PipeWire sessions, some Windows setups). Importing it
   can fail too (e.g. libpulse is not installed), or it lists no output device.
3. **None**: :attr:`AudioPlayer.reason` says in plain words that playback is unavailable; the panel disables
   Play and keeps Export, which needs no device.

The playhead never asks the device where it is: a QTimer in the GUI thread (~30 times a second) moves it from
the time elapsed since Play (``time.monotonic``), which every output agrees with closely enough for a cursor,
and which keeps the GUI thread free of audio callbacks.

Tests pick the outputs: ``AudioPlayer(outputs=[...])`` takes the candidates to try (``[]`` means "no device"),
so "playback unavailable" is tested on any machine, and a fake output records what was played.
"""

from __future__ import annotations

import logging
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, QUrl, Signal, Slot

log = logging.getLogger(__name__)

UNAVAILABLE = "Playback is unavailable on this computer (no audio output device was found). Export still works."
TICK_MS = 33  # the playhead moves ~30 times a second


class OutputUnavailable(Exception):
    """An output cannot play on this computer; the message says why (for the log)."""


def to_int16(samples: np.ndarray) -> np.ndarray:
    """float samples in [-1, 1] → int16 PCM (clipped, so a loud clip never wraps around)."""
    return (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767.0).astype(np.int16)


class SoundDeviceOutput:
    """PortAudio through sounddevice: non-blocking ``sd.play`` / ``sd.stop``."""

    name = "sounddevice"

    def __init__(self) -> None:
        self._sd = None

    def probe(self) -> None:
        """Raise OutputUnavailable unless PortAudio loads and there is a default output device."""
        try:
            import sounddevice as sd
        except (OSError, ImportError) as exc:  # PortAudio's library is not installed
            raise OutputUnavailable(f"sounddevice: {exc}") from exc
        try:
            device = sd.query_devices(kind="output")
        except Exception as exc:  # PortAudioError (no default output) or ValueError
            raise OutputUnavailable(f"sounddevice: {exc}") from exc
        if not device or int(dict(device).get("max_output_channels", 0) or 0) < 1:
            raise OutputUnavailable("sounddevice: no output device")
        self._sd = sd

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        try:
            self._sd.play(np.asarray(samples, dtype=np.float32), int(sample_rate))
        except Exception as exc:  # PortAudioError: the device refused the stream
            raise OutputUnavailable(f"sounddevice: {exc}") from exc

    def stop(self) -> None:
        try:
            self._sd.stop()
        except Exception:  # stopping must never fail the window
            log.debug("sounddevice stop failed", exc_info=True)

    def close(self) -> None:
        self.stop()


class QtMultimediaOutput:
    """QMediaPlayer + QAudioOutput playing a temporary WAV (written with the stdlib, 16-bit PCM)."""

    name = "qtmultimedia"

    def __init__(self) -> None:
        self._player = None
        self._output = None
        self._file: Path | None = None

    def probe(self) -> None:
        try:
            from PySide6.QtMultimedia import QMediaDevices
        except (ImportError, OSError) as exc:  # e.g. libpulse.so.0 missing on a bare Linux
            raise OutputUnavailable(f"QtMultimedia: {exc}") from exc
        if not QMediaDevices.audioOutputs():
            raise OutputUnavailable("QtMultimedia: no audio output device")

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

        self.stop()
        with (
            tempfile.NamedTemporaryFile(prefix="aigc-speech-", suffix=".wav", delete=False) as handle,
            wave.open(handle, "wb") as out,
        ):
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(int(sample_rate))
            out.writeframes(to_int16(samples).tobytes())
        self._remove_file()
        self._file = Path(handle.name)
        if self._player is None:
            self._player = QMediaPlayer()
            self._output = QAudioOutput()
            self._player.setAudioOutput(self._output)
        self._player.setSource(QUrl.fromLocalFile(str(self._file)))
        self._player.play()
        if self._player.error() != QMediaPlayer.Error.NoError:
            raise OutputUnavailable(f"QtMultimedia: {self._player.errorString()}")

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()

    def _remove_file(self) -> None:
        if self._file is not None:
            self._file.unlink(missing_ok=True)
            self._file = None

    def close(self) -> None:
        self.stop()
        if self._player is not None:
            self._player.setSource(QUrl())  # let go of the file before removing it (Windows locks it)
        self._remove_file()


def default_outputs() -> list:
    return [SoundDeviceOutput(), QtMultimediaOutput()]


class AudioPlayer(QObject):
    """One clip, played from any position; the first output that works is kept.

    Signals (all in the GUI thread): ``position_changed(seconds)`` while playing and on seek,
    ``playing_changed(bool)``, ``availability_changed(bool)`` once the outputs have been probed.
    """

    position_changed = Signal(float)
    playing_changed = Signal(bool)
    availability_changed = Signal(bool)

    def __init__(self, outputs: list | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._candidates = list(outputs) if outputs is not None else None  # None: the default order, lazily
        self.output = None
        self.probed = False
        self.reason = ""  # why playback is unavailable (after probing)
        self.samples = np.zeros(0, dtype=np.float32)
        self.sample_rate = 22050
        self.position = 0.0  # seconds: where Play starts, and the playhead while playing
        self._started_at = 0.0
        self._start_position = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    # -- the output ---------------------------------------------------------------------------------------
    def probe(self) -> bool:
        """Find a working output (once). False, with :attr:`reason` set, when none works."""
        if self.probed:
            return self.output is not None
        self.probed = True
        candidates = self._candidates if self._candidates is not None else default_outputs()
        self._candidates = list(candidates)
        self._next_output()
        self.availability_changed.emit(self.output is not None)
        return self.output is not None

    def _next_output(self) -> None:
        self.output = None
        while self._candidates:
            candidate = self._candidates.pop(0)
            try:
                candidate.probe()
            except OutputUnavailable as exc:
                log.info("Audio output unavailable: %s", exc)
                continue
            except Exception:  # a broken audio stack is "no output", never a crash
                log.warning("Audio output %s failed to probe", getattr(candidate, "name", candidate), exc_info=True)
                continue
            self.output = candidate
            log.info("Audio output: %s", getattr(candidate, "name", type(candidate).__name__))
            self.reason = ""
            return
        self.reason = UNAVAILABLE

    def available(self) -> bool:
        return self.probe()

    # -- the clip -----------------------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate) if self.sample_rate else 0.0

    def load(self, samples: np.ndarray, sample_rate: int) -> None:
        """A new clip: playback stops and the playhead goes back to the start."""
        self.stop()
        self.samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self.sample_rate = int(sample_rate)
        self.seek(0.0)

    def is_playing(self) -> bool:
        return self._timer.isActive()

    @Slot()
    def toggle(self) -> None:
        if self.is_playing():
            self.stop()
        else:
            self.play()

    @Slot()
    def play(self, start: float | None = None) -> bool:
        """Play from ``start`` seconds (else from :attr:`position`, or from the beginning at the end)."""
        if not len(self.samples) or not self.probe():
            return False
        start = self.position if start is None else float(start)
        if start >= self.duration - 0.01:
            start = 0.0
        self._stop_output()
        first = int(max(0.0, start) * self.sample_rate)
        while self.output is not None:
            try:
                self.output.play(self.samples[first:], self.sample_rate)
                break
            except OutputUnavailable as exc:  # the device refused: try the next output
                log.info("Audio output failed to play: %s", exc)
                self._next_output()
            except Exception:
                log.warning("Audio output failed to play", exc_info=True)
                self._next_output()
        if self.output is None:
            self.availability_changed.emit(False)
            return False
        self._start_position = start
        self._started_at = time.monotonic()
        self.position = start
        self._timer.start()
        self.position_changed.emit(self.position)
        self.playing_changed.emit(True)
        return True

    @Slot()
    def stop(self) -> None:
        """Stop playing; the playhead stays where it was (Play goes on from there)."""
        was_playing = self.is_playing()
        self._timer.stop()
        self._stop_output()
        if was_playing:
            self.playing_changed.emit(False)

    def _stop_output(self) -> None:
        if self.output is not None:
            self.output.stop()

    @Slot(float)
    def seek(self, seconds: float) -> None:
        """Move the playhead; while playing, playback goes on from there."""
        seconds = min(max(0.0, float(seconds)), self.duration)
        if self.is_playing():
            self.play(seconds)
            return
        self.position = seconds
        self.position_changed.emit(seconds)

    @Slot()
    def _tick(self) -> None:
        position = self._start_position + (time.monotonic() - self._started_at)
        if position >= self.duration:
            self._timer.stop()
            self.position = 0.0  # the end: the next Play starts from the top
            self.position_changed.emit(0.0)
            self.playing_changed.emit(False)
            return
        self.position = position
        self.position_changed.emit(position)

    def close(self) -> None:
        self.stop()
        if self.output is not None and hasattr(self.output, "close"):
            self.output.close()
