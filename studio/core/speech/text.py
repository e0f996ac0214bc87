"""Split text into sentences: the unit a voice speaks, the unit progress and cancel step through, and the span
the panel highlights.

Why sentences: attention-based TTS models drift on long inputs, Piper and espeak intonation is per sentence, and a
sentence is short enough that Stop answers quickly. Rules, kept simple and predictable:
- a blank line always ends a chunk; a single line break inside a paragraph is just a space;
- a sentence ends after . ! ? … (and their CJK forms), plus closing quotes/brackets, before whitespace;
- not after common abbreviations ("Mr.", "e.g.") or a single capital initial ("J. Smith");
- a chunk longer than :data:`MAX_CHARS` is cut at the last comma/semicolon/colon, else at a space, so no voice
  is fed a paragraph in one breath.
"""

from __future__ import annotations

import re

MAX_CHARS = 300
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "sr",
    "jr",
    "st",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "eg",
    "ie",
    "fig",
    "approx",
    "inc",
    "ltd",
    "co",
    "mt",
    "u.s",
    "a.m",
    "p.m",
}
_END = re.compile(r"[.!?…。！？]+[\"'”’»)\]」』）]*(?=\s|$)|[。！？]+[\"'”’»)\]」』）]*")


def _is_abbreviation(before: str) -> bool:
    word = re.search(r"([\w.]+)\.?$", before)
    if not word:
        return False
    token = word.group(1).rstrip(".").lower()
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha() and before[-2:-1].isupper())


def _cut_long(chunk: str) -> list[str]:
    out = []
    while len(chunk) > MAX_CHARS:
        head = chunk[:MAX_CHARS]
        cut = max(head.rfind(","), head.rfind(";"), head.rfind(":"))
        if cut < MAX_CHARS // 3:
            cut = head.rfind(" ")
        if cut <= 0:
            cut = MAX_CHARS - 1
        out.append(chunk[: cut + 1].strip())
        chunk = chunk[cut + 1 :].strip()
    if chunk:
        out.append(chunk)
    return out


def split_sentences(text: str) -> list[str]:
    """Sentence-ish chunks of ``text``, punctuation kept, empty ones dropped."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text or ""):
        paragraph = " ".join(paragraph.split())
        start = 0
        for match in _END.finditer(paragraph):
            if match.group(0).startswith(".") and _is_abbreviation(paragraph[start : match.start() + 1]):
                continue
            sentences.extend(_cut_long(paragraph[start : match.end()].strip()))
            start = match.end()
        sentences.extend(_cut_long(paragraph[start:].strip()))
    return [s for s in sentences if s and any(ch.isalnum() for ch in s)]
