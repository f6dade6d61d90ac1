package mx.prep.difusor.cluster;

import java.time.Duration;
import java.util.Optional;

import org.apache.camel.CamelContext;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.impl.cluster.ClusteredRoutePolicy;
import org.apache.camel.spi.RoutePolicy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.PrepPackage;

/**
 * Whether this process still leads, asked before each step that changes what the public sees (every upload, the
 * invalidation, the record). Losing the lead only stops the poll routes; a publication already under way would go on,
 * possibly over the newer corte the next leader publishes meanwhile.
 */
public final class LeaderCheck {

    private static final Logger LOG = LoggerFactory.getLogger(LeaderCheck.class);

    private final CamelContext context;
    private final Duration takeoverPause;
    private volatile RoutePolicy policy;

    /**
     * @param takeoverPause the longest an S3 call of a former leader may still be under way (difusor.cluster.takeover-pause-ms,
     *                      by default difusor.s3.call-timeout-ms)
     */
    public LeaderCheck(CamelContext context, Duration takeoverPause) {
        this.context = context;
        this.takeoverPause = takeoverPause;
    }

    /** In-memory: the cluster service keeps the flag up to date; cheap enough for every upload. */
    public boolean leads() {
        RoutePolicy known = policy;
        if (known == null) {
            // bound by Leadership, which configures the context after the beans are made
            known = context.getRegistry().lookupByNameAndType(Leadership.POLICY_BEAN, RoutePolicy.class);
            policy = known;
        }
        return !(known instanceof ClusteredRoutePolicy clustered) || clustered.isLeader();
    }

    public void require(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws NoLongerLeaderException {
        if (!leads()) {
            throw new NoLongerLeaderException(pkg + ": this process no longer leads");
        }
    }

    /**
     * Before a new leader looks at the site or writes it: the former leader stopped at its own lead check, but an S3
     * call it had under way (an upload its SDK was retrying through a network fault) may still land, over what this
     * one publishes, for as long as a call may take. Waits until that long after the lead was taken; at once in every
     * publication after that, and always without leader election.
     */
    public void awaitTakeover(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws NoLongerLeaderException {
        LeadershipTerm term = context.getRegistry().lookupByNameAndType(LeadershipTerm.BEAN, LeadershipTerm.class);
        // when this check first saw a lead the term has not heard of yet (the route policy's flag set before the
        // view's event reached the term): counted from then, here only, so a lead lost meanwhile leaves nothing behind;
        // counted again if the term heard anything since (a lead lost and taken again while this check slept)
        long unheardSince = 0;
        long unheardAt = -1;
        while (true) {
            require(pkg);
            if (term == null) {
                // no leader election: nobody else publishes
                return;
            }
            // read again after each wait: a lead lost and taken again meanwhile starts a term of its own
            Optional<Duration> held = term.held();
            if (held.isEmpty()) {
                long events = term.events();
                if (unheardAt != events) {
                    unheardAt = events;
                    unheardSince = System.nanoTime();
                }
                held = Optional.of(Duration.ofNanos(System.nanoTime() - unheardSince));
            } else {
                unheardAt = -1;
            }
            // on the monotonic clock: a wall clock stepped forward (NTP) must not cut the wait short
            Duration left = takeoverPause.minus(held.get());
            if (left.isNegative() || left.isZero()) {
                return;
            }
            LOG.info("{}: this process took the lead {} s ago; it waits {} ms before comparing with the site, so that the former"
                    + " leader's last S3 calls have ended (difusor.cluster.takeover-pause-ms)", pkg, held.get().toSeconds(), left.toMillis());
            try {
                Thread.sleep(left.toMillis());
            } catch (InterruptedException stopping) {
                // a process stopping (a rollout) while it waits: the package is in the history, and its publication has
                // not started (errors.yaml: the next leader fetches it again, or a folder's is held back); no quarantine
                Thread.currentThread().interrupt();
                throw new NoLongerLeaderException(pkg + ": this process is stopping while it waits to take over the site");
            }
        }
    }
}
