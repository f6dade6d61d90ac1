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
    /** One value, so a reader never pairs one term's start with another's: null while this process follows. */
    private volatile Term term;
    /** How many events this term has heard: a lead lost and taken again between two looks changes it. */
    private volatile long events;

    /** A term's start on the wall clock (for people) and on the monotonic clock (to measure it). */
    private record Term(Instant since, long sinceNanos) {
    }

    public LeadershipTerm(Clock clock) {
        this.clock = clock;
    }

    @Override
    public synchronized void leadershipChanged(CamelClusterView view, CamelClusterMember leader) {
        events++;
        boolean local = leader != null && leader.isLocal();
        if (!local) {
            term = null;
        } else if (term == null) {
            term = new Term(clock.instant(), System.nanoTime());
        }
    }

    /** @return how many leadership events the term has heard so far */
    public long events() {
        return events;
    }

    public Optional<Instant> since() {
        Term t = term;
        return t == null ? Optional.empty() : Optional.of(t.since());
    }

    /** @return how long this process has held the lead, on the monotonic clock; empty while it follows */
    public Optional<java.time.Duration> held() {
        Term t = term;
        return t == null ? Optional.empty() : Optional.of(java.time.Duration.ofNanos(System.nanoTime() - t.sinceNanos()));
    }
}
