#!/usr/bin/env python3
"""Turns bench/run.sh's raw figures (corte, tool, key, value per line) into the Markdown report."""
import argparse
import collections
import sys

p = argparse.ArgumentParser()
p.add_argument("tsv")
for opt in ("stamp", "commit", "changed-only", "scale", "cortes", "start", "step", "seed", "first-seq",
            "difusor-concurrency", "rclone", "aws", "rclone-version", "aws-version", "cpus", "problems", "unzip-root", "jvm"):
    p.add_argument("--" + opt, default="")
a = p.parse_args()

data = collections.defaultdict(lambda: collections.defaultdict(dict))
order = []
for line in open(a.tsv, encoding="utf-8"):
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 4:
        continue
    corte, tool, key, value = parts
    if corte not in ("run", "big", "bignext", "bigrestart", "bigresume") and corte not in order:
        order.append(corte)
    try:
        value = float(value)
    except ValueError:
        pass
    data[corte][tool][key] = value


def get(corte, tool, key, default=None):
    return data.get(corte, {}).get(tool, {}).get(key, default)


def difusor_ms(c):
    # the measure: package on disk to the CloudFront invalidation received; runs before it was recorded
    # measured to publishedAt, after the record step
    return get(c, "difusor", "invalidated_ms", get(c, "difusor", "total_ms"))


def sec(ms):
    return "—" if ms is None else "%.1f" % (ms / 1000.0)


def mb(kb):
    return "—" if kb is None else "%.0f" % (kb / 1024.0)


def n(v):
    return "—" if v is None else "%d" % v


def ratio(x, y):
    return None if x is None or not y else x / y


def fr(r):
    return "—" if r is None else "%.2f×" % r


def met(ok):
    return "**met**" if ok else "**missed**"


rate = get("run", "rawput", "best")
out = []
w = out.append
w("# prep-difusor publication benchmark, run %s" % a.stamp)
w("")
w("- prep-difusor: committed main at `%s` (\"Publish only what changed\" landed: **%s**), `java -Xmx256m %s-jar "
  "prep-difusor.jar`, `difusor.publish.concurrency=%s`" % (a.commit, a.changed_only, (a.jvm + " ") if a.jvm else "",
                                                          a.difusor_concurrency))
w("- packages: %s cortes, scale %s, from %s every %s min, seed %s, first sequence %s; endpoint S3Proxy 2.7 in memory "
  "on 127.0.0.1; %s CPUs" % (a.cortes, a.scale, a.start, a.step, a.seed, a.first_seq, a.cpus))
w("- rclone: `%s`, `--transfers/--checkers %s`; aws: `%s`, `max_concurrent_requests %s`; both unzip under `%s`" %
  (a.rclone_version, a.rclone, a.aws_version, a.aws, a.unzip_root))
def rate_key(k):
    # rate_<client>_c<concurrency> (rate_c<concurrency> in runs before the client was named)
    client, _, conc = k[len("rate_"):].rpartition("c")
    return client.rstrip("_"), int(conc)


def client_label(client):
    whole = client.endswith("-whole")
    http = client[:-len("-whole")] if whole else client
    name = {"apache5": "HttpClient 5", "apache": "HttpClient 4"}.get(http, http)
    return name + (" whole-body signing" if whole else "") + " " if name else ""


def passes_of(k):
    # pass<n>_<client>_c<concurrency>: every timed pass of a setting (runs before RAW_PUT_PASSES had one, no such keys)
    return [v for p, v in data["run"]["rawput"].items() if p.startswith("pass") and p.split("_", 1)[1] == k[len("rate_"):]]


def spread(k):
    values = passes_of(k)
    return " (passes %s)" % "-".join("%.0f" % v for v in (min(values), max(values))) if len(values) > 1 else ""


rates = "; ".join("%s%s: %.0f/s%s" % (client_label(rate_key(k)[0]), rate_key(k)[1], v, spread(k))
                  for k, v in sorted(((k, v) for k, v in data["run"]["rawput"].items() if k.startswith("rate_")),
                                     key=lambda kv: (kv[0] and rate_key(kv[0]))))
fastest = get("run", "rawput", "fastest_pass")
if fastest is None:  # runs before RAW_PUT_PASSES: one pass per setting, the fastest was the floor
    w("- raw PUT capacity of the endpoint (SDK v2 uploader, real files, by HTTP client and concurrency, one pass each): "
      "%s; floor uses the best, **%.0f objects/s**" % (rates, rate or 0))
else:
    w("- raw PUT capacity of the endpoint (SDK v2 uploader, real files, by HTTP client and concurrency; the median of "
      "each setting's passes): %s; floor uses the best median, **%.0f objects/s** (fastest single pass %.0f/s)" %
      (rates, rate or 0, fastest))
w("")

# ---- time per corte
w("## Time per corte (seconds, from package on disk to done%s)" % (
    ": for prep-difusor, to its CloudFront invalidation" if any(get(c, "difusor", "invalidated_ms") is not None for c in order)
    else "; prep-difusor to publishedAt"))
w("")
w("| corte | objects | really changed (same size) / new / deleted | floor | prep-difusor | rclone sync --checksum "
  "| aws s3 sync | difusor ÷ rclone | difusor ÷ rclone's sync step alone | difusor ÷ floor |")
w("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
floors = {}
for i, c in enumerate(order):
    to_publish = get(c, "diff", "to_publish")
    floor = None
    if rate and to_publish is not None and get(c, "floor", "sha256_ms") is not None:
        floor = get(c, "floor", "sha256_ms") + 1000.0 * to_publish / rate
    floors[c] = floor
    d = None if get(c, "difusor", "failed") else difusor_ms(c)
    label = c.replace(".zip", "") + (" (cold)" if i == 0 else "")
    w("| %s | %s | %s (%s) / %s / %s | %s | %s | %s | %s | %s | %s | %s |" % (
        label, n(get(c, "package", "entries")), n(get(c, "diff", "changed")), n(get(c, "diff", "same_size")),
        n(get(c, "diff", "new")), n(get(c, "diff", "deleted")), sec(floor), sec(d), sec(get(c, "rclone", "total_ms")),
        sec(get(c, "aws", "total_ms")), fr(ratio(d, get(c, "rclone", "total_ms"))),
        fr(ratio(d, get(c, "rclone", "stage_sync"))), fr(ratio(d, floor))))
w("")
w("Floor = `sha256sum` of the zip + (objects really changed, new or deleted ÷ raw PUT capacity); for the cold corte "
  "all objects.")
w("")

# ---- prep-difusor detail
stages = []
for c in order:
    for k in data[c]["difusor"]:
        if k.startswith("stage_") and k[6:] not in stages:
            stages.append(k[6:])
w("## prep-difusor per corte")
w("")
w("| corte | to the invalidation | to publishedAt | " + " | ".join(stages) + " | site PUTs | site DELETEs | history PUTs | VmHWM (MB) "
  "| CPU prep-difusor (s) | CPU S3 endpoint (s) | log WARN/ERROR |")
w("|---|---:|---:|" + "---:|" * len(stages) + "---:|---:|---:|---:|---:|---:|---:|")
for c in order:
    w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        c.replace(".zip", ""), sec(get(c, "difusor", "invalidated_ms")), sec(get(c, "difusor", "total_ms")),
        " | ".join(sec(get(c, "difusor", "stage_" + s)) for s in stages),
        n(get(c, "difusor", "puts")), n(get(c, "difusor", "deletes")), n(get(c, "difusor", "history_puts")),
        mb(get(c, "difusor", "hwm_kb")), sec(get(c, "difusor", "cpu_ms")), sec(get(c, "difusor", "world_cpu_ms")),
        n(get(c, "difusor", "log_problems"))))
w("")
w("To the invalidation: until the CloudFront emulator received the corte's invalidation (the issue's measure); to "
  "publishedAt: until the time the record step writes into the state, after the site manifest. "
  "Stages from `stageMillis` in `state/published.json` (seconds); PUTs and DELETEs counted on the S3 server. CPU: user +"
  " system time of the prep-difusor JVM and of the JVM holding S3Proxy and the CloudFront emulator, over the corte"
  " (2 cores: at most 2 s of CPU per second).")
w("")

# ---- other tools detail
w("## rclone and aws per corte")
w("")
w("| corte | tool | `sha256sum -c` | `unzip` | sync | PUTs | DELETEs |")
w("|---|---|---:|---:|---:|---:|---:|")
for c in order:
    for t in ("rclone", "aws"):
        w("| %s | %s | %s | %s | %s | %s | %s |" % (
            c.replace(".zip", ""), t, sec(get(c, t, "stage_verify")), sec(get(c, t, "stage_unzip")),
            sec(get(c, t, "stage_sync")), n(get(c, t, "puts")), n(get(c, t, "deletes"))))
w("")

# ---- bucket equals package
w("## Bucket equals package (every object downloaded and compared by SHA-256)")
w("")
w("| corte | tool | objects in bucket | identical | stale | missing | extra |")
w("|---|---|---:|---:|---:|---:|---:|")
for c in order + [b for b in ("big", "bignext", "bigrestart", "bigresume") if "check_ok" in data.get(b, {}).get("difusor", {})]:
    for t in ("difusor", "rclone", "aws"):
        if get(c, t, "check_objects") is None:
            continue
        w("| %s | %s | %s | %s | %s | %s | %s |" % (
            c.replace(".zip", ""), t, n(get(c, t, "check_objects")), n(get(c, t, "check_ok")), n(get(c, t, "stale")),
            n(get(c, t, "missing")), n(get(c, t, "extra"))))
w("")

# ---- heap check
if "big" in data:
    w("## Heap check: a package four times as large, `-Xmx256m`, fresh JVM")
    w("")
    ok = get("big", "difusor", "succeeded") == 1
    w("- package: %s entries, %s MB; published: **%s** in %s s; site PUTs %s; VmHWM **%s MB**%s" % (
        n(get("big", "package", "entries")), mb((get("big", "package", "bytes") or 0) / 1024.0),
        "yes" if ok else "NO", sec(get("big", "difusor", "total_ms")), n(get("big", "difusor", "puts")),
        mb(get("big", "difusor", "hwm_kb")), "; OutOfMemoryError in the log" if get("big", "difusor", "oom") else ""))
    if "bignext" in data:
        w("- then the same four sites one corte later, in the same JVM (the first one's manifest in memory): %s entries; "
          "published: **%s** in %s s; site PUTs %s; VmHWM **%s MB**" % (
              n(get("bignext", "package", "entries")), "yes" if get("bignext", "difusor", "succeeded") == 1 else "NO",
              sec(get("bignext", "difusor", "total_ms")), n(get("bignext", "difusor", "puts")),
              mb(get("bignext", "difusor", "hwm_kb"))))
    if "bigrestart" in data:
        w("- then one corte more in a restarted JVM (its first plan holds the manifest and a listing of the 4x site beside the "
          "package's file list): %s entries; published: **%s** in %s s; site PUTs %s; VmHWM **%s MB**%s" % (
              n(get("bigrestart", "package", "entries")), "yes" if get("bigrestart", "difusor", "succeeded") == 1 else "NO",
              sec(get("bigrestart", "difusor", "total_ms")), n(get("bigrestart", "difusor", "puts")),
              mb(get("bigrestart", "difusor", "hwm_kb")),
              "; OutOfMemoryError in the log" if get("bigrestart", "difusor", "oom") else ""))
    if get("bigresume", "difusor", "succeeded") is not None:
        w("- then one corte more, cut short by `kill -9` after %s site PUTs and finished by a restarted JVM from the history "
          "(its plan's base is the whole listing of the half-published 4x site): %s entries; finished: **%s** in %s s "
          "from the restart; site PUTs %s; VmHWM **%s MB**%s" % (
              n(get("bigresume", "difusor", "cut_puts")), n(get("bigresume", "package", "entries")),
              "yes" if get("bigresume", "difusor", "succeeded") == 1 else "NO",
              sec(get("bigresume", "difusor", "total_ms")), n(get("bigresume", "difusor", "puts")),
              mb(get("bigresume", "difusor", "hwm_kb")),
              "; OutOfMemoryError in the log" if get("bigresume", "difusor", "oom") else ""))
    w("")

# ---- targets
w("## Targets (ratios measured in this run)")
w("")
w("| target | measured | |")
w("|---|---|---|")
later = order[1:]
r_rclone = [ratio(difusor_ms(c), get(c, "rclone", "total_ms")) for c in later]
r_floor = [ratio(difusor_ms(c), floors.get(c)) for c in later]
if later:
    worst = max((r for r in r_rclone if r is not None), default=None)
    rclone_ran = any(get(c, "rclone", "total_ms") is not None for c in later)
    w("| cortes after the first: prep-difusor ≤ 0.5 × rclone sync --checksum | worst %s (%s) | %s |" % (
        fr(worst), ", ".join(fr(r) for r in r_rclone),
        met(worst is not None and worst <= 0.5 and None not in r_rclone) if rclone_ran else "not measured (TOOLS without rclone)"))
    worst = max((r for r in r_floor if r is not None), default=None)
    w("| cortes after the first: prep-difusor ≤ 1.3 × floor | worst %s (%s) | %s |" % (
        fr(worst), ", ".join(fr(r) for r in r_floor), met(worst is not None and worst <= 1.3 and None not in r_floor)))
if order:
    c0 = order[0]
    r0 = ratio(difusor_ms(c0), floors.get(c0))
    w("| cold corte: prep-difusor ≤ 1.3 × floor (all objects) | %s | %s |" % (fr(r0), met(r0 is not None and r0 <= 1.3)))
bad = sum((get(c, "difusor", "stale") or 0) + (get(c, "difusor", "missing") or 0) + (get(c, "difusor", "extra") or 0)
          for c in order)
checked = all(get(c, "difusor", "check_objects") is not None for c in order)
w("| zero stale objects (prep-difusor; also no missing or extra) | %s stale, %s missing, %s extra over %d cortes | %s |" % (
    n(sum(get(c, "difusor", "stale") or 0 for c in order)), n(sum(get(c, "difusor", "missing") or 0 for c in order)),
    n(sum(get(c, "difusor", "extra") or 0 for c in order)), len(order), met(bad == 0 and checked)))
hwm = max([get(c, "difusor", "hwm_kb") or 0 for c in order] + [get("run", "difusor", "final_hwm_kb") or 0])
w("| peak RSS < 512 MB with -Xmx256m (scale %s) | %s MB | %s |" % (a.scale, mb(hwm), met(0 < hwm < 512 * 1024)))
if "big" in data:
    phases = ("big", "bignext", "bigrestart", "bigresume")
    ok = all(b not in data or get(b, "difusor", "succeeded") == 1 for b in phases) and "big" in data
    big_hwm = max(get(b, "difusor", "hwm_kb") or 0 for b in phases)
    done = "published" + (", the next corte in the same JVM" if "bignext" in data else "") + (
        ", the one after in a restarted JVM" if "bigrestart" in data else "") + (
        ", and one cut short by kill -9 finished by a restarted JVM" if "bigresume" in data else "")
    w("| -Xmx256m enough for a package 4× as large | %s, VmHWM %s MB | %s |" % (done if ok else "failed", mb(big_hwm), met(ok)))
for t in ("rclone", "aws"):
    s = sum(get(c, t, "stale") or 0 for c in order)
    m = sum((get(c, t, "missing") or 0) + (get(c, t, "extra") or 0) for c in order)
    w("| (for comparison) %s: stale / missing+extra objects over the series | %s / %s | |" % (t, n(s), n(m)))
w("")

try:
    problems = [l.rstrip() for l in open(a.problems, encoding="utf-8") if l.strip()]
except OSError:
    problems = []
if problems:
    w("## WARN/ERROR lines in prep-difusor's log (first 5 per corte)")
    w("")
    w("```")
    out.extend(problems[:40])
    w("```")
    w("")
sys.stdout.write("\n".join(out) + "\n")
