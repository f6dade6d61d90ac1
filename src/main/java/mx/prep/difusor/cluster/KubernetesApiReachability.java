package mx.prep.difusor.cluster;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.fabric8.kubernetes.client.KubernetesClient;

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
    private final Instant since;
    private Future<?> asking; // guarded by this: one question at a time
    private volatile Instant lastAnswered;
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
        this.since = clock.instant();
        setEnabled(true);
    }

    @Override
    public boolean isLiveness() {
        // a restart mends no network: the pod stays alive, and the other one leads
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        Future<?> answer;
        synchronized (this) {
            if (asking == null || asking.isDone()) {
                asking = asker.submit(this::ask);
            }
            answer = asking;
        }
        String problem = null;
        try {
            // the readiness probe answers in time whatever the API server does: a slow answer counts at the next call
            answer.get(Math.min(2000, within.toMillis()), TimeUnit.MILLISECONDS);
        } catch (TimeoutException slow) {
            problem = "no answer within " + Math.min(2000, within.toMillis()) + " ms";
        } catch (ExecutionException failed) {
            problem = String.valueOf(failed.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            problem = "interrupted";
        }
        Instant answered = lastAnswered;
        Instant silentSince = answered != null ? answered : since;
        Duration silent = Duration.between(silentSince, clock.instant());
        builder.detail("lease", namespace + "/" + lease);
        if (problem == null || silent.compareTo(within) < 0) {
            if (problem == null && trouble != null) {
                LOG.info("readiness: the Kubernetes API answers again (Lease {}/{})", namespace, lease);
                trouble = null;
            }
            builder.up();
            return;
        }
        String message = "the Kubernetes API has not answered for " + silent.toSeconds() + " s (Lease " + namespace + "/" + lease + ": "
                + problem + "); the pod is not ready, so the other replica may take the lead";
        if (trouble == null) {
            LOG.warn("readiness: {}", message);
        }
        trouble = message;
        builder.message(message);
        builder.down();
    }

    /** Reads the Lease; not there yet is an answer too. */
    private void ask() {
        client.leases().inNamespace(namespace).withName(lease).get();
        lastAnswered = clock.instant();
    }
}
