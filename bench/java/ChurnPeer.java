// The Java member of the churn benchmark (bench/rebalance.py --churn): a KIP-848 consumer
// (group.protocol=consumer, the client's default auto-commit) that prints what JavaPeer's
// `member` prints, plus its commits, so their times can be set against a kill:
//   java -cp CLASSPATH ChurnPeer BOOTSTRAP TOPIC GROUP
// Lines: "SUB ms", "REC ms partition offset" per record (flushed before the next poll, so a
// SIGKILL loses no line of a record the member had), "OWN ms p,p" after every change of its
// partitions, "COMMIT ms p:o,..." for every successful commit (auto-commits included: the
// client calls ConsumerInterceptor.onCommit for them, on the application thread during a poll,
// so at most one poll after the answer), "STOP ms" when stdin closes, "DONE ms" once it left.
// Env KAFKIT_PEER_RESET sets auto.offset.reset (default latest).
import java.io.BufferedOutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class ChurnPeer {
    static final PrintStream OUT = new PrintStream(new BufferedOutputStream(System.out, 1 << 16), false);

    /** Logs each successful commit; the client instantiates it from interceptor.classes. */
    public static class CommitLog implements ConsumerInterceptor<byte[], byte[]> {
        public ConsumerRecords<byte[], byte[]> onConsume(ConsumerRecords<byte[], byte[]> rs) { return rs; }
        public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
            StringJoiner j = new StringJoiner(",");
            offsets.forEach((tp, o) -> j.add(tp.partition() + ":" + o.offset()));
            synchronized (OUT) {
                OUT.println("COMMIT " + System.currentTimeMillis() + " " + j);
                OUT.flush();
            }
        }
        public void close() {}
        public void configure(Map<String, ?> configs) {}
    }

    static void line(String s) {
        synchronized (OUT) { OUT.println(s); }
    }

    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.GROUP_ID_CONFIG, args[2]);
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
        String reset = System.getenv("KAFKIT_PEER_RESET");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, reset == null ? "latest" : reset);
        p.put(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG, CommitLog.class.getName());
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p);
        AtomicBoolean stop = new AtomicBoolean();
        Thread watcher = new Thread(() -> {
            try { while (System.in.read() >= 0) { } } catch (java.io.IOException e) { }
            stop.set(true);
            c.wakeup();
        });
        watcher.setDaemon(true);
        watcher.start();
        line("SUB " + System.currentTimeMillis());
        TreeSet<Integer> own = new TreeSet<>();
        c.subscribe(List.of(args[1]), new ConsumerRebalanceListener() {
            void show() {
                synchronized (OUT) {
                    OUT.println("OWN " + System.currentTimeMillis() + " " + own.toString().replaceAll("[\\[\\] ]", ""));
                    OUT.flush();
                }
            }
            public void onPartitionsRevoked(Collection<TopicPartition> ps) { ps.forEach(tp -> own.remove(tp.partition())); show(); }
            public void onPartitionsAssigned(Collection<TopicPartition> ps) { ps.forEach(tp -> own.add(tp.partition())); show(); }
            public void onPartitionsLost(Collection<TopicPartition> ps) { ps.forEach(tp -> own.remove(tp.partition())); show(); }
        });
        try {
            while (!stop.get()) {
                ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(100));
                long now = System.currentTimeMillis();
                synchronized (OUT) {
                    for (ConsumerRecord<byte[], byte[]> r : rs) OUT.println("REC " + now + " " + r.partition() + " " + r.offset());
                    OUT.flush();
                }
            }
        } catch (org.apache.kafka.common.errors.WakeupException e) {
            // stdin closed
        }
        line("STOP " + System.currentTimeMillis());
        synchronized (OUT) { OUT.flush(); }
        c.close();
        line("DONE " + System.currentTimeMillis());
        synchronized (OUT) { OUT.flush(); }
    }
}
