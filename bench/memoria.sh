#!/usr/bin/env bash
# The memoria técnica's figures beside GoAccess's (the tool a difusor would otherwise point at its CloudFront logs),
# on the same generated week of logs, per day: requests and visitors, which both define alike (a visitor: one IP and
# one User-Agent in a day, 4xx not counted), and the time each takes. Days are UTC here: GoAccess cannot move
# CloudFront's times (they carry no offset) to Tiempo del Centro. BENCHMARKS.md, "Memoria técnica".
#   VISITORS=200000 SEED=2024 WORK=/tmp/prep-memoria-bench bench/memoria.sh
set -euo pipefail
VISITORS=${VISITORS:-200000}
SEED=${SEED:-2024}
WORK=${WORK:-/tmp/prep-memoria-bench}
REPO=$(cd "$(dirname "$0")/.." && pwd)

command -v goaccess >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq goaccess) >/dev/null
[ -x /usr/bin/time ] || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time) >/dev/null   # GNU time: elapsed and peak RSS
rm -rf "$WORK" && mkdir -p "$WORK"
cd "$REPO"
{ mvn -q -o test-compile || mvn -q test-compile; } >"$WORK/build.log" 2>&1
{ mvn -q -o dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$WORK/cp.txt" \
  || mvn -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$WORK/cp.txt"; } >>"$WORK/build.log" 2>&1
CP="$REPO/target/test-classes:$REPO/target/classes:$(cat "$WORK/cp.txt")"

lines=$(java -cp "$CP" mx.prep.difusor.bench.BenchAccessLogs generate "$WORK/logs" "$VISITORS" "$SEED")
echo "logs: $VISITORS visitors, $lines requests in $(ls "$WORK/logs" | wc -l) files, $(du -sh "$WORK/logs" | cut -f1) gzip"

/usr/bin/time -f "%e %M" -o "$WORK/ours.time" java -Xmx256m -cp "$CP" mx.prep.difusor.bench.BenchAccessLogs figures "$WORK/logs" "$WORK/ours" UTC \
    >"$WORK/ours.log" 2>&1 || { tail -5 "$WORK/ours.log"; exit 1; }
/usr/bin/time -f "%e %M" -o "$WORK/goaccess.time" sh -c "zcat '$WORK'/logs/*.gz | goaccess - --log-format=CLOUDFRONT --json-pretty-print -o '$WORK/goaccess.json'" \
    >"$WORK/goaccess.log" 2>&1

python3 - "$WORK" <<'PY' | tee "$WORK/report.md"
import csv, json, sys
work = sys.argv[1]
ours = {r["fecha"]: r for r in csv.DictReader(open(f"{work}/ours/estadisticas-diarias.csv", encoding="utf-8-sig"))}
ga = {d["data"]: d for d in json.load(open(f"{work}/goaccess.json"))["visitors"]["data"]}
t_ours, m_ours = open(f"{work}/ours.time").read().split()
t_ga, m_ga = open(f"{work}/goaccess.time").read().split()
print("| day (UTC) | requests: memoria | GoAccess hits | visitors: memoria | GoAccess | visits | pages | accesses | automated requests |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
same = True
for day, r in ours.items():
    if day == "total":
        continue
    g = ga.get(day.replace("-", ""), {"hits": {"count": 0}, "visitors": {"count": 0}})
    eq = int(r["solicitudes"]) == g["hits"]["count"] and int(r["visitantes"]) == g["visitors"]["count"]
    same &= eq
    print(f"| {day} | {int(r['solicitudes']):,} | {g['hits']['count']:,} | {int(r['visitantes']):,} | {g['visitors']['count']:,} | "
          f"{int(r['visitas']):,} | {int(r['paginas']):,} | {int(r['accesos']):,} | {int(r['solicitudes_automaticas']):,} |")
print()
print(f"per day, requests and visitors equal GoAccess's: {'yes' if same else 'NO'}")
print(f"time: memoria técnica {t_ours} s (peak RSS {int(m_ours)//1024} MB, -Xmx256m, JVM start included); "
      f"GoAccess {t_ga} s (peak RSS {int(m_ga)//1024} MB, zcat piped)")
sys.exit(0 if same else 1)
PY
