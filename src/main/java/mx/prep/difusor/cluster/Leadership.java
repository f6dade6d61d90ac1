package mx.prep.difusor.cluster;

import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.support.RoutePolicySupport;

/**
 * Who may poll and publish. Binds the route policy "leadership" used by the poll routes. With
 * difusor.cluster.mode = none (the default) every process leads: a plain policy that changes nothing.
 * (The file and kubernetes modes are being added.)
 */
public class Leadership implements CamelConfiguration {

    @Override
    public void configure(CamelContext context) {
        context.getRegistry().bind("leadership", new RoutePolicySupport() {
        });
    }
}
