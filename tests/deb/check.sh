#!/usr/bin/env bash
# Checks the desktop app's Debian package as a user would get it:
#   - control fields: package name, the version of tauri.conf.json, and a
#     Depends that names the package of every library the binary links;
#   - contents: /usr/bin/telltale, the desktop entry (valid, per
#     desktop-file-validate) and an icon of the size its directory says in
#     each hicolor size the menus use;
#   - the binary, unpacked with `dpkg -x`, answers --version on stdout and
#     exits 0 without a display.
# Usage: tests/deb/check.sh PATH/TO/telltale.deb
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
fail() { printf 'deb check: %s\n' "$*" >&2; exit 1; }
ok() { printf '  ok  %s\n' "$*"; }

[ $# -eq 1 ] || fail "usage: $0 PATH/TO/telltale.deb (make test-deb builds one)"
DEB=$1
[ -f "$DEB" ] || fail "$DEB: no such file (make test-deb builds it)"
for tool in dpkg-deb objdump ldd desktop-file-validate node; do
  command -v "$tool" >/dev/null 2>&1 ||
    fail "$tool not found: run scripts/install-deps.sh (Debian: dpkg, binutils, libc-bin, desktop-file-utils, nodejs)"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- control fields ----------------------------------------------------------------
field() { dpkg-deb --field "$DEB" "$1"; }
want_version=$(node -p 'require("./tauri.conf.json").version')
[ "$(field Package)" = telltale ] || fail "Package is '$(field Package)', not telltale"
[ "$(field Version)" = "$want_version" ] ||
  fail "Version is '$(field Version)', tauri.conf.json says $want_version"
ok "Package telltale, Version $want_version"

# Package names in Depends, alternatives included, version constraints dropped.
declared=$(field Depends | tr ',|' '\n\n' | sed -E 's/\(.*\)//; s/[[:space:]]//g' | grep -v '^$' | sort -u)
[ -n "$declared" ] || fail "Depends is empty"

# --- contents ----------------------------------------------------------------------
# "MODE /absolute/path" per entry, whether the archive names them ./usr/... or usr/...
dpkg-deb --contents "$DEB" | awk '{p = $NF; sub(/^[.]?[/]?/, "/", p); print $1, p}' >"$work/contents"
has() { grep -qE "^$1 $2\$" "$work/contents"; }
has '-rwxr-xr-x' /usr/bin/telltale || fail "no executable /usr/bin/telltale in the package"
desktop_files=$(awk '$2 ~ "^/usr/share/applications/[^/]+[.]desktop$" {print $2}' "$work/contents")
[ "$(wc -w <<<"$desktop_files")" -eq 1 ] ||
  fail "want one desktop entry in /usr/share/applications, found: ${desktop_files:-none}"
ok "/usr/bin/telltale and $desktop_files"

dpkg-deb --extract "$DEB" "$work/root"
root=$work/root
entry=$root$desktop_files
desktop-file-validate "$entry" || fail "$desktop_files does not validate (above)"
key() { sed -n "s/^$1=//p" "$entry" | head -1; }
[ "$(key Exec | cut -d' ' -f1)" = telltale ] || fail "Exec=$(key Exec): want the telltale command"
[ "$(key Type)" = Application ] || fail "Type=$(key Type): want Application"
[ -n "$(key Categories)" ] || fail "no Categories: the entry would land in 'Other'"
[ "$(key StartupWMClass)" = telltale ] ||
  fail "StartupWMClass=$(key StartupWMClass): the window's WM_CLASS is telltale (from the command's name)"
icon=$(key Icon)
[ -n "$icon" ] || fail "no Icon in $desktop_files"
ok "desktop entry valid: Exec=telltale, Icon=$icon, Categories=$(key Categories)"

# png_size FILE: "WIDTHxHEIGHT" from the PNG header.
png_size() {
  [ "$(od -An -c -j1 -N3 "$1" | tr -d ' ')" = PNG ] || { echo "not-a-png"; return; }
  local w h
  w=$(od -An -tu1 -j16 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
  h=$(od -An -tu1 -j20 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
  echo "${w}x${h}"
}
for size in 32x32 48x48 64x64 128x128 256x256 512x512; do
  png=$root/usr/share/icons/hicolor/$size/apps/$icon.png
  [ -f "$png" ] || fail "no $size icon: want /usr/share/icons/hicolor/$size/apps/$icon.png"
  [ "$(png_size "$png")" = "$size" ] || fail "hicolor/$size/apps/$icon.png is $(png_size "$png")"
done
ok "hicolor icons $icon.png at 32, 48, 64, 128, 256 and 512 px"

# --- the binary: linked libraries are declared, --version answers ------------------
bin=$root/usr/bin/telltale
ldd "$bin" >"$work/ldd" || fail "ldd $bin failed: a library is missing on this machine"
missing=()
for lib in $(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}'); do
  path=$(awk -v lib="$lib" '$1 == lib && $2 == "=>" {print $3} $1 ~ "/"lib"$" {print $1}' "$work/ldd" | head -1)
  [ -n "$path" ] || fail "ldd does not resolve $lib"
  pkg=""
  for candidate in "$path" "$(readlink -f "$path")" "${path#/usr}" "/usr$path"; do
    pkg=$(dpkg-query --search "$candidate" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
  done
  [ -n "$pkg" ] || fail "$lib ($path) belongs to no Debian package here: cannot check Depends"
  grep -qxF "$pkg" <<<"$declared" || missing+=("$pkg ($lib)")
done
# The tray loads its indicator library at run time (dlopen), so it is not
# in NEEDED: its name in the binary stands for it.
if grep -qa 'libayatana-appindicator3\.so' "$bin"; then
  grep -qxF libayatana-appindicator3-1 <<<"$declared" ||
    missing+=("libayatana-appindicator3-1 (the tray's indicator, loaded at run time)")
fi
[ ${#missing[@]} -eq 0 ] ||
  fail "Depends lacks the package of linked libraries: ${missing[*]}; add them to bundle.linux.deb.depends in tauri.conf.json"
ok "Depends covers every linked library: $(field Depends)"

version_out=$(env -u DISPLAY -u WAYLAND_DISPLAY timeout 30 "$bin" --version 2>"$work/stderr") ||
  fail "telltale --version exited $?: $(cat "$work/stderr")"
[ "$version_out" = "telltale $want_version" ] ||
  fail "telltale --version printed '$version_out', want 'telltale $want_version'"
ok "unpacked /usr/bin/telltale --version: $version_out"
