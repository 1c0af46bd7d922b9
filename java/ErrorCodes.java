// Prints Kafka's error codes (org.apache.kafka.common.protocol.Errors) as tab-separated lines:
// code, name, retriable (true/false), default message. scripts/gen-schemas turns them into
// crates/kafkit/src/protocol/error_codes.rs.
//   java -cp kafka-clients.jar java/ErrorCodes.java
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.protocol.Errors;

public class ErrorCodes {
    public static void main(String[] args) {
        for (Errors e : Errors.values()) {
            if (e == Errors.NONE) continue;
            boolean retriable = e.exception() instanceof RetriableException;
            String message = e.message() == null ? "" : e.message().replace('\t', ' ').replace('\n', ' ');
            System.out.println(e.code() + "\t" + e.name() + "\t" + retriable + "\t" + message);
        }
    }
}
