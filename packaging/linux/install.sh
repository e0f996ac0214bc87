#!/usr/bin/env bash
# Put the unpacked bundle on the menu: a launcher for this user, pointing at this folder (nothing needs root).
# Run from the unpacked folder:  ./install.sh      Undo:  ./install.sh --remove
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/256x256/apps"
if [ "${1:-}" = "--remove" ]; then
  rm -f "$apps/aigc-studio.desktop" "$icons/aigc-studio.png"
  echo "AIGC Studio removed from the menu (this folder is left as it is)."
  exit 0
fi
mkdir -p "$apps" "$icons"
cp "$here/aigc-studio-256.png" "$icons/aigc-studio.png"
sed "s|^Exec=aigc-studio-gui|Exec=\"$here/aigc-studio-gui\"|" "$here/aigc-studio.desktop" > "$apps/aigc-studio.desktop"
echo "AIGC Studio is in your applications menu. Or start it here: $here/aigc-studio-gui"
