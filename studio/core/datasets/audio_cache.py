"""The audio cache: log-mel frames, int16 samples and phoneme ids of every usable clip, concatenated.

Layout: ``cache/audio-<rate>-<mels>-<hop>/`` with mels.f16, audio.i16, phonemes.u16, index.npz (offsets) and
cache.json (the sidecar). The mels are :class:`studio.core.speech.mel.MelFrontEnd`'s, the one front end the
speech models share; consistency and damage checks are :mod:`studio.core.datasets.cache_common`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from studio.core.datasets import audio, phonemes
from studio.core.datasets.base import AUDIO
from studio.core.datasets.cache_common import (
    CACHE_SCHEMA,
    TRAIN_SPLIT,
    VAL_SPLIT,
    _announce_damage,
    _announce_refused,
    _cache_state,
    _flush,
    _load_manifest,
    _load_npz,
    _npz_bytes,
    _open_array,
    _read_sidecar,
    _require_current,
    _split_codes,
    _Staged,
    _staged,
    cache_root,
    manifest_fingerprint,
)
from studio.core.datasets.manifest import Manifest
from studio.core.jobs import JobContext, JobError
from studio.core.speech.mel import MEL_FLOOR, NORMALIZATION, MelFrontEnd


def audio_cache_folder(dataset_folder: str | Path, sample_rate: int, n_mels: int, hop_length: int) -> Path:
    return cache_root(dataset_folder) / f"audio-{sample_rate}-{n_mels}-{hop_length}"


MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 4_000, 192_000


def _sample_rate(value: object) -> int:
    """The dataset's sample rate (22050 when unset). It comes from the manifest, which may have been edited:
    a rate of 10⁹ would make every clip a gigabyte when resampled, so anything outside 4–192 kHz is refused."""
    if value is None or value == "":
        return 22050
    try:
        rate = int(value)  # type: ignore[call-overload]  # any value: the except turns a non-number into 0
    except (TypeError, ValueError, OverflowError):
        rate = 0
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise JobError(
            f"The dataset's sample rate {str(value)[:20]} Hz is outside 4,000–192,000 Hz, so its audio "
            "is not prepared: import the clips again."
        )
    return rate


def read_clip(path: Path, sample_rate: int) -> np.ndarray:
    """A mono int16 clip at ``sample_rate``: items already are (import normalizes them); hand-made datasets
    are mixed down and resampled here."""

    try:
        samples, rate = soundfile.read(str(path), dtype="int16", always_2d=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise JobError(f"The clip {path.name} cannot be read ({exc}): import the dataset again.") from exc
    if samples.shape[1] == 1 and rate == sample_rate:
        return np.ascontiguousarray(samples[:, 0])
    mono = samples.astype(np.float32).mean(axis=1) / 32768.0
    if rate != sample_rate:
        mono = audio.resample(mono, int(rate), sample_rate)
    return audio.to_int16(mono)


class BuildAudioCache:
    """Job: log-mel frames, int16 samples and phoneme ids of every usable clip, concatenated with offsets.

    Concatenated arrays + offsets instead of one file per clip: a training batch is a few slices of one
    memmap, and a dataset of 10,000 clips is 4 files, not 30,000.

    When only transcripts changed since the last build (an edit in the clip list or ``dataset transcript``), the
    sidecar's ``sound_fingerprint`` still matches and only the phoneme ids are rewritten (:meth:`_update_transcripts`).
    """

    title = "Preparing audio for training"

    def __init__(
        self,
        dataset_folder: str | Path,
        n_mels: int = 80,
        sample_rate: int | None = None,
        hop_length: int = 256,
        win_length: int = 1024,
        n_fft: int = 1024,
        f_min: float = 0.0,
        f_max: float | None = 8000.0,
        language: str | None = None,
        force: bool = False,
    ) -> None:
        self.folder = Path(dataset_folder)
        self.n_mels, self.sample_rate = n_mels, sample_rate
        self.hop_length, self.win_length, self.n_fft = hop_length, win_length, n_fft
        self.f_min, self.f_max, self.language, self.force = f_min, f_max, language, force

    def _params(self, manifest: Manifest) -> dict:
        rate = _sample_rate(self.sample_rate or manifest.options.get("sample_rate"))
        return {
            "sample_rate": rate,
            "n_mels": self.n_mels,
            "n_fft": self.n_fft,
            "hop_length": self.hop_length,
            "win_length": self.win_length,
            "f_min": self.f_min,
            "f_max": self.f_max,
            "language": self.language or manifest.options.get("language") or phonemes.DEFAULT_LANGUAGE,
            "phonemizer": phonemes.phonemizer_name(),
            "symbols_version": phonemes.SYMBOLS_VERSION,
        }

    def __call__(self, ctx: JobContext) -> dict:
        manifest, entries = _load_manifest(self.folder, AUDIO)
        params = self._params(manifest)
        target = audio_cache_folder(self.folder, params["sample_rate"], self.n_mels, self.hop_length)
        fingerprint = manifest_fingerprint(entries)
        current, damage = _cache_state(target / "cache.json", AUDIO, fingerprint, params)
        if not self.force and current:
            ctx.progress(1.0, "The audio cache is up to date")
            return _announce_refused(ctx, manifest, {"path": str(target), "up_to_date": True})
        previous = None if self.force or damage else _read_sidecar(target / "cache.json", AUDIO)
        if previous is not None and _only_transcripts_changed(previous, entries, params):
            result = self._update_transcripts(target, previous, entries, params, fingerprint, ctx)
            return _announce_refused(ctx, manifest, result)
        _announce_damage(ctx, "audio", damage)
        front = MelFrontEnd(
            params["sample_rate"], self.n_mels, self.n_fft, self.hop_length, self.win_length, self.f_min, self.f_max
        )
        with _staged(target) as staged:
            offsets, phoneme_strings = self._write_clips(staged, manifest, entries, params, front, ctx)
            staged.bytes(
                "index.npz",
                _npz_bytes(
                    mel_offsets=np.array(offsets["mel"], np.int64),
                    audio_offsets=np.array(offsets["audio"], np.int64),
                    phoneme_offsets=np.array(offsets["phonemes"], np.int64),
                    split=_split_codes(entries),
                ),
            )
            info = {
                "kind": AUDIO,
                "schema": CACHE_SCHEMA,
                "params": params,
                "fingerprint": fingerprint,
                "sound_fingerprint": sound_fingerprint(entries),
                "normalization": NORMALIZATION,
                "mel_floor": MEL_FLOOR,
                "frames": offsets["mel"][-1],
                "samples": offsets["audio"][-1],
                "phoneme_count": offsets["phonemes"][-1],
                "ids": [e["id"] for e in entries],
                "transcripts": [e.get("transcript") for e in entries],
                "phonemes": phoneme_strings,
            }
            ctx.check()
            staged.commit(target / "cache.json", info)
        ctx.progress(1.0, f"{len(entries)} clips ready for training")
        result = {
            "path": str(target),
            "up_to_date": False,
            "clips": len(entries),
            "frames": offsets["mel"][-1],
            "with_phonemes": sum(1 for p in phoneme_strings if p),
            "phonemizer": params["phonemizer"],
        }
        if damage:
            result["damaged"] = damage
        return _announce_refused(ctx, manifest, result)

    def _write_clips(
        self,
        staged: _Staged,
        manifest: Manifest,
        entries: list[dict],
        params: dict,
        front: MelFrontEnd,
        ctx: JobContext,
    ) -> tuple[dict[str, list[int]], list[str | None]]:
        """Stream every clip's mel frames, samples and phoneme ids to the staged files; returns the offsets
        (N + 1 each) and the phoneme strings. The files are closed before the caller commits them."""
        import torch

        offsets = {"mel": [0], "audio": [0], "phonemes": [0]}
        phoneme_strings: list[str | None] = []
        with (
            open(staged.temp_for("mels.f16"), "wb") as mels,
            open(staged.temp_for("audio.i16"), "wb") as clips,
            open(staged.temp_for("phonemes.u16"), "wb") as symbols,
            torch.inference_mode(),
        ):
            for number, entry in enumerate(entries):
                ctx.check()
                ctx.progress(number / len(entries), f"{number} of {len(entries)} clips")
                samples = read_clip(manifest.item_path(entry), params["sample_rate"])
                mel = front(torch.from_numpy(samples.astype(np.float32) / 32768.0))  # (n_mels, T)
                mels.write(mel.T.contiguous().numpy().astype(np.float16).tobytes())  # (T, n_mels) rows
                clips.write(samples.astype("<i2").tobytes())
                text, ids = _transcript_phonemes(entry.get("transcript"), params["language"])
                symbols.write(np.asarray(ids, np.uint16).tobytes())
                phoneme_strings.append(text)
                offsets["mel"].append(offsets["mel"][-1] + mel.shape[-1])
                offsets["audio"].append(offsets["audio"][-1] + len(samples))
                offsets["phonemes"].append(offsets["phonemes"][-1] + len(ids))
            for handle in (mels, clips, symbols):
                _flush(handle)
        return offsets, phoneme_strings

    def _update_transcripts(
        self, target: Path, previous: dict, entries: list[dict], params: dict, fingerprint: str, ctx: JobContext
    ) -> dict:
        """Rewrite the phoneme ids, the index and the sidecar of a cache whose clips are unchanged but whose
        transcripts were edited; the mel frames and samples stay. A transcript the cache already phonemized is
        not phonemized again (espeak-ng: 0.08 ms a line measured here, a second for LJSpeech's 13,100 lines), so
        one edit costs one phonemization plus a rewrite of 2 bytes per phoneme, not a read and mel pass over every
        clip (40 clips of 3 s, measured: 4–5 ms instead of 60–125 ms for a full rebuild, torch already warm)."""
        known = _known_phonemes(previous)
        offsets, strings = [0], []
        with _staged(target) as staged:
            with open(staged.temp_for("phonemes.u16"), "wb") as symbols:
                for number, entry in enumerate(entries):
                    ctx.check()
                    ctx.progress(number / len(entries), f"Transcript {number} of {len(entries)}")
                    transcript = entry.get("transcript")
                    if transcript in known:
                        text = known[transcript]
                        ids = phonemes.symbols_to_ids(text) if text else []
                    else:
                        text, ids = _transcript_phonemes(transcript, params["language"])
                    symbols.write(np.asarray(ids, np.uint16).tobytes())
                    strings.append(text)
                    offsets.append(offsets[-1] + len(ids))
                _flush(symbols)
            index = _load_npz(target / "index.npz")
            staged.bytes(
                "index.npz",
                _npz_bytes(
                    mel_offsets=index["mel_offsets"],
                    audio_offsets=index["audio_offsets"],
                    phoneme_offsets=np.array(offsets, np.int64),
                    split=_split_codes(entries),
                ),
            )
            info = {
                **previous,
                "fingerprint": fingerprint,
                "phoneme_count": offsets[-1],
                "transcripts": [e.get("transcript") for e in entries],
                "phonemes": strings,
            }
            ctx.check()
            staged.commit(target / "cache.json", info, keep=("mels.f16", "audio.i16"))
        ctx.progress(1.0, f"Transcripts of {len(entries)} clips updated for training")
        return {
            "path": str(target),
            "up_to_date": False,
            "transcripts_only": True,
            "clips": len(entries),
            "frames": int(previous["frames"]),
            "with_phonemes": sum(1 for p in strings if p),
            "phonemizer": params["phonemizer"],
        }


def sound_fingerprint(entries: list[dict]) -> str:
    """:func:`manifest_fingerprint` with the transcripts left out: what the mel frames and samples depend on.
    When only this one still matches a cache, a transcript was edited and only the phonemes are stale."""
    return manifest_fingerprint([{**e, "transcript": None} for e in entries])


def _only_transcripts_changed(previous: dict, entries: list[dict], params: dict) -> bool:
    """The cache (whole, checked by the caller) holds these very clips with these parameters; only text differs.
    Caches built before the sound fingerprint was recorded have none, and are rebuilt in full."""
    return (
        previous.get("params") == params
        and previous.get("sound_fingerprint") == sound_fingerprint(entries)
        and previous.get("ids") == [e["id"] for e in entries]
        and isinstance(previous.get("frames"), int)
    )


def _known_phonemes(previous: dict) -> dict[str, str | None]:
    """{transcript: phoneme string} from a cache's sidecar, for the transcripts it phonemized with the same
    parameters. Anything that is not text is skipped (the sidecar may have been edited): it is phonemized anew."""
    texts, strings = previous.get("transcripts"), previous.get("phonemes")
    if not isinstance(texts, list) or not isinstance(strings, list) or len(texts) != len(strings):
        return {}
    return {
        t: p for t, p in zip(texts, strings, strict=True) if isinstance(t, str) and (p is None or isinstance(p, str))
    }


def _transcript_phonemes(transcript: str | None, language: str) -> tuple[str | None, list[int]]:
    if not transcript:
        return None, []
    try:
        text = phonemes.phonemize(transcript, language)
    except ValueError as exc:
        raise JobError(f"{exc} Choose another language for this dataset.") from exc
    return text, phonemes.symbols_to_ids(text)


@dataclass
class AudioCache:
    """An opened audio cache. ``mel(i)`` is (T, n_mels) float16, ``clip(i)`` int16 samples, ``phoneme_ids(i)``
    uint16 ids over :data:`studio.core.datasets.phonemes.SYMBOLS` (empty when the clip has no transcript)."""

    folder: Path
    mels: np.ndarray  # (total_frames, n_mels) float16 memmap
    audio: np.ndarray  # (total_samples,) int16 memmap
    phonemes: np.ndarray  # (total_symbols,) uint16
    mel_offsets: np.ndarray
    audio_offsets: np.ndarray
    phoneme_offsets: np.ndarray
    split: np.ndarray
    info: dict

    @classmethod
    def open(
        cls,
        dataset_folder: str | Path,
        n_mels: int = 80,
        sample_rate: int | None = None,
        hop_length: int = 256,
        verify: bool = True,
    ) -> AudioCache:
        """Open a built cache; ``sample_rate`` defaults to the dataset's (manifest options, else 22050)."""
        if sample_rate is None:
            sample_rate = _sample_rate(Manifest.load(Path(dataset_folder)).options.get("sample_rate"))
        folder = audio_cache_folder(dataset_folder, sample_rate, n_mels, hop_length)
        info = _require_current(
            _read_sidecar(folder / "cache.json", AUDIO), folder / "cache.json", Path(dataset_folder), verify
        )
        if info["params"]["n_mels"] != n_mels:  # the folder name says one size, the sidecar another
            raise JobError(
                f"The training cache at {folder} is damaged (its mel size does not match its folder): "
                "prepare the dataset again to rebuild it."
            )
        index = _load_npz(folder / "index.npz")
        return cls(
            folder,
            _open_array(folder / "mels.f16", np.float16, (int(info["frames"]), n_mels)),
            _open_array(folder / "audio.i16", np.int16, (int(info["samples"]),)),
            _open_array(folder / "phonemes.u16", np.uint16, (int(info["phoneme_count"]),)),
            index["mel_offsets"],
            index["audio_offsets"],
            index["phoneme_offsets"],
            index["split"],
            info,
        )

    def __len__(self) -> int:
        return len(self.mel_offsets) - 1

    @property
    def train_indices(self) -> np.ndarray:
        return np.flatnonzero(self.split == TRAIN_SPLIT)

    @property
    def val_indices(self) -> np.ndarray:
        return np.flatnonzero(self.split == VAL_SPLIT)

    def mel(self, i: int) -> np.ndarray:
        return self.mels[self.mel_offsets[i] : self.mel_offsets[i + 1]]

    def clip(self, i: int) -> np.ndarray:
        return self.audio[self.audio_offsets[i] : self.audio_offsets[i + 1]]

    def phoneme_ids(self, i: int) -> np.ndarray:
        return self.phonemes[self.phoneme_offsets[i] : self.phoneme_offsets[i + 1]]

    def has_transcript(self, i: int) -> bool:
        return self.phoneme_offsets[i + 1] > self.phoneme_offsets[i]
