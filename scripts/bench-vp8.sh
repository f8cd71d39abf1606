#!/usr/bin/env bash
# bench-vp8: reckit's pure-Go VP8 encoder against libvpx (one thread,
# realtime, cpu-used -8, fixed quantizer, active map from the change hints)
# on 1080p demo-desktop clips and ffmpeg's testsrc2, at PSNR matched within
# 0.3 dB. Prints a Markdown table on stdout, progress on stderr.
#
# Usage: scripts/bench-vp8.sh [vp8bench flags]   (e.g. -frames 60 -runs 5)
# Needs: go, ffmpeg, pkg-config, libvpx-dev (Debian package names).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if [[ ! -e /usr/include/vpx/vp8cx.h ]] && ! pkg-config --exists vpx 2>/dev/null; then
	missing+=(libvpx-dev)
fi
if ((${#missing[@]} > 0)); then
	echo "bench-vp8: missing Debian packages: ${missing[*]}" >&2
	echo "bench-vp8: hint: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -tags libvpx -o "$bin/vp8bench" ./record/vp8bench/cmd/vp8bench

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) on ${cpu:-unknown CPU} ($(nproc) cores), $(go version | cut -d' ' -f3),"
echo "reckit $(git describe --always --dirty 2>/dev/null || echo unknown), libvpx $(pkg-config --modversion vpx)."
echo "CPU is process CPU time (getrusage) per frame, best of the runs; PSNR is over Y, Cb and Cr."
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown; }
echo "Load average (1, 5, 15 min) at the start: $(load)."
echo
"$bin/vp8bench" "$@"
echo
echo "Load average at the end: $(load)."
