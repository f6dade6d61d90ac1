package mx.prep.difusor;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.concurrent.ExecutorService;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.apache.camel.component.micrometer.MicrometerUtils;
import org.apache.camel.util.concurrent.ThreadPoolRejectedPolicy;
import org.apache.camel.spi.Registry;
import org.apache.camel.spi.ThreadPoolProfile;
import org.apache.camel.builder.ThreadPoolProfileBuilder;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.cloudfront.CloudFrontClient;
import software.amazon.awssdk.services.cloudfront.CloudFrontClientBuilder;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.auth.scheme.S3AuthSchemeProvider;

import mx.prep.difusor.archive.HistoryArchiver;
import mx.prep.difusor.cluster.LeaderCheck;
import mx.prep.difusor.invalidate.CdnInvalidator;
import mx.prep.difusor.probe.InstituteProbe;
import mx.prep.difusor.probe.ProbeSignature;
import mx.prep.difusor.probe.StatusPage;
import mx.prep.difusor.publish.DryRun;
import mx.prep.difusor.publish.SiteAudit;
import mx.prep.difusor.publish.SiteKeep;
import mx.prep.difusor.publish.SitePlanner;
import mx.prep.difusor.publish.SitePruner;
import mx.prep.difusor.publish.SitePublication;
import mx.prep.difusor.quarantine.Quarantine;
import mx.prep.difusor.quarantine.RefusalNote;
import mx.prep.difusor.source.ConditionalGet;
import mx.prep.difusor.source.HeldBackPackages;
import mx.prep.difusor.source.IncomingBucket;
import mx.prep.difusor.source.IncomingDirectory;
import mx.prep.difusor.source.InterruptedPublication;
import mx.prep.difusor.source.SpoolLeftovers;
import mx.prep.difusor.source.ManifestSource;
import mx.prep.difusor.source.PackageDownloader;
import mx.prep.difusor.source.PackageUrlSource;
import mx.prep.difusor.source.SecureHttp;
import mx.prep.difusor.state.CorteGate;
import mx.prep.difusor.state.CorteHorizon;
import mx.prep.difusor.state.PackageTurn;
import mx.prep.difusor.state.CorteParser;
import mx.prep.difusor.state.PackageJournal;
import mx.prep.difusor.state.PackageLedger;
import mx.prep.difusor.state.PublicationRecorder;
import mx.prep.difusor.state.PublishedStateHealthCheck;
import mx.prep.difusor.state.StateStore;
import mx.prep.difusor.unpack.CacheControlRules;
import mx.prep.difusor.unpack.SiteGlob;
import mx.prep.difusor.unpack.SiteUnpacker;
import mx.prep.difusor.unpack.ZipStructure;
import mx.prep.difusor.verify.ChecksumFilter;

/**
 * Builds the beans the routes call, one per pipeline job, from the difusor.* configuration keys. Runs before the
 * routes are loaded, so a missing key fails the start-up with its name rather than the first package.
 */
public class DifusorConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(DifusorConfiguration.class);

    @Override
    public void configure(CamelContext context) throws Exception {
        Settings.requireKnownOverrides(context.getPropertiesComponent(), System.getenv(), System.getProperties());
        Settings settings = new Settings(context.getPropertiesComponent());
        Path workDir = Path.of(settings.required("difusor.work-dir"));
        // before anything touches the spool: what is there belongs to an earlier process, not to a running one
        WorkDirLock lock = WorkDirLock.take(workDir);
        try {
            configure(context, settings, workDir);
            context.addService(lock, true, true);
        } catch (Exception | Error e) {
            lock.release();
            throw e;
        }
    }

    private void configure(CamelContext context, Settings settings, Path workDir) throws Exception {
        Registry registry = context.getRegistry();
        Clock clock = Clock.systemUTC();
        // read as a route predicate, a route precondition and a Java flag: only a value all three read alike
        String dryRun = context.getPropertiesComponent().resolveProperty("difusor.publish.dry-run").orElse("");
        if (!dryRun.equals("true") && !dryRun.equals("false")) {
            throw new IllegalStateException("difusor.publish.dry-run is true or false (lower case), not '" + dryRun + "'");
        }
        LOG.info("prep-difusor: source {}, site s3://{}/{}, history s3://{}/{}, work dir {}", settings.required("difusor.source.kind"),
                settings.required("difusor.site.bucket"), settings.prefix("difusor.site.prefix"), settings.required("difusor.history.bucket"),
                settings.prefix("difusor.history.prefix"), workDir);

        requireSensibleLimits(settings.integer("difusor.publish.concurrency"), settings.integer("difusor.retry.max-redeliveries"),
                settings.integer("difusor.publish.max-deletions"), settings.integer("difusor.cdn.busy-retries"));
        requireApartFromTheSite(settings.required("difusor.site.bucket"), settings.prefix("difusor.site.prefix"),
                settings.required("difusor.history.bucket"), historyKeys(settings), settings.text("difusor.memoria.logs"));

        // one Prometheus registry for Camel's metrics and ours, served at /observe/metrics
        MeterRegistry meters = MicrometerUtils.getMeterRegistryFromCamelRegistry(registry, MicrometerConstants.METRICS_REGISTRY_NAME);
        if (meters == null) {
            meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            registry.bind(MicrometerConstants.METRICS_REGISTRY_NAME, meters);
        }
        int aheadMinutes = settings.integer("difusor.source.corte-max-ahead-minutes");
        if (aheadMinutes < 0) {
            throw new IllegalStateException("difusor.source.corte-max-ahead-minutes is at least 0, not " + aheadMinutes
                    + ": a corte is never refused for being behind the clock");
        }
        CorteHorizon.requireCurrentRules(ZoneId.of(settings.required("difusor.corte-zone")), java.time.LocalDate.now(clock).getYear());
        CorteHorizon horizon = new CorteHorizon(clock, ZoneId.of(settings.required("difusor.corte-zone")), Duration.ofMinutes(aheadMinutes));
        Instant opensAt = opensAt(settings.text("difusor.source.opens-at"));
        if (opensAt != null && opensAt.isBefore(clock.instant().minus(Duration.ofDays(2)))) {
            // a value left from an earlier election: a fresh site's lag would count from then and page at once. Days
            // after a real opening it changes nothing (cortes were published since)
            LOG.warn("difusor.source.opens-at is {}, {} days ago: ignored (an earlier election's?)", opensAt,
                    Duration.between(opensAt, clock.instant()).toDays());
            opensAt = null;
        }
        DifusorMetrics metrics = new DifusorMetrics(meters, clock, ZoneId.of(settings.required("difusor.corte-zone")), opensAt, horizon);
        registry.bind("difusorMetrics", metrics);

        S3Client s3 = s3Client(settings);
        registry.bind("s3Client", s3);
        if (settings.millis("difusor.s3.read-timeout-ms").compareTo(settings.millis("difusor.s3.call-timeout-ms")) >= 0) {
            LOG.warn("difusor.s3.read-timeout-ms is not shorter than difusor.s3.call-timeout-ms: a stalled S3 connection uses up the"
                    + " whole call in one attempt, and the SDK never tries it again");
        }
        // packages go into the history (and the quarantine) in parts side by side: a single PUT runs at one connection's speed
        ObjectStore.Parts parts;
        try {
            parts = new ObjectStore.Parts(settings.number("difusor.history.part-size"),
                    "when-supported".equals(settings.required("difusor.s3.checksum-calculation")),
                    historyPartThreads(context, settings.integer("difusor.history.part-concurrency")));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("difusor.history.part-size: " + e.getMessage(), e);
        }
        ObjectStore store = new ObjectStore(s3, parts);
        String historyBucket = settings.required("difusor.history.bucket");

        // source
        SecureHttp http = new SecureHttp(settings.text("difusor.source.truststore"), settings.text("difusor.source.truststore-password"),
                settings.text("difusor.source.truststore-type"), settings.millis("difusor.source.connect-timeout-ms"),
                settings.list("difusor.source.allowed-hosts"));
        ConditionalGet get = new ConditionalGet(http, settings.millis("difusor.source.read-timeout-ms"),
                settings.millis("difusor.source.max-retry-after-ms"));
        String kind = settings.required("difusor.source.kind");
        CorteParser corteParser = new CorteParser(settings.required("difusor.source.corte-pattern"),
                ZoneId.of(settings.required("difusor.corte-zone")));
        anyHostWarning(kind, settings.list("difusor.source.allowed-hosts")).ifPresent(LOG::warn);
        switch (kind) {
            case "manifest" -> registry.bind("manifestSource",
                    new ManifestSource(sourceUrl("difusor.source.manifest-url", settings.required("difusor.source.manifest-url")), get));
            case "package-url" -> registry.bind("packageUrlSource",
                    new PackageUrlSource(sourceUrl("difusor.source.package-url", settings.required("difusor.source.package-url")),
                            settings.text("difusor.source.package-checksum-url").isEmpty() ? null
                                    : sourceUrl("difusor.source.package-checksum-url", settings.text("difusor.source.package-checksum-url")), get,
                            corteParser::fromPackageName));
            // the route's file: endpoint would take an empty folder name without a word
            case "directory" -> settings.required("difusor.source.directory");
            case "bucket" -> requireIncomingApart(settings.required("difusor.source.bucket"), settings.prefix("difusor.source.bucket-prefix"),
                    settings.required("difusor.site.bucket"), settings.prefix("difusor.site.prefix"), settings.required("difusor.history.bucket"),
                    historyKeys(settings));
            default -> throw new IllegalStateException("difusor.source.kind is 'manifest', 'package-url', 'directory' or 'bucket', not '"
                    + kind + "'");
        }
        registry.bind("packageDownloader", new PackageDownloader(http, corteParser, workDir.resolve("spool"),
                settings.millis("difusor.source.read-timeout-ms"), settings.millis("difusor.source.download-deadline-ms"),
                settings.millis("difusor.source.progress-interval-ms"), settings.number("difusor.source.max-package-bytes"),
                settings.millis("difusor.source.max-retry-after-ms"), settings.millis("difusor.retry.initial-delay-ms"),
                settings.millis("difusor.retry.max-delay-ms"), clock, metrics));

        // verify, archive, state
        registry.bind("checksumFilter", new ChecksumFilter(corteParser::fromPackageName));
        HistoryArchiver history = new HistoryArchiver(store, historyBucket, settings.prefix("difusor.history.prefix"),
                historyCopies(context)).conditionalWrites(settings.flag("difusor.s3.conditional-writes"));
        registry.bind("historyArchiver", history);
        // the directory source and the operators' republish folder
        registry.bind("incomingDirectory", new IncomingDirectory(corteParser, workDir.resolve("spool"), clock, metrics, history));
        registry.bind("sidecarWritten", new mx.prep.difusor.source.SidecarWritten(clock));
        StateStore state = new StateStore(store, historyBucket, settings.required("difusor.state.key"),
                settings.required("difusor.state.manifest-key"), metrics, workDir.resolve("scratch"))
                .conditionalWrites(settings.flag("difusor.s3.conditional-writes"));
        registry.bind("stateStore", state);
        PackageJournal journal = new PackageJournal();
        registry.bind("packageJournal", journal);
        PackageLedger ledger = new PackageLedger(state, history, clock, settings.millis("difusor.retry.failed-package-pause-ms"),
                settings.millis("difusor.retry.max-delay-ms").multipliedBy(10));
        registry.bind("packageLedger", ledger);
        if (kind.equals("bucket")) {
            registry.bind("incomingBucket", new IncomingBucket(s3, settings.required("difusor.source.bucket"),
                    settings.prefix("difusor.source.bucket-prefix"), corteParser, workDir.resolve("spool"),
                    settings.number("difusor.source.max-package-bytes"), settings.millis("difusor.source.download-deadline-ms"),
                    settings.millis("difusor.source.progress-interval-ms"), clock, metrics, horizon, ledger::refused));
        }
        // an upload already sent may take as long as the S3 client allows a call, and a margin for the connection
        Duration uploadsBound = settings.millis("difusor.s3.call-timeout-ms").plusSeconds(10);
        PackageTurn turn = new PackageTurn(uploadsBound);
        registry.bind("packageTurn", turn);
        registry.bind("interruptedPublication", new InterruptedPublication(state, history, store, turn, corteParser,
                workDir.resolve("spool"), clock, settings.millis("difusor.retry.failed-package-pause-ms"),
                settings.millis("difusor.retry.max-delay-ms").multipliedBy(10), settings.millis("difusor.source.download-deadline-ms")));
        String republish = settings.text("difusor.republish.directory");
        if (!republish.isEmpty()) {
            // at every start of its route, at each lead this pod takes too, not only when the process starts
            registry.bind("republishLeftovers", new mx.prep.difusor.source.RepublishLeftovers(Path.of(republish), clock));
        }
        registry.bind("corteGate", new CorteGate(state, history, ledger, clock, horizon));
        // asked before each change the public would see: a process that lost the lead stops there
        java.time.Duration callTimeout = settings.millis("difusor.s3.call-timeout-ms");
        java.time.Duration takeoverPause = settings.text("difusor.cluster.takeover-pause-ms").isEmpty() ? callTimeout
                : settings.millis("difusor.cluster.takeover-pause-ms");
        if (takeoverPause.compareTo(callTimeout) < 0) {
            // a former leader's upload still under way may land over the new leader's corte
            LOG.warn("difusor.cluster.takeover-pause-ms ({} ms) is shorter than difusor.s3.call-timeout-ms ({} ms): a new leader may publish"
                    + " while the former leader's last S3 calls still land; leave it empty on a night", takeoverPause.toMillis(), callTimeout.toMillis());
        }
        LeaderCheck leaderCheck = new LeaderCheck(context, takeoverPause);
        registry.bind("leaderCheck", leaderCheck);
        CacheControlRules cacheControl = new CacheControlRules(settings.text("difusor.site.cache-control"));
        cacheControl.requireFreshPagesAndResults();
        registry.bind("publicationRecorder", new PublicationRecorder(state, history, ledger, clock, metrics, journal,
                settings.list("difusor.probe.also-compare"), leaderCheck, cacheControl.fingerprint()));

        // unpack, publish
        String sitePrefix = settings.prefix("difusor.site.prefix");
        registry.bind("siteUnpacker", new SiteUnpacker(sitePrefix, cacheControl,
                new ZipStructure.Limits(settings.integer("difusor.unpack.max-entries"), settings.number("difusor.unpack.max-total-bytes"),
                        settings.number("difusor.unpack.max-entry-bytes"), settings.integer("difusor.unpack.max-ratio"),
                        SiteGlob.ofSetting(settings.list("difusor.unpack.archives-allowed"))),
                state::knownContent, unpackThreads(context, settings.integer("difusor.unpack.threads")),
                settings.integer("difusor.unpack.threads")));
        String siteBucket = settings.required("difusor.site.bucket");
        // answers within 2 s; twice that (a second call queued behind the first) inside the readiness probe's timeoutSeconds (5)
        registry.bind("publishedStateHealthCheck", new PublishedStateHealthCheck(state, s3, siteBucket, historyBucket,
                context.getExecutorServiceManager().newSingleThreadExecutor(PublishedStateHealthCheck.class, "readiness"),
                Duration.ofSeconds(2), settings.millis("difusor.health.s3-grace-ms"), clock));
        SiteKeep keep = new SiteKeep(settings.list("difusor.site.keep"));
        SiteAudit audit = new SiteAudit(state, metrics, s3, siteBucket, sitePrefix, keep, settings.integer("difusor.publish.list-bucket-every"),
                context.getExecutorServiceManager().newSingleThreadExecutor(SiteAudit.class, "site-audit"));
        registry.bind("siteAudit", audit);
        // the prune invalidates the leftovers of earlier cortes it deletes, within the same budget as the plan
        int maxInvalidationPaths = invalidationPaths(settings.integer("difusor.cdn.max-paths"), settings.list("difusor.cdn.distribution-ids").size());
        String cdnPathPrefix = cdnPathPrefix(sitePrefix, settings.text("difusor.cdn.path-prefix"), settings.list("difusor.cdn.distribution-ids"));
        registry.bind("sitePlanner", new SitePlanner(state, audit, keep, settings.integer("difusor.publish.max-deletions"),
                settings.integer("difusor.publish.max-deletions-percent"), maxInvalidationPaths, cdnPathPrefix, cacheControl.fingerprint()));
        // no replica leading (members labelled otherwise than the pods, an API server refusing the Lease) polls nothing:
        // alert PrepNoLeader watches the replicas' sum; a dry run publishes nothing, so it never counts as a leader
        // (beside the real replicas it made PrepTwoLeaders page)
        boolean publishes = !dryRun.equals("true");
        io.micrometer.core.instrument.Gauge.builder("difusor_leader", leaderCheck, c -> publishes && c.leads() ? 1 : 0)
                .description("1 while this process leads (polls and publishes), 0 on a standby").strongReference(true).register(meters);
        registry.bind("sitePublication", new SitePublication(sitePrefix, leaderCheck, uploadsBound,
                new mx.prep.difusor.publish.LastFiles(settings.list("difusor.publish.last"))));
        registry.bind("sitePruner", new SitePruner(s3, siteBucket, sitePrefix, metrics, maxInvalidationPaths, cdnPathPrefix, leaderCheck));
        Failures failures = new Failures();
        String incoming = settings.text("difusor.source.directory");
        HeldBackPackages heldBack = new HeldBackPackages("directory".equals(settings.text("difusor.source.kind")) && !incoming.isEmpty()
                ? Path.of(incoming) : null, state, corteParser, clock);
        registry.bind("heldBackPackages", heldBack);
        registry.bind("dryRun", new DryRun(workDir.resolve("dry-run"), ledger, failures, heldBack));
        registry.bind("publishThreads", publishThreads(context, settings.integer("difusor.publish.concurrency")));

        // invalidate
        registry.bind("cdnInvalidator", new CdnInvalidator(cloudFrontClient(settings), settings.list("difusor.cdn.distribution-ids"), cdnPathPrefix,
                metrics, failures));

        // the retry and dead-letter channels
        registry.bind("failures", failures);
        registry.bind("retryLog", new RetryLog());
        registry.bind("refusalNote", new RefusalNote(!publishes));
        // made now: a package S3 and the local disk both refuse is renamed into it, with no room needed then
        Path spoolLeftovers = Files.createDirectories(SpoolLeftovers.besideSpool(workDir.resolve("spool")));
        // reports kept on the pod's disk are sent in the background, on part threads of their own: a backlog of kept
        // packages must not queue ahead of the next corte's history copy
        ObjectStore keptStore = new ObjectStore(s3, new ObjectStore.Parts(parts.size(), parts.crc32(),
                partThreads(context, "quarantine-parts", 2)));
        Quarantine quarantine = new Quarantine(store, keptStore, historyBucket, settings.prefix("difusor.quarantine.prefix"),
                workDir.resolve("quarantine"), spoolLeftovers, failures, ledger, clock, metrics, journal, heldBack,
                context.getExecutorServiceManager().newSingleThreadExecutor(Quarantine.class, "quarantine-kept"));
        registry.bind("quarantine", quarantine);
        // and a package folder's .not-kept/: a refused package nothing else took, for a person to quarantine by hand
        java.util.List<Path> keptOnThePod = new java.util.ArrayList<>(java.util.List.of(workDir.resolve("quarantine"), spoolLeftovers));
        for (String folder : java.util.List.of(incoming, settings.text("difusor.republish.directory"))) {
            if (!folder.isEmpty()) {
                keptOnThePod.add(Path.of(folder).resolve(SpoolLeftovers.NOT_KEPT));
            }
        }
        // a dry run keeps nothing for S3 and never sweeps: what it sets aside (a stop while a package waited) is no
        // package only on the pod, and counted, it kept PrepPackagesOnlyOnAPod firing for good
        metrics.watchKeptOnThePod(publishes ? keptOnThePod : java.util.List.of());
        // before any download: what an earlier process left in the spool is checked against the history, or quarantined
        registry.bind("spoolLeftovers", new SpoolLeftovers(workDir.resolve("spool"), spoolLeftovers, history,
                quarantine, context, corteParser, clock, settings.millis("difusor.quarantine.leftover-grace-ms"), publishes));

        // the institute's probe, run by us, and the status page
        String publicUrl = settings.text("difusor.probe.url");
        // a dry run does not probe (its route is off): its gauges at 0 made PrepPublicSiteDown fire for a site it never looked at
        InstituteProbe probe = publicUrl.isEmpty() || !publishes ? null : new InstituteProbe(URI.create(publicUrl),
                settings.millis("difusor.probe.timeout-ms"), state, store, historyBucket, settings.prefix("difusor.probe.incidents-prefix"),
                settings.prefix("difusor.probe.views-prefix"), probePod(settings), settings.millis("difusor.probe.peer-fresh-ms"),
                settings.list("difusor.probe.also-compare"), ProbeSignature.of(settings.text("difusor.probe.signing-key")), meters, clock);
        if (probe != null) {
            registry.bind("instituteProbe", probe);
        }
        StatusPage statusPage = new StatusPage(context, state, journal, probe,
                settings.text("difusor.cluster.mode").isEmpty() ? "none" : settings.text("difusor.cluster.mode"), clock,
                settings.integer("difusor.status.port"),
                StatusPage.lateAfter(settings.text("difusor.probe.cron"), settings.millis("difusor.probe.timeout-ms"), clock.instant()),
                ZoneId.of(settings.required("difusor.corte-zone")));
        registry.bind("statusPage", statusPage);
        context.addService(statusPage);
    }

    public static S3Client s3Client(Settings settings) {
        int concurrency = settings.integer("difusor.publish.concurrency");
        S3ClientBuilder builder = S3Client.builder()
                .region(Region.of(settings.required("difusor.s3.region")))
                .credentialsProvider(DefaultCredentialsProvider.builder().build())
                .forcePathStyle(settings.flag("difusor.s3.path-style"))
                // every call is signed for difusor.s3.region, which the overlays set to the buckets' region; the SDK's
                // cross-region access would follow a bucket elsewhere, but it cost a third more time per corte's
                // uploads (BENCHMARKS.md, step 30)
                .requestChecksumCalculation(checksumCalculation(settings.required("difusor.s3.checksum-calculation")))
                .authSchemeProvider(wholeBodySigning(S3AuthSchemeProvider.defaultProvider()))
                // HttpClient 5: with it prep-difusor published a corte faster and with less CPU on both sides than with
                // the older Apache client (BENCHMARKS.md, step 2); the SDK deprecates the older one
                .httpClientBuilder(Apache5HttpClient.builder()
                        .maxConnections(Math.max(50, concurrency * 2))
                        .connectionTimeout(settings.millis("difusor.s3.connect-timeout-ms"))
                        .socketTimeout(settings.millis("difusor.s3.read-timeout-ms")))
                // the SDK retries each request (throttling, 5xx, resets) with backoff and jitter before Camel's retry channel
                // sees it, within a bound for the whole call: a process that lost the lead has no call under way for longer
                .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.standardRetryStrategy().toBuilder()
                        .maxAttempts(settings.integer("difusor.s3.max-attempts")).build())
                        .apiCallTimeout(settings.millis("difusor.s3.call-timeout-ms")));
        String endpoint = settings.text("difusor.s3.endpoint");
        if (!endpoint.isEmpty()) {
            builder.endpointOverride(URI.create(endpoint));
        }
        return builder.build();
    }

    /**
     * Uploads signed (and checksummed, with when-supported) over the whole body, sent as it is, instead of as an
     * aws-chunked stream with a signature or a trailer per chunk. The SDK's chunked encoding allocates two 128 KiB
     * chunk buffers per request, for site files of a few KiB: with it an upload took about a third more CPU on both
     * sides (BENCHMARKS.md, step 14). Every body prep-difusor sends can be read twice: small site files are in memory,
     * larger ones and the history's zip are re-read from disk.
     */
    public static S3AuthSchemeProvider wholeBodySigning(S3AuthSchemeProvider defaults) {
        return params -> defaults.resolveAuthScheme(params).stream()
                .map(option -> option.toBuilder().putSignerProperty(AwsV4FamilyHttpSigner.CHUNK_ENCODING_ENABLED, false).build())
                .toList();
    }

    /** when-supported (SDK default: S3 verifies a CRC of every upload) or when-required (servers that cannot). */
    static RequestChecksumCalculation checksumCalculation(String value) {
        return switch (value) {
            case "when-supported" -> RequestChecksumCalculation.WHEN_SUPPORTED;
            case "when-required" -> RequestChecksumCalculation.WHEN_REQUIRED;
            default -> throw new IllegalStateException("difusor.s3.checksum-calculation is when-supported or when-required, not " + value);
        };
    }

    static CloudFrontClient cloudFrontClient(Settings settings) {
        return cloudFrontClient(settings.text("difusor.cdn.endpoint"), settings.millis("difusor.cdn.call-timeout-ms"),
                DefaultCredentialsProvider.builder().build());
    }

    /**
     * @param callTimeout a call's bound, its retries included: the invalidation runs inside the package's turn, and a
     *                    CloudFront API that hangs held the next corte behind it for the SDK's socket timeouts, retry
     *                    after retry
     */
    static CloudFrontClient cloudFrontClient(String endpoint, java.time.Duration callTimeout,
            software.amazon.awssdk.auth.credentials.AwsCredentialsProvider credentials) {
        CloudFrontClientBuilder builder = CloudFrontClient.builder()
                .region(Region.AWS_GLOBAL)
                .httpClientBuilder(Apache5HttpClient.builder())
                .overrideConfiguration(o -> o.apiCallTimeout(callTimeout))
                .credentialsProvider(credentials);
        if (!endpoint.isEmpty()) {
            builder.endpointOverride(URI.create(endpoint));
        }
        return builder.build();
    }

    /**
     * Paths per invalidation: difusor.cdn.max-paths is a corte's budget, shared by its distributions, since CloudFront's
     * free 1,000 paths a month are the account's, not each distribution's.
     */
    static int invalidationPaths(int maxPaths, int distributions) {
        // CloudFront refuses an invalidation of more than 3,000 paths: found at start, not after a corte went public
        if (maxPaths < 1 || maxPaths > 3000) {
            throw new IllegalArgumentException("difusor.cdn.max-paths is 1 to 3000 (CloudFront takes at most 3,000 paths an "
                    + "invalidation), not " + maxPaths);
        }
        return Math.max(1, maxPaths / Math.max(1, distributions));
    }

    /**
     * Where the distributions serve the site. A distribution serving the whole bucket sees it under its key prefix;
     * one whose origin path is that prefix sees it at its root. Only the operator knows which: a wrong guess purges
     * paths nobody requests and the CDN keeps the old numbers, so a site under a prefix must say.
     */
    public static String cdnPathPrefix(String sitePrefix, String setting, java.util.List<String> distributions) {
        if (setting.isBlank()) {
            if (!sitePrefix.isEmpty() && !distributions.isEmpty()) {
                throw new IllegalStateException("difusor.site.prefix is '" + sitePrefix + "': set difusor.cdn.path-prefix too, to /" + sitePrefix
                        + " if the distributions serve the whole bucket, or to / if their origin path is /" + sitePrefix.substring(0, sitePrefix.length() - 1));
            }
            return sitePrefix;
        }
        String p = setting.strip().replaceAll("^/+", "");
        return p.isEmpty() || p.endsWith("/") ? p : p + "/";
    }

    /**
     * The name this replica's probe keeps its view under: difusor.cluster.pod-name, else the pod's name (Kubernetes sets
     * HOSTNAME to it), else one of its own for this process, so two processes never share a view.
     */
    static String probePod(Settings settings) {
        String pod = settings.text("difusor.cluster.pod-name");
        if (pod.isBlank()) {
            pod = java.util.Objects.requireNonNullElse(System.getenv("HOSTNAME"), "");
        }
        pod = pod.strip().replaceAll("[^A-Za-z0-9._-]", "_");
        return pod.isEmpty() ? "process-" + java.util.UUID.randomUUID().toString().substring(0, 8) : pod;
    }

    /**
     * difusor.source.opens-at: when the institute opens the PREP, with its offset (the convocatoria gives the time in
     * Mexico City's), or empty when not known.
     */
    static Instant opensAt(String text) {
        if (text.isBlank()) {
            return null;
        }
        try {
            return java.time.OffsetDateTime.parse(text.strip()).toInstant();
        } catch (java.time.format.DateTimeParseException e) {
            throw new IllegalStateException("difusor.source.opens-at is a date and time with its offset, such as 2024-06-02T20:00:00-06:00, not '"
                    + text + "'", e);
        }
    }

    /**
     * Values that start but stop the night: no upload thread hangs the first publication; Camel reads a negative
     * redelivery count as "retry forever", which holds the poll on one failing download; a negative deletion limit
     * refuses every corte ("would delete 0").
     */
    static void requireSensibleLimits(int publishConcurrency, int maxRedeliveries, int maxDeletions, int cdnBusyRetries) {
        if (publishConcurrency < 1) {
            throw new IllegalStateException("difusor.publish.concurrency is at least 1, not " + publishConcurrency);
        }
        if (maxRedeliveries < 0) {
            throw new IllegalStateException("difusor.retry.max-redeliveries is 0 or more (a negative count retries forever and holds "
                    + "the poll), not " + maxRedeliveries);
        }
        if (maxDeletions < 0) {
            throw new IllegalStateException("difusor.publish.max-deletions is 0 or more (0: no published file may be deleted), not "
                    + maxDeletions);
        }
        if (cdnBusyRetries < 0) {
            throw new IllegalStateException("difusor.cdn.busy-retries is 0 or more (a negative count retries forever and holds "
                    + "the next corte), not " + cdnBusyRetries);
        }
    }

    /**
     * Every prefix and key the difusor writes in the history bucket: one list for both start checks (the site's and
     * the incoming bucket's). The views prefix was missing from the site's: inside the site, the prune deleted the
     * other replica's view and CloudFront served it.
     */
    static java.util.Map<String, String> historyKeys(Settings settings) {
        java.util.Map<String, String> keys = new java.util.HashMap<>(java.util.Map.of("difusor.history.prefix", settings.prefix("difusor.history.prefix"),
                "difusor.quarantine.prefix", settings.prefix("difusor.quarantine.prefix"),
                "difusor.probe.incidents-prefix", settings.prefix("difusor.probe.incidents-prefix"),
                "difusor.state.key", settings.required("difusor.state.key"),
                "difusor.state.manifest-key", settings.required("difusor.state.manifest-key")));
        // empty: no views kept (the probe's replicas do not vouch for each other), nothing written
        if (!settings.prefix("difusor.probe.views-prefix").isEmpty()) {
            keys.put("difusor.probe.views-prefix", settings.prefix("difusor.probe.views-prefix"));
        }
        return keys;
    }

    /**
     * The site bucket is public (CloudFront serves it) and holds the package and nothing else (a listing plan deletes
     * what the package lacks): what the difusor keeps for itself must lie outside the site. History, quarantine (bad
     * packages), incidents and state inside it would be deleted by the prune and served to the public; so would
     * CloudFront's access logs (visitors' IP addresses), which the memoria técnica needs.
     *
     * @param historyKeys setting name -> a prefix or key in the history bucket
     * @param memoriaLogs difusor.memoria.logs: s3://bucket/prefix/, a local folder, or empty
     */

    static void requireApartFromTheSite(String siteBucket, String sitePrefix, String historyBucket, java.util.Map<String, String> historyKeys,
            String memoriaLogs) {
        if (siteBucket.equals(historyBucket)) {
            new java.util.TreeMap<>(historyKeys).forEach((setting, key) -> {
                if (key.startsWith(sitePrefix) || sitePrefix.startsWith(key)) {
                    throw new IllegalStateException("difusor.history.bucket is the site bucket (" + siteBucket + ") and " + setting
                            + " ('" + key + "') overlaps the site (difusor.site.prefix '" + sitePrefix + "'): the site's prune would "
                            + "delete it and CloudFront would serve it. Use another bucket for the history, or site and history "
                            + "prefixes apart (site/ and history/)");
                }
            });
        }
        if (memoriaLogs.startsWith("s3://")) {
            String location = memoriaLogs.substring("s3://".length());
            int slash = location.indexOf('/');
            String bucket = slash < 0 ? location : location.substring(0, slash);
            String prefix = slash < 0 ? "" : location.substring(slash + 1);
            if (bucket.equals(siteBucket) && (prefix.startsWith(sitePrefix) || sitePrefix.startsWith(prefix))) {
                throw new IllegalStateException("difusor.memoria.logs (" + memoriaLogs + ") lies inside the site (s3://" + siteBucket + "/"
                        + sitePrefix + "): CloudFront would serve its access logs (visitors' IP addresses) and the site's prune "
                        + "would delete them. Send the distribution's standard logs to a bucket of their own");
            }
        }
    }

    /**
     * The incoming bucket apart from the site (its packages would be public, and the site's prune would delete them)
     * and from what the history bucket holds (a listing of the incoming prefix would take in the history's zips).
     */
    static void requireIncomingApart(String incoming, String incomingPrefix, String siteBucket, String sitePrefix, String historyBucket,
            java.util.Map<String, String> historyKeys) {
        java.util.Map<String, String> taken = new java.util.TreeMap<>();
        if (incoming.equals(siteBucket)) {
            taken.put("difusor.site.prefix", sitePrefix);
        }
        if (incoming.equals(historyBucket)) {
            taken.putAll(historyKeys);
        }
        taken.forEach((setting, key) -> {
            if (key.startsWith(incomingPrefix) || incomingPrefix.startsWith(key)) {
                throw new IllegalStateException("difusor.source.bucket-prefix ('" + incomingPrefix + "') of s3://" + incoming
                        + " overlaps " + setting + " ('" + key + "') in the same bucket: give the institute's replica a bucket, or a"
                        + " prefix, of its own");
            }
        });
    }

    /** The unzip step's extra readers (the pipeline thread is one); none when it reads alone. */
    static ExecutorService unpackThreads(CamelContext context, int threads) {
        return threads > 1 ? context.getExecutorServiceManager().newFixedThreadPool(SiteUnpacker.class, "unpack", threads - 1) : null;
    }

    /**
     * The copy into the history beside the unzip. Abort, not Camel's default caller-runs, which drops a task once the
     * pool is shut down: the archiver then copies in the step itself instead of waiting for a copy that never runs.
     */
    public static ExecutorService historyCopies(CamelContext context) {
        // a queue of its own size: Camel's pools hand over directly (no queue) when maxQueueSize is 0 or less
        ThreadPoolProfile profile = new ThreadPoolProfileBuilder("history").poolSize(1).maxPoolSize(1)
                .maxQueueSize(16).rejectedPolicy(ThreadPoolRejectedPolicy.Abort).build();
        return context.getExecutorServiceManager().newThreadPool(HistoryArchiver.class, "history", profile);
    }

    /**
     * The parts of the packages going into the history. Abort, not Camel's default caller-runs: a pool that is shut
     * down would drop a part without a word, and the copy would wait for it forever.
     */
    public static ExecutorService historyPartThreads(CamelContext context, int threads) {
        return partThreads(context, "history-parts", threads);
    }

    private static ExecutorService partThreads(CamelContext context, String name, int threads) {
        // room for every part of a package (S3 takes at most 10,000): with maxQueueSize 0 or less Camel's pool has no
        // queue, and a package of more parts than threads was refused (BENCHMARKS.md, step 32)
        ThreadPoolProfile profile = new ThreadPoolProfileBuilder(name).poolSize(threads).maxPoolSize(threads)
                .maxQueueSize(ObjectStore.Parts.MAX_COUNT).rejectedPolicy(ThreadPoolRejectedPolicy.Abort).build();
        return context.getExecutorServiceManager().newThreadPool(ObjectStore.class, name, profile);
    }

    /** Bounded queue with caller-runs: the splitter cannot run ahead of the uploads and fill the heap. */
    static ExecutorService publishThreads(CamelContext context, int concurrency) {
        ThreadPoolProfile profile = new ThreadPoolProfileBuilder("publish")
                .poolSize(concurrency).maxPoolSize(concurrency).maxQueueSize(concurrency * 2)
                .rejectedPolicy(ThreadPoolRejectedPolicy.CallerRuns).build();
        return context.getExecutorServiceManager().newThreadPool(DifusorConfiguration.class, "publish", profile);
    }

    /**
     * Said at every start while no host is named: whoever can change the manifest (or redirect its URL) can then send the
     * difusor to publish a package from anywhere, and only the allowed hosts would stop that.
     */
    static java.util.Optional<String> anyHostWarning(String kind, java.util.List<String> allowedHosts) {
        boolean overHttps = kind.equals("manifest") || kind.equals("package-url");
        if (!overHttps || allowedHosts.stream().anyMatch(h -> !h.isBlank())) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of("difusor.source.allowed-hosts is empty: the source may send the difusor to fetch and publish a "
                + "package from any https host; name the institute's hosts once it says where its packages are served from");
    }

    /**
     * A source URL from its setting. URI.create's message quotes the whole URL, token and all, into the start log;
     * this one says where it is wrong and why, not what it holds.
     */
    static URI sourceUrl(String setting, String value) {
        try {
            return new URI(value);
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException(setting + " is not a valid URL: " + e.getReason() + " at index " + e.getIndex()
                    + " (the URL is not shown: it may hold a token)");
        }
    }
}
