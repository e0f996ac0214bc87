import io

import numpy as np
import soundfile

from studio.core.datasets.base import ImportOptions
from studio.core.datasets.fixes import drop_flagged, reimport, remove_near_duplicates, trim_silence
from studio.core.datasets.importer import ImportDataset
from studio.core.datasets.manifest import Manifest
from studio.core.jobs import run_job


def _wav(seconds_silence: float, seconds_tone: float, rate=22050) -> bytes:
    silence = np.zeros(int(seconds_silence * rate), np.float32)
    t = np.arange(int(seconds_tone * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    buffer = io.BytesIO()
    soundfile.write(buffer, np.concatenate([silence, tone, silence]), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def test_trim_silence_shortens_clips_and_undo_restores_them(tmp_path):
    drop = tmp_path / "voice"
    drop.mkdir()
    (drop / "a.wav").write_bytes(_wav(1.0, 1.0))
    options = ImportOptions(trim_silence=False)
    run_job(ImportDataset(tmp_path / "P", "voice", [drop], kind="audio", options=options))
    manifest = Manifest.load(tmp_path / "P" / "datasets" / "voice")
    before = manifest.usable()[0]
    assert trim_silence(manifest) == 1
    after = manifest.usable()[0]
    assert after["item"] != before["item"] and (manifest.folder / before["item"]).is_file()
    samples, rate = soundfile.read(manifest.folder / after["item"])
    assert 1.0 <= len(samples) / rate <= 1.2
    assert manifest.undo() == "trim silence"
    assert manifest.usable()[0] == before


def test_reimport_with_a_chosen_encoding(tmp_path):
    drop = tmp_path / "copy"
    drop.mkdir()
    text = "简洁的设计，优良的品质。" * 3
    (drop / "a.txt").write_bytes(text.encode("gb18030"))
    run_job(ImportDataset(tmp_path / "P", "copy", [drop], kind="text"))
    manifest = Manifest.load(tmp_path / "P" / "datasets" / "copy")
    entry = manifest.usable()[0]
    wrong = reimport(manifest, entry["id"], ImportOptions(text_encoding="latin-1"))
    assert wrong["meta"]["encoding"] == "latin-1"
    assert (manifest.folder / wrong["item"]).read_text(encoding="utf-8") != text
    assert manifest.undo() == "re-import"
    right = reimport(manifest, entry["id"], ImportOptions(text_encoding="gb18030"))
    assert (manifest.folder / right["item"]).read_text(encoding="utf-8").strip() == text


def test_drop_flagged_and_near_duplicates_are_undoable(tmp_path):
    from PIL import Image

    drop = tmp_path / "imgs"
    drop.mkdir()
    base = Image.new("RGB", (128, 128), (30, 60, 200))
    base.paste((250, 250, 0), (20, 20, 80, 80))
    base.save(drop / "a.png")
    base.resize((120, 120)).save(drop / "b.png")  # near-duplicate of a.png
    Image.new("RGB", (20, 20), (9, 9, 9)).save(drop / "tiny.png")  # flagged: smaller than 64 px
    run_job(ImportDataset(tmp_path / "P", "imgs", [drop]))
    manifest = Manifest.load(tmp_path / "P" / "datasets" / "imgs")
    assert remove_near_duplicates(manifest) == 1
    assert len(manifest.usable()) == 2
    assert drop_flagged(manifest) == 1
    assert len(manifest.usable()) == 1
    assert manifest.undo() == "drop flagged" and manifest.undo() == "remove near-duplicates"
    assert len(manifest.usable()) == 3


def test_a_reimported_picture_keeps_its_near_duplicate_flag(tmp_path):
    from PIL import Image

    drop = tmp_path / "imgs"
    drop.mkdir()
    base = Image.new("RGB", (128, 128), (30, 60, 200))
    base.paste((250, 250, 0), (20, 20, 80, 80))
    base.save(drop / "a.png")
    base.resize((120, 120)).save(drop / "b.png")  # near-duplicate of a.png
    run_job(ImportDataset(tmp_path / "P", "imgs", [drop]))
    manifest = Manifest.load(tmp_path / "P" / "datasets" / "imgs")
    flagged = next(e for e in manifest.usable() if e.get("flags"))
    assert any(f.startswith("near-duplicate of") for f in flagged["flags"])
    again = reimport(manifest, flagged["id"], ImportOptions(max_item_side=100))  # its own checks run again
    assert again["flags"] == flagged["flags"]  # the comparison with the other picture still holds
    assert remove_near_duplicates(manifest) == 1


def test_the_trim_job_reports_progress_and_a_cancelled_run_changes_nothing(tmp_path):
    from studio.core.datasets.fixes import TrimSilence
    from studio.core.jobs import Cancelled, JobContext

    drop = tmp_path / "voice"
    drop.mkdir()
    for i in range(3):
        (drop / f"{i}.wav").write_bytes(_wav(0.5 + i * 0.1, 1.0))
    run_job(ImportDataset(tmp_path / "P", "voice", [drop], kind="audio", options=ImportOptions(trim_silence=False)))
    folder = tmp_path / "P" / "datasets" / "voice"
    before = (folder / "manifest.json").read_bytes()

    seen = []
    ctx = JobContext(on_progress=lambda f, m: (seen.append(m), ctx.cancel() if len(seen) == 2 else None))
    try:
        TrimSilence(folder)(ctx)
        raise AssertionError("the job should have been cancelled")
    except Cancelled:
        pass
    assert (folder / "manifest.json").read_bytes() == before

    progress = []
    assert TrimSilence(folder)(JobContext(on_progress=lambda f, m: progress.append(m))) == {"trimmed": 3}
    assert progress[0] == "Clip 1 of 3" and Manifest.load(folder).history[-1]["action"] == "trim silence"
