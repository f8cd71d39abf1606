# bench-lib.sh: what scripts/bench-container.sh and scripts/bench-catalog.sh
# share. Sourced, not run. The caller sets bench_name (for messages) and
# reps before sourcing; timed needs dir, logs and raw, and the round number
# rep that run_section sets.

if ! [[ $reps =~ ^[1-9][0-9]*$ ]]; then
	echo "$bench_name: BENCH_REPS must be a positive integer, not '$reps'" >&2
	exit 2
fi

note() { echo "$bench_name: $*" >&2; }
die() {
	note "$*"
	exit 1
}

# need WHAT PKG...: WHAT is a command name or an absolute path; when it is
# missing, its Debian packages are noted for install_missing.
missing_pkgs=()
need() {
	local what=$1
	shift
	if [[ $what == /* ]]; then
		[[ -x $what ]] && return 0
	else
		command -v "$what" >/dev/null 2>&1 && return 0
	fi
	local p
	for p in "$@"; do
		[[ " ${missing_pkgs[*]-} " == *" $p "* ]] || missing_pkgs+=("$p")
	done
}

# install_missing: apt-get install what need noted, as root; otherwise name
# the packages and exit 1.
install_missing() {
	((${#missing_pkgs[@]} > 0)) || return 0
	note "missing Debian packages: ${missing_pkgs[*]}"
	if [[ $(id -u) != 0 ]]; then
		die "run as root, or: sudo apt-get install -y --no-install-recommends ${missing_pkgs[*]}"
	fi
	command -v apt-get >/dev/null 2>&1 || die "no apt-get here; install ${missing_pkgs[*]} with your package manager"
	DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing_pkgs[@]}" >&2
}

# find_reckit: sets reckit to $RECKIT_BIN, or builds bin/reckit from the
# working tree.
find_reckit() {
	if [[ -n ${RECKIT_BIN:-} ]]; then
		reckit=$RECKIT_BIN
	else
		reckit=$root/bin/reckit
		note "building $reckit"
		(cd "$root" && CGO_ENABLED=0 go build -o bin/reckit ./cmd/reckit)
	fi
	[[ -x $reckit ]] || die "no reckit binary at $reckit"
}

# timed SECTION TOOL OKCODES CMD...: run CMD once under /usr/bin/time, its
# stdout to /dev/null (cat and mkvinfo -a print the whole file), its stderr
# to $logs/; OKCODES is a regex of accepted exit statuses. One line per run
# goes to $raw: section, tool, round, wall s, %e, peak RSS KiB, CPU s.
timed() {
	local section=$1 tool=$2 ok=$3
	shift 3
	local log="$logs/$section-${tool//[^A-Za-z0-9]/_}.log"
	local tf=$dir/.time-$bench_name t0 t1 rc=0
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >/dev/null 2>"$log" || rc=$?
	t1=$EPOCHREALTIME
	if ! [[ $rc =~ ^($ok)$ ]]; then
		# Keep measuring the others; the table says "failed" and the
		# script exits 1 at the end.
		note "$section / $tool exited $rc; log $log:"
		tail -n 5 "$log" >&2
		printf '%s\t%s\t%d\tfailed\texit-%d\t-\t-\n' "$section" "$tool" "$rep" "$rc" >>"$raw"
		failures+=("$section / $tool (exit $rc, round $rep)")
		return 0
	fi
	local e m u sy
	read -r e m u sy < <(tail -n 1 "$tf")
	printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\n' "$section" "$tool" "$rep" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')" "$e" "$m" \
		"$(awk -v u="$u" -v s="$sy" 'BEGIN { printf "%.2f", u + s }')" >>"$raw"
}

# run_section SECTION TOOL_FUNCTION...: BENCH_REPS rounds; in each round every
# tool runs once, starting with a different tool each round.
run_section() {
	local section=$1
	shift
	local fns=("$@") n=$# i
	for ((rep = 1; rep <= reps; rep++)); do
		note "$section: round $rep of $reps"
		for ((i = 0; i < n; i++)); do
			"${fns[(i + rep - 1) % n]}"
		done
	done
}

# awk_stats: awk functions for the tables, to put before a program:
# sorted(list, a) splits list into a, ascending (insertion sort: a handful
# of values; mawk has no asort) and returns the count; median, lo, hi.
awk_stats='
	function sorted(list, a,   n, i, j, v) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++) {
			v = a[i] + 0
			for (j = i - 1; j >= 1 && a[j] + 0 > v; j--) a[j + 1] = a[j]
			a[j + 1] = v
		}
		return n
	}
	function median(list,   a, n) {
		n = sorted(list, a)
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function lo(list,   a) { sorted(list, a); return a[1] }
	function hi(list,   a, n) { n = sorted(list, a); return a[n] }
'
