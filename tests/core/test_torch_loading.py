"""Importing torch from a worker: its native libraries are loaded first through ctypes (GIL released)."""

import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent("""
    import sys, threading
    from studio.core import torch_loading

    loaded = torch_loading.preload_native_libraries()
    assert "torch" not in sys.modules, "the preload must not run torch's Python"
    names = sorted(p.name for p in loaded)

    worker = threading.Thread(target=torch_loading.import_torch)  # as the device detection job does
    worker.start()
    worker.join()
    import torch
    assert torch.zeros(2).sum().item() == 0.0
    print(" ".join(names))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the preload handles Linux wheels only")
def test_torch_loads_after_its_native_libraries_were_preloaded():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    names = out.stdout.split()
    assert "libtorch_global_deps.so" in names and "libtorch.so" in names


def test_a_missing_package_is_skipped():
    from studio.core import torch_loading

    assert torch_loading._package_file("no_such_package_here", "lib/x.so") is None
