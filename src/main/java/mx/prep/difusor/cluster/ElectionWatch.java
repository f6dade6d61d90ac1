package mx.prep.difusor.cluster;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Liveness, under Kubernetes leader election: camel-kubernetes' election still runs in this process. Its loop asks the
 * API server for the Lease and the pods every retry period, whatever this pod's part, and renews the Lease without
 * catching what the API answers: one renewal refused (a 409 after its client's own retry had landed, the API failing
 * past the client's retries) ends the loop for good, with no log line. A leader so stopped keeps the Lease, a Ready
 * pod, and the other replica waits for ever: nobody polls, no corte is published; a follower so stopped never takes
 * over again. Seen from here: the election's own client has sent no request for {@code within}, longer than any wait
 * of a live loop (its takeover wait, the client's retries and their back-off against an API that does not answer).
 * Not live then: the kubelet restarts the container, whose new election runs again (the emptyDir stays).
 */
public final class ElectionWatch extends AbstractHealthCheck {

    /** The name the check is bound under. */
    public static final String BEAN = "electionWatch";

    private static final Logger LOG = LoggerFactory.getLogger(ElectionWatch.class);

    /** On the election's API client: every request it sends, each retry too, says the loop is alive. */
    public static final class Activity implements Interceptor {

        private final LongSupplier nanos;
        private final AtomicLong lastRequest;

        public Activity(LongSupplier nanos) {
            this.nanos = nanos;
            this.lastRequest = new AtomicLong(nanos.getAsLong());
        }

        @Override
        public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
            lastRequest.set(nanos.getAsLong());
        }

        Duration silent() {
            return Duration.ofNanos(nanos.getAsLong() - lastRequest.get());
        }
    }

    private final Activity activity;
    private final Duration within;
    private volatile boolean said;

    /** @param within longer than a live election ever goes without asking the API server */
    public ElectionWatch(Activity activity, Duration within) {
        super("difusor", "leader-election");
        this.activity = activity;
        this.within = within;
        setEnabled(true);
    }

    @Override
    public boolean isReadiness() {
        return false;
    }

    @Override
    public boolean isLiveness() {
        return true;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        Duration silent = activity.silent();
        builder.detail("election-silent-seconds", silent.toSeconds());
        if (silent.compareTo(within) < 0) {
            said = false;
            builder.up();
            return;
        }
        String message = "the leader election has asked the Kubernetes API nothing for " + silent.toSeconds() + " s: it has stopped in"
                + " this process (a Lease renewal the API refused ends camel-kubernetes' loop for good); restarting it";
        if (!said) {
            LOG.error("liveness: {}", message);
            said = true;
        }
        builder.message(message);
        builder.down();
    }
}
