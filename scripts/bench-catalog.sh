#!/usr/bin/env bash
# bench-catalog.sh: time reckit's catalog commands, verify and ls, side by
# side with the tools a user would compare them with.
#
#   verify: on the >= 1 GiB 1080p VP8 WebM of bench-container.sh
#           (bench/bench-1080p30.webm; run scripts/bench-container.sh first),
#           `reckit verify --no-checksum FILE` (structure only) and
#           `reckit verify FILE` (structure + SHA-256 in one pass) against
#           `cat FILE >/dev/null`, `sha256sum FILE`, `mkvmerge -J FILE` and
#           `ffmpeg -v error -i FILE -c copy -f null -`. The full decode check
#           `ffmpeg -v error -i FILE -f null -` runs ONCE (it takes minutes).
#           Target: structure-only verify at most 2x cat's time.
#   ls:     on a tree of 10,000 synthetic recordings (20,000 parts, 100
#           device folders; made once with `go run ./internal/gentree` and
#           cached in the work directory), `reckit ls TREE >/dev/null` against
#           a loop of `ffprobe` and a loop of `mkvmerge -J` over a sample of
#           200 parts (every 100th); the loop times are also extrapolated to
#           all parts. Target: ls under 2 s warm (an untimed run first),
#           peak RSS at most 64 MiB.
#
# Every measurement is repeated BENCH_REPS times (default 5). Within one
# repetition the competing commands run one after the other (round-robin, the
# starting tool rotating each repetition), so background load on a shared
# machine hits all of them alike; the ratios are the meaningful numbers, the
# absolute seconds depend on the machine and its load. Before every timed
# verify run, untimed: dirty pages are flushed (sync) and the input is read
# once (cat) so it is in the page cache.
#
# Wall time is taken with bash's EPOCHREALTIME around /usr/bin/time (1 us
# resolution; /usr/bin/time's own %e, 10 ms resolution, is kept in the raw
# file); peak RSS is /usr/bin/time's %M (KiB; for the loops, the largest
# single ffprobe or mkvmerge); CPU time is %U + %S (user + system seconds).
# Besides the ratio of the medians, each table gives the median of the
# per-round ratios (tool time / reference time within the same round).
#
# Prints one Markdown table per section on stdout; progress goes to stderr.
# Raw numbers: $RECKIT_BENCH_DIR/results-catalog.txt.
#
# Environment:
#   BENCH_REPS        repetitions per command (default 5)
#   RECKIT_BENCH_DIR  work directory; the generated tree is cached there
#                     (default: bench/ in the repository, git-ignored)
#   RECKIT_BIN        reckit binary to measure (default: build bin/reckit)
#   BENCH_SECTIONS    which sections to run (default "verify decode ls")
#
# Idempotent: rerunning reuses the cached tree and overwrites the results.
# Missing tools (ffmpeg, mkvtoolnix, time) are installed with apt-get when
# running as root; otherwise the script names the Debian packages and exits 1.
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
reps=${BENCH_REPS:-5}
dir=${RECKIT_BENCH_DIR:-$root/bench}
sections=" ${BENCH_SECTIONS:-verify decode ls} "
want() { [[ $sections == *" $1 "* ]]; }
ntree=10000  # recordings in the ls tree
nsample=200  # parts the ffprobe and mkvmerge loops read

bench_name=bench-catalog
# shellcheck source=scripts/bench-lib.sh
source "$root/scripts/bench-lib.sh"

# --- tools -----------------------------------------------------------------

need /usr/bin/time time
need ffmpeg ffmpeg
need ffprobe ffmpeg
need mkvmerge mkvtoolnix
need sha256sum coreutils
install_missing

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
big=$dir/bench-1080p30.webm
if want verify || want decode; then
	[[ -s $big ]] || die "no benchmark file $big: run scripts/bench-container.sh first (it makes the file, about 5 minutes)"
fi

find_reckit

logs=$dir/logs-catalog
rm -rf "$logs"
mkdir -p "$logs"

# --- media -----------------------------------------------------------------

if want verify || want decode; then
	size=$(stat -L -c %s "$big")
	((size >= 1024 * 1024 * 1024)) || die "$big is $size bytes, under 1 GiB; delete it and run scripts/bench-container.sh"
	duration=$(ffprobe -v error -show_entries format=duration -of default=nw=1:nk=1 "$big")
fi

tree=$dir/tree-$ntree
if want ls; then
	if [[ ! -d $tree ]]; then
		note "generating $tree ($ntree recordings; a few minutes, once)"
		rm -rf "$tree.partial"
		(cd "$root" && go run ./internal/gentree "$tree.partial" "$ntree")
		mv "$tree.partial" "$tree"
	fi
	mapfile -t allparts < <(find "$tree" -name '*.webm' | sort)
	nparts=${#allparts[@]}
	((nparts >= nsample)) || die "$tree has $nparts parts, want >= $nsample; delete it and rerun"
	sample=()
	step=$((nparts / nsample))
	for ((i = 0; i < nsample; i++)); do
		sample+=("${allparts[i * step]}")
	done
	scale=$(awk -v a="$nparts" -v b="$nsample" 'BEGIN { printf "%g", a / b }')
	treebytes=$(du -sb "$tree" | cut -f1)
	partbytes=$(find "$tree" -name '*.webm' -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')
fi

# --- measuring ---------------------------------------------------------------

results=$dir/results-catalog.txt
failures=()
raw=$dir/.results-catalog.tmp
: >"$raw"

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# prep INPUT...: untimed, before every verify run: flush dirty pages, read
# the inputs once so they are in the page cache.
prep() {
	sync
	cat "$@" >/dev/null
}

# 1. verify: one file, structure only and with its SHA-256
verify_nosum() { prep "$big"; timed verify "reckit verify --no-checksum" '0' "$reckit" verify --no-checksum "$big"; }
verify_sum() { prep "$big"; timed verify "reckit verify" '0' "$reckit" verify "$big"; }
verify_cat() { prep "$big"; timed verify "cat FILE >/dev/null" '0' cat "$big"; }
verify_sha() { prep "$big"; timed verify "sha256sum" '0' sha256sum "$big"; }
verify_mkvmerge() { prep "$big"; timed verify "mkvmerge -J" '0' mkvmerge -J "$big"; }
verify_ffcopy() { prep "$big"; timed verify "ffmpeg -c copy -f null" '0' ffmpeg -nostdin -v error -i "$big" -c copy -f null -; }
if want verify; then
	run_section verify verify_nosum verify_sum verify_cat verify_sha verify_mkvmerge verify_ffcopy
fi

# 2. ls: the whole tree vs probing a sample of its parts one by one
# shellcheck disable=SC2016 # expanded by the inner bash
ffprobe_loop='for f; do ffprobe -v error -show_format -show_streams "$f" >/dev/null || exit 1; done'
# shellcheck disable=SC2016
mkvmerge_loop='for f; do mkvmerge -J "$f" >/dev/null || exit 1; done'
ls_reckit() { timed ls "reckit ls" '0' "$reckit" ls "$tree"; }
ls_ffprobe() { timed ls "ffprobe loop, $nsample parts" '0' bash -c "$ffprobe_loop" _ "${sample[@]}"; }
ls_mkvmerge() { timed ls "mkvmerge -J loop, $nsample parts" '0' bash -c "$mkvmerge_loop" _ "${sample[@]}"; }
if want ls; then
	note "ls: warming the page cache (untimed reckit ls)"
	"$reckit" ls "$tree" >/dev/null
	lsrows=$("$reckit" ls "$tree" | wc -l)
	run_section ls ls_reckit ls_ffprobe ls_mkvmerge
fi

# 3. the full decode check, once (minutes)
if want decode; then
	note "decode: ffmpeg full decode of $big, once (several minutes)"
	rep=1
	prep "$big"
	timed verify "ffmpeg -f null (full decode, 1 run)" '0' ffmpeg -nostdin -v error -i "$big" -f null -
fi

load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -----------------------------------------------------------------

{
	echo "# reckit bench-catalog raw results"
	echo "# started $started, finished $(date -u +%Y-%m-%dT%H:%M:%SZ), $reps repetitions"
	echo "# machine: $(nproc) cores, $cpu, $mem RAM; loadavg at start $load_start, at end $load_end"
	echo "# reckit: $reckit ($("$reckit" --version 2>/dev/null || echo '?'))"
	if want verify || want decode; then echo "# file: $big, $size bytes, ${duration} s"; fi
	if want ls; then
		echo "# tree: $tree, $ntree recordings, $nparts parts, $treebytes bytes on disk ($partbytes in parts); reckit ls printed $lsrows lines"
		echo "# sample: every ${step}th part, $nsample parts; extrapolation factor $scale"
		printf 'scale\tffprobe loop, %d parts\t%s\n' "$nsample" "$scale"
		printf 'scale\tmkvmerge -J loop, %d parts\t%s\n' "$nsample" "$scale"
	fi
	printf '# section\ttool\trep\twall_s\ttime_e_s\tpeak_rss_kib\tcpu_user_sys_s\n'
	cat "$raw"
} >"$results"
rm -f "$raw" "$dir/.time-catalog"

# awk helpers shared by the tables: awk_stats (bench-lib.sh) and
# per_round.
awklib="$awk_stats"'
	# per_round(t, ref): median over rounds of time(t) / time(ref).
	function per_round(t, ref,   k, pr) {
		pr = ""
		for (k in rounds)
			if (((t, k) in round) && ((ref, k) in round) && round[ref, k] > 0)
				pr = pr " " round[t, k] / round[ref, k]
		return pr != "" ? sprintf("%.2f", median(pr)) : "-"
	}
	$1 == "scale" { scale[$2] = $3; next }
	!/^#/ && $1 == sec {
		if (!(($2) in seen)) { seen[$2] = 1; order[++n] = $2 }
		if ($4 == "failed") { bad[$2] = $5; next }
		w[$2] = w[$2] " " $4
		m[$2] = m[$2] " " $6
		c[$2] = c[$2] " " $7
		round[$2, $3] = $4
		rounds[$3] = 1
	}
'

# verify_table: ratios to cat and to sha256sum.
verify_table() {
	local ref1="cat FILE >/dev/null" ref2="sha256sum"
	echo
	echo "### verify one $(awk -v s="$size" 'BEGIN { printf "%.2f GiB", s / 1073741824 }') file ($reps runs each unless noted, medians, page cache warm)"
	echo
	echo "| tool | median wall s | min-max s | ratio to cat | per-round ratio to cat | ratio to sha256sum | per-round ratio to sha256sum | median CPU s (user+sys) | median peak RSS MiB |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' -v sec=verify -v ref1="$ref1" -v ref2="$ref2" "$awklib"'
		END {
			r1 = (ref1 in bad || !(ref1 in w)) ? 0 : median(w[ref1])
			r2 = (ref2 in bad || !(ref2 in w)) ? 0 : median(w[ref2])
			for (i = 1; i <= n; i++) {
				t = order[i]
				if (t in bad) { printf "| %s | failed (%s) | | | | | | | |\n", t, bad[t]; continue }
				mt = median(w[t])
				printf "| %s | %.3f | %.3f-%.3f | %s | %s | %s | %s | %.2f | %.1f |\n", t, mt, lo(w[t]), hi(w[t]),
					(r1 > 0 ? sprintf("%.2f", mt / r1) : "-"), per_round(t, ref1),
					(r2 > 0 ? sprintf("%.2f", mt / r2) : "-"), per_round(t, ref2),
					median(c[t]), median(m[t]) / 1024
			}
		}' "$results"
}

# ls_table: ratios to reckit ls, the loops also extrapolated to every part.
ls_table() {
	local ref="reckit ls"
	echo
	echo "### ls: $ntree recordings, $nparts parts ($reps runs each, medians, page cache warm)"
	echo
	echo "| tool | median wall s | min-max s | extrapolated to all $nparts parts, s | ratio to reckit ls (extrapolated) | median CPU s (user+sys) | median peak RSS MiB |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' -v sec=ls -v ref="$ref" "$awklib"'
		END {
			r = (ref in bad || !(ref in w)) ? 0 : median(w[ref])
			for (i = 1; i <= n; i++) {
				t = order[i]
				if (t in bad) { printf "| %s | failed (%s) | | | | | |\n", t, bad[t]; continue }
				mt = median(w[t])
				f = (t in scale) ? scale[t] : 1
				printf "| %s | %.3f | %.3f-%.3f | %s | %s | %.2f | %.1f |\n", t, mt, lo(w[t]), hi(w[t]),
					((t in scale) ? sprintf("%.1f", mt * f) : sprintf("%.3f", mt)),
					(r > 0 ? sprintf("%.1f", mt * f / r) : "-"), median(c[t]), median(m[t]) / 1024
			}
		}' "$results"
}

echo "## Catalog commands: $(date -u +%Y-%m-%d), $(nproc) cores, $cpu, $mem RAM"
echo
echo "Load average $load_start at start, $load_end at end."
if want verify || want decode; then
	echo
	echo "File: $(basename "$big"), $size bytes, ${duration} s. Target: \`reckit verify --no-checksum\` at most 2x cat."
	verify_table
fi
if want ls; then
	echo
	echo "Tree: $ntree recordings in 100 device folders, $nparts parts of about $(awk -v b="$partbytes" -v n="$nparts" 'BEGIN { printf "%.1f", b / n / 1024 }') KiB, each with 20 synthetic VP8 frames (made by internal/gentree). The ffprobe and mkvmerge loops read $nsample parts (every ${step}th); their times for all $nparts parts are extrapolated linearly (x$scale), not measured. Target: \`reckit ls\` under 2 s, peak RSS at most 64 MiB."
	ls_table
fi
echo
echo "Raw numbers: $results"

if ((${#failures[@]} > 0)); then
	note "failed runs: ${failures[*]}"
	exit 1
fi
