package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import software.amazon.awssdk.core.sync.RequestBody;

import mx.prep.difusor.embedded.PrepPackageGenerator;
import mx.prep.difusor.source.IncomingBucket;
import mx.prep.difusor.state.CorteHorizon;
import mx.prep.difusor.state.CorteParser;
import mx.prep.difusor.testing.FaultProxy;

/**
 * Source kind "bucket": the institute replicates its packages into an S3 bucket of the difusor's, each zip with its
 * checksum file, in any order. Real S3 (S3Proxy) behind a network that can fail.
 */
class IncomingBucketTest extends PipelineTestBase {

    private static final String INCOMING = "prep-incoming";
    private static final String PREFIX = "paquetes/";

    @BeforeEach
    void incomingBucket() {
        s3.createBucket(INCOMING);
    }

    private Map<String, String> bucketSource() {
        var settings = settings();
        settings.put("difusor.source.kind", "bucket");
        settings.put("difusor.source.bucket", INCOMING);
        settings.put("difusor.source.bucket-prefix", PREFIX);
        return settings;
    }

    private void replicateZip(Path pkg) throws Exception {
        bucket.putObject(b -> b.bucket(INCOMING).key(PREFIX + pkg.getFileName()), RequestBody.fromFile(pkg));
    }

    private void replicateSidecar(Path pkg, String sha256) {
        String name = pkg.getFileName().toString();
        bucket.putObject(b -> b.bucket(INCOMING).key(PREFIX + name + ".sha256"), RequestBody.fromString(sha256 + "  " + name + "\n"));
    }

    /** The zip, then its checksum file: as replication completes a package. */
    private void replicate(Path pkg) throws Exception {
        replicateZip(pkg);
        replicateSidecar(pkg, PrepPackageGenerator.sha256Hex(pkg));
    }

    private int zipGets(Path pkg) {
        return s3Network.requests(r -> r.method().equals("GET") && r.path().equals("/" + INCOMING + "/" + PREFIX + pkg.getFileName()));
    }

    @Test
    void theNewestCorteWithItsChecksumFileIsPublishedByteForByteAndAZipWithoutOneWaits() throws Exception {
        Path first = corte(0);
        Path second = corte(1);
        replicate(first);
        startDifusor(bucketSource());
        awaitPublished(first);
        assertSiteEquals(first);
        assertThat(keys(HISTORY, "history/")).contains("history/" + first.getFileName());

        // the newer zip arrives first, its checksum file later: not taken before it
        replicateZip(second);
        NotifyBuilder polls = new NotifyBuilder(difusor.context()).fromRoute("poll-bucket").whenDone(10).create();
        assertThat(polls.matches(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(zipGets(second)).as("the zip without its checksum file").isZero();
        assertThat(publishedState().orElseThrow().packageName()).isEqualTo(first.getFileName().toString());

        replicateSidecar(second, PrepPackageGenerator.sha256Hex(second));
        awaitPublished(second);
        assertSiteEquals(second);
        // the institute's copies stay where replication put them
        assertThat(keys(INCOMING, PREFIX)).hasSize(4);

        // published: not copied again at later polls, nor the older one, which is no longer the newest
        int copies = zipGets(second);
        NotifyBuilder later = new NotifyBuilder(difusor.context()).fromRoute("poll-bucket").whenDone(10).create();
        assertThat(later.matches(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(zipGets(second)).isEqualTo(copies).isEqualTo(1);
        assertThat(zipGets(first)).isEqualTo(1);
    }

    /**
     * A zip whose corte is ahead of the clock (a typo in the year) stays in the bucket, the newest corte there: refused
     * once, then passed over, or no real corte after it would ever be offered.
     */
    @Test
    void aCorteAheadOfTheClockIsRefusedOnceAndTheRealCortesAfterItArePublished() throws Exception {
        Path first = corte(0);
        replicate(first);
        startDifusor(bucketSource());
        awaitPublished(first);

        Path ahead = Files.copy(corte(1), Files.createDirectories(tmp.resolve("ahead")).resolve("PREP2024_JAL_20420602_2000.zip"));
        replicate(ahead);
        var report = awaitReport(ahead.getFileName().toString());
        assertThat(report.path("reason").asText()).isEqualTo("CORTE_AHEAD");

        Path second = corte(1);
        replicate(second);
        awaitPublished(second);
        assertSiteEquals(second);
        Path third = corte(2);
        replicate(third);
        awaitPublished(third);
        assertSiteEquals(third);
        assertThat(zipGets(ahead)).as("the zip ahead of the clock, copied once").isEqualTo(1);
        assertThat(keys(HISTORY, "quarantine/")).filteredOn(k -> k.endsWith("report.json")).hasSize(1);
    }

    /**
     * A checksum file replaced between the listing and its read by something large: no more than a checksum file may
     * hold is read (it was read whole into the heap, whatever its size), and the package is refused for it.
     */
    @Test
    void aChecksumFileLargerThanOneMayBeWhenReadIsNotOne() throws Exception {
        Path first = corte(0);
        replicate(first);
        String sidecarPath = "/" + INCOMING + "/" + PREFIX + first.getFileName() + ".sha256";
        // the listing's size is the small file's; the read gets a valid line followed by 200 KB
        s3Network.respond(r -> r.method().equals("GET") && r.path().equals(sidecarPath), FaultProxy.ALWAYS, 200, "text/plain",
                PrepPackageGenerator.sha256Hex(first) + "  " + first.getFileName() + "\n" + " ".repeat(200_000));
        startDifusor(bucketSource());
        var report = awaitReport(first.getFileName().toString());
        assertThat(report.path("reason").asText()).isEqualTo("CHECKSUM_INVALID");
        assertThat(publishedState()).isEmpty();
    }

    /**
     * Replicated from Windows: a {@code .ZIP}, its checksum file written by PowerShell's {@code >} (UTF-16 with a
     * byte-order mark) for the zip before it was renamed ({@code sha256sum paquete.zip}), then one written by
     * {@code certutil -hashfile}. Each was refused for good (not text; "names another file"; the checksum "SHA256"):
     * every corte of the night. The SHA-256 decides; a checksum file naming another corte's zip is still refused.
     */
    @Test
    void checksumFilesWrittenOnWindowsOrForTheZipsFormerNameAreReadAndTheirPackagesPublished() throws Exception {
        Path first = corte(0);
        String firstKey = PREFIX + first.getFileName().toString().replace(".zip", ".ZIP");
        bucket.putObject(b -> b.bucket(INCOMING).key(firstKey), RequestBody.fromFile(first));
        byte[] utf16 = ("\uFEFF" + PrepPackageGenerator.sha256Hex(first) + "  paquete.zip\r\n").getBytes(java.nio.charset.StandardCharsets.UTF_16LE);
        bucket.putObject(b -> b.bucket(INCOMING).key(firstKey + ".sha256"), RequestBody.fromBytes(utf16));
        startDifusor(bucketSource());
        awaitPublished(first);
        assertSiteEquals(first);

        Path second = corte(1);
        replicateZip(second);
        String certutil = "SHA256 hash of " + second.getFileName() + ":\r\n" + PrepPackageGenerator.sha256Hex(second).toUpperCase(java.util.Locale.ROOT)
                + "\r\nCertUtil: -hashfile command completed successfully.\r\n";
        bucket.putObject(b -> b.bucket(INCOMING).key(PREFIX + second.getFileName() + ".sha256"), RequestBody.fromString(certutil));
        awaitPublished(second);
        assertSiteEquals(second);

        Path third = corte(2);
        replicateZip(third);
        bucket.putObject(b -> b.bucket(INCOMING).key(PREFIX + third.getFileName() + ".sha256"),
                RequestBody.fromString(PrepPackageGenerator.sha256Hex(third) + "  " + second.getFileName() + "\n"));
        JsonNode report = awaitReport(third.getFileName().toString());
        assertThat(report.path("reason").asText()).isEqualTo("CHECKSUM_INVALID");
        assertThat(report.path("cause").asText()).contains("another corte", second.getFileName().toString());
        assertSiteEquals(second);
    }

    @Test
    void aZipThatDoesNotMatchItsChecksumFileIsQuarantinedAndTheSiteStaysAsItWas() throws Exception {
        Path first = corte(0);
        replicate(first);
        startDifusor(bucketSource());
        awaitPublished(first);

        Path second = corte(1);
        replicateZip(second);
        replicateSidecar(second, "0".repeat(64));
        var report = awaitReport(second.getFileName().toString());
        assertThat(report.path("reason").asText()).isEqualTo("CHECKSUM_MISMATCH");
        assertThat(report.path("source").asText()).isEqualTo("s3://" + INCOMING + "/" + PREFIX + second.getFileName());
        assertSiteEquals(first);
        assertThat(publishedState().orElseThrow().packageName()).isEqualTo(first.getFileName().toString());
    }

    @Test
    void aCopyCutOffOnTheNetworkIsRetriedAndThePackagePublished() throws Exception {
        Path first = corte(0);
        replicate(first);
        // the zip's first GET reset on arrival, the second one's body stalled after its head
        s3Network.reset(r -> r.method().equals("GET") && r.path().endsWith(".zip"), 1);
        s3Network.stallResponseBody(r -> r.method().equals("GET") && r.path().endsWith(".zip"), 1);
        var settings = bucketSource();
        settings.put("difusor.s3.max-attempts", "1");   // the retry channel's turn, not only the SDK's
        settings.put("difusor.s3.read-timeout-ms", "2000");
        java.util.List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            startDifusor(settings);
            awaitPublished(first);
        }
        assertSiteEquals(first);
        assertThat(s3Network.faultsInjected()).isGreaterThanOrEqualTo(2);
        // the copy's own retries (the pipeline's retry channel), not a poll's WARN and the next poll
        assertThat(logged).anyMatch(l -> l.contains(first.getFileName() + ": step download failed, retry 1 of"))
                .anyMatch(l -> l.contains(first.getFileName() + ": step download failed, retry 2 of"));
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    /** The listing tells the size: a zip above difusor.source.max-package-bytes is reported without a byte copied. */
    @Test
    void aZipLargerThanTheLimitIsReportedWithoutBeingCopied() throws Exception {
        Path first = corte(0);
        replicate(first);
        var settings = bucketSource();
        settings.put("difusor.source.max-package-bytes", String.valueOf(Files.size(first) - 1));
        startDifusor(settings);
        var report = awaitReport(first.getFileName().toString());
        assertThat(report.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
        assertThat(report.path("step").asText()).isEqualTo("download");
        assertThat(report.path("cause").asText()).contains("max-package-bytes");
        assertThat(zipGets(first)).isZero();
        assertThat(publishedState()).isEmpty();
    }

    /** A zip gone between the listing and the copy (replicated again, removed) is looked for at the next poll, not reported. */
    @Test
    void aZipGoneSinceTheListingIsTakenAtALaterPollNotQuarantined() throws Exception {
        Path first = corte(0);
        replicate(first);
        // more times than the retry channel tries: retried as a failure, it would end in quarantine
        s3Network.respond(r -> r.method().equals("GET") && r.path().endsWith(".zip"), 3, 404, "application/xml",
                "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>");
        var settings = bucketSource();
        settings.put("difusor.retry.max-redeliveries", "1");
        startDifusor(settings);
        awaitPublished(first);
        assertSiteEquals(first);
        assertThat(s3Network.faultsInjected()).isEqualTo(3);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    /**
     * A checksum file still empty (created first, filled by a second write), or begun with no room for a SHA-256 yet, is
     * a checksum file not there yet: the corte before it stays on offer, and the newer one is offered once its checksum
     * is in it. It was offered without a checksum and refused for good, with an alert, for a package that was fine.
     */
    @Test
    void aZipWhoseChecksumFileIsStillEmptyIsNotOfferedYet() throws Exception {
        replicate(corte(0));
        replicateZip(corte(1));
        String emptyKey = PREFIX + corte(1).getFileName() + ".sha256";
        bucket.putObject(b -> b.bucket(INCOMING).key(emptyKey), RequestBody.empty());
        ZoneId zone = ZoneId.of("America/Mexico_City");
        IncomingBucket source = new IncomingBucket(bucket, INCOMING, PREFIX,
                new CorteParser(".*_(?<date>\\d{8})_(?<time>\\d{4})\\.zip", zone), tmp.resolve("spool"), 1L << 30,
                Duration.ofMinutes(5), Duration.ofSeconds(10), Clock.systemUTC(),
                new DifusorMetrics(new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), Clock.systemUTC(), zone),
                new CorteHorizon(Clock.fixed(java.time.Instant.parse("2024-06-03T12:00:00Z"), zone), zone, Duration.ofMinutes(5)),
                name -> false);
        assertThat(source.poll().packageName()).isEqualTo(corte(0).getFileName().toString());
        // begun but holding no SHA-256 yet: a byte-order mark (UTF-8, PowerShell's UTF-16), a line end
        for (byte[] begun : List.of(new byte[] { (byte) 0xEF, (byte) 0xBB, (byte) 0xBF }, new byte[] { (byte) 0xFF, (byte) 0xFE },
                "\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII))) {
            bucket.putObject(b -> b.bucket(INCOMING).key(emptyKey), RequestBody.fromBytes(begun));
            assertThat(source.poll().packageName()).as("%d bytes", begun.length).isEqualTo(corte(0).getFileName().toString());
        }

        replicateSidecar(corte(1), PrepPackageGenerator.sha256Hex(corte(1)));
        mx.prep.difusor.source.PackageOffer offered = source.poll();
        assertThat(offered.packageName()).isEqualTo(corte(1).getFileName().toString());
        assertThat(offered.announcedSha256()).isEqualTo(PrepPackageGenerator.sha256Hex(corte(1)));
    }

    /**
     * A newer zip whose checksum file has not come for longer than replication takes (an institute that replicates zips
     * only, or names their checksum otherwise) is named once at WARN; nothing else said it until
     * PrepNoCorteFor45Minutes. One just replicated, or older than the corte on offer, is not.
     */
    @Test
    void aNewerZipLongWithoutItsChecksumFileIsNamedOnceAtWarn() throws Exception {
        replicate(corte(1));
        replicateZip(corte(0));   // older than the one on offer: nothing waits for it
        replicateZip(corte(2));
        ZoneId zone = ZoneId.of("America/Mexico_City");
        java.util.function.Function<Clock, IncomingBucket> source = clock -> new IncomingBucket(bucket, INCOMING, PREFIX,
                new CorteParser(".*_(?<date>\\d{8})_(?<time>\\d{4})\\.zip", zone), tmp.resolve("spool"), 1L << 30,
                Duration.ofMinutes(5), Duration.ofSeconds(10), clock,
                new DifusorMetrics(new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), clock, zone),
                new CorteHorizon(Clock.fixed(java.time.Instant.parse("2024-06-03T12:00:00Z"), zone), zone, Duration.ofMinutes(5)),
                name -> false);
        String waiting = PREFIX + corte(2).getFileName();
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            // just replicated: replication may still bring its checksum file
            assertThat(source.apply(Clock.systemUTC()).poll().packageName()).isEqualTo(corte(1).getFileName().toString());
            IncomingBucket later = source.apply(Clock.offset(Clock.systemUTC(), IncomingBucket.CHECKSUM_FILE_WAIT.plusSeconds(5)));
            for (int poll = 0; poll < 3; poll++) {
                assertThat(later.poll().packageName()).isEqualTo(corte(1).getFileName().toString());
            }
        }
        List<String> warned = logged.stream().filter(l -> l.contains("without its")).toList();
        assertThat(warned).hasSize(1);
        assertThat(warned.get(0)).contains("s3://" + INCOMING + "/" + waiting, "without its " + corte(2).getFileName() + ".sha256",
                "ask the institute");
    }

    @Test
    void theReplicaInsideTheSiteOrOverTheHistoryIsRefusedAtStart() {
        var inSite = bucketSource();
        inSite.put("difusor.source.bucket", SITE);
        assertThatThrownBy(() -> startDifusor(inSite)).hasStackTraceContaining("overlaps difusor.site.prefix");
        var overHistory = bucketSource();
        overHistory.put("difusor.source.bucket", HISTORY);
        overHistory.put("difusor.source.bucket-prefix", "history/incoming/");
        assertThatThrownBy(() -> startDifusor(overHistory)).hasStackTraceContaining("overlaps difusor.history.prefix");
    }

    /**
     * A copy from the incoming bucket whose body stalls until the read times out gets the download deadline once, for
     * all its attempts, as a download over HTTP does: reported after the first attempt that outlasts it. Each attempt
     * had a deadline of its own, checked only when bytes came: six read timeouts in a row held the poll.
     */
    @Test
    void aStallingCopyHasOneDeadlineForAllItsAttempts() throws Exception {
        var settings = bucketSource();
        settings.put("difusor.source.download-deadline-ms", "1000");
        settings.put("difusor.s3.read-timeout-ms", "2000");
        settings.put("difusor.s3.max-attempts", "1");
        Path pkg = corte(0);
        replicate(pkg);
        s3Network.stallResponseBody(r -> r.method().equals("GET") && r.path().equals("/" + INCOMING + "/" + PREFIX + pkg.getFileName()),
                FaultProxy.ALWAYS);
        startDifusor(settings);
        JsonNode report = awaitReport(pkg.getFileName().toString());
        assertThat(report.path("step").asText()).isEqualTo("download");
        assertThat(report.path("cause").asText()).contains("all attempts together");
        assertThat(zipGets(pkg)).isEqualTo(1);
    }
}
