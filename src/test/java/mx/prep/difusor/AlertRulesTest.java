package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import mx.prep.difusor.testing.ExternalTool;

/**
 * The alert rules in k8s/components/alerts: valid for Prometheus and doing what their unit tests say (promtool, from
 * Debian's prometheus package), watching only metrics a real prep-difusor serves, with the labels they match on and
 * counters there at 0 from the start (else the first quarantine of a reason would raise no alert), and a component
 * an overlay can take in.
 */
class AlertRulesTest extends PipelineTestBase {

    private static final Path ALERTS = Path.of("k8s/components/alerts").toAbsolutePath();
    private static final Pattern WATCHED = Pattern.compile("\\b(difusor_[a-z_]+)(\\{([^}]*)\\})?");
    private static final Pattern MATCHER = Pattern.compile("(\\w+)=\"([^\"]*)\"");

    private static final ObjectMapper JSON = new ObjectMapper();

    private static Load yaml() {
        return new Load(LoadSettings.builder().build());
    }

    private static JsonNode rule() throws Exception {
        return JSON.valueToTree(yaml().loadFromString(Files.readString(ALERTS.resolve("prometheusrule.yaml"))));
    }

    private static List<String> expressions() throws Exception {
        List<String> out = new ArrayList<>();
        rule().path("spec").path("groups").forEach(g -> g.path("rules").forEach(r -> out.add(r.path("expr").asText())));
        return out;
    }

    private static String run(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command) + ":\n" + out).isZero();
        return out;
    }

    @Test
    void theRulesAreValidAndPassTheirUnitTests() throws Exception {
        ExternalTool.require("promtool");
        JsonNode rule = rule();
        assertThat(rule.path("apiVersion").asText()).isEqualTo("monitoring.coreos.com/v1");
        assertThat(rule.path("kind").asText()).isEqualTo("PrometheusRule");
        // spec is a Prometheus rule file as it is (JSON is YAML)
        Path dir = Files.createDirectories(tmp.resolve("rules"));
        JSON.writeValue(dir.resolve("rules.yaml").toFile(), rule.path("spec"));
        Files.copy(ALERTS.resolve("rules-test.yaml"), dir.resolve("rules-test.yaml"));

        assertThat(run(dir, "promtool", "check", "rules", "rules.yaml")).contains("SUCCESS: 15 rules found");
        assertThat(run(dir, "promtool", "test", "rules", "rules-test.yaml")).contains("SUCCESS");
    }

    @Test
    void everyMetricTheRulesWatchIsServedWithTheirLabelsAndCountersStartAtZero() throws Exception {
        var settings = settings();
        // the probe's gauges exist where a public URL is probed; this one is never reached (no probe runs)
        settings.put("difusor.probe.url", "https://127.0.0.1:9/");
        settings.put("difusor.probe.cron", "0 0 0 1 1 ? 2099");
        startDifusor(settings);
        HttpResponse<String> scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + settings.get("camel.management.port") + "/observe/metrics"))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(scrape.statusCode()).isEqualTo(200);
        // name{labels} value, as served before any package came
        List<String> samples = scrape.body().lines().filter(l -> !l.startsWith("#") && !l.isBlank()).toList();

        TreeSet<String> watched = new TreeSet<>();
        for (String expr : expressions()) {
            Matcher m = WATCHED.matcher(expr);
            while (m.find()) {
                String name = m.group(1);
                watched.add(name);
                Matcher matchers = MATCHER.matcher(m.group(3) == null ? "" : m.group(3));
                List<String> labels = new ArrayList<>();
                while (matchers.find()) {
                    labels.add(matchers.group(1) + "=\"" + matchers.group(2) + "\"");
                }
                assertThat(samples).as("%s%s in the scrape", name, labels)
                        .anyMatch(s -> s.matches(Pattern.quote(name) + "(\\{.*)?\\s.*") && labels.stream().allMatch(s::contains));
            }
        }
        assertThat(watched).contains("difusor_packages_rejected_total", "difusor_publication_lag_seconds", "difusor_probe_up",
                "difusor_leader", "difusor_source_polls_total");
        // without leader election this process leads
        assertThat(samples).contains("difusor_leader 1.0");

        for (RejectReason reason : RejectReason.values()) {
            assertThat(samples).as("the %s counter at 0 before any package", reason)
                    .anyMatch(s -> s.startsWith("difusor_packages_rejected_total{") && s.contains("reason=\"" + reason + "\"")
                            && Double.parseDouble(s.substring(s.lastIndexOf(' ') + 1)) == 0);
        }
        for (String counter : List.of("difusor_site_checks_total{outcome=\"differs\"", "difusor_site_checks_total{outcome=\"failed\"",
                "difusor_site_deletions_refused_total", "difusor_invalidations_refused_total",
                "difusor_source_polls_total{outcome=\"failed\"")) {
            assertThat(samples).as("%s at 0 before anything happened", counter)
                    .anyMatch(s -> s.startsWith(counter) && Double.parseDouble(s.substring(s.lastIndexOf(' ') + 1)) == 0);
        }
    }

    /** Each alert's runbook link lands on a heading of docs/runbook.md (GitHub's anchors), not on the top of the page. */
    @Test
    void everyRunbookLinkNamesASectionOfTheRunbook() throws Exception {
        java.util.Set<String> anchors = new TreeSet<>();
        for (String line : Files.readAllLines(Path.of("docs/runbook.md"))) {
            if (line.startsWith("#")) {
                anchors.add(line.replaceFirst("^#+\\s*", "").toLowerCase(java.util.Locale.ROOT).replaceAll("[^\\p{L}\\p{N}_ -]", "")
                        .replace(' ', '-'));
            }
        }
        Matcher links = Pattern.compile("runbook: docs/runbook\\.md#(\\S+)").matcher(Files.readString(ALERTS.resolve("prometheusrule.yaml")));
        List<String> linked = new ArrayList<>();
        while (links.find()) {
            linked.add(links.group(1));
        }
        assertThat(linked).hasSizeGreaterThanOrEqualTo(13).allSatisfy(a -> assertThat(anchors).contains(a));
    }

    /**
     * An overlay opts in with {@code components: [../../components/alerts]} (the PrometheusRule CRD exists only where
     * the Prometheus Operator runs), and the rules get its namespace. Tried on a copy of k8s/ in target/.
     */
    @Test
    void anOverlayTakesTheRulesInAsAComponent() throws Exception {
        ExternalTool.require("kubectl");
        Path k8s = tmp.resolve("k8s");
        Path source = Path.of("k8s").toAbsolutePath();
        try (var files = Files.walk(source)) {
            for (Path from : (Iterable<Path>) files::iterator) {
                Path to = k8s.resolve(source.relativize(from).toString());
                if (Files.isDirectory(from)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(from, to);
                }
            }
        }
        Path overlay = k8s.resolve("overlays/jornada");
        Files.writeString(overlay.resolve("kustomization.yaml"), "\ncomponents:\n  - ../../components/alerts\n",
                java.nio.file.StandardOpenOption.APPEND);
        String rendered = run(overlay, "kubectl", "kustomize", ".");
        List<JsonNode> rules = new ArrayList<>();
        List<JsonNode> monitors = new ArrayList<>();
        JsonNode deployment = null;
        for (Object doc : yaml().loadAllFromString(rendered)) {
            JsonNode node = JSON.valueToTree(doc);
            switch (node.path("kind").asText()) {
                case "PrometheusRule" -> rules.add(node);
                case "PodMonitor" -> monitors.add(node);
                case "Deployment" -> deployment = node;
                default -> { }
            }
        }
        assertThat(rules).hasSize(1);
        assertThat(rules.get(0).path("metadata").path("name").asText()).isEqualTo("prep-difusor");
        assertThat(rules.get(0).path("metadata").path("namespace").asText()).isEqualTo("prep-jornada");
        // the same rules as the file the unit tests ran on
        assertThat(rules.get(0).path("spec")).isEqualTo(rule().path("spec"));

        // and the operator scrapes what they watch (it ignores the annotations): the difusor's pods, on the port and
        // path the annotations name
        assertThat(monitors).hasSize(1);
        JsonNode monitor = monitors.get(0);
        assertThat(monitor.path("metadata").path("namespace").asText()).isEqualTo("prep-jornada");
        JsonNode pod = deployment.path("spec").path("template");
        monitor.path("spec").path("selector").path("matchLabels").fields().forEachRemaining(label ->
                assertThat(pod.path("metadata").path("labels").path(label.getKey()).asText()).as(label.getKey()).isEqualTo(label.getValue().asText()));
        assertThat(monitor.path("spec").path("selector").path("matchLabels").size()).isPositive();
        JsonNode endpoint = monitor.path("spec").path("podMetricsEndpoints").get(0);
        JsonNode annotations = pod.path("metadata").path("annotations");
        assertThat(endpoint.path("path").asText()).isEqualTo(annotations.path("prometheus.io/path").asText());
        List<String> portsOfThatNumber = new ArrayList<>();
        pod.path("spec").path("containers").forEach(c -> c.path("ports").forEach(p -> {
            if (p.path("containerPort").asText().equals(annotations.path("prometheus.io/port").asText())) {
                portsOfThatNumber.add(p.path("name").asText());
            }
        }));
        assertThat(portsOfThatNumber).containsExactly(endpoint.path("port").asText());
    }
}
