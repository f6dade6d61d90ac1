package mx.prep.difusor.memoria;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

import mx.prep.difusor.memoria.AccessLog.Hit;
import mx.prep.difusor.probe.ProbeSignature;

/**
 * The visits, pages and accesses of the difusor's portal per day of the institute's time zone (Tiempo del Centro,
 * {@code difusor.corte-zone}), as the memoria técnica asks
 * (section IX of the call: "estadísticas de visitas, páginas y accesos ... del 2 al 9 de junio").
 * <ul>
 * <li><b>requests</b>: every request the CDN logged in the period;</li>
 * <li><b>accesses</b>: those answered with the content (2xx) or "not modified" (304), as web analytics count hits;</li>
 * <li><b>pages</b>: accesses to an HTML document (its Content-Type, or a path ending in .html, .htm or /);</li>
 * <li><b>visits</b>: runs of accesses from one visitor (client IP and User-Agent) with no pause longer than 30
 * minutes, counted on the day they start;</li>
 * <li><b>visitors</b>: distinct visitors with at least one access that day (in the total: in the period);</li>
 * <li><b>errors</b>: requests answered 4xx or 5xx;</li>
 * <li><b>automated</b>: requests from clients that say they are programs ({@link #isAutomated}): search engines' and
 * social networks' crawlers, scripts and HTTP libraries (the results' JSON is polled by other sites' scrapers all
 * night), uptime monitors, and requests without a User-Agent. They are in requests and errors, but in no access, page,
 * visit or visitor: the memoria is about the people who consulted the results.</li>
 * </ul>
 * The difusor's own probe (its User-Agent, {@link ProbeSignature}, signed when the difusor has a signing key) is
 * counted apart, in none of these; a request that names itself the probe without its signature is automated.
 * CloudFront delivers a log file per edge and period, not in time order: a visit is built from every access of its
 * visitor wherever it was logged, so the figures do not depend on the order the files are read in.
 */
public final class SiteTraffic {

    static final long VISIT_PAUSE_SECONDS = 30 * 60;

    /** One day's figures, or the period's in the total. */
    public record Day(LocalDate date, long requests, long accesses, long pages, long visits, long visitors, long errors, long automated) {
    }

    /**
     * What programs put in their User-Agent; a browser's never has these. A crawler names itself "...bot" followed by
     * its version or its URL ("Googlebot/2.1", "bingbot/2.0; +http://...", "AdsBot-Google"), which a phone whose brand
     * ends in "bot" ("CUBOT X30") does not.
     */
    private static final Pattern AUTOMATED = Pattern.compile("bot[/;)-]|\\+https?://|crawl|spider|slurp|scrap|curl/|wget/|python|go-http-client"
            + "|java/|java-http-client|okhttp|apache-httpclient|libwww|httpx|axios|node-fetch|undici|guzzlehttp|postmanruntime|dart[/:]"
            + "|headless|phantomjs|uptime|pingdom|statuscake|google-inspectiontool|mediapartners-google"
            + "|monitor|facebookexternalhit|whatsapp|preview|health-?check|googlehc|kube-probe|synthetics|nagios|check_http|zabbix|prometheus|blackbox|ms-office",
            Pattern.CASE_INSENSITIVE);

    /**
     * The figures of a period; {@code peakHour} is the local hour with most accesses (null without accesses).
     *
     * @param unprobedHours the hours of the period (their start) in which the logs hold no request of the difusor's own
     *                      probe: its availability figure does not cover them. Empty when the logs hold none at all
     *                      (a probe that does not go through this distribution: nothing to tell)
     * @param unloggedHours the hours of the period (their start) in which the logs hold no request at all, of anyone:
     *                      the difusor's probe alone asks every 30 s, so such an hour's logs are missing (standard logging
     *                      turned on late, a delivery that failed), or nothing reached the distribution
     * @param unreadableFiles the log files read only in part or not at all (a gzip cut short, not a CloudFront log), each
     *                      as "name: cause"; their requests read before the fault are counted
     * @param monitorAddresses the institute's checks' addresses as configured (empty: not told apart)
     * @param monitorRequests the requests from them, in no figure
     */
    public record Figures(ZoneId zone, List<Day> days, Day total, LocalDateTime peakHour, long peakHourAccesses, long unreadableLines,
                          long probeRequests, List<Instant> unprobedHours, List<Instant> unloggedHours, long unsignedProbeRequests, List<String> unreadableFiles,
                          List<String> monitorAddresses, long monitorRequests) {
    }

    private final LocalDate from;
    private final ZoneId zone;
    private final long[] dayStarts;
    private final long[] requests;
    private final long[] accesses;
    private final long[] pages;
    private final long[] errors;
    private final long[] automated;
    private final long[] hourlyAccesses;
    private final long[] hourlyProbes;
    /** Every request of the period, whoever made it: an hour without any is an hour without logs. */
    private final long[] hourlyLogged;
    private final Map<Visitor, Visits> visitors = new HashMap<>();
    private final MessageDigest md5;
    private long unreadableLines;
    private final List<String> unreadableFiles = new ArrayList<>();
    private long probeRequests;
    private long unsignedProbeRequests;
    private long signedLooking;
    private final ProbeSignature probe;
    /** Where the distribution serves the PREP ("" for all of it): a shared distribution's other pages are not ours. */
    private String sitePath = "";
    private long otherSite;
    private MonitorAddresses monitors = MonitorAddresses.NONE;
    private long monitorRequests;

    public SiteTraffic(LocalDate from, LocalDate to, ZoneId zone) {
        this(from, to, zone, ProbeSignature.of(null));
    }

    /** @param probe how the difusor's own probe signs its requests */
    public SiteTraffic(LocalDate from, LocalDate to, ZoneId zone, ProbeSignature probe) {
        this.probe = probe;
        int days = (int) ChronoUnit.DAYS.between(from, to) + 1;
        if (days < 1 || days > Long.SIZE) {
            throw new IllegalArgumentException("a period of 1 to " + Long.SIZE + " days, not " + from + " to " + to);
        }
        this.from = from;
        this.zone = zone;
        this.dayStarts = new long[days + 1];
        for (int d = 0; d <= days; d++) {
            dayStarts[d] = from.plusDays(d).atStartOfDay(zone).toEpochSecond();
        }
        this.requests = new long[days];
        this.accesses = new long[days];
        this.pages = new long[days];
        this.errors = new long[days];
        this.automated = new long[days];
        this.hourlyAccesses = new long[(int) ((dayStarts[days] - dayStarts[0]) / 3600)];
        this.hourlyProbes = new long[hourlyAccesses.length];
        this.hourlyLogged = new long[hourlyAccesses.length];
        try {
            this.md5 = MessageDigest.getInstance("MD5"); // a compact key per visitor, not a security measure
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Counts only requests under {@code cdnPathPrefix} (difusor.cdn.path-prefix, e.g. {@code /prep2024}): the rest of a
     * distribution the PREP shares with a newspaper's own pages is not the PREP's traffic.
     */
    public SiteTraffic onlyUnder(String cdnPathPrefix) {
        String p = cdnPathPrefix == null ? "" : cdnPathPrefix.replaceAll("^/+|/+$", "");
        this.sitePath = p.isEmpty() ? "" : "/" + p;
        return this;
    }

    /**
     * Counts the requests of the institute's availability checks (its addresses, difusor.memoria.monitor-addresses) apart,
     * in none of the figures: a browser-like checker every minute was about 1,700 "pages" of one "visitor" a night.
     */
    SiteTraffic excluding(MonitorAddresses institute) {
        this.monitors = institute;
        return this;
    }

    /** Requests left out as another site's (outside {@link #onlyUnder}). */
    public long otherSiteRequests() {
        return otherSite;
    }

    /** Counts one request; a request outside the period is ignored. */
    public void add(Hit hit) {
        long t = hit.at().getEpochSecond();
        int day = dayOf(t);
        if (day < 0) {
            return;
        }
        hourlyLogged[(int) ((t - dayStarts[0]) / 3600)]++;
        if (!sitePath.isEmpty() && !(hit.path().equals(sitePath) || hit.path().startsWith(sitePath + "/"))) {
            otherSite++;
            return;
        }
        if (monitors.contains(hit.clientIp())) {
            monitorRequests++;
            return;
        }
        boolean claimsProbe = ProbeSignature.claims(hit.userAgent());
        if (claimsProbe && ProbeSignature.looksSigned(hit.userAgent())) {
            signedLooking++;
        }
        if (claimsProbe && probe.isProbe(hit.userAgent(), hit.at())) {
            // the difusor's own probe, every 30 s from each replica: no visitor; an hour without it was not monitored
            probeRequests++;
            hourlyProbes[(int) ((t - dayStarts[0]) / 3600)]++;
            return;
        }
        if (claimsProbe) {
            // the probe's name without its signature: someone else's program, never monitoring nor a visitor
            unsignedProbeRequests++;
        }
        requests[day]++;
        if (hit.status() >= 400) {
            errors[day]++;
        }
        // a HEAD, an OPTIONS: a program checking the page (a load balancer's or an uptime service's health check), never
        // a person reading it
        if (claimsProbe || isAutomated(hit.userAgent()) || !isReading(hit.method())) {
            automated[day]++;
            return;
        }
        if (!(hit.status() >= 200 && hit.status() < 300 || hit.status() == 304)) {
            return;
        }
        accesses[day]++;
        hourlyAccesses[(int) ((t - dayStarts[0]) / 3600)]++;
        if (isPage(hit)) {
            pages[day]++;
        }
        visitors.computeIfAbsent(visitor(hit), v -> new Visits()).add(t, day);
    }

    /** Requests that named themselves the probe without its signature (counted as automated). */
    public long unsignedProbeRequests() {
        return unsignedProbeRequests;
    }

    /** Requests with the probe's name and a signature, right or not: a probe that signs, read without its key. */
    public long signedLookingProbeRequests() {
        return signedLooking;
    }

    public void unreadable(long lines) {
        unreadableLines += lines;
    }

    /** A log file whose content could not be read to its end: {@code cause} says why (the requests before it are counted). */
    public void unreadableFile(String name, String cause) {
        unreadableFiles.add(name + ": " + cause);
    }

    public Figures figures() {
        int days = requests.length;
        long[] visits = new long[days];
        long[] visitorsPerDay = new long[days];
        for (Visits v : visitors.values()) {
            for (int i = 0; i < v.count; i++) {
                visits[dayOf(v.spans[2 * i])]++;
            }
            for (int d = 0; d < days; d++) {
                if ((v.days & (1L << d)) != 0) {
                    visitorsPerDay[d]++;
                }
            }
        }
        List<Day> list = new ArrayList<>();
        for (int d = 0; d < days; d++) {
            list.add(new Day(from.plusDays(d), requests[d], accesses[d], pages[d], visits[d], visitorsPerDay[d], errors[d], automated[d]));
        }
        Day total = new Day(null, sum(requests), sum(accesses), sum(pages), sum(visits), visitors.size(), sum(errors), sum(automated));
        int peak = -1;
        for (int h = 0; h < hourlyAccesses.length; h++) {
            if (hourlyAccesses[h] > 0 && (peak < 0 || hourlyAccesses[h] > hourlyAccesses[peak])) {
                peak = h;
            }
        }
        LocalDateTime peakHour = peak < 0 ? null
                : LocalDateTime.ofInstant(Instant.ofEpochSecond(dayStarts[0] + peak * 3600L), zone);
        List<Instant> unprobed = new ArrayList<>();
        for (int h = 0; h < hourlyProbes.length && probeRequests > 0; h++) {
            if (hourlyProbes[h] == 0) {
                unprobed.add(Instant.ofEpochSecond(dayStarts[0] + h * 3600L));
            }
        }
        // logs read with no line in the period at all: every hour is without its logs, said as such
        List<Instant> unlogged = new ArrayList<>();
        for (int h = 0; h < hourlyLogged.length; h++) {
            if (hourlyLogged[h] == 0) {
                unlogged.add(Instant.ofEpochSecond(dayStarts[0] + h * 3600L));
            }
        }
        return new Figures(zone, list, total, peakHour, peak < 0 ? 0 : hourlyAccesses[peak], unreadableLines, probeRequests, List.copyOf(unprobed),
                List.copyOf(unlogged),
                unsignedProbeRequests, List.copyOf(unreadableFiles), monitors.written(), monitorRequests);
    }

    /** A client that says it is a program, or says nothing (no User-Agent: CloudFront logs "-"). */
    static boolean isAutomated(String userAgent) {
        return userAgent == null || userAgent.isBlank() || userAgent.equals("-") || AUTOMATED.matcher(userAgent).find();
    }

    /** GET, or POST; any when the log does not say (no cs-method field). */
    static boolean isReading(String method) {
        return method == null || method.equals("GET") || method.equals("POST");
    }

    static boolean isPage(Hit hit) {
        if (hit.contentType() != null) {
            return hit.contentType().toLowerCase(Locale.ROOT).startsWith("text/html");
        }
        String path = hit.path();
        return path.endsWith("/") || path.endsWith(".html") || path.endsWith(".htm");
    }

    private int dayOf(long epochSecond) {
        if (epochSecond < dayStarts[0] || epochSecond >= dayStarts[dayStarts.length - 1]) {
            return -1;
        }
        int i = Arrays.binarySearch(dayStarts, epochSecond);
        return i >= 0 ? i : -i - 2;
    }

    private Visitor visitor(Hit hit) {
        byte[] digest = md5.digest((hit.clientIp() + '\t' + hit.userAgent()).getBytes(StandardCharsets.UTF_8));
        ByteBuffer b = ByteBuffer.wrap(digest);
        return new Visitor(b.getLong(), b.getLong());
    }

    private static long sum(long[] values) {
        return Arrays.stream(values).sum();
    }

    private record Visitor(long high, long low) {
    }

    /**
     * One visitor's visits as sorted, disjoint time spans [start, end], more than 30 minutes apart: an access joins
     * the span it falls within 30 minutes of, which may join two spans into one visit.
     */
    static final class Visits {
        long days;
        long[] spans = new long[2];
        int count;

        void add(long t, int day) {
            days |= 1L << day;
            int last = count - 1;
            if (count > 0 && t >= spans[2 * last]) {
                // the common case: logs are mostly in time order
                if (t <= spans[2 * last + 1] + VISIT_PAUSE_SECONDS) {
                    spans[2 * last + 1] = Math.max(spans[2 * last + 1], t);
                    return;
                }
                insert(count, t);
                return;
            }
            int i = 0;
            while (i < count && spans[2 * i + 1] + VISIT_PAUSE_SECONDS < t) {
                i++;
            }
            if (i < count && t >= spans[2 * i] - VISIT_PAUSE_SECONDS) {
                spans[2 * i] = Math.min(spans[2 * i], t);
                spans[2 * i + 1] = Math.max(spans[2 * i + 1], t);
                if (i + 1 < count && spans[2 * (i + 1)] - spans[2 * i + 1] <= VISIT_PAUSE_SECONDS) {
                    spans[2 * i + 1] = Math.max(spans[2 * i + 1], spans[2 * (i + 1) + 1]);
                    System.arraycopy(spans, 2 * (i + 2), spans, 2 * (i + 1), 2 * (count - i - 2));
                    count--;
                }
                return;
            }
            insert(i, t);
        }

        private void insert(int i, long t) {
            if (2 * (count + 1) > spans.length) {
                spans = Arrays.copyOf(spans, spans.length * 2);
            }
            System.arraycopy(spans, 2 * i, spans, 2 * (i + 1), 2 * (count - i));
            spans[2 * i] = t;
            spans[2 * i + 1] = t;
            count++;
        }
    }
}
