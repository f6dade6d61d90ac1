package mx.prep.difusor.memoria;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import mx.prep.difusor.ObjectStore;
import mx.prep.difusor.archive.HistoryArchiver.HistoryRecord;
import mx.prep.difusor.probe.InstituteProbe.Incident;
import mx.prep.difusor.quarantine.QuarantineReport;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * What the difusor itself recorded in the history bucket during the night, for the memoria técnica's report of
 * incidents: the probe's incidents (the page unavailable or behind), the packages refused to quarantine (the site
 * stayed on the previous corte) and the outcome of every package received.
 */
public final class OperationRecords {

    /** Everything recorded that touches [from, to). */
    public record Night(List<Incident> incidents, List<QuarantineReport> refused, List<HistoryRecord> packages) {
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

    public Night read(Instant from, Instant to) throws IOException {
        List<Incident> incidents = new ArrayList<>();
        for (String key : keys(incidentsPrefix, ".json")) {
            store.readJson(bucket, key, Incident.class)
                    .filter(i -> i.start() != null && Instant.parse(i.start()).isBefore(to) && (i.end() == null || Instant.parse(i.end()).isAfter(from)))
                    .ifPresent(incidents::add);
        }
        incidents.sort(Comparator.comparing(Incident::start));
        List<QuarantineReport> reports = new ArrayList<>();
        for (String key : keys(quarantinePrefix, "/report.json")) {
            store.readJson(bucket, key, QuarantineReport.class).filter(r -> r.time() != null && within(r.time(), from, to)).ifPresent(reports::add);
        }
        reports.sort(Comparator.comparing(QuarantineReport::time));
        // a package refused before its history copy has no outcome record, so a restarted process fetches and reports
        // it again while the institute offers it: one refusal for the memoria, the first
        Map<List<String>, QuarantineReport> refused = new LinkedHashMap<>();
        for (QuarantineReport r : reports) {
            refused.putIfAbsent(Arrays.asList(r.packageName(), r.reason(), r.receivedSha256()), r);
        }
        List<HistoryRecord> packages = new ArrayList<>();
        for (String key : keys(historyPrefix, ".json")) {
            store.readJson(bucket, key, HistoryRecord.class)
                    .filter(r -> r.outcomeAt() != null && within(r.outcomeAt(), from, to)).ifPresent(packages::add);
        }
        packages.sort(Comparator.comparing(HistoryRecord::outcomeAt));
        return new Night(incidents, List.copyOf(refused.values()), packages);
    }

    private List<String> keys(String prefix, String suffix) {
        List<String> keys = new ArrayList<>();
        for (S3Object o : store.client().listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents()) {
            if (o.key().endsWith(suffix)) {
                keys.add(o.key());
            }
        }
        return keys;
    }

    private static boolean within(String time, Instant from, Instant to) {
        Instant t = Instant.parse(time);
        return !t.isBefore(from) && t.isBefore(to);
    }
}
