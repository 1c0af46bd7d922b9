// The Java kafka-clients peer for kafkit's interop tests, run as a single-file program:
//   java -cp "$(scripts/kafka classpath)" java/JavaPeer.java MODE ARGS...
// Modes:
//   read BOOTSTRAP TOPIC COUNT TIMEOUT_MS    read every partition from the start (read_committed);
//                                            one line per record: partition offset key value headers
//                                            (hex, "-" for null); exit 2 if COUNT records do not arrive
//   partition PARTITIONS KEY...              the default partitioner's choice for each UTF-8 key
//   produce-bench BOOTSTRAP TOPIC COUNT SIZE CODEC   COUNT records of SIZE bytes, acks=all, idempotent;
//                                            prints "records seconds"
//   consume-bench BOOTSTRAP TOPIC COUNT       a group.protocol=consumer member reads COUNT records;
//                                            prints "records seconds" (from subscribe)
//   group BOOTSTRAP TOPIC GROUP SECONDS      a group.protocol=consumer member; prints "ASSIGNED t-p,..."
//                                            after every rebalance and "COUNT n" before it leaves
//   member BOOTSTRAP TOPIC GROUP PROTOCOL [ASSIGNOR]   a member (PROTOCOL consumer or classic; ASSIGNOR
//                                            range, roundrobin or cooperative-sticky for classic) that
//                                            prints "SUB ms", "REC ms partition offset" per record,
//                                            "STOP ms" when stdin closes and "DONE ms" once it left;
//                                            env KAFKIT_PEER_RESET sets auto.offset.reset; "OWN p,p"
//                                            after every change of its partitions
//   jmx HOST:PORT PATTERN                    prints "JMX n", the sum of the Count attribute of the
//                                            MBeans matching PATTERN (a broker's request meters)
//   share BOOTSTRAP TOPIC GROUP SECONDS      a KafkaShareConsumer (KIP-932, implicit acknowledgement)
//                                            in share group GROUP; prints "REC partition offset
//                                            delivery-count" per record, "COUNT n" when it stops
//   share-bench BOOTSTRAP TOPIC GROUP RECORDS CONSUMERS   CONSUMERS KafkaShareConsumers (a thread
//                                            each, implicit acknowledgement) accept RECORDS records;
//                                            prints "SHARE records seconds min max redelivered"
//   scale BOOTSTRAP TOPIC PARTITIONS MEMBERS  MEMBERS group.protocol=consumer members in one JVM
//                                            (a thread each); prints "SCALE seconds" once they hold a
//                                            complete, disjoint assignment with every member non-empty
//   feature BOOTSTRAP NAME LEVEL             Admin.updateFeatures: finalizes feature NAME at LEVEL
//                                            (an upgrade, e.g. transaction.version 1 -> 2); prints
//                                            "FEATURE name level" once the controller accepted it
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.utils.Utils;

public class JavaPeer {
    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "read" -> read(args[1], args[2], Integer.parseInt(args[3]), Long.parseLong(args[4]));
            case "partition" -> {
                int n = Integer.parseInt(args[1]);
                for (int i = 2; i < args.length; i++) {
                    byte[] key = args[i].getBytes(StandardCharsets.UTF_8);
                    System.out.println(Utils.toPositive(Utils.murmur2(key)) % n);
                }
            }
            case "scale" -> scale(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]));
            case "jmx" -> jmx(args[1], args[2]);
            case "member" -> member(args[1], args[2], args[3], args[4], args.length > 5 ? args[5] : null);
            case "group" -> group(args[1], args[2], args[3], Integer.parseInt(args[4]));
            case "share" -> share(args[1], args[2], args[3], Integer.parseInt(args[4]));
            case "share-bench" -> shareBench(args[1], args[2], args[3], Long.parseLong(args[4]), Integer.parseInt(args[5]));
            case "consume-bench" -> consumeBench(args[1], args[2], Integer.parseInt(args[3]));
            case "produce-bench" -> produceBench(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]), args[5]);
            case "feature" -> feature(args[1], args[2], Short.parseShort(args[3]));
            default -> { System.err.println("unknown mode " + args[0]); System.exit(1); }
        }
    }

    static Properties props(String bootstrap) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return p;
    }

    static String hex(byte[] b) {
        if (b == null) return "-";
        if (b.length == 0) return "~";
        StringBuilder s = new StringBuilder();
        for (byte x : b) s.append(String.format("%02x", x));
        return s.toString();
    }

    static void read(String bootstrap, String topic, int count, long timeoutMs) {
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props(bootstrap))) {
            List<TopicPartition> tps = c.partitionsFor(topic).stream()
                .map(i -> new TopicPartition(topic, i.partition())).collect(Collectors.toList());
            c.assign(tps);
            c.seekToBeginning(tps);
            int got = 0;
            long deadline = System.currentTimeMillis() + timeoutMs;
            while (got < count && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    List<String> hs = new ArrayList<>();
                    for (Header h : r.headers()) hs.add(hex(h.key().getBytes(StandardCharsets.UTF_8)) + "=" + hex(h.value()));
                    System.out.println(r.partition() + " " + r.offset() + " " + hex(r.key()) + " " + hex(r.value()) + " "
                        + (hs.isEmpty() ? "-" : String.join(",", hs)));
                    got++;
                }
            }
            System.out.flush();
            if (got < count) { System.err.println("only " + got + " of " + count + " records"); System.exit(2); }
        }
    }

    static void produceBench(String bootstrap, String topic, int count, int size, String codec) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("acks", "all");
        p.put("enable.idempotence", "true");
        p.put("compression.type", codec);
        p.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        p.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        byte[] value = new byte[size];
        Arrays.fill(value, (byte) 'x');
        java.util.concurrent.atomic.AtomicLong failed = new java.util.concurrent.atomic.AtomicLong();
        try (org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]> producer = new org.apache.kafka.clients.producer.KafkaProducer<>(p)) {
            long start = System.nanoTime();
            for (int i = 0; i < count; i++) {
                producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, value), (m, e) -> { if (e != null) failed.incrementAndGet(); });
            }
            producer.flush();
            double secs = (System.nanoTime() - start) / 1e9;
            System.out.println(count + " " + secs + " " + failed.get());
        }
    }

    static void consumeBench(String bootstrap, String topic, int count) {
        Properties p = props(bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-java-" + ProcessHandle.current().pid());
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            long start = System.nanoTime();
            c.subscribe(List.of(topic));
            long n = 0;
            while (n < count) n += c.poll(Duration.ofMillis(500)).count();
            System.out.println(n + " " + (System.nanoTime() - start) / 1e9 + " 0");
        }
    }

    static void group(String bootstrap, String topic, String group, int seconds) {
        Properties p = props(bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            c.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                public void onPartitionsRevoked(Collection<TopicPartition> ps) {}
                public void onPartitionsAssigned(Collection<TopicPartition> ps) {
                    String now = c.assignment().stream().map(TopicPartition::toString).sorted().collect(Collectors.joining(","));
                    System.out.println("ASSIGNED " + now);
                    System.out.flush();
                }
            });
            long count = 0;
            long deadline = System.currentTimeMillis() + seconds * 1000L;
            while (System.currentTimeMillis() < deadline) count += c.poll(Duration.ofMillis(200)).count();
            System.out.println("COUNT " + count);
            System.out.flush();
        }
    }

    static void share(String bootstrap, String topic, String group, int seconds) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        java.io.PrintStream out = new java.io.PrintStream(new java.io.BufferedOutputStream(System.out, 1 << 16), false);
        try (KafkaShareConsumer<byte[], byte[]> c = new KafkaShareConsumer<>(p)) {
            c.subscribe(List.of(topic));
            long count = 0;
            long deadline = System.currentTimeMillis() + seconds * 1000L;
            while (System.currentTimeMillis() < deadline) {
                ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(200));
                for (ConsumerRecord<byte[], byte[]> r : rs) {
                    out.println("REC " + r.partition() + " " + r.offset() + " " + r.deliveryCount().map(String::valueOf).orElse("-"));
                    count++;
                }
                out.flush();
            }
            c.commitSync();
            out.println("COUNT " + count);
            out.flush();
        }
    }

    static void shareBench(String bootstrap, String topic, String group, long records, int consumers) throws Exception {
        java.util.concurrent.atomic.AtomicLong total = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong again = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        long[] per = new long[consumers];
        long start = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < consumers; i++) {
            final int id = i;
            Thread t = new Thread(() -> {
                Properties p = new Properties();
                p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
                p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
                p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
                p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
                try (KafkaShareConsumer<byte[], byte[]> c = new KafkaShareConsumer<>(p)) {
                    c.subscribe(List.of(topic));
                    while (!stop.get()) {
                        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                            per[id]++;
                            total.incrementAndGet();
                            if (r.deliveryCount().orElse((short) 1) > 1) again.incrementAndGet();
                        }
                    }
                }
            });
            t.start();
            threads.add(t);
        }
        while (total.get() - again.get() < records) Thread.sleep(5);
        double secs = (System.nanoTime() - start) / 1e9;
        stop.set(true);
        long min = Long.MAX_VALUE, max = 0;
        for (long n : per) { min = Math.min(min, n); max = Math.max(max, n); }
        System.out.printf("SHARE %d %.3f %d %d %d%n", records, secs, min, max, again.get());
        System.out.flush();
        for (Thread t : threads) t.join(10000);
    }

    /** Prints "JMX n": the sum of the Count attribute of the MBeans matching PATTERN on a JMX
     *  server at HOST:PORT (the churn benchmark reads the broker's per-error request meters). */
    static void jmx(String hostPort, String pattern) throws Exception {
        var url = new javax.management.remote.JMXServiceURL("service:jmx:rmi:///jndi/rmi://" + hostPort + "/jmxrmi");
        try (var c = javax.management.remote.JMXConnectorFactory.connect(url)) {
            var s = c.getMBeanServerConnection();
            long total = 0;
            for (var n : s.queryNames(new javax.management.ObjectName(pattern), null)) {
                total += ((Number) s.getAttribute(n, "Count")).longValue();
            }
            System.out.println("JMX " + total);
        }
    }

    static void member(String bootstrap, String topic, String group, String protocol, String assignor) throws Exception {
        Properties p = props(bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        String reset = System.getenv("KAFKIT_PEER_RESET");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, reset == null ? "latest" : reset);
        if (assignor != null && !assignor.equals("-")) {
            String cls = switch (assignor) {
                case "range" -> RangeAssignor.class.getName();
                case "roundrobin" -> RoundRobinAssignor.class.getName();
                case "cooperative-sticky" -> CooperativeStickyAssignor.class.getName();
                default -> throw new IllegalArgumentException("assignor " + assignor);
            };
            p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, cls);
        }
        java.io.PrintStream out = new java.io.PrintStream(new java.io.BufferedOutputStream(System.out, 1 << 16), false);
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread watcher = new Thread(() -> {
            try { while (System.in.read() >= 0) { } } catch (java.io.IOException e) { }
            stop.set(true);
            c.wakeup();
        });
        watcher.setDaemon(true);
        watcher.start();
        out.println("SUB " + System.currentTimeMillis());
        java.util.TreeSet<Integer> own = new java.util.TreeSet<>();
        c.subscribe(List.of(topic), new org.apache.kafka.clients.consumer.ConsumerRebalanceListener() {
            void show() { out.println("OWN " + own.toString().replaceAll("[\\[\\] ]", "")); out.flush(); }
            public void onPartitionsRevoked(java.util.Collection<org.apache.kafka.common.TopicPartition> ps) { ps.forEach(tp -> own.remove(tp.partition())); show(); }
            public void onPartitionsAssigned(java.util.Collection<org.apache.kafka.common.TopicPartition> ps) { ps.forEach(tp -> own.add(tp.partition())); show(); }
            public void onPartitionsLost(java.util.Collection<org.apache.kafka.common.TopicPartition> ps) { ps.forEach(tp -> own.remove(tp.partition())); show(); }
        });
        try {
            while (!stop.get()) {
                ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(100));
                long now = System.currentTimeMillis();
                for (ConsumerRecord<byte[], byte[]> r : rs) out.println("REC " + now + " " + r.partition() + " " + r.offset());
                out.flush();
            }
        } catch (org.apache.kafka.common.errors.WakeupException e) {
            // stdin closed
        }
        out.println("STOP " + System.currentTimeMillis());
        out.flush();
        c.close();
        out.println("DONE " + System.currentTimeMillis());
        out.flush();
    }

    static void scale(String bootstrap, String topic, int partitions, int members) throws Exception {
        String group = "java-scale-" + ProcessHandle.current().pid();
        Map<Integer, Set<Integer>> owned = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < members; i++) {
            int id = i;
            Thread t = new Thread(() -> {
                Properties p = props(bootstrap);
                p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
                p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
                try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
                    c.subscribe(List.of(topic));
                    while (!stop.get()) {
                        c.poll(Duration.ofMillis(100));
                        owned.put(id, c.assignment().stream().map(TopicPartition::partition).collect(Collectors.toSet()));
                    }
                }
            });
            t.start();
            threads.add(t);
        }
        while (true) {
            Set<Integer> all = new HashSet<>();
            boolean ok = owned.size() == members;
            int total = 0;
            for (Set<Integer> s : owned.values()) {
                if (s.isEmpty()) ok = false;
                total += s.size();
                all.addAll(s);
            }
            if (ok && all.size() == partitions && total == partitions) break;
            if (System.nanoTime() - start > 300_000_000_000L) { System.err.println("no complete assignment after 300 s"); System.exit(2); }
            Thread.sleep(100);
        }
        System.out.printf("SCALE %.2f%n", (System.nanoTime() - start) / 1e9);
        System.out.flush();
        stop.set(true);
        for (Thread t : threads) t.join();
    }

    static void feature(String bootstrap, String name, short level) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(p)) {
            var update = new org.apache.kafka.clients.admin.FeatureUpdate(
                level, org.apache.kafka.clients.admin.FeatureUpdate.UpgradeType.UPGRADE);
            admin.updateFeatures(Map.of(name, update), new org.apache.kafka.clients.admin.UpdateFeaturesOptions())
                .all().get();
        }
        System.out.println("FEATURE " + name + " " + level);
    }
}
