package mx.prep.difusor.memoria;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import mx.prep.difusor.archive.HistoryArchiver.HistoryRecord;
import mx.prep.difusor.memoria.OperationRecords.Night;
import mx.prep.difusor.memoria.SiteTraffic.Day;
import mx.prep.difusor.memoria.SiteTraffic.Figures;
import mx.prep.difusor.probe.InstituteProbe.Incident;
import mx.prep.difusor.probe.InstituteProbe.Light;
import mx.prep.difusor.quarantine.QuarantineReport;

/**
 * The memoria técnica as the institute reads it: in Spanish, times in Tiempo del Centro, an HTML page to print or
 * attach and the same figures as CSV for the institute's format. Availability counts the time the probe saw the page
 * unavailable (red); a page that answered with an older corte, or without its data (yellow), is reported apart.
 */
public final class MemoriaReport {

    /** How late CloudFront may deliver an hour's access logs: a report written sooner is a draft. */
    static final Duration LOGS_LATE = Duration.ofHours(24);

    /** Written before the period's last logs can have come: its figures may be incomplete. */
    static boolean draft(Instant now, Instant periodEnd) {
        return now.isBefore(periodEnd.plus(LOGS_LATE));
    }

    /** The institute's target (call, VI.a: 99.9 % a month), held here over the shorter publication period: stricter. */
    static final double TARGET_AVAILABILITY = 99.9;

    private static final Locale ES_MX = Locale.forLanguageTag("es-MX");
    private static final DateTimeFormatter LONG_DATE = DateTimeFormatter.ofPattern("d 'de' MMMM 'de' yyyy", ES_MX);
    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("EEEE d 'de' MMMM", ES_MX);
    private static final DateTimeFormatter HOUR = DateTimeFormatter.ofPattern("HH:mm", ES_MX);
    private static final DateTimeFormatter TIME_PATTERN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss", ES_MX);

    private static final Map<String, String> REASONS = Map.ofEntries(
            Map.entry("CHECKSUM_INVALID", "su suma de verificación (SHA-256) falta o no es válida"),
            Map.entry("CHECKSUM_MISMATCH", "no coincide con la suma de verificación (SHA-256) proporcionada por el Instituto"),
            Map.entry("SIZE_MISMATCH", "su tamaño es distinto del anunciado por el Instituto (incompleto o con otro contenido)"),
            Map.entry("NO_CORTE", "su nombre no indica la fecha y hora del corte"),
            Map.entry("CORTE_AHEAD", "su corte es posterior a la hora de su recepción (posible error de captura o de huso horario)"),
            Map.entry("STALE_CORTE", "es un corte anterior al ya publicado, o a uno cuya publicación se interrumpió; su rechazo no afectó la publicación"),
            Map.entry("NAME_REUSED", "ya se había recibido un paquete distinto con el mismo nombre"),
            Map.entry("TOO_MANY_DELETIONS", "eliminaría demasiados archivos publicados; quedó en espera de revisión"),
            Map.entry("NO_INDEX_HTML", "no contiene la página principal (index.html)"),
            Map.entry("NO_BASE_TAG", "su página principal no tiene la etiqueta <base>"),
            Map.entry("BASE_OUTSIDE_SITE", "su etiqueta <base> apunta fuera del sitio"),
            Map.entry("BAD_SOURCE_RESPONSE", "el servidor del Instituto entregó una respuesta no válida en lugar del paquete"),
            Map.entry("RETRIES_EXHAUSTED", "se agotaron los reintentos ante fallas transitorias"),
            Map.entry("UNEXPECTED", "una falla interna del Difusor impidió procesarlo"));

    /** The pipeline's steps (the routes' difusorStep) as the report names them; an unknown one is shown as it is. */
    private static final Map<String, String> STEPS = Map.ofEntries(
            Map.entry("receive", "recepción"),
            Map.entry("download", "descarga"),
            Map.entry("turn", "espera de su turno (otro paquete en publicación)"),
            Map.entry("checksum-filter", "comprobación de la suma de verificación (SHA-256)"),
            Map.entry("corte-gate", "revisión del corte"),
            Map.entry("history-archiver", "resguardo en el archivo histórico"),
            Map.entry("unzip", "descompresión"),
            Map.entry("plan", "planeación de la publicación"),
            Map.entry("publish", "publicación"),
            Map.entry("prune", "eliminación de los archivos que ya no incluye el paquete"),
            Map.entry("invalidation", "limpieza de la caché del CDN (invalidación)"),
            Map.entry("record", "registro de la publicación"));

    /** A refused or delayed package's cause in Spanish, its code and step kept in parentheses for whoever looks it up. */
    static String motivo(QuarantineReport r) {
        return r.reason() == null ? "motivo no registrado (etapa: " + paso(r.step()) + ")"
                : REASONS.getOrDefault(r.reason(), UNSAFE_ZIP) + " (" + r.reason() + "; etapa: " + paso(r.step()) + ")";
    }

    static String paso(String step) {
        return step == null || step.equals("unknown") ? "desconocido" : STEPS.getOrDefault(step, step);
    }

    /** Refusals of the zip itself: damaged, or built to harm whoever unpacks it. */
    private static final String UNSAFE_ZIP = "el archivo .zip está dañado o no es seguro descomprimirlo";

    private MemoriaReport() {
    }

    /**
     * What the public got during an incident. A yellow is either an older corte or a page whose data file failed
     * (InstituteProbe's "up, but <path> answered HTTP <status>"): the page without its numbers is no older corte.
     */
    enum Kind {
        UNAVAILABLE("portal_no_disponible", "Portal no disponible"),
        BEHIND("corte_anterior", "El portal mostraba un corte anterior"),
        NO_DATA("datos_no_disponibles", "El portal no entregaba sus datos");

        final String csv;
        final String text;

        Kind(String csv, String text) {
            this.csv = csv;
            this.text = text;
        }

        static Kind of(Incident i) {
            if (i.light() == Light.RED) {
                return UNAVAILABLE;
            }
            return i.dataMissing() ? NO_DATA : BEHIND;
        }
    }

    /** Time the page was unavailable (red), behind or without its data (yellow) within [from, to), open incidents until {@code now}. */
    record Outage(Duration unavailable, Duration behind, Duration noData, Duration period) {
        double availability() {
            return 100.0 * (1.0 - (double) unavailable.toSeconds() / period.toSeconds());
        }

        /** Cut, not rounded, to the 3 decimals shown: a figure shown as 99.900 % always meets 99.9 %. */
        String shown() {
            return String.format(ES_MX, "%.3f %%", java.math.BigDecimal.valueOf(availability()).setScale(3, java.math.RoundingMode.FLOOR));
        }
    }

    static Outage outage(List<Incident> incidents, Instant from, Instant to, Instant now) {
        Map<Kind, Duration> time = new java.util.EnumMap<>(Kind.class);
        for (Incident i : incidents) {
            time.merge(Kind.of(i), overlap(i, from, to, now), Duration::plus);
        }
        return new Outage(time.getOrDefault(Kind.UNAVAILABLE, Duration.ZERO), time.getOrDefault(Kind.BEHIND, Duration.ZERO),
                time.getOrDefault(Kind.NO_DATA, Duration.ZERO), Duration.between(from, to));
    }

    /**
     * The part of an incident inside [from, to): one that began before it (a bucket emptied after a simulacro) or is
     * still open when the report is written does not count its days outside.
     */
    private static Duration overlap(Incident i, Instant from, Instant to, Instant now) {
        Instant start = max(Instant.parse(i.start()), from);
        Instant end = i.end() == null ? now : Instant.parse(i.end());
        end = end.isAfter(to) ? to : end;
        return end.isAfter(start) ? Duration.between(start, end) : Duration.ZERO;
    }

    /** The incidents with some time inside [from, to): the others did not affect the publication. */
    private static List<Incident> affecting(List<Incident> incidents, Instant from, Instant to, Instant now) {
        return incidents.stream().filter(i -> overlap(i, from, to, now).compareTo(Duration.ZERO) > 0).toList();
    }

    /** An instant as the probe writes it into a detail (UTC). */
    private static final Pattern INSTANT = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?Z");

    /** As {@link #detalle(String)}, its instants in the report's zone: in UTC they read six hours off every other time. */
    static String detalle(String detail, DateTimeFormatter time) {
        return INSTANT.matcher(detalle(detail)).replaceAll(m -> Matcher.quoteReplacement(time.format(Instant.parse(m.group()))));
    }

    /** The probe's detail (English, as in the log) in the report's Spanish; a detail of another form as it is. */
    static String detalle(String detail) {
        if (detail == null) {
            return "";
        }
        if (detail.endsWith(RESTART)) {
            return detalle(detail.substring(0, detail.length() - RESTART.length())) + " (terminada por la primera verificación tras un reinicio)";
        }
        if (detail.endsWith(CARRIED)) {
            return detalle(detail.substring(0, detail.length() - CARRIED.length())) + " (continuada tras un reinicio del Difusor)";
        }
        Matcher stopped = ENDED_BY_STOPPED_PEER.matcher(detail);
        if (stopped.matches()) {
            return detalle(stopped.group(1)) + " (terminada por la réplica del monitoreo " + stopped.group(2) + ": la réplica "
                    + stopped.group(3) + " dejó de verificar" + (stopped.group(4) == null ? "" : ", su última verificación a las " + stopped.group(4))
                    + "; esta réplica vio la página en línea a las " + stopped.group(5) + ")";
        }
        Matcher peer = SEEN_BY_PEER.matcher(detail);
        if (peer.matches()) {
            return detalle(peer.group(1)) + " (registrado por la réplica del monitoreo " + peer.group(2) + "; esta réplica: "
                    + detalle(peer.group(3)) + ")";
        }
        for (Map.Entry<Pattern, String> t : DETALLES.entrySet()) {
            Matcher m = t.getKey().matcher(detail);
            if (m.matches()) {
                return m.replaceFirst(t.getValue());
            }
        }
        return detail;
    }

    /** How InstituteProbe ends an incident an earlier process left open: its time in between was not watched. */
    private static final String RESTART = mx.prep.difusor.probe.InstituteProbe.ENDED_AFTER_RESTART;
    /** How it goes on with one an earlier process left open: the time in between was not watched either. */
    private static final String CARRIED = mx.prep.difusor.probe.InstituteProbe.CARRIED_AFTER_RESTART;

    /** An incident a replica that stopped probing left open, ended by the other (InstituteProbe.ENDED_BY_PEER). */
    private static final Pattern ENDED_BY_STOPPED_PEER = Pattern.compile(
            "(.*)" + Pattern.quote(mx.prep.difusor.probe.InstituteProbe.ENDED_BY_PEER)
                    + "(\\S+): pod (\\S+) stopped probing(?:, its last probe at (\\S+))?; this pod saw the page up at (\\S+)\\)", Pattern.DOTALL);

    /** A view one replica took from the other (InstituteProbe: this pod could not reach the page). */
    private static final Pattern SEEN_BY_PEER = Pattern.compile("(.*) \\(seen by pod (\\S+); this pod: (.*)\\)", Pattern.DOTALL);

    /** One per form of InstituteProbe's details. */
    private static final Map<Pattern, String> DETALLES = orderedPatterns(
            "(\\S+) unreachable: no whole answer within (\\d+) ms", "$1 no entregó la respuesta completa en $2 ms",
            "(\\S+) unreachable: (.*)", "$1 no respondió: $2",
            "(\\S+) answered HTTP (\\d+) to (\\S+) \\(the institute expects 200\\)", "$1 respondió HTTP $2 con redirección a $3 (el Instituto espera 200)",
            "(\\S+) answered HTTP (\\d+) \\(the institute expects 200\\)", "$1 respondió HTTP $2 (el Instituto espera 200)",
            "(\\S+) has no <base> tag", "$1 no tiene la etiqueta <base>",
            "up, but not the (\\S+) of the published corte (.*) \\(a stale cache\\?\\)",
            "en línea, pero sin el $1 del corte publicado $2 (¿caché desactualizada?)",
            "up, but (\\S+) answered HTTP (\\d+) \\(published corte (.*)\\)", "en línea, pero $1 respondió HTTP $2 (corte publicado $3)");

    private static Map<Pattern, String> orderedPatterns(String... pairs) {
        Map<Pattern, String> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put(Pattern.compile(pairs[i], Pattern.DOTALL), pairs[i + 1]);
        }
        return m;
    }

    private static Instant max(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }

    /**
     * @param publicationFrom when the results had to be online (call, section I.a: 20:00 of 2 June), in the figures'
     *                        zone: availability is measured from then to the end of {@code to}
     * @param sources         where the access logs and the difusor's records were read, named in the report
     */
    public static String html(String portal, LocalDate from, LocalDate to, LocalDateTime publicationFrom, Figures figures, Night night,
                              Instant now, String sources) {
        ZoneId zone = figures.zone();
        DateTimeFormatter time = TIME_PATTERN.withZone(zone);
        Instant onlineFrom = publicationFrom.atZone(zone).toInstant();
        Instant end = to.plusDays(1).atStartOfDay(zone).toInstant();
        Outage outage = outage(night.incidents(), onlineFrom, end, now);
        // from the opening, as every other line of the report: a test package of the afternoon is no corte of the night
        List<HistoryRecord> publishedCortes = night.packages().stream().filter(r -> "published".equals(r.outcome()))
                .filter(r -> fromTheOpening(r.outcomeAt(), r.corte(), publicationFrom, zone)).toList();
        long published = publishedCortes.size();
        long publishedBefore = night.packages().stream().filter(r -> "published".equals(r.outcome())).count() - published;
        StringBuilder h = new StringBuilder(16_384);
        h.append("<!DOCTYPE html>\n<html lang=\"es-MX\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<title>Memoria técnica del Difusor PREP</title>\n<style>\n")
                .append("body{font-family:sans-serif;max-width:60rem;margin:2rem auto;color:#222}")
                .append("table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #999;padding:.25rem .6rem}")
                .append("td.n{text-align:right}tfoot td{font-weight:bold}.meta{color:#555}\n</style>\n</head>\n<body>\n")
                .append("<h1>Memoria técnica del Difusor PREP</h1>\n")
                .append("<p class=\"meta\">Portal: <span id=\"portal\">").append(esc(portal.isEmpty() ? "(no configurado)" : portal))
                .append("</span><br>Periodo: del ").append(esc(LONG_DATE.format(from))).append(" al ").append(esc(LONG_DATE.format(to)))
                .append("<br>Zona horaria: ").append(esc(zoneName(zone))).append("<br>Fecha de elaboración: ").append(esc(time.format(now))).append("</p>\n");
        if (draft(now, end)) {
            // a draft: the period, or CloudFront's late delivery of its last logs, is not over yet
            h.append("<p id=\"borrador\"><b>Borrador:</b> elaborada antes del ").append(esc(time.format(end.plus(LOGS_LATE))))
                    .append(", 24 horas después del fin del periodo; CloudFront entrega sus registros de acceso con retraso, así que las cifras")
                    .append(" pueden estar incompletas y la disponibilidad no ser definitiva. La versión definitiva se elaborará después de esa hora.</p>\n");
        }
        if (!figures.unreadableFiles().isEmpty()) {
            // the figures lack what those files held past their fault: said where the reader starts, not only in the notes
            h.append("<p id=\"incompleta\"><b>Cifras incompletas:</b> ").append(figures.unreadableFiles().size())
                    .append(figures.unreadableFiles().size() == 1 ? " archivo de registro de acceso no pudo leerse en su totalidad"
                            : " archivos de registro de acceso no pudieron leerse en su totalidad")
                    .append("; se cuentan sus solicitudes leídas antes del fallo (detalle en «Definiciones», al final).</p>\n");
        }
        List<Instant> unlogged = figures.unloggedHours();
        if (!unlogged.isEmpty()) {
            // CloudFront logs from about four hours after standard logging is turned on, and a delivery can fail: figures
            // silently short of those hours were taken for the traffic of the period
            h.append("<p id=\"horas-sin-registros\"><b>Horas sin registros de acceso:</b> <span id=\"sin-registros\">").append(unlogged.size())
                    .append("</span> del periodo no tienen ninguna solicitud en los registros de CloudFront, ni siquiera del monitoreo del Difusor (")
                    .append(spans(unlogged, time)).append("). O sus registros faltan (el registro estándar se activó después, o su entrega ")
                    .append("falló), o nada llegó a la distribución: las cifras de visitas, páginas y accesos no cubren esas horas.</p>\n");
        }

        h.append("<h2>1. Reporte de incidencias</h2>\n<ul id=\"resumen\">\n");
        if (portal.isEmpty()) {
            // without the probe nothing was measured: no incident is not the same as no outage
            h.append("<li>Disponibilidad del portal: <b id=\"disponibilidad\">no medida</b> (el monitoreo del portal, ")
                    .append("difusor.probe.url, no está configurado)</li>\n");
        } else {
            h.append("<li>Disponibilidad del portal medida por el monitoreo del Difusor del ").append(esc(time.format(onlineFrom)))
                    .append(" al ").append(esc(time.format(end.minusSeconds(1)))).append(", periodo en que los resultados debían estar publicados: ")
                    .append("<b id=\"disponibilidad\">")
                    .append(outage.shown()).append("</b> (meta: ")
                    .append(String.format(ES_MX, "%.1f %%", TARGET_AVAILABILITY)).append(" de disponibilidad mensual, convocatoria, fracción VI.a, aplicada aquí al periodo de publicación; ")
                    .append(outage.availability() >= TARGET_AVAILABILITY ? "se cumplió" : "no se cumplió")
                    .append("). Es el porcentaje del tiempo en que el portal respondió con código HTTP 200 y la etiqueta «base», como lo verifica ")
                    .append("el Instituto (fracción V.b); el tiempo con un corte anterior o sin sus datos se informa aparte y no se descuenta.</li>\n")
                    .append(unmonitored(figures, night.incidents(), onlineFrom, end, now, time))
                    .append("<li>Tiempo con el portal no disponible: ").append(esc(duration(outage.unavailable()))).append("</li>\n")
                    .append("<li>Tiempo en que el portal mostraba un corte anterior al último publicado por el Difusor (por ejemplo, la caché del CDN sin actualizar): ").append(esc(duration(outage.behind()))).append("</li>\n")
                    .append("<li>Tiempo en que el portal respondía sin entregar sus datos (un archivo de datos con error): <span id=\"sin-datos\">")
                    .append(esc(duration(outage.noData()))).append("</span></li>\n");
        }
        h.append("<li>Cortes publicados: <span id=\"publicados\">").append(published).append("</span>");
        publishedCortes.stream().map(HistoryRecord::corte).findFirst()
                .ifPresent(first -> h.append(" (del corte ").append(esc(first.replace('T', ' '))));
        publishedCortes.stream().map(HistoryRecord::corte).reduce((a, b) -> b)
                .ifPresent(last -> h.append(" al ").append(esc(last.replace('T', ' '))).append(")"));
        List<QuarantineReport> refused = since(night.refused(), publicationFrom, zone);
        List<QuarantineReport> publishedLater = since(night.publishedLater(), publicationFrom, zone);
        h.append("</li>\n<li>Paquetes de Difusión PREP no publicados: <span id=\"rechazados\">").append(refused.size()).append("</span></li>\n");
        if (!publishedLater.isEmpty()) {
            h.append("<li>Paquetes de Difusión PREP publicados con retraso (tras una falla transitoria de la nube, de la red o del servidor del "
                    + "Instituto, o bien rechazados y después republicados por el operador): <span id=\"con-retraso\">")
                    .append(publishedLater.size()).append("</span></li>\n");
        }
        int packagesBefore = night.refused().size() - refused.size() + night.publishedLater().size() - publishedLater.size();
        if (packagesBefore > 0) {
            // a rehearsal package or an early test of the institute's: nothing had to be on line yet
            h.append("<li>Paquetes de Difusión PREP de cortes anteriores al ").append(esc(time.format(onlineFrom)))
                    .append(" (de prueba o de un simulacro) no publicados o publicados con retraso, cuando los resultados aún no debían estar ")
                    .append("publicados (no afectaron la publicación y no se detallan): ")
                    .append("<span id=\"paquetes-antes\">").append(packagesBefore).append("</span></li>\n");
        }
        if (publishedBefore > 0) {
            h.append("<li>Paquetes de Difusión PREP de cortes anteriores al ").append(esc(time.format(onlineFrom)))
                    .append(" (de prueba o de un simulacro) publicados cuando los resultados aún no debían estar publicados (no se cuentan ")
                    .append("entre los cortes publicados): <span id=\"publicados-antes\">").append(publishedBefore).append("</span></li>\n");
        }
        List<LateCorte> late = lateCortes(night, zone, onlineFrom);
        h.append("<li>Cortes publicados más de ").append(LATE_AFTER.toMinutes()).append(" minutos después de su hora de corte: <span id=\"cortes-con-demora\">")
                .append(late.size()).append("</span></li>\n");
        List<StaleWindow> stale = staleWindows(night, zone, onlineFrom, end);
        h.append("<li>Tiempo en que el portal mostraba un corte de más de ").append(LATE_AFTER.toMinutes())
                .append(" minutos de antigüedad (o aún ningún corte), hasta la publicación del siguiente: <span id=\"tiempo-desactualizado\">")
                .append(esc(duration(stale.stream().map(StaleWindow::length).reduce(Duration.ZERO, Duration::plus)))).append("</span></li>\n");
        if (!night.team().isEmpty()) {
            h.append("<li>Incidencias anotadas por el equipo del Difusor mientras los resultados debían estar publicados: <span id=\"anotadas\">")
                    .append(teamAffecting(night, onlineFrom, end).size()).append("</span></li>\n");
        }
        h.append("</ul>\n");

        List<Incident> affecting = affecting(night.incidents(), onlineFrom, end, now);
        if (affecting.isEmpty()) {
            h.append("<p id=\"sin-incidencias\">").append(portal.isEmpty() ? "No se configuró el monitoreo del portal; por ello no hay incidencias del portal registradas, lo que no implica que no las hubiera."
                    : "El monitoreo del portal no registró incidencias mientras los resultados debían estar publicados.").append("</p>\n");
        } else {
            h.append("<table id=\"incidencias\">\n<thead><tr><th>Inicio</th><th>Fin</th><th>Duración dentro del periodo de publicación</th><th>Incidencia</th><th>Detalle técnico</th></tr></thead>\n<tbody>\n");
            for (Incident i : affecting) {
                Instant s = Instant.parse(i.start());
                h.append("<tr><td>").append(esc(time.format(s))).append(s.isBefore(onlineFrom) ? " (antes del inicio de la publicación)" : "").append("</td><td>")
                        .append(i.end() == null ? "en curso" : esc(time.format(Instant.parse(i.end())))).append("</td><td class=\"n\">")
                        .append(esc(duration(overlap(i, onlineFrom, end, now)))).append("</td><td>")
                        .append(Kind.of(i).text)
                        .append("</td><td>").append(esc(detalle(i.detail(), time))).append("</td></tr>\n");
            }
            h.append("</tbody>\n</table>\n");
        }
        List<TeamLog.TeamIncident> team = teamAffecting(night, onlineFrom, end);
        if (!team.isEmpty()) {
            h.append("<h3>Incidencias anotadas por el equipo del Difusor</h3>\n<p>Incidencias que solo el personal pudo advertir (el monitoreo automático no las detecta), registradas durante la operación. ")
                    .append("No entran en la disponibilidad medida, que proviene del monitoreo automático del portal.</p>\n")
                    .append("<table id=\"incidencias-del-equipo\">\n<thead><tr><th>Inicio</th><th>Fin</th><th>Duración dentro del periodo de publicación</th>")
                    .append("<th>Incidencia</th></tr></thead>\n<tbody>\n");
            for (TeamLog.TeamIncident t : team) {
                h.append("<tr><td>").append(esc(time.format(t.start()))).append("</td><td>").append(esc(time.format(t.end())))
                        .append("</td><td class=\"n\">").append(esc(duration(t.within(onlineFrom, end)))).append("</td><td>")
                        .append(esc(t.description())).append("</td></tr>\n");
            }
            h.append("</tbody>\n</table>\n");
        }
        long teamBefore = night.team().size() - team.size();
        if (teamBefore > 0) {
            h.append("<p id=\"anotadas-antes\">Incidencias anotadas por el equipo antes del ").append(esc(time.format(onlineFrom)))
                    .append(", cuando los resultados aún no debían estar publicados (no se detallan): ").append(teamBefore).append("</p>\n");
        }
        int before = night.incidents().size() - affecting.size();
        if (before > 0 && !portal.isEmpty()) {
            // the call asks for the incidents that affected the publication: before it began there was none to affect
            h.append("<p id=\"antes-de-la-publicacion\">Incidencias del portal registradas antes del ").append(esc(time.format(onlineFrom)))
                    .append(", cuando los resultados aún no debían estar publicados (no afectaron la publicación y no se detallan): ").append(before).append("</p>\n");
        }
        if (!late.isEmpty()) {
            h.append("<h3>Cortes publicados con demora</h3>\n<p>Mientras tanto, el portal mostraba el corte anterior, el último publicado.</p>\n")
                    .append("<table id=\"demoras\">\n<thead><tr><th>Corte</th><th>Publicado</th><th>Demora desde la hora del corte</th><th>Paquete</th></tr></thead>\n<tbody>\n");
            for (LateCorte l : late) {
                h.append("<tr><td>").append(esc(l.record().corte().replace('T', ' '))).append("</td><td>")
                        .append(esc(time.format(Instant.parse(l.record().outcomeAt())))).append("</td><td class=\"n\">").append(esc(duration(l.delay())))
                        .append("</td><td>").append(esc(l.record().packageName())).append("</td></tr>\n");
            }
            h.append("</tbody>\n</table>\n");
        }
        if (!stale.isEmpty()) {
            h.append("<h3>Lapsos con un corte de más de ").append(LATE_AFTER.toMinutes()).append(" minutos de antigüedad en línea</h3>\n")
                    .append("<p>Desde que el corte mostrado cumplió ").append(LATE_AFTER.toMinutes())
                    .append(" minutos de antigüedad (o desde el inicio de la publicación, sin corte aún) hasta que se publicó uno más reciente. ")
                    .append("El monitoreo automático no detecta estos lapsos, porque compara el portal con lo publicado por el Difusor. La hora ")
                    .append("del siguiente corte indica si el Instituto generó cortes informativos en ese lapso (tres por hora) o no; no entran en ")
                    .append("la disponibilidad medida.</p>\n")
                    .append("<table id=\"cortes-desactualizados\">\n<thead><tr><th>Desde</th><th>Hasta</th><th>Duración</th><th>Corte en línea</th>")
                    .append("<th>Siguiente corte publicado</th></tr></thead>\n<tbody>\n");
            for (StaleWindow w : stale) {
                h.append("<tr><td>").append(esc(time.format(w.from()))).append("</td><td>").append(esc(time.format(w.to()))).append("</td><td class=\"n\">")
                        .append(esc(duration(w.length()))).append("</td><td>")
                        .append(w.shown() == null ? "ninguno" : esc(w.shown().corte().replace('T', ' ') + " (" + w.shown().packageName() + ")"))
                        .append("</td><td>").append(esc(w.next().corte().replace('T', ' ') + " (" + w.next().packageName() + ")")).append("</td></tr>\n");
            }
            h.append("</tbody>\n</table>\n");
        }
        if (!refused.isEmpty()) {
            h.append("<h3>Paquetes de Difusión PREP no publicados</h3>\n<p>El portal siguió mostrando el último corte publicado; cada paquete quedó resguardado con su reporte.</p>\n");
            packageTable(h, "paquetes-rechazados", refused, time);
        }
        if (!publishedLater.isEmpty()) {
            // the CSV lists each one: so does the report the institute reads beside it
            h.append("<h3>Paquetes de Difusión PREP publicados con retraso</h3>\n<p>Cada uno se publicó después, al resolverse la falla o al republicarlo el operador.</p>\n");
            packageTable(h, "paquetes-con-retraso", publishedLater, time);
        }

        h.append("<h2>2. Estadísticas de visitas, páginas y accesos</h2>\n")
                .append("<table id=\"estadisticas\">\n<thead><tr><th>Día</th><th>Visitas</th><th>Visitantes</th><th>Páginas</th><th>Accesos</th>")
                .append("<th>Solicitudes</th><th>Errores</th><th>Solicitudes automáticas</th></tr></thead>\n<tbody>\n");
        for (Day d : figures.days()) {
            h.append("<tr><td>").append(esc(DAY.format(d.date()))).append("</td>");
            cells(h, d);
        }
        h.append("</tbody>\n<tfoot><tr><td>Total del periodo</td>");
        cells(h, figures.total());
        h.append("</tfoot>\n</table>\n");
        if (figures.peakHour() != null) {
            // an hour, not an instant: "21:00:00" read as the moment of a peak
            h.append("<p>Hora de mayor tráfico: <span id=\"hora-pico\">").append(esc(LONG_DATE.format(figures.peakHour())))
                    .append(", de ").append(esc(HOUR.format(figures.peakHour()))).append(" a ")
                    .append(esc(HOUR.format(figures.peakHour().plusMinutes(59)))).append("</span>, con ").append(number(figures.peakHourAccesses())).append(" accesos.</p>\n");
        }
        h.append("<h3>Definiciones</h3>\n<ul>\n")
                .append("<li><b>Accesos</b>: solicitudes atendidas con éxito por la red de entrega de contenidos (CDN; códigos 2xx y 304): ")
                .append("cada archivo entregado (HTML, CSS, JavaScript, JSON, CSV) cuenta como un acceso.</li>\n")
                .append("<li><b>Páginas</b>: accesos a documentos HTML. El sitio del PREP es de una sola página (SPA): las consultas dentro ")
                .append("del sitio no descargan un nuevo documento HTML, por lo que esta cifra no equivale a páginas vistas. Antes del primer ")
                .append("corte, la página de espera se recarga automáticamente cada minuto: cada recarga cuenta como una página y un acceso.</li>\n")
                .append("<li><b>Visitas</b>: series de accesos de un mismo visitante sin pausas mayores de 30 minutos; cada visita se contabiliza en el día en que empieza.</li>\n")
                .append("<li><b>Visitantes</b>: combinaciones distintas de dirección IP y navegador con al menos un acceso, por día; en la fila «Total del periodo», visitantes distintos en todo el periodo, por lo que no es la suma de los días. ")
                .append("Es una estimación: las personas que comparten una dirección (una red móvil o una oficina) con la misma versión de navegador ")
                .append("cuentan como un visitante, y sus visitas se juntan; quien cambia de dirección durante el periodo cuenta más de una vez.</li>\n")
                .append("<li><b>Solicitudes</b>: todas las registradas. <b>Errores</b>: las respondidas con códigos 4xx (por ejemplo, archivos ")
                .append("inexistentes) o 5xx; no indican por sí mismos que el portal estuviera no disponible.</li>\n")
                .append("<li><b>Solicitudes automáticas</b>: las de programas que se identifican como tales (buscadores, redes sociales, ")
                .append("scripts y bibliotecas HTTP, monitores), las que no identifican su navegador y las de métodos distintos de GET y POST ")
                .append("(HEAD u OPTIONS: verificaciones de disponibilidad, no consultas). Se incluyen en Solicitudes y Errores, ")
                .append("pero no en los accesos, páginas, visitas ni visitantes, que cuentan a las personas que consultaron el portal.</li>\n")
                .append("<li>Las solicitudes del monitoreo del propio Difusor (").append(number(figures.probeRequests()))
                .append(") no se cuentan en ninguna cifra.")
                .append(figures.unsignedProbeRequests() == 0 ? "" : " Las que usan su nombre sin una firma válida (<span id=\"sin-firma\">"
                        + number(figures.unsignedProbeRequests()) + "</span>) se cuentan como solicitudes automáticas.")
                .append("</li>\n")
                // the call has the institute check the portal all night: the report says whether its checks are counted
                .append(figures.monitorAddresses().isEmpty()
                        ? "<li>No se configuraron las direcciones IP desde las que el Instituto verifica la disponibilidad; sus solicitudes se "
                                + "cuentan como automáticas si se identifican como programa y, si no, como las de cualquier visitante.</li>\n"
                        : "<li>Las solicitudes de las verificaciones de disponibilidad del Instituto (desde " + esc(String.join(", ", figures.monitorAddresses()))
                                + ": <span id=\"monitoreo-instituto\">" + number(figures.monitorRequests()) + "</span>) no se cuentan en ninguna cifra.</li>\n")
                .append("<li>Fuentes: ").append(esc(sources)).append(". Líneas de registro ilegibles: ").append(number(figures.unreadableLines()))
                .append(".</li>\n")
                .append(figures.unreadableFiles().isEmpty() ? "" : "<li>Archivos de registro leídos solo en parte (<span id=\"archivos-ilegibles\">"
                        + figures.unreadableFiles().size() + "</span>): " + esc(String.join("; ", figures.unreadableFiles()))
                        + ". Sus solicitudes posteriores al fallo no están en ninguna cifra.</li>\n")
                .append("</ul>\n")
                .append("</body>\n</html>\n");
        return h.toString();
    }

    private static void packageTable(StringBuilder h, String id, List<QuarantineReport> reports, DateTimeFormatter time) {
        h.append("<table id=\"").append(id).append("\">\n<thead><tr><th>Fecha y hora de la falla o del rechazo</th><th>Paquete</th><th>Motivo</th><th>Etapa</th></tr></thead>\n<tbody>\n");
        for (QuarantineReport r : reports) {
            // a report without its reason (written by hand, or damaged) is shown as such, not taken for a zip's fault
            h.append("<tr><td>").append(esc(time.format(Instant.parse(r.time())))).append("</td><td>").append(esc(r.packageName()))
                    .append("</td><td>").append(r.reason() == null ? "motivo no registrado"
                            : esc(REASONS.getOrDefault(r.reason(), UNSAFE_ZIP)) + " (" + esc(r.reason()) + ")")
                    .append("</td><td>").append(esc(paso(r.step()))).append("</td></tr>\n");
        }
        h.append("</tbody>\n</table>\n");
    }

    /** The team's incidents with some time inside [from, to), as the probe's are chosen. */
    private static List<TeamLog.TeamIncident> teamAffecting(Night night, Instant from, Instant to) {
        return night.team().stream().filter(t -> t.touches(from, to)).toList();
    }

    /** The daily figures, one row per day and the total, for the institute's format. */
    public static String dailyCsv(Figures figures) {
        // the days' bounds in the header: a CSV travels without the HTML that names the zone
        String offset = figures.days().isEmpty() ? "" : " (" + utcOffset(figures.zone(), figures.days().get(0).date()) + ")";
        StringBuilder csv = new StringBuilder("fecha" + offset + ",visitas,visitantes,paginas,accesos,solicitudes,errores,solicitudes_automaticas\n");
        for (Day d : figures.days()) {
            csv.append(d.date()).append(',');
            row(csv, d);
        }
        csv.append("total,");
        row(csv, figures.total());
        return csv.toString();
    }

    /**
     * Incidents that affected the publication and packages not published, times in Tiempo del Centro. The incidents'
     * span is the availability's: from {@code publicationFrom} to the end of {@code to}.
     */
    public static String incidentsCsv(Night night, Instant now, ZoneId zone, LocalDateTime publicationFrom, LocalDate to) {
        DateTimeFormatter time = TIME_PATTERN.withZone(zone);
        Instant periodStart = publicationFrom.atZone(zone).toInstant();
        Instant periodEnd = to.plusDays(1).atStartOfDay(zone).toInstant();
        // one list in the order things began, whatever their kind (kind by kind, an outage at 23:00 came before a note
        // at 21:00); duracion_segundos: the part inside that span; inicio and fin as they were
        List<Map.Entry<Instant, String>> rows = new ArrayList<>();
        for (Incident i : affecting(night.incidents(), periodStart, periodEnd, now)) {
            Instant s = Instant.parse(i.start());
            Instant e = i.end() == null ? null : Instant.parse(i.end());
            rows.add(Map.entry(s, Kind.of(i).csv + ',' + time.format(s) + ',' + (e == null ? "en curso" : time.format(e)) + ','
                    + overlap(i, periodStart, periodEnd, now).toSeconds() + ',' + quoted(detalle(i.detail(), time))));
        }
        for (TeamLog.TeamIncident t : teamAffecting(night, periodStart, periodEnd)) {
            rows.add(Map.entry(t.start(), "anotada_por_el_equipo," + time.format(t.start()) + ',' + time.format(t.end()) + ','
                    + t.within(periodStart, periodEnd).toSeconds() + ',' + quoted(t.description())));
        }
        for (QuarantineReport r : since(night.refused(), publicationFrom, zone)) {
            Instant at = Instant.parse(r.time());
            rows.add(Map.entry(at, "paquete_no_publicado," + time.format(at) + ",,," + quoted(r.packageName() + ": " + motivo(r))));
        }
        for (QuarantineReport r : since(night.publishedLater(), publicationFrom, zone)) {
            Instant at = Instant.parse(r.time());
            rows.add(Map.entry(at, "paquete_publicado_con_retraso," + time.format(at) + ",,," + quoted(r.packageName() + ": " + motivo(r))));
        }
        // inicio: the corte's own time; fin: when it went on line
        for (LateCorte l : lateCortes(night, zone, periodStart)) {
            Instant on = Instant.parse(l.record().outcomeAt());
            Instant corte = on.minus(l.delay());
            rows.add(Map.entry(corte, "corte_publicado_con_demora," + time.format(corte) + ',' + time.format(on) + ','
                    + l.delay().toSeconds() + ',' + quoted(l.record().packageName() + ": corte " + l.record().corte())));
        }
        for (StaleWindow w : staleWindows(night, zone, periodStart, periodEnd)) {
            rows.add(Map.entry(w.from(), "corte_desactualizado_en_linea," + time.format(w.from()) + ',' + time.format(w.to()) + ','
                    + w.length().toSeconds() + ',' + quoted(w.detail())));
        }
        rows.sort(Map.Entry.comparingByKey());   // stable: same start, the order above
        String offset = " (" + utcOffset(zone, publicationFrom.toLocalDate()) + ")";
        StringBuilder csv = new StringBuilder("tipo,inicio" + offset + ",fin" + offset + ",duracion_segundos,detalle\n");
        rows.forEach(row -> csv.append(row.getValue()).append('\n'));
        return csv.toString();
    }

    private static void cells(StringBuilder h, Day d) {
        for (long v : new long[] {d.visits(), d.visitors(), d.pages(), d.accesses(), d.requests(), d.errors(), d.automated()}) {
            h.append("<td class=\"n\">").append(number(v)).append("</td>");
        }
        h.append("</tr>\n");
    }

    /** {@code UTC-06:00}: the zone's offset on that day (Mexico's zones keep theirs all year since 2022, checked at start). */
    static String utcOffset(ZoneId zone, LocalDate day) {
        return "UTC" + zone.getRules().getOffset(day.atTime(12, 0)).getId();
    }

    private static void row(StringBuilder csv, Day d) {
        csv.append(d.visits()).append(',').append(d.visitors()).append(',').append(d.pages()).append(',').append(d.accesses()).append(',')
                .append(d.requests()).append(',').append(d.errors()).append(',').append(d.automated()).append('\n');
    }

    /**
     * The hours of the measured span in which the access logs hold no request of the difusor's own probe: the
     * availability above does not vouch for them (pods scaled down, the probe failing on our side). An hour an outage
     * the probe saw start and end covers was watched (its requests may never have reached CloudFront: a DNS failure)
     * and is counted in the availability: not listed. Not so an incident still open, or one ended by the first probe
     * after a restart: nobody watched the time in between. Consecutive hours are shown as one span.
     */
    static String unmonitored(Figures figures, List<Incident> incidents, Instant from, Instant to, Instant now, DateTimeFormatter time) {
        if (figures.probeRequests() == 0) {
            return "<li>Horas sin monitoreo: <span id=\"sin-monitoreo\">no se pueden comprobar</span> (" + (figures.unsignedProbeRequests() == 0
                    ? "los registros no contienen solicitudes del monitoreo del Difusor"
                    : "ninguna solicitud con el nombre del monitoreo del Difusor lleva una firma válida") + ")</li>\n";
        }
        List<Instant> hours = figures.unprobedHours().stream()
                .filter(h -> !h.plusSeconds(3600).isBefore(from.plusSeconds(1)) && h.isBefore(to))
                .filter(h -> incidents.stream().filter(MemoriaReport::watchedThroughout)
                        .noneMatch(i -> !overlap(i, h, h.plusSeconds(3600), now).isZero())).toList();
        StringBuilder li = new StringBuilder("<li>Horas sin registro del monitoreo del Difusor (en ellas no se verificó la disponibilidad; el porcentaje las cuenta como tiempo disponible, salvo las que caen dentro de una incidencia registrada): <span id=\"sin-monitoreo\">")
                .append(hours.size()).append("</span>");
        if (!hours.isEmpty()) {
            li.append(" (").append(spans(hours, time)).append(")");
            long unlogged = hours.stream().filter(figures.unloggedHours()::contains).count();
            if (unlogged > 0) {
                // no request of anyone in those hours: the logs are what is missing, the probe may have run all along
                li.append("; ").append(unlogged).append(unlogged == 1 ? " de ellas no tiene" : " de ellas no tienen")
                        .append(" ningún registro de acceso (véase «Horas sin registros de acceso»)");
            }
        }
        return li.append("</li>\n").toString();
    }

    /** Hours (their starts, in order) as spans of consecutive hours, "desde a hasta; ...". */
    private static String spans(List<Instant> hours, DateTimeFormatter time) {
        List<String> spans = new java.util.ArrayList<>();
        Instant start = hours.get(0);
        Instant last = start;
        for (Instant h : hours.subList(1, hours.size())) {
            if (!h.equals(last.plusSeconds(3600))) {
                spans.add(esc(time.format(start)) + " a " + esc(time.format(last.plusSeconds(3599))));
                start = h;
            }
            last = h;
        }
        spans.add(esc(time.format(start)) + " a " + esc(time.format(last.plusSeconds(3599))));
        return String.join("; ", spans);
    }

    /** An outage the probe saw from its start to its end, with no restart in between. */
    private static boolean watchedThroughout(Incident i) {
        return i.light() == Light.RED && i.end() != null && (i.detail() == null || !i.detail().endsWith(RESTART) && !i.detail().contains(CARRIED));
    }

    /** The call's name for Jalisco's time, which has had no daylight saving time since 2022. */
    private static String zoneName(ZoneId zone) {
        return zone.getId().equals("America/Mexico_City") ? "Tiempo del Centro (UTC−6)" : zone.getId();
    }

    private static String number(long v) {
        return String.format(ES_MX, "%,d", v);
    }

    /**
     * A corte on line more than this long after its own time: two of the institute's 20-minute periods. The probe
     * compares the site with what the difusor published; a corte published late (nobody leading, a download that
     * never ended) leaves no other trace.
     */
    static final Duration LATE_AFTER = Duration.ofMinutes(40);

    /** A corte published {@code delay} after its own time. */
    record LateCorte(HistoryRecord record, Duration delay) {
    }

    /**
     * The cortes published more than {@link #LATE_AFTER} after their time, in the order they went on line. Only a
     * corte newer than every one before it counts: an operator's republish of an older corte is no delay.
     */
    static List<LateCorte> lateCortes(Night night, ZoneId zone, Instant onlineFrom) {
        List<LateCorte> late = new java.util.ArrayList<>();
        for (OnLine o : newerCortesOnLine(night)) {
            if (o.at().isBefore(onlineFrom)) {
                continue;   // on line before the results had to be: a rehearsal's corte is no delay of the publication
            }
            Duration delay = Duration.between(o.corte().at().atZone(zone).toInstant(), o.at());
            if (delay.compareTo(LATE_AFTER) > 0) {
                late.add(new LateCorte(o.record(), delay));
            }
        }
        return late;
    }

    /**
     * The reports of packages that concern the publication from {@code publicationFrom} on: by their corte (the 20:00
     * corte refused at 19:50 left the public without results at 20:00), or by when they were refused (a package of an
     * earlier corte refused at 21:05, a day mistyped in its name, was the night's own incident: its corte's results
     * never went on line). Only one both of an earlier corte and refused earlier (a rehearsal's, a test package) had
     * nothing to affect.
     */
    static List<QuarantineReport> since(List<QuarantineReport> reports, LocalDateTime publicationFrom, ZoneId zone) {
        return reports.stream().filter(r -> fromTheOpening(r.time(), r.corte(), publicationFrom, zone)).toList();
    }

    /**
     * Something of the night, a refusal or a publication: at or after the opening, or of a corte from then on (early:
     * the 20:00 corte refused or published at 19:50). Before both, a rehearsal's or a test package's.
     */
    private static boolean fromTheOpening(String at, String corte, LocalDateTime publicationFrom, ZoneId zone) {
        if (at == null || !Instant.parse(at).isBefore(publicationFrom.atZone(zone).toInstant())) {
            return true;
        }
        try {
            return corte != null && !LocalDateTime.parse(corte.replace(' ', 'T')).isBefore(publicationFrom);
        } catch (java.time.format.DateTimeParseException unreadable) {
            return false;   // judged by its time alone
        }
    }

    /** A corte that went on line at {@code at}. */
    private record OnLine(HistoryRecord record, mx.prep.difusor.state.Corte corte, Instant at) {
    }

    /**
     * The published cortes, in the order they went on line, each newer than every one before it: an operator's
     * republish of an older corte put back what was on line, it brought nothing new.
     */
    private static List<OnLine> newerCortesOnLine(Night night) {
        List<OnLine> online = new java.util.ArrayList<>();
        mx.prep.difusor.state.Corte newest = null;
        for (HistoryRecord r : night.packages()) {
            if (!"published".equals(r.outcome()) || r.corte() == null || r.outcomeAt() == null) {
                continue;
            }
            mx.prep.difusor.state.Corte corte;
            try {
                corte = mx.prep.difusor.state.Corte.parse(r.corte());
            } catch (RuntimeException unreadable) {
                continue;
            }
            if (newest == null || corte.isNewerThan(newest)) {
                newest = corte;
                online.add(new OnLine(r, corte, Instant.parse(r.outcomeAt())));
            }
        }
        return online;
    }

    /**
     * A time the site showed a corte more than {@link #LATE_AFTER} old, or no corte yet that long after the publication
     * began, until a newer corte went on line. The probe compares the site with what the difusor published, so it sees
     * nothing of a corte that was never fetched (nobody leading, the source unreachable): with a manifest only the
     * newest corte is on offer, and the one finally published may be on time though the ones before it never were.
     *
     * @param shown the corte on line meanwhile, null before the first
     */
    record StaleWindow(Instant from, Instant to, HistoryRecord shown, HistoryRecord next) {

        Duration length() {
            return Duration.between(from, to);
        }

        String detail() {
            return (shown == null ? "sin corte publicado" : "se mostraba " + shown.packageName() + " (corte " + shown.corte().replace('T', ' ') + ")")
                    + "; siguiente: " + next.packageName() + " (corte " + next.corte().replace('T', ' ') + ")";
        }
    }

    /**
     * The stale windows inside [{@code onlineFrom}, {@code end}), in order. Only a corte newer than every one before it
     * counts, as for {@link #lateCortes}; after the last corte of the night nothing newer comes, and nothing is counted.
     */
    static List<StaleWindow> staleWindows(Night night, ZoneId zone, Instant onlineFrom, Instant end) {
        List<StaleWindow> windows = new java.util.ArrayList<>();
        OnLine shown = null;
        for (OnLine next : newerCortesOnLine(night)) {
            Instant staleFrom = shown == null ? onlineFrom.plus(LATE_AFTER)
                    : max(shown.corte().at().atZone(zone).toInstant().plus(LATE_AFTER), shown.at());
            Instant from = max(staleFrom, onlineFrom);
            Instant to = next.at().isBefore(end) ? next.at() : end;
            if (from.isBefore(to)) {
                windows.add(new StaleWindow(from, to, shown == null ? null : shown.record(), next.record()));
            }
            shown = next;
        }
        return windows;
    }

    static String duration(Duration d) {
        long s = d.toSeconds();
        return String.format("%d h %02d min %02d s", s / 3600, s / 60 % 60, s % 60);
    }

    /**
     * A text cell, quoted; one that starts as a formula would (=, +, -, @, a tab or a return) gets a leading
     * apostrophe, so a spreadsheet opening the CSV shows the team's words instead of running them.
     */
    private static String quoted(String s) {
        if (s == null) {
            return "";
        }
        String text = !s.isEmpty() && "=+-@\t\r".indexOf(s.charAt(0)) >= 0 ? "'" + s : s;
        return "\"" + text.replace("\"", "\"\"") + "\"";
    }

    private static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
