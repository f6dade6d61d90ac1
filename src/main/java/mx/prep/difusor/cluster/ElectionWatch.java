package mx.prep.difusor.cluster;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.function.BooleanSupplier;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Liveness, under Kubernetes leader election: camel-kubernetes' election has stopped in this process. Its loop renews
 * the Lease without catching what the API answers: one renewal refused (a 409 after its own retry had landed, the API
 * failing past the client's retries) ends the loop for good. The pod then stops leading at the renew deadline, while
 * the Lease goes on naming it, a Running and Ready pod, so the other replica never takes over: nobody polls, no corte is
 * published, and no log line says why. Seen from here: the Lease names this pod, the pod is Ready, and it has not led
 * for longer than a live election takes to lead again (the lease duration, plus the renew deadline and two retries).
 * Not live then: the kubelet restarts the container, whose new election leads again (the emptyDir stays).
 */
public final class ElectionWatch extends AbstractHealthCheck {

    /** The name the check is bound under. */
    public static final String BEAN = "electionWatch";

    private static final Logger LOG = LoggerFactory.getLogger(ElectionWatch.class);

    private final KubernetesApiReachability api;
    private final BooleanSupplier leads;
    private final String pod;
    private final Duration within;
    private final Clock clock;
    private Instant strandedSince; // guarded by this

    /** @param within longer than a live election takes to lead while the Lease names its pod */
    public ElectionWatch(KubernetesApiReachability api, BooleanSupplier leads, String pod, Duration within, Clock clock) {
        super("difusor", "leader-election");
        this.api = api;
        this.leads = leads;
        this.pod = pod;
        this.within = within;
        this.clock = clock;
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
    protected synchronized void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        api.askSoon();
        KubernetesApiReachability.Seen seen = api.seen();
        Instant now = clock.instant();
        // judged only on a fresh answer: an API that does not answer is the readiness check's business
        boolean stranded = seen != null && Duration.between(seen.at(), now).compareTo(within) < 0 && pod.equals(seen.holder())
                && seen.podReady() && !leads.getAsBoolean();
        if (!stranded) {
            strandedSince = null;
            builder.up();
            return;
        }
        if (strandedSince == null) {
            strandedSince = now;
        }
        Duration stranded_ = Duration.between(strandedSince, now);
        builder.detail("lease-holder", seen.holder());
        if (stranded_.compareTo(within) < 0) {
            builder.up();
            return;
        }
        String message = "the Lease names this pod, which is Ready and has not led for " + stranded_.toSeconds()
                + " s: the leader election has stopped in this process (a Lease renewal the API refused); restarting it";
        LOG.error("liveness: {}", message);
        builder.message(message);
        builder.down();
    }
}
