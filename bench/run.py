"""Benchmark driver: each client runs as its own process against the same broker; CPU
(user+sys) and peak RSS come from /usr/bin/time, throughput from the client's own timing."""
import os, re, subprocess, sys, time, datetime

# bench/failover.py imports this module for its cluster throughput rows (and sets BOOT).
CP = sys.argv[1]
QUICK = "--quick" in sys.argv
BOOT = os.environ.get("KAFKIT_BOOTSTRAP", "127.0.0.1:9092")
KAFKIT = "target/release/kafkit"
BENCH = "bench/target/release/kafkit-bench"
N = 200_000 if QUICK else 1_000_000


def topic(prefix, partitions=6):
    name = f"bench-{prefix}-{int(time.time() * 1000)}"
    subprocess.run([KAFKIT, "-b", BOOT, "topic", "create", name, "--partitions", str(partitions)], check=True, capture_output=True)
    # Let the new partitions' leaders settle: a produce in the first moments may be answered
    # NOT_LEADER_OR_FOLLOWER, and confluent-kafka 1.0.0's idempotent producer never resends the
    # partition's first batch after that (its later batches get OUT_OF_ORDER_SEQUENCE_NUMBER until
    # delivery.timeout.ms). The table measures throughput, not recovery from a fresh topic.
    time.sleep(1)
    return name


def crate_version(name, parts=2):
    """The version of a bench dependency as bench/Cargo.lock pins it, cut to `parts` numbers."""
    lock = open("bench/Cargo.lock").read()
    m = re.search(r'name = "%s"\nversion = "([^"]+)"' % re.escape(name), lock)
    return ".".join(m.group(1).split(".")[:parts]) if m else "?"


def reason(out):
    """A short reason for a failed client run: its panic message or last error line."""
    lines = [l.strip() for l in out.splitlines() if l.strip() and not l.startswith("TIME ")]
    for i, l in enumerate(lines):
        if "panicked at" in l and i + 1 < len(lines):
            return lines[i + 1]
    for l in reversed(lines):
        if re.search(r"error|exception|failed", l, re.I):
            return l
    return lines[-1] if lines else "no output"


def measure(cmd):
    """Runs cmd under /usr/bin/time; returns (records, seconds, cpu_seconds, peak_rss_mb), or the
    reason it failed as a string."""
    try:
        p = subprocess.run(["/usr/bin/time", "-f", "TIME %U %S %M"] + cmd, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        print(f"  failed: {' '.join(cmd[:3])}: timed out after 900 s", file=sys.stderr)
        return "timed out after 900 s"
    out = p.stdout + p.stderr
    t = re.search(r"TIME ([\d.]+) ([\d.]+) (\d+)", out)
    r = re.search(r"RESULT (\d+) ([\d.]+)", out) or re.search(r"^(\d+) ([\d.]+) 0$", out, re.M)
    if p.returncode != 0 or not t or not r:
        print(f"  failed: {' '.join(cmd[:3])}: {out[-400:]}", file=sys.stderr)
        return reason(out) if p.returncode != 0 else "no result line"
    return int(r.group(1)), float(r.group(2)), float(t.group(1)) + float(t.group(2)), int(t.group(3)) / 1024


# An older kafkit build of this bench (KAFKIT_BENCH_OLD, a kafkit-bench binary built from an
# earlier commit; KAFKIT_BENCH_OLD_LABEL names it) runs right after the current one, so a change
# is measured against its base in the same run.
OLD = os.environ.get("KAFKIT_BENCH_OLD")
OLD_LABEL = os.environ.get("KAFKIT_BENCH_OLD_LABEL", "kafkit, older build")


# KAFKIT_BENCH_OLD_FIRST=1 runs the older build first (the first client of a scenario meets
# the freshest broker state; two runs with the order swapped cancel that out).
OLD_FIRST = os.environ.get("KAFKIT_BENCH_OLD_FIRST") == "1"


def clients(scenario, t, count, size, codec):
    ours = [("kafkit", BENCH)] + ([(OLD_LABEL, OLD)] if OLD else [])
    for name, binary in (reversed(ours) if OLD_FIRST else ours):
        yield name, [binary, "kafkit", scenario, BOOT, t, str(count), str(size), codec]
    yield "rdkafka (librdkafka)", [BENCH, "rdkafka", scenario, BOOT, t, str(count), str(size), codec]
    yield f"krafka {crate_version('krafka')}", [BENCH, "krafka", scenario, BOOT, t, str(count), str(size), codec]
    yield f"confluent-kafka {crate_version('confluent-kafka')}", [BENCH, "confluent", scenario, BOOT, t, str(count), str(size), codec]
    if scenario == "produce":
        yield "Java kafka-clients 4.4", ["java", "-cp", CP, "JavaPeer", "produce-bench", BOOT, t, str(count), str(size), codec]
    else:
        yield "Java kafka-clients 4.4", ["java", "-cp", CP, "JavaPeer", "consume-bench", BOOT, t, str(count)]


rows = []
def row(scenario, name, res, size):
    if not isinstance(res, tuple):
        why = re.sub(r"\s+", " ", str(res)).replace("|", "/")
        why = why if len(why) <= 80 else why[:77] + "..."
        rows.append(f"| {scenario} | {name} | failed: {why} | | | |")
        print(rows[-1], flush=True)
        return
    n, secs, cpu, rss = res
    rows.append(f"| {scenario} | {name} | {n / secs:,.0f} | {n * size / secs / 1e6:,.1f} | {cpu / n * 1e6:,.2f} | {rss:,.0f} |")
    print(rows[-1], flush=True)

def main():
    for count, size, codec in [(N, 100, "none"), (N, 100, "lz4"), (N // 10, 10240, "none")]:
        scenario = f"produce {count:,} x {size} B, {codec}"
        for name, cmd in clients("produce", None, count, size, codec):
            t = topic("p")
            cmd = [c if c is not None else t for c in cmd]
            row(scenario, name, measure(cmd), size)

    # Consume: one topic filled once, read from the start by each client's own group.
    t = topic("c")
    subprocess.run([KAFKIT, "-b", BOOT, "produce", "--topic", t, "--count", str(N), "--size", "100"], check=True, capture_output=True)
    scenario = f"consume {N:,} x 100 B (group.protocol=consumer)"
    for name, cmd in clients("consume", t, N, 100, "none"):
        row(scenario, name, measure(cmd), 100)

    table = "\n".join([
        "| scenario | client | records/s | MB/s | CPU s per 1M records | peak RSS MB |",
        "|---|---|---|---|---|---|",
    ] + rows)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    path = "docs/benchmarks.md"
    doc = open(path).read() if os.path.exists(path) else ""
    block = f"<!-- results -->\nMeasured {stamp}, {'quick (--quick)' if QUICK else 'full'} run, {os.cpu_count()} cores.\n\n{table}\n<!-- /results -->"
    doc = re.sub(r"<!-- results -->.*<!-- /results -->", lambda _: block, doc, flags=re.S) if "<!-- results -->" in doc else doc + "\n" + block + "\n"
    open(path, "w").write(doc)
    print(table)


if __name__ == "__main__":
    main()
