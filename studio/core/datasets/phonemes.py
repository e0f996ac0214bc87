"""Text to phonemes for speech models: IPA from espeak-ng, and phoneme ids over one fixed symbol table.

Why phonemes: a small TTS model trained on a few minutes of one voice cannot also learn English spelling
("though", "through", "tough"). espeak-ng turns text into IPA with its rules and dictionaries, so the
model only has to learn how each sound is said. The library comes from the ``espeakng-loader`` wheel (it
carries ``libespeak-ng`` and its data), so it works offline and needs nothing installed on the system;
the engine (ctypes, one lock, per-process init) lives in :mod:`studio.core.speech.espeak`, shared with the
built-in system voice; this module is the phoneme side of it.

When espeak-ng cannot be loaded (a platform without the wheel, a broken install) :func:`phonemize` falls
back to the lower-cased characters of the text and :func:`espeak_available` says so; a cache built that
way records ``"phonemizer": "characters"`` so a model is never trained on one kind and run on the other.

Punctuation: espeak-ng drops the punctuation that ends a clause, yet a comma or question mark is exactly
what a TTS model needs to place pauses and intonation, so the engine puts it back after the clause's
phonemes: "Hello, world?" -> "həlˈoʊ, wˈɜːld?".
"""

from __future__ import annotations

import unicodedata

from studio.core.speech import espeak as _espeak

# -- the symbol table ----------------------------------------------------------------------------------------------
# Ids are positions in SYMBOLS. The table is append-only: a model's embedding rows are indexed by these ids,
# so reordering or removing a symbol would silently scramble every trained speech model. Bump
# SYMBOLS_VERSION when appending; caches store it and are rebuilt when it changes.
PAD, BOS, EOS, UNK = "_", "^", "$", "<unk>"
_SPECIALS = (PAD, BOS, EOS, UNK, " ")
_PUNCTUATION = (*"!'(),-.:;?\"", "…", "—", "–", "¡", "¿", "«", "»")
_DIGITS = tuple("0123456789")  # espeak writes tones as digits for tonal languages (Mandarin: "ni2χˈɑu2")
_LATIN = tuple("abcdefghijklmnopqrstuvwxyz")  # many are IPA letters too; the character fallback uses them all
_IPA = tuple("æçðøħŋœǀǁǂǃɐɑɒɓɔɕɖɗɘəɚɛɜɝɞɟɠɡɢɣɤɥɦɧɨɪɫɬɭɮɯɰɱɲɳɴɵɶɸɹɺɻɽɾʀʁʂʃʄʈʉʊʋʌʍʎʏʐʑʒʔʕʘʙʛʜʝʟʡʢʦʧʤʨʥɚɝᵻβθχʲʰʷˠˤⁿ")
_MARKS = ("ˈ", "ˌ", "ː", "ˑ", "˞", "↓", "↑", "→", "↗", "↘", "|", "‖")
# Combining diacritics (after NFD decomposition "ã" is "a" + U+0303): nasal, syllabic, non-syllabic,
# dental, voiceless, tie bar, lowered/raised/retracted/advanced, breathy, creaky, more/less rounded, and
# the accents the character fallback meets in European languages.
_COMBINING = (
    "\u0303",
    "\u0329",
    "\u032f",
    "\u032a",
    "\u0325",
    "\u0361",
    "\u031e",
    "\u031d",
    "\u0320",
    "\u031f",
    "\u0324",
    "\u0330",
    "\u0339",
    "\u031c",
    "\u0300",
    "\u0301",
    "\u0302",
    "\u0304",
    "\u0306",
    "\u0308",
    "\u030a",
    "\u030c",
    "\u0327",
    "\u0328",
)


def _unique(symbols: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(symbols))


SYMBOLS: tuple[str, ...] = _unique(_SPECIALS + _PUNCTUATION + _DIGITS + _LATIN + _IPA + _MARKS + _COMBINING)
SYMBOLS_VERSION = 1
SYMBOL_TO_ID: dict[str, int] = {s: i for i, s in enumerate(SYMBOLS)}
PAD_ID, BOS_ID, EOS_ID, UNK_ID = (SYMBOL_TO_ID[s] for s in (PAD, BOS, EOS, UNK))

DEFAULT_LANGUAGE = _espeak.DEFAULT_LANGUAGE
_VOICE_ALIASES = _espeak.VOICE_ALIASES


def _engine():
    """The process's espeak-ng engine (see :mod:`studio.core.speech.espeak`), or None when it cannot load.
    A seam: tests replace it to exercise the character fallback."""
    return _espeak._engine()


# -- public API ----------------------------------------------------------------------------------------------------
def espeak_available() -> bool:
    """True when espeak-ng is loaded and phonemize returns IPA; False means the character fallback is used."""
    return _engine() is not None


def espeak_error() -> str | None:
    """Why espeak-ng could not be loaded (for a health report), or None when it works."""
    return None if _engine() is not None else _espeak.error()


def phonemizer_name() -> str:
    """ "espeak-ng" or "characters": recorded with every speech cache and checkpoint."""
    return "espeak-ng" if espeak_available() else "characters"


voice_for = _espeak.voice_for


def phonemize(text: str, language: str = DEFAULT_LANGUAGE) -> str:
    """IPA for ``text`` via espeak-ng ("Hello, world." -> "həlˈoʊ, wˈɜːld."), or, when espeak-ng is not
    available, the normalized characters of the text (see :func:`espeak_available`).

    Raises ValueError when espeak-ng is available but has no voice for ``language``.
    """
    if _engine() is not None:
        return _espeak.phonemize(text, language)
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
