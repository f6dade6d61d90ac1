package mx.prep.difusor.memoria;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.camel.impl.DefaultCamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.DifusorConfiguration;
import mx.prep.difusor.ObjectStore;
import mx.prep.difusor.Settings;
import mx.prep.difusor.memoria.OperationRecords.Night;
import mx.prep.difusor.memoria.SiteTraffic.Figures;
import mx.prep.difusor.probe.ProbeSignature;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Writes the memoria técnica the call asks of each difusor after election night (section IX): the report of
 * incidents and the visits, pages and accesses of the portal over a period (2 to 9 June in the call). A command run
 * once, with the service's configuration, not part of the pipeline:
 * {@code java -cp prep-difusor.jar mx.prep.difusor.memoria.MemoriaTecnica} (README, "Memoria técnica").
 *
 * <p>Reads the CDN's access logs from {@code difusor.memoria.logs} (an {@code s3://bucket/prefix} where CloudFront's
 * standard logging delivers, or a local folder of downloaded logs) and the difusor's own records from the history
 * bucket; writes {@code memoria-tecnica.html}, {@code estadisticas-diarias.csv} and {@code incidencias.csv} into
 * {@code difusor.memoria.out}.
 */
public final class MemoriaTecnica {

    private static final Logger LOG = LoggerFactory.getLogger(MemoriaTecnica.class);

    /** CloudFront names each log file by the UTC hour it covers: distribution.YYYY-MM-DD-HH.unique.gz. */
    /** CloudFront's standard log file name: {@code <distribution id>.<yyyy-MM-dd-HH>.<unique id>.gz}. */
    private static final Pattern DISTRIBUTION = Pattern.compile("([A-Z0-9]{8,20})\\.\\d{4}-\\d{2}-\\d{2}-\\d{2}\\.");
    private static final Pattern LOG_HOUR = Pattern.compile("\\.(\\d{4}-\\d{2}-\\d{2}-\\d{2})\\.");
    private static final DateTimeFormatter HOUR = DateTimeFormatter.ofPattern("yyyy-MM-dd-HH");
    /** Log files fetched side by side (S3 GETs of gzip files, a few hundred KB each). */
    private static final int READERS = 8;

    /** What was written. */
    public record Written(Path html, Path dailyCsv, Path incidentsCsv, Figures figures, Night night, int logFiles) {
    }

    private final ObjectStore store;
    private final OperationRecords records;
    private final ProbeSignature probe;
    private final Clock clock;
    /** The PREP's distributions (difusor.cdn.distribution-ids): another's logs in the same place are not counted. */
    private java.util.Set<String> distributionIds = java.util.Set.of();
    /** Distributions whose logs were found beside the PREP's and not counted: named in the report's sources. */
    private final java.util.Set<String> leftOutDistributions = new java.util.TreeSet<>();
    /** Where they serve the PREP (difusor.cdn.path-prefix): the rest of a shared distribution is not counted. */
    private String cdnPathPrefix = "";
    private MonitorAddresses institute = MonitorAddresses.NONE;

    public MemoriaTecnica(ObjectStore store, OperationRecords records, Clock clock) {
        this(store, records, ProbeSignature.of(null), clock);
    }

    /** @param probe how the difusor's probe signed its requests: the same difusor.probe.signing-key as the pods' */
    public MemoriaTecnica(ObjectStore store, OperationRecords records, ProbeSignature probe, Clock clock) {
        this.store = store;
        this.records = records;
        this.probe = probe;
        this.clock = clock;
    }

    /**
     * Counts only the PREP's own traffic: the log files of these distributions (every file when empty; a file named
     * otherwise than CloudFront names them is read), and requests under this path prefix ("" for all).
     */
    public MemoriaTecnica site(List<String> distributionIds, String cdnPathPrefix) {
        this.distributionIds = java.util.Set.copyOf(distributionIds);
        this.cdnPathPrefix = cdnPathPrefix == null ? "" : cdnPathPrefix;
        return this;
    }

    /**
     * The addresses (or blocks) the institute checks the portal from (difusor.memoria.monitor-addresses): their requests
     * are in no figure, and the report says how many there were.
     *
     * @throws IllegalArgumentException for an entry that is no address or block, before any log is read
     */
    public MemoriaTecnica institutesChecksFrom(List<String> addresses) {
        this.institute = MonitorAddresses.of(addresses);
        return this;
    }

    public static void main(String[] args) throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            // the service's own configuration: application.properties, -D and environment variables, as in the pod
            context.getPropertiesComponent().setLocation("file:application.properties");
            Settings.requireKnownOverrides(context.getPropertiesComponent(), System.getenv(), System.getProperties());
            Settings settings = new Settings(context.getPropertiesComponent());
            try (S3Client s3 = DifusorConfiguration.s3Client(settings)) {
                ObjectStore store = new ObjectStore(s3);
                OperationRecords records = new OperationRecords(store, settings.required("difusor.history.bucket"),
                        settings.prefix("difusor.history.prefix"), settings.prefix("difusor.quarantine.prefix"),
                        settings.prefix("difusor.probe.incidents-prefix"));
                LOG.info("memoria técnica: access logs from {}, the difusor's records from {}", settings.text("difusor.memoria.logs"), records.location());
                // every distribution that served the PREP in the period: the pods' list names only today's (after a switch
                // to the contingency distribution, the one of the election night is no longer in it)
                List<String> distributions = settings.list("difusor.memoria.distribution-ids").isEmpty()
                        ? settings.list("difusor.cdn.distribution-ids") : settings.list("difusor.memoria.distribution-ids");
                Written w = new MemoriaTecnica(store, records, ProbeSignature.of(settings.text("difusor.probe.signing-key"),
                        settings.list("difusor.probe.previous-signing-keys")), Clock.systemUTC())
                        // the path prefix only as set: a guess from the site's key prefix would count nothing when the
                        // distribution's origin path holds it
                        .site(distributions, settings.text("difusor.cdn.path-prefix"))
                        .institutesChecksFrom(settings.list("difusor.memoria.monitor-addresses"))
                        .write(settings.text("difusor.probe.url"),
                        setting(settings, "difusor.memoria.from", LocalDate::parse), setting(settings, "difusor.memoria.to", LocalDate::parse),
                        setting(settings, "difusor.memoria.publication-from", LocalDateTime::parse), setting(settings, "difusor.corte-zone", ZoneId::of),
                        settings.required("difusor.memoria.logs"), settings.text("difusor.memoria.team-log"), Path.of(settings.required("difusor.memoria.out")));
                LOG.info("memoria técnica written: {} ({} log files{}, {} visits, {} pages, {} accesses, {} incidents, {} packages not published)",
                        w.html().toAbsolutePath(), w.logFiles(), w.figures().unreadableFiles().isEmpty() ? ""
                                : " of which " + w.figures().unreadableFiles().size() + " read only in part",
                        w.figures().total().visits(), w.figures().total().pages(),
                        w.figures().total().accesses(), w.night().incidents().size(), w.night().refused().size());
            }
        }
    }

    private static <T> T setting(Settings settings, String key, Function<String, T> parse) {
        String value = settings.required(key);
        try {
            return parse.apply(value);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(key + " = " + value + ": " + e.getMessage(), e);
        }
    }

    public Written write(String portal, LocalDate from, LocalDate to, LocalDateTime publicationFrom, ZoneId zone, String logs, Path out)
            throws IOException, InterruptedException {
        return write(portal, from, to, publicationFrom, zone, logs, "", out);
    }

    /** @param teamLog the incidents the team wrote down ({@link TeamLog}): a file, s3://bucket/key, or empty */
    public Written write(String portal, LocalDate from, LocalDate to, LocalDateTime publicationFrom, ZoneId zone, String logs, String teamLog,
            Path out) throws IOException, InterruptedException {
        requireCurrentRules(zone.getId(), zone.getRules().getOffset(from.atTime(12, 0)), from);
        SiteTraffic traffic = new SiteTraffic(from, to, zone, probe).onlyUnder(cdnPathPrefix).excluding(institute);
        Instant start = from.atStartOfDay(zone).toInstant();
        Instant end = to.plusDays(1).atStartOfDay(zone).toInstant();
        // before the logs' minutes go by: a line the team mistyped stops the report at once
        List<TeamLog.TeamIncident> team = TeamLog.read(teamLog, store, zone);
        for (TeamLog.TeamIncident t : team) {
            if (!t.touches(start, end)) {
                throw new IllegalArgumentException(teamLog + ", line " + t.line() + ": " + t.start().atZone(zone).toLocalDateTime()
                        + " is outside the period " + from + " to " + to + " (a mistyped date?)");
            }
        }
        if (MemoriaReport.draft(clock.instant(), end)) {
            LOG.warn("written before {}, a day after the period's end: CloudFront delivers access logs late, so the figures may be"
                    + " incomplete; the report says it is a draft", end.plus(MemoriaReport.LOGS_LATE));
        }
        List<String> notLogs = new ArrayList<>();
        int files = readLogs(logs, start, end, traffic, notLogs);
        if (files == 0) {
            throw new IOException("no CloudFront access log for " + from + " to " + to + " in " + logs
                    + (notLogs.isEmpty() ? "" : " (" + notLogs.size() + " files there are not CloudFront access logs: " + notLogs + ")")
                    + ": is the distribution's standard logging on, and difusor.memoria.logs its bucket and prefix?");
        }
        Figures figures = traffic.figures();
        if (traffic.otherSiteRequests() > 0 && figures.total().requests() == 0) {
            LOG.warn("every one of the {} requests in the logs is outside {} (difusor.cdn.path-prefix): is it where the distribution serves"
                    + " the PREP? The figures are all 0", traffic.otherSiteRequests(), cdnPathPrefix);
        } else if (traffic.otherSiteRequests() > 0) {
            LOG.info("{} requests outside {} (the rest of the distribution's site) not counted", traffic.otherSiteRequests(), cdnPathPrefix);
        }
        if (probe.signs() && figures.probeRequests() == 0 && traffic.unsignedProbeRequests() > 0) {
            LOG.warn("none of the {} requests with the probe's name verifies with difusor.probe.signing-key: is it the key the pods"
                    + " signed with (a key changed during the period goes in difusor.probe.previous-signing-keys)? The report counts"
                    + " them as automated and the hours as unmonitored", traffic.unsignedProbeRequests());
        } else if (traffic.unsignedProbeRequests() > 0) {
            LOG.warn("{} requests named themselves the difusor's probe without its signature (difusor.probe.signing-key): counted as"
                    + " automated requests, not as monitoring", traffic.unsignedProbeRequests());
        }
        if (!figures.unloggedHours().isEmpty()) {
            // CloudFront logs from about four hours after standard logging is turned on, and a delivery may fail
            LOG.warn("{} hours of the period have no request at all in the logs, from {} (UTC): their logs are missing (logging turned on"
                    + " later, a delivery that failed, another distribution's logs), or nothing reached the distribution; the report says"
                    + " so, and its figures do not cover them", figures.unloggedHours().size(), figures.unloggedHours().get(0));
        }
        if (!probe.signs() && traffic.signedLookingProbeRequests() > 0) {
            LOG.warn("{} probe requests are signed, and difusor.probe.signing-key is empty here: any request with the probe's name"
                    + " counts as the probe's; set the pods' key", traffic.signedLookingProbeRequests());
        }
        Night night = records.read(start, end).withTeam(team);
        Instant now = clock.instant();
        Files.createDirectories(out);
        Path html = Files.writeString(out.resolve("memoria-tecnica.html"), MemoriaReport.html(portal, from, to, publicationFrom, figures, night, now,
                "registros de acceso de CloudFront en " + logs + (distributionIds.isEmpty() ? "" : " (distribuciones "
                        + String.join(", ", new java.util.TreeSet<>(distributionIds)) + ")") + (cdnPathPrefix.isBlank() || cdnPathPrefix.strip().equals("/") ? ""
                        : ", solo las solicitudes bajo " + cdnPathPrefix) + "; registros de operación del Difusor en " + records.location()
                        + (teamLog.isBlank() ? "" : "; incidencias anotadas por el equipo en " + teamLog)
                        + (notLogs.isEmpty() ? "" : "; no son registros de acceso de CloudFront, no se leyeron: " + String.join(", ", notLogs))
                        + (leftOutDistributions.isEmpty() ? "" : "; registros de otras distribuciones de CloudFront, no contados: "
                                + String.join(", ", leftOutDistributions))),
                StandardCharsets.UTF_8);
        // a draft's CSVs say so in their names (the HTML says it in its text): they are what goes into the institute's format
        boolean draft = MemoriaReport.draft(now, end);
        String suffix = draft ? "-borrador.csv" : ".csv";
        if (!draft) {
            Files.deleteIfExists(out.resolve("estadisticas-diarias-borrador.csv"));
            Files.deleteIfExists(out.resolve("incidencias-borrador.csv"));
        }
        // with a byte-order mark: Excel on Windows, where the institute's reviewers open them, reads UTF-8 as such only then
        // (without it, "no respondió" reads "no respondiÃ³")
        Path daily = Files.writeString(out.resolve("estadisticas-diarias" + suffix), "\uFEFF" + MemoriaReport.dailyCsv(figures),
                StandardCharsets.UTF_8);
        Path incidents = Files.writeString(out.resolve("incidencias" + suffix),
                "\uFEFF" + MemoriaReport.incidentsCsv(night, now, zone, publicationFrom, to), StandardCharsets.UTF_8);
        return new Written(html, daily, incidents, figures, night, files);
    }

    /**
     * Mexico ended daylight saving time in October 2022; a JDK whose time-zone data predates that (17.0.5 and older)
     * still moves Mexico City to UTC−5 in summer, and every hour of a June report would be one off while the report
     * says Tiempo del Centro (UTC−6).
     */
    static void requireCurrentRules(String zoneId, java.time.ZoneOffset offset, LocalDate from) {
        mx.prep.difusor.state.CorteHorizon.requireCurrentRules(zoneId, offset, from);
    }

    /** A log file, opened only when one of the {@link #READERS} fetchers gets to it. */
    record LogFile(String name, Callable<InputStream> opener) {
    }

    /** @return the files read as access logs, whole or in part; those that are none at all go into {@code notLogs} */
    private int readLogs(String logs, Instant start, Instant end, SiteTraffic traffic, List<String> notLogs) throws IOException,
            InterruptedException {
        List<LogFile> files = new ArrayList<>();
        if (logs.startsWith("s3://")) {
            // split by hand: a bucket name with dots and digits (logs.2024) is no host name to java.net.URI
            String location = logs.substring("s3://".length());
            String bucket = location.contains("/") ? location.substring(0, location.indexOf('/')) : location;
            String prefix = location.substring(bucket.length()).replaceFirst("^/", "");
            try {
                for (S3Object o : store.client().listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents()) {
                    if (!o.key().endsWith("/") && mayCover(o.key(), start, end)) {
                        files.add(new LogFile("s3://" + bucket + "/" + o.key(), () -> store.client().getObject(b -> b.bucket(bucket).key(o.key()))));
                    }
                }
            } catch (SdkException e) {
                throw new IOException("cannot list the access logs in " + logs + " (s3:ListBucket on that bucket, in difusor.s3.region?): "
                        + e.getMessage(), e);
            }
        } else {
            try (Stream<Path> walk = Files.walk(Path.of(logs))) {
                for (Path p : walk.filter(Files::isRegularFile).sorted().toList()) {
                    if (mayCover(p.getFileName().toString(), start, end)) {
                        files.add(new LogFile(p.toString(), () -> Files.newInputStream(p)));
                    }
                }
            }
        }
        files = readOnce(files, distributionIds, leftOutDistributions);
        // files are fetched side by side (S3 GETs) but read one at a time into the figures: only the compressed bytes of
        // the files in flight are held, whatever the traffic of an hour
        ExecutorService fetchers = Executors.newFixedThreadPool(READERS);
        try {
            Deque<Future<byte[]>> pending = new ArrayDeque<>();
            int next = 0;
            for (int done = 0; done < files.size(); done++) {
                while (next < files.size() && pending.size() < READERS) {
                    LogFile f = files.get(next++);
                    pending.add(fetchers.submit(() -> {
                        try (InputStream in = f.opener().call()) {
                            return in.readAllBytes();
                        } catch (Exception e) {
                            throw new IOException("cannot read the access log " + f.name() + ": " + e.getMessage(), e);
                        }
                    }));
                }
                byte[] bytes = pending.poll().get();
                try {
                    AccessLog.read(new ByteArrayInputStream(bytes), traffic::add, () -> traffic.unreadable(1));
                } catch (IOException e) {
                    // the file itself is damaged (a fetch that failed stopped above): fetched again it reads the same,
                    // so the report is written all the same and names it, with what was read before the fault
                    String name = files.get(done).name();
                    if (e.getMessage() != null && e.getMessage().startsWith(AccessLog.NOT_A_LOG)) {
                        // a stray file beside the logs (a README, a listing): nothing of the traffic is missing for it
                        LOG.warn("{} is not a CloudFront access log ({}): left out, and named in the report's sources", name, e.getMessage());
                        notLogs.add(name);
                        continue;
                    }
                    LOG.warn("access log {} could not be read to its end ({}): its requests read before that are counted, the report"
                            + " names the file", name, e.toString());
                    traffic.unreadableFile(name, damage(e));
                }
            }
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } finally {
            fetchers.shutdownNow();
        }
        return files.size() - notLogs.size();
    }

    /** What is wrong with a log file, in the report's words. */
    static String damage(IOException e) {
        if (e instanceof java.io.EOFException) {
            return "cortado antes de su fin";
        }
        if (e instanceof java.util.zip.ZipException) {
            return "gzip dañado";
        }
        return "ilegible (" + e.getClass().getSimpleName() + ")";
    }

    /**
     * Each log file once: CloudFront names every file uniquely ({@code <distribution>.<hour>.<id>.gz}), so the same
     * such name twice is a copy, not more traffic: one left unzipped beside its .gz ({@code gunzip -k}), or synced into
     * two folders. Counted twice, every figure of its hour would double. The .gz is read (an unzipped copy may be cut
     * short); a name CloudFront did not give (access.log.gz in one folder per day) is read wherever it is.
     */
    static List<LogFile> readOnce(List<LogFile> files) {
        return readOnce(files, java.util.Set.of());
    }

    static List<LogFile> readOnce(List<LogFile> files, java.util.Set<String> only) {
        return readOnce(files, only, new java.util.TreeSet<>());
    }

    /**
     * As {@link #readOnce(List)}, and only the files of the distributions {@code only} (all when empty): another site's
     * distribution logging to the same bucket and prefix would add its traffic to the PREP's. The distributions left out
     * go into {@code leftOut}: the one the PREP was served from before a switch to the contingency one is there too, if
     * the list does not name it.
     */
    static List<LogFile> readOnce(List<LogFile> files, java.util.Set<String> only, java.util.Set<String> leftOut) {
        java.util.Map<String, LogFile> once = new java.util.LinkedHashMap<>();
        List<LogFile> others = new ArrayList<>();
        List<String> copies = new ArrayList<>();
        java.util.Set<String> distributions = new java.util.TreeSet<>();
        for (LogFile f : files) {
            String name = f.name().substring(f.name().lastIndexOf('/') + 1);
            // found anywhere in the name: a logging prefix without a slash ("prep-") comes before CloudFront's own name
            Matcher cloudFront = DISTRIBUTION.matcher(name);
            if (!cloudFront.find()) {
                others.add(f);
                continue;
            }
            String distribution = cloudFront.group(1);
            int from = cloudFront.start();
            // a logging prefix ending in capitals or digits ("prep2024E1...") reads as part of the id: the id is its end
            for (String id : only) {
                if (!only.contains(distribution) && distribution.endsWith(id)) {
                    from = cloudFront.end(1) - id.length();
                    distribution = id;
                }
            }
            if (!only.isEmpty() && !only.contains(distribution)) {
                leftOut.add(distribution);
                continue;
            }
            name = name.substring(from);
            distributions.add(distribution);
            String key = name.endsWith(".gz") ? name.substring(0, name.length() - 3) : name;
            LogFile first = once.get(key);
            if (first == null) {
                once.put(key, f);
            } else {
                boolean gz = name.endsWith(".gz") && !first.name().endsWith(".gz");
                if (gz) {
                    once.put(key, f);
                }
                copies.add((gz ? first : f).name() + " (a copy of " + (gz ? f : first).name() + ")");
            }
        }
        if (!copies.isEmpty()) {
            LOG.warn("{} access log files left out as copies of another of the same name: {}", copies.size(),
                    copies.size() <= 5 ? copies : copies.subList(0, 5) + " and " + (copies.size() - 5) + " more");
        }
        if (!leftOut.isEmpty()) {
            LOG.warn("access logs of other CloudFront distributions than difusor.memoria.distribution-ids {} left out (named in the report's"
                    + " sources): {}; if one served the PREP during the period (before a switch to the contingency distribution), add it",
                    new java.util.TreeSet<>(only), leftOut);
        }
        if (distributions.size() > 1) {
            // the jornada's two distributions, or another site logging to the same place: the operator can tell
            LOG.info("access logs of {} CloudFront distributions, all counted: {}", distributions.size(), distributions);
        }
        List<LogFile> read = new ArrayList<>(once.values());
        read.addAll(others);
        return read;
    }

    /** A file named for an hour more than a day away from the period holds none of it (files run late, not that late). */
    static boolean mayCover(String name, Instant start, Instant end) {
        Matcher m = LOG_HOUR.matcher(name);
        if (!m.find()) {
            return true;
        }
        Instant hour = LocalDateTime.parse(m.group(1), HOUR).toInstant(ZoneOffset.UTC);
        return hour.isAfter(start.minusSeconds(86_400)) && hour.isBefore(end.plusSeconds(86_400));
    }
}
