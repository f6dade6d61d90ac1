package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Test;

import software.amazon.awssdk.services.s3.S3Client;

import mx.prep.difusor.archive.HistoryArchiver.HistoryRecord;
import mx.prep.difusor.embedded.SitePreview;
import mx.prep.difusor.memoria.OperationRecords;
import mx.prep.difusor.memoria.OperationRecords.Night;
import mx.prep.difusor.probe.InstituteProbe.Incident;
import mx.prep.difusor.probe.InstituteProbe.Light;
import mx.prep.difusor.quarantine.QuarantineReport;
import mx.prep.difusor.testing.Chromium;
import mx.prep.difusor.testing.ExternalTool;
import mx.prep.difusor.testing.FaultProxy;

/**
 * The status page for people, checked in headless Chromium, and the institute's probe behind its light: green
 * when the public page (here the local preview standing in for the CDN) is the published corte, yellow when it
 * serves an older one, red when the page is gone; every incident logged with its start and end in S3.
 */
class StatusPageTest extends PipelineTestBase {

    @Test
    void theStatusPageShowsThePublishedCorteThePackagesAndTheProbesLight() throws Exception {
        ExternalTool.require("chromium");
        S3Client reader = s3.client();
        try (SitePreview publicSite = SitePreview.start(0, reader, SITE, "")) {
            var settings = settings();
            int port = Integer.parseInt(settings.get("difusor.status.port"));
            settings.put("difusor.probe.url", "http://localhost:" + publicSite.port() + "/");
            settings.put("difusor.probe.cron", "0/1 * * * * ?");
            startDifusor(settings);
            Path first = corte(6);
            institute.release(first);
            awaitPublished(first);
            Path bad = Files.copy(corte(7), tmp.resolve("PREP2024_JAL_20240602_2230.zip"));
            institute.release(bad, "0".repeat(64), Files.size(bad));
            await().atMost(Duration.ofSeconds(30)).until(() -> !keys(HISTORY, "quarantine/PREP2024_JAL_20240602_2230/").isEmpty());

            URI status = URI.create("http://127.0.0.1:" + port + "/status");
            await().atMost(Duration.ofSeconds(30)).until(() -> json(port).path("probe").path("light").asText().equals("GREEN"));
            // a probe every second with a 10 s timeout: late after the floor of two minutes
            assertThat(json(port).path("probeLateAfterSeconds").asLong()).isEqualTo(120);
            String dom = Chromium.dom(status, tmp.resolve("chromium"));
            // opened as /status/ too, where the page's "status.json" is /status/status.json
            assertThat(Chromium.dom(URI.create(status + "/"), tmp.resolve("chromium")))
                    .contains(first.getFileName().toString()).contains("<span id=\"lightText\">available</span>");
            assertThat(dom).contains("2024-06-02 22:00").contains(first.getFileName().toString())
                    .contains("class=\"light GREEN\"").contains(">available<")
                    .contains("CHECKSUM_MISMATCH").contains("PREP2024_JAL_20240602_2230.zip")
                    .contains(">leader<");
            // times in the cortes' zone (the corte's own time is Jalisco's), the instant in UTC when the pointer rests on it
            JsonNode published = java.util.stream.StreamSupport.stream(json(port).path("packages").spliterator(), false)
                    .filter(p -> p.path("package").asText().equals(first.getFileName().toString())).findFirst().orElseThrow();
            String at = published.path("at").asText();
            String local = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")
                    .format(Instant.parse(at).atZone(java.time.ZoneId.of("America/Mexico_City")));
            assertThat(dom).contains(">time (America/Mexico_City)<").contains("<td title=\"" + at + "\">" + local + "</td>");

            // the public page gone: red, an incident starts; back: it ends, with both times kept for the memoria técnica
            // (the site was down before the first publication too: that was an incident of its own)
            int incidentsBefore = keys(HISTORY, "incidents/").size();
            bucket.deleteObject(b -> b.bucket(SITE).key("index.html"));
            await().atMost(Duration.ofSeconds(30)).until(() -> json(port).path("probe").path("light").asText().equals("RED"));
            assertThat(Chromium.dom(status, tmp.resolve("chromium"))).contains("class=\"light RED\"").contains("not available");
            bucket.putObject(b -> b.bucket(SITE).key("index.html").contentType("text/html; charset=utf-8"),
                    software.amazon.awssdk.core.sync.RequestBody.fromBytes(mx.prep.difusor.testing.SiteBucket.files(first).get("index.html")));
            await().atMost(Duration.ofSeconds(30)).until(() -> json(port).path("probe").path("light").asText().equals("GREEN"));
            List<String> incidents = keys(HISTORY, "incidents/");
            assertThat(incidents).hasSize(incidentsBefore + 1);
            String newest = incidents.stream().sorted().reduce((a, b) -> b).orElseThrow();
            JsonNode incident = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(newest)).asUtf8String());
            assertThat(incident.path("light").asText()).isEqualTo("RED");
            assertThat(incident.path("end").asText()).isNotEmpty();

            // what the memoria técnica reads of this night, as the probe, the quarantine and the history wrote it
            Instant now = Instant.now();
            Night night = new OperationRecords(new ObjectStore(bucket), HISTORY, "history/", "quarantine/", "incidents/")
                    .read(now.minus(Duration.ofHours(1)), now.plusSeconds(1));
            assertThat(night.incidents()).hasSize(incidentsBefore + 1);
            assertThat(night.incidents().get(night.incidents().size() - 1))
                    .isEqualTo(new Incident(incident.path("start").asText(), incident.path("end").asText(), Light.RED, incident.path("detail").asText(),
                            incident.path("pod").asText()));
            assertThat(night.refused()).extracting(QuarantineReport::packageName, QuarantineReport::reason)
                    .containsExactly(tuple("PREP2024_JAL_20240602_2230.zip", "CHECKSUM_MISMATCH"));
            assertThat(night.packages()).extracting(HistoryRecord::packageName, HistoryRecord::outcome)
                    .containsExactly(tuple(first.getFileName().toString(), "published"));
        } finally {
            reader.close();
        }
    }

    /**
     * S3 not answering the state's read before anything was read: status.json says so beside the rest (this pod's own),
     * and the page shows it. It sent no reply at all, which the page took for a pod that does not answer.
     */
    @Test
    void aStateS3DoesNotAnswerIsSaidOnTheStatusPageNotTakenForADeadPod() throws Exception {
        ExternalTool.require("chromium");
        var settings = settings();
        int port = Integer.parseInt(settings.get("difusor.status.port"));
        settings.put("difusor.s3.max-attempts", "1");
        startDifusor(settings);
        s3Network.respond(r -> r.method().equals("GET") && r.path().equals("/" + HISTORY + "/state/published.json"), FaultProxy.ALWAYS,
                500, "application/xml", "<Error><Code>InternalError</Code><Message>down</Message></Error>");
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/status.json"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode answer = Json.MAPPER.readTree(r.body());
        assertThat(answer.path("error").asText()).startsWith("the published state cannot be read");
        assertThat(answer.path("leader").asBoolean()).isTrue();
        assertThat(Chromium.dom(URI.create("http://127.0.0.1:" + port + "/status"), tmp.resolve("chromium")))
                .contains("id=\"corte\">unknown<").contains("id=\"package\">the published state cannot be read")
                .contains("id=\"leader\">leader<").doesNotContain("<span id=\"lightText\">status unavailable</span>");
    }

    /**
     * S3 holding the state's read before anything was read: while one status.json waits on it, the page and the next
     * status.json still answer at once (one thread answered all, so the page did not load until S3 did).
     */
    @Test
    void aStateReadHeldByS3DoesNotHoldThePageNorTheNextStatus() throws Exception {
        var settings = settings();
        int port = Integer.parseInt(settings.get("difusor.status.port"));
        startDifusor(settings);
        // every read of the state held (the poll's and the resume check's too), so the status.json below waits for sure
        s3Network.holdRequest(r -> r.method().equals("GET") && r.path().equals("/" + HISTORY + "/state/published.json"), FaultProxy.ALWAYS,
                Duration.ofSeconds(60));
        HttpClient http = HttpClient.newHttpClient();
        URI status = URI.create("http://127.0.0.1:" + port + "/status.json");
        var held = http.sendAsync(HttpRequest.newBuilder(status).build(), HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(10)).until(() -> s3Network.requests(
                r -> r.method().equals("GET") && r.path().equals("/" + HISTORY + "/state/published.json")) > 0);
        try {
            HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/status"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.body()).contains("status.json");
            HttpResponse<String> next = http.send(HttpRequest.newBuilder(status).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(next.statusCode()).isEqualTo(200);
            assertThat(Json.MAPPER.readTree(next.body()).path("error").asText()).isEqualTo("the published state is being read: S3 has not answered yet");
            assertThat(held).isNotDone();
        } finally {
            s3Network.clearFaults();
            s3Network.releaseHolds();
        }
        assertThat(held.get(30, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }

    private static JsonNode json(int port) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/status.json")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("status.json on port %s answered %s", port, r.body()).isEqualTo(200);
        return Json.MAPPER.readTree(r.body());
    }

}
