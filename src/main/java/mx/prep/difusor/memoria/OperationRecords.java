package mx.prep.difusor.memoria;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

import mx.prep.difusor.ObjectStore;
import mx.prep.difusor.archive.HistoryArchiver.HistoryRecord;
import mx.prep.difusor.probe.InstituteProbe.Incident;
import mx.prep.difusor.quarantine.QuarantineReport;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * What the difusor itself recorded in the history bucket during the night, for the memoria técnica's report of
 * incidents: the probe's incidents (the page unavailable or behind), the packages refused to quarantine (the site
 * stayed on the previous corte) and the outcome of every package received.
 */
public final class OperationRecords {

    /**
     * Everything recorded that touches [from, to). {@code refused}: packages never published; {@code publishedLater}:
     * refused once (S3 or the network failing past every retry) and published afterwards.
     */
    public record Night(List<Incident> incidents, List<QuarantineReport> refused, List<QuarantineReport> publishedLater,
                        List<HistoryRecord> packages, List<TeamLog.TeamIncident> team) {

        public Night(List<Incident> incidents, List<QuarantineReport> refused, List<QuarantineReport> publishedLater,
                List<HistoryRecord> packages) {
            this(incidents, refused, publishedLater, packages, List.of());
        }

        /** With the incidents the team wrote down. */
        public Night withTeam(List<TeamLog.TeamIncident> written) {
            return new Night(incidents, refused, publishedLater, packages, written);
        }
    }

    private final ObjectStore store;
    private final String bucket;
    private final String historyPrefix;
    private final String quarantinePrefix;
    private final String incidentsPrefix;

    public OperationRecords(ObjectStore store, String bucket, String historyPrefix, String quarantinePrefix, String incidentsPrefix) {
        this.store = store;
        this.bucket = bucket;
        this.historyPrefix = historyPrefix;
        this.quarantinePrefix = quarantinePrefix;
        this.incidentsPrefix = incidentsPrefix;
    }

    /** Where the records are read from, for the report's sources. */
    public String location() {
        return "s3://" + bucket + "/ (" + incidentsPrefix + ", " + quarantinePrefix + ", " + historyPrefix + ")";
    }

    public Night read(Instant from, Instant to) throws IOException {
        List<Incident> incidents = merged(read(incidentsPrefix, ".json", Incident.class,
                i -> i.start() != null && Instant.parse(i.start()).isBefore(to) && (i.end() == null || Instant.parse(i.end()).isAfter(from))));
        List<HistoryRecord> packages = read(historyPrefix, ".json", HistoryRecord.class, r -> r.outcomeAt() != null && within(r.outcomeAt(), from, to));
        packages.sort(Comparator.comparing(HistoryRecord::outcomeAt));
        List<QuarantineReport> reports = read(quarantinePrefix, "/report.json", QuarantineReport.class, r -> r.time() != null && within(r.time(), from, to));
        reports.sort(Comparator.comparing(QuarantineReport::time));
        // one package, one line: a package refused before its history copy has no outcome record, so a restarted process
        // fetches and reports it again while the institute offers it; and a source that flaps fails the same package
        // for one reason, then another (an HTML page, then timeouts). The first report stands for it
        Map<List<String>, QuarantineReport> firstReports = new LinkedHashMap<>();
        Map<List<String>, QuarantineReport> lastReports = new java.util.HashMap<>();
        for (QuarantineReport r : reports) {
            firstReports.putIfAbsent(Arrays.asList(r.packageName(), bytesConcerned(r)), r);
            lastReports.put(Arrays.asList(r.packageName(), bytesConcerned(r)), r);
        }
        List<QuarantineReport> refused = new ArrayList<>();
        List<QuarantineReport> publishedLater = new ArrayList<>();
        for (QuarantineReport r : firstReports.values()) {
            // refused for bytes other than announced, the package is the one announced (a zip not replaced yet at a fixed
            // URL), or the one received (a zip replaced before the manifest announced it): published later if either was
            List<String> shas = isMismatch(r) ? java.util.stream.Stream.of(r.announcedSha256(), r.receivedSha256()).filter(java.util.Objects::nonNull).toList()
                    : java.util.Optional.ofNullable(bytesConcerned(r)).stream().toList();
            List<HistoryRecord> publications = packages.stream().filter(p -> "published".equals(p.outcome())
                    && p.packageName().equals(r.packageName()) && (shas.isEmpty() || shas.stream().anyMatch(sha -> sha.equalsIgnoreCase(p.sha256())))).toList();
            boolean published = !publications.isEmpty();
            if (publications.stream().anyMatch(p -> Instant.parse(p.outcomeAt()).isBefore(Instant.parse(r.time())))) {
                // published before this refusal (an operator's republish of it refused because a newer corte came first):
                // neither "not published" nor "published late"; nothing the public missed
                continue;
            }
            if (published) {
                publishedLater.add(r);
            } else {
                // when its trouble began, and why it stayed off line: the last refusal's reason (a mismatch, then the
                // announced bytes refused for what they are)
                QuarantineReport last = lastReports.get(Arrays.asList(r.packageName(), bytesConcerned(r)));
                refused.add(new QuarantineReport(r.packageName(), r.corte(), last.step(), last.reason(), last.cause(), r.time(),
                        r.announcedSha256(), last.receivedSha256(), last.size(), r.source(), last.packageKeptAt(), r.refusalCounted()));
            }
        }
        return new Night(incidents, refused, publishedLater, packages);
    }

    /** RejectReason.isMismatch: bytes other than announced. */
    private static boolean isMismatch(QuarantineReport r) {
        return "CHECKSUM_MISMATCH".equals(r.reason()) || "SIZE_MISMATCH".equals(r.reason());
    }

    /**
     * The bytes a report is about, lower case: for a mismatch the ones announced (the package the institute meant, whatever
     * came instead, once or several times); else the ones received, or announced when none were (a download that failed).
     */
    private static String bytesConcerned(QuarantineReport r) {
        String sha = isMismatch(r) || r.receivedSha256() == null ? r.announcedSha256() : r.receivedSha256();
        return sha == null ? null : sha.toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Both replicas probe: one outage can be on record twice, started a second apart. Incidents of one light and kind
     * that overlap are one incident, so no time is counted twice; a yellow that changed kind (a page without its data,
     * then an older corte) ends where the next begins, and stays two, each reported as what it was.
     */
    static List<Incident> merged(List<Incident> incidents) {
        // by instant, not as text: "…:12Z" sorts after "…:12.5Z"
        incidents.sort(Comparator.comparing(i -> Instant.parse(i.start())));
        List<Incident> merged = new ArrayList<>();
        for (Incident i : incidents) {
            Optional<Incident> overlapping = merged.stream().filter(m -> m.light() == i.light() && m.dataMissing() == i.dataMissing()
                    && (m.end() == null || !Instant.parse(m.end()).isBefore(Instant.parse(i.start())))).findFirst();
            if (overlapping.isEmpty()) {
                merged.add(i);
                continue;
            }
            Incident m = overlapping.get();
            String end = m.end() == null || i.end() == null ? null : Instant.parse(m.end()).isAfter(Instant.parse(i.end())) ? m.end() : i.end();
            // the end comes from a record nobody watched up to (ended by the first probe after a restart, carried on
            // over one): the merged outage is not watched throughout either. With the first record's detail alone it
            // read as seen from start to end, and its hours were not listed as unmonitored
            boolean endFromI = i.end() == null || (end != null && end.equals(i.end()) && !end.equals(m.end()));
            String detail = m.detail();
            if (endFromI && !unwatched(detail) && i.detail() != null) {
                if (i.detail().endsWith(mx.prep.difusor.probe.InstituteProbe.ENDED_AFTER_RESTART)) {
                    detail = (detail == null ? "" : detail) + mx.prep.difusor.probe.InstituteProbe.ENDED_AFTER_RESTART;
                } else if (i.detail().contains(mx.prep.difusor.probe.InstituteProbe.CARRIED_AFTER_RESTART)) {
                    detail = (detail == null ? "" : detail) + mx.prep.difusor.probe.InstituteProbe.CARRIED_AFTER_RESTART;
                }
            }
            merged.set(merged.indexOf(m), new Incident(m.start(), end, m.light(), detail));
        }
        return merged;
    }

    private static boolean unwatched(String detail) {
        return detail != null && (detail.endsWith(mx.prep.difusor.probe.InstituteProbe.ENDED_AFTER_RESTART)
                || detail.contains(mx.prep.difusor.probe.InstituteProbe.CARRIED_AFTER_RESTART));
    }

    private <T> List<T> read(String prefix, String suffix, Class<T> type, Predicate<T> wanted) throws IOException {
        List<T> found = new ArrayList<>();
        try {
            for (S3Object o : store.client().listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents()) {
                if (!o.key().endsWith(suffix)) {
                    continue;
                }
                try {
                    store.readJson(bucket, o.key(), type).filter(wanted).ifPresent(found::add);
                } catch (IOException | RuntimeException e) {
                    throw new IOException("cannot read s3://" + bucket + "/" + o.key() + " as " + type.getSimpleName() + ": " + e.getMessage(), e);
                }
            }
        } catch (SdkException e) {
            throw new IOException("cannot list s3://" + bucket + "/" + prefix + ": " + e.getMessage(), e);
        }
        return found;
    }

    private static boolean within(String time, Instant from, Instant to) {
        Instant t = Instant.parse(time);
        return !t.isBefore(from) && t.isBefore(to);
    }
}
