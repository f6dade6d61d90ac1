package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.Test;

/**
 * Jolokia for Hawtio on the management port, seen from a plain Jolokia client (the JSON protocol over HTTP POST, as
 * Hawtio speaks it): the Camel route MBeans count the published and the refused packages; no request gets through
 * without the user and its password; the access policy lets Hawtio's Camel plugin read and draw the routes and
 * refuses anything that writes, stops or diagnoses.
 */
class JolokiaTest extends PipelineTestBase {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String USER = "hawtio";
    private static final String ROUTES = "org.apache.camel:context=prep-difusor,type=routes,";
    private static final String PIPELINE = ROUTES + "name=\"pipeline\"";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String password = "jk-" + UUID.randomUUID();
    private int managementPort;

    private Map<String, String> jolokiaSettings(String jolokiaPassword) {
        Map<String, String> settings = settings();
        managementPort = Integer.parseInt(settings.get("camel.management.port"));
        settings.put("difusor.jolokia.password", jolokiaPassword);
        // a refused package is not offered again within a test: the routes' counters are read as exact figures
        settings.put("difusor.retry.failed-package-pause-ms", "60000");
        return settings;
    }

    private URI jolokia() {
        return URI.create("http://127.0.0.1:" + managementPort + "/observe/jolokia/");
    }

    private HttpResponse<String> post(String user, String pass, Object body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(jolokia()).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        if (user != null) {
            request.header("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":" + pass).getBytes(StandardCharsets.UTF_8)));
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** One Jolokia request as the right user: the JSON answer (its own "status" says whether the policy allowed it). */
    private JsonNode jolokia(Object request) throws Exception {
        HttpResponse<String> response = post(USER, password, request);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(response.body()).as("no answer may carry the Jolokia password").doesNotContain(password);
        return JSON.readTree(response.body());
    }

    private static ObjectNode request(String type, String mbean) {
        ObjectNode r = JSON.createObjectNode().put("type", type);
        return mbean == null ? r : r.put("mbean", mbean);
    }

    private static ObjectNode exec(String mbean, String operation, Object... arguments) {
        ObjectNode r = request("exec", mbean).put("operation", operation);
        ArrayNode args = r.putArray("arguments");
        for (Object a : arguments) {
            args.addPOJO(a);
        }
        return r;
    }

    private JsonNode pipelineCounters() throws Exception {
        ObjectNode read = request("read", PIPELINE);
        read.putArray("attribute").add("ExchangesTotal").add("ExchangesCompleted").add("ExchangesFailed").add("FailuresHandled").add("State");
        JsonNode answer = jolokia(read);
        assertThat(answer.path("status").asInt()).as(answer.toString()).isEqualTo(200);
        return answer.path("value");
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aJolokiaClientSeesTheRoutesCountThePublishedAndTheRefusedPackages() throws Exception {
        startDifusor(jolokiaSettings(password));
        Path first = corte(1);
        institute.release(first);
        awaitPublished(first);

        // what Hawtio's Camel plugin reads first: the agent, the routes under the context, their counters
        JsonNode version = jolokia(request("version", null));
        assertThat(version.path("value").path("protocol").asText()).isNotEmpty();
        JsonNode routes = jolokia(request("search", ROUTES + "*"));
        assertThat(routes.path("value").toString()).contains("name=\\\"pipeline\\\"").contains("name=\\\"download\\\"");

        // the state in S3 is written by the exchange itself, a moment before the route counts it as completed
        await().atMost(Duration.ofSeconds(10)).until(() -> pipelineCounters().path("ExchangesTotal").asLong() == 1);
        JsonNode counters = pipelineCounters();
        assertThat(counters.path("State").asText()).isEqualTo("Started");
        assertThat(counters.path("ExchangesCompleted").asLong()).isEqualTo(1);
        assertThat(counters.path("ExchangesTotal").asLong()).isEqualTo(1);
        assertThat(counters.path("ExchangesFailed").asLong()).isZero();

        // a package with a wrong checksum: refused, quarantined; the route counts it as a failure the dead-letter
        // channel handled
        Path bad = Files.copy(corte(2), tmp.resolve("PREP2024_JAL_20240602_2040.zip"));
        institute.release(bad, "0".repeat(64), Files.size(bad));
        await().atMost(Duration.ofSeconds(30)).until(() -> !keys(HISTORY, "quarantine/PREP2024_JAL_20240602_2040/").isEmpty());
        await().atMost(Duration.ofSeconds(10)).until(() -> pipelineCounters().path("ExchangesTotal").asLong() == 2);
        counters = pipelineCounters();
        System.out.println("JOLOKIA pipeline route after one good and one refused package: " + counters);
        assertThat(counters.path("ExchangesCompleted").asLong() + counters.path("ExchangesFailed").asLong()).isEqualTo(2);
        assertThat(counters.path("FailuresHandled").asLong() + counters.path("ExchangesFailed").asLong()).isEqualTo(1);

        // the GET form the README shows
        HttpResponse<String> viaGet = http.send(HttpRequest.newBuilder(URI.create(jolokia()
                + "read/org.apache.camel:context=prep-difusor,type=routes,name=%22pipeline%22/ExchangesCompleted"))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString((USER + ":" + password).getBytes(StandardCharsets.UTF_8)))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(JSON.readTree(viaGet.body()).path("value").asLong()).as(viaGet.body()).isEqualTo(2);
        JsonNode quarantine = jolokia(request("read", ROUTES + "name=\"quarantine\"").put("attribute", "ExchangesTotal"));
        assertThat(quarantine.path("value").asLong()).as(quarantine.toString()).isEqualTo(1);

        // Hawtio's route diagram and source: the definitions and the statistics, allowed by the policy
        String contextMBean = jolokia(request("search", "org.apache.camel:context=prep-difusor,type=context,*")).path("value").get(0).asText();
        JsonNode xml = jolokia(exec(contextMBean, "dumpRoutesAsXml()"));
        assertThat(xml.path("status").asInt()).as(xml.toString()).isEqualTo(200);
        assertThat(xml.path("value").asText()).contains("id=\"pipeline\"");
        JsonNode stats = jolokia(exec(contextMBean, "dumpRoutesStatsAsXml(boolean,boolean)", true, true));
        assertThat(stats.path("status").asInt()).as(stats.toString()).isEqualTo(200);
        assertThat(stats.path("value").asText()).contains("id=\"pipeline\"").contains("exchangesCompleted=");
        JsonNode resolved = jolokia(exec(contextMBean, "dumpRoutesAsXml(boolean,boolean)", true, true));
        assertThat(resolved.path("status").asInt()).as(resolved.toString()).isEqualTo(200);
        JsonNode routeStats = jolokia(exec(PIPELINE, "dumpRouteStatsAsXml(boolean,boolean)", true, true));
        assertThat(routeStats.path("status").asInt()).as(routeStats.toString()).isEqualTo(200);
        JsonNode inflight = jolokia(exec("org.apache.camel:context=prep-difusor,type=services,name=DefaultInflightRepository", "browse()"));
        assertThat(inflight.path("status").asInt()).as(inflight.toString()).isEqualTo(200);

        // everything readable, read at once (as Hawtio's JMX tree may): the password appears nowhere (checked in jolokia())
        for (String pattern : new String[] { "org.apache.camel:*", "java.lang:*", "JMImplementation:*", "com.sun.management:*" }) {
            ObjectNode all = request("read", pattern);
            all.putObject("config").put("ignoreErrors", true);
            assertThat(jolokia(all).path("status").asInt()).isEqualTo(200);
        }
    }

    @Test
    void withoutTheUserAndItsPasswordNothingGetsThroughButHealthAndMetricsStayOpen() throws Exception {
        startDifusor(jolokiaSettings(password));
        ObjectNode read = request("read", PIPELINE).put("attribute", "ExchangesTotal");

        HttpResponse<String> anonymous = post(null, null, read);
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(anonymous.headers().firstValue("WWW-Authenticate")).hasValue("Basic realm=\"prep-difusor\"");
        assertThat(post(USER, password + "x", read).statusCode()).isEqualTo(401);
        assertThat(post(USER, "", read).statusCode()).isEqualTo(401);
        assertThat(post("admin", password, read).statusCode()).isEqualTo(401);
        // GET requests and the path without its slash are the same Jolokia
        assertThat(get("/observe/jolokia/version").statusCode()).isEqualTo(401);
        assertThat(get("/observe/jolokia").statusCode()).isEqualTo(401);
        assertThat(post(USER, password, read).statusCode()).isEqualTo(200);

        // the kubelet's probes and Prometheus need no credentials
        assertThat(get("/observe/health/live").statusCode()).isEqualTo(200);
        assertThat(get("/observe/metrics").statusCode()).isEqualTo(200);
    }

    @Test
    void thePolicyRefusesWritesStopsAndDiagnostics() throws Exception {
        startDifusor(jolokiaSettings(password));
        String contextMBean = jolokia(request("search", "org.apache.camel:context=prep-difusor,type=context,*")).path("value").get(0).asText();

        Map<String, ObjectNode> forbidden = new java.util.LinkedHashMap<>();
        forbidden.put("gc", exec("java.lang:type=Memory", "gc()"));
        forbidden.put("heap dump", exec("com.sun.management:type=HotSpotDiagnostic", "dumpHeap(java.lang.String,boolean)",
                tmp.resolve("heap.hprof").toString(), true));
        forbidden.put("diagnostic command", exec("com.sun.management:type=DiagnosticCommand", "vmSystemProperties()"));
        forbidden.put("thread dump", exec("java.lang:type=Threading", "dumpAllThreads(boolean,boolean)", false, false));
        forbidden.put("route stop", exec(PIPELINE, "stop()"));
        forbidden.put("context suspend", exec(contextMBean, "suspend()"));
        forbidden.put("send a message", exec(contextMBean, "sendStringBody(java.lang.String,java.lang.String)", "direct:package", "x"));
        forbidden.put("update a route", exec(PIPELINE, "updateRouteFromXml(java.lang.String)", "<route/>"));
        forbidden.put("interrupt an exchange",
                exec("org.apache.camel:context=prep-difusor,type=services,name=DefaultInflightRepository", "interrupt(java.lang.String)", "x"));
        forbidden.put("write", request("write", "java.lang:type=Memory").put("attribute", "Verbose").put("value", true));
        forbidden.put("write a Camel attribute", request("write", PIPELINE).put("attribute", "TracingPattern").put("value", "*"));
        forbidden.put("system properties", request("read", "java.lang:type=Runtime").put("attribute", "SystemProperties"));
        forbidden.put("command line", request("read", "java.lang:type=Runtime").put("attribute", "InputArguments"));
        forbidden.forEach((what, request) -> {
            try {
                JsonNode answer = jolokia(request);
                assertThat(answer.path("status").asInt()).as(what + ": " + answer).isEqualTo(403);
                System.out.println("JOLOKIA refused " + what + ": " + answer.path("error").asText());
            } catch (Exception e) {
                throw new AssertionError(what, e);
            }
        });
        assertThat(Files.exists(tmp.resolve("heap.hprof"))).isFalse();
        assertThat(pipelineCounters().path("State").asText()).isEqualTo("Started");
        ObjectNode verbose = request("read", "java.lang:type=Memory").put("attribute", "Verbose");
        assertThat(jolokia(verbose).path("value").asBoolean()).isFalse();
        // the Runtime MBean's other attributes stay readable when named (read whole, Jolokia 2.4 refuses it as a whole)
        ObjectNode runtime = request("read", "java.lang:type=Runtime");
        runtime.putArray("attribute").add("Uptime").add("VmName");
        JsonNode uptime = jolokia(runtime);
        assertThat(uptime.path("status").asInt()).as(uptime.toString()).isEqualTo(200);
        assertThat(uptime.path("value").path("Uptime").asLong()).isPositive();
        assertThat(jolokia(request("read", "java.lang:type=Runtime")).path("status").asInt()).isEqualTo(403);
    }

    @Test
    void withoutAPasswordJolokiaIsNotServedAtAll() throws Exception {
        startDifusor(jolokiaSettings(""));
        assertThat(post(USER, "", request("version", null)).statusCode()).isEqualTo(404);
        assertThat(post(null, null, request("version", null)).statusCode()).isEqualTo(404);
        assertThat(get("/observe/health/live").statusCode()).isEqualTo(200);
    }
}
