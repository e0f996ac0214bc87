"""ARCHITECTURE rule 1: studio.core never imports Qt, so every job runs headless (CLI, tests, torchrun).

The import statements themselves are checked by the import-linter contracts in pyproject.toml (`lint-imports`,
run by .ci/run). This test checks what a static import graph cannot see: a module loaded by name at run time
(``importlib.import_module``, as the model builders are) and a third-party package that pulls Qt in behind
its own imports (pyqtgraph would). It imports every core module and looks at what actually got loaded."""

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
