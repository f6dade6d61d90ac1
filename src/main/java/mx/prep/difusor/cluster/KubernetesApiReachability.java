package mx.prep.difusor.cluster;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Readiness, under Kubernetes leader election: this pod can read the Lease. camel-kubernetes hands the Lease to another
 * replica only once its holder is no longer a Running and Ready pod; it does not look at the renew time. A leader cut
 * off from the API server (its network, throttling) stops leading after the renew deadline, yet stays Ready (S3 still
 * answers), and the other replica waits for it for as long as that lasts: nobody polls, no corte is published. Not
 * Ready once the API has not answered for the Lease's duration, the pod lets the other one take over.
 * <p>
 * Any HTTP answer is an answer (a 403, a 5xx: the API server is there, for both pods alike, and both unready would
 * only block drains and leave nobody to lead once it recovers); silence is no connection or no answer. The check never
 * waits: it reads what the last question found and asks the next one, so the readiness probe answers at once whatever
 * the API server does (the probe's 3 s are shared with the S3 check).
 */
public final class KubernetesApiReachability extends AbstractHealthCheck {

    /** The name the check is bound under. */
    public static final String BEAN = "kubernetesApiReachability";

    private static final Logger LOG = LoggerFactory.getLogger(KubernetesApiReachability.class);

    private final KubernetesClient client;
    private final String namespace;
    private final String lease;
    private final Duration within;
    private final ExecutorService asker;
    private final Clock clock;
    private volatile Instant since; // the first question: silence counts from there, not from the pod's start
    private Future<?> asking; // guarded by this: one question at a time
    private volatile Instant lastAnswered;
    private volatile boolean lastUnanswered; // the last question that ended: one at a time, so ordered
    private volatile String lastProblem = "no answer yet";
    private volatile String trouble;

    /**
     * @param within how long the API may stay silent before the pod is not ready: the Lease's duration, after which
     *               the other replica could take over from a leader it can see
     */
    public KubernetesApiReachability(KubernetesClient client, String namespace, String lease, Duration within, ExecutorService asker,
            Clock clock) {
        super("difusor", "kubernetes-api");
        this.client = client;
        this.namespace = namespace;
        this.lease = lease;
        this.within = within;
        this.asker = asker;
        this.clock = clock;
        setEnabled(true);
    }

    @Override
    public boolean isLiveness() {
        // a restart mends no network: the pod stays alive, and the other one leads
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        synchronized (this) {
            if (asking == null) {
                since = clock.instant();
            }
            if (asking == null || asking.isDone()) {
                asking = asker.submit(this::ask);
            }
        }
        Instant answered = lastAnswered;
        Duration silent = Duration.between(answered != null ? answered : since, clock.instant());
        builder.detail("lease", namespace + "/" + lease);
        // silent that long, and the last question unanswered too: a readiness probe that asks less often than the
        // Lease's duration finds its last answer old, not the API gone
        boolean failing = lastUnanswered;
        if (silent.compareTo(within) < 0 || !failing) {
            if (trouble != null && answered != null) {
                LOG.info("readiness: the Kubernetes API answers again (Lease {}/{})", namespace, lease);
                trouble = null;
            }
            builder.up();
            return;
        }
        String message = "the Kubernetes API has not answered for " + silent.toSeconds() + " s (Lease " + namespace + "/" + lease + ": "
                + lastProblem + "); the pod is not ready, so the other replica may take the lead";
        if (trouble == null) {
            LOG.warn("readiness: {}", message);
        }
        trouble = message;
        builder.message(message);
        builder.down();
    }

    /** Reads the Lease; not there yet, or any other HTTP status, is an answer too. */
    private void ask() {
        try {
            client.leases().inNamespace(namespace).withName(lease).get();
        } catch (KubernetesClientException e) {
            if (e.getCode() <= 0) {
                // no HTTP status: no connection, no answer in time
                lastProblem = String.valueOf(e.getCause() != null ? e.getCause() : e.getMessage());
                lastUnanswered = true;
                return;
            }
        } catch (RuntimeException e) {
            lastProblem = e.toString();
            lastUnanswered = true;
            return;
        }
        lastAnswered = clock.instant();
        lastUnanswered = false;
    }
}
