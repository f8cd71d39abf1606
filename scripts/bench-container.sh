#!/usr/bin/env bash
# bench-container.sh: time reckit's container commands (info, split, join,
# repair) side by side with the tools a user would compare them with (cat,
# cp, mkvinfo, mkvmerge, ffmpeg) on a >= 1 GiB 1080p VP8 WebM.
#
# Every measurement is repeated BENCH_REPS times (default 5). Within one
# repetition the competing commands run one after the other (round-robin, the
# starting tool rotating each repetition), so background load on a shared
# machine hits all of them alike; the ratios are the meaningful numbers, the
# absolute seconds depend on the machine and its load. Before every timed run,
# untimed: the previous output is removed, dirty pages are flushed (sync) and
# the input is read once (cat) so it is in the page cache.
#
# Wall time is taken with bash's EPOCHREALTIME around /usr/bin/time (1 us
# resolution; /usr/bin/time's own %e, 10 ms resolution, is kept in the raw
# file); peak RSS is /usr/bin/time's %M (KiB); CPU time is %U + %S (user +
# system seconds), which background load disturbs far less than wall time.
# Besides the ratio of the medians, each table gives the median of the
# per-round ratios (tool time / reference time within the same round).
#
# Prints one Markdown table per section on stdout; progress goes to stderr.
# Raw numbers: $RECKIT_BENCH_DIR/results-container.txt.
#
# Environment:
#   BENCH_REPS        repetitions per command (default 5)
#   RECKIT_BENCH_DIR  work directory; the generated media is cached there
#                     (default: bench/ in the repository, git-ignored)
#   RECKIT_BIN        reckit binary to measure (default: build bin/reckit)
#   BENCH_SECTIONS    which sections to run (default "info split join repair")
#
# The benchmark file is made once (about 2 to 5 minutes) and reused:
#   ffmpeg testsrc2 1920x1080 30 fps, 60 s, libvpx VP8 realtime/cpu-used 8,
#   8 Mbit/s, key frame every 150 frames; then looped with -stream_loop N
#   -c copy until it is at least 1 GiB.
#
# Idempotent: rerunning reuses the cached media and overwrites the results.
# Missing tools (ffmpeg, mkvtoolnix, time) are installed with apt-get when
# running as root; otherwise the script names the Debian packages and exits 1.
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
reps=${BENCH_REPS:-5}
dir=${RECKIT_BENCH_DIR:-$root/bench}
limit=$((512 * 1024 * 1024)) # the split size limit, 512 MiB
sections=" ${BENCH_SECTIONS:-info split join repair} "
want() { [[ $sections == *" $1 "* ]]; }

bench_name=bench-container
# shellcheck source=scripts/bench-lib.sh
source "$root/scripts/bench-lib.sh"

# --- tools -----------------------------------------------------------------

need /usr/bin/time time
need ffmpeg ffmpeg
need ffprobe ffmpeg
need mkvmerge mkvtoolnix
need mkvinfo mkvtoolnix
install_missing

find_reckit

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
out=$dir/out
logs=$dir/logs
rm -rf "$out" "$logs" # outputs of an earlier run
mkdir -p "$out" "$logs"

# --- media -----------------------------------------------------------------

base=$dir/base-1080p30-60s.webm
big=$dir/bench-1080p30.webm
cut=$dir/cut60.webm
parts=$dir/parts

if [[ ! -s $base ]]; then
	note "encoding $base (60 s of 1080p30 VP8; a few minutes)"
	ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=s=1920x1080:r=30:d=60 \
		-c:v libvpx -deadline realtime -cpu-used 8 -b:v 8M -g 150 \
		-f webm "$base.partial"
	mv "$base.partial" "$base"
fi
if [[ ! -s $big ]]; then
	bsize=$(stat -c %s "$base")
	loops=$(((1024 * 1024 * 1024 + bsize - 1) / bsize - 1)) # extra copies
	note "looping $base $((loops + 1)) times into $big"
	ffmpeg -nostdin -v error -y -stream_loop "$loops" -i "$base" -c copy -f webm "$big.partial"
	mv "$big.partial" "$big"
fi
size=$(stat -c %s "$big")
((size >= 1024 * 1024 * 1024)) || die "$big is $size bytes, under 1 GiB; delete it and rerun"
if [[ ! -s $cut || $(stat -c %s "$cut") != $((size * 60 / 100)) ]]; then
	note "cutting $big at 60 % into $cut"
	head -c $((size * 60 / 100)) "$big" >"$cut.partial"
	mv "$cut.partial" "$cut"
fi
cutsize=$(stat -c %s "$cut")

duration=$(ffprobe -v error -show_entries format=duration -of default=nw=1:nk=1 "$big")
frames=$(ffprobe -v error -select_streams v:0 -count_packets \
	-show_entries stream=nb_read_packets -of default=nw=1:nk=1 "$big")
# ffmpeg has no size limit for segments: pick the segment time whose nominal
# size (at the file's mean bitrate) is 512 MiB.
segtime=$(awk -v s="$size" -v d="$duration" -v l="$limit" 'BEGIN { printf "%d", l / (s / d) }')

# The join inputs: reckit's own 512 MiB parts, made fresh by this reckit.
rm -rf "$parts"
mkdir -p "$parts"
"$reckit" split -q --size 512MiB -o "$parts" "$big" >/dev/null
mapfile -t partfiles < <(ls "$parts"/*.webm)
((${#partfiles[@]} >= 2)) || die "reckit split made ${#partfiles[@]} parts of $big, want >= 2"
partsize=$(cat "${partfiles[@]}" | wc -c)
{
	for p in "${partfiles[@]}"; do
		printf "file '%s'\n" "$p"
	done
} >"$dir/concat.txt"
mkv_join_args=("${partfiles[0]}")
for p in "${partfiles[@]:1}"; do
	mkv_join_args+=(+ "$p")
done

# --- measuring ---------------------------------------------------------------

results=$dir/results-container.txt
failures=()
raw=$dir/.results.tmp
: >"$raw"

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# prep OUTDIR INPUT...: untimed, before every run. Empty the tool's output
# directory, flush dirty pages of earlier runs, read the inputs once.
prep() {
	local o=$1
	shift
	rm -rf "$o"
	mkdir -p "$o"
	sync
	cat "$@" >/dev/null
}

# largest FILE...: the size of the largest file.
largest() { stat -c %s "$@" | sort -n | tail -n 1; }

# --- checks on the outputs of the last round (untimed) ------------------------

verdict() { "$reckit" info --json "$1" 2>/dev/null | sed -n 's/.*"verdict":"\([^"]*\)".*/\1/p' | head -n 1; }
checks=()
partlines=()
# finish OUTDIR LABEL [PARTS_TOOL]: after a timed run. In the last round,
# record reckit's verdict on every output file (and, for a split, the largest
# part); then delete the output, so the work directory stays small.
finish() {
	local o=$1 label=$2 ptool=${3:-} f v vs=() n l
	if ((rep == reps)); then
		for f in "$o"/*.webm; do
			[[ -e $f ]] || continue
			v=$(verdict "$f" || true)
			vs+=("${v:-?}")
		done
		checks+=("$label: $(IFS=,; echo "${vs[*]-none}")")
		if [[ -n $ptool ]]; then
			n=$(find "$o" -name '*.webm' | wc -l)
			l=$(largest "$o"/*.webm)
			partlines+=("$(printf 'parts\t%s\t%d\t%d\t%d\t%d' "$ptool" "$n" "$l" "$limit" $((l > limit ? l - limit : 0)))")
		fi
		if [[ $label == "reckit repair"* ]]; then
			repaired_frames=$("$reckit" info --json "$o/r.webm" 2>/dev/null |
				sed -n 's/.*"frames":\([0-9]*\).*/\1/p' | head -n 1 || true)
		fi
	fi
	rm -rf "$o"
}

# The peers write into the page cache and return; reckit fsyncs every output
# (and its directory) before the rename. "+ fsync" rows run the peer, then
# fsync its output files and directory (coreutils sync FILE...), so both
# sides pay for the disk. Arguments: DIR CMD...
fsync_after='"${@:2}"; rc=$?; sync "$1" "$1"/* || exit 1; exit $rc'

# 1. info: a full block walk vs reading the file
o=$out/info
info_reckit() { prep "$o" "$big"; timed info "reckit info" '0' "$reckit" info "$big"; }
info_sha() { prep "$o" "$big"; timed info "reckit info --sha256" '0' "$reckit" info --sha256 "$big"; }
info_cat() { prep "$o" "$big"; timed info "cat FILE >/dev/null" '0' cat "$big"; }
info_mkvinfo() { prep "$o" "$big"; timed info "mkvinfo -a" '0' mkvinfo -a "$big"; }
info_ffmpeg() { prep "$o" "$big"; timed info "ffmpeg -c copy -f null" '0' ffmpeg -nostdin -v error -i "$big" -c copy -f null -; }
info_mkvmerge() { prep "$o" "$big"; timed info "mkvmerge -J" '0' mkvmerge -J "$big"; }
if want info; then
	run_section info info_cat info_reckit info_sha info_mkvinfo info_ffmpeg info_mkvmerge
fi

# 2. split at 512 MiB
split_reckit() {
	o=$out/split-reckit
	prep "$o" "$big"
	timed split "reckit split" '0' "$reckit" split --size 512MiB -o "$o" "$big"
	finish "$o" "reckit split parts" reckit
}
split_mkvmerge() {
	o=$out/split-mkvmerge
	prep "$o" "$big"
	timed split "mkvmerge --split" '0|1' mkvmerge -o "$o/m.webm" --split size:512M "$big"
	finish "$o" "mkvmerge split parts" mkvmerge
}
split_mkvmerge_sync() {
	o=$out/split-mkvmerge-sync
	prep "$o" "$big"
	timed split "mkvmerge --split + fsync" '0|1' bash -c "$fsync_after" _ "$o" \
		mkvmerge -o "$o/m.webm" --split size:512M "$big"
	finish "$o" "mkvmerge split + fsync parts"
}
split_ffmpeg() {
	o=$out/split-ffmpeg
	prep "$o" "$big"
	timed split "ffmpeg -f segment" '0' ffmpeg -nostdin -v error -i "$big" -c copy -f segment \
		-segment_time "$segtime" "$o/f%03d.webm"
	finish "$o" "ffmpeg segment parts" ffmpeg
}
split_ffmpeg_sync() {
	o=$out/split-ffmpeg-sync
	prep "$o" "$big"
	timed split "ffmpeg -f segment + fsync" '0' bash -c "$fsync_after" _ "$o" \
		ffmpeg -nostdin -v error -i "$big" -c copy -f segment -segment_time "$segtime" "$o/f%03d.webm"
	finish "$o" "ffmpeg segment + fsync parts"
}
split_cp() {
	o=$out/split-cp
	prep "$o" "$big"
	timed split "cp" '0' cp "$big" "$o/"
	finish "$o" "cp copy"
}
split_cp_sync() {
	o=$out/split-cp-sync
	prep "$o" "$big"
	timed split "cp + fsync" '0' bash -c "$fsync_after" _ "$o" cp "$big" "$o/"
	finish "$o" "cp + fsync copy"
}
if want split; then
	run_section split split_cp split_reckit split_mkvmerge split_ffmpeg \
		split_cp_sync split_mkvmerge_sync split_ffmpeg_sync
fi

# 3. join reckit's parts
join_reckit() {
	o=$out/join-reckit
	prep "$o" "${partfiles[@]}"
	timed join "reckit join" '0' "$reckit" join -o "$o/j.webm" "${partfiles[@]}"
	finish "$o" "reckit join output"
}
join_ffmpeg() {
	o=$out/join-ffmpeg
	prep "$o" "${partfiles[@]}"
	timed join "ffmpeg -f concat" '0' ffmpeg -nostdin -v error -f concat -safe 0 -i "$dir/concat.txt" \
		-c copy "$o/j.webm"
	finish "$o" "ffmpeg concat output"
}
join_ffmpeg_sync() {
	o=$out/join-ffmpeg-sync
	prep "$o" "${partfiles[@]}"
	timed join "ffmpeg -f concat + fsync" '0' bash -c "$fsync_after" _ "$o" \
		ffmpeg -nostdin -v error -f concat -safe 0 -i "$dir/concat.txt" -c copy "$o/j.webm"
	finish "$o" "ffmpeg concat + fsync output"
}
join_mkvmerge() {
	o=$out/join-mkvmerge
	prep "$o" "${partfiles[@]}"
	timed join "mkvmerge a + b + c" '0|1' mkvmerge -o "$o/j.webm" "${mkv_join_args[@]}"
	finish "$o" "mkvmerge append output"
}
join_mkvmerge_sync() {
	o=$out/join-mkvmerge-sync
	prep "$o" "${partfiles[@]}"
	timed join "mkvmerge a + b + c + fsync" '0|1' bash -c "$fsync_after" _ "$o" \
		mkvmerge -o "$o/j.webm" "${mkv_join_args[@]}"
	finish "$o" "mkvmerge append + fsync output"
}
join_cat() {
	o=$out/join-cat
	prep "$o" "${partfiles[@]}"
	timed join "cat parts > OUT" '0' bash -c 'o=$1; shift; cat "$@" >"$o"' _ "$o/j.bin" "${partfiles[@]}"
	finish "$o" "cat parts"
}
join_cat_sync() {
	o=$out/join-cat-sync
	prep "$o" "${partfiles[@]}"
	timed join "cat parts > OUT + fsync" '0' bash -c 'o=$1; shift; cat "$@" >"$o/j.bin" && sync "$o" "$o/j.bin"' \
		_ "$o" "${partfiles[@]}"
	finish "$o" "cat parts + fsync"
}
if want join; then
	run_section join join_ffmpeg join_reckit join_mkvmerge join_cat \
		join_ffmpeg_sync join_mkvmerge_sync join_cat_sync
fi

# 4. repair the file cut at 60 %
repair_reckit() {
	o=$out/repair-reckit
	prep "$o" "$cut"
	timed repair "reckit repair" '0' "$reckit" repair -o "$o/r.webm" "$cut"
	finish "$o" "reckit repair output"
}
repair_ffmpeg() {
	o=$out/repair-ffmpeg
	prep "$o" "$cut"
	timed repair "ffmpeg -c copy remux" '0' ffmpeg -nostdin -v error -i "$cut" -c copy "$o/r.webm"
	finish "$o" "ffmpeg remux output"
}
repair_ffmpeg_sync() {
	o=$out/repair-ffmpeg-sync
	prep "$o" "$cut"
	timed repair "ffmpeg -c copy remux + fsync" '0' bash -c "$fsync_after" _ "$o" \
		ffmpeg -nostdin -v error -i "$cut" -c copy "$o/r.webm"
	finish "$o" "ffmpeg remux + fsync output"
}
repair_mkvmerge() {
	o=$out/repair-mkvmerge
	prep "$o" "$cut"
	timed repair "mkvmerge remux" '0|1' mkvmerge -o "$o/r.webm" "$cut"
	finish "$o" "mkvmerge remux output"
}
repair_mkvmerge_sync() {
	o=$out/repair-mkvmerge-sync
	prep "$o" "$cut"
	timed repair "mkvmerge remux + fsync" '0|1' bash -c "$fsync_after" _ "$o" mkvmerge -o "$o/r.webm" "$cut"
	finish "$o" "mkvmerge remux + fsync output"
}
repair_cp() {
	o=$out/repair-cp
	prep "$o" "$cut"
	timed repair "cp" '0' cp "$cut" "$o/r.bin"
	finish "$o" "cp copy"
}
repair_cp_sync() {
	o=$out/repair-cp-sync
	prep "$o" "$cut"
	timed repair "cp + fsync" '0' bash -c "$fsync_after" _ "$o" cp "$cut" "$o/r.bin"
	finish "$o" "cp + fsync copy"
}
if want repair; then
	run_section repair repair_ffmpeg repair_reckit repair_mkvmerge repair_cp \
		repair_ffmpeg_sync repair_mkvmerge_sync repair_cp_sync
fi

load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -----------------------------------------------------------------

{
	echo "# reckit bench-container raw results"
	echo "# started $started, finished $(date -u +%Y-%m-%dT%H:%M:%SZ), $reps repetitions"
	echo "# machine: $(nproc) cores, $cpu, $mem RAM; loadavg at start $load_start, at end $load_end"
	echo "# reckit: $reckit ($("$reckit" --version 2>/dev/null || echo '?'))"
	echo "# file: $big, $size bytes, ${duration} s, $frames frames; cut: $cutsize bytes; ffmpeg segment_time $segtime"
	echo "# join inputs: ${#partfiles[@]} reckit parts, $partsize bytes"
	for c in "${checks[@]}"; do echo "# verdict $c"; done
	if want repair; then echo "# reckit repair kept ${repaired_frames:-?} frames of the cut file"; fi
	printf '# section\ttool\trep\twall_s\ttime_e_s\tpeak_rss_kib\tcpu_user_sys_s\n'
	cat "$raw"
	printf '# parts\ttool\tcount\tlargest_bytes\tlimit_bytes\tover_limit_bytes\n'
	for l in "${partlines[@]}"; do echo "$l"; done
} >"$results"
rm -f "$raw" "$dir/.time"

# table SECTION REFERENCE_TOOL
table() {
	echo
	echo "### $1 ($reps runs each, medians; ratio = tool time / $2 time)"
	echo
	echo "| tool | median wall s | min-max s | ratio to $2 | median of per-round ratios | median CPU s (user+sys) | median peak RSS MiB |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' -v sec="$1" -v ref="$2" "$awk_stats"'
		!/^#/ && $1 == sec {
			if (!(($2) in seen)) { seen[$2] = 1; order[++n] = $2 }
			if ($4 == "failed") { bad[$2] = $5; next }
			w[$2] = w[$2] " " $4
			m[$2] = m[$2] " " $6
			c[$2] = c[$2] " " $7
			round[$2, $3] = $4
			rounds[$3] = 1
		}
		END {
			r = (ref in bad) ? 0 : median(w[ref])
			for (i = 1; i <= n; i++) {
				t = order[i]
				if (t in bad) {
					printf "| %s | failed (%s) | | | | | |\n", t, bad[t]
					continue
				}
				# The ratio within each round (same background load), then
				# the median of those.
				pr = ""
				for (k in rounds)
					if (((t, k) in round) && ((ref, k) in round) && round[ref, k] > 0)
						pr = pr " " round[t, k] / round[ref, k]
				printf "| %s | %.3f | %.3f-%.3f | %s | %s | %.2f | %.1f |\n", t, median(w[t]),
					lo(w[t]), hi(w[t]), (r > 0 ? sprintf("%.2f", median(w[t]) / r) : "-"),
					(pr != "" ? sprintf("%.2f", median(pr)) : "-"), median(c[t]), median(m[t]) / 1024
			}
		}' "$results"
}

echo "## Container commands: $(date -u +%Y-%m-%d), $(nproc) cores, $cpu, $mem RAM"
echo
echo "File: $(basename "$big"), $size bytes, ${duration} s, $frames frames. Load average $load_start at start, $load_end at end."
if want info; then table info "cat FILE >/dev/null"; fi
if want split; then
	table split cp
	echo
	echo "Largest part vs the 512 MiB limit ($limit bytes):"
	echo
	echo "| tool | parts | largest part bytes | over the limit by |"
	echo "|---|---:|---:|---:|"
	awk -F'\t' '$1 == "parts" { printf "| %s | %d | %d | %d |\n", $2, $3, $4, $6 }' "$results"
fi
if want join; then table join "ffmpeg -f concat"; fi
if want repair; then table repair "ffmpeg -c copy remux"; fi
echo
echo "Output verdicts (reckit info):"
echo
for c in "${checks[@]}"; do echo "- $c"; done
echo
note "raw numbers in $results"
if ((${#failures[@]} > 0)); then
	note "failed: ${failures[*]}"
	exit 1
fi
