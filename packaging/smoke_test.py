"""Smoke-test a built bundle: does the frozen app start, build its window and generate with its starter models?

    python packaging/smoke_test.py [dist/aigc-studio]

Runs the bundle's own executable (never the source tree) offscreen, in a throwaway home folder:

1. ``aigc-studio --self-test``: fails on a non-zero exit, on "Traceback" or "ModuleNotFoundError" anywhere in
   the output (PyInstaller's usual failure: a module imported by name that the analysis missed), or when its
   JSON does not list the five panels;
2. ``project create``, then one image from the starter GAN, one text from the starter writer, and one WAV from
   the built-in voice — each must exit 0, print no traceback and write a real file (a PNG of the model's size,
   non-empty text, a non-silent 16-bit WAV).

Prints one JSON line (each check, timings, the bundle's size) and exits 1 if any check failed. Not part of the
test suite: building the bundle takes many minutes (packaging/build.sh).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

PANELS = {"dataset", "training", "image", "text", "speech"}
BAD_WORDS = ("Traceback", "ModuleNotFoundError")


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def run(executable: Path, args: list[str], env: dict, timeout: float = 600) -> dict:
    started = time.perf_counter()
    try:
        done = subprocess.run([str(executable), *args], env=env, capture_output=True, text=True, timeout=timeout)
        code, output = done.returncode, done.stdout + done.stderr
        stdout = done.stdout
    except subprocess.TimeoutExpired as exc:
        code, output, stdout = -1, f"timed out after {timeout:.0f} s: {exc}", ""
    problems = [word for word in BAD_WORDS if word in output]
    return {
        "args": args,
        "exit": code,
        "seconds": round(time.perf_counter() - started, 2),
        "stdout": stdout,
        "ok": code == 0 and not problems,
        "problems": problems,
        "tail": output[-2000:],
    }


def last_json(text: str):
    for line in reversed(text.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


def check_wav(path: Path) -> str | None:
    try:
        with wave.open(str(path)) as handle:
            frames = handle.readframes(handle.getnframes())
            if handle.getsampwidth() != 2:
                return "not 16-bit PCM"
    except (OSError, wave.Error) as exc:
        return f"unreadable WAV ({exc})"
    import array

    samples = array.array("h", frames)
    return None if samples and max(abs(s) for s in samples) > 300 else "silent"


def main(bundle: Path) -> int:
    executable = bundle / ("aigc-studio.exe" if sys.platform == "win32" else "aigc-studio")
    if not executable.is_file():
        print(f"No bundle at {bundle}: build it with packaging/build.sh", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="aigc-smoke-") as scratch:
        home = Path(scratch)
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "AIGC_STUDIO_HOME": str(home / "home")}
        checks = {}
        self_test = run(executable, ["--self-test"], env)
        report = last_json(self_test["stdout"]) or {}
        panels = set(report.get("panels") or [])
        self_test["ok"] = self_test["ok"] and panels >= PANELS
        self_test["panels"] = sorted(panels)
        checks["self_test"] = self_test

        project = home / "Smoke"
        checks["project"] = run(executable, ["project", "create", str(project)], env)
        image = run(
            executable,
            [
                "generate",
                "image",
                "--project",
                str(project),
                "--run",
                "starter-shapes",
                "--count",
                "1",
                "--seed",
                "3",
                "--out",
                str(home / "images"),
            ],
            env,
        )
        files = (last_json(image["stdout"]) or {}).get("files") or []
        image["ok"] = image["ok"] and len(files) == 1 and Path(files[0]).stat().st_size > 100
        checks["image"] = image
        text = run(
            executable,
            [
                "generate",
                "text",
                "--project",
                str(project),
                "--run",
                "starter-shakespeare",
                "--prompt",
                "ROMEO:",
                "--max-tokens",
                "80",
                "--seed",
                "1",
            ],
            env,
        )
        text["ok"] = text["ok"] and len(text["stdout"].strip()) > 20
        checks["text"] = text
        wav_path = home / "hello.wav"
        speech = run(
            executable,
            [
                "generate",
                "speech",
                "--voice",
                "system:en",
                "--text",
                "Hello from the packaged studio.",
                "--out",
                str(wav_path),
            ],
            env,
        )
        problem = check_wav(wav_path) if speech["ok"] else None
        speech["ok"] = speech["ok"] and problem is None
        speech["problems"] += [problem] if problem else []
        checks["speech"] = speech

    summary = {
        "bundle": str(bundle),
        "bundle_bytes": folder_size(bundle),
        "ok": all(c["ok"] for c in checks.values()),
        "checks": {
            name: {k: v for k, v in c.items() if k not in ("stdout", "tail") or not c["ok"]}
            for name, c in checks.items()
        },
    }
    print(json.dumps(summary, indent=1))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "dist/aigc-studio")))
