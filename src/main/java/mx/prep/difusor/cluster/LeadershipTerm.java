package mx.prep.difusor.cluster;

import java.time.Clock;
import java.time.Instant;
import java.util.Optional;

import org.apache.camel.cluster.CamelClusterEventListener;
import org.apache.camel.cluster.CamelClusterMember;
import org.apache.camel.cluster.CamelClusterView;

/** When this process took the lead it holds now (empty while it follows), from the cluster view's own events. */
public final class LeadershipTerm implements CamelClusterEventListener.Leadership {

    /** The name it is bound under, in the cluster modes only. */
    public static final String BEAN = "leadershipTerm";

    private final Clock clock;
    private volatile Instant since;
    /** The same moment on the monotonic clock: how long the lead has been held, whatever the wall clock does. */
    private volatile long sinceNanos;

    public LeadershipTerm(Clock clock) {
        this.clock = clock;
    }

    @Override
    public synchronized void leadershipChanged(CamelClusterView view, CamelClusterMember leader) {
        boolean local = leader != null && leader.isLocal();
        if (!local) {
            since = null;
        } else if (since == null) {
            sinceNanos = System.nanoTime();
            since = clock.instant();
        }
    }

    public Optional<Instant> since() {
        return Optional.ofNullable(since);
    }

    /** @return how long this process has held the lead, on the monotonic clock; empty while it follows */
    public Optional<java.time.Duration> held() {
        long started = sinceNanos;
        return since == null ? Optional.empty() : Optional.of(java.time.Duration.ofNanos(System.nanoTime() - started));
    }
}
