package mx.prep.difusor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.impl.cluster.ClusteredRoutePolicy;
import org.apache.camel.spi.RoutePolicy;
import org.junit.jupiter.api.Test;

class LeadershipTest {

    private static DefaultCamelContext configured(Map<String, String> properties) throws Exception {
        DefaultCamelContext context = new DefaultCamelContext();
        properties.forEach(context.getPropertiesComponent()::addInitialProperty);
        new Leadership().configure(context);
        return context;
    }

    @Test
    void modeNoneBindsAPolicyThatIsNotClusteredAndNoClusterService() throws Exception {
        DefaultCamelContext context = configured(Map.of("difusor.cluster.mode", "none"));
        RoutePolicy policy = context.getRegistry().lookupByNameAndType(Leadership.POLICY_BEAN, RoutePolicy.class);
        assertThat(policy).isNotNull().isNotInstanceOf(ClusteredRoutePolicy.class);
        assertThat(context.hasServices(org.apache.camel.cluster.CamelClusterService.class)).isEmpty();
    }

    @Test
    void anUnknownModeOrAMissingFileRootFailsTheStartWithTheKeysName() {
        assertThatThrownBy(() -> configured(Map.of("difusor.cluster.mode", "zookeeper"))).hasMessageContaining("difusor.cluster.mode");
        assertThatThrownBy(() -> configured(Map.of("difusor.cluster.mode", "file", "difusor.cluster.file-root", "",
                "difusor.cluster.retry-period-ms", "500", "difusor.cluster.lease-duration-ms", "1500")))
                .hasMessageContaining("difusor.cluster.file-root");
    }

    @Test
    void kubernetesTimingsMustNestAsTheLeaseElectionNeeds() {
        assertThatThrownBy(() -> configured(Map.of("difusor.cluster.mode", "kubernetes", "difusor.cluster.lease-name", "l",
                "difusor.cluster.lease-duration-ms", "10000", "difusor.cluster.renew-deadline-ms", "10000",
                "difusor.cluster.retry-period-ms", "2000"))).hasMessageContaining("lease-duration-ms");
    }

    @Test
    void podLabelsAreKeyValuePairs() {
        assertThat(Leadership.labels(" app.kubernetes.io/name=prep-difusor, tier = publisher ,"))
                .containsExactly(Map.entry("app.kubernetes.io/name", "prep-difusor"), Map.entry("tier", "publisher"));
        assertThat(Leadership.labels("")).isEmpty();
        assertThatThrownBy(() -> Leadership.labels("app")).hasMessageContaining("difusor.cluster.pod-labels");
    }
}
