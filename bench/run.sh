#!/usr/bin/env bash
# Benchmark: prep-difusor's publication of a series of cortes versus `rclone sync --checksum` and `aws s3 sync`
# (each after `sha256sum -c` and `unzip`), and versus the floor (`sha256sum` alone + the endpoint's raw PUT capacity
# applied to the objects that really changed), in one run, on the same packages and the same S3 endpoint (S3Proxy on
# 127.0.0.1). After every corte and every tool the bucket is compared with the package byte for byte.
# See BENCHMARKS.md for what is measured and how.
#
#   bench/run.sh                         # FULL scale, 5 cortes, plus the 4x heap check
#   SCALE=SMALL CORTES=4 HEAP_CHECK=0 bench/run.sh    # quick check (the 4x resume case needs a FULL 4x site)
#
# Environment (defaults in brackets):
#   SCALE [FULL]  CORTES [5]  START [20240602_2220]  STEP [20] minutes  SEED [2024]
#   FIRST_SEQ [8]          corte sequence of the first package; the generator renames its hashed front-end bundles
#                          every 10 sequences, so the default series crosses one deploy (new + deleted objects)
#   DIFUSOR_CONCURRENCY [64]   difusor.publish.concurrency (the shipped default)
#   RCLONE_TRANSFERS [32]  RCLONE_CHECKERS [32]  AWS_CONCURRENCY [32]
#   RAW_PUT_OBJECTS [10000]    objects per pass of the raw PUT capacity measurement
#   RAW_PUT_CONCURRENCY ["16 32 64 128"]   the concurrencies measured
#   RAW_PUT_PASSES [3]         timed passes per client and concurrency; the best setting's median rate is the floor
#   RAW_PUT_CLIENTS [apache5,apache,apache5-whole,apache-whole]   the SDK HTTP clients measured (HttpClient 5,
#                                      prep-difusor's; 4, the older default), each with the SDK's aws-chunked signing
#                                      and with -whole: one signature over the whole body, as prep-difusor signs
#   HEAP_CHECK [1]         publish a package 4x as large with -Xmx256m in a fresh JVM, its next corte in the same JVM,
#                          and the one after in a fresh JVM again (a restart: manifest, bucket listing and file list
#                          of the 4x site in memory at once); then one more, cut short by kill -9 in mid-publication and
#                          finished by a restarted JVM from the history (its plan's base is the whole listing)
#   RESUME_CUT_PUTS [4000] site PUTs of that last corte before the kill
#   BIG_VERIFY [1]         byte-for-byte check of the 4x publication too
#   GAP [0]                seconds of idle time before each corte after the first (on election night they are 20
#                          minutes apart: the JVM's JIT finishes compiling in between)
#   PUBLISH_TIMEOUT [1800] seconds to wait for one publication; TOOL_TIMEOUT [3600] per external tool
#   WORK [/tmp/prep-bench] scratch folder (wiped at start)
#   UNZIP_ROOT [$WORK]     where rclone and aws get their unzipped tree (e.g. /dev/shm to take the disk out of unzip)
#   KEEP_WORK [0]          1: leave WORK in place at the end
#   DIFUSOR_JVM_FLAGS [the image's ENTRYPOINT flags but the heap: the parallel collector with NewRatio=5]
#   DIFUSOR_JAVA_OPTS []   extra JVM options for prep-difusor (e.g. a JFR recording while looking for hot spots)
#   TOOLS ["rclone aws"]   the tools compared with prep-difusor; TOOLS= runs prep-difusor and the floor only (a quick
#                          iteration: the report then marks the rclone target as not measured)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCALE=${SCALE:-FULL}
CORTES=${CORTES:-5}
START=${START:-20240602_2220}
STEP=${STEP:-20}
SEED=${SEED:-2024}
FIRST_SEQ=${FIRST_SEQ:-8}
DIFUSOR_CONCURRENCY=${DIFUSOR_CONCURRENCY:-64}
RCLONE_TRANSFERS=${RCLONE_TRANSFERS:-32}
RCLONE_CHECKERS=${RCLONE_CHECKERS:-32}
AWS_CONCURRENCY=${AWS_CONCURRENCY:-32}
RAW_PUT_OBJECTS=${RAW_PUT_OBJECTS:-10000}
RAW_PUT_CONCURRENCY=${RAW_PUT_CONCURRENCY:-16 32 64 128}
RAW_PUT_PASSES=${RAW_PUT_PASSES:-3}
RAW_PUT_CLIENTS=${RAW_PUT_CLIENTS:-apache5,apache,apache5-whole,apache-whole}
HEAP_CHECK=${HEAP_CHECK:-1}
BIG_VERIFY=${BIG_VERIFY:-1}
RESUME_CUT_PUTS=${RESUME_CUT_PUTS:-4000}
PUBLISH_TIMEOUT=${PUBLISH_TIMEOUT:-1800}
GAP=${GAP:-0}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-3600}
WORK=${WORK:-/tmp/prep-bench}
KEEP_WORK=${KEEP_WORK:-0}
UNZIP_ROOT=${UNZIP_ROOT:-$WORK}
TOOLS=${TOOLS-rclone aws}
DIFUSOR_JAVA_OPTS=${DIFUSOR_JAVA_OPTS:-}
# the JVM flags of the image's ENTRYPOINT (Containerfile) but the heap, which is the target's -Xmx256m
DIFUSOR_JVM_FLAGS=${DIFUSOR_JVM_FLAGS:--XX:+UseParallelGC -XX:NewRatio=5}
DISTRIBUTION=EBENCHDIST0001
AWS=/usr/bin/aws
[ -x "$AWS" ] || AWS=aws

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS_DIR="$REPO/bench/results"
RESULTS="$WORK/results.tsv"   # corte  tool  key  value

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
now_ms() { date +%s%3N; }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RESULTS"; }

# ---------------------------------------------------------------- processes: every one we start, stopped on exit
PIDS=()
cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
        fi
    done
    sleep 1
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    if [ "$KEEP_WORK" != 1 ] && [ -d "$WORK" ]; then
        rm -rf "$UNZIP_ROOT/unzip-rclone" "$UNZIP_ROOT/unzip-aws" "$WORK/world" "$WORK"/difusor*/incoming "$WORK/packages"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for <seconds> <description> <command...>: polls every 0.2 s
wait_for() {
    local limit=$1 what=$2
    shift 2
    local deadline=$(( $(date +%s) + limit ))
    until "$@"; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# ---------------------------------------------------------------- tools
# everything talks plain HTTP to 127.0.0.1: no proxies, no custom CA bundle (rclone's S3 SDK refuses AWS_CA_BUNDLE
# on its own transport), no profile or credentials from the host
unset AWS_CA_BUNDLE AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE \
    HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy || true
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
for tool in $TOOLS; do
    case "$tool" in rclone | aws) ;; *) die "TOOLS names rclone and aws, not '$tool'" ;; esac
done
uses() { [[ " $TOOLS " == *" $1 "* ]]; }
missing=()
if uses rclone; then command -v rclone >/dev/null || missing+=(rclone); fi
if uses aws; then [ -x /usr/bin/aws ] || missing+=(awscli); fi
command -v unzip >/dev/null || missing+=(unzip)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
AWS=/usr/bin/aws
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# ---------------------------------------------------------------- build from a fresh clone of the committed main
# a leftover prep-difusor of an earlier run polling the same incoming folder would steal the packages
if pgrep -f -- "-Ddifusor.source.directory=$WORK/" >/dev/null; then
    die "a prep-difusor from an earlier run still polls $WORK (pids $(pgrep -d' ' -f -- "-Ddifusor.source.directory=$WORK/")); stop it or set WORK"
fi
rm -rf "$WORK"
mkdir -p "$WORK" "$RESULTS_DIR" "$UNZIP_ROOT"
: >"$RESULTS"
log "cloning the committed main of $REPO"
git clone -q "$REPO" "$WORK/src"
SRC="$WORK/src"
COMMIT=$(git -C "$SRC" log -1 --format='%h %s')
# (no pipe into grep -q here: under pipefail git's SIGPIPE would turn a match into "no")
if [ -n "$(git -C "$SRC" log -1 --format=%h --grep='^Publish only what changed')" ]; then CHANGED_ONLY=yes; else CHANGED_ONLY=no; fi
log "prep-difusor at $COMMIT (\"Publish only what changed\" landed: $CHANGED_ONLY)"
# the benchmark's own helpers (test sources only; prep-difusor itself is exactly the committed main)
mkdir -p "$SRC/src/test/java/mx/prep/difusor/bench"
cp "$REPO"/src/test/java/mx/prep/difusor/bench/*.java "$SRC/src/test/java/mx/prep/difusor/bench/"
mvn_q() { (cd "$SRC" && { mvn -q -o "$@" || mvn -q "$@"; }) ; }
log "building prep-difusor.jar and the test classpath"
mvn_q -DskipTests package >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; die "build"; }
mvn_q -DskipTests test-compile >>"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; die "test-compile"; }
mvn_q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$WORK/cp.txt" >>"$WORK/build.log" 2>&1 \
    || { cat "$WORK/build.log"; die "classpath"; }
CP="$SRC/target/test-classes:$SRC/target/classes:$(cat "$WORK/cp.txt")"
JAR="$SRC/target/prep-difusor.jar"
[ -f "$JAR" ] || die "no $JAR"

# ---------------------------------------------------------------- packages
PKG="$WORK/packages"
mkdir -p "$PKG"
log "generating $CORTES $SCALE cortes from $START every $STEP min (seed $SEED, first sequence $FIRST_SEQ)"
java -cp "$CP" mx.prep.difusor.bench.BenchPackages generate "$PKG" "$SCALE" "$CORTES" "$START" "$STEP" "$SEED" "$FIRST_SEQ" \
    >"$WORK/packages.txt"
mapfile -t NAMES < <(cut -d' ' -f1 "$WORK/packages.txt")
while read -r name entries bytes sha; do
    printf '%s  %s\n' "$sha" "$name" >"$PKG/$name.sha256"
    record "$name" package entries "$entries"
    record "$name" package bytes "$bytes"
done <"$WORK/packages.txt"
cat "$WORK/packages.txt" >&2

BIG=""
if [ "$HEAP_CHECK" = 1 ]; then
    # four different sites (seeds) of the last corte's time, merged into one package: 4x the files and bytes; the
    # same four sites one corte later, published next by the same JVM: the manifest of 4x the files is then in memory
    # while the unzip step compares fingerprints with it; and one more corte, published by a restarted JVM, whose first
    # plan holds the manifest and a listing of the 4x site beside the package's file list; and one more, cut short in
    # mid-publication and taken back from the history by a restarted JVM
    last_stamp=$(echo "${NAMES[$((CORTES - 1))]}" | sed -E 's/.*_([0-9]{8}_[0-9]{4})\.zip/\1/')
    mkdir -p "$WORK/big-parts"
    for s in 0 1 2 3; do
        java -cp "$CP" mx.prep.difusor.bench.BenchPackages generate "$WORK/big-parts/$s" "$SCALE" 4 "$last_stamp" "$STEP" \
            $((SEED + s)) $((FIRST_SEQ + CORTES - 1)) >"$WORK/big-parts/$s.txt"
    done
    next_stamp=$(sed -n 2p "$WORK/big-parts/0.txt" | sed -E 's/.*_([0-9]{8}_[0-9]{4})\.zip.*/\1/')
    restart_stamp=$(sed -n 3p "$WORK/big-parts/0.txt" | sed -E 's/.*_([0-9]{8}_[0-9]{4})\.zip.*/\1/')
    BIG="PREP2024_X4_${last_stamp}.zip"
    BIG_NEXT="PREP2024_X4_${next_stamp}.zip"
    resume_stamp=$(sed -n 4p "$WORK/big-parts/0.txt" | sed -E 's/.*_([0-9]{8}_[0-9]{4})\.zip.*/\1/')
    BIG_RESTART="PREP2024_X4_${restart_stamp}.zip"
    BIG_RESUME="PREP2024_X4_${resume_stamp}.zip"
    for pair in "$BIG:1" "$BIG_NEXT:2" "$BIG_RESTART:3" "$BIG_RESUME:4"; do
        name=${pair%%:*} line=${pair##*:}
        parts=()
        for s in 0 1 2 3; do parts+=("$WORK/big-parts/$s/$(sed -n "${line}p" "$WORK/big-parts/$s.txt" | cut -d' ' -f1)"); done
        java -cp "$CP" mx.prep.difusor.bench.BenchPackages merge "$WORK/big-parts/$name" "${parts[@]}" >"$WORK/big.txt"
        read -r _ big_entries big_bytes big_sha <"$WORK/big.txt"
        printf '%s  %s\n' "$big_sha" "$name" >"$WORK/big-parts/$name.sha256"
        label=big; [ "$line" = 2 ] && label=bignext; [ "$line" = 3 ] && label=bigrestart; [ "$line" = 4 ] && label=bigresume
        record "$label" package entries "$big_entries"
        record "$label" package bytes "$big_bytes"
        log "4x package: $name, $big_entries entries, $big_bytes bytes"
    done
fi

# ---------------------------------------------------------------- the world: S3Proxy + CloudFront emulator
mkdir -p "$WORK/world"
BUCKETS="bench-difusor-site bench-difusor-history bench-rclone bench-aws bench-raw bench-big-site bench-big-history"
java -Xmx10g -cp "$CP" mx.prep.difusor.bench.BenchWorld 0 0 memory "$DISTRIBUTION" "$WORK/world/ports" $BUCKETS \
    >"$WORK/world/world.log" 2>&1 &
WORLD_PID=$!
PIDS+=("$WORLD_PID")
wait_for 90 "world" test -f "$WORK/world/ports" || { tail -50 "$WORK/world/world.log"; die "S3Proxy/CloudFront did not start"; }
# shellcheck disable=SC1091
source "$WORK/world/ports"
ENDPOINT="http://127.0.0.1:$S3_PORT"
log "S3Proxy at $ENDPOINT (in memory), CloudFront emulator at $CF_ENDPOINT, counters on $COUNTERS_PORT"

counts() { curl -sf "http://127.0.0.1:$COUNTERS_PORT/counts"; }
# puts/deletes of one bucket from a counts snapshot
count_of() { awk -v b="$2" -v f="$3" '$1 == b { print (f == "puts" ? $2 : $3); found = 1 } END { if (!found) print 0 }' <<<"$1"; }
# S3Proxy needs x-amz-content-sha256 (curl 7.88 does not add it): the SHA-256 of the empty body
s3get() {
    curl -sf --max-time 10 --aws-sigv4 "aws:amz:us-east-1:s3" --user prep-local:prep-local-secret \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "$ENDPOINT/$1"
}

# ---------------------------------------------------------------- raw PUT capacity of the endpoint (once per run)
log "raw PUT capacity: SDK v2 uploader ($RAW_PUT_CLIENTS), $RAW_PUT_OBJECTS real files per pass, concurrency $RAW_PUT_CONCURRENCY, $RAW_PUT_PASSES passes each"
# shellcheck disable=SC2086
timeout "$TOOL_TIMEOUT" java -cp "$CP" mx.prep.difusor.bench.RawPutCapacity "$ENDPOINT" bench-raw "$PKG/${NAMES[0]}" \
    "$RAW_PUT_OBJECTS" "$RAW_PUT_PASSES" "$RAW_PUT_CLIENTS" $RAW_PUT_CONCURRENCY >"$WORK/rawput.txt" 2>"$WORK/rawput.log" \
    || { cat "$WORK/rawput.log"; die "raw PUT"; }
cat "$WORK/rawput.txt" >&2
pass_no=0
while read -r kind client c a b r; do
    case $kind in
        pass) pass_no=$((pass_no + 1)); record run rawput "pass${pass_no}_${client}_c$c" "$r" ;;
        median) record run rawput "rate_${client}_c$c" "$a" ;;
    esac
done <"$WORK/rawput.txt"
RAW_RATE=$(awk '$1 == "best" { print $2 }' "$WORK/rawput.txt")
record run rawput best "$RAW_RATE"
record run rawput fastest_pass "$(awk '$1 == "fastest_pass" { print $2 }' "$WORK/rawput.txt")"

# ---------------------------------------------------------------- prep-difusor, as production runs it
# start_difusor <name> <site bucket> <history bucket> -> sets DIFUSOR_PID, DIFUSOR_DIR
start_difusor() {
    local name=$1 site=$2 history=$3
    DIFUSOR_DIR="$WORK/$name"
    mkdir -p "$DIFUSOR_DIR/incoming" "$DIFUSOR_DIR/work"
    cp "$SRC/application.properties" "$DIFUSOR_DIR/"
    cp -r "$SRC/routes" "$DIFUSOR_DIR/"
    # shellcheck disable=SC2086  # DIFUSOR_JAVA_OPTS is a list of options
    # the benchmark's own DIFUSOR_* settings are no keys: prep-difusor refuses to start on a variable naming no key
    (cd "$DIFUSOR_DIR" && exec env -u DIFUSOR_CONCURRENCY -u DIFUSOR_JAVA_OPTS -u DIFUSOR_JVM_FLAGS -u DIFUSOR_DIR -u DIFUSOR_PID java -Xmx256m $DIFUSOR_JVM_FLAGS $DIFUSOR_JAVA_OPTS \
        -Daws.accessKeyId=prep-local -Daws.secretAccessKey=prep-local-secret \
        -Ddifusor.source.kind=directory \
        -Ddifusor.source.directory="$DIFUSOR_DIR/incoming" \
        -Ddifusor.source.directory-poll-ms=100 \
        -Ddifusor.s3.endpoint="$ENDPOINT" \
        -Ddifusor.s3.path-style=true \
        -Ddifusor.s3.checksum-calculation=when-required \
        -Ddifusor.site.bucket="$site" \
        -Ddifusor.history.bucket="$history" \
        -Ddifusor.cdn.endpoint="$CF_ENDPOINT" \
        -Ddifusor.cdn.distribution-ids="$DISTRIBUTION" \
        -Ddifusor.work-dir="$DIFUSOR_DIR/work" \
        -Ddifusor.publish.concurrency="$DIFUSOR_CONCURRENCY" \
        -jar "$JAR" >"$DIFUSOR_DIR/difusor.log" 2>&1) &
    DIFUSOR_PID=$!
    PIDS+=("$DIFUSOR_PID")
    wait_for 120 "prep-difusor start" grep -q 'started in' "$DIFUSOR_DIR/difusor.log" \
        || { tail -50 "$DIFUSOR_DIR/difusor.log"; die "prep-difusor did not start"; }
    kill -0 "$DIFUSOR_PID" || die "prep-difusor exited"
}
# CPU time (user + system) a process has used so far, in ms
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

# publish_with_difusor <corte label> <zip path> <history bucket> <site bucket> <tool name>
publish_with_difusor() {
    local label=$1 zip=$2 history=$3 site=$4 tool=$5
    local name before after t0 state published_ms log_from
    name=$(basename "$zip")
    before=$(counts)
    local inv_before inv_after inv_at
    read -r inv_before _ < <(curl -sf "http://127.0.0.1:$COUNTERS_PORT/invalidations")
    log_from=$(($(wc -l <"$DIFUSOR_DIR/difusor.log") + 1))
    cp "$zip" "$DIFUSOR_DIR/incoming/$name"
    sync
    local cpu0 world_cpu0
    cpu0=$(cpu_ms "$DIFUSOR_PID"); world_cpu0=$(cpu_ms "$WORLD_PID")
    t0=$(now_ms)
    # the sidecar is the done marker: written whole, then renamed into place
    cp "$(dirname "$zip")/$name.sha256" "$DIFUSOR_DIR/incoming/.$name.sha256.tmp"
    mv "$DIFUSOR_DIR/incoming/.$name.sha256.tmp" "$DIFUSOR_DIR/incoming/$name.sha256"
    # done when the published state names this package (a "publishing" field may name it earlier)
    published() {
        kill -0 "$DIFUSOR_PID" 2>/dev/null || return 0
        # quarantined (rejected at some step): no point waiting for the state
        if tail -n +"$log_from" "$DIFUSOR_DIR/difusor.log" | grep -q "$name.*rejected at step"; then
            rejected=1
            return 0
        fi
        state=$(s3get "$history/state/published.json" 2>/dev/null) || return 1
        grep -qE "\"package\" *: *\"$name\"" <<<"$state"
    }
    local rejected=0
    if ! wait_for "$PUBLISH_TIMEOUT" "publication of $name" published || ! kill -0 "$DIFUSOR_PID" 2>/dev/null \
        || [ "$rejected" = 1 ]; then
        log "prep-difusor did not publish $name (rejected, timeout or exit); log tail:"
        record "$label" "$tool" hwm_kb "$(hwm_kb "$DIFUSOR_PID" 2>/dev/null || echo 0)"
        record "$label" "$tool" puts $(($(count_of "$(counts)" "$site" puts) - $(count_of "$before" "$site" puts)))
        tail -30 "$DIFUSOR_DIR/difusor.log" >&2
        record "$label" "$tool" failed 1
        return 1
    fi
    local seen
    seen=$(now_ms)
    record "$label" "$tool" cpu_ms $(($(cpu_ms "$DIFUSOR_PID") - cpu0))
    record "$label" "$tool" world_cpu_ms $(($(cpu_ms "$WORLD_PID") - world_cpu0))
    after=$(counts)
    read -r inv_after inv_at < <(curl -sf "http://127.0.0.1:$COUNTERS_PORT/invalidations")
    record "$label" "$tool" invalidations $((inv_after - inv_before))
    # the issue's end of a corte: the CloudFront invalidation received by the emulator (the record step comes after)
    [ "$inv_after" -gt "$inv_before" ] && record "$label" "$tool" invalidated_ms $((inv_at - t0))
    record "$label" "$tool" seen_ms $((seen - t0))
    printf '%s' "$state" >"$DIFUSOR_DIR/state-$name.json"
    published_ms=$($PY -c 'import json,sys,datetime
s=json.load(open(sys.argv[1]))
t=datetime.datetime.fromisoformat(s["publishedAt"].replace("Z","+00:00"))
print(int(t.timestamp()*1000))' "$DIFUSOR_DIR/state-$name.json")
    record "$label" "$tool" total_ms $((published_ms - t0))
    $PY -c 'import json,sys
s=json.load(open(sys.argv[1]))
for k,v in (s.get("stageMillis") or {}).items(): print("stage_%s\t%s" % (k, v))
for k in ("files", "uploaded", "deleted"):
    if s.get(k) is not None: print("state_%s\t%s" % (k, s.get(k)))' "$DIFUSOR_DIR/state-$name.json" | while IFS=$'\t' read -r k v; do record "$label" "$tool" "$k" "$v"; done
    record "$label" "$tool" puts $(($(count_of "$after" "$site" puts) - $(count_of "$before" "$site" puts)))
    record "$label" "$tool" deletes $(($(count_of "$after" "$site" deletes) - $(count_of "$before" "$site" deletes)))
    record "$label" "$tool" history_puts $(($(count_of "$after" "$history" puts) - $(count_of "$before" "$history" puts)))
    record "$label" "$tool" hwm_kb "$(hwm_kb "$DIFUSOR_PID")"
    record "$label" "$tool" rss_kb "$(rss_kb "$DIFUSOR_PID")"
    local problems
    problems=$(tail -n +"$log_from" "$DIFUSOR_DIR/difusor.log" | grep -cE ' (ERROR|WARN) |Exception|quarantine' || true)
    record "$label" "$tool" log_problems "$problems"
    tail -n +"$log_from" "$DIFUSOR_DIR/difusor.log" | grep -E ' (ERROR|WARN) |Exception|quarantine' | head -5 \
        >>"$WORK/difusor-problems.txt" || true
    log "  $tool: $([ "$inv_after" -gt "$inv_before" ] && echo "$((inv_at - t0)) ms to the invalidation, ")$((published_ms - t0)) ms to publishedAt, site puts $(($(count_of "$after" "$site" puts) - $(count_of "$before" "$site" puts))), VmHWM $(hwm_kb "$DIFUSOR_PID") kB"
}

# ---------------------------------------------------------------- rclone and aws configuration (env only)
export RCLONE_CONFIG="$WORK/rclone.conf"
: >"$RCLONE_CONFIG"
export RCLONE_CONFIG_BENCH_TYPE=s3
export RCLONE_CONFIG_BENCH_PROVIDER=Other
export RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=prep-local
export RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=prep-local-secret
export RCLONE_CONFIG_BENCH_ENDPOINT="$ENDPOINT"
export RCLONE_CONFIG_BENCH_REGION=us-east-1
export RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true
RCLONE_FLAGS=(--checksum --transfers "$RCLONE_TRANSFERS" --checkers "$RCLONE_CHECKERS" --fast-list --s3-no-check-bucket
    --retries 3 --low-level-retries 10 -q)

export AWS_CONFIG_FILE="$WORK/aws-config"
export AWS_SHARED_CREDENTIALS_FILE="$WORK/aws-credentials"
: >"$AWS_SHARED_CREDENTIALS_FILE"
export AWS_ACCESS_KEY_ID=prep-local
export AWS_SECRET_ACCESS_KEY=prep-local-secret
export AWS_DEFAULT_REGION=us-east-1
export AWS_MAX_ATTEMPTS=5
export AWS_RETRY_MODE=standard
export AWS_PAGER=""
if uses aws; then
    "$AWS" configure set default.s3.max_concurrent_requests "$AWS_CONCURRENCY"
    "$AWS" configure set default.s3.max_queue_size 10000
    "$AWS" configure set default.s3.addressing_style path
fi
AWS_FLAGS=(--delete --endpoint-url "$ENDPOINT" --only-show-errors --no-progress)

# sync_tool <label> <zip> <tool> <bucket>: sha256sum -c, unzip to a fresh folder, then the tool's sync
sync_tool() {
    local label=$1 zip=$2 tool=$3 bucket=$4
    local name dir before after t0 t1 t2 t3 rc=0
    name=$(basename "$zip")
    dir="$UNZIP_ROOT/unzip-$tool"
    rm -rf "$dir"   # the previous corte's tree: not timed
    before=$(counts)
    t0=$(now_ms)
    (cd "$(dirname "$zip")" && sha256sum -c --status "$name.sha256") || die "sha256sum -c $name"
    t1=$(now_ms)
    unzip -q "$zip" -d "$dir"
    t2=$(now_ms)
    case "$tool" in
        rclone) timeout "$TOOL_TIMEOUT" rclone sync "${RCLONE_FLAGS[@]}" "$dir" "bench:$bucket" \
                    >"$WORK/$tool-$label.log" 2>&1 || rc=$? ;;
        aws) timeout "$TOOL_TIMEOUT" "$AWS" s3 sync "${AWS_FLAGS[@]}" "$dir" "s3://$bucket" \
                    >"$WORK/$tool-$label.log" 2>&1 || rc=$? ;;
    esac
    t3=$(now_ms)
    after=$(counts)
    [ "$rc" = 0 ] || { log "  $tool exited $rc:"; tail -5 "$WORK/$tool-$label.log" >&2; record "$label" "$tool" failed "$rc"; }
    record "$label" "$tool" total_ms $((t3 - t0))
    record "$label" "$tool" stage_verify $((t1 - t0))
    record "$label" "$tool" stage_unzip $((t2 - t1))
    record "$label" "$tool" stage_sync $((t3 - t2))
    record "$label" "$tool" puts $(($(count_of "$after" "$bucket" puts) - $(count_of "$before" "$bucket" puts)))
    record "$label" "$tool" deletes $(($(count_of "$after" "$bucket" deletes) - $(count_of "$before" "$bucket" deletes)))
    log "  $tool: $((t3 - t0)) ms (sha256sum -c $((t1 - t0)), unzip $((t2 - t1)), sync $((t3 - t2))), puts $(($(count_of "$after" "$bucket" puts) - $(count_of "$before" "$bucket" puts)))"
}

# check <label> <zip> <tool=bucket>...: byte-for-byte comparison of buckets with the package
check() {
    local label=$1 zip=$2
    shift 2
    local buckets=() pair
    for pair in "$@"; do buckets+=("${pair#*=}"); done
    timeout "$TOOL_TIMEOUT" java -cp "$CP" mx.prep.difusor.bench.BucketCheck "$ENDPOINT" "$zip" "${buckets[@]}" \
        >"$WORK/check-$label.txt" 2>"$WORK/check-$label.log" || { cat "$WORK/check-$label.log" >&2; die "check $label"; }
    for pair in "$@"; do
        local tool=${pair%%=*} bucket=${pair#*=}
        read -r _ expected objects ok stale missing extra secs rest < <(awk -v b="$bucket" '$1 == b' "$WORK/check-$label.txt")
        record "$label" "$tool" check_objects "$objects"
        record "$label" "$tool" check_ok "$ok"
        record "$label" "$tool" stale "$stale"
        record "$label" "$tool" missing "$missing"
        record "$label" "$tool" extra "$extra"
        log "  check $tool: $objects objects, $ok identical, $stale stale, $missing missing, $extra extra (${secs}s) $rest"
    done
}

# ---------------------------------------------------------------- the series
log "starting prep-difusor (-Xmx256m, publish concurrency $DIFUSOR_CONCURRENCY)"
start_difusor difusor bench-difusor-site bench-difusor-history
MAIN_DIFUSOR_PID=$DIFUSOR_PID
MAIN_DIFUSOR_DIR=$DIFUSOR_DIR
record run difusor startup_hwm_kb "$(hwm_kb "$MAIN_DIFUSOR_PID")"

for i in "${!NAMES[@]}"; do
    name=${NAMES[$i]}
    zip="$PKG/$name"
    if [ "$i" -gt 0 ] && [ "$GAP" -gt 0 ]; then
        log "idle for ${GAP}s before the next corte (GAP)"
        sleep "$GAP"
    fi
    log "corte $((i + 1))/$CORTES: $name"
    if [ "$i" = 0 ]; then
        entries=$(awk -v n="$name" '$1 == n { print $2 }' "$WORK/packages.txt")
        record "$name" diff changed 0; record "$name" diff same_size 0; record "$name" diff new "$entries"
        record "$name" diff deleted 0; record "$name" diff to_publish "$entries"
    else
        read -r changed same added deleted unchanged total < <(java -cp "$CP" mx.prep.difusor.bench.BenchPackages diff \
            "$PKG/${NAMES[$((i - 1))]}" "$zip")
        record "$name" diff changed "$changed"; record "$name" diff same_size "$same"; record "$name" diff new "$added"
        record "$name" diff deleted "$deleted"; record "$name" diff to_publish $((changed + added + deleted))
        log "  really changed: $changed changed ($same same size), $added new, $deleted deleted, of $total"
    fi
    # the floor's own part: sha256sum alone (the zip is in the page cache for every tool alike)
    t0=$(now_ms); sha256sum "$zip" >/dev/null; t1=$(now_ms)
    record "$name" floor sha256_ms $((t1 - t0))

    if [ -n "$MAIN_DIFUSOR_PID" ] && kill -0 "$MAIN_DIFUSOR_PID" 2>/dev/null; then
        DIFUSOR_PID=$MAIN_DIFUSOR_PID DIFUSOR_DIR=$MAIN_DIFUSOR_DIR
        publish_with_difusor "$name" "$zip" bench-difusor-history bench-difusor-site difusor || true
    else
        record "$name" difusor failed 1
    fi
    compared=(difusor=bench-difusor-site)
    for tool in $TOOLS; do
        sync_tool "$name" "$zip" "$tool" "bench-$tool"
        compared+=("$tool=bench-$tool")
    done
    check "$name" "$zip" "${compared[@]}"
done
record run difusor final_hwm_kb "$(hwm_kb "$MAIN_DIFUSOR_PID" 2>/dev/null || echo 0)"
kill "$MAIN_DIFUSOR_PID" 2>/dev/null || true
wait "$MAIN_DIFUSOR_PID" 2>/dev/null || true
rm -rf "$UNZIP_ROOT/unzip-rclone" "$UNZIP_ROOT/unzip-aws"

# ---------------------------------------------------------------- heap check: 4x package, -Xmx256m, fresh JVM
# heap_corte <label> <zip>: published by the running prep-difusor into the 4x buckets, then checked byte for byte
heap_corte() {
    local label=$1 zip=$2
    if publish_with_difusor "$label" "$zip" bench-big-history bench-big-site difusor; then
        record "$label" difusor succeeded 1
        if [ "$BIG_VERIFY" = 1 ]; then
            check "$label" "$zip" difusor=bench-big-site
        fi
        return 0
    fi
    record "$label" difusor succeeded 0
    return 1
}
# heap_resume <zip>: the running prep-difusor is killed (-9) after RESUME_CUT_PUTS site PUTs of this package; a
# restarted one takes the package back from the history and publishes it whole, its plan based on the whole listing
heap_resume() {
    local zip=$1 name before t0 state
    name=$(basename "$zip")
    log "heap check: $name cut short after $RESUME_CUT_PUTS site PUTs (kill -9), then finished by a restarted prep-difusor"
    before=$(counts)
    cp "$zip" "$DIFUSOR_DIR/incoming/$name"
    cp "$(dirname "$zip")/$name.sha256" "$DIFUSOR_DIR/incoming/.$name.sha256.tmp"
    mv "$DIFUSOR_DIR/incoming/.$name.sha256.tmp" "$DIFUSOR_DIR/incoming/$name.sha256"
    cut_due() { [ $(($(count_of "$(counts)" bench-big-site puts) - $(count_of "$before" bench-big-site puts))) -ge "$RESUME_CUT_PUTS" ]; }
    if ! wait_for "$PUBLISH_TIMEOUT" "$RESUME_CUT_PUTS site PUTs of $name" cut_due || ! kill -0 "$DIFUSOR_PID" 2>/dev/null; then
        log "prep-difusor did not reach $RESUME_CUT_PUTS site PUTs of $name; log tail:"
        tail -30 "$DIFUSOR_DIR/difusor.log" >&2
        record bigresume difusor succeeded 0
        return 0
    fi
    kill -9 "$DIFUSOR_PID"
    wait "$DIFUSOR_PID" 2>/dev/null || true
    record bigresume difusor cut_puts $(($(count_of "$(counts)" bench-big-site puts) - $(count_of "$before" bench-big-site puts)))
    state=$(s3get "bench-big-history/state/published.json") || die "no state after the kill"
    grep -qE "\"publishing\" *: *\"$name\"" <<<"$state" || log "  the state does not say publishing $name: $state"
    before=$(counts)
    t0=$(now_ms)
    start_difusor difusor-big-resume bench-big-site bench-big-history
    finished() {
        kill -0 "$DIFUSOR_PID" 2>/dev/null || return 0
        state=$(s3get "bench-big-history/state/published.json" 2>/dev/null) || return 1
        grep -qE "\"package\" *: *\"$name\"" <<<"$state" && ! grep -qE "\"publishing\" *:" <<<"$state"
    }
    if wait_for "$PUBLISH_TIMEOUT" "resume of $name" finished && kill -0 "$DIFUSOR_PID" 2>/dev/null; then
        record bigresume difusor succeeded 1
        record bigresume difusor total_ms $(($(now_ms) - t0))
        [ "$BIG_VERIFY" = 1 ] && check bigresume "$zip" difusor=bench-big-site
    else
        log "the restarted prep-difusor did not finish $name; log tail:"
        tail -30 "$DIFUSOR_DIR/difusor.log" >&2
        record bigresume difusor succeeded 0
    fi
    record bigresume difusor puts $(($(count_of "$(counts)" bench-big-site puts) - $(count_of "$before" bench-big-site puts)))
    record bigresume difusor hwm_kb "$(hwm_kb "$DIFUSOR_PID" 2>/dev/null || echo 0)"
    grep -q 'OutOfMemoryError' "$DIFUSOR_DIR/difusor.log" && record bigresume difusor oom 1
    return 0
}
if [ "$HEAP_CHECK" = 1 ]; then
    log "heap check: $BIG with -Xmx256m in a fresh prep-difusor"
    start_difusor difusor-big bench-big-site bench-big-history
    record big difusor startup_hwm_kb "$(hwm_kb "$DIFUSOR_PID")"
    if heap_corte big "$WORK/big-parts/$BIG"; then
        log "heap check: $BIG_NEXT next, in the same prep-difusor (the manifest of the first in memory)"
        heap_corte bignext "$WORK/big-parts/$BIG_NEXT" || true
    fi
    grep -q 'OutOfMemoryError' "$DIFUSOR_DIR/difusor.log" && record big difusor oom 1
    kill "$DIFUSOR_PID" 2>/dev/null || true
    wait "$DIFUSOR_PID" 2>/dev/null || true
    if [ "$(awk '$1 == "bignext" && $2 == "difusor" && $3 == "succeeded" { print $4 }' "$RESULTS")" = 1 ]; then
        log "heap check: $BIG_RESTART in a restarted prep-difusor (manifest, listing and file list of the 4x site at once)"
        start_difusor difusor-big-restart bench-big-site bench-big-history
        heap_corte bigrestart "$WORK/big-parts/$BIG_RESTART" || true
        grep -q 'OutOfMemoryError' "$DIFUSOR_DIR/difusor.log" && record bigrestart difusor oom 1
        if [ "$(awk '$1 == "bigrestart" && $2 == "difusor" && $3 == "succeeded" { print $4 }' "$RESULTS")" = 1 ]; then
            heap_resume "$WORK/big-parts/$BIG_RESUME"
        fi
        kill "$DIFUSOR_PID" 2>/dev/null || true
        wait "$DIFUSOR_PID" 2>/dev/null || true
    fi
fi

# ---------------------------------------------------------------- report
OUT="$RESULTS_DIR/$STAMP.md"
cp "$RESULTS" "$RESULTS_DIR/$STAMP.tsv"
$PY "$REPO/bench/report.py" "$RESULTS" \
    --stamp "$STAMP" --commit "$COMMIT" --changed-only "$CHANGED_ONLY" --scale "$SCALE" --cortes "$CORTES" \
    --start "$START" --step "$STEP" --seed "$SEED" --first-seq "$FIRST_SEQ" \
    --difusor-concurrency "$DIFUSOR_CONCURRENCY" --rclone "$RCLONE_TRANSFERS/$RCLONE_CHECKERS" --aws "$AWS_CONCURRENCY" \
    --rclone-version "$(uses rclone && rclone version 2>/dev/null | head -1)" \
    --aws-version "$(uses aws && "$AWS" --version 2>&1)" \
    --cpus "$(nproc)" --unzip-root "$UNZIP_ROOT" --jvm "$DIFUSOR_JVM_FLAGS $DIFUSOR_JAVA_OPTS" --problems "$WORK/difusor-problems.txt" >"$OUT"
cat "$OUT"
log "results: $OUT (raw figures: $RESULTS_DIR/$STAMP.tsv)"
