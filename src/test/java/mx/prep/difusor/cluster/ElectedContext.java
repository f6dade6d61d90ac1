package mx.prep.difusor.cluster;

import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.ServiceStatus;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;

/**
 * A small Camel context configured by {@link Leadership} as prep-difusor's is, with one route under the "leadership"
 * policy standing in for a poll route: the route runs only while this context leads.
 */
final class ElectedContext implements AutoCloseable {

    static final String ROUTE = "poll";

    private final String name;
    private final CamelContext context;

    private ElectedContext(String name, CamelContext context) {
        this.name = name;
        this.context = context;
    }

    static ElectedContext start(String name, Map<String, String> properties) throws Exception {
        DefaultCamelContext context = new DefaultCamelContext();
        context.getCamelContextExtension().setName(name);
        properties.forEach(context.getPropertiesComponent()::addInitialProperty);
        new Leadership().configure(context);
        context.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("direct:" + name).routeId(ROUTE).routePolicyRef(Leadership.POLICY_BEAN).setBody(constant(name));
            }
        });
        context.start();
        return new ElectedContext(name, context);
    }

    String name() {
        return name;
    }

    /**
     * What its readiness says of the Kubernetes API now, asked as Camel Main's health endpoint asks (the kubelet's
     * question): the check found in the registry by its type, as camel.main.load-health-checks finds it.
     */
    boolean apiReachable() {
        return up(org.apache.camel.health.HealthCheckHelper::invokeReadiness, "kubernetes-api");
    }

    /** Its liveness check of the election: false once the election has stopped in this process. */
    boolean electionAlive() {
        return up(org.apache.camel.health.HealthCheckHelper::invokeLiveness, "leader-election");
    }

    private boolean up(java.util.function.Function<org.apache.camel.CamelContext, java.util.Collection<org.apache.camel.health.HealthCheck.Result>> kind,
            String id) {
        org.apache.camel.health.HealthCheckRegistry health = org.apache.camel.health.HealthCheckRegistry.get(context);
        health.setEnabled(true);
        // every check's result, not only those down (the default exposure)
        health.setExposureLevel("full");
        health.loadHealthChecks();
        return kind.apply(context).stream().filter(r -> r.getCheck().getId().equals(id)).findFirst()
                .orElseThrow(() -> new AssertionError("no check " + id + " among " + health.getCheckIDs()))
                .getState() == org.apache.camel.health.HealthCheck.State.UP;
    }

    /** Its poll route runs: it leads. */
    boolean leads() {
        return context.getRouteController().getRouteStatus(ROUTE) == ServiceStatus.Started;
    }

    @Override
    public void close() {
        context.stop();
    }

    @Override
    public String toString() {
        return name + (leads() ? " (leader)" : "");
    }
}
