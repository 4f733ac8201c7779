#!/usr/bin/env bash
# Renders the app icon, src-tauri/icons/telltale.svg, to the PNGs that
# tauri.conf.json lists (the .deb installs them under
# /usr/share/icons/hicolor/<size>/apps/telltale.png; the 128 px one is also the
# window icon). The PNGs are committed: only a change to the SVG needs this
# script, and it needs rsvg-convert (Debian: librsvg2-bin).
#
# 32 and 48 px are drawn with a thicker line, a larger lamp and a 1 px rim, so
# they stay legible in a panel or a menu; larger sizes are the SVG as drawn.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ICONS=src-tauri/icons
SVG=$ICONS/telltale.svg

command -v rsvg-convert >/dev/null 2>&1 ||
  { echo 'icons.sh: rsvg-convert not found: apt-get install librsvg2-bin' >&2; exit 1; }

small_css=$(mktemp --suffix=.css)
trap 'rm -f "$small_css"' EXIT
cat >"$small_css" <<'CSS'
#pulse { stroke-width: 50px; }
#lamp { r: 70px; }
#tile { stroke-width: 16px; }
CSS

# render SIZE FILE [STYLESHEET]
render() {
  rsvg-convert --width "$1" --height "$1" ${3:+--stylesheet "$3"} "$SVG" --output "$ICONS/$2"
  echo "  $ICONS/$2"
}

render 32 32x32.png "$small_css"
render 48 48x48.png "$small_css"
render 64 64x64.png
render 128 128x128.png
render 256 256x256.png
render 512 icon.png
# Tauri's conventional name for the 256 px rendering of 128 px at scale 2 (macOS,
# Windows); the .deb does not list it, its bundler would file it under 256x256@2.
render 256 128x128@2x.png
