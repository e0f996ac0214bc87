#!/usr/bin/env bash
# macOS: build "AIGC Studio.app" (packaging/build.sh makes it through the spec's BUNDLE step) and wrap it in a
# compressed .dmg with an Applications link. Unsigned: for distribution outside a team, sign and notarize
# with `codesign --deep --options runtime` and `xcrun notarytool` (needs an Apple Developer ID).
set -euo pipefail
cd "$(dirname "$0")/../.."
packaging/build.sh
version="$(${PYTHON:-.venv/bin/python} -c 'import studio; print(studio.__version__)')"
staging="build/dmg"
rm -rf "$staging" && mkdir -p "$staging"
cp -R "dist/AIGC Studio.app" "$staging/"
ln -s /Applications "$staging/Applications"
hdiutil create -volname "AIGC Studio" -srcfolder "$staging" -ov -format UDZO "dist/aigc-studio-${version}-macos.dmg"
du -sh "dist/AIGC Studio.app" "dist/aigc-studio-${version}-macos.dmg"
