// The Java kafka-clients side of the failover benchmark (bench/failover.py); it prints the same
// lines as bench/src/bin/failover.rs (see that file's header for their meaning).
//   produce BOOTSTRAP TOPIC RATE SECONDS   paced producer: acks=all, idempotent, request timeout
//                                          30 s, delivery timeout 120 s (the client's defaults)
//   consume BOOTSTRAP TOPIC GROUP SKIP     group.protocol=consumer member from the start, auto-commit
//                                          (latency from seq SKIP on: the first are warm-up)
//   create BOOTSTRAP TOPIC PARTITIONS [ASSIGNMENT]   min.insync.replicas=2, replication factor 3;
//                                          ASSIGNMENT "1,2,3;2,3,1;3,1,2" names each partition's
//                                          replicas, the first its (preferred) leader
//   controller BOOTSTRAP                   "K node": the active KRaft controller
//   readback BOOTSTRAP TOPIC N             reads every partition from the start to its end offset:
//                                          "READ records distinct" and "MISSING ranges" of 0..N
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class FailoverPeer {
    public static void main(String[] a) throws Exception {
        switch (a[0]) {
            case "produce" -> produce(a[1], a[2], Long.parseLong(a[3]), Long.parseLong(a[4]));
            case "consume" -> consume(a[1], a[2], a[3], Long.parseLong(a[4]));
            case "controller" -> {
                Properties p = new Properties();
                p.put("bootstrap.servers", a[1]);
                try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(p)) {
                    System.out.println("K " + admin.describeMetadataQuorum().quorumInfo().get().leaderId());
                }
            }
            case "create" -> create(a[1], a[2], Integer.parseInt(a[3]), a.length > 4 ? a[4] : null);
            case "readback" -> readback(a[1], a[2], Long.parseLong(a[3]));
            default -> { System.err.println("unknown mode " + a[0]); System.exit(1); }
        }
    }

    static byte[] value(long seq, long sched) {
        byte[] v = new byte[100];
        Arrays.fill(v, (byte) 'x');
        byte[] head = (seq + " " + sched + " ").getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(head, 0, v, 0, head.length);
        return v;
    }

    /** {seq, scheduled ms}, or null. */
    static long[] parse(byte[] v) {
        if (v == null) return null;
        String s = new String(v, 0, Math.min(v.length, 40), StandardCharsets.US_ASCII);
        String[] parts = s.split(" ");
        if (parts.length < 2) return null;
        try { return new long[] {Long.parseLong(parts[0]), Long.parseLong(parts[1])}; } catch (NumberFormatException e) { return null; }
    }

    static String ranges(PrimitiveIterator.OfLong xs) {
        StringBuilder out = new StringBuilder();
        long a = -1, b = -1;
        while (xs.hasNext()) {
            long x = xs.nextLong();
            if (a >= 0 && x == b + 1) { b = x; continue; }
            if (a >= 0) out.append(out.length() > 0 ? "," : "").append(a == b ? "" + a : a + "-" + b);
            a = b = x;
        }
        if (a >= 0) out.append(out.length() > 0 ? "," : "").append(a == b ? "" + a : a + "-" + b);
        return out.length() == 0 ? "-" : out.toString();
    }

    static void produce(String bootstrap, String topic, long rate, long secs) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("acks", "all");
        p.put("enable.idempotence", "true");
        p.put("request.timeout.ms", "30000");
        p.put("delivery.timeout.ms", "120000");
        p.put("linger.ms", "5");
        p.put("key.serializer", ByteArraySerializer.class.getName());
        p.put("value.serializer", ByteArraySerializer.class.getName());
        // bucket*4+partition -> {acks, min sched, max sched}
        TreeMap<Long, long[]> buckets = new TreeMap<>();
        List<Long> failed = new ArrayList<>();
        String[] firstErr = {null};
        long total = rate * secs;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            long start = System.nanoTime(), startMs = System.currentTimeMillis();
            for (long seq = 0; seq < total; seq++) {
                while ((System.nanoTime() - start) / 1000 * rate / 1_000_000 < seq) Thread.sleep(1);
                long sched = startMs + seq * 1000 / rate, s = seq;
                byte[] key = ("k" + (seq % 1000)).getBytes(StandardCharsets.US_ASCII);
                try {
                    producer.send(new ProducerRecord<>(topic, key, value(seq, sched)), (m, e) -> {
                        synchronized (buckets) {
                            if (e != null) {
                                failed.add(s);
                                if (firstErr[0] == null) firstErr[0] = e.toString();
                                return;
                            }
                            long k = System.currentTimeMillis() / 10 * 10 * 4 + m.partition();
                            long[] b = buckets.computeIfAbsent(k, x -> new long[] {0, Long.MAX_VALUE, 0});
                            b[0]++;
                            b[1] = Math.min(b[1], sched);
                            b[2] = Math.max(b[2], sched);
                        }
                    });
                } catch (Exception e) {
                    synchronized (buckets) {
                        failed.add(s);
                        if (firstErr[0] == null) firstErr[0] = e.toString();
                    }
                }
            }
            producer.flush();
        }
        StringBuilder out = new StringBuilder();
        synchronized (buckets) {
            for (var e : buckets.entrySet()) {
                long[] b = e.getValue();
                out.append("A ").append(e.getKey() / 4).append(' ').append(e.getKey() % 4).append(' ')
                    .append(b[0]).append(' ').append(b[1]).append(' ').append(b[2]).append('\n');
            }
            Collections.sort(failed);
            out.append("SENT ").append(total).append('\n');
            out.append("FAILED ").append(failed.size()).append('\n');
            out.append("FAILEDSEQ ").append(ranges(failed.stream().mapToLong(Long::longValue).iterator())).append('\n');
            if (firstErr[0] != null) out.append("ERR ").append(firstErr[0].replace('\n', ' ')).append('\n');
        }
        System.out.print(out);
        System.out.flush();
    }

    static void consume(String bootstrap, String topic, String group, long skip) throws Exception {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "30000");
        AtomicLong stopAt = new AtomicLong(-1);
        Thread watcher = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in))) {
                for (String l; (l = r.readLine()) != null; ) {
                    if (l.startsWith("STOP ")) { stopAt.set(Long.parseLong(l.substring(5).trim())); return; }
                }
            } catch (java.io.IOException e) { }
        });
        watcher.setDaemon(true);
        watcher.start();
        BitSet seen = new BitSet();
        long deliveries = 0, distinct = 0, measured = 0;
        long[] hist = new long[1 << 20];
        long maxLat = 0;
        TreeMap<Long, long[]> buckets = new TreeMap<>();
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p);
        c.subscribe(List.of(topic));
        long lastReport = 0;
        while (stopAt.get() < 0) {
            ConsumerRecords<byte[], byte[]> rs;
            try {
                rs = c.poll(Duration.ofMillis(100));
            } catch (Exception e) {
                System.err.println("java consume error: " + e);
                continue;
            }
            long now = System.currentTimeMillis();
            for (ConsumerRecord<byte[], byte[]> r : rs) {
                long[] v = parse(r.value());
                if (v == null) continue;
                deliveries++;
                long[] b = buckets.computeIfAbsent(now / 10 * 10 * 4 + r.partition(), x -> new long[] {0, Long.MAX_VALUE});
                b[0]++;
                b[1] = Math.min(b[1], v[1]);
                if (!seen.get((int) v[0])) {
                    seen.set((int) v[0]);
                    distinct++;
                    if (v[0] < skip) continue;
                    measured++;
                    long lat = Math.max(0, now - v[1]);
                    maxLat = Math.max(maxLat, lat);
                    hist[(int) Math.min(lat, hist.length - 1)]++;
                }
            }
            if (now - lastReport >= 1000) {
                System.out.println("S " + now + " " + deliveries + " " + distinct);
                System.out.flush();
                lastReport = now;
            }
        }
        StringBuilder out = new StringBuilder();
        for (var e : buckets.entrySet()) out.append("C ").append(e.getKey() / 4).append(' ').append(e.getKey() % 4).append(' ').append(e.getValue()[0]).append(' ').append(e.getValue()[1]).append('\n');
        out.append("LAT ").append(quantile(hist, measured, 0.5)).append(' ').append(quantile(hist, measured, 0.99)).append(' ').append(maxLat).append('\n');
        out.append("DELIVERIES ").append(deliveries).append('\n');
        out.append("DISTINCT ").append(distinct).append('\n');
        long n = stopAt.get();
        out.append("MISSING ").append(ranges(java.util.stream.LongStream.range(0, n).filter(s -> !seen.get((int) s)).iterator())).append('\n');
        System.out.print(out);
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }

    static long quantile(long[] hist, long n, double q) {
        long want = Math.max(1, (long) Math.ceil(n * q)), acc = 0;
        for (int i = 0; i < hist.length; i++) {
            acc += hist[i];
            if (acc >= want) return i;
        }
        return 0;
    }

    static void create(String bootstrap, String topic, int partitions, String assignment) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        org.apache.kafka.clients.admin.NewTopic t;
        if (assignment == null) {
            t = new org.apache.kafka.clients.admin.NewTopic(topic, partitions, (short) 3);
        } else {
            Map<Integer, List<Integer>> replicas = new HashMap<>();
            String[] parts = assignment.split(";");
            for (int i = 0; i < parts.length; i++) {
                List<Integer> r = new ArrayList<>();
                for (String n : parts[i].split(",")) r.add(Integer.parseInt(n));
                replicas.put(i, r);
            }
            t = new org.apache.kafka.clients.admin.NewTopic(topic, replicas);
        }
        t.configs(Map.of("min.insync.replicas", "2"));
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(p)) {
            admin.createTopics(List.of(t)).all().get();
        }
    }

    static void readback(String bootstrap, String topic, long n) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "10000");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = new ArrayList<>();
            c.partitionsFor(topic).forEach(i -> tps.add(new TopicPartition(topic, i.partition())));
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            BitSet seen = new BitSet();
            long records = 0, distinct = 0;
            long deadline = System.currentTimeMillis() + 300_000;
            while (System.currentTimeMillis() < deadline) {
                boolean done = true;
                for (TopicPartition tp : tps) if (c.position(tp) < end.get(tp)) done = false;
                if (done) break;
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    long[] v = parse(r.value());
                    if (v == null) continue;
                    records++;
                    if (!seen.get((int) v[0])) { seen.set((int) v[0]); distinct++; }
                }
            }
            System.out.println("READ " + records + " " + distinct);
            System.out.println("MISSING " + ranges(java.util.stream.LongStream.range(0, n).filter(s -> !seen.get((int) s)).iterator()));
        }
    }
}
