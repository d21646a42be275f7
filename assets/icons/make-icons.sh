#!/bin/sh
# Regenerates Mohor's seal icon (a red wax seal with an "M") with ImageMagick.
# Run once after changing the drawing; the PNGs are committed and embedded
# into the binary with include_bytes!, so builds do not need ImageMagick.
set -eu
cd "$(dirname "$0")"

# Scalloped rim: r(θ) = 114 + 9·cos(12θ) around the centre (128,128).
points=$(awk 'BEGIN {
  pi = atan2(0, -1);
  for (i = 0; i < 360; i++) {
    t = i * pi / 180; r = 114 + 9 * cos(12 * t);
    printf "%.2f,%.2f ", 128 + r * cos(t), 128 + r * sin(t);
  }
}')

convert -size 256x256 xc:none \
  -fill '#9e1b1b' -stroke none -draw "polygon $points" \
  -fill none -stroke '#f3d9a4' -strokewidth 7 -draw 'circle 128,128 128,36' \
  -fill '#f3d9a4' -stroke none -font DejaVu-Sans-Bold -pointsize 118 \
  -gravity center -annotate +0+4 'M' \
  seal-256.png

convert seal-256.png -filter Lanczos -resize 64x64 PNG32:seal-64.png
rm seal-256.png
