package mx.prep.difusor.testing;

import java.util.HashMap;
import java.util.Map;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;

/**
 * An in-process Kubernetes API server (fabric8's mock server in CRUD mode) holding the difusor's pods, labelled as the
 * Deployment labels them, for difusor.cluster.mode = kubernetes: the Lease only counts while its holder is one of them,
 * Running and Ready.
 */
public final class KubernetesApi implements AutoCloseable {

    public static final String NAMESPACE = "prep-jal";
    public static final String POD_LABEL = "app.kubernetes.io/name=prep-difusor";
    public static final String LEASE_NAME = "prep-difusor-leader";
    /** camel-kubernetes names the Lease after the lease name and the cluster namespace. */
    public static final String LEASE = LEASE_NAME + "-prep-difusor";

    private final KubernetesMockServer server;
    private final NamespacedKubernetesClient api;

    /** The test's own client says so, so that what the difusor asked is told apart on the wire. */
    private static final String SETUP_AGENT = "prep-difusor-test-setup";

    public KubernetesApi() {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), new KubernetesCrudDispatcher(), false);
        server.init();
        try (var plain = server.createClient()) {
            api = new io.fabric8.kubernetes.client.KubernetesClientBuilder()
                    .withConfig(new io.fabric8.kubernetes.client.ConfigBuilder(plain.getConfiguration()).withUserAgent(SETUP_AGENT).build()).build()
                    .adapt(NamespacedKubernetesClient.class);
        }
    }

    /**
     * The requests the difusors made since the last call, as RBAC reads them: "group/resource:verb", plus ":name" when
     * the request names its object (the test's own set-up and checks left out).
     */
    public java.util.List<String> difusorRequests() throws InterruptedException {
        java.util.List<String> asked = new java.util.ArrayList<>();
        for (var request = server.takeRequest(0, java.util.concurrent.TimeUnit.MILLISECONDS); request != null;
                request = server.takeRequest(0, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            if (!SETUP_AGENT.equals(request.getHeader("User-Agent"))) {
                asked.add(asRbacReadsIt(request.getMethod(), request.getPath()));
            }
        }
        return asked;
    }

    private static final java.util.regex.Pattern RESOURCE_PATH = java.util.regex.Pattern.compile(
            "/(?:api/v1|apis/(?<group>[^/]+)/[^/]+)/namespaces/[^/]+/(?<resource>[^/?]+)(?:/(?<name>[^/?]+))?(?<sub>/[^?]*)?(?:\\?(?<query>.*))?");

    /** "METHOD path" as the authorizer sees it: group/resource(/subresource):verb(:name). */
    static String asRbacReadsIt(String method, String path) {
        var m = RESOURCE_PATH.matcher(path);
        if (!m.matches()) {
            return method + " " + path;
        }
        String name = m.group("name");
        String query = m.group("query") == null ? "" : m.group("query");
        String verb = switch (method) {
            case "GET" -> name != null ? "get" : query.matches("(.*&)?watch=(true|1)(&.*)?") ? "watch" : "list";
            case "POST" -> "create";
            case "PUT" -> "update";
            case "PATCH" -> "patch";
            case "DELETE" -> name != null ? "delete" : "deletecollection";
            default -> method;
        };
        return (m.group("group") == null ? "" : m.group("group")) + "/" + m.group("resource") + (m.group("sub") == null ? "" : m.group("sub"))
                + ":" + verb + (name == null ? "" : ":" + name);
    }

    public NamespacedKubernetesClient client() {
        return api;
    }

    /**
     * The settings of a replica running as this pod, with the given Lease timings (the shape of the production
     * defaults 15 s / 10 s / 2 s, shorter so a test is quick).
     */
    public Map<String, String> replicaSettings(String pod, long leaseMs, long renewMs, long retryMs) {
        Map<String, String> p = new HashMap<>();
        p.put("difusor.cluster.mode", "kubernetes");
        p.put("difusor.cluster.kubernetes-master", api.getConfiguration().getMasterUrl());
        p.put("difusor.cluster.namespace", NAMESPACE);
        p.put("difusor.cluster.pod-name", pod);
        p.put("difusor.cluster.pod-labels", POD_LABEL);
        p.put("difusor.cluster.lease-name", LEASE_NAME);
        p.put("difusor.cluster.lease-duration-ms", Long.toString(leaseMs));
        p.put("difusor.cluster.renew-deadline-ms", Long.toString(renewMs));
        p.put("difusor.cluster.retry-period-ms", Long.toString(retryMs));
        p.put("difusor.cluster.election-silence-ms", "300000");
        return p;
    }

    /** A replica's pod, Running, Ready or not. */
    public void pod(String name, boolean ready) {
        String[] label = POD_LABEL.split("=", 2);
        Pod pod = new PodBuilder().withNewMetadata().withName(name).withNamespace(NAMESPACE).addToLabels(label[0], label[1])
                .endMetadata().withNewSpec().addNewContainer().withName("prep-difusor").withImage("prep-difusor").endContainer().endSpec()
                .build();
        api.pods().inNamespace(NAMESPACE).resource(pod).createOr(existing -> existing.update());
        setReady(name, ready);
    }

    /** What the kubelet reports after the readiness probe. */
    public void setReady(String name, boolean ready) {
        Pod pod = api.pods().inNamespace(NAMESPACE).withName(name).get();
        pod.setStatus(new PodStatusBuilder().withPhase("Running")
                .addNewCondition().withType("Ready").withStatus(ready ? "True" : "False").endCondition().build());
        api.pods().inNamespace(NAMESPACE).resource(pod).updateStatus();
    }

    public void deletePod(String name) {
        api.pods().inNamespace(NAMESPACE).withName(name).delete();
    }

    /** The Lease's holder, or null before anyone took it. */
    public String holder() {
        Lease lease = api.leases().inNamespace(NAMESPACE).withName(LEASE).get();
        return lease == null ? null : lease.getSpec().getHolderIdentity();
    }

    @Override
    public void close() {
        api.close();
        server.destroy();
    }
}
