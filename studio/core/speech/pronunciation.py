"""The pronunciation dictionary: fix how a voice says brand names and unusual words.

An entry maps a word (or a short phrase) to either
- a **respelling** in ordinary letters ("Nike" -> "Nyke"), which every voice understands, or
- **IPA phonemes** in slashes ("Nike" -> "/nˈaɪki/"), exact but only for voices that read phonemes.

How each kind of voice uses it:
- trained and Piper voices read phonemes: :meth:`Dictionary.segments` splits the text into plain runs (phonemized
  by espeak-ng) and phoneme runs (used as written), so "/nˈaɪki/" reaches the model untouched;
- the espeak-ng system voice cannot read IPA. Respellings are applied to the text; a phoneme entry is
  translated to espeak's own phoneme mnemonics (``[[n'aIki]]``, which espeak reads inline) through a small
  IPA table for English. For other languages, or IPA the table does not cover, the word is spoken as
  written — a respelling is the portable choice, and the editor should say so.

The file is ``<project>/speech/pronunciation.json`` (``{"version": 1, "entries": {word: value}}``), written
atomically.
"""

from __future__ import annotations

import re
from pathlib import Path

from studio.core import untrusted
from studio.core.atomic import atomic_write_json
from studio.core.jobs import JobError

FILE = Path("speech") / "pronunciation.json"
VERSION = 1

# IPA (as espeak-ng writes it for English) -> espeak-ng's English phoneme mnemonics. Longest match first.
_IPA_TO_ESPEAK_EN = {
    "ɑːɹ": "A@",
    "ɔːɹ": "o@",
    "ɛɹ": "e@",
    "ɪɹ": "i@3",
    "ʊɹ": "U@",
    "eə": "e@",
    "ɪə": "i@",
    "ʊə": "U@",
    "aɪ": "aI",
    "eɪ": "eI",
    "ɔɪ": "OI",
    "aʊ": "aU",
    "oʊ": "oU",
    "əʊ": "@U",
    "tʃ": "tS",
    "dʒ": "dZ",
    "iː": "i:",
    "uː": "u:",
    "ɑː": "A:",
    "ɔː": "O:",
    "ɜː": "3:",
    "n̩": "n-",
    "l̩": "@L",
    "ə": "@",
    "ɚ": "3",
    "ɐ": "a#",
    "æ": "a",
    "ɑ": "A:",
    "ɒ": "0",
    "ɔ": "O:",
    "ɛ": "E",
    "e": "e",
    "ɪ": "I",
    "ᵻ": "I#",
    "i": "i",
    "ʊ": "U",
    "u": "u:",
    "ʌ": "V",
    "ɜ": "3:",
    "a": "a",
    "o": "o",
    "p": "p",
    "b": "b",
    "t": "t",
    "d": "d",
    "k": "k",
    "g": "g",
    "ɡ": "g",
    "f": "f",
    "v": "v",
    "θ": "T",
    "ð": "D",
    "s": "s",
    "z": "z",
    "ʃ": "S",
    "ʒ": "Z",
    "h": "h",
    "m": "m",
    "n": "n",
    "ŋ": "N",
    "l": "l",
    "ɹ": "r",
    "r": "r",
    "w": "w",
    "j": "j",
    "ɾ": "t#",
    "ʔ": "?",
    "x": "x",
    "ˈ": "'",
    "ˌ": ",",
    "ː": ":",
    " ": "_",
}
_IPA_KEYS = sorted(_IPA_TO_ESPEAK_EN, key=len, reverse=True)


def ipa_to_espeak(ipa: str, language: str) -> str | None:
    """espeak-ng mnemonics for an IPA string, or None when the language is not English or a symbol is unknown."""
    if not language.lower().startswith("en"):
        return None
    out, i = [], 0
    while i < len(ipa):
        for key in _IPA_KEYS:
            if ipa.startswith(key, i):
                out.append(_IPA_TO_ESPEAK_EN[key])
                i += len(key)
                break
        else:
            return None
    return "".join(out)


def is_phonemes(value: str) -> bool:
    value = value.strip()
    return len(value) > 2 and value.startswith("/") and value.endswith("/")


class Dictionary:
    """word -> respelling or "/ipa/". Matching is whole-word, case-insensitive, longest entry first."""

    def __init__(self, entries: dict[str, str] | None = None) -> None:
        self.entries: dict[str, str] = {}
        for word, value in (entries or {}).items():
            word, value = str(word).strip(), str(value).strip()
            if word and value:
                self.entries[word] = value
        keys = sorted(self.entries, key=len, reverse=True)
        self._lookup = {k.lower(): self.entries[k] for k in keys}
        self._pattern = (
            re.compile(r"(?<!\w)(" + "|".join(re.escape(k) for k in keys) + r")(?!\w)", re.IGNORECASE) if keys else None
        )

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def _sub(self, text: str, replace) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: replace(m.group(0), self._lookup[m.group(0).lower()]), text)

    def apply_respellings(self, text: str) -> str:
        """``text`` with respelled words replaced (phoneme entries are left as written)."""
        return self._sub(text, lambda word, value: word if is_phonemes(value) else value)

    def for_espeak(self, text: str, language: str) -> str:
        """Text for the espeak-ng system voice: respellings applied, phoneme entries as inline ``[[mnemonics]]``
        where :func:`ipa_to_espeak` can translate them, else the word as written."""

        def replace(word: str, value: str) -> str:
            if not is_phonemes(value):
                return value
            mnemonics = ipa_to_espeak(value.strip()[1:-1], language)
            return f"[[{mnemonics}]]" if mnemonics else word

        # Brackets typed by the user would otherwise switch espeak into phoneme input.
        return self._sub(text.replace("[[", "[ [").replace("]]", "] ]"), replace)

    def segments(self, text: str) -> list[tuple[str, str]]:
        """``[("text", "Buy "), ("phonemes", "nˈaɪki"), ("text", " shoes.")]``: respellings applied inside the
        text runs, phoneme entries as their own runs (slashes removed)."""
        if self._pattern is None:
            return [("text", text)] if text else []
        out: list[tuple[str, str]] = []
        buffer, last = [], 0
        for match in self._pattern.finditer(text):
            value = self._lookup[match.group(0).lower()]
            buffer.append(text[last : match.start()])
            last = match.end()
            if is_phonemes(value):
                if "".join(buffer):
                    out.append(("text", "".join(buffer)))
                buffer = []
                out.append(("phonemes", value.strip()[1:-1]))
            else:
                buffer.append(value)
        buffer.append(text[last:])
        if "".join(buffer):
            out.append(("text", "".join(buffer)))
        return out

    def to_json(self) -> dict:
        return {"version": VERSION, "entries": dict(sorted(self.entries.items(), key=lambda kv: kv[0].lower()))}


def dictionary_path(project_root: str | Path) -> Path:
    return Path(project_root) / FILE


# A project may come from someone else: its dictionary is read only up to a size, and each entry is bounded, so a
# sentence (at most 300 characters, studio/core/speech/text.py) cannot expand into megabytes of phonemes. Real
# dictionaries hold tens to hundreds of brand names; an entry's value is a word or two.
MAX_ENTRIES = 10_000
MAX_WORD_CHARS = 100
MAX_VALUE_CHARS = 200


def load_dictionary(project_root: str | Path | None) -> Dictionary:
    """The project's dictionary; empty when there is no project or no file yet. A damaged or oversized file
    reads as empty rather than blocking synthesis (the editor shows the entries it could read); entries over
    :data:`MAX_WORD_CHARS` / :data:`MAX_VALUE_CHARS` and those past the first :data:`MAX_ENTRIES` are dropped."""

    if project_root is None:
        return Dictionary()
    path = dictionary_path(project_root)
    try:
        data = untrusted.read_json(path, untrusted.SMALL_JSON_CAP, "the pronunciation dictionary")
    except (OSError, ValueError, JobError):
        return Dictionary()
    entries = data.get("entries", data) if isinstance(data, dict) else {}
    if not isinstance(entries, dict):
        return Dictionary()
    kept = [
        (k, v)
        for k, v in entries.items()
        if isinstance(k, str) and isinstance(v, str) and len(k) <= MAX_WORD_CHARS and len(v) <= MAX_VALUE_CHARS
    ]
    return Dictionary(dict(kept[:MAX_ENTRIES]))


def save_dictionary(project_root: str | Path, dictionary: Dictionary | dict) -> Path:
    if not isinstance(dictionary, Dictionary):
        dictionary = Dictionary(dictionary)
    return atomic_write_json(dictionary_path(project_root), dictionary.to_json())
