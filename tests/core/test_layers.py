"""ARCHITECTURE rule 1: studio.core never imports Qt, so every job runs headless (CLI, tests, torchrun)."""

import subprocess
import sys
import textwrap


def test_importing_every_core_module_leaves_qt_out():
    script = textwrap.dedent("""
        import importlib, pkgutil, sys
        import studio.core
        names = [m.name for m in pkgutil.walk_packages(studio.core.__path__, "studio.core.")]
        for name in names:
            importlib.import_module(name)
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6")
                        or m.startswith(("studio.ui", "studio.workers")))
        print(len(names), leaked)
        assert not leaked, leaked
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    count = int(result.stdout.split()[0])
    assert count >= 6  # the walk really found the core modules


def test_core_sources_have_no_qt_import_lines():
    from pathlib import Path

    import studio.core

    offenders = []
    for file in Path(studio.core.__path__[0]).rglob("*.py"):
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and any(
                    name in stripped for name in ("PySide6", "studio.ui", "studio.workers")):
                offenders.append(f"{file.name}:{number}: {stripped}")
    assert offenders == []
