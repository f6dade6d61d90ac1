package mx.prep.difusor.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

import mx.prep.difusor.testing.Chromium;
import mx.prep.difusor.testing.ExternalTool;

/**
 * The status page's light as an operator reads it in a browser: it is only as good as its last answer. A page whose
 * pod stopped answering (a port-forward dropped by a restart), or whose probe stopped, kept its green dot.
 */
class StatusPageLightTest {

    @TempDir
    Path tmp;

    private HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    @Test
    void aLightWhosePodStopsAnsweringTurnsGrey() throws Exception {
        ExternalTool.require("chromium");
        AtomicInteger asked = new AtomicInteger();
        URI page = serve(() -> asked.incrementAndGet() == 1 ? status(Instant.now(), Instant.now()) : null);

        String dom = Chromium.dom(page, tmp.resolve("chromium"), 12_000);
        assertThat(asked.get()).as("refreshed after its first answer").isGreaterThan(1);
        // its 503 said as it is (it was taken for a pod that does not answer at all)
        assertThat(dom).contains("class=\"light UNKNOWN\"").contains("status unavailable").contains("status.json answered HTTP 503 since")
                .doesNotContain("class=\"light GREEN\"");
    }

    /**
     * A pod that takes the request and never answers (a partitioned node behind a port-forward): the page's fetch waited
     * for good, and its last light, green, stayed on the page.
     */
    @Test
    void aLightWhosePodStopsAnsweringWithoutAnErrorTurnsGrey() throws Exception {
        ExternalTool.require("chromium");
        AtomicInteger asked = new AtomicInteger();
        java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
        try {
            URI page = serve(() -> {
                if (asked.incrementAndGet() == 1) {
                    return status(Instant.now(), Instant.now());
                }
                try {
                    never.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return null;
            });

            // real time: Chromium's virtual time stands still while the request is pending
            try (Chromium.LivePage live = Chromium.live(page, tmp.resolve("chromium"))) {
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(live.dom()).contains("class=\"light GREEN\""));
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(live.dom()).contains("class=\"light UNKNOWN\"")
                        .contains("status unavailable").contains("this pod does not answer within"));
            }
            assertThat(asked.get()).as("asked again after its first answer").isGreaterThan(1);
        } finally {
            never.countDown();
        }
    }

    @Test
    void aLightFromAProbeMinutesOldIsNotShownAsCurrent() throws Exception {
        ExternalTool.require("chromium");
        Instant now = Instant.now();
        URI page = serve(() -> status(now, now.minusSeconds(600)));

        String dom = Chromium.dom(page, tmp.resolve("chromium"));
        assertThat(dom).contains("class=\"light UNKNOWN\"").contains("unknown: the probe is late").contains("600 s ago");
    }

    @Test
    void aCurrentLightIsShownAsItIs() throws Exception {
        ExternalTool.require("chromium");
        Instant now = Instant.now();
        URI page = serve(() -> status(now, now.minusSeconds(20)));

        String dom = Chromium.dom(page, tmp.resolve("chromium"));
        assertThat(dom).contains("class=\"light GREEN\"").contains(">available<");
    }

    /** A probe every 5 minutes (a cron set so): its light 10 minutes old is no later than its period says. */
    @Test
    void aLightIsLateAfterThreeOfItsProbesPeriods() throws Exception {
        ExternalTool.require("chromium");
        Instant now = Instant.now();
        java.time.Duration every5Minutes = StatusPage.lateAfter("0 0/5 * * * ?", java.time.Duration.ofSeconds(10), now);
        assertThat(every5Minutes).isEqualTo(java.time.Duration.ofSeconds(910));
        assertThat(StatusPage.lateAfter("0/30 * * * * ?", java.time.Duration.ofSeconds(10), now)).isEqualTo(java.time.Duration.ofMinutes(2));
        assertThat(StatusPage.lateAfter("not a cron", java.time.Duration.ofSeconds(10), now)).isEqualTo(java.time.Duration.ofMinutes(2));
        URI page = serve(() -> status(now, now.minusSeconds(600)).replace("\"probe\":", "\"probeLateAfterSeconds\":" + every5Minutes.toSeconds()
                + ",\"probe\":"));

        String dom = Chromium.dom(page, tmp.resolve("chromium"));
        assertThat(dom).contains("class=\"light GREEN\"").contains(">available<");
    }

    /** status.json as StatusPage writes it: its time, and the probe's last light taken at {@code probedAt}. */
    private static String status(Instant now, Instant probedAt) {
        return "{\"now\":\"" + now + "\",\"published\":{\"corte\":\"2024-06-02 22:00\",\"package\":\"PREP2024_JAL_20240602_2200.zip\","
                + "\"files\":3,\"publishedAt\":\"" + now + "\"},\"leader\":true,\"clusterMode\":\"none\",\"probe\":{\"light\":\"GREEN\","
                + "\"detail\":\"up with the published corte 2024-06-02 22:00\",\"at\":\"" + probedAt + "\",\"pageUp\":true},"
                + "\"openIncident\":null,\"packages\":[]}";
    }

    /** Serves the status page and a status.json from {@code answer}; null answers 503, as a pod going away. */
    private URI serve(java.util.function.Supplier<String> answer) throws Exception {
        byte[] html;
        try (InputStream in = StatusPage.class.getResourceAsStream("/status/index.html")) {
            html = in.readAllBytes();
        }
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        // a status.json held back must not hold the page itself, nor the next request
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.createContext("/status", exchange -> {
            exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            exchange.sendResponseHeaders(200, html.length);
            exchange.getResponseBody().write(html);
            exchange.close();
        });
        server.createContext("/status.json", exchange -> {
            String body = answer.get();
            byte[] bytes = (body == null ? "pod going away" : body).getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", body == null ? "text/plain" : "application/json");
            exchange.sendResponseHeaders(body == null ? 503 : 200, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        server.start();
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/status");
    }
}
