package mx.prep.difusor.probe;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ServiceStatus;

import mx.prep.difusor.Json;
import mx.prep.difusor.state.PackageJournal;
import mx.prep.difusor.state.StateStore;

/**
 * The status page for people (/status) and its data (/status.json): the published corte, the last packages with
 * their outcome and time per stage, the quarantined ones, whether this pod leads, and the probe's light.
 */
public final class StatusPage {

    private final CamelContext context;
    private final StateStore state;
    private final PackageJournal journal;
    private final InstituteProbe probe;
    private final String clusterMode;
    private final Clock clock;
    private final String html;

    public StatusPage(CamelContext context, StateStore state, PackageJournal journal, InstituteProbe probe, String clusterMode, Clock clock)
            throws IOException {
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

    public void html(Exchange exchange) {
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "text/html; charset=utf-8");
        exchange.getMessage().setHeader("Cache-Control", "no-store");
        exchange.getMessage().setBody(html);
    }

    public void json(Exchange exchange) throws IOException {
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("now", clock.instant().toString());
        status.put("published", state.lastKnown().isPresent() ? state.lastKnown().get() : state.load().orElse(null));
        status.put("leader", isLeading());
        status.put("clusterMode", clusterMode);
        status.put("probe", probe == null ? null : probe.last());
        status.put("openIncident", probe == null ? null : probe.openIncident().orElse(null));
        status.put("packages", journal.recent());
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
        exchange.getMessage().setHeader("Cache-Control", "no-store");
        exchange.getMessage().setBody(Json.MAPPER.writeValueAsString(status));
    }

    /** A pod leads when one of its poll routes runs: the leadership policy starts them only on the leader. */
    private boolean isLeading() {
        return context.getRoutes().stream().filter(r -> r.getRouteId().startsWith("poll-"))
                .anyMatch(r -> context.getRouteController().getRouteStatus(r.getRouteId()) == ServiceStatus.Started);
    }
}
