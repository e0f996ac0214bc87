"""Piper voices: a user's ``voice.onnx`` + ``voice.onnx.json`` run with onnxruntime, phonemes from espeak-ng.

Piper (VITS exported to ONNX) is the best small offline neural TTS a user is likely to already have. We follow
its ``.onnx.json`` the way Piper itself does, so a voice sounds the same here as in Piper:
- phonemes: ``phoneme_type`` "espeak" -> espeak-ng IPA for ``config["espeak"]["voice"]``, one sentence at a
  time, clause punctuation kept (a comma gets a space after it), "(en)" language-switch flags removed, then
  NFD-decomposed into code points; the ``vowel_clusters`` the config lists (newer voices: ["a", "ɪ"] -> "aɪ")
  are merged back. ``phoneme_type`` "text" uses the NFD characters of the text.
- ids: ``^`` (BOS), ``_`` (PAD), then every phoneme followed by ``_``, then ``$`` (EOS) — piper1's
  ``phonemes_to_ids``. A phoneme missing from the map is skipped and counted (Piper logs and skips it too).
- inputs: ``input`` int64 [1, N], ``input_lengths`` int64 [1], ``scales`` float32
  [noise_scale, length_scale, noise_w] from ``config["inference"]``; ``sid`` int64 [1] (speaker 0 unless asked)
  when the model takes it. Speed divides length_scale (longer phoneme durations = slower).
- output: float32 (1, 1, samples) or (1, samples) at ``config["audio"]["sample_rate"]``. Piper scales each
  sentence to full range by default (``normalize_audio``); we scale each sentence's peak to :data:`PEAK` (a
  little headroom, so the volume control's soft limiter stays idle at volume 1).

A voice may have been downloaded from anywhere, so its ``.onnx.json`` is size-capped and range-checked before it
is used (:func:`studio.core.untrusted.check_piper_config`: sample rate 8-48 kHz, length/noise scales, speakers,
phoneme map), at most :data:`~studio.core.untrusted.MAX_PIPER_IDS` ids are fed to the model at once, and a
sentence's audio longer than :func:`~studio.core.untrusted.piper_samples_cap` (1 s per phoneme id, 5 minutes at
most) is refused: before these checks a ``length_scale`` of 3,000 wrote a 56-minute WAV and a ``sample_rate`` of 1
a 5-hour one.

onnxruntime runs on the CPU with 2 intra-op threads: a desktop app shares the CPU with its own GUI and the
user's other programs, and VITS decoders gain little beyond a couple of threads for one sentence at a time.
"""

from __future__ import annotations

import re
import shutil
import threading
import unicodedata
from collections import OrderedDict
from pathlib import Path

import numpy as np

from studio.core import untrusted
from studio.core.atomic import atomic_write_bytes
from studio.core.jobs import JobError
from studio.core.speech import espeak
from studio.core.speech.text import split_sentences

PAD, BOS, EOS = "_", "^", "$"
PEAK = 0.9
INTRA_OP_THREADS = 2
_LANGUAGE_FLAGS = re.compile(r"\([^)]+\)")


def config_path_for(onnx_path: str | Path) -> Path | None:
    """``voice.onnx.json`` next to the model, else ``voice.json``; None when neither exists."""
    onnx_path = Path(onnx_path)
    for candidate in (onnx_path.with_name(onnx_path.name + ".json"), onnx_path.with_suffix(".json")):
        if candidate.is_file():
            return candidate
    return None


def _read_config(onnx_path: Path) -> tuple[dict, Path]:
    config_path = config_path_for(onnx_path)
    if config_path is None:
        raise JobError(
            f"The Piper voice {onnx_path.name} has no settings file next to it "
            f"({onnx_path.name}.json). Put the .onnx.json that came with the voice beside it."
        )
    try:
        config = untrusted.read_json(config_path, untrusted.SMALL_JSON_CAP, "the voice")
        id_map = config["phoneme_id_map"]
        sample_rate = int(config["audio"]["sample_rate"])
        if not isinstance(id_map, dict) or not all(k in id_map for k in (PAD, BOS, EOS)) or sample_rate <= 0:
            raise ValueError("incomplete phoneme_id_map")
    except (OSError, ValueError, KeyError, TypeError, OverflowError) as exc:
        raise JobError(
            f"The settings file {config_path.name} of this Piper voice is damaged or not a Piper "
            f"config ({exc}). Download the voice's .onnx.json again."
        ) from exc
    untrusted.check_piper_config(config, config_path)  # OverLimit: names the file, the value and the limit
    return config, config_path


class PiperVoice:
    """One loaded Piper voice. ``synthesize`` is safe to call from one job at a time per voice."""

    def __init__(self, onnx_path: Path, config: dict, session) -> None:
        self.path = onnx_path
        self.config = config
        self.session = session
        self.sample_rate = int(config["audio"]["sample_rate"])
        self.phoneme_type = str(config.get("phoneme_type", "espeak"))
        self.language = str(
            (config.get("espeak") or {}).get("voice") or config.get("language", {}).get("code") or "en-us"
        )
        dataset = config.get("dataset")
        quality = (config.get("audio") or {}).get("quality")
        self.name = str(dataset or onnx_path.name.removesuffix(".onnx"))
        self.quality = str(quality) if quality else ""
        self.id_map: dict[str, list[int]] = {k: [int(i) for i in v] for k, v in config["phoneme_id_map"].items()}
        # Piper merges only the vowel clusters the config lists (e.g. [["a", "ɪ"]] -> "aɪ"), longest first.
        clusters = {"".join(c) for c in (config.get("vowel_clusters") or []) if isinstance(c, (list, tuple)) and c}
        self._clusters = sorted((c for c in clusters if len(c) > 1), key=len, reverse=True)
        inference = config.get("inference") or {}
        self.noise_scale = float(inference.get("noise_scale", 0.667))
        self.length_scale = float(inference.get("length_scale", 1.0))
        self.noise_w = float(inference.get("noise_w", 0.8))
        self.num_speakers = int(config.get("num_speakers", 1) or 1)
        self.input_names = {i.name for i in session.get_inputs()}
        self.skipped: dict[str, int] = {}  # phonemes the id map lacked, with counts (the last synthesis)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, onnx_path: str | Path) -> PiperVoice:
        onnx_path = Path(onnx_path)
        if not onnx_path.is_file():
            raise JobError(f"The Piper voice {onnx_path} does not exist (moved or deleted?). Import it again.")
        config, _ = _read_config(onnx_path)
        if str(config.get("phoneme_type", "espeak")) not in ("espeak", "text"):
            kind = config.get("phoneme_type")
            raise JobError(
                f"This Piper voice uses “{kind}” phonemes, which the studio cannot produce yet; use a "
                "voice with espeak phonemes."
            )
        try:
            import onnxruntime
        except ImportError as exc:
            raise JobError("Piper voices need onnxruntime, which is not installed. Reinstall the app.") from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = INTRA_OP_THREADS
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = onnxruntime.InferenceSession(
                str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types for a broken file
            raise JobError(
                f"The Piper voice {onnx_path.name} cannot be opened: the .onnx file is damaged or "
                f"not an ONNX model. Download it again."
            ) from exc
        names = {i.name for i in session.get_inputs()}
        if not {"input", "input_lengths", "scales"} <= names:
            raise JobError(
                f"{onnx_path.name} is an ONNX model but not a Piper voice (it lacks the inputs "
                "input, input_lengths and scales)."
            )
        return cls(onnx_path, config, session)

    # -- text -> ids ----------------------------------------------------------------------------------------------
    def phonemes(self, text: str) -> list[str]:
        """Piper's phoneme list for one sentence."""
        if self.phoneme_type == "text":
            return list(unicodedata.normalize("NFD", text))

        ipa = espeak.phonemize(text, self.language)
        return self.split_phonemes(ipa)

    def split_phonemes(self, ipa: str) -> list[str]:
        """An IPA string (as espeak writes it) as Piper's list of phonemes."""
        ipa = _LANGUAGE_FLAGS.sub("", ipa)
        ipa = re.sub(r"([,:;]) *", r"\1 ", ipa).strip()  # Piper puts a space after non-final clause punctuation
        points = list(unicodedata.normalize("NFD", ipa))
        if not self._clusters:
            return points
        out, i = [], 0
        while i < len(points):
            for cluster in self._clusters:
                n = len(cluster)
                if "".join(points[i : i + n]) == cluster:
                    out.append(cluster)
                    i += n
                    break
            else:
                out.append(points[i])
                i += 1
        return out

    def ids(self, phonemes: list[str]) -> list[int]:
        """BOS, PAD, each known phoneme followed by PAD, EOS; unknown phonemes counted in :attr:`skipped`."""
        m = self.id_map
        ids = [*m[BOS], *m[PAD]]
        for phoneme in phonemes:
            if phoneme not in m:
                self.skipped[phoneme] = self.skipped.get(phoneme, 0) + 1
                continue
            ids.extend(m[phoneme])
            ids.extend(m[PAD])
        ids.extend(m[EOS])
        return ids

    # -- ids -> audio ---------------------------------------------------------------------------------------------
    def synthesize_ids(self, ids: list[int], rate: float = 1.0, speaker: int = 0) -> np.ndarray:
        """Samples for one sentence's ids, scaled to :data:`PEAK`. Refuses more than
        :data:`~studio.core.untrusted.MAX_PIPER_IDS` ids, and audio longer than the cap for that many ids (a
        model or settings file that makes minutes of sound from a few phonemes is broken or hostile)."""
        if len(ids) > untrusted.MAX_PIPER_IDS:
            raise JobError(
                f"A sentence is too long for the Piper voice {self.name}: {len(ids):,} phoneme ids, over "
                f"the limit of {untrusted.MAX_PIPER_IDS:,}; split it into shorter sentences (or shorten "
                f"the pronunciation dictionary's entries)."
            )
        scales = np.array([self.noise_scale, self.length_scale / max(0.1, float(rate)), self.noise_w], dtype=np.float32)
        feeds = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": scales,
        }
        if "sid" in self.input_names:  # Piper feeds it when num_speakers > 1; a model that demands it gets 0 anyway
            feeds["sid"] = np.array([int(speaker) if self.num_speakers > 1 else 0], dtype=np.int64)
        with self._lock:
            audio = self.session.run(None, feeds)[0]
        audio = np.asarray(audio).reshape(-1)
        cap = untrusted.piper_samples_cap(len(ids), self.sample_rate)
        if len(audio) > cap:
            raise JobError(
                f"The Piper voice {self.path} made {len(audio) / self.sample_rate:,.1f} s of audio for "
                f"{len(ids):,} phoneme ids, over the limit of {cap / self.sample_rate:,.1f} s; the voice's "
                f"model or its .onnx.json is damaged, so its audio is not used."
            )
        audio = np.nan_to_num(audio.astype(np.float32, copy=False))
        peak = float(np.abs(audio).max()) if len(audio) else 0.0
        return audio * np.float32(PEAK / peak) if peak > 1e-8 else np.zeros_like(audio)

    def synthesize(self, text: str, rate: float = 1.0, check=None, phonemes: list[str] | None = None) -> np.ndarray:
        """float32 samples at :attr:`sample_rate` for ``text`` (spoken sentence by sentence), or for a ready
        phoneme list (``phonemes``: the pronunciation dictionary's path)."""

        self.skipped = {}
        pieces = [phonemes] if phonemes is not None else [self.phonemes(s) for s in split_sentences(text)]
        out = []
        for piece in pieces:
            if check is not None:
                check()
            if piece:
                out.append(self.synthesize_ids(self.ids(piece), rate))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


# -- loaded voices, reused ----------------------------------------------------------------------------------------
_cache: OrderedDict[tuple, PiperVoice] = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 2


def cached_voice(onnx_path: str | Path) -> PiperVoice:
    """A loaded voice, reused while the files are unchanged (an ONNX session takes ~0.5 s to build)."""
    path = Path(onnx_path).resolve()
    try:
        stat = path.stat()
        config = config_path_for(path)
        cstat = config.stat() if config else None
    except OSError:
        return PiperVoice.load(path)  # gives the plain error
    key = (str(path), stat.st_size, stat.st_mtime_ns, cstat.st_mtime_ns if cstat else None)
    with _cache_lock:
        voice = _cache.get(key)
        if voice is None:
            voice = PiperVoice.load(path)
            _cache[key] = voice
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
        _cache.move_to_end(key)
        return voice


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def voice_info(onnx_path: str | Path) -> dict:
    """What the voice picker shows, read from the .onnx.json only (no model loaded)."""
    onnx_path = Path(onnx_path)
    config, _ = _read_config(onnx_path)
    name = str(config.get("dataset") or onnx_path.name.removesuffix(".onnx"))
    quality = (config.get("audio") or {}).get("quality")
    return {
        "name": name,
        "quality": str(quality or ""),
        "sample_rate": int(config["audio"]["sample_rate"]),
        "language": str((config.get("espeak") or {}).get("voice") or "en-us"),
        "speakers": int(config.get("num_speakers", 1) or 1),
    }


def voices_folder(project_root: str | Path) -> Path:
    return Path(project_root) / "voices"


def list_imported(project_root: str | Path | None) -> list[Path]:
    """The .onnx files of the project's imported voices (``<project>/voices/<name>/<name>.onnx``)."""
    if project_root is None:
        return []
    folder = voices_folder(project_root)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*/*.onnx") if config_path_for(p) is not None)


def import_piper_voice(project_root: str | Path, onnx_path: str | Path) -> str:
    """Copy a Piper voice (.onnx + its .json) into ``<project>/voices/<name>/`` and return its voice id
    (``piper:<path>``). The originals are untouched. The voice is loaded once first, so a damaged file is refused
    here, not at the first synthesis."""

    source = Path(onnx_path)
    PiperVoice.load(source)  # plain errors for a missing .json, damaged .onnx, or a non-Piper model
    config_source = config_path_for(source)
    assert config_source is not None  # PiperVoice.load refused a voice without its .onnx.json
    name = re.sub(r"[^\w.-]+", "_", source.name.removesuffix(".onnx")).strip("._") or "voice"
    folder = voices_folder(project_root) / name
    target = folder / f"{name}.onnx"
    if target.exists() and target.resolve() == source.resolve():
        return f"piper:{target}"
    folder.mkdir(parents=True, exist_ok=True)
    # The model may be ~60 MB: copy to a temporary name in the same folder, then rename (atomic).
    temp = folder / f".{name}.onnx.tmp"
    try:
        shutil.copyfile(source, temp)
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)
    atomic_write_bytes(folder / f"{name}.onnx.json", config_source.read_bytes())
    clear_cache()
    return f"piper:{target}"
