package mx.prep.difusor.probe;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.ServiceStatus;

import mx.prep.difusor.Json;
import mx.prep.difusor.state.PackageJournal;
import mx.prep.difusor.state.StateStore;

/**
 * The status page for people (/status) and its data (/status.json): the published corte, the last packages with
 * their outcome and time per stage, the quarantined ones, whether this pod leads, and the probe's light. Served by
 * the JDK's small HTTP server: Camel 4.17's platform-http finds its router only on port 8080 once the management
 * server runs beside it.
 */
public final class StatusPage extends org.apache.camel.support.service.ServiceSupport {

    private static final Logger LOG = LoggerFactory.getLogger(StatusPage.class);
    private final CamelContext context;
    private final StateStore state;
    private final PackageJournal journal;
    private final InstituteProbe probe;
    private final String clusterMode;
    private final Clock clock;
    private final String html;

    public StatusPage(CamelContext context, StateStore state, PackageJournal journal, InstituteProbe probe, String clusterMode, Clock clock,
            int port, java.time.Duration probeLateAfter, java.time.ZoneId zone) throws IOException {
        this.port = port;
        this.zone = zone;
        this.probeLateAfter = probeLateAfter;
        this.context = context;
        this.state = state;
        this.journal = journal;
        this.probe = probe;
        this.clusterMode = clusterMode;
        this.clock = clock;
        try (InputStream in = StatusPage.class.getResourceAsStream("/status/index.html")) {
            this.html = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private final int port;
    /** The cortes' zone: the page shows its times there. */
    private final java.time.ZoneId zone;
    /** A light older than this is shown grey on the page: its probe is late (several of its periods). */
    private final java.time.Duration probeLateAfter;
    private HttpServer server;
    private java.util.concurrent.ExecutorService answering;
    /** One read of the state at a time: S3 slow to answer must not take every thread of the page. */
    private final java.util.concurrent.Semaphore reading = new java.util.concurrent.Semaphore(1);

    @Override
    protected void doStart() throws IOException {
        server = HttpServer.create(new InetSocketAddress(port), 0);
        server.createContext("/status", this::serve);
        // more than one: the page and its status.json still answer while another status.json waits on S3's answer
        answering = Executors.newFixedThreadPool(3, r -> {
            Thread t = new Thread(r, "status-page");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(answering);
        server.start();
        LOG.info("status page at http://localhost:{}/status", port());
    }

    @Override
    protected void doStop() {
        if (server != null) {
            server.stop(0);
        }
        if (answering != null) {
            answering.shutdownNow();
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void serve(HttpExchange exchange) throws IOException {
        try (exchange) {
            try {
                answer(exchange);
            } catch (IOException | RuntimeException e) {
                LOG.warn("status page: {}", e.toString());
                // an answer, not an empty reply the page reads as a pod that does not answer (if none went out yet)
                try {
                    exchange.sendResponseHeaders(500, -1);
                } catch (IOException | RuntimeException alreadyAnswered) {
                    LOG.debug("status page: no 500 sent ({})", alreadyAnswered.toString());
                }
            }
        }
    }

    private void answer(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        byte[] body;
        String type;
        int status = 200;
        if (path.equals("/status") || path.equals("/status/")) {
            body = html.getBytes(StandardCharsets.UTF_8);
            type = "text/html; charset=utf-8";
        } else if (path.equals("/status.json") || path.equals("/status/status.json")) {
            // the page asks for "status.json" relative to itself: opened as /status/ that is /status/status.json
            type = "application/json";
            body = json().getBytes(StandardCharsets.UTF_8);
        } else {
            body = "not found".getBytes(StandardCharsets.UTF_8);
            type = "text/plain";
            status = 404;
        }
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(status, body.length);
        exchange.getResponseBody().write(body);
    }

    /**
     * When a probe on {@code cron} is late: three of its periods and its timeout, at least two minutes. A cron Quartz
     * cannot read gives the two minutes.
     */
    public static java.time.Duration lateAfter(String cron, java.time.Duration timeout, java.time.Instant now) {
        java.time.Duration floor = java.time.Duration.ofMinutes(2);
        try {
            org.quartz.CronExpression expression = new org.quartz.CronExpression(cron);
            java.util.Date first = expression.getNextValidTimeAfter(java.util.Date.from(now));
            java.util.Date second = first == null ? null : expression.getNextValidTimeAfter(first);
            if (second == null) {
                return floor;
            }
            java.time.Duration late = java.time.Duration.ofMillis(second.getTime() - first.getTime()).multipliedBy(3).plus(timeout);
            return late.compareTo(floor) > 0 ? late : floor;
        } catch (java.text.ParseException unreadable) {
            return floor;
        }
    }

    String json() throws IOException {
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("now", clock.instant().toString());
        status.put("zone", zone.getId());
        try {
            if (state.lastKnown().isPresent()) {
                status.put("published", state.lastKnown().get());
            } else if (reading.tryAcquire()) {
                try {
                    status.put("published", state.load().orElse(null));
                } finally {
                    reading.release();
                }
            } else {
                status.put("published", null);
                status.put("error", "the published state is being read: S3 has not answered yet");
            }
        } catch (IOException | software.amazon.awssdk.core.exception.SdkException e) {
            // S3 did not answer the state's read (nothing read yet): said, with the rest, which is this pod's own; no
            // reply at all read as a pod that does not answer
            status.put("published", null);
            status.put("error", "the published state cannot be read: " + e.getMessage());
        }
        status.put("leader", isLeading());
        status.put("clusterMode", clusterMode);
        status.put("probe", probe == null ? null : probe.last());
        status.put("probeLateAfterSeconds", probeLateAfter.toSeconds());
        status.put("openIncident", probe == null ? null : probe.openIncident().orElse(null));
        status.put("packages", journal.recent());
        return Json.MAPPER.writeValueAsString(status);
    }

    /** A pod leads when one of its poll routes runs: the leadership policy starts them only on the leader. */
    private boolean isLeading() {
        return context.getRoutes().stream().filter(r -> r.getRouteId().startsWith("poll-"))
                .anyMatch(r -> context.getRouteController().getRouteStatus(r.getRouteId()) == ServiceStatus.Started);
    }
}
