package mx.prep.difusor.cluster;

import org.apache.camel.CamelContext;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.impl.cluster.ClusteredRoutePolicy;
import org.apache.camel.spi.RoutePolicy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.quarantine.Quarantine;

/**
 * Whether this process still leads, asked before each step that changes what the public sees (every upload, the
 * invalidation, the record). Losing the lead only stops the poll routes; a publication already under way would go on,
 * possibly over the newer corte the next leader publishes meanwhile.
 */
public final class LeaderCheck {

    private static final Logger LOG = LoggerFactory.getLogger(LeaderCheck.class);

    private final CamelContext context;
    private volatile RoutePolicy policy;

    public LeaderCheck(CamelContext context) {
        this.context = context;
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
     * The pipeline's end for a lost lead: a warning, neither a retry nor the quarantine, since the package is not at
     * fault and is in the history; the new leader publishes the newest corte.
     */
    public void leftToTheNewLeader(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg, @ExchangeProperty(Quarantine.STEP) String step) {
        LOG.warn("{}: this process lost the lead at step {}; left to the new leader, which publishes the newest corte (this one is in"
                + " the history)", pkg, step);
    }
}
