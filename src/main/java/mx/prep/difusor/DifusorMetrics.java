package mx.prep.difusor;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import mx.prep.difusor.state.Corte;
import mx.prep.difusor.state.CorteHorizon;

/**
 * The business metrics beside Camel's own, on the same Prometheus registry (/observe/metrics): packages received,
 * published and rejected by reason, time per stage, objects and bytes uploaded, invalidations, seconds since the
 * last publication, and how far the published corte lags behind the newest one the institute announced.
 */
public final class DifusorMetrics {

    private final MeterRegistry registry;
    private final Clock clock;
    private final ZoneId corteZone;
    private final AtomicReference<Instant> lastPublication = new AtomicReference<>();
    private final AtomicReference<Corte> publishedCorte = new AtomicReference<>();
    private final AtomicReference<Corte> newestAnnounced = new AtomicReference<>();
    /** When this process first heard of a corte: the lag before anything is published counts from there. */
    private final AtomicReference<Instant> firstAnnouncedAt = new AtomicReference<>();
    /** When a corte ahead of the clock was first on offer since the last publication, or null. */
    private final AtomicReference<Instant> aheadSince = new AtomicReference<>();
    /** When the institute opens the PREP (difusor.source.opens-at), or null when not set. */
    private final Instant opensAt;
    private final CorteHorizon horizon;
    /** Files S3 refused to delete that stay in the site bucket, as the published state last read or written says. */
    private final AtomicInteger undeletedFiles = new AtomicInteger();

    public DifusorMetrics(MeterRegistry registry, Clock clock, ZoneId corteZone) {
        this(registry, clock, corteZone, null, null);
    }

    /**
     * @param opensAt when the PREP opens: from then on, until a corte is published, the lag counts from it even when
     *                nothing was announced (a manifest URL answering 404, a wrong URL), or null
     * @param horizon a corte beyond it (a typo, another zone) is refused, and never counted as announced: it would
     *                hold the lag up until a restart; null: every corte counts
     */
    public DifusorMetrics(MeterRegistry registry, Clock clock, ZoneId corteZone, Instant opensAt, CorteHorizon horizon) {
        this.horizon = horizon;
        this.registry = registry;
        this.clock = clock;
        this.corteZone = corteZone;
        this.opensAt = opensAt;
        Gauge.builder("difusor_seconds_since_last_publication", this, m -> m.secondsSinceLastPublication())
                .description("Seconds since the last corte was published (NaN before the first)").strongReference(true).register(registry);
        Gauge.builder("difusor_publication_lag_seconds", this, m -> m.lagSeconds())
                .description("Newest corte announced by the institute minus the published corte, in seconds (before the first publication: "
                        + "seconds since the first corte was announced, or since the PREP opened)").strongReference(true).register(registry);
        // PrepInstituteUnreachable stays quiet while nothing is published and the opening is more than an hour away: pods
        // deployed days ahead poll a service that is not live yet, and a page silenced for days would hide the night's
        Gauge.builder("difusor_source_opens_at_timestamp_seconds", this, m -> m.opensAt == null ? Double.NaN : m.opensAt.getEpochSecond())
                .description("When the PREP opens (difusor.source.opens-at), as a Unix timestamp; NaN when not set").strongReference(true)
                .register(registry);
        Gauge.builder("difusor_published_corte_timestamp_seconds", this, m -> m.publishedCorteEpoch())
                .description("The published corte, as a Unix timestamp").strongReference(true).register(registry);
        Gauge.builder("difusor_site_undeleted_files", undeletedFiles, AtomicInteger::get)
                .description("Files gone from the site that S3 refused to delete (AccessDenied) and still in the site bucket; every corte "
                        + "tries again").strongReference(true).register(registry);
        // every counter an alert watches is there at 0 from the start: Prometheus' increase() cannot see the first
        // quarantine of a reason if that reason's series appears only then, already at 1
        for (RejectReason reason : RejectReason.values()) {
            rejectedCounter(reason);
        }
        for (String outcome : new String[] { "agrees", "differs", "failed" }) {
            siteChecksCounter(outcome);
        }
        deletionsRefusedCounter();
        receivedCounter();
        publishedCounter();
        invalidationsCounter();
        invalidationsRefusedCounter();
        for (String outcome : new String[] { "offer", "none", "failed" }) {
            pollsCounter(outcome);
        }
    }

    public MeterRegistry registry() {
        return registry;
    }

    /**
     * Packages kept only on this pod's disk (a quarantine S3 refused, the spool's leftovers): counted on each scrape.
     * The disk is the pod's emptyDir, lost with the pod and over its size limit evicted with it.
     */
    public void watchKeptOnThePod(java.util.List<java.nio.file.Path> folders) {
        Gauge.builder("difusor_packages_only_on_pod", folders, f -> keptOnThePod(f)[0])
                .description("Packages (zips) kept only on this pod's disk: the local quarantine and the spool's leftovers, waiting for S3, and a package folder's .not-kept/, waiting for a person")
                .strongReference(true).register(registry);
        Gauge.builder("difusor_package_bytes_only_on_pod", folders, f -> keptOnThePod(f)[1])
                .description("Bytes of the packages kept only on this pod's disk").strongReference(true).register(registry);
    }

    private static double[] keptOnThePod(java.util.List<java.nio.file.Path> folders) {
        double[] countAndBytes = new double[2];
        for (java.nio.file.Path folder : folders) {
            if (!java.nio.file.Files.isDirectory(folder)) {
                continue;
            }
            try {
                java.nio.file.Files.walkFileTree(folder, new java.nio.file.SimpleFileVisitor<>() {
                    @Override
                    public java.nio.file.FileVisitResult visitFile(java.nio.file.Path file, java.nio.file.attribute.BasicFileAttributes attrs) {
                        if (attrs.isRegularFile() && file.getFileName().toString().endsWith(".zip")) {
                            countAndBytes[0]++;
                            countAndBytes[1] += attrs.size();
                        }
                        return java.nio.file.FileVisitResult.CONTINUE;
                    }

                    @Override
                    public java.nio.file.FileVisitResult visitFileFailed(java.nio.file.Path file, java.io.IOException e) {
                        // sent to S3 and deleted while this scrape walked the folder
                        return java.nio.file.FileVisitResult.CONTINUE;
                    }

                    @Override
                    public java.nio.file.FileVisitResult postVisitDirectory(java.nio.file.Path dir, java.io.IOException e) {
                        return java.nio.file.FileVisitResult.CONTINUE;
                    }
                });
            } catch (java.io.IOException e) {
                return new double[] {Double.NaN, Double.NaN};
            }
        }
        return countAndBytes;
    }

    public void received() {
        receivedCounter().increment();
    }

    public void announced(Corte corte) {
        if (corte != null && horizon != null && horizon.ahead(corte) != null) {
            // refused as CORTE_AHEAD: its far date must not hold the lag up, but something is on offer that is not
            // published (every corte ahead, say a zone off by an hour): the lag counts from it until a publication
            aheadSince.compareAndSet(null, clock.instant());
            return;
        }
        if (corte != null) {
            newestAnnounced.accumulateAndGet(corte, (a, b) -> a == null || b.isNewerThan(a) ? b : a);
            firstAnnouncedAt.compareAndSet(null, clock.instant());
        }
    }

    public synchronized void published(Corte corte, Instant at, Map<String, Long> stageMillis, int objects, long bytes) {
        publishedCounter().increment();
        stageMillis.forEach((stage, millis) -> Timer.builder("difusor_stage_duration").tag("stage", stage)
                .description("Time per pipeline stage of a published package").publishPercentileHistogram()
                .register(registry).record(millis, TimeUnit.MILLISECONDS));
        Counter.builder("difusor_objects_uploaded_total").description("Site objects uploaded").register(registry).increment(objects);
        Counter.builder("difusor_bytes_uploaded_total").description("Site bytes uploaded").register(registry).increment(bytes);
        lastPublication.set(at);
        publishedCorte.set(corte);
        aheadSince.set(null);
        announced(corte);
    }

    /**
     * What the published state in S3 says, read by this process: at start, and on the standby replica all night (its
     * readiness check reads the state), where it is the only news of publications. A state recorded later replaces
     * what is known (even an older corte: an operator's republish); an earlier one read late changes nothing.
     */
    public synchronized void alreadyPublished(Corte corte, Instant at) {
        Instant known = lastPublication.get();
        if (known == null || at.isAfter(known)) {
            lastPublication.set(at);
            publishedCorte.set(corte);
        }
        aheadSince.getAndUpdate(since -> since != null && at.isAfter(since) ? null : since);
        announced(corte);
    }

    public void rejected(RejectReason reason) {
        rejectedCounter(reason).increment();
    }

    /** A check of the site bucket against the published manifest between cortes: agrees, differs or failed. */
    public void siteChecked(String outcome) {
        siteChecksCounter(outcome).increment();
    }

    /**
     * Files gone from a package that S3 refused for good to delete (AccessDenied): they stay in the site bucket. Counted
     * when first refused; the later cortes' retries are not counted again (difusor_site_undeleted_files shows them).
     */
    public void deletionsRefused(int files) {
        deletionsRefusedCounter().increment(files);
    }

    /** How many files S3 refused to delete stay in the site bucket, from the published state (every replica reads it). */
    public void undeletedFiles(int files) {
        undeletedFiles.set(files);
    }

    public void invalidation() {
        invalidationsCounter().increment();
    }

    private Counter receivedCounter() {
        return Counter.builder("difusor_packages_received_total").description("Packages received (downloaded or dropped in)").register(registry);
    }

    private Counter publishedCounter() {
        return Counter.builder("difusor_packages_published_total").description("Packages published").register(registry);
    }

    private Counter rejectedCounter(RejectReason reason) {
        return Counter.builder("difusor_packages_rejected_total").tag("reason", reason.name())
                .description("Packages quarantined, by reason code").register(registry);
    }

    private Counter siteChecksCounter(String outcome) {
        return Counter.builder("difusor_site_checks_total").tag("outcome", outcome)
                .description("Checks of the site bucket against the published manifest, between cortes").register(registry);
    }

    private Counter deletionsRefusedCounter() {
        return Counter.builder("difusor_site_deletions_refused_total")
                .description("Files gone from a package that S3 refused to delete; they stay in the site bucket").register(registry);
    }

    /**
     * A poll of the institute that answered: with a package on offer, or with none yet (404: normal before the first
     * corte, a wrong URL after it). Counted apart from the failed ones, so "every poll failed" can raise an alert.
     */
    public void polled(@org.apache.camel.Body Object offer, org.apache.camel.Exchange exchange) {
        pollsCounter(offer == null ? "none" : "offer").increment();
        exchange.setProperty(POLLED, true);
    }

    /** Exchange property: the source answered this poll; a failure after it (the history asked by the ledger) is not its. */
    public static final String POLLED = "difusorSourceAnswered";

    /**
     * A poll of the institute that failed (unreachable, TLS, 5xx, a page that is not a manifest); not one whose source
     * answered and whose ledger check could not read the history (S3): that would page PrepInstituteUnreachable for S3.
     */
    public void pollFailed(org.apache.camel.Exchange exchange) {
        if (!exchange.getProperty(POLLED, false, Boolean.class)) {
            pollsCounter("failed").increment();
        }
    }

    private Counter pollsCounter(String outcome) {
        return Counter.builder("difusor_source_polls_total").tag("outcome", outcome)
                .description("Polls of the institute: offer (a package on offer), none (nothing yet: 404), failed").register(registry);
    }

    /**
     * An invalidation CloudFront refused for good (a wrong distribution id, no permission) or that still failed after
     * every retry: the corte is still recorded.
     */
    public void invalidationRefused() {
        invalidationsRefusedCounter().increment();
    }

    private Counter invalidationsRefusedCounter() {
        return Counter.builder("difusor_invalidations_refused_total")
                .description("CloudFront invalidations not taken, one per distribution: refused for good (wrong distribution id, no permission) or failing past every retry").register(registry);
    }

    private Counter invalidationsCounter() {
        return Counter.builder("difusor_invalidations_total").description("CloudFront invalidations sent").register(registry);
    }

    double secondsSinceLastPublication() {
        Instant at = lastPublication.get();
        return at == null ? Double.NaN : Duration.between(at, clock.instant()).toMillis() / 1000.0;
    }

    double lagSeconds() {
        Instant now = clock.instant();
        Instant last = lastPublication.get();
        double lag = announcedLagSeconds(now);
        Instant ahead = aheadSince.get();
        if (ahead != null) {
            lag = Math.max(lag, Duration.between(ahead, now).toMillis() / 1000.0);
        }
        if (opensAt != null && now.isAfter(opensAt) && (last == null || last.isBefore(opensAt))) {
            // the PREP is open and nothing was published since: the public has waited that long, whether or not
            // the institute's manifest announced anything (a URL answering 404 announces nothing, ever)
            return Math.max(lag, Duration.between(opensAt, now).toMillis() / 1000.0);
        }
        return lag;
    }

    private double announcedLagSeconds(Instant now) {
        Corte newest = newestAnnounced.get();
        Corte published = publishedCorte.get();
        if (newest == null) {
            return 0;
        }
        if (published == null) {
            // nothing public yet: how long the first corte announced has waited, so a first corte that never
            // comes out raises the alert (a NaN would compare false in every rule)
            Instant first = firstAnnouncedAt.get();
            return first == null ? 0 : Duration.between(first, now).toMillis() / 1000.0;
        }
        return Math.max(0, Duration.between(published.at(), newest.at()).getSeconds());
    }

    double publishedCorteEpoch() {
        Corte published = publishedCorte.get();
        return published == null ? Double.NaN : published.at().atZone(corteZone).toEpochSecond();
    }

}
