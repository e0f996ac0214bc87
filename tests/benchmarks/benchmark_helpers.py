"""Helpers shared by the benchmarks."""


def time_batch_loading(monkeypatch, recipe_class) -> dict:
    """Wrap ``recipe_class.load_batch`` so ``spent["data"]`` adds up the seconds spent fetching batches."""
    import time

    spent = {"data": 0.0}
    real = recipe_class.load_batch

    def timed(self, positions):
        started = time.perf_counter()
        try:
            return real(self, positions)
        finally:
            spent["data"] += time.perf_counter() - started

    monkeypatch.setattr(recipe_class, "load_batch", timed)
    return spent


# -- pictures to import ----------------------------------------------------------------------------------------------
def _photo(args) -> None:
    """One photo-like JPEG: a smooth colour field, a few sharp-edged shapes and sensor-like noise.

    Noise is what makes it decode like a photo: flat synthetic shapes compress to ~30 KB and decode 3× faster
    than a camera picture; these come out near 230 KB at quality 90, as a 1-megapixel photo does.
    """
    import random

    import numpy as np
    from PIL import Image, ImageDraw

    path, index, side, noise = args
    rng = random.Random(index)
    field = np.random.default_rng(index).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    image = Image.fromarray(field).resize((side, side), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(20):
        x, y = rng.randrange(side), rng.randrange(side)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse([x, y, x + rng.randrange(20, 300), y + rng.randrange(20, 300)], fill=colour)
    top, left = rng.randrange(side), rng.randrange(side)  # a different window of the shared noise each time
    grain = noise[top : top + side, left : left + side]
    pixels = np.clip(np.asarray(image, dtype=np.int16) + grain, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, quality=90)


def make_photos(folder, count: int, side: int = 1024) -> list:
    """``count`` distinct photo-like ``side``×``side`` JPEGs in ``folder`` (made on every core), as paths."""
    import os
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    import numpy as np

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(0).normal(0, 6, (2 * side, 2 * side, 3)).astype(np.int16)
    jobs = [(folder / f"photo_{i:05d}.jpg", i, side, noise) for i in range(count)]
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # Pillow and numpy release the GIL for the heavy parts
        list(pool.map(_photo, jobs))
    return [job[0] for job in jobs]


# -- the import run in a fresh interpreter, from this tree or an older commit's --------------------------------------
_IMPORT_CHILD = r"""
import json, multiprocessing.forkserver, resource, sys, time
from pathlib import Path
import studio
from studio.core.datasets.importer import ImportDataset
from studio.core.jobs import run_job

source, project = Path(sys.argv[1]), Path(sys.argv[2])
if __name__ == "__main__":
    started = time.perf_counter()
    report = run_job(ImportDataset(project, "photos", [source], kind="image"))
    seconds = time.perf_counter() - started
    multiprocessing.forkserver._forkserver._stop()  # reaps the pool's parent, so its workers' CPU is counted below
    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "ok": report["ok"], "total": report["total"],
                      "studio": studio.__file__}))
"""


def import_in_subprocess(tree, source, project) -> dict:
    """Import the pictures in ``source`` into a new ``project`` with the studio found in ``tree``, in a fresh
    interpreter: the import's wall seconds (from the job's start, interpreter start-up excluded) and the CPU
    seconds of every process it used (the importing one, the fork server and its pool workers)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_CHILD, str(source), str(project)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tree),
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(result.pop("studio")).resolve().is_relative_to(Path(tree).resolve()), "ran another tree's studio"
    return result


def checkout(commit: str, target) -> bool:
    """``studio/`` as it was at ``commit``, extracted into ``target`` (False when git or the commit is missing:
    a source archive without history cannot run the side-by-side baseline)."""
    import subprocess
    import tarfile
    from io import BytesIO
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    try:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", commit, "studio"], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return False
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return True


# -- the real app in a fresh interpreter, watched from inside ----------------------------------------------------------
_APP_CHILD = r"""
import json, os, sys, time

STARTED = time.perf_counter()
SECONDS, PANEL, PANEL_AT = float(sys.argv[1]), sys.argv[2], float(sys.argv[3])
TICK = 0.010  # the probe: a 10 ms timer; a tick that comes late by X means the event loop was blocked for X

from PySide6.QtCore import QTimer
from studio.app import build_window, create_application
from studio.core.locks import set_program
from studio.logs import setup_logging

def proc_fields(pid, names):
    found = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in names:
                    found[key] = int(rest.split()[0])
    except OSError:
        pass
    return found

def descendants():
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            parents[int(entry)] = proc_fields(entry, ("PPid",)).get("PPid")
    found, frontier = [], [os.getpid()]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found

def cpu_of(pid):  # user + system seconds of a live process, from /proc/<pid>/stat
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0

setup_logging()
app = create_application()
set_program("the AIGC Studio app")
window = build_window()
shown = time.perf_counter()
QTimer.singleShot(0, window.detect_devices)  # what studio.app.main does next
QTimer.singleShot(0, window.restore_last_project)
if PANEL:
    QTimer.singleShot(int(PANEL_AT * 1000), lambda: window.show_panel(PANEL))

def jobs():
    return [runner.title for runner in window.registry.running()]

state = {"last": None, "gaps": [], "samples": [], "peak_children_kb": 0, "children_cpu": {}}

DUMP = open(os.environ["AIGC_STALL_DUMP"], "a") if os.environ.get("AIGC_STALL_DUMP") else None
if DUMP:  # every thread's stack whenever the loop misses 40 ms (faulthandler's own thread needs no GIL)
    import faulthandler

def tick():
    now = time.perf_counter()
    if DUMP:
        faulthandler.dump_traceback_later(0.04 + TICK, file=DUMP)
    if state["last"] is not None:
        # the sampler's own time in this GUI thread (reading /proc for every process) is the benchmark's, not the app's
        late = now - state["last"] - TICK - state.pop("sampling", 0.0)
        if late > 0.02:
            state["gaps"].append((round(now - shown, 2), round(late * 1000, 1), jobs()))
        state.setdefault("worst", 0.0)
        state["worst"] = max(state["worst"], late)
        state["ticks"] = state.get("ticks", 0) + 1
    state["last"] = now

def sample():
    began = time.perf_counter()
    try:
        take_sample()
    finally:
        state["sampling"] = state.get("sampling", 0.0) + time.perf_counter() - began

def take_sample():
    kids = descendants()
    children_kb = sum(proc_fields(pid, ("VmRSS",)).get("VmRSS", 0) for pid in kids)
    state["peak_children_kb"] = max(state["peak_children_kb"], children_kb)
    for pid in kids:
        state["children_cpu"][pid] = cpu_of(pid)
    times = os.times()
    state["samples"].append({
        "t": round(time.perf_counter() - shown, 1),
        "rss_mb": round(proc_fields("self", ("VmRSS",))["VmRSS"] / 1024, 1),
        "children_rss_mb": round(children_kb / 1024, 1),
        "cpu_s": round(times.user + times.system, 2),
        "jobs": jobs(),
    })

def finish():
    sample()
    times = os.times()
    status = proc_fields("self", ("VmHWM", "VmRSS"))
    print(json.dumps({
        "window_shown_s": round(shown - STARTED, 3),
        "seconds": SECONDS,
        "panel": PANEL or None,
        "peak_rss_mb": round(status["VmHWM"] / 1024, 1),
        "final_rss_mb": round(status["VmRSS"] / 1024, 1),
        "peak_children_rss_mb": round(state["peak_children_kb"] / 1024, 1),
        "cpu_s": round(times.user + times.system, 2),
        "children_cpu_s": round(times.children_user + times.children_system + sum(state["children_cpu"].values()), 2),
        "worst_stall_ms": round(state.get("worst", 0.0) * 1000, 1),
        "probe_ticks": state.get("ticks", 0),
        "stalls_over_20ms": sorted(state["gaps"], key=lambda g: -g[1])[:10],
        "timeline": state["samples"],
        "project": window.project.name if window.project else None,
        "current_panel": window.current_panel_id,
    }), flush=True)
    os._exit(0)  # the figures are out; closing the window is another benchmark's business

probe = QTimer()
probe.setInterval(int(TICK * 1000))
probe.timeout.connect(tick)
probe.start()
sampler = QTimer()
sampler.setInterval(1000)
sampler.timeout.connect(sample)
sampler.start()
QTimer.singleShot(int(SECONDS * 1000), finish)
app.exec()
"""


def run_app(home, seconds: float, panel: str = "", panel_at: float = 1.0) -> dict:
    """Start the real app offscreen in a fresh interpreter with ``home`` as its studio home (an empty one is a
    user's first launch: the demo project is built), show ``panel`` ``panel_at`` seconds after the window,
    and let it run ``seconds``. Returns what the app measured about itself: peak RSS (VmHWM) and that of its
    child processes, CPU seconds, the longest stall of a 10 ms timer probe (the event loop blocked) with the
    jobs running at each stall over 20 ms, and a once-a-second timeline of memory, CPU and running jobs.
    With ``AIGC_STALL_DUMP=FILE`` set, every thread's stack is written to FILE at each stall over 40 ms."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "AIGC_STUDIO_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-c", _APP_CHILD, str(seconds), panel, str(panel_at)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(repo),
        timeout=seconds + 120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


STYLES = {"flat": ((245, 240, 230), (235, 110, 40)), "outline": ((20, 30, 60), (60, 210, 230))}  # background, ink


def two_styles(root, count: int = 24, size: int = 144, seed: int = 0):
    """A project with image datasets "flat" and "outline": the same kind of shapes (circles and squares), filled
    orange on cream and outlined cyan on navy — two styles the code draws, so a style-transfer check needs no
    download. Returns the project folder."""
    import numpy as np
    from PIL import Image, ImageDraw

    from studio.core.datasets.importer import ImportDataset
    from studio.core.jobs import run_job

    rng = np.random.default_rng(seed)
    for style, (background, ink) in STYLES.items():
        folder = root / "drop" / style
        folder.mkdir(parents=True)
        for i in range(count):
            picture = Image.new("RGB", (size, size), background)
            r = rng.uniform(0.18, 0.32) * size
            cx, cy = rng.uniform(r + 1, size - r - 1, 2)
            box = (cx - r, cy - r, cx + r, cy + r)
            shape = ImageDraw.Draw(picture).ellipse if rng.integers(2) else ImageDraw.Draw(picture).rectangle
            if style == "flat":
                shape(box, fill=ink)
            else:
                shape(box, outline=ink, width=max(2, size // 16))
            picture.save(folder / f"{i}.png")
    project = root / "Bench"
    for style in STYLES:
        run_job(ImportDataset(project, style, [root / "drop" / style], kind="image", workers=1))
    return project
