"""Text to phonemes for speech models: IPA from espeak-ng, and phoneme ids over one fixed symbol table.

Why phonemes: a small TTS model trained on a few minutes of one voice cannot also learn English spelling
("though", "through", "tough"). espeak-ng turns text into IPA with its rules and dictionaries, so the
model only has to learn how each sound is said. The library comes from the ``espeakng-loader`` wheel (it
carries ``libespeak-ng`` and its data), so it works offline and needs nothing installed on the system;
we call its C API through ctypes.

When espeak-ng cannot be loaded (a platform without the wheel, a broken install) :func:`phonemize` falls
back to the lower-cased characters of the text and :func:`espeak_available` says so; a cache built that
way records ``"phonemizer": "characters"`` so a model is never trained on one kind and run on the other.

Thread safety: espeak-ng keeps its state in globals (current voice, clause buffers), so every call into
the library holds one module lock. Each process initializes its own copy (pool workers included).

Punctuation: ``espeak_TextToPhonemes`` returns one clause at a time and drops the punctuation that ended
it, yet a comma or question mark is exactly what a TTS model needs to place pauses and intonation. We
therefore look at the text the call consumed and put the clause's closing punctuation back after its
phonemes: "Hello, world?" -> "həlˈoʊ, wˈɜːld?".
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
import unicodedata

# -- the symbol table ----------------------------------------------------------------------------------------------
# Ids are positions in SYMBOLS. The table is append-only: a model's embedding rows are indexed by these ids,
# so reordering or removing a symbol would silently scramble every trained speech model. Bump
# SYMBOLS_VERSION when appending; caches store it and are rebuilt when it changes.
PAD, BOS, EOS, UNK = "_", "^", "$", "<unk>"
_SPECIALS = (PAD, BOS, EOS, UNK, " ")
_PUNCTUATION = tuple("!'(),-.:;?\"") + ("…", "—", "–", "¡", "¿", "«", "»")
_DIGITS = tuple("0123456789")  # espeak writes tones as digits for tonal languages (Mandarin: "ni2χˈɑu2")
_LATIN = tuple("abcdefghijklmnopqrstuvwxyz")  # many are IPA letters too; the character fallback uses them all
_IPA = tuple(
    "æçðøħŋœǀǁǂǃɐɑɒɓɔɕɖɗɘəɚɛɜɝɞɟɠɡɢɣɤɥɦɧɨɪɫɬɭɮɯɰɱɲɳɴɵɶɸɹɺɻɽɾʀʁʂʃʄʈʉʊʋʌʍʎʏʐʑʒʔʕʘʙʛʜʝʟʡʢ"
    "ʦʧʤʨʥɚɝᵻβθχʲʰʷˠˤⁿ"
)
_MARKS = ("ˈ", "ˌ", "ː", "ˑ", "˞", "↓", "↑", "→", "↗", "↘", "|", "‖")
# Combining diacritics (after NFD decomposition "ã" is "a" + U+0303): nasal, syllabic, non-syllabic,
# dental, voiceless, tie bar, lowered/raised/retracted/advanced, breathy, creaky, more/less rounded, and
# the accents the character fallback meets in European languages.
_COMBINING = ("\u0303", "\u0329", "\u032f", "\u032a", "\u0325", "\u0361", "\u031e", "\u031d", "\u0320",
              "\u031f", "\u0324", "\u0330", "\u0339", "\u031c", "\u0300", "\u0301", "\u0302", "\u0304",
              "\u0306", "\u0308", "\u030a", "\u030c", "\u0327", "\u0328")


def _unique(symbols: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(symbols))


SYMBOLS: tuple[str, ...] = _unique(_SPECIALS + _PUNCTUATION + _DIGITS + _LATIN + _IPA + _MARKS + _COMBINING)
SYMBOLS_VERSION = 1
SYMBOL_TO_ID: dict[str, int] = {s: i for i, s in enumerate(SYMBOLS)}
PAD_ID, BOS_ID, EOS_ID, UNK_ID = (SYMBOL_TO_ID[s] for s in (PAD, BOS, EOS, UNK))

DEFAULT_LANGUAGE = "en-us"
# Common ISO codes users type, mapped to espeak-ng voice names where they differ.
_VOICE_ALIASES = {"en": "en-us", "zh": "cmn", "zh-cn": "cmn", "zh-tw": "cmn", "ja": "ja", "pt-pt": "pt"}

# -- espeak-ng through ctypes ------------------------------------------------------------------------------------
_AUDIO_OUTPUT_SYNCHRONOUS = 2  # we never synthesize audio; this mode allocates no sound device
_INITIALIZE_DONT_EXIT = 0x8000  # without it, espeak-ng calls exit() when its data is missing: the app would vanish
_CHARS_UTF8 = 1
_PHONEMES_IPA = 0x02
# The punctuation that closed a clause: it sits at the end of the consumed text, possibly followed by closing
# quotes/brackets, whitespace, and the one character espeak reads ahead into the next clause.
_CLOSING = re.compile(r"([.,;:!?…—–。，、；：！？]+)[\"'”’»)\]」』）]*\s*\S?$")
# Full-width CJK punctuation closes clauses too; it is written back as its ASCII counterpart in the table.
_ASCII_PUNCTUATION = str.maketrans({"。": ".", "，": ",", "、": ",", "；": ";", "：": ":", "！": "!", "？": "?"})

_lock = threading.Lock()
_engine_state: dict = {}  # {"pid": int, "engine": _Espeak | None, "error": str}


class _Espeak:
    """One initialized libespeak-ng in this process. Callers hold ``_lock``."""

    def __init__(self) -> None:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        data = os.fsencode(espeakng_loader.get_data_path())
        if lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INITIALIZE_DONT_EXIT) <= 0:
            raise OSError("espeak-ng could not load its data")
        self.lib = lib
        self.voice: str | None = None

    def set_voice(self, language: str) -> None:
        if language == self.voice:
            return
        if self.lib.espeak_SetVoiceByName(language.encode("ascii", "replace")) != 0:
            raise ValueError(f"espeak-ng has no voice for the language “{language}”.")
        self.voice = language

    def phonemize(self, text: str, language: str) -> str:
        """IPA for ``text``, clause by clause, with each clause's closing punctuation put back."""
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


def _engine() -> _Espeak | None:
    """This process's espeak-ng, loaded on first use; None when it cannot be loaded (the reason is kept)."""
    if _engine_state.get("pid") != os.getpid():  # a forked child must not reuse the parent's handle state
        _engine_state.clear()
        _engine_state["pid"] = os.getpid()
        try:
            _engine_state["engine"] = _Espeak()
        except (ImportError, OSError, AttributeError, RuntimeError) as exc:
            _engine_state["engine"] = None
            _engine_state["error"] = str(exc) or type(exc).__name__
    return _engine_state["engine"]


# -- public API ----------------------------------------------------------------------------------------------------
def espeak_available() -> bool:
    """True when espeak-ng is loaded and phonemize returns IPA; False means the character fallback is used."""
    with _lock:
        return _engine() is not None


def espeak_error() -> str | None:
    """Why espeak-ng could not be loaded (for a health report), or None when it works."""
    with _lock:
        return None if _engine() is not None else _engine_state.get("error", "unknown error")


def phonemizer_name() -> str:
    """"espeak-ng" or "characters": recorded with every speech cache and checkpoint."""
    return "espeak-ng" if espeak_available() else "characters"


def voice_for(language: str) -> str:
    language = (language or DEFAULT_LANGUAGE).strip().lower().replace("_", "-")
    return _VOICE_ALIASES.get(language, language)


def phonemize(text: str, language: str = DEFAULT_LANGUAGE) -> str:
    """IPA for ``text`` via espeak-ng ("Hello, world." -> "həlˈoʊ, wˈɜːld."), or, when espeak-ng is not
    available, the normalized characters of the text (see :func:`espeak_available`).

    Raises ValueError when espeak-ng is available but has no voice for ``language``.
    """
    text = unicodedata.normalize("NFC", text)
    with _lock:
        engine = _engine()
        if engine is not None:
            return engine.phonemize(text, voice_for(language))
    return characters(text)


def characters(text: str) -> str:
    """The character fallback: lower-case, whitespace collapsed. Letters map to the Latin symbols of the
    table, so a model can still learn (less well) from spelling."""
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def symbols_to_ids(phonemes: str, bos_eos: bool = False) -> list[int]:
    """Ids of a phoneme string over :data:`SYMBOLS`. The string is NFD-decomposed so an accented letter
    becomes its base letter plus a combining mark, both in the table. Unknown symbols map to ``UNK_ID``
    rather than vanishing, so lengths stay honest and a health check can count them."""
    ids = [SYMBOL_TO_ID.get(ch, UNK_ID) for ch in unicodedata.normalize("NFD", phonemes)]
    return [BOS_ID, *ids, EOS_ID] if bos_eos else ids


def phoneme_ids(text: str, language: str = DEFAULT_LANGUAGE, bos_eos: bool = False) -> list[int]:
    """``symbols_to_ids(phonemize(text, language))``: what a speech model's text encoder reads."""
    return symbols_to_ids(phonemize(text, language), bos_eos=bos_eos)


def ids_to_symbols(ids: list[int]) -> str:
    """The inverse of :func:`symbols_to_ids` for display (UNK shows as "<unk>")."""
    return "".join(SYMBOLS[i] if 0 <= i < len(SYMBOLS) else UNK for i in ids)
