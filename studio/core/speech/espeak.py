"""espeak-ng through ctypes: THE one place the library is loaded, for phonemes and for the system voice.

Why espeak-ng: it is small, offline, speaks ~100 languages, and the ``espeakng-loader`` wheel carries
``libespeak-ng`` and its data for Linux, Windows and macOS, so nothing has to be installed on the system.
The same engine gives IPA for the trained voices and for Piper voices (see :mod:`studio.core.datasets.phonemes`),
and audio for the built-in "system" voices.

Thread safety: espeak-ng keeps its state in C globals (current voice, parameters, clause buffers, the synth
callback), so every call into the library holds one module lock (re-entrant, so a helper may call another).
Each process initializes its own copy: a forked pool worker must not reuse its parent's handle state.

``espeakINITIALIZE_DONT_EXIT`` matters: without it espeak-ng calls ``exit()`` when its data is missing and the
whole app would vanish without a word.

Synthesis runs in ``AUDIO_OUTPUT_SYNCHRONOUS`` mode: espeak opens no sound device and hands us 16-bit samples
through a callback on the calling thread, chunk by chunk. The callback returns 1 to stop synthesis, which is how
``check`` (a job's ``ctx.check``) cancels a long text: an exception cannot cross the C frames, so the callback
keeps it and :func:`synthesize` raises it once espeak has returned. (A paused job waits inside ``check`` while
holding the lock, so other espeak users wait for the resume; pausing a few-seconds synthesis is rare.)

Input flags: ``espeakCHARS_UTF8 | espeakPHONEMES | espeakENDPAUSE``. SSML is off on purpose: a designer's script
may contain "<" or "&", which must be read, not parsed. ``espeakPHONEMES`` lets the pronunciation dictionary pass
``[[n'aIki]]`` (espeak's phoneme mnemonics) inline; literal "[[" in user text is defused by the dictionary code.

espeak's output is not bit-identical from call to call (its synthesis state carries over between utterances, so
lengths wander by a few samples); tests compare durations and levels, never exact samples.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
import unicodedata
from pathlib import Path

import espeakng_loader
import numpy as np

from studio.core.jobs import JobError
from studio.core.speech.dsp import pitch_shift

SAMPLE_RATE = 22050  # replaced by espeak_Initialize's answer once the library is loaded
DEFAULT_LANGUAGE = "en-us"
# Common ISO codes users type, mapped to espeak-ng voice names where they differ.
VOICE_ALIASES = {"en": "en-us", "zh": "cmn", "zh-cn": "cmn", "zh-tw": "cmn", "pt-pt": "pt"}

_AUDIO_OUTPUT_SYNCHRONOUS = 2  # samples come to our callback; no sound device is opened
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_PHONEMES = 0x100  # lets "[[h@l'oU]]" in the text be read as espeak phoneme mnemonics
_ENDPAUSE = 0x1000  # a short pause after the text, so sentences joined later do not run into each other
_PHONEMES_IPA = 0x02
_POS_CHARACTER = 1
_EE_OK, _EE_NOT_FOUND = 0, 2
# espeak_PARAMETER
_RATE, _VOLUME, _PITCH = 1, 2, 3
# The punctuation that closed a clause: it sits at the end of the consumed text, possibly followed by closing
# quotes/brackets, whitespace, and the one character espeak reads ahead into the next clause.
_CLOSING = re.compile(r"([.,;:!?…—–。，、；：！？]+)[\"'”’»)\]」』）]*\s*\S?$")
# Full-width CJK punctuation closes clauses too; it is written back as its ASCII counterpart in the table.
_ASCII_PUNCTUATION = str.maketrans({"。": ".", "，": ",", "、": ",", "；": ";", "：": ":", "！": "!", "？": "?"})

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Voice(ctypes.Structure):
    """espeak_VOICE from speak_lib.h. ``languages`` is a run of (priority byte, NUL-terminated name) pairs
    ended by a zero byte, so it is read as a raw pointer."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


class UnknownLanguage(JobError, ValueError):
    """espeak-ng has no voice for a language. A ValueError for the phonemizer's callers, a JobError (its text
    is written for the user) for jobs."""


_lock = threading.RLock()
_engine_state: dict = {}  # {"pid": int, "engine": _Espeak | None, "error": str}


class _Espeak:
    """One initialized libespeak-ng in this process. Callers hold ``_lock``."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        data = os.fsencode(espeakng_loader.get_data_path())
        # buflength 0 = espeak's default (~60 ms of audio per callback): a cancel lands within milliseconds.
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise OSError("espeak-ng could not load its data")
        self.lib = lib
        self.data = Path(espeakng_loader.get_data_path())
        self.sample_rate = int(rate)
        self.voice: str | None = None
        self._identifiers: dict[str, str] | None = None  # language code -> voice file, from espeak_ListVoices
        self._languages: list[dict] | None = None
        # The C side keeps only a raw function pointer: the ctypes object must live as long as the library.
        self._chunks: list[np.ndarray] = []
        self._check = None
        self._stopped: BaseException | None = None
        self._callback = _SYNTH_CALLBACK(self._on_samples)
        lib.espeak_SetSynthCallback(self._callback)

    # -- voices -----------------------------------------------------------------------------------------------------
    def set_voice(self, language: str) -> None:
        """Select a voice by language code. ``espeak_SetVoiceByName`` knows voice file names ("en", "de") but not
        every language code ("en-gb" lives in the file gmw/en), so a code from :meth:`list_languages` is looked up
        to its voice file first."""
        if language == self.voice:
            return
        if self._identifiers is None:
            self.list_languages()
        identifiers = self._identifiers or {}  # list_languages() filled it
        names = [n for n in (identifiers.get(language.lower()), language) if n]
        if not any(self.lib.espeak_SetVoiceByName(n.encode("utf-8", "replace")) == _EE_OK for n in names):
            self.voice = None
            raise UnknownLanguage(
                f"espeak-ng has no voice for the language “{language}”. Pick one from the list of system voices."
            )
        self.voice = language

    def list_languages(self) -> list[dict]:
        """The usable voices, read once (the list walks ~140 voice files to drop those without a dictionary)."""
        if self._languages is None:
            self._languages = self._read_languages()
        return [dict(entry) for entry in self._languages]

    def _read_languages(self) -> list[dict]:
        voices = self.lib.espeak_ListVoices(None)
        found: dict[str, str] = {}
        identifiers: dict[str, str] = {}
        i = 0
        while voices and voices[i]:
            voice = voices[i].contents
            i += 1
            identifier = (voice.identifier or b"").decode("utf-8", "replace")
            if identifier.startswith("mb/") or not voice.languages:  # MBROLA voices need separate data files
                continue
            name = (voice.name or b"").decode("utf-8", "replace")
            # The first (highest priority) language string of the voice is its code.
            code = ctypes.string_at(voice.languages + 1).decode("utf-8", "replace")
            if code and code not in found and self._has_dictionary(identifier, code):
                found[code] = name.replace("_", " ")
                identifiers[code.lower()] = identifier
        self._identifiers = identifiers
        return sorted(({"code": c, "name": n} for c, n in found.items()), key=lambda v: (v["name"].lower(), v["code"]))

    def _has_dictionary(self, identifier: str, code: str) -> bool:
        """Whether the voice's pronunciation dictionary ships with the data: a few voice files (Faroese,
        Karakalpak, ...) name a dictionary the wheel lacks, and would speak nothing but an error on stderr.
        The dictionary is the voice file's ``dictionary`` line, else its language code before the first "-"."""
        name = code.split("-")[0]
        try:
            for line in (self.data / "lang" / identifier).read_text(encoding="utf-8", errors="replace").splitlines():
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "dictionary":
                    name = parts[1]
                    break
        except OSError:
            pass
        return (self.data / f"{name}_dict").is_file()

    # -- phonemes ---------------------------------------------------------------------------------------------------
    def phonemize(self, text: str, language: str) -> str:
        """IPA for ``text``, clause by clause, with each clause's closing punctuation put back (the call drops it,
        yet a comma or question mark is what a TTS model needs to place pauses and intonation)."""
        self.set_voice(language)
        raw = text.encode("utf-8")
        buffer = ctypes.create_string_buffer(raw)  # keeps the bytes alive while espeak walks them
        base = ctypes.addressof(buffer)
        pointer = ctypes.c_void_p(base)
        parts: list[str] = []
        consumed = 0
        while pointer.value:
            result = self.lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, _PHONEMES_IPA)
            end = pointer.value - base if pointer.value else len(raw)
            clause = (result or b"").decode("utf-8", "replace").strip()
            closing = _CLOSING.search(raw[consumed:end].decode("utf-8", "ignore"))
            consumed = end
            if clause or closing:
                parts.append(clause + (closing.group(1).translate(_ASCII_PUNCTUATION) if closing else ""))
        return " ".join(p for p in parts if p)

    # -- audio ------------------------------------------------------------------------------------------------------
    def _on_samples(self, wav, count, events) -> int:
        """espeak's synth callback: keep the chunk; return 1 to make espeak stop (Stop pressed)."""
        try:
            if wav and count > 0:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
            if self._check is not None:
                self._check()
        except BaseException as exc:  # noqa: BLE001 - an exception must not unwind through C; re-raised later
            self._stopped = exc
            return 1
        return 0

    def synthesize(self, text: str, language: str, words_per_minute: int, pitch: int, check) -> np.ndarray:
        self.set_voice(language)
        lib = self.lib
        lib.espeak_SetParameter(_RATE, words_per_minute, 0)
        lib.espeak_SetParameter(_PITCH, pitch, 0)
        lib.espeak_SetParameter(_VOLUME, 100, 0)  # gain is applied afterwards in float, where clipping is controlled
        raw = text.encode("utf-8") + b"\0"
        buffer = ctypes.create_string_buffer(raw, len(raw))
        self._chunks, self._check, self._stopped = [], check, None
        try:
            status = lib.espeak_Synth(
                buffer, len(raw), 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _PHONEMES | _ENDPAUSE, None, None
            )
            lib.espeak_Synchronize()
            if self._stopped is not None:
                raise self._stopped
            if status != _EE_OK:
                raise JobError(f"espeak-ng could not speak this text (error {status}). Try a shorter text.")
            chunks = self._chunks
        finally:
            self._chunks, self._check, self._stopped = [], None, None
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32) / 32768.0


def _engine() -> _Espeak | None:
    """This process's espeak-ng, loaded on first use; None when it cannot be loaded (the reason is kept)."""
    global SAMPLE_RATE
    with _lock:
        if _engine_state.get("pid") != os.getpid():  # a forked child must not reuse the parent's handle state
            _engine_state.clear()
            _engine_state["pid"] = os.getpid()
            try:
                _engine_state["engine"] = engine = _Espeak()
                SAMPLE_RATE = engine.sample_rate
            except (ImportError, OSError, AttributeError, RuntimeError) as exc:
                _engine_state["engine"] = None
                _engine_state["error"] = str(exc) or type(exc).__name__
        return _engine_state["engine"]


def _require() -> _Espeak:
    engine = _engine()
    if engine is None:
        raise JobError(
            "The built-in system voice is unavailable because espeak-ng could not be loaded "
            f"({error()}). Reinstall the app, or use a trained or Piper voice."
        )
    return engine


# -- public API ----------------------------------------------------------------------------------------------------
def available() -> bool:
    """True when libespeak-ng is loaded (system voices and IPA phonemes work)."""
    return _engine() is not None


def error() -> str | None:
    """Why espeak-ng could not be loaded (for a health report), or None when it works."""
    with _lock:
        return None if _engine() is not None else _engine_state.get("error", "unknown error")


def voice_for(language: str) -> str:
    """The espeak-ng voice name for a language code a user typed ("en" -> "en-us", "en_GB" -> "en-gb")."""
    language = (language or DEFAULT_LANGUAGE).strip().lower().replace("_", "-")
    return VOICE_ALIASES.get(language, language)


def list_languages() -> list[dict]:
    """``[{"code": "en-us", "name": "English (America)"}, ...]`` sorted by name; empty when espeak-ng is missing."""
    with _lock:
        engine = _engine()
        return engine.list_languages() if engine is not None else []


def phonemize(text: str, language: str = DEFAULT_LANGUAGE) -> str:
    """IPA for ``text`` ("Hello, world." -> "həlˈoʊ, wˈɜːld."). Raises :class:`UnknownLanguage` (a ValueError)
    for a language espeak-ng does not know, JobError when espeak-ng is missing."""
    text = unicodedata.normalize("NFC", text)
    with _lock:
        return _require().phonemize(text, voice_for(language))


def words_per_minute(rate: float) -> int:
    """espeak's speaking rate for a speed multiplier: 1.0 = 175 words/min, kept inside espeak's 80..450."""
    return int(round(min(450.0, max(80.0, 175.0 * float(rate)))))


# espeak's pitch parameter -> the shift it gives, in semitones against 50 (median F0 of an en-us test sentence
# measured on espeak-ng 1.51/1.52: 90.0, 93.8, 102.6, 110.2, 121.8, 135.3, 150.5, 167.0 Hz). Below ~30 the pitch
# stops falling (the voice's floor), so larger downward shifts and anything past +8.5 are finished by resampling.
_PITCH_TABLE = ((30, -2.27), (40, -1.56), (50, 0.0), (60, 1.24), (70, 2.96), (80, 4.81), (90, 6.60), (100, 8.49))


def pitch_value(semitones: float) -> tuple[int, float]:
    """espeak's pitch parameter (30..100, 50 = the voice's own) for a shift in semitones, and the semitones left
    over that espeak cannot reach (applied afterwards by :func:`studio.core.speech.dsp.pitch_shift`).

    espeak's own pitch change sounds more natural (its formants stay put), so it does as much as it can."""
    values = [v for v, _ in _PITCH_TABLE]
    shifts = [t for _, t in _PITCH_TABLE]
    wanted = float(semitones)
    reached = min(max(wanted, shifts[0]), shifts[-1])
    value = int(round(float(np.interp(reached, shifts, values))))
    return value, wanted - float(np.interp(value, values, shifts))


def apply_volume(samples: np.ndarray, volume: float) -> np.ndarray:
    """Linear gain (0..2). Louder than full scale is limited softly (tanh above 0.9) rather than hard-clipped,
    so a loud voice-over does not crackle."""
    out = np.asarray(samples, dtype=np.float32) * np.float32(max(0.0, float(volume)))
    over = np.abs(out) > 0.9
    if over.any():
        sign = np.sign(out[over])
        out[over] = sign * (0.9 + 0.1 * np.tanh((np.abs(out[over]) - 0.9) / 0.1))
    return out


def synthesize(
    text: str, language: str = DEFAULT_LANGUAGE, rate: float = 1.0, pitch: float = 0.0, volume: float = 1.0, check=None
) -> np.ndarray:
    """Speak ``text`` with espeak-ng: float32 mono in [-1, 1] at :data:`SAMPLE_RATE`.

    rate: speed multiplier (1.0 = 175 words/min); pitch: semitones (-12..+12; espeak's own pitch where it reaches,
    resampling beyond, see :func:`pitch_value`); volume: linear gain 0..2.
    ``check`` (e.g. ``ctx.check``) is called every ~60 ms of audio; whatever it raises (Cancelled) stops
    espeak and propagates. Text in ``[[...]]`` is read as espeak phoneme mnemonics (used by the pronunciation
    dictionary). Raises JobError when espeak-ng is missing or has no such language.
    """
    text = unicodedata.normalize("NFC", text)
    value, rest = pitch_value(pitch)
    with _lock:
        samples = _require().synthesize(text, voice_for(language), words_per_minute(rate), value, check)
    if abs(rest) > 0.05:
        samples = pitch_shift(samples, rest)
    return apply_volume(samples, volume)
