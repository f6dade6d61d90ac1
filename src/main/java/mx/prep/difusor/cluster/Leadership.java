package mx.prep.difusor.cluster;

import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.cluster.CamelClusterService;
import org.apache.camel.component.file.cluster.FileLockClusterService;
import org.apache.camel.component.kubernetes.KubernetesConfiguration;
import org.apache.camel.component.kubernetes.cluster.KubernetesClusterService;
import org.apache.camel.component.kubernetes.cluster.LeaseResourceType;
import org.apache.camel.impl.cluster.ClusteredRoutePolicy;
import org.apache.camel.spi.RoutePolicy;
import org.apache.camel.support.RoutePolicySupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.Settings;

/**
 * Who may poll and publish. Binds the route policy "leadership" that the routes letting packages in (the poll routes,
 * the republish folder, the resume timer and the held-back re-drop: the pipeline's only entry points) run under,
 * after difusor.cluster.mode:
 * <ul>
 * <li>{@code none} (default): every process leads; a plain policy that changes nothing.</li>
 * <li>{@code file}: camel-file's file-lock cluster service on a folder every replica shares
 * (difusor.cluster.file-root).</li>
 * <li>{@code kubernetes}: camel-kubernetes' cluster service on a coordination.k8s.io Lease; a holder counts only while
 * its pod is Running and Ready.</li>
 * </ul>
 * In both cluster modes the policy is camel-cluster's {@link ClusteredRoutePolicy} for the namespace
 * {@value #NAMESPACE}: the poll routes start only on the leader and are stopped when leadership is lost. The cluster
 * service is added to the context here, before the routes are built: one declared through camel.beans or YAML comes too
 * late for the routes' policy.
 */
public class Leadership implements CamelConfiguration {

    /** The camel-cluster namespace (group) the replicas elect a leader in. */
    public static final String NAMESPACE = "prep-difusor";
    /** The name the policy is bound under; the routes say routePolicy: "#leadership". */
    public static final String POLICY_BEAN = "leadership";

    private static final Logger LOG = LoggerFactory.getLogger(Leadership.class);

    @Override
    public void configure(CamelContext context) throws Exception {
        Settings settings = new Settings(context.getPropertiesComponent());
        String mode = settings.text("difusor.cluster.mode").toLowerCase(Locale.ROOT);
        if (Boolean.parseBoolean(settings.text("difusor.publish.dry-run")) && !mode.isEmpty() && !mode.equals("none")) {
            // a dry run beside the real replicas must not win their election: the leader would then publish nothing
            LOG.info("dry run: takes no part in the leader election (difusor.cluster.mode={} ignored)", mode);
            mode = "none";
        }
        RoutePolicy policy = switch (mode) {
            case "", "none" -> {
                LOG.info("leader election off (difusor.cluster.mode=none): this process polls and publishes");
                yield new RoutePolicySupport() {
                };
            }
            case "file" -> clustered(context, fileLock(settings));
            case "kubernetes" -> {
                // liveness: the election's own client still asks the API server (its loop may stop for good, ElectionWatch)
                ElectionWatch.Activity activity = new ElectionWatch.Activity(System::nanoTime);
                KubernetesClusterService service = kubernetes(settings, activity);
                context.getRegistry().bind(ElectionWatch.BEAN, new ElectionWatch(activity,
                        java.time.Duration.ofMillis(positive(settings, "difusor.cluster.election-silence-ms"))));
                bindApiReachability(context, settings, service);
                yield clustered(context, service);
            }
            default -> throw new IllegalStateException("difusor.cluster.mode must be none, file or kubernetes, not '" + mode + "'");
        };
        context.getRegistry().bind(POLICY_BEAN, policy);
    }

    private static RoutePolicy clustered(CamelContext context, CamelClusterService service) throws Exception {
        // a service of the context: started with it (before the routes), stopped with it (after the routes)
        context.addService(service, true, true);
        // when the lead was taken: a new leader lets the former one's last S3 calls end first (LeaderCheck)
        LeadershipTerm term = new LeadershipTerm(Clock.systemUTC());
        service.getView(NAMESPACE).addEventListener(term);
        context.getRegistry().bind(LeadershipTerm.BEAN, term);
        ClusteredRoutePolicy policy = ClusteredRoutePolicy.forNamespace(service, NAMESPACE);
        policy.setCamelContext(context);
        return policy;
    }

    /** Readiness drops when this pod cannot read the Lease ({@link KubernetesApiReachability}). */
    private static void bindApiReachability(CamelContext context, Settings settings, KubernetesClusterService service) throws Exception {
        // a client of its own: one question, no retries, a few seconds (camel-kubernetes' own retries ten times)
        io.fabric8.kubernetes.client.Config config = io.fabric8.kubernetes.client.Config.autoConfigure(null);
        String master = settings.text("difusor.cluster.kubernetes-master");
        if (!master.isEmpty()) {
            config.setMasterUrl(master);
        }
        if (!settings.text("difusor.cluster.namespace").isEmpty()) {
            config.setNamespace(settings.text("difusor.cluster.namespace"));
        }
        config.setRequestRetryBackoffLimit(0);
        // HTTP/1.1: a timed-out HTTP/2 stream leaves its connection in the pool, and every later question would wait on
        // a dead one (an API endpoint replaced) until TCP gives up
        config.setHttp2Disable(true);
        config.setConnectionTimeout(3000);
        config.setRequestTimeout(5000);
        io.fabric8.kubernetes.client.KubernetesClient client = new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(config).build();
        String namespace = service.getKubernetesResourcesNamespace() != null ? service.getKubernetesResourcesNamespace() : client.getNamespace();
        // closed with the context, after the routes
        context.addService(new org.apache.camel.support.service.ServiceSupport() {
            @Override
            protected void doStop() {
                client.close();
            }
        }, true, true);
        context.getRegistry().bind(KubernetesApiReachability.BEAN, new KubernetesApiReachability(client, namespace,
                // named as camel-kubernetes names it (lower case, other characters than letters, digits, '-' and '.' as '-')
                (service.getKubernetesResourceName() + "-" + NAMESPACE).toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.-]", "-")
                        .replaceAll("^[^a-z0-9]+|[^a-z0-9]+$", ""), java.time.Duration.ofMillis(service.getLeaseDurationMillis()),
                context.getExecutorServiceManager().newSingleThreadExecutor(KubernetesApiReachability.class, "kubernetes-api"), Clock.systemUTC()));
    }

    /**
     * A lock file {@code <root>/prep-difusor} plus a heartbeat file {@code <root>/prep-difusor.dat} the leader rewrites
     * every retry period. A follower looks every retry period too, and takes the lock once the heartbeat is older than
     * lease-duration (rounded up to whole retry periods, at least two): a leader that stops cleanly clears its heartbeat
     * and is replaced at the next look; a killed one after about lease-duration.
     */
    static FileLockClusterService fileLock(Settings settings) {
        String root = settings.required("difusor.cluster.file-root");
        long retry = positive(settings, "difusor.cluster.retry-period-ms");
        long lease = positive(settings, "difusor.cluster.lease-duration-ms");
        int multiplier = (int) Math.max(2, (lease + retry - 1) / retry);
        FileLockClusterService service = new FileLockClusterService();
        service.setId("prep-difusor-file-lock");
        service.setRoot(Path.of(root).toAbsolutePath().toString());
        service.setAcquireLockDelay(retry, TimeUnit.MILLISECONDS);
        service.setAcquireLockInterval(retry, TimeUnit.MILLISECONDS);
        service.setHeartbeatTimeoutMultiplier(multiplier);
        LOG.info("leader election on the file lock {}/{}: heartbeat every {} ms, a silent leader replaced after {} ms",
                service.getRoot(), NAMESPACE, retry, retry * multiplier);
        return service;
    }

    /**
     * The Lease {@code <lease-name>-prep-difusor} (camel-kubernetes appends the camel-cluster namespace) in
     * difusor.cluster.namespace. The members are the pods labelled difusor.cluster.pod-labels that are Running and
     * Ready; a holder that is not one of them loses the Lease to the next one that tries.
     */
    static KubernetesClusterService kubernetes(Settings settings, io.fabric8.kubernetes.client.http.Interceptor watch) {
        String master = settings.text("difusor.cluster.kubernetes-master");
        String namespace = settings.text("difusor.cluster.namespace");
        KubernetesClusterService service = new KubernetesClusterService(apiClient(settings, watch));
        service.setId("prep-difusor-kubernetes");
        service.setLeaseResourceType(LeaseResourceType.Lease);
        service.setKubernetesResourceName(settings.required("difusor.cluster.lease-name"));
        if (!namespace.isEmpty()) {
            service.setKubernetesResourcesNamespace(namespace);
        }
        String pod = settings.text("difusor.cluster.pod-name");
        // empty: camel-kubernetes takes $HOSTNAME, which Kubernetes sets to the pod's name
        if (!pod.isEmpty()) {
            service.setPodName(pod);
        }
        service.setClusterLabels(labels(settings.text("difusor.cluster.pod-labels")));
        service.setLeaseDurationMillis(positive(settings, "difusor.cluster.lease-duration-ms"));
        service.setRenewDeadlineMillis(positive(settings, "difusor.cluster.renew-deadline-ms"));
        service.setRetryPeriodMillis(positive(settings, "difusor.cluster.retry-period-ms"));
        if (service.getLeaseDurationMillis() <= service.getRenewDeadlineMillis()
                || service.getRenewDeadlineMillis() <= service.getJitterFactor() * service.getRetryPeriodMillis()) {
            throw new IllegalStateException("difusor.cluster: lease-duration-ms (" + service.getLeaseDurationMillis()
                    + ") must be greater than renew-deadline-ms (" + service.getRenewDeadlineMillis() + "), which must be greater than "
                    + service.getJitterFactor() + " x retry-period-ms (" + service.getRetryPeriodMillis() + ")");
        }
        LOG.info("leader election on the Lease {}-{} in namespace {} (API server {}), pod {}, members labelled {}: "
                + "lease {} ms, renew deadline {} ms, retry {} ms", service.getKubernetesResourceName(), NAMESPACE,
                namespace.isEmpty() ? "(the client's)" : namespace, master.isEmpty() ? "in-cluster" : master,
                pod.isEmpty() ? "$HOSTNAME" : pod, service.getClusterLabels(), service.getLeaseDurationMillis(),
                service.getRenewDeadlineMillis(), service.getRetryPeriodMillis());
        return service;
    }

    /**
     * The API server and namespace the replicas meet in; empty settings: in the cluster, the pod's own. The client is
     * made here, as camel-kubernetes would make it (the client's defaults: its retries), to let {@code watch} see each
     * of its requests; the election closes it when it stops. HTTP/1.1, as the readiness check's client: over HTTP/2 every
     * renewal went over one connection, and one that died without a word (the API server's address moved) kept the
     * leader from leading, and Ready, so the other replica never took over, until TCP gave up some 15 minutes later.
     */
    private static KubernetesConfiguration apiClient(Settings settings, io.fabric8.kubernetes.client.http.Interceptor watch) {
        KubernetesConfiguration configuration = new KubernetesConfiguration();
        io.fabric8.kubernetes.client.Config config = io.fabric8.kubernetes.client.Config.autoConfigure(null);
        String master = settings.text("difusor.cluster.kubernetes-master");
        if (!master.isEmpty()) {
            configuration.setMasterUrl(master);
            config.setMasterUrl(master);
        }
        String namespace = settings.text("difusor.cluster.namespace");
        if (!namespace.isEmpty()) {
            configuration.setNamespace(namespace);
            config.setNamespace(namespace);
        }
        config.setHttp2Disable(true);
        configuration.setKubernetesClient(new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(config)
                .withHttpClientBuilderConsumer(b -> b.addOrReplaceInterceptor("election-watch", watch)).build());
        return configuration;
    }

    /** {@code key=value,key=value}; blanks dropped. */
    static Map<String, String> labels(String text) {
        Map<String, String> labels = new LinkedHashMap<>();
        for (String pair : text.split(",")) {
            String p = pair.strip();
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new IllegalStateException("difusor.cluster.pod-labels: '" + p + "' is not key=value");
            }
            labels.put(p.substring(0, eq).strip(), p.substring(eq + 1).strip());
        }
        return labels;
    }

    private static long positive(Settings settings, String key) {
        long value = settings.number(key);
        if (value <= 0) {
            throw new IllegalStateException(key + " must be greater than 0, not " + value);
        }
        return value;
    }
}
