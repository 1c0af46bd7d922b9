#!/usr/bin/env python3
"""Failover benchmark on a three-node KRaft cluster (scripts/cluster), per client, in one run.

For each fault and client: a fresh topic (3 partitions, replication factor 3, min.insync.replicas
2), a paced producer (RATE records/s for SECONDS, acks=all, idempotent) and a KIP-848 group
consumer reading it from the start. FAULT_AT seconds in, one node gets the fault; FAULT_FOR
seconds later it is brought back. Faults:

  kill         kill -9 of the leader of partition 0 (then `scripts/cluster start`)
  stop-leader  SIGSTOP of the leader of partition 0 (then SIGCONT)
  stop-coord   SIGSTOP of the group coordinator (then SIGCONT); no partition is led by it

The victim of kill and stop-leader is never the group's coordinator; every node leads one
partition in those two. Client processes: bench/src/bin/failover.rs (kafkit, rdkafka) and
java/FailoverPeer.java (Java), which print what they saw; this script computes, per run:

  new leader      from the fault until the metadata (asked every 200 ms by a kafkit watcher
                  process) names a new leader for the victim's partition: the cluster's part
  acks resume     from the fault until every partition has acknowledged a record sent after it
                  (the slowest partition)
  producer / consumer backlog cleared
                  from the fault until the last acknowledgement (consumed record) of a record
                  due more than LATE_MS earlier, in the run of such events that starts after
                  the fault (it ends when 2 s pass without one)
  later stalls    the worst lateness (acknowledgement or delivery time minus due time) after
                  that run: a disturbance when the node comes back
  e2e p99 / max   consume time minus the time the record was due to be sent (in its value),
                  first deliveries, the whole run but the first WARM_S seconds of sending (the
                  consumer starts WARM_S seconds before the producer)
  failed          records the producer reported failed
  lost            acknowledged records missing from the log (read back by the Java client) /
                  not read by the group consumer
  duplicates      deliveries to the consumer minus distinct records

Then (unless --no-throughput) produce and consume 1M x 100 B per client on the cluster, with
bench/run.py's clients, on a 6-partition topic with replication factor 3.

Usage: bench/failover.py CLASSPATH [--seconds 90] [--fault-at 15] [--fault-for 60] [--rate 10000]
         [--clients kafkit,java,rdkafka] [--faults kill,stop-leader,stop-coord]
         [--no-throughput] [--throughput-only] [--no-doc]      (run through bench/run-failover)
"""
import argparse
import datetime
import os
import re
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))
os.chdir(REPO)
import run  # noqa: E402  (bench/run.py: the throughput clients and their measurement)

ap = argparse.ArgumentParser()
ap.add_argument("cp")
ap.add_argument("--seconds", type=int, default=90)
ap.add_argument("--fault-at", type=int, default=15)
ap.add_argument("--fault-for", type=int, default=60)
ap.add_argument("--rate", type=int, default=10_000)
ap.add_argument("--clients", default="kafkit,java,rdkafka")
ap.add_argument("--faults", default="kill,stop-leader,stop-coord")
ap.add_argument("--no-throughput", action="store_true")
ap.add_argument("--throughput-only", action="store_true")
ap.add_argument("--no-doc", action="store_true")
ap.add_argument("--count", type=int, default=1_000_000, help="records per throughput row")
A = ap.parse_args()

CLUSTER = os.path.join(REPO, "scripts/cluster")
BOOT = subprocess.run([CLUSTER, "bootstrap"], check=True, capture_output=True, text=True).stdout.strip()
FO = os.path.join(REPO, "bench/target/release/failover")
LOGS = os.path.join(REPO, "bench/target/failover-logs")
LATE_MS = 1000
WARM_S = 5  # the consumer starts this long before the producer; latency skips this much sending
NAMES = {"kafkit": "kafkit", "java": "Java kafka-clients 4.4", "rdkafka": f"rdkafka {run.crate_version('rdkafka')} (librdkafka)"}
FAULTS = {
    "kill": "kill -9 a partition leader, restart it",
    "stop-leader": "SIGSTOP a partition leader",
    "stop-coord": "SIGSTOP the group coordinator",
}
os.makedirs(LOGS, exist_ok=True)


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def now_ms():
    return int(time.time() * 1000)


def cluster(*args):
    subprocess.run([CLUSTER, *args], check=True, stdout=subprocess.DEVNULL)


def java(*args, **kw):
    return subprocess.run(["java", "-cp", A.cp, "FailoverPeer", *args], capture_output=True, text=True, **kw)


def meta(*topics):
    """{(topic, partition): (leader, isr size)}"""
    out = subprocess.run([FO, "meta", BOOT, *topics], capture_output=True, text=True, timeout=60).stdout
    return {(l.split()[1], int(l.split()[2])): (int(l.split()[3]), int(l.split()[4]))
            for l in out.splitlines() if l.startswith("P ")}


def heal():
    """Every node running and answering, every replica of the offsets topic in sync."""
    status = subprocess.run([CLUSTER, "status"], capture_output=True, text=True).stdout
    for line in status.splitlines():
        n = line.split()[1].rstrip(":")
        if "stopped" in line:
            cluster("cont", n)
        if "up" not in line:
            cluster("start", n)
    # A fresh cluster creates the offsets topic on the first FindCoordinator, and answers
    # COORDINATOR_NOT_AVAILABLE until it exists.
    deadline = time.time() + 60
    while True:
        try:
            coordinator("fo-warm-up")
            break
        except (IndexError, ValueError, subprocess.TimeoutExpired):
            if time.time() > deadline:
                raise SystemExit("no group coordinator after 60 s")
            time.sleep(1)
    wait_in_sync("__consumer_offsets")


def wait_in_sync(topic, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            m = meta(topic)
            if m and all(leader >= 0 and isr == 3 for leader, isr in m.values()):
                return
        except Exception:
            pass
        time.sleep(1)
    raise SystemExit(f"{topic}: replicas not in sync after {timeout} s")


def controller():
    out = java("controller", BOOT, timeout=60).stdout
    return int(out.split()[1]) if out.startswith("K ") else -1


def coordinator(group):
    out = subprocess.run([FO, "coordinator", BOOT, group], capture_output=True, text=True, timeout=60).stdout
    return int(out.split()[1])


class Proc:
    """A client process whose stdout lines are collected; stderr goes to a log file."""

    def __init__(self, cmd, logname):
        self.err = open(os.path.join(LOGS, logname), "w")
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, text=True, bufsize=1)
        self.lines = []
        self.t = threading.Thread(target=lambda: self.lines.extend(self.p.stdout), daemon=True)
        self.t.start()

    def last(self, prefix):
        for l in reversed(self.lines):
            if l.startswith(prefix):
                return l.split()
        return None

    def finish(self, timeout):
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.t.join(5)
        self.err.close()
        with open(self.err.name.replace(".log", ".out"), "w") as f:
            f.writelines(self.lines)
        return [l.split() for l in self.lines]


def command(client, role, topic, group=None):
    if client == "java":
        base = ["java", "-cp", A.cp, "FailoverPeer"]
    else:
        base = [FO, client]
    if role == "produce":
        return base + ["produce", BOOT, topic, str(A.rate), str(A.seconds)]
    return base + ["consume", BOOT, topic, group, str(A.rate * WARM_S)]


def count_ranges(s, exclude=()):
    """Numbers in "a-b,c" ranges, minus those in `exclude` (a set)."""
    if s == "-":
        return 0
    n = 0
    for r in s.split(","):
        a, _, b = r.partition("-")
        a, b = int(a), int(b or a)
        n += (b - a + 1) - sum(1 for x in exclude if a <= x <= b)
    return n


def expand(s):
    out = set()
    if s != "-":
        for r in s.split(","):
            a, _, b = r.partition("-")
            out.update(range(int(a), int(b or a) + 1))
    return out


def one(fault, client):
    stamp = now_ms()
    topic, group = f"fo-{fault}-{client}-{stamp}", f"fo-{fault}-{client}-{stamp}"
    heal()
    ctl = controller()
    coord = coordinator(group)
    if fault == "stop-coord":
        # A coordinator that is not also the active controller, if a group name gives one.
        for i in range(12):
            if coord != ctl:
                break
            group = f"fo-{fault}-{client}-{stamp}-{i}"
            coord = coordinator(group)
    others = [n for n in (1, 2, 3) if n != coord]
    if fault == "stop-coord":
        victim = coord
        assignment = f"{others[0]},{others[1]},{coord};{others[1]},{others[0]},{coord};{others[0]},{coord},{others[1]}"
    else:
        # Neither the coordinator nor (where there is a choice) the active controller.
        victim = ([n for n in others if n != ctl] or others)[0]
        x, y = [n for n in (1, 2, 3) if n != victim]
        assignment = f"{victim},{x},{y};{x},{y},{victim};{y},{victim},{x}"
    r = java("create", BOOT, topic, "3", assignment, timeout=120)
    if r.returncode != 0:
        raise SystemExit(f"create {topic}: {r.stderr[-500:]}")
    wait_in_sync(topic)
    leaders = {p: l for (_, p), (l, _) in meta(topic).items()}
    log(f"{fault} / {client}: topic {topic}, leaders {leaders}, coordinator {coord}, controller {ctl}, victim {victim}")

    watch = Proc([FO, "watch", BOOT, topic], f"{topic}.watch.log")
    cons = Proc(command(client, "consume", topic, group), f"{topic}.consumer.log")
    time.sleep(WARM_S)
    prod = Proc(command(client, "produce", topic), f"{topic}.producer.log")
    t0 = time.time()
    time.sleep(max(0, t0 + A.fault_at - time.time()))
    cluster("kill" if fault == "kill" else "stop", str(victim))
    fault_ms = now_ms()  # the signal has been sent when scripts/cluster returns
    log(f"  node {victim} {'killed' if fault == 'kill' else 'stopped'}")
    time.sleep(max(0, fault_ms / 1000 + A.fault_for - time.time()))
    if fault == "kill":
        back_ms = now_ms()
        cluster("start", str(victim))
    else:
        cluster("cont", str(victim))
        back_ms = now_ms()
        cluster("start", str(victim))  # waits until it answers again
    log(f"  node {victim} back")

    plines = prod.finish(timeout=A.seconds + 300)
    watch.p.kill()
    moved = [int(l[1]) - fault_ms for l in watch.finish(timeout=10)
             if l[0] == "L" and int(l[1]) > fault_ms and int(l[3]) not in (victim, -1)]
    get = lambda key: next((l[1:] for l in plines if l and l[0] == key), None)
    if not get("SENT"):
        cons.p.kill()
        return {"error": f"producer gave no result (see {LOGS}/{topic}.producer.log)"}
    sent, failed_n = int(get("SENT")[0]), int(get("FAILED")[0])
    failed = expand(get("FAILEDSEQ")[0])
    err = " ".join(get("ERR") or [])
    acked = sent - failed_n
    log(f"  producer: {sent} sent, {failed_n} failed {err[:120]}")

    # The consumer is done once it read every acknowledged record, or makes no progress for 60 s.
    last, last_change = -1, time.time()
    while time.time() - last_change < 60:
        s = cons.last("S ")
        d = int(s[3]) if s else 0
        if d != last:
            last, last_change = d, time.time()
        if d >= acked and time.time() - last_change > 3:
            break
        time.sleep(1)
    cons.p.stdin.write(f"STOP {sent}\n")
    cons.p.stdin.flush()
    clines = cons.finish(timeout=60)
    cget = lambda key: next((l[1:] for l in clines if l and l[0] == key), None)
    if not cget("DISTINCT"):
        return {"error": f"consumer gave no result (see {LOGS}/{topic}.consumer.log)"}

    rb = java("readback", BOOT, topic, str(sent), timeout=600)
    rbl = [l.split() for l in rb.stdout.splitlines()]
    rget = lambda key: next((l[1:] for l in rbl if l and l[0] == key), None)
    log_records, log_distinct = (int(x) for x in rget("READ"))
    lost_log = count_ranges(rget("MISSING")[0], failed)
    lost_cons = count_ranges(cget("MISSING")[0], failed)

    # acks resume: per partition, the first acknowledgement of a record due after the fault.
    resume = {}
    for l in plines:
        if l[0] == "A" and int(l[5]) >= fault_ms and int(l[2]) not in resume:
            resume[int(l[2])] = int(l[1]) - fault_ms
    prod_clear, prod_later = episode([(int(l[1]), l[2], int(l[1]) - int(l[4])) for l in plines if l[0] == "A"], fault_ms)
    cons_clear, cons_later = episode([(int(l[1]), l[2], int(l[1]) - int(l[4])) for l in clines if l[0] == "C"], fault_ms)
    p50, p99, mx = (int(x) for x in cget("LAT"))
    res = {
        "moved": min(moved) / 1000 if moved and fault != "stop-coord" else None,
        "resume": max(resume.values()) / 1000 if len(resume) == 3 else None,
        "resume_parts": resume,
        "prod_clear": prod_clear / 1000, "prod_later": prod_later / 1000,
        "cons_clear": cons_clear / 1000, "cons_later": cons_later / 1000,
        "p50": p50, "p99": p99, "max": mx,
        "sent": sent, "failed": failed_n, "err": err,
        "lost_log": lost_log, "lost_cons": lost_cons,
        "dup_log": log_records - log_distinct,
        "dups": int(cget("DELIVERIES")[0]) - int(cget("DISTINCT")[0]),
        "back_after": (back_ms - fault_ms) / 1000,
    }
    log(f"  {res}")
    return res


def episode(events, fault_ms):
    """events: (time, partition, lateness) of acknowledgements or deliveries, in ms. On each
    partition, the backlog the fault left is the run of late events (lateness > LATE_MS) from
    the first one after the fault, as long as no 2 s pass without one. Returns (from the fault
    to the end of the last partition's run, the worst lateness after the runs): the second
    shows later stalls, such as leadership moving back."""
    ends = {}
    for t, p, d in sorted(events):
        if t <= fault_ms or d <= LATE_MS:
            continue
        if p not in ends or (ends[p][1] and t - ends[p][0] < 2000):
            ends[p] = (t, True)
        elif ends[p][1]:
            ends[p] = (ends[p][0], False)  # the run is over
    end = {p: e for p, (e, _) in ends.items()}
    later = max((d for t, p, d in events if t > end.get(p, fault_ms) + 2000), default=0)
    return max(end.values(), default=fault_ms) - fault_ms, later


def fmt(res):
    if "error" in res:
        return f"failed: {res['error']} | | | | | | | | "
    resume = f"{res['resume']:.1f}" if res["resume"] is not None else "never"
    moved = f"{res['moved']:.1f}" if res["moved"] is not None else "-"
    failed = f"{res['failed']:,}" + (f" ({res['err'][:60]})" if res["failed"] else "")
    return (f"{moved} | {resume} | {res['prod_clear']:.1f} | {res['cons_clear']:.1f} | "
            f"{res['prod_later']:.1f} / {res['cons_later']:.1f} | {res['p99']:,} / {res['max']:,} | "
            f"{failed} | {res['lost_log']:,} / {res['lost_cons']:,} | {res['dups']:,}")


def put(marker, body):
    path = os.path.join(REPO, "docs/benchmarks.md")
    doc = open(path).read()
    block = f"<!-- {marker} -->\n{body}\n<!-- /{marker} -->"
    pat = re.compile(rf"<!-- {marker} -->.*<!-- /{marker} -->", re.S)
    doc = pat.sub(lambda _: block, doc) if pat.search(doc) else doc + "\n" + block + "\n"
    open(path, "w").write(doc)


def failover():
    rows = []
    for fault in A.faults.split(","):
        for client in A.clients.split(","):
            try:
                res = one(fault, client)
            except Exception as e:  # one broken run must not lose the others
                log(f"  {fault} / {client}: {e!r}")
                res = {"error": re.sub(r"\s+", " ", str(e))[:80].replace("|", "/")}
            rows.append(f"| {FAULTS[fault]} | {NAMES[client]} | {fmt(res)} |")
            print(rows[-1], flush=True)
    heal()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    table = "\n".join([
        f"Measured {stamp}: {A.rate:,} records/s for {A.seconds} s, fault at {A.fault_at} s, "
        f"node back {A.fault_for} s later; {os.cpu_count()} cores.",
        "",
        "| fault | client | new leader in metadata after, s | acks resume after, s | producer backlog cleared after, s | consumer backlog cleared after, s "
        "| later stalls: worst lateness (producer / consumer), s | end-to-end p99 / max, ms | records failed | records lost (log / consumer) | duplicates consumed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ] + rows)
    print(table)
    if not A.no_doc:
        put("failover", table)


def throughput():
    run.BOOT, run.CP = BOOT, A.cp
    run.rows.clear()
    n = A.count

    def topic(prefix, partitions=6):
        name = f"bench-cluster-{prefix}-{now_ms()}"
        r = java("create", BOOT, name, str(partitions), timeout=120)
        if r.returncode != 0:
            raise SystemExit(f"create {name}: {r.stderr[-500:]}")
        wait_in_sync(name)
        time.sleep(1)
        return name

    heal()
    scenario = f"produce {n:,} x 100 B, none (cluster)"
    for name, cmd in run.clients("produce", None, n, 100, "none"):
        t = topic("p")
        run.row(scenario, name, run.measure([c if c is not None else t for c in cmd]), 100)
    t = topic("c")
    subprocess.run([run.BENCH, "kafkit", "produce", BOOT, t, str(n), "100", "none"], check=True, capture_output=True)
    scenario = f"consume {n:,} x 100 B (cluster, group.protocol=consumer)"
    for name, cmd in run.clients("consume", t, n, 100, "none"):
        run.row(scenario, name, run.measure(cmd), 100)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    table = "\n".join([
        f"Measured {stamp}, {os.cpu_count()} cores, three nodes and the client on the same machine.",
        "",
        "| scenario | client | records/s | MB/s | CPU s per 1M records | peak RSS MB |",
        "|---|---|---|---|---|---|",
    ] + run.rows)
    print(table)
    if not A.no_doc:
        put("cluster-throughput", table)


if not A.throughput_only:
    failover()
if not A.no_throughput:
    throughput()
