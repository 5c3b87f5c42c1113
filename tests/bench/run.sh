#!/usr/bin/env bash
# make bench: runs every Go benchmark in the tree, the time the BigQuery SQL
# checks take, the kill -9 chaos runs and the embedded-pipeline scale series
# (in that order: the longest last), then rewrites BENCHMARKS.md with the
# figures, the machine and the command. Results go to a work directory first,
# so a run cut short can still be written up with SAM_BENCH_REPORT_ONLY=1.
#
#   make bench                                   # everything (needs bin/sam and .tools: make build tools)
#   SAM_BENCH_SCALE="100000 300000" make bench   # smaller scale series
#   SAM_BENCH_PARTS="go scale" bash tests/bench/run.sh
#   SAM_BENCH_PARTS="scale incremental" SAM_BENCH_SCALE=10000000 make bench
#                                                # issue 19's 10M series alone: a year of export
#                                                # (365 days), ~27 GB of disk, under 30 min on 2 cores
#
# Settings (environment):
#   SAM_BENCH_PARTS          parts to run: go zetasql scale incremental chaos (default: all)
#   SAM_BENCH_SCALE          GA4 events per scale-series run, each N or N:DAYS (default
#                            "265000 883000 3000000", about 25 min for make bench on 2 cores; the
#                            first two are the sizes of issue 19's ratios)
#   SAM_BENCH_DAYS           export days a size is spread over when it gives none (default 30;
#                            sizes of 10M events and more default to 365: a year of export)
#   SAM_BENCH_GO_ONLY        regexp: run only the Go benchmarks of matching packages (default: all)
#   SAM_BENCH_QUICK=1        1 iteration per benchmark and small attribution fixtures (validating the script)
#   SAM_BENCH_STAGE_TIMEOUT  seconds one pipeline stage may take before it is stopped (default 1800)
#   SAM_BENCH_WORK           scratch directory (default: a new /tmp/sam-bench.*; removed unless SAM_BENCH_KEEP=1)
#   SAM_BENCH_OUT            file to write (default BENCHMARKS.md at the repository root)
#   SAM_CHAOS_RUNS           kill -9 runs for tests/chaos (default 20)
#   SAM_BENCH_REPORT_ONLY=1  run nothing; rewrite the report from the results in SAM_BENCH_WORK
#   BIN, GO                  the sam binary (default bin/sam) and the go command
#
# Every size of the scale series first reads its export with DuckDB's own
# read_json (tests/bench BenchmarkReadJSONDir), then runs each stage as its own
# process: the ratios of issue 19 are taken between the two in one session.
# The incremental part holds back the last export day of the largest size
# before its full build, then puts it back and times a second `sam run` (the
# new day plus the lookback), then `sam transform --full-refresh`, and compares
# checksums of the marts after each.
set -uo pipefail

main() {
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
GO=${GO:-go}
BIN=${BIN:-bin/sam}
[[ $BIN == /* ]] || BIN="$ROOT/$BIN"
PARTS=${SAM_BENCH_PARTS:-go zetasql scale incremental chaos}
SCALE_SPEC=${SAM_BENCH_SCALE:-265000 883000 3000000}
DAYS=${SAM_BENCH_DAYS:-30}
QUICK=${SAM_BENCH_QUICK:-0}
GO_ONLY=${SAM_BENCH_GO_ONLY:-.}
STAGE_TIMEOUT=${SAM_BENCH_STAGE_TIMEOUT:-1800}
CHAOS_RUNS=${SAM_CHAOS_RUNS:-20}
OUT=${SAM_BENCH_OUT:-$ROOT/BENCHMARKS.md}
WORK=${SAM_BENCH_WORK:-$(mktemp -d /tmp/sam-bench.XXXXXX)}
mkdir -p "$WORK"
STAGES=(load_ga4 load_crm load_spend transform test writeback)
# SCALE: the sizes alone; days_for N: the export days of size N.
SCALE=""
declare -A SIZE_DAYS
for spec in $SCALE_SPEC; do
	n=${spec%%:*}
	if [[ $spec == *:* ]]; then
		SIZE_DAYS[$n]=${spec#*:}
	elif ((n >= 10000000)); then
		SIZE_DAYS[$n]=365
	else
		SIZE_DAYS[$n]=$DAYS
	fi
	SCALE+="$n "
done
SCALE=${SCALE% }
LARGEST=$(tr ' ' '\n' <<<"$SCALE" | sort -n | tail -1)
days_for() { echo "${SIZE_DAYS[$1]:-$DAYS}"; }
TIME=/usr/bin/time
if [[ ! -x $TIME && ${SAM_BENCH_REPORT_ONLY:-0} != 1 ]]; then
	echo "bench: /usr/bin/time missing, installing GNU time" >&2
	apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
fi
[[ -x $BIN ]] || { echo "bench: $BIN missing: run make build" >&2; exit 2; }

has() { [[ " $PARTS " == *" $1 "* ]]; }
runs() { [[ ${SAM_BENCH_REPORT_ONLY:-0} != 1 ]] && has "$1"; }
log() { echo "bench $(date -u +%H:%M:%S) $*" >&2; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# metric FILE BENCH UNIT: the value reported with UNIT on BENCH's result line.
metric() {
	[[ -f $1 ]] || { echo "-"; return; }
	awk -v n="$2" -v u="$3" '
		$1 ~ "^" n "(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i + 1) == u) { v = $i; found = 1 } }
		END { print found ? v : "-" }' "$1"
}
# fmtnum VALUE [DECIMALS]: thousands separators; "-" stays.
fmtnum() {
	awk -v v="$1" -v d="${2:-0}" 'BEGIN {
		if (v == "-" || v == "") { print "-"; exit }
		s = sprintf("%." d "f", v); neg = s ~ /^-/; if (neg) s = substr(s, 2)
		split(s, p, "."); i = p[1]; o = ""
		while (length(i) > 3) { o = "," substr(i, length(i) - 2) o; i = substr(i, 1, length(i) - 3) }
		o = i o; if (d > 0) o = o "." p[2]; print (neg ? "-" : "") o }'
}
nstos() { awk -v v="$1" 'BEGIN { if (v == "-" || v == "") print "-"; else printf "%.1f", v / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%." d "f", a / b }'; }
# gosecs [DIGITS]: sum of Go durations (12.5s, 71ms, 1m2.5s, 900µs) read one
# per line, with DIGITS decimals (1).
gosecs() {
	awk -v p="${1:-1}" '{ d = $1; t = 0
		while (match(d, /^[0-9.]+(h|ms|µs|us|ns|m|s)/)) {
			tok = substr(d, 1, RLENGTH); d = substr(d, RLENGTH + 1)
			n = tok + 0; u = tok; sub(/^[0-9.]+/, "", u)
			t += n * (u == "h" ? 3600 : u == "m" ? 60 : u == "s" ? 1 : u == "ms" ? 1e-3 : u == "ns" ? 1e-9 : 1e-6)
		}
		sum += t } END { printf "%." p "f", sum }'
}

# The first invocation on a work directory records when and how loaded.
[[ -f $WORK/started ]] || echo "$(now)|$(date -u '+%Y-%m-%d %H:%M UTC')|$(loadavg)" >"$WORK/started"
IFS='|' read -r START STARTED LOAD_START <"$WORK/started"
[[ -f $WORK/commit ]] || git describe --always --dirty >"$WORK/commit" 2>/dev/null || echo unknown >"$WORK/commit"
log "work dir $WORK; parts: $PARTS"

# ---------------------------------------------------------------- Go benchmarks
# package | -bench regexp | -benchtime. Packages with benchmarks that are not
# listed run everything once (so a new benchmark is never silently skipped).
GOBENCH=(
	"./transform|BuildChain|25x"
	"./loaders/ga4|FileLoad|DuckDBReadJSON|ValidateFiles|3x"
	"./loaders/ga4|Check$|1s"
	"./loaders/crm/hubspot|SearchThroughput|2x"
	"./loaders/crm/salesforce|QueryThroughput|2x"
	"./activation|SlowLedger|3x"
	"./activation/ga4|Throughput|3x"
	"./activation/googleads|Throughput|40000x"
	"./activation/meta|Throughput|100x"
	"./activation/linkedin|Throughput|50x"
	"./warehouse/duckdb|.|3x"
	"./sampledata|Generate|3x"
	"./tests/attribution|AttributionBuild|1x"
	"./tests/attribution|Markov|1x"
)
GB=$WORK/gobench
mkdir -p "$GB"
run_gobench() { # pkg regexp benchtime
	local pkg=$1 re=$2 bt=$3 f
	[[ $pkg =~ $GO_ONLY ]] || return 0
	[[ $QUICK == 1 && $bt != *s ]] && bt=1x
	f="$GB/$(echo "${pkg#./}" | tr / _).txt"
	log "go bench $pkg -bench '$re' -benchtime $bt"
	{
		echo "\$ go test -run '^\$' -bench '$re' -benchtime $bt $pkg"
		$GO test -run '^$' -bench "$re" -benchtime "$bt" -benchmem=false -timeout 30m "$pkg" 2>&1
		echo "(exit $?)"
	} >>"$f"
}
if runs go; then
	export SAM_BENCH_GA4_DIR= # BenchmarkReadJSONDir runs in the scale series
	# BenchmarkReadJSONDir runs in the scale series; loaders/crm/file below.
	listed=" ./tests/bench ./loaders/crm/file "
	for spec in "${GOBENCH[@]}"; do
		pkg=${spec%%|*}
		rest=${spec#*|}
		run_gobench "$pkg" "${rest%|*}" "${rest##*|}"
		listed+="$pkg "
	done
	for dir in $(grep -rl --include='*_test.go' '^func Benchmark' . | xargs -n1 dirname | sort -u); do
		[[ $listed == *" $dir "* ]] || run_gobench "$dir" . 1x
	done
	# BenchmarkPeakMemory (CRM file loader) once per volume, each in its own
	# process under /usr/bin/time: the peak heap it reports and the peak RSS.
	if [[ ./loaders/crm/file =~ $GO_ONLY ]]; then
		log "go bench ./loaders/crm/file -bench PeakMemory (10k, 1M leads), with peak RSS"
		if $GO test -c -o "$WORK/crmfile.test" ./loaders/crm/file >"$WORK/crmfile.build" 2>&1; then
			for n in 10000 1000000; do
				echo "\$ go test -c ./loaders/crm/file && /usr/bin/time ./file.test -test.run '^\$' -test.bench 'PeakMemory/leads=$n\$' -test.benchtime 1x" >>"$GB/loaders_crm_file.txt"
				(cd "$WORK" && $TIME -f "%M" -o "$WORK/crmfile_rss_$n" ./crmfile.test -test.run '^$' \
					-test.bench "PeakMemory/leads=$n\$" -test.benchtime 1x >>"$GB/loaders_crm_file.txt" 2>&1)
			done
		else
			cat "$WORK/crmfile.build" >>"$GB/loaders_crm_file.txt"
		fi
	fi
fi

# ---------------------------------------------------------------- ZetaSQL checks
if runs zetasql; then
	log "zetasql: tools/zetasql, tests/bigquerysql"
	t0=$(now)
	SAM_REQUIRE_ZETASQL=1 $GO test -count=1 -timeout 20m ./tools/zetasql ./tests/bigquerysql >"$WORK/zetasql.txt" 2>&1
	echo "(exit $?)" >>"$WORK/zetasql.txt"
	secs "$t0" "$(now)" >"$WORK/zetasql_wall"
fi

# ---------------------------------------------------------------- chaos
if runs chaos; then
	if compgen -G "tests/chaos/*_test.go" >/dev/null; then
		log "chaos: $CHAOS_RUNS kill -9 runs"
		t0=$(now)
		SAM_CHAOS_RUNS=$CHAOS_RUNS $GO test -count=1 -v -timeout 30m ./tests/chaos >"$WORK/chaos.txt" 2>&1
		echo $? >"$WORK/chaos.rc"
		secs "$t0" "$(now)" >"$WORK/chaos_wall"
	else
		echo "tests/chaos has no tests yet" >"$WORK/chaos.txt"
		echo missing >"$WORK/chaos.rc"
	fi
fi

# ---------------------------------------------------------------- scale series
# Per size: generate, DuckDB's read_json of the export (the baseline), then
# one `sam run --stages S` process per stage on a fresh DuckDB file, each
# under /usr/bin/time (wall, peak RSS, user and system CPU) with default
# settings; the ledger's own duration (the stage without process start and
# warehouse open) comes from its output.
SC=$WORK/scale
# sam_env D R: the pipeline's settings for the data in D and the run dir R.
sam_env() {
	export SAM_DUCKDB_PATH=$2/sam.duckdb SAM_GA4_EXPORT_DIR=$1/ga4 SAM_CRM_DIR=$1/crm SAM_SPEND_DIR=$1/spend \
		SAM_FX_RATES_FILE=$1/fx_rates.csv SAM_GA4_SINK_FILE=$2/ga4sink.ndjson SAM_WRITEBACK_MODE=local \
		SAM_LOG_FORMAT=text SAM_LOG_LEVEL=info SAM_CRM_SOURCE=file SAM_ENGINE=duckdb
	unset SAM_DUCKDB_MEMORY_LIMIT # default settings: the memory limit is the computed one
}
# timed R NAME CMD...: runs CMD under /usr/bin/time into R/NAME.{time,out,err,rc}.
timed() {
	local r=$1 name=$2
	shift 2
	$TIME -f "%e %M %U %S" -o "$r/$name.time" timeout -k 30 "$STAGE_TIMEOUT" "$@" >"$r/$name.out" 2>"$r/$name.err"
	echo $? >"$r/$name.rc"
}
# mart_checksums OUT: one line per mart: name, rows and an order-independent
# digest of every column (`sam checksum`, the same digest the end-to-end
# incremental test compares; doubles enter with 10 significant digits).
mart_checksums() {
	"$BIN" checksum >"$1" 2>"$1.err" || echo "checksum missing (exit $?)" >>"$1"
}
if runs scale; then
	mkdir -p "$SC"
	GOBENCH_TEST=$WORK/bench.test
	$GO test -c -o "$GOBENCH_TEST" ./tests/bench >"$WORK/bench.test.build" 2>&1 || log "tests/bench does not build: see $WORK/bench.test.build"
	for n in $SCALE; do
		d=$SC/data_$n
		r=$SC/run_$n
		rm -rf "$d" "$r"
		mkdir -p "$r"
		days=$(days_for "$n")
		perday=$(awk -v n="$n" -v d="$days" 'BEGIN { printf "%d", n / d / 0.883 + 0.5 }')
		log "scale $n: generate ($days days x $perday events/day)"
		$TIME -f "%e %M" -o "$r/generate.time" "$BIN" generate --out "$d" --days "$days" --seed 42 --events-per-day "$perday" >"$r/generate.out" 2>"$r/generate.err"
		if [[ $n == "$LARGEST" ]] && has incremental; then
			# The last export day waits outside the export until the incremental run.
			last=$(ls "$d/ga4" | grep -E '^events_[0-9]{8}' | sed -E 's/^events_([0-9]{8}).*/\1/' | sort | tail -1)
			mkdir -p "$d/heldback"
			mv "$d/ga4"/events_"$last"* "$d/heldback/"
			echo "$last" >"$r/heldback_day"
		fi
		du -sb "$d/ga4" | cut -f1 >"$r/ga4_bytes"
		log "scale $n: DuckDB read_json baseline"
		(cd "$WORK" && SAM_BENCH_GA4_DIR=$d/ga4 $TIME -f "%e %M %U %S" -o "$r/readjson.time" "$GOBENCH_TEST" -test.run '^$' \
			-test.bench 'ReadJSONDir' -test.benchtime 1x -test.timeout 60m) >"$r/readjson.txt" 2>&1
		cat /proc/loadavg >"$r/load_before"
		sam_env "$d" "$r"
		for s in "${STAGES[@]}"; do
			log "scale $n: $s"
			timed "$r" "$s" "$BIN" run --stages "$s"
		done
		cut -d' ' -f1-3 /proc/loadavg >"$r/load_after"
		du -sb "$r/sam.duckdb" 2>/dev/null | cut -f1 >"$r/db_bytes"
		if [[ -f $r/heldback_day ]]; then
			log "scale $n: incremental run with day $(cat "$r/heldback_day") put back"
			mv "$d/heldback"/* "$d/ga4/"
			timed "$r" incr "$BIN" run
			mart_checksums "$r/checksums_incr"
			cp "$r/sam.duckdb" "$r/incr.duckdb" # the daily run's marts, for a second look
			log "scale $n: sam transform --full-refresh"
			timed "$r" fullrefresh "$BIN" transform --full-refresh
			mart_checksums "$r/checksums_full"
			# Marts whose checksum differs: compared row by row, doubles
			# within 1e-9 relative (TestMartsWithin says why).
			differ=$(diff "$r/checksums_incr" "$r/checksums_full" | grep '^<' | awk '{ print $2 }' | paste -sd' ' -)
			if [[ -n $differ && -x $GOBENCH_TEST ]]; then
				(cd "$WORK" && SAM_BENCH_DB_A=$r/incr.duckdb SAM_BENCH_DB_B=$r/sam.duckdb SAM_BENCH_MARTS="$differ" \
					"$GOBENCH_TEST" -test.run '^TestMartsWithin$' -test.timeout 30m) >"$r/marts_within.txt" 2>&1
			fi
			rm -f "$r/incr.duckdb" "$r/incr.duckdb.wal"
		fi
		unset SAM_DUCKDB_PATH SAM_GA4_EXPORT_DIR SAM_CRM_DIR SAM_SPEND_DIR SAM_FX_RATES_FILE SAM_GA4_SINK_FILE SAM_WRITEBACK_MODE \
			SAM_LOG_FORMAT SAM_LOG_LEVEL SAM_CRM_SOURCE SAM_ENGINE
		[[ ${SAM_BENCH_KEEP:-0} == 1 ]] || rm -rf "$d" "$r/sam.duckdb" "$r/sam.duckdb.wal" "$r/sam.duckdb.tmp" "$r/ga4sink.ndjson"
	done
fi

# ---------------------------------------------------------------- BENCHMARKS.md
# A report-only pass reuses the duration and final load of the run it reports.
if [[ ${SAM_BENCH_REPORT_ONLY:-0} == 1 && -f $WORK/finished ]]; then
	IFS='|' read -r TOTAL LOAD_END <"$WORK/finished"
else
	TOTAL=$(secs "$START" "$(now)")
	LOAD_END=$(loadavg)
	echo "$TOTAL|$LOAD_END" >"$WORK/finished"
fi
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
CMD="make bench"
[[ -n ${SAM_BENCH_SCALE:-} ]] && CMD="SAM_BENCH_SCALE=\"$SCALE\" $CMD"
[[ -n ${SAM_BENCH_PARTS:-} ]] && CMD="SAM_BENCH_PARTS=\"$PARTS\" $CMD"
[[ $QUICK == 1 ]] && CMD="SAM_BENCH_QUICK=1 $CMD"
[[ $CHAOS_RUNS != 20 ]] && CMD="SAM_CHAOS_RUNS=$CHAOS_RUNS $CMD"

f_chain=$GB/transform.txt
f_ga4=$GB/loaders_ga4.txt
f_file=$GB/loaders_crm_file.txt
f_hs=$GB/loaders_crm_hubspot.txt
f_sf=$GB/loaders_crm_salesforce.txt
f_attr=$GB/tests_attribution.txt

# Scale series figures, one line per size: n events bytes gen_s gen_rss and
# per stage wall_s rss_kb ledger_s rc.
scale_rows() {
	for n in $SCALE; do
		r=$SC/run_$n
		[[ -d $r ]] || continue
		ev=$(grep -o 'in [^:]*: [0-9]* GA4 events' "$r/generate.out" 2>/dev/null | awk '{ print $(NF-2) }')
		leads=$(grep -o '[0-9]* leads (' "$r/generate.out" 2>/dev/null | awk '{ print $1 }')
		line="$n ${ev:--} ${leads:--} $(cat "$r/ga4_bytes" 2>/dev/null || echo -) $(cat "$r/generate.time" 2>/dev/null | tail -1 | awk '{ print $1, $2 }')"
		for s in "${STAGES[@]}"; do
			tm=$(tail -1 "$r/$s.time" 2>/dev/null | cut -d' ' -f1-2)
			[[ $tm =~ ^[0-9.]+\ [0-9]+$ ]] || tm="- -"
			led=$(awk -v s="$s" '$1 == s && $2 ~ /^(succeeded|failed|skipped|interrupted)$/ { print $4 }' "$r/$s.out" 2>/dev/null | tail -1 | gosecs)
			[[ -s $r/$s.out ]] || led=-
			line+=" $tm $led $(cat "$r/$s.rc" 2>/dev/null || echo -)"
		done
		# The whole pipeline: wall and ledger summed, the highest peak RSS.
		echo "$line" | awk '{ w = 0; r = 0; l = 0; c = 0
			for (i = 7; i + 3 <= NF; i += 4) { w += $i; r = ($(i + 1) > r ? $(i + 1) : r); l += $(i + 2); c = ($(i + 3) != 0 ? $(i + 3) : c) }
			printf "%s %.2f %d %.1f %s\n", $0, w, r, l, c }'
	done
}
# model_secs N PATTERN: seconds the transform stage of size N spent in models
# whose name matches PATTERN (from its "model built" log lines).
model_secs() {
	local e=$SC/run_$1/transform.err
	[[ -f $e ]] || { echo -; return; }
	grep 'msg="model built"' "$e" | grep -E "model=($2) " | sed -n 's/.*duration=\([^ ]*\).*/\1/p' | gosecs
}
# runner_own N: the transform stage of size N against its own SQL, from its
# "build done" log line: "RATIO BUILD_S SQL_S", SQL_S being the time of the
# models' own statements and the data tests' queries, or "- - -".
runner_own() {
	local line b m t
	line=$(grep -m1 'msg="build done"' "$SC/run_$1/transform.err" 2>/dev/null) || { echo "- - -"; return; }
	b=$(sed -n 's/.* duration=\([^ ]*\).*/\1/p' <<<"$line" | gosecs 3)
	m=$(sed -n 's/.* model_statements=\([^ ]*\).*/\1/p' <<<"$line" | gosecs 3)
	t=$(sed -n 's/.* data_tests=\([^ ]*\).*/\1/p' <<<"$line" | gosecs 3)
	m=$(awk -v m="$m" -v t="$t" 'BEGIN { printf "%.3f", m + t }')
	echo "$(ratio "$b" "$m" 3) $b $m"
}
fence() { echo '```'; grep -E "$2" "$1" 2>/dev/null || echo "(no output: $1)"; echo '```'; }
# tfield N NAME K: field K of run_N/NAME.time (1 wall s, 2 peak RSS KiB, 3 user s, 4 system s).
tfield() {
	local v
	v=$(tail -1 "$SC/run_$1/$2.time" 2>/dev/null | cut -d' ' -f"$3")
	[[ $v =~ ^[0-9.]+$ ]] && echo "$v" || echo -
}
# nearest T: the size of the series closest to T events (by ratio).
nearest() {
	tr ' ' '\n' <<<"$SCALE" | awk -v t="$1" 'NF { d = log($1 / t); if (d < 0) d = -d; if (best == "" || d < bd) { best = $1; bd = d } } END { print best }'
}
# verdict VALUE OP LIMIT: met / not met (OP is <= or >=), or not measured.
verdict() {
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (v == "-" || v == "") { print "not measured"; exit }
		ok = (op == "<=" ? v + 0 <= l + 0 : v + 0 >= l + 0); print (ok ? "**met**" : "**not met**") }'
}
# events N: GA4 events the export of size N holds (in the full build's files).
events() {
	local ev
	ev=$(grep -o 'in [^:]*: [0-9]* GA4 events' "$SC/run_$1/generate.out" 2>/dev/null | awk '{ print $(NF-2) }')
	echo "${ev:--}"
}
# issue19: the table of issue 19's figures, each a ratio within this run.
issue19() {
	has scale || has go || return 0
	echo "## Issue 19 targets"
	echo
	echo "Each ratio compares two measurements taken in turn in this run on the same files: the"
	echo "baseline is DuckDB's own \`read_json\` of the export with its typed schema (tests/bench"
	echo "BenchmarkReadJSONDir, run just before the pipeline), the pipeline runs with default settings"
	echo "(no \`SAM_DUCKDB_MEMORY_LIMIT\`), one \`sam run --stages STAGE\` process per stage."
	echo
	echo "| figure | measured | target | status |"
	echo "|---|---|---|---|"
	if has scale; then
		local n1 n2 nl rj lw cpu rjcpu all ev st stall peak rcs incr full fr same
		n1=$(nearest 883000)
		rj=$(metric "$SC/run_$n1/readjson.txt" BenchmarkReadJSONDir s)
		lw=$(tfield "$n1" load_ga4 1)
		cpu=$(awk -v w="$lw" -v u="$(tfield "$n1" load_ga4 3)" -v s="$(tfield "$n1" load_ga4 4)" 'BEGIN { if (w == "-" || u == "-" || w <= 0) print "-"; else printf "%.2f", (u + s) / w }')
		rjcpu=$(awk -v w="$(tfield "$n1" readjson 1)" -v u="$(tfield "$n1" readjson 3)" -v s="$(tfield "$n1" readjson 4)" 'BEGIN { if (w == "-" || u == "-" || w <= 0) print "-"; else printf "%.2f", (u + s) / w }')
		echo "| GA4 load / \`read_json\` wall, $(fmtnum "$(events "$n1")") events ($(awk -v b="$(cat "$SC/run_$n1/ga4_bytes" 2>/dev/null || echo 0)" 'BEGIN { printf "%.1f", b / 1e9 }') GB) | $(ratio "$lw" "$rj") ($lw s / $rj s); CPU: the load keeps $cpu cores busy (user+sys / wall), \`read_json\`'s process $rjcpu | ≤ 1.0 | $(verdict "$(ratio "$lw" "$rj")" "<=" 1.0) |"
		n2=$(nearest 265000)
		rj=$(metric "$SC/run_$n2/readjson.txt" BenchmarkReadJSONDir s)
		all=$(scale_rows | awk -v n="$n2" '$1 == n { print $(NF - 3) }')
		echo "| all stages / \`read_json\` wall, $(fmtnum "$(events "$n2")") events | $(ratio "${all:--}" "$rj") (${all:--} s / $rj s) | ≤ 1.5 | $(verdict "$(ratio "${all:--}" "$rj")" "<=" 1.5) |"
		nl=$LARGEST
		rj=$(metric "$SC/run_$nl/readjson.txt" BenchmarkReadJSONDir s)
		read -r all peak rcs <<<"$(scale_rows | awk -v n="$nl" '$1 == n { print $(NF - 3), $(NF - 2), $NF }')"
		local at="at $(fmtnum "$(events "$nl")") events over $(days_for "$nl") days"
		((nl >= 10000000)) || at+=" (not the 10M series: \`SAM_BENCH_PARTS=\"scale incremental\" SAM_BENCH_SCALE=10000000 make bench\`)"
		echo "| all stages / \`read_json\` of the same files, $at | $(ratio "${all:--}" "$rj") (${all:--} s / $rj s) | ≤ 1.5 | $(verdict "$(ratio "${all:--}" "$rj")" "<=" 1.5) |"
		local peakmib=-
		[[ ${peak:--} != - ]] && peakmib=$(awk -v k="$peak" 'BEGIN { printf "%.0f", k / 1024 }')
		local peakstage
		peakstage=$(for s in "${STAGES[@]}"; do echo "$(tfield "$nl" "$s" 2) $s"; done | sort -n | tail -1 | awk '{ print $2 }')
		local rss_status
		rss_status=$(verdict "$peakmib" "<=" 2048)
		[[ ${rcs:-1} != 0 ]] && rss_status="**not met**: a stage failed (exit $rcs)"
		echo "| peak RSS of any stage, default settings, $at | $peakmib MiB ($peakstage; memory limit: $(grep -ho 'DuckDB memory limit [^"]*' "$SC/run_$nl/transform.err" 2>/dev/null | head -1 | sed 's/DuckDB memory limit //')) | ≤ 2048 MiB, run completes | $rss_status |"
		ev=$(events "$nl")
		st=$(model_secs "$nl" 'stg_ga4__events|stg_ga4__sessions')
		stall=$(model_secs "$nl" 'stg_ga4__[a-z_]+')
		local eps epsall
		eps=$(awk -v e="$ev" -v t="$st" 'BEGIN { if (e == "-" || t == "-" || t <= 0) print "-"; else printf "%.0f", e / t }')
		epsall=$(awk -v e="$ev" -v t="$stall" 'BEGIN { if (e == "-" || t == "-" || t <= 0) print "-"; else printf "%.0f", e / t }')
		echo "| \`stg_ga4__events\` + \`stg_ga4__sessions\`, $at (model durations from the transform log) | $(fmtnum "$eps") events/s ($st s); every \`stg_ga4__*\` model: $(fmtnum "$epsall") events/s ($stall s) | ≥ 500,000 events/s (all of GA4 staging) | $(verdict "$epsall" ">=" 500000) |"
		if has incremental; then
			incr=$(tfield "$nl" incr 1)
			full=${all:--}
			fr=$(tfield "$nl" fullrefresh 1)
			same=-
			if [[ -s $SC/run_$nl/checksums_incr && -s $SC/run_$nl/checksums_full ]]; then
				if grep -q missing "$SC/run_$nl/checksums_incr"; then
					same="a mart is missing"
				elif cmp -s "$SC/run_$nl/checksums_incr" "$SC/run_$nl/checksums_full"; then
					same="equal"
				else
					local differ within
					differ=$(diff "$SC/run_$nl/checksums_incr" "$SC/run_$nl/checksums_full" | grep '^<' | awk '{ print $2 }' | paste -sd, -)
					within=$(grep -c ': equal within 1e-9$' "$SC/run_$nl/marts_within.txt" 2>/dev/null)
					if [[ $within == $(echo "$differ" | tr ',' '\n' | grep -c .) ]]; then
						same="equal (the checksums of $differ differ, their rows are equal with doubles within 1e-9 relative: sums in another order, on a rounding boundary of the checksum)"
					else
						same="**differ**: $differ ($(grep -v ': equal within' "$SC/run_$nl/marts_within.txt" 2>/dev/null | grep ': differ' | head -3 | cut -c1-300 | paste -sd';' - || echo "not compared row by row"))"
					fi
				fi
			fi
			local ist
			ist=$(verdict "$(ratio "$incr" "$full" 3)" "<=" 0.10)
			[[ $same != equal* ]] && ist="**not met**: checksums not equal"
			[[ $(cat "$SC/run_$nl/incr.rc" 2>/dev/null) == 0 ]] || ist="**not met**: the incremental run failed (exit $(cat "$SC/run_$nl/incr.rc" 2>/dev/null || echo -))"
			echo "| daily incremental run (day $(cat "$SC/run_$nl/heldback_day" 2>/dev/null || echo -) held back, then \`sam run\`) / full build (all stages), $at | $(ratio "$incr" "$full" 3) ($incr s / $full s); \`sam transform --full-refresh\` afterwards $fr s; checksums of the $(wc -l <"$SC/run_$nl/checksums_full" 2>/dev/null || echo 0) marts vs the full refresh: $same | ≤ 0.10, equal to a full rebuild | $ist |"
		fi
	fi
	if has go; then
		local med p25 p75
		med=$(metric "$f_chain" BenchmarkBuildChain runner/raw)
		p25=$(metric "$f_chain" BenchmarkBuildChain runner/raw_p25)
		p75=$(metric "$f_chain" BenchmarkBuildChain runner/raw_p75)
		echo "| transform runner / the same compiled SQL through the driver (transform BenchmarkBuildChain, 10 models over 1M rows) | median of $(grep -m1 '^BenchmarkBuildChain' "$f_chain" 2>/dev/null | awk '{ print $2 }') interleaved pairs $med (interquartile $p25–$p75) | ≤ 1.05, settled | $(verdict "$med" "<=" 1.05) |"
	fi
	if has scale; then
		local own
		own=$(for n in $SCALE; do read -r r b q <<<"$(runner_own "$n")"; echo -n "$(fmtnum "$(events "$n")") events $r ($b s / $q s); "; done | sed 's/; $//')
		echo "| transform runner on SAM's own models: the transform stage's build / the time its models' own statements (fill, windows, removal of copies) and its data tests' queries took in it (its \"build done\" log line; DuckDB builds one model at a time) | $own | ≤ 1.05 if the runner is judged on SAM's own models | for the owner's decision |"
	fi
	echo
	echo "Load average during the scale series, per size (before → after the stages): $(for n in $SCALE; do echo -n "$(fmtnum "$(events "$n")") events $(cut -d' ' -f1-3 "$SC/run_$n/load_before" 2>/dev/null) → $(cat "$SC/run_$n/load_after" 2>/dev/null); "; done | sed 's/; $//')."
	echo
}

{
	echo "# Benchmarks"
	echo
	echo "Written by \`tests/bench/run.sh\` — do not edit by hand; rerun \`make bench\`."
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| command | \`$CMD\` (took $(awk -v s="$TOTAL" 'BEGIN { printf "%d min %d s", s / 60, s % 60 }')) |"
	echo "| date | $STARTED |"
	echo "| commit | $(cat "$WORK/commit") (the tree the run started on) |"
	echo "| machine | $(nproc) cores, $CPU, $MEM RAM, $(uname -sr) |"
	echo "| Go | $($GO env GOVERSION) |"
	echo "| load average (1/5/15 min) | at start $LOAD_START; at end $LOAD_END |"
	echo
	if awk -v l="${LOAD_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
		echo "> **The machine was loaded** when this ran (load average above the core count): absolute"
		echo "> figures are pessimistic and noisy; ratios measured within one benchmark are steadier."
		echo
	fi

	issue19
	echo "## Summary"
	echo
	echo "| issue | figure | target |"
	echo "|---|---|---|"
	if has go; then
		fl=$(metric "$f_ga4" BenchmarkFileLoad events/s)
		rj=$(metric "$f_ga4" BenchmarkDuckDBReadJSON events/s)
		echo "| GA4 file load, 45k events (bench) | $(fmtnum "$fl") events/s, $(metric "$f_ga4" BenchmarkFileLoad MB/s) MB/s; DuckDB read_json $(fmtnum "$rj") events/s; load/read_json time $(ratio "$rj" "$fl") | |"
		for api in "HubSpot search|$f_hs|BenchmarkSearchThroughput" "Salesforce query|$f_sf|BenchmarkQueryThroughput"; do
			IFS='|' read -r name file bn <<<"$api"
			echo "| CRM: $name vs the simulator's rate-limit ceiling | $(fmtnum "$(metric "$file" "$bn" records/s)") records/s = $(metric "$file" "$bn" %ceiling) % of the ceiling | ≥ 90 % |"
		done
		rss10k=$(cat "$WORK/crmfile_rss_10000" 2>/dev/null | tail -1)
		rss1m=$(cat "$WORK/crmfile_rss_1000000" 2>/dev/null | tail -1)
		echo "| CRM file loader, peak at 10k vs 1M leads | heap $(metric "$f_file" 'BenchmarkPeakMemory/leads=10000' peak-heap-MiB) vs $(metric "$f_file" 'BenchmarkPeakMemory/leads=1000000' peak-heap-MiB) MiB; process RSS $(awk -v k="${rss10k:--}" 'BEGIN { if (k == "-") print "-"; else printf "%.0f", k / 1024 }') vs $(awk -v k="${rss1m:--}" 'BEGIN { if (k == "-") print "-"; else printf "%.0f", k / 1024 }') MiB | flat |"
		echo "| attribution build (every attribution model and data test), 1M sessions / 50k leads, 19 channels (tests/attribution) | $(nstos "$(metric "$f_attr" BenchmarkAttributionBuild ns/op)") s | |"
		mk=""
		for k in 4 8 16 32; do mk+="$k channels $(nstos "$(metric "$f_attr" "BenchmarkMarkov/channels=$k" ns/op)") s; "; done
		echo "| attribution: Markov models (100k sessions / 5k leads) vs channels | ${mk%; } | |"
		for dest in "GA4 (Measurement Protocol, local sink; SAM's default 200 requests/s, ledger in DuckDB)|ga4" \
			"Google Ads (Data Manager API simulator, 300 requests/min)|googleads" \
			"Meta (Conversions API simulator, 20 requests/s)|meta" "LinkedIn (Conversions API simulator)|linkedin"; do
			IFS='|' read -r name pkg <<<"$dest"
			echo "| activation: $name throughput vs the rate ceiling | $(metric "$GB/activation_$pkg.txt" BenchmarkThroughput ceiling_ratio) of the ceiling | ≥ 0.9 |"
		done
		echo "| activation: 400 one-event requests, 8 in flight, through a ledger whose writes take 20 ms and a destination that answers in 2 ms (writeback on BigQuery, DML writes of 1–2 s, scaled down 100×) | $(fmtnum "$(metric "$GB/activation.txt" BenchmarkSlowLedger requests/s)") requests/s, $(metric "$GB/activation.txt" BenchmarkSlowLedger writes/request) ledger writes a request | |"
		# A failed benchmark leaves "-" in its row above; name it here. Its
		# "--- FAIL:" follows the benchmark's name on the same line; a package
		# that does not build or crashes names no benchmark, only its exit.
		failed=$(for f in "$GB"/*.txt; do
			[[ -f $f ]] || continue
			awk -v pkg="$(basename "$f" .txt | tr _ /)" '
				{ for (i = 1; i < NF; i++) if ($i == "---" && $(i + 1) == "FAIL:") { b = $(i + 2); sub(/-[0-9]+$/, "", b); names[b] = 1; n++ } }
				/^\(exit [0-9]+\)$/ { code = $2 + 0; if (code != 0) bad = code }
				END {
					for (b in names) print pkg " " b
					if (bad && !n) print pkg " (exit " bad ", no benchmark ran)"
				}' "$f"
		done | sort -u | paste -sd'|' - | sed 's/|/, /g')
		echo "| Go benchmarks that failed | ${failed:-none} | none |"
	fi
	if has zetasql; then
		zt=$(awk '$1 == "ok" { s += $3 + 0 } END { printf "%.1f", s }' "$WORK/zetasql.txt")
		echo "| ZetaSQL: BigQuery SQL checks (tools/zetasql, tests/bigquerysql) | $zt s of test time; $(cat "$WORK/zetasql_wall") s wall with compiling, alone | |"
	fi
	if has scale; then
		echo "| scale series, issue 19's figures | see [Issue 19 targets](#issue-19-targets) and [below](#scale-series-embedded-pipeline) | near-linear |"
	fi
	if has chaos; then
		rc=$(cat "$WORK/chaos.rc")
		case $rc in
		0) ch="passed: $(grep -o '[0-9]* of [0-9]* runs killed[^"]*' "$WORK/chaos.txt" | tail -1)" ;; missing) ch="not run: tests/chaos has no tests yet" ;; *) ch="**FAILED** (exit $rc)" ;;
		esac
		echo "| chaos: $CHAOS_RUNS kill -9 runs (tests/chaos) | $ch$([[ -f $WORK/chaos_wall ]] && echo ", $(cat "$WORK/chaos_wall") s") | all recover |"
	fi
	echo

	if has scale; then
		echo "## Scale series (embedded pipeline)"
		echo
		echo "\`sam generate --days $DAYS --seed 42 --events-per-day N\`, then each stage as its own process,"
		echo "\`sam run --stages STAGE\`, on a fresh DuckDB file, under \`/usr/bin/time\` (wall time, peak RSS);"
		echo "\"ledger\" is the stage's duration in \`sam_run_ledger\` (without process start and opening the"
		echo "warehouse). Writeback sends to the local GA4 sink at the default rate limit (200 requests/s)."
		echo
		echo "| events | leads | export MB | generate s | stage | wall s | ledger s | peak RSS MiB | exit |"
		echo "|---:|---:|---:|---:|---|---:|---:|---:|---:|"
		scale_rows | while read -r _ ev leads by gw _ rest; do
			# shellcheck disable=SC2086 # split into the per-stage fields
			set -- $rest
			first_row=1
			for s in "${STAGES[@]}" "all stages"; do
				if [[ $first_row == 1 ]]; then
					printf "| %s | %s | %s | %s " "$(fmtnum "$ev")" "$(fmtnum "$leads")" "$(awk -v b="$by" 'BEGIN { if (b == "-") print "-"; else printf "%.0f", b / 1e6 }')" "$gw"
					first_row=0
				else
					printf "| | | | "
				fi
				printf "| %s | %s | %s | %s | %s |\n" "$s" "$1" "$3" "$(awk -v k="$2" 'BEGIN { if (k == "-") print "-"; else printf "%.0f", k / 1024 }')" "$4"
				shift 4
			done
		done
		echo
		echo "Growth between consecutive sizes: the exponent k in time ∝ events^k (1 is linear) for each"
		echo "stage's wall time and peak RSS, and the transform stage's models by group (from its log)."
		echo
		echo "| from → to | $(printf '%s | ' "${STAGES[@]}")all stages | GA4 staging | attribution models |"
		echo "|---|$(printf -- '---:|%.0s' "${STAGES[@]}")---:|---:|---:|"
		scale_rows >"$WORK/scale_rows"
		prev=""
		while read -r n ev _ _ _ _ rest; do
			if [[ -n $prev ]]; then
				read -r pn pev prest <<<"$prev"
				read -ra cur <<<"$rest"
				read -ra pa <<<"$prest"
				row="| $(fmtnum "$pev") → $(fmtnum "$ev") |"
				for i in "${!STAGES[@]}" ${#STAGES[@]}; do
					w=${cur[$((i * 4))]} m=${cur[$((i * 4 + 1))]}
					pw=${pa[$((i * 4))]} pm=${pa[$((i * 4 + 1))]}
					row+=" $(awk -v a="$pw" -v b="$w" -v c="$pm" -v d="$m" -v x="$pev" -v y="$ev" 'BEGIN {
						if (a == "-" || b == "-" || a <= 0 || b <= 0) t = "-"; else t = sprintf("%.2f", log(b / a) / log(y / x))
						if (c == "-" || d == "-") r = "-"; else r = sprintf("%.2f", log(d / c) / log(y / x))
						print "time " t ", RSS " r }') |"
				done
				for pat in 'stg_ga4__[a-z_]+' 'int_[a-z_0-9]+|fct_lead_revenue|attribution_touchpoints|channel_performance|channel_cohorts'; do
					row+=" $(awk -v a="$(model_secs "$pn" "$pat")" -v b="$(model_secs "$n" "$pat")" -v x="$pev" -v y="$ev" 'BEGIN {
						if (a == "-" || b == "-" || a <= 0 || b <= 0) print "-"; else printf "time %.2f", log(b / a) / log(y / x) }') |"
				done
				echo "$row"
			fi
			prev="$n $ev $rest"
		done <"$WORK/scale_rows"
		echo
		echo "Slowest models in the transform stage, per size (seconds, from the stage's log):"
		echo
		echo '```'
		for n in $SCALE; do
			e=$SC/run_$n/transform.err
			[[ -f $e ]] || continue
			echo "$n events:"
			grep 'msg="model built"' "$e" | sed -n 's/.*model=\([^ ]*\).*rows=\([0-9]*\).*duration=\([^ ]*\).*/\3 \1 \2/p' |
				while read -r d m rows; do echo "$(echo "$d" | gosecs) $m $rows"; done | sort -rn | head -8 |
				awk '{ printf "  %-32s %8.1f s  %s rows\n", $2, $1, $3 }'
			grep -h 'level=ERROR' "$SC/run_$n"/*.err 2>/dev/null | head -3 | cut -c1-300 | sed 's/^/  ERROR: /'
		done
		echo '```'
		echo
		echo "DuckDB read_json baseline (tests/bench BenchmarkReadJSONDir) on the first size's files:"
		echo
		fence "$SC/run_$(echo "$SCALE" | awk '{ print $1 }')/readjson.txt" '^Benchmark|FAIL|panic'
		echo
	fi

	if has go; then
		echo "## Go benchmarks"
		echo
		echo "\`go test -run '^\$' -bench REGEXP -benchtime N PACKAGE\` for each package (see GOBENCH in"
		echo "tests/bench/run.sh). Raw result lines:"
		echo
		for f in "$GB"/*.txt; do
			echo "### $(basename "$f" .txt | tr _ /)"
			echo
			fence "$f" '^(\$ go test|Benchmark|ok|FAIL|--- FAIL|panic|\(exit [1-9])|^ +[a-z_0-9]+ +[0-9.]+s$|slowest models'
			echo
		done
		if [[ -f $WORK/crmfile_rss_10000 ]]; then
			echo "CRM file loader process peak RSS (\`/usr/bin/time\` around one sub-benchmark each): 10k leads $(tail -1 "$WORK/crmfile_rss_10000") KiB, 1M leads $(tail -1 "$WORK/crmfile_rss_1000000") KiB."
			echo
		fi
	fi

	if has zetasql; then
		echo "## ZetaSQL checks"
		echo
		echo "\`SAM_REQUIRE_ZETASQL=1 go test -count=1 ./tools/zetasql ./tests/bigquerysql\`, alone:"
		echo
		fence "$WORK/zetasql.txt" '^(ok|FAIL|---|panic|\(exit)'
		echo
	fi

	if has chaos; then
		echo "## Chaos"
		echo
		echo "\`SAM_CHAOS_RUNS=$CHAOS_RUNS go test -count=1 -v ./tests/chaos\`:"
		echo
		echo '```'
		grep -vE '^=== (RUN|PAUSE|CONT)' "$WORK/chaos.txt" | tail -40
		echo '```'
		echo
	fi
	if [[ -s $ROOT/tests/bench/NOTES.md ]]; then
		echo "## Notes"
		echo
		echo "From tests/bench/NOTES.md, written by hand about a past run: check them against the figures above."
		echo
		cat "$ROOT/tests/bench/NOTES.md"
	fi
} >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"

log "wrote $OUT in $TOTAL s"
[[ ${SAM_BENCH_KEEP:-0} == 1 || -n ${SAM_BENCH_WORK:-} ]] || rm -rf "$WORK"
}

# The whole script is one function, parsed before it runs: editing this file
# during a run does not affect the run.
main "$@"; exit $?
