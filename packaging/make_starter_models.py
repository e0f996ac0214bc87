"""Train and export the starter models shipped in models/ (each under 20 MB, with a model card).

    .venv/bin/python packaging/make_starter_models.py                 # both
    .venv/bin/python packaging/make_starter_models.py --only text     # or: --only image
    .venv/bin/python packaging/make_starter_models.py --work /tmp/starter --out models

- ``starter-shakespeare`` (Text writer): the writer's "fast" GPT (nanoGPT's CPU configuration: 4 layers,
  4 heads, 128 wide, 64-character window, character tokens) on tiny Shakespeare, which is in the public
  domain (Shakespeare's plays, as collected by Andrej Karpathy for char-rnn).
- ``starter-shapes`` (Image canvas): the "fast" class-conditional DCGAN at 32 px on 1,800 pictures of circles,
  squares and triangles that this script draws itself (studio.core.demo.draw_shapes), so the data's licence
  is the project's own (MIT).

The Speech panel needs no starter model: its built-in espeak-ng voices speak at once.

It runs the same commands a user would (project create, dataset import, train), in a work folder, then
reduces each run with :func:`studio.core.generation.starter.export_starter`. Training is seeded, so a rerun on
the same machine and versions gives the same weights; on other hardware the numbers differ slightly.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHAKESPEARE = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
SHAPES_PER_CLASS = 600

STARTERS = {
    "text": {
        "name": "starter-shakespeare",
        "dataset": "shakespeare",
        "train": ["--model", "gpt", "--preset", "fast"],
        "card": {
            "title": "Shakespeare writer (starter)",
            "description": "A small character-level GPT that writes in the style of Shakespeare's plays. It shows "
            "what the Text writer does before you train a writer on your own copy.",
            "data": "tiny Shakespeare: 40,000 lines of Shakespeare's plays (1.1 MB), as collected for char-rnn",
            "data_licence": "public domain (the plays); the collection is distributed freely with char-rnn and nanoGPT",
            "licence": "MIT (the weights, like the rest of AIGC Studio)",
        },
    },
    "image": {
        "name": "starter-shapes",
        "dataset": "shapes",
        "train": ["--model", "gan", "--preset", "fast", "--set", "resolution=32", "--steps", "12000"],
        "card": {
            "title": "Shapes (starter)",
            "description": "A small class-conditional DCGAN (12,000 steps of the fast preset) that draws coloured "
            "circles, squares and triangles at 32 px. It shows what the Image canvas does before you train on your "
            "own pictures.",
            "data": f"{3 * SHAPES_PER_CLASS} pictures of circles, squares and triangles drawn by this script "
            "(studio.core.demo.draw_shapes, seed 11)",
            "data_licence": "MIT (drawn by AIGC Studio's own code)",
            "licence": "MIT (the weights, like the rest of AIGC Studio)",
        },
    },
}


def studio(*args: str) -> str:
    """Run an ``aigc-studio`` command (the one the user would type) and return its stdout."""
    command = [sys.executable, "-m", "studio", *args]
    print("$ aigc-studio", " ".join(args), flush=True)
    return subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout


def make_data(kind: str, work: Path, shakespeare: Path) -> Path:
    if kind == "text":
        if not shakespeare.is_file():
            raise SystemExit(f"tiny Shakespeare not found at {shakespeare}; pass --shakespeare PATH")
        return shakespeare
    from studio.core.demo import draw_shapes
    from studio.core.jobs import JobContext

    folder = work / "shapes"
    draw_shapes(folder, random.Random(11), JobContext(), per_class=SHAPES_PER_CLASS)
    return folder


def card_for(kind: str, seconds: float) -> dict:
    """The model card's hand-written part: what the data is, its licence, how to train it again."""
    spec = STARTERS[kind]
    return {
        **spec["card"],
        "trained_with": f"aigc-studio train {' '.join(spec['train'])} (dataset “{spec['dataset']}”)",
        "retrain": f"python packaging/make_starter_models.py --only {kind}",
        "training_time": f"{seconds / 60:.0f} min on {platform.machine()} with {os.cpu_count()} CPU cores "
        f"(device chosen automatically; no GPU unless one was present)",
    }


def build(kind: str, work: Path, out: Path, shakespeare: Path) -> dict:
    from studio.core.generation.starter import export_starter

    spec = STARTERS[kind]
    project = work / f"project-{kind}"
    if not (project / "project.json").exists():
        studio("project", "create", str(project))
    if not (project / "datasets" / spec["dataset"]).exists():
        studio(
            "dataset",
            "import",
            "--project",
            str(project),
            "--name",
            spec["dataset"],
            str(make_data(kind, work, shakespeare)),
        )
    started = time.time()
    run_id = studio("train", "--project", str(project), "--dataset", spec["dataset"], *spec["train"]).split()[0]
    result = export_starter(project / "runs" / run_id, out / spec["name"], card_for(kind, time.time() - started))
    print(json.dumps({k: result[k] for k in ("name", "parameters", "trained_steps", "bytes")}), flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(STARTERS), help="build one starter model")
    parser.add_argument("--work", type=Path, default=Path("/tmp/aigc-starter-work"), help="scratch folder")
    parser.add_argument("--out", type=Path, default=ROOT / "models", help="where the starter models go")
    parser.add_argument("--shakespeare", type=Path, default=SHAKESPEARE, help="tinyshakespeare.txt")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    args.work.mkdir(parents=True, exist_ok=True)
    for kind in [args.only] if args.only else list(STARTERS):
        build(kind, args.work, args.out, args.shakespeare)
    return 0


if __name__ == "__main__":
    sys.exit(main())
