package mx.prep.difusor.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * Renders k8s/overlays/simulacro and k8s/overlays/jornada with {@code kubectl kustomize} (kubectl must be on the PATH,
 * or named by -Dkubectl=/path/to/kubectl) and checks what the Kubernetes workload promises: two replicas with a
 * Lease leader election and least-privilege RBAC, the configuration from ConfigMaps identical to the repo's
 * application.properties and routes/, credentials only through IRSA or Secrets, probes on the real health checks,
 * a hardened pod, a PDB, a NetworkPolicy, the Jolokia port for Hawtio, and the overlays' own settings.
 * Runs from the repo root (Maven's working directory).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KubernetesManifestsTest {

    private static final Path REPO = Path.of("").toAbsolutePath();
    private static final List<String> OVERLAYS = List.of("simulacro", "jornada");
    private static final String CONTAINER = "prep-difusor";
    private static final int MANAGEMENT_PORT = 9876;
    private static final String SYNC_HINT = " (k8s/base/config is a copy kept by k8s/sync-config.sh: run it after "
            + "changing application.properties or routes/)";
    /**
     * What each overlay must set, differently from the other one. Not the poll cron: a rehearsal of the night's timing
     * gives the simulacro the jornada's (docs/kubernetes.md); not the manifest URL, which may be a Secret's.
     */
    private static final List<String> OVERLAY_ENV = List.of("DIFUSOR_SITE_BUCKET",
            "DIFUSOR_HISTORY_BUCKET", "DIFUSOR_CDN_DISTRIBUTION_IDS");
    private static final String IRSA = "eks.amazonaws.com/role-arn";
    private static final Pattern SECRET_LOOKING_NAME =
            Pattern.compile("(?i).*(password|passwd|secret|token|credential|access[-_.]?key|private[-_.]?key|signing[-_.]?key).*");
    private static final Pattern AWS_ACCESS_KEY_ID = Pattern.compile("\\b(AKIA|ASIA)[A-Z0-9]{16}\\b");

    private final Map<String, Rendered> rendered = new LinkedHashMap<>();

    static Stream<String> overlays() {
        return OVERLAYS.stream();
    }

    @BeforeAll
    void render() throws Exception {
        if (System.getProperty("kubectl") == null) {
            mx.prep.difusor.testing.ExternalTool.require("kubectl");
        }
        for (String overlay : OVERLAYS) {
            rendered.put(overlay, Rendered.of(overlay));
        }
        System.out.println("kubectl kustomize: " + rendered.values().stream()
                .map(r -> r.overlay + " " + r.took.toMillis() + " ms, " + r.docs.size() + " objects")
                .collect(Collectors.joining("; ")));
    }

    // ---------------------------------------------------------------------------------------------------- workload

    @ParameterizedTest
    @MethodSource("overlays")
    void twoReplicasRolledWithoutLosingOne(String overlay) {
        Map<String, Object> deployment = rendered.get(overlay).one("Deployment");
        assertThat(at(deployment, "spec", "replicas")).as("%s: Deployment replicas", overlay).isEqualTo(2);
        assertThat(text(at(deployment, "spec", "strategy", "rollingUpdate", "maxUnavailable")))
                .as("%s: a rollout never takes a pod away before its replacement is ready", overlay).isEqualTo("0");
        assertThat(rendered.get(overlay).kinds()).as("%s: one workload only", overlay)
                .doesNotContain("StatefulSet", "DaemonSet", "CronJob", "Job", "Pod");
    }

    /**
     * The scheduler's preference (ScheduleAnyway) put both pods on one node when the other was short of room, and
     * nothing moved them after: that node's death left nobody to lead and lost both work volumes.
     */
    @ParameterizedTest
    @MethodSource("overlays")
    void neverTwoPodsOnOneNodeWhileAnotherCanTakeOne(String overlay) {
        List<Object> spread = list(at(rendered.get(overlay).podSpec(), "topologySpreadConstraints"));
        Map<String, Object> byNode = spread.stream().map(c -> map(c))
                .filter(c -> "kubernetes.io/hostname".equals(at(c, "topologyKey"))).findFirst().orElseThrow();
        assertThat(at(byNode, "whenUnsatisfiable")).as("%s: spread over nodes", overlay).isEqualTo("DoNotSchedule");
        assertThat(at(byNode, "maxSkew")).as("%s: maxSkew (a rollout's surge pod fits on two nodes)", overlay).isEqualTo(1);
        // a cordoned node counted as a domain of 0 pods left a drain's replacement pending on a two-node group
        assertThat(at(byNode, "nodeTaintsPolicy")).as("%s: nodeTaintsPolicy", overlay).isEqualTo("Honor");
        assertThat(at(byNode, "labelSelector", "matchLabels", "app.kubernetes.io/name")).as("%s: counts the difusor's pods", overlay)
                .isEqualTo("prep-difusor");
        // only the new ReplicaSet's pods during a rollout: counted with the old ones, the second new pod could join the
        // first on one node, and once the old pods were deleted both replicas stayed there
        assertThat(list(at(byNode, "matchLabelKeys"))).as("%s: matchLabelKeys", overlay).containsExactly("pod-template-hash");
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void leaderElectionOnAKubernetesLease(String overlay) {
        Rendered r = rendered.get(overlay);
        Map<String, Object> env = r.env();
        assertThat(literal(env, "DIFUSOR_CLUSTER_MODE")).as("%s: cluster mode", overlay).isEqualTo("kubernetes");
        assertThat(literal(env, "DIFUSOR_CLUSTER_LEASE_NAME")).as("%s: lease name", overlay).isEqualTo("prep-difusor-leader");
        // the runbook's republish copies into it with kubectl cp, without a rollout
        assertThat(literal(env, "DIFUSOR_REPUBLISH_DIRECTORY")).as("%s: republish folder", overlay).isEqualTo("/work/republish");
        // the jornada's opening (convocatoria: 20:00 Tiempo del Centro, June 2): the lag counts from it, 404 or not
        assertThat(env).as("%s: DIFUSOR_SOURCE_OPENS_AT", overlay).containsKey("DIFUSOR_SOURCE_OPENS_AT");
        String opensAt = String.valueOf(at(env.get("DIFUSOR_SOURCE_OPENS_AT"), "value"));
        if (overlay.equals("jornada")) {
            assertThat(java.time.OffsetDateTime.parse(opensAt).toInstant()).as("jornada: opens-at").isEqualTo(java.time.Instant.parse("2024-06-03T02:00:00Z"));
        } else if (!opensAt.isEmpty()) {
            assertThat(java.time.OffsetDateTime.parse(opensAt)).as("%s: opens-at", overlay).isNotNull();
        }
        assertThat(at(env.get("DIFUSOR_CLUSTER_NAMESPACE"), "valueFrom", "fieldRef", "fieldPath"))
                .as("%s: DIFUSOR_CLUSTER_NAMESPACE from the downward API", overlay).isEqualTo("metadata.namespace");
        assertThat(at(env.get("DIFUSOR_CLUSTER_POD_NAME"), "valueFrom", "fieldRef", "fieldPath"))
                .as("%s: DIFUSOR_CLUSTER_POD_NAME from the downward API", overlay).isEqualTo("metadata.name");
        long lease = Long.parseLong(literal(env, "DIFUSOR_CLUSTER_LEASE_DURATION_MS"));
        long renew = Long.parseLong(literal(env, "DIFUSOR_CLUSTER_RENEW_DEADLINE_MS"));
        long retry = Long.parseLong(literal(env, "DIFUSOR_CLUSTER_RETRY_PERIOD_MS"));
        assertThat(lease).as("%s: the lease outlasts the renew deadline", overlay).isGreaterThan(renew);
        assertThat(renew).as("%s: several renew attempts fit in the renew deadline", overlay).isGreaterThan(2 * retry);
        assertThat(retry).as("%s: retry period", overlay).isPositive();
        // the API server is reached with the service account's token
        assertThat(at(r.podSpec(), "automountServiceAccountToken")).as("%s: pod automountServiceAccountToken", overlay)
                .isEqualTo(true);
        assertThat(at(r.serviceAccount(), "automountServiceAccountToken"))
                .as("%s: the ServiceAccount does not turn the token off", overlay).isNotEqualTo(false);
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void rbacIsExactlyWhatTheLeaseElectionNeeds(String overlay) {
        Rendered r = rendered.get(overlay);
        assertThat(r.kinds()).as("%s: nothing cluster-wide", overlay).doesNotContain("ClusterRole", "ClusterRoleBinding");
        Map<String, Object> role = r.one("Role");
        Set<String> grants = new TreeSet<>();
        for (Object rule : list(at(role, "rules"))) {
            assertThat(at(rule, "nonResourceURLs")).as("%s: no non-resource URLs", overlay).isNull();
            for (Object group : list(at(rule, "apiGroups"))) {
                for (Object resource : list(at(rule, "resources"))) {
                    for (Object verb : list(at(rule, "verbs"))) {
                        grants.add(group + "/" + resource + ":" + verb);
                    }
                }
            }
        }
        assertThat(grants).as("%s: the Role's grants (group/resource:verb)", overlay).containsExactlyInAnyOrder(
                "coordination.k8s.io/leases:get", "coordination.k8s.io/leases:create", "coordination.k8s.io/leases:update", "/pods:list");
        assertThat(grants).as("%s: no wildcard, no secrets", overlay)
                .noneMatch(g -> g.contains("*") || g.contains("secrets"));
        // get and update only on the election's Lease: camel-kubernetes names it after the configured name and its group
        List<Object> named = list(at(role, "rules")).stream().filter(rule -> at(rule, "resourceNames") != null).toList();
        assertThat(named).as("%s: rules limited to names", overlay).hasSize(1);
        assertThat(list(at(named.get(0), "verbs"))).as("%s: verbs on the Lease by name", overlay).containsExactlyInAnyOrder("get", "update");
        assertThat(list(at(named.get(0), "resourceNames"))).as("%s: the Lease the Deployment's settings name", overlay)
                .containsExactly(literal(r.env(), "DIFUSOR_CLUSTER_LEASE_NAME") + "-prep-difusor");

        Map<String, Object> binding = r.one("RoleBinding");
        assertThat(at(binding, "roleRef", "kind")).as("%s: RoleBinding roleRef kind", overlay).isEqualTo("Role");
        assertThat(at(binding, "roleRef", "name")).as("%s: RoleBinding roleRef name", overlay).isEqualTo(name(role));
        String serviceAccount = name(r.serviceAccount());
        assertThat(list(at(binding, "subjects"))).as("%s: RoleBinding subjects", overlay).containsExactly(
                Map.of("kind", "ServiceAccount", "name", serviceAccount, "namespace", r.namespace()));
        assertThat(at(r.podSpec(), "serviceAccountName")).as("%s: the pod's service account", overlay)
                .isEqualTo(serviceAccount);
    }

    // ------------------------------------------------------------------------------------------------ configuration

    @ParameterizedTest
    @MethodSource("overlays")
    void configMapsHoldTheReposPropertiesAndEveryRouteByteForByte(String overlay) throws IOException {
        Rendered r = rendered.get(overlay);
        assertThat(at(r.container(), "workingDir")).as("%s: working directory", overlay).isEqualTo("/deployments");

        Map<String, Object> propertiesMount = r.mount("/deployments/application.properties");
        assertThat(at(propertiesMount, "subPath")).as("%s: application.properties mount subPath", overlay)
                .isEqualTo("application.properties");
        Map<String, Object> properties = r.configMapMountedBy(propertiesMount);
        assertThat(map(at(properties, "data")).keySet()).as("%s: %s keys", overlay, name(properties))
                .containsExactly("application.properties");
        assertThat(bytes(at(properties, "data", "application.properties")))
                .as("%s: ConfigMap %s application.properties = the repo's application.properties" + SYNC_HINT,
                        overlay, name(properties))
                .isEqualTo(Files.readAllBytes(REPO.resolve("application.properties")));

        Map<String, Object> routesMount = r.mount("/deployments/routes");
        assertThat(at(routesMount, "subPath")).as("%s: routes mounted as a folder", overlay).isNull();
        Map<String, Object> routes = r.configMapMountedBy(routesMount);
        assertThat(at(r.volume(text(at(routesMount, "name"))), "configMap", "items"))
                .as("%s: every key of the routes ConfigMap is mounted", overlay).isNull();
        Map<String, Object> data = map(at(routes, "data"));
        Map<String, byte[]> repoRoutes = new TreeMap<>();
        try (Stream<Path> files = Files.list(REPO.resolve("routes"))) {
            for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".yaml")).toList()) {
                repoRoutes.put(file.getFileName().toString(), Files.readAllBytes(file));
            }
        }
        assertThat(repoRoutes).as("routes/*.yaml in the repo").isNotEmpty();
        assertThat(new TreeSet<>(data.keySet())).as("%s: ConfigMap %s keys = routes/*.yaml" + SYNC_HINT, overlay,
                name(routes)).isEqualTo(repoRoutes.keySet());
        repoRoutes.forEach((file, content) -> assertThat(bytes(data.get(file)))
                .as("%s: ConfigMap %s %s = routes/%s" + SYNC_HINT, overlay, name(routes), file, file)
                .isEqualTo(content));

        for (Map<String, Object> configMap : List.of(properties, routes)) {
            assertThat(at(configMap, "binaryData")).as("%s: %s binaryData", overlay, name(configMap)).isNull();
            // a hash suffix: a changed route gives a new name, and so a rollout of the pods
            assertThat(name(configMap)).as("%s: generated ConfigMap name", overlay).matches("prep-difusor-.+-[a-z0-9]{10}");
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void credentialsOnlyThroughIrsaOrSecrets(String overlay) {
        Rendered r = rendered.get(overlay);
        assertThat(r.kinds()).as("%s: no Secret is rendered from git", overlay).doesNotContain("Secret");
        assertThat(r.yaml).as("%s: no AWS access key id anywhere", overlay).doesNotContainPattern(AWS_ACCESS_KEY_ID);

        for (Map<String, Object> configMap : r.all("ConfigMap")) {
            map(at(configMap, "data")).forEach((key, value) -> {
                assertThat(key).as("%s: ConfigMap %s key", overlay, name(configMap)).doesNotMatch(SECRET_LOOKING_NAME);
                String content = text(value);
                assertThat(content).as("%s: ConfigMap %s/%s", overlay, name(configMap), key)
                        .doesNotContainIgnoringCase("aws_secret_access_key")
                        .doesNotContainIgnoringCase("aws_session_token");
                if (key.endsWith(".properties")) {
                    Properties props = load(content);
                    for (String property : props.stringPropertyNames()) {
                        if (SECRET_LOOKING_NAME.matcher(property).matches()) {
                            assertThat(props.getProperty(property))
                                    .as("%s: %s in ConfigMap %s must be empty (it comes from a Secret)", overlay,
                                            property, name(configMap))
                                    .isEmpty();
                        }
                    }
                }
            });
        }

        for (Object container : r.allContainers()) {
            for (Object var : list(at(container, "env"))) {
                String name = text(at(var, "name"));
                if (name.startsWith("AWS_ACCESS_KEY") || name.startsWith("AWS_SECRET") || name.startsWith("AWS_SESSION")
                        || SECRET_LOOKING_NAME.matcher(name).matches()) {
                    assertThat(at(var, "value")).as("%s: env %s has no literal value", overlay, name).isNull();
                    assertThat(at(var, "valueFrom", "secretKeyRef")).as("%s: env %s from a Secret", overlay, name)
                            .isNotNull();
                }
            }
            for (Object from : list(at(container, "envFrom"))) {
                assertThat(at(from, "configMapRef")).as("%s: no environment from a ConfigMap", overlay).isNull();
            }
        }

        assertThat(text(at(r.serviceAccount(), "metadata", "annotations", IRSA)))
                .as("%s: IRSA role on the ServiceAccount", overlay)
                .matches("arn:aws:iam::\\d{12}:role/[\\w+=,.@/-]+");
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void everyDifusorVariableNamesAConfigurationKey(String overlay) throws IOException {
        Properties props = load(Files.readString(REPO.resolve("application.properties"), StandardCharsets.UTF_8));
        Set<String> known = new HashSet<>();
        props.stringPropertyNames().stream().map(k -> k.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_')).forEach(known::add);
        assertThat(rendered.get(overlay).env().keySet().stream().filter(n -> n.startsWith("DIFUSOR_")))
                .as("%s: DIFUSOR_* variables (the start refuses one that names no key)", overlay)
                .isNotEmpty()
                .allSatisfy(n -> assertThat(known).as("configuration keys as variables").contains(n));
        // nor any the namespace's Services would add (difusor-status -> DIFUSOR_STATUS_SERVICE_HOST)
        assertThat(at(rendered.get(overlay).podSpec(), "enableServiceLinks")).as("%s: enableServiceLinks", overlay).isEqualTo(false);
    }

    /** Whoever edits application.properties on the night sees which of its values the pod does not take from it. */
    @ParameterizedTest
    @MethodSource("overlays")
    void everyKeyKubernetesSetsIsMarkedSoInApplicationProperties(String overlay) throws IOException {
        List<String> lines = Files.readAllLines(REPO.resolve("application.properties"), StandardCharsets.UTF_8);
        Map<String, String> commentAbove = new java.util.HashMap<>();
        StringBuilder comment = new StringBuilder();
        for (String line : lines) {
            if (line.startsWith("#")) {
                comment.append(line).append('\n');
            } else {
                if (line.contains("=")) {
                    String key = line.substring(0, line.indexOf('=')).strip();
                    commentAbove.put(key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_'), comment.toString());
                }
                comment.setLength(0);
            }
        }
        assertThat(rendered.get(overlay).env().keySet().stream().filter(n -> n.startsWith("DIFUSOR_")))
                .as("%s: keys set as variables", overlay)
                .allSatisfy(n -> assertThat(commentAbove.getOrDefault(n, "")).as("the comment above %s's key", n).contains("k8s:"));
    }

    // --------------------------------------------------------------------------------------------- health, hardening

    @ParameterizedTest
    @MethodSource("overlays")
    void probesUseTheManagementPortsHealthChecks(String overlay) {
        Rendered r = rendered.get(overlay);
        Map<String, Object> c = r.container();
        Map<String, String> expected = Map.of("startupProbe", "/observe/health/live",
                "livenessProbe", "/observe/health/live", "readinessProbe", "/observe/health/ready");
        expected.forEach((probe, path) -> {
            assertThat(at(c, probe, "httpGet", "path")).as("%s: %s path", overlay, probe).isEqualTo(path);
            assertThat(r.containerPort(at(c, probe, "httpGet", "port"))).as("%s: %s port", overlay, probe)
                    .isEqualTo(MANAGEMENT_PORT);
            assertThat(at(c, probe, "httpGet", "scheme")).as("%s: %s scheme", overlay, probe).isIn(null, "HTTP");
        });
        int budget = intOr(at(c, "startupProbe", "initialDelaySeconds"), 0)
                + intOr(at(c, "startupProbe", "periodSeconds"), 10) * intOr(at(c, "startupProbe", "failureThreshold"), 3);
        assertThat(budget).as("%s: seconds the startupProbe gives Camel Main (8-15 s on a small CPU)", overlay)
                .isGreaterThanOrEqualTo(60);
        // a liveness check can wait behind a readiness check that waits up to 2 s for a slow S3: a restart only after
        // a minute of failures, each given more than that wait
        assertThat(intOr(at(c, "livenessProbe", "timeoutSeconds"), 1)).as("%s: livenessProbe timeoutSeconds", overlay)
                .isGreaterThanOrEqualTo(5);
        // readiness too: a check queued behind another waits up to twice 2 s; three timeouts made the leader step down
        assertThat(intOr(at(c, "readinessProbe", "timeoutSeconds"), 1)).as("%s: readinessProbe timeoutSeconds", overlay)
                .isGreaterThanOrEqualTo(5);
        assertThat(intOr(at(c, "livenessProbe", "periodSeconds"), 10) * intOr(at(c, "livenessProbe", "failureThreshold"), 3))
                .as("%s: seconds of failed liveness checks before a restart", overlay).isGreaterThanOrEqualTo(60);
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void resourcesAreRequestedAndLimited(String overlay) throws IOException {
        Map<String, Object> resources = map(at(rendered.get(overlay).container(), "resources"));
        assertThat(map(at(resources, "requests"))).as("%s: requests", overlay).containsKeys("cpu", "memory");
        assertThat(map(at(resources, "limits"))).as("%s: limits", overlay).containsKeys("cpu", "memory");
        assertThat(at(resources, "limits", "memory")).as("%s: memory limit = request", overlay)
                .isEqualTo(at(resources, "requests", "memory"));
        // the image sizes the heap as a share of this limit and the parallel collector grows it to that maximum: what
        // is left must hold the JVM outside the heap (190-215 MB of RSS measured at -Xmx256m, BENCHMARKS.md) with
        // room to spare, or the kernel OOM-kills the pod without an OutOfMemoryError
        java.util.regex.Matcher percentage = Pattern.compile("\"-XX:MaxRAMPercentage=([0-9.]+)\"")
                .matcher(Files.readString(REPO.resolve("Containerfile")));
        assertThat(percentage.find()).as("the Containerfile's ENTRYPOINT sets -XX:MaxRAMPercentage").isTrue();
        java.util.regex.Matcher limit = Pattern.compile("(\\d+)(Mi|Gi)").matcher(String.valueOf(at(resources, "limits", "memory")));
        assertThat(limit.matches()).as("%s: memory limit in Mi or Gi", overlay).isTrue();
        long limitMiB = Long.parseLong(limit.group(1)) * ("Gi".equals(limit.group(2)) ? 1024 : 1);
        double heapMiB = limitMiB * Double.parseDouble(percentage.group(1)) / 100;
        assertThat(limitMiB - heapMiB).as("%s: MiB of the %d MiB limit left outside a heap of %.0f MiB", overlay, limitMiB, heapMiB)
                .isGreaterThanOrEqualTo(300);
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void podIsHardened(String overlay) {
        Rendered r = rendered.get(overlay);
        Map<String, Object> pod = map(at(r.podSpec(), "securityContext"));
        Map<String, Object> sc = map(at(r.container(), "securityContext"));
        assertThat(effective(sc, pod, "runAsNonRoot")).as("%s: runAsNonRoot", overlay).isEqualTo(true);
        assertThat(effective(sc, pod, "runAsUser")).as("%s: runAsUser", overlay)
                .isInstanceOf(Integer.class).satisfies(u -> assertThat((Integer) u).isPositive());
        assertThat(at(sc, "readOnlyRootFilesystem")).as("%s: readOnlyRootFilesystem", overlay).isEqualTo(true);
        assertThat(at(sc, "allowPrivilegeEscalation")).as("%s: allowPrivilegeEscalation", overlay).isEqualTo(false);
        assertThat(at(sc, "privileged")).as("%s: privileged", overlay).isNotEqualTo(true);
        assertThat(list(at(sc, "capabilities", "drop"))).as("%s: capabilities dropped", overlay).contains("ALL");
        assertThat(list(at(sc, "capabilities", "add"))).as("%s: no capability added", overlay).isEmpty();
        assertThat(at(effective(sc, pod, "seccompProfile"), "type")).as("%s: seccomp", overlay)
                .isEqualTo("RuntimeDefault");
        for (String hostAccess : List.of("hostNetwork", "hostPID", "hostIPC")) {
            assertThat(at(r.podSpec(), hostAccess)).as("%s: %s", overlay, hostAccess).isNotEqualTo(true);
        }
        assertThat(r.podSpec().get("initContainers")).as("%s: no init containers", overlay).isNull();
        assertThat(list(at(r.podSpec(), "containers"))).as("%s: one container", overlay).hasSize(1);
        // the namespace refuses anything less (Pod Security Admission)
        Map<String, Object> namespace = r.one("Namespace");
        assertThat(at(namespace, "metadata", "labels", "pod-security.kubernetes.io/enforce"))
                .as("%s: namespace Pod Security enforce level", overlay).isEqualTo("restricted");
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void writableDirectoriesAreEmptyDirs(String overlay) throws IOException {
        Rendered r = rendered.get(overlay);
        assertThat(literal(r.env(), "DIFUSOR_WORK_DIR")).as("%s: DIFUSOR_WORK_DIR", overlay).isEqualTo("/work");
        for (String path : List.of("/work", "/tmp")) {
            Map<String, Object> mount = r.mount(path);
            assertThat(at(mount, "readOnly")).as("%s: %s writable", overlay, path).isNotEqualTo(true);
            assertThat(at(r.volume(text(at(mount, "name"))), "emptyDir")).as("%s: %s is an emptyDir", overlay, path)
                    .isNotNull();
        }
        for (Object volume : list(at(r.podSpec(), "volumes"))) {
            assertThat(map(volume)).as("%s: volume %s", overlay, at(volume, "name")).doesNotContainKey("hostPath");
        }
        // a download at the limit, a cut-short publication's copy from the history, a package kept on the pod while S3
        // refuses the quarantine, an operator's republish (its copy in the folder and its copy in the spool): an emptyDir
        // past its sizeLimit is evicted with the packages only this pod holds
        long maxPackage = Long.parseLong(load(Files.readString(REPO.resolve("application.properties"), StandardCharsets.UTF_8))
                .getProperty("difusor.source.max-package-bytes").strip());
        String sizeLimit = text(at(r.volume(text(at(r.mount("/work"), "name"))), "emptyDir", "sizeLimit"));
        assertThat(sizeLimit).as("%s: /work sizeLimit", overlay).matches("\\d+Gi");
        assertThat(Long.parseLong(sizeLimit.replace("Gi", "")) << 30).as("%s: /work sizeLimit against difusor.source.max-package-bytes", overlay)
                .isGreaterThanOrEqualTo(5 * maxPackage);
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void podDisruptionBudgetKeepsOnePod(String overlay) {
        Rendered r = rendered.get(overlay);
        Map<String, Object> pdb = r.one("PodDisruptionBudget");
        assertThat(at(pdb, "spec", "minAvailable")).as("%s: PDB minAvailable", overlay).isEqualTo(1);
        assertThat(at(pdb, "spec", "maxUnavailable")).as("%s: PDB maxUnavailable", overlay).isNull();
        assertThat(r.selectsPods(at(pdb, "spec", "selector", "matchLabels"))).as("%s: PDB selects the pods", overlay)
                .isTrue();
        // both pods not ready (S3 down for both): no eviction, or the packages kept on their emptyDirs are lost
        assertThat(at(pdb, "spec", "unhealthyPodEvictionPolicy")).as("%s: PDB unhealthy pods", overlay).isIn(null, "IfHealthyBudget");
        // nor does an autoscaler take a pod to pack nodes
        assertThat(map(at(r.deployment(), "spec", "template", "metadata", "annotations"))).as("%s: pod annotations", overlay)
                .containsEntry("cluster-autoscaler.kubernetes.io/safe-to-evict", "false").containsEntry("karpenter.sh/do-not-disrupt", "true");
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void networkPolicyLetsInMonitoringOnlyAndOutDnsAndHttpsOnly(String overlay) {
        Rendered r = rendered.get(overlay);
        Map<String, Object> policy = r.one("NetworkPolicy");
        assertThat(r.selectsPods(at(policy, "spec", "podSelector", "matchLabels")))
                .as("%s: NetworkPolicy selects the pods", overlay).isTrue();
        assertThat(list(at(policy, "spec", "policyTypes"))).as("%s: policyTypes", overlay)
                .containsExactlyInAnyOrder("Ingress", "Egress");

        List<Object> ingress = list(at(policy, "spec", "ingress"));
        assertThat(ingress).as("%s: ingress rules", overlay).hasSize(1);
        assertThat(ports(ingress.get(0))).as("%s: ingress ports", overlay).containsExactly("TCP/" + MANAGEMENT_PORT);
        assertThat(list(at(ingress.get(0), "from"))).as("%s: ingress only from the monitoring namespace", overlay)
                .containsExactly(Map.of("namespaceSelector",
                        Map.of("matchLabels", Map.of("kubernetes.io/metadata.name", "monitoring"))));

        Set<String> egressPorts = new TreeSet<>();
        for (Object rule : list(at(policy, "spec", "egress"))) {
            List<String> rulePorts = ports(rule);
            assertThat(rulePorts).as("%s: every egress rule names its ports (none = every port)", overlay).isNotEmpty();
            assertThat(list(at(rule, "to"))).as("%s: every egress rule names its peers", overlay).isNotEmpty();
            if (rulePorts.stream().anyMatch(p -> p.endsWith("/53"))) {
                assertThat(rulePorts).as("%s: the DNS rule", overlay).containsExactlyInAnyOrder("UDP/53", "TCP/53");
                assertThat(list(at(rule, "to"))).as("%s: DNS only to the cluster DNS", overlay).containsExactly(
                        Map.of("namespaceSelector", Map.of("matchLabels", Map.of("kubernetes.io/metadata.name", "kube-system")),
                                "podSelector", Map.of("matchLabels", Map.of("k8s-app", "kube-dns"))));
            } else {
                assertThat(rulePorts).as("%s: the HTTPS rule", overlay).containsExactly("TCP/443");
            }
            egressPorts.addAll(rulePorts);
        }
        assertThat(egressPorts).as("%s: egress ports", overlay).containsExactly("TCP/443", "TCP/53", "UDP/53");
    }

    // ------------------------------------------------------------------------------------------------ observability

    @ParameterizedTest
    @MethodSource("overlays")
    void jolokiaPortForHawtioAndMetricsForPrometheus(String overlay) {
        Rendered r = rendered.get(overlay);
        List<Object> ports = list(at(r.container(), "ports"));
        assertThat(ports).as("%s: container ports", overlay).hasSize(1);
        assertThat(at(ports.get(0), "name")).as("%s: port name", overlay).isEqualTo("jolokia");
        assertThat(at(ports.get(0), "containerPort")).as("%s: jolokia port", overlay).isEqualTo(MANAGEMENT_PORT);
        assertThat(at(ports.get(0), "protocol")).as("%s: jolokia protocol", overlay).isIn(null, "TCP");

        Map<String, Object> annotations = map(at(r.deployment(), "spec", "template", "metadata", "annotations"));
        assertThat(annotations).as("%s: pod annotations", overlay)
                .containsEntry("hawt.io/protocol", "http")
                .containsEntry("hawt.io/jolokiaPath", "/observe/jolokia/")
                .containsEntry("prometheus.io/scrape", "true")
                .containsEntry("prometheus.io/port", String.valueOf(MANAGEMENT_PORT))
                .containsEntry("prometheus.io/path", "/observe/metrics");

        Map<String, Object> service = r.one("Service");
        assertThat(r.selectsPods(at(service, "spec", "selector"))).as("%s: Service selects the pods", overlay).isTrue();
        List<Object> servicePorts = list(at(service, "spec", "ports"));
        assertThat(servicePorts).as("%s: Service ports", overlay).hasSize(1);
        assertThat(at(servicePorts.get(0), "name")).as("%s: Service port name", overlay).isEqualTo("jolokia");
        assertThat(at(servicePorts.get(0), "port")).as("%s: Service port", overlay).isEqualTo(MANAGEMENT_PORT);
        assertThat(r.containerPort(at(servicePorts.get(0), "targetPort"))).as("%s: Service targetPort", overlay)
                .isEqualTo(MANAGEMENT_PORT);
        assertThat(at(service, "spec", "type")).as("%s: Service type", overlay).isIn(null, "ClusterIP");
    }

    // ----------------------------------------------------------------------------------------------------- overlays

    @ParameterizedTest
    @MethodSource("overlays")
    void overlayHasItsOwnNamespaceEverywhere(String overlay) {
        Rendered r = rendered.get(overlay);
        assertThat(r.namespace()).as("%s: namespace", overlay).isEqualTo("prep-" + overlay);
        assertThat(name(r.one("Namespace"))).as("%s: the Namespace object", overlay).isEqualTo(r.namespace());
        for (Map<String, Object> doc : r.docs) {
            if (!"Namespace".equals(doc.get("kind"))) {
                assertThat(at(doc, "metadata", "namespace")).as("%s: namespace of %s %s", overlay, doc.get("kind"),
                        name(doc)).isEqualTo(r.namespace());
            }
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void overlaySetsValidSourceBucketsAndDistributions(String overlay) throws IOException {
        Map<String, Object> env = rendered.get(overlay).env();
        // a URL the institute gave with a token in it comes from the Secret, as the overlay's comment says; else https
        if (at(env.get("DIFUSOR_SOURCE_MANIFEST_URL"), "valueFrom") == null) {
            assertThat(literal(env, "DIFUSOR_SOURCE_MANIFEST_URL")).as("%s: manifest URL", overlay).matches("https://[^\\s]+");
        } else {
            assertThat(at(env.get("DIFUSOR_SOURCE_MANIFEST_URL"), "valueFrom", "secretKeyRef", "name"))
                    .as("%s: manifest URL from the Secret", overlay).isEqualTo("prep-difusor-secrets");
        }
        assertThat(literal(env, "DIFUSOR_SOURCE_POLL_CRON").trim().split("\\s+"))
                .as("%s: poll cron (Quartz: seconds first, 6 or 7 fields)", overlay).hasSizeBetween(6, 7);
        String site = literal(env, "DIFUSOR_SITE_BUCKET");
        String history = literal(env, "DIFUSOR_HISTORY_BUCKET");
        for (String bucket : List.of(site, history)) {
            assertThat(bucket).as("%s: S3 bucket name", overlay).matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
        }
        assertThat(site).as("%s: the site and the history live in different buckets", overlay).isNotEqualTo(history);
        // the buckets' region is a decision, not the default: signed for another one, every S3 call answers 301
        assertThat(literal(env, "DIFUSOR_S3_REGION")).as("%s: the buckets' region", overlay).matches("[a-z]{2}(-gov)?-[a-z]+-[0-9]");
        assertThat(literal(env, "DIFUSOR_CDN_DISTRIBUTION_IDS")).as("%s: CloudFront distribution ids", overlay)
                .matches("[A-Z0-9]{8,}(,[A-Z0-9]{8,})*");
        // a dry run publishes nothing and takes no part in the election: never the deployment's setting (a person runs
        // it by hand, beside the replicas); the ConfigMap holds the repo's file byte for byte (checked above)
        assertThat(env).as("%s: DIFUSOR_PUBLISH_DRY_RUN", overlay).doesNotContainKey("DIFUSOR_PUBLISH_DRY_RUN");
        Properties repo = new Properties();
        try (var in = Files.newBufferedReader(REPO.resolve("application.properties"), StandardCharsets.UTF_8)) {
            repo.load(in);
        }
        assertThat(repo.getProperty("difusor.publish.dry-run")).as("application.properties: difusor.publish.dry-run").isEqualTo("false");
    }

    @Test
    void overlaysDifferInCadenceBucketsDistributionsNamespaceAndRole() {
        Rendered simulacro = rendered.get("simulacro");
        Rendered jornada = rendered.get("jornada");
        for (String var : OVERLAY_ENV) {
            assertThat(literal(jornada.env(), var)).as("%s: jornada vs simulacro", var)
                    .isNotEqualTo(literal(simulacro.env(), var));
        }
        // the manifest: as literals they differ; as Secrets, each namespace holds its own
        if (at(jornada.env().get("DIFUSOR_SOURCE_MANIFEST_URL"), "value") instanceof String j
                && at(simulacro.env().get("DIFUSOR_SOURCE_MANIFEST_URL"), "value") instanceof String sim) {
            assertThat(j).as("DIFUSOR_SOURCE_MANIFEST_URL: jornada vs simulacro").isNotEqualTo(sim);
        }
        // the institute checks one address in the simulacros and on the night (the call, V.b): a jornada probing another
        // one measured a site the institute never looks at, for the status page and the memoria técnica
        assertThat(literal(jornada.env(), "DIFUSOR_PROBE_URL")).as("DIFUSOR_PROBE_URL: jornada vs simulacro").startsWith("https://")
                .isEqualTo(literal(simulacro.env(), "DIFUSOR_PROBE_URL"));
        assertThat(jornada.namespace()).as("namespace: jornada vs simulacro").isNotEqualTo(simulacro.namespace());
        assertThat(at(jornada.serviceAccount(), "metadata", "annotations", IRSA))
                .as("IRSA role: jornada vs simulacro")
                .isNotEqualTo(at(simulacro.serviceAccount(), "metadata", "annotations", IRSA));
    }

    // ------------------------------------------------------------------------------------------------------- image

    @Test
    void containerfileRunsTheJarAsTheDeploymentsNonRootUser() throws IOException {
        Path containerfile = REPO.resolve("Containerfile");
        assertThat(containerfile).as("Containerfile at the repo root").exists();
        // instructions, continuation lines joined, comments dropped
        List<String> instructions = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : Files.readAllLines(containerfile, StandardCharsets.UTF_8)) {
            if (line.isBlank() || line.stripLeading().startsWith("#")) {
                continue;
            }
            current.append(line.strip());
            if (line.endsWith("\\")) {
                current.setLength(current.length() - 1);
            } else {
                instructions.add(current.toString());
                current.setLength(0);
            }
        }
        assertThat(instructions).as("FROM").anyMatch(i -> i.matches("FROM\\s+\\S*(temurin|jre|openjdk)\\S*17\\S*.*")
                || i.matches("FROM\\s+\\S+:17\\S*.*"));
        assertThat(instructions).as("the shaded jar is copied").anyMatch(i -> i.matches("COPY\\s.*target/prep-difusor\\.jar\\s.*"));
        assertThat(instructions).as("WORKDIR").contains("WORKDIR /deployments");
        assertThat(instructions).as("EXPOSE").anyMatch(i -> i.matches("EXPOSE\\s+" + MANAGEMENT_PORT + "(/tcp)?"));
        String user = instructions.stream().filter(i -> i.startsWith("USER ")).reduce((a, b) -> b)
                .orElseGet(() -> fail("no USER in the Containerfile")).substring(5).trim();
        assertThat(user).as("USER is numeric (runAsNonRoot can check it)").matches("\\d+(:\\d+)?");
        assertThat(Integer.parseInt(user.split(":")[0])).as("USER uid")
                .isPositive()
                .isEqualTo(effective(map(at(rendered.get("jornada").container(), "securityContext")),
                        map(at(rendered.get("jornada").podSpec(), "securityContext")), "runAsUser"));
        assertThat(instructions).as("ENTRYPOINT: java -jar with a heap sized from the container")
                .anyMatch(i -> i.startsWith("ENTRYPOINT") && i.contains("MaxRAMPercentage") && i.contains("-jar"));
        // the benchmark measures the JVM the image runs: its default flags are the ENTRYPOINT's
        String entrypoint = instructions.stream().filter(i -> i.startsWith("ENTRYPOINT")).findFirst().orElseThrow();
        java.util.regex.Matcher benchFlags = java.util.regex.Pattern.compile("DIFUSOR_JVM_FLAGS=\\$\\{DIFUSOR_JVM_FLAGS:-([^}]*)}")
                .matcher(java.nio.file.Files.readString(java.nio.file.Path.of("bench/run.sh")));
        assertThat(benchFlags.find()).as("bench/run.sh names its default JVM flags").isTrue();
        for (String flag : benchFlags.group(1).trim().split("\\s+")) {
            assertThat(entrypoint).as("bench flag " + flag + " in the image's ENTRYPOINT").contains("\"" + flag + "\"");
        }
    }

    @Test
    void theImagesJvmFlagsStartAJvmWhoseOldGenerationHoldsAFourTimesSite() throws Exception {
        // the ENTRYPOINT's -XX flags, as the image passes them, at the benchmark's -Xmx256m: a typo would stop the pod
        // at start, and a collector whose old generation is a fixed share of the heap must leave it room for the live
        // set of a site four times the FULL package (manifest, file list, central directory: about 180-195 MB after a
        // young collection; BENCHMARKS.md, step 19)
        String entrypoint = Files.readString(REPO.resolve("Containerfile")).lines()
                .dropWhile(l -> !l.startsWith("ENTRYPOINT")).takeWhile(l -> !l.contains("-jar"))
                .reduce("", String::concat);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        java.util.regex.Matcher flag = Pattern.compile("\"(-XX:[^\"]+)\"").matcher(entrypoint);
        while (flag.find()) {
            command.add(flag.group(1));
        }
        assertThat(command).as("the ENTRYPOINT's -XX flags").hasSizeGreaterThan(2);
        command.addAll(List.of("-Xmx256m", "-XX:+PrintFlagsFinal", "-version"));
        Process jvm = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(jvm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(jvm.waitFor()).as(out).isZero();
        java.util.function.Function<String, String> value = name -> out.lines()
                .map(String::trim).filter(l -> l.matches("\\S+\\s+" + name + "\\s+=.*"))
                .map(l -> l.split("\\s+")[3]).findFirst().orElseThrow(() -> new AssertionError(name + " not in " + out));
        boolean fixedOldGeneration = Boolean.parseBoolean(value.apply("UseParallelGC")) || Boolean.parseBoolean(value.apply("UseSerialGC"));
        if (fixedOldGeneration) {
            long oldGeneration = Long.parseLong(value.apply("MaxHeapSize")) - Long.parseLong(value.apply("MaxNewSize"));
            assertThat(oldGeneration).as("old generation of -Xmx256m, bytes").isGreaterThanOrEqualTo(205L << 20);
        } else {
            assertThat(Boolean.parseBoolean(value.apply("UseG1GC")) || Boolean.parseBoolean(value.apply("UseZGC")))
                    .as("a collector the benchmark measured, named in the ENTRYPOINT").isTrue();
        }
    }

    // ---------------------------------------------------------------------------------------------------- rendering

    /** One overlay, rendered and parsed. */
    private record Rendered(String overlay, String yaml, List<Map<String, Object>> docs, Duration took) {

        static Rendered of(String overlay) throws IOException, InterruptedException {
            String kubectl = System.getProperty("kubectl", "kubectl");
            Path dir = REPO.resolve("k8s/overlays").resolve(overlay);
            assertThat(dir.resolve("kustomization.yaml")).as("overlay %s", overlay).exists();
            Path stderr = Files.createTempFile("kustomize-" + overlay, ".err");
            long start = System.nanoTime();
            Process process;
            try {
                process = new ProcessBuilder(kubectl, "kustomize", dir.toString())
                        .redirectError(stderr.toFile()).start();
            } catch (IOException e) {
                throw new AssertionError("kubectl not found (" + kubectl + "): the Kubernetes manifests are rendered "
                        + "with `kubectl kustomize` (kustomize v4 or newer). Install kubectl on the PATH or "
                        + "pass -Dkubectl=/path/to/kubectl", e);
            }
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                fail("kubectl kustomize %s took more than 60 s", dir);
            }
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            String err = Files.readString(stderr);
            Files.deleteIfExists(stderr);
            if (process.exitValue() != 0) {
                fail("kubectl kustomize %s failed (exit %d):%n%s", dir, process.exitValue(), err);
            }
            List<Map<String, Object>> docs = new ArrayList<>();
            for (Object doc : new Load(LoadSettings.builder().build()).loadAllFromString(out)) {
                if (doc != null) {
                    docs.add(map(doc));
                }
            }
            assertThat(docs).as("objects rendered from %s", dir).isNotEmpty();
            return new Rendered(overlay, out, docs, took);
        }

        List<Map<String, Object>> all(String kind) {
            return docs.stream().filter(d -> kind.equals(d.get("kind"))).toList();
        }

        Map<String, Object> one(String kind) {
            List<Map<String, Object>> found = all(kind);
            assertThat(found).as("%s: %s objects", overlay, kind).hasSize(1);
            return found.get(0);
        }

        List<String> kinds() {
            return docs.stream().map(d -> text(d.get("kind"))).toList();
        }

        String namespace() {
            return text(at(deployment(), "metadata", "namespace"));
        }

        Map<String, Object> deployment() {
            return one("Deployment");
        }

        Map<String, Object> serviceAccount() {
            return one("ServiceAccount");
        }

        Map<String, Object> podSpec() {
            return map(at(deployment(), "spec", "template", "spec"));
        }

        List<Object> allContainers() {
            List<Object> all = new ArrayList<>(list(at(podSpec(), "containers")));
            all.addAll(list(at(podSpec(), "initContainers")));
            return all;
        }

        Map<String, Object> container() {
            List<Object> named = list(at(podSpec(), "containers")).stream()
                    .filter(c -> CONTAINER.equals(at(c, "name"))).toList();
            assertThat(named).as("%s: container %s", overlay, CONTAINER).hasSize(1);
            return map(named.get(0));
        }

        /** The container's env by name (a name set twice fails). */
        Map<String, Object> env() {
            Map<String, Object> env = new LinkedHashMap<>();
            for (Object var : list(at(container(), "env"))) {
                Object previous = env.put(text(at(var, "name")), var);
                assertThat(previous).as("%s: env %s set once", overlay, at(var, "name")).isNull();
            }
            return env;
        }

        Map<String, Object> mount(String mountPath) {
            List<Object> found = list(at(container(), "volumeMounts")).stream()
                    .filter(m -> mountPath.equals(at(m, "mountPath"))).toList();
            assertThat(found).as("%s: volume mounted at %s", overlay, mountPath).hasSize(1);
            return map(found.get(0));
        }

        Map<String, Object> volume(String name) {
            List<Object> found = list(at(podSpec(), "volumes")).stream().filter(v -> name.equals(at(v, "name"))).toList();
            assertThat(found).as("%s: volume %s", overlay, name).hasSize(1);
            return map(found.get(0));
        }

        Map<String, Object> configMapMountedBy(Map<String, Object> mount) {
            Object configMapName = at(volume(text(at(mount, "name"))), "configMap", "name");
            assertThat(configMapName).as("%s: %s comes from a ConfigMap", overlay, at(mount, "mountPath")).isNotNull();
            List<Map<String, Object>> found = all("ConfigMap").stream().filter(c -> configMapName.equals(name(c))).toList();
            assertThat(found).as("%s: ConfigMap %s rendered", overlay, configMapName).hasSize(1);
            return found.get(0);
        }

        /** A container port given by number or by name, as its number (null: no such port). */
        Integer containerPort(Object port) {
            if (port instanceof Integer number) {
                return list(at(container(), "ports")).stream().anyMatch(p -> number.equals(at(p, "containerPort")))
                        ? number : null;
            }
            return list(at(container(), "ports")).stream().filter(p -> Objects.equals(port, at(p, "name")))
                    .map(p -> (Integer) at(p, "containerPort")).findFirst().orElse(null);
        }

        /** A non-empty label selector that the Deployment's pod labels satisfy. */
        boolean selectsPods(Object matchLabels) {
            Map<String, Object> selector = map(matchLabels);
            Map<String, Object> podLabels = map(at(deployment(), "spec", "template", "metadata", "labels"));
            return !selector.isEmpty() && podLabels.entrySet().containsAll(selector.entrySet());
        }
    }

    // ------------------------------------------------------------------------------------------------------ helpers

    private static Object at(Object node, String... path) {
        Object current = node;
        for (String key : path) {
            if (!(current instanceof Map<?, ?> m)) {
                return null;
            }
            current = m.get(key);
        }
        return current;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object node) {
        return node == null ? Map.of() : (Map<String, Object>) node;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object node) {
        return node == null ? List.of() : (List<Object>) node;
    }

    private static String text(Object node) {
        return node == null ? null : String.valueOf(node);
    }

    private static String name(Map<String, Object> object) {
        return text(at(object, "metadata", "name"));
    }

    private static int intOr(Object value, int otherwise) {
        return value == null ? otherwise : ((Number) value).intValue();
    }

    private static byte[] bytes(Object value) {
        assertThat(value).as("ConfigMap value").isInstanceOf(String.class);
        return ((String) value).getBytes(StandardCharsets.UTF_8);
    }

    /** A container securityContext field, else the pod's. */
    private static Object effective(Map<String, Object> container, Map<String, Object> pod, String field) {
        return container.containsKey(field) ? container.get(field) : pod.get(field);
    }

    /** A literal env value (not valueFrom). */
    private static String literal(Map<String, Object> env, String name) {
        assertThat(env).as("env %s", name).containsKey(name);
        Object value = at(env.get(name), "value");
        assertThat(value).as("env %s has a literal value", name).isInstanceOf(String.class);
        assertThat((String) value).as("env %s", name).isNotBlank();
        return (String) value;
    }

    /** A NetworkPolicy rule's ports as PROTOCOL/port. */
    private static List<String> ports(Object rule) {
        List<String> ports = new ArrayList<>();
        for (Object port : list(at(rule, "ports"))) {
            assertThat(at(port, "endPort")).as("no port ranges").isNull();
            ports.add(Objects.requireNonNullElse(text(at(port, "protocol")), "TCP") + "/" + text(at(port, "port")));
        }
        return ports;
    }

    private static Properties load(String content) {
        Properties props = new Properties();
        try {
            props.load(new StringReader(content));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return props;
    }
}
