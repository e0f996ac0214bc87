#!/usr/bin/env bash
# Build the one-folder bundle with PyInstaller and, on Linux, the .tar.gz users download.
#
#   packaging/build.sh                 # uses .venv (made by the README's Quick start line)
#   PYTHON=/path/to/python packaging/build.sh
#
# The bundle carries whatever torch the environment has. The default PyPI torch for Linux is the CUDA build
# (its nvidia-* libraries are ~2.7 GB); for a CPU-only bundle, install torch and torchaudio from
# https://download.pytorch.org/whl/cpu into the build environment first (see packaging/README.md).
# Output: dist/aigc-studio/ (the bundle), dist/aigc-studio-<version>-linux-<arch>.tar.gz, and the size of both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
"$PY" -m pip install -q 'pyinstaller>=6.10'
"$PY" packaging/make_icons.py build/icons
cp build/icons/aigc-studio.ico packaging/windows/aigc-studio.ico 2>/dev/null || true
cp build/icons/aigc-studio.icns packaging/macos/aigc-studio.icns 2>/dev/null || true
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
  packaging/aigc-studio.spec
version="$("$PY" -c 'import studio; print(studio.__version__)')"
if [ "$(uname -s)" = "Linux" ]; then
  cp packaging/linux/aigc-studio.desktop packaging/linux/install.sh build/icons/aigc-studio-256.png dist/aigc-studio/
  archive="dist/aigc-studio-${version}-linux-$(uname -m).tar.gz"
  tar -C dist -czf "$archive" aigc-studio
  echo "bundle: $(du -sh dist/aigc-studio | cut -f1)  archive: $(du -sh "$archive" | cut -f1)  ($archive)"
fi
