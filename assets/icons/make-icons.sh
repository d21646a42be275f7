#!/bin/sh
# Renders Mohor's icons from the SVG sources in this folder (rsvg-convert from
# librsvg2-bin, ImageMagick's convert for the .ico). Run after changing a
# drawing; the PNGs are committed (the tray PNGs are embedded into the binary
# with include_bytes!), so builds need neither tool.
#
#   mohor.svg            the application icon (a red wax seal with an "M")
#   mohor-<state>.svg    the tray icon per state: ready, notoken, starting, signing, attention
#
# Output:
#   seal-64.png                     window icon of the dialogs
#   tray/mohor-<state>-64.png       tray icons (tray-icon scales them for the panel)
#   hicolor/<N>x<N>/apps/mohor.png  Linux icon theme sizes (Debian package)
#   mohor.ico                       Windows (16-256 px; WiX and the exe resource)
#   mohor.iconset/                  macOS: `iconutil -c icns mohor.iconset` on a Mac
set -eu
cd "$(dirname "$0")"

render() { rsvg-convert -w "$2" -h "$2" "$1" -o "$3"; }

render mohor.svg 64 seal-64.png
mkdir -p tray
for state in ready notoken starting signing attention; do
  render "mohor-$state.svg" 64 "tray/mohor-$state-64.png"
done
for n in 16 22 24 32 48 64 128 256; do
  mkdir -p "hicolor/${n}x${n}/apps"
  render mohor.svg "$n" "hicolor/${n}x${n}/apps/mohor.png"
done
mkdir -p hicolor/scalable/apps
cp mohor.svg hicolor/scalable/apps/mohor.svg
convert hicolor/16x16/apps/mohor.png hicolor/24x24/apps/mohor.png \
  hicolor/32x32/apps/mohor.png hicolor/48x48/apps/mohor.png \
  hicolor/256x256/apps/mohor.png mohor.ico
mkdir -p mohor.iconset
for n in 16 32 128 256 512; do
  render mohor.svg "$n" "mohor.iconset/icon_${n}x${n}.png"
  render mohor.svg "$((n * 2))" "mohor.iconset/icon_${n}x${n}@2x.png"
done
