package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import mx.prep.difusor.embedded.PrepPackageGenerator;
import mx.prep.difusor.testing.FaultProxy;
import mx.prep.difusor.testing.SiteBucket;

/**
 * The directory source: packages dropped into a folder with their checksum sidecar, dropped again, held back
 * while S3 fails, and bytes changed on disk after their check.
 */
class IncomingFolderTest extends PipelineTestBase {

    /** Starts the difusor with source kind "directory": packages dropped into the returned folder with their sidecar. */
    private Path startWithAnIncomingDirectory() throws Exception {
        return startWithAnIncomingDirectory(settings());
    }

    private Path startWithAnIncomingDirectory(Map<String, String> settings) throws Exception {
        Path incoming = Files.createDirectories(tmp.resolve("incoming"));
        settings.put("difusor.source.kind", "directory");
        settings.put("difusor.source.directory", incoming.toString());
        startDifusor(settings);
        return incoming;
    }

    @Test
    void aPackageDroppedInTheIncomingDirectoryWithItsSidecarIsPublishedAndRemoved() throws Exception {
        Path incoming = startWithAnIncomingDirectory();
        Path pkg = corte(0);
        Path dropped = Files.copy(pkg, incoming.resolve(pkg.getFileName()));
        // the sidecar comes last: it tells the zip is complete
        Files.writeString(incoming.resolve(pkg.getFileName() + ".sha256"), PrepPackageGenerator.sha256Hex(pkg) + "  " + pkg.getFileName() + "\n");
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + pkg.getFileName())).asByteArray())
                .isEqualTo(Files.readAllBytes(pkg));
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(dropped));
    }

    /**
     * A zip whose checksum file came under another name ({@code X.sha256}, not {@code X.zip.sha256}) waits for it, as
     * the done-file rule says; once it has waited longer than a copy takes, a WARN names it and the file beside it. It
     * waited silently all night. Renamed, it is taken.
     */
    @Test
    void aZipWaitingForItsChecksumFileUnderAnotherNameIsNamedOnceAtWarn() throws Exception {
        Path incoming = startWithAnIncomingDirectory();
        Path pkg = corte(0);
        String name = pkg.getFileName().toString();
        String misnamed = name.replace(".zip", ".sha256");
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            Path dropped = Files.copy(pkg, incoming.resolve(name));
            Files.setLastModifiedTime(dropped, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(Duration.ofMinutes(3))));
            Files.writeString(incoming.resolve(misnamed), PrepPackageGenerator.sha256Hex(pkg) + "  " + name + "\n");
            await().atMost(Duration.ofSeconds(20)).until(() -> logged.stream().anyMatch(l -> l.contains("has waited") && l.contains(misnamed)));
            // said by the poll that left it: not taken
            assertThat(dropped).exists();
            assertThat(publishedState()).isEmpty();
            Files.move(incoming.resolve(misnamed), incoming.resolve(name + ".sha256"));
            awaitPublished(pkg);
        }
        assertSiteEquals(pkg);
    }

    /**
     * Windows PowerShell 5.1's {@code sha256sum … > X.zip.sha256} (or Out-File) writes UTF-16 with a byte-order mark,
     * and the line names the zip as it was called before it was dropped here: read as UTF-8 it was not text, and every
     * corte was refused (CHECKSUM_INVALID) and deleted from the folder.
     */
    @Test
    void aChecksumFileInUtf16NamingTheZipsFormerNameIsReadAndThePackagePublished() throws Exception {
        Path incoming = startWithAnIncomingDirectory();
        Path pkg = corte(0);
        Files.copy(pkg, incoming.resolve(pkg.getFileName()));
        Files.writeString(incoming.resolve(pkg.getFileName() + ".sha256"), "\uFEFF" + PrepPackageGenerator.sha256Hex(pkg) + "  paquete.zip\r\n",
                StandardCharsets.UTF_16LE);
        awaitPublished(pkg);
        assertSiteEquals(pkg);
    }

    /**
     * A checksum file written in the folder itself ({@code sha256sum X.zip > X.zip.sha256}) exists, empty, while
     * sha256sum reads the zip: the package waits, with one WARN, and is taken once the file holds its SHA-256. Taken at
     * once, it was refused for good (CHECKSUM_INVALID) and both files were deleted from the folder.
     */
    @Test
    void aPackageWhoseChecksumFileIsStillEmptyWaitsUntilTheFileIsWritten() throws Exception {
        Path incoming = startWithAnIncomingDirectory();
        Path pkg = corte(0);
        String name = pkg.getFileName().toString();
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        Path zip;
        Path sidecar;
        try (AutoCloseable capture = captureLogs(logged)) {
            zip = Files.copy(pkg, incoming.resolve(name));
            sidecar = Files.createFile(incoming.resolve(name + ".sha256"));
            await().atMost(Duration.ofSeconds(10)).until(() -> logged.stream().anyMatch(l -> l.contains(name + " waits in") && l.contains("is empty")));
            // polled five times a second: ten polls and more find it so, and take nothing
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
                    .until(() -> Files.exists(zip) && Files.exists(sidecar) && keys(HISTORY, "quarantine/").isEmpty());
            assertThat(logged.stream().filter(l -> l.contains(name + " waits in"))).hasSize(1);
        }
        Files.writeString(sidecar, PrepPackageGenerator.sha256Hex(pkg) + "  " + name + "\n");
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(zip));

        // one still empty a minute after it was written is no checksum on its way (a sha256sum that failed): refused as
        // before, so the quarantine's alert calls a person (and held-back packages are not held behind it)
        Path next = corte(1);
        String nextName = next.getFileName().toString();
        Path nextZip = Files.copy(next, incoming.resolve(nextName));
        Path empty = Files.createFile(incoming.resolve(nextName + ".sha256"));
        Files.setLastModifiedTime(empty, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(Duration.ofMinutes(2))));
        assertThat(awaitReport(nextName).path("reason").asText()).isEqualTo("CHECKSUM_INVALID");
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(nextZip));
        assertSiteEquals(pkg);
    }

    /**
     * An older corte dropped into the folder again after a newer one was published (a sync's re-issue, a rehearsal's
     * drill): reported stale like any older corte, though the history already records it as published. Only a package
     * the poll could not tell by its offer (named by its download) is dropped quietly as handled before.
     */
    @Test
    void anOlderCorteDroppedIntoTheFolderAgainIsReportedStale() throws Exception {
        Path incoming = startWithAnIncomingDirectory();
        Path older = corte(0);
        Path newer = corte(1);
        dropWithSidecar(incoming, older);
        awaitPublished(older);
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(incoming.resolve(older.getFileName())));
        dropWithSidecar(incoming, newer);
        awaitPublished(newer);
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(incoming.resolve(newer.getFileName())));

        dropWithSidecar(incoming, older);
        assertThat(awaitReport(older.getFileName().toString()).path("reason").asText()).isEqualTo("STALE_CORTE");
        assertSiteEquals(newer);
    }

    /**
     * A package dropped again under the same name, over the file (a cp, a sync's re-issue), while the first one goes
     * through: what was checked is what is archived and published. Read in place from the folder, the checksum passed on
     * the first bytes and the history and the site got the second ones: unverified bytes in public, under the
     * first's checksum.
     */
    @ParameterizedTest(name = "receive retried after an S3 failure: {0}")
    @ValueSource(booleans = { false, true })
    void aPackageOverwrittenInTheFolderAfterItsChecksumIsPublishedAsChecked(boolean receiveRetried) throws Exception {
        Path checked = corte(0);
        String name = checked.getFileName().toString();
        var settings = BadPackagesTest.givingUpOnS3Sooner(settings());
        settings.put("difusor.quarantine.send-kept-every-ms", "500");
        if (receiveRetried) {
            // the folder's receive asks the history for the package's record: refused past the SDK's attempts, the step is
            // retried, and the retry must not find its own first copy in the spool and read the folder's file in place
            s3Network.respond(r -> r.method().equals("GET") && r.path().equals("/" + HISTORY + "/history/" + name + ".json"), 2, 500,
                    "application/xml", "<Error><Code>InternalError</Code><Message>injected</Message></Error>");
        }
        Path incoming = startWithAnIncomingDirectory(settings);
        // the history's answer on this package comes after its checksum and before its copy: held until it is overwritten
        s3Network.holdRequest(r -> r.method().equals("GET") && r.path().equals("/" + HISTORY + "/history/" + name + ".sha256"), 1,
                Duration.ofSeconds(60));
        dropWithSidecar(incoming, checked);
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.requests(r -> r.path().equals("/" + HISTORY + "/history/" + name + ".sha256")) > 0);
        byte[] other = Files.readAllBytes(corte(1));
        Files.write(incoming.resolve(name), other);   // in place: the same file, other bytes
        s3Network.releaseHolds();

        awaitPublished(checked);
        assertSiteEquals(checked);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name)).asByteArray()).isEqualTo(Files.readAllBytes(checked));
        // and the package dropped over it is not deleted unseen with it: kept in quarantine, its name taken by another
        JsonNode report = awaitReport(name);
        assertThat(report.path("reason").asText()).isEqualTo("NAME_REUSED");
        assertThat(report.path("step").asText()).isEqualTo("receive");
        String kept = report.path("packageKeptAt").asText().substring(("s3://" + HISTORY + "/").length());
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(kept)).asByteArray()).isEqualTo(other);
        assertSiteEquals(checked);
        // and counted, so PrepPackageQuarantined fires: set aside with its report, it had not been counted before
        assertThat(meters().get("difusor_packages_rejected_total").tag("reason", "NAME_REUSED").counter().count()).isEqualTo(1);
    }

    /**
     * The same bytes dropped again over the file while it goes through (a cp or a sync run twice: a new modification
     * time, the same content): nothing to keep. It was quarantined as NAME_REUSED "with other bytes", a false alert.
     */
    @Test
    void thePackageDroppedAgainWithTheSameBytesIsNotTakenForAnotherOne() throws Exception {
        Path checked = corte(0);
        String name = checked.getFileName().toString();
        Path incoming = startWithAnIncomingDirectory(settings());
        s3Network.holdRequest(r -> r.method().equals("GET") && r.path().equals("/" + HISTORY + "/history/" + name + ".sha256"), 1,
                Duration.ofSeconds(60));
        dropWithSidecar(incoming, checked);
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.requests(r -> r.path().equals("/" + HISTORY + "/history/" + name + ".sha256")) > 0);
        Files.write(incoming.resolve(name), Files.readAllBytes(checked));
        Files.setLastModifiedTime(incoming.resolve(name), java.nio.file.attribute.FileTime.from(java.time.Instant.now().plusSeconds(60)));
        s3Network.releaseHolds();

        awaitPublished(checked);
        // the check runs before the folder's consumer deletes the file
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(incoming.resolve(name)));
        Path leftovers = tmp.resolve("work").resolve("spool-leftovers");
        if (Files.exists(leftovers)) {
            try (var left = Files.walk(leftovers)) {
                assertThat(left.filter(Files::isRegularFile)).isEmpty();
            }
        }
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertSiteEquals(checked);
    }

    /**
     * The spool's copy changed on disk after its entries were checked against their CRCs and hashed (a disk fault, a
     * process writing where it should not): every upload carries the MD5 taken at the check, so S3 refuses the other
     * bytes and the site never holds bytes nobody verified. Without it they were published, and recorded as the entry's.
     */
    @Test
    void bytesChangedOnDiskAfterTheirCheckAreRefusedByS3NotPublished() throws Exception {
        Path pkg = corte(0);
        String name = pkg.getFileName().toString();
        startDifusor(failingFast(settings()));
        // the publication's marker is written once the unzip has checked and hashed every entry, before the first upload
        s3Network.holdRequest(r -> r.method().equals("PUT") && r.path().equals("/" + HISTORY + "/state/published.json"), 1, Duration.ofSeconds(60));
        institute.release(pkg);
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.requests(
                r -> r.method().equals("PUT") && r.path().equals("/" + HISTORY + "/state/published.json")) > 0);
        Path spooled = tmp.resolve("work").resolve("spool").resolve(name);
        mx.prep.difusor.unpack.ZipStructure.Entry stored = mx.prep.difusor.unpack.ZipStructure.inspect(spooled,
                new mx.prep.difusor.unpack.ZipStructure.Limits(1_000_000, 1L << 40, 1L << 40, 100_000)).stream()
                .filter(e -> e.method() == 0 && e.compressedSize() > 100).findFirst().orElseThrow();
        byte[] checked;
        try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(pkg.toFile())) {
            checked = zip.getInputStream(zip.getEntry(stored.name())).readAllBytes();
        }
        try (var channel = java.nio.channels.FileChannel.open(spooled, java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
            channel.read(one, stored.dataOffset() + 50);
            one.put(0, (byte) (one.get(0) ^ 0x5a)).rewind();
            channel.write(one, stored.dataOffset() + 50);   // in place: the open zip reads the changed byte
        }
        s3Network.releaseHolds();

        JsonNode report = awaitReport(name);
        assertThat(report.path("step").asText()).isEqualTo("publish");
        // S3 says BadDigest; S3Proxy's in-memory store only "Bad Request"
        assertThat(report.path("cause").asText()).contains("S3Exception").contains("Status Code: 400");
        assertThat(report.path("reason").asText()).isEqualTo("UNEXPECTED");
        if (keys(SITE, "").contains(stored.name())) {
            assertThat(bucket.getObjectAsBytes(b -> b.bucket(SITE).key(stored.name())).asByteArray()).isEqualTo(checked);
        }
        // not recorded as published: the state still says the publication was cut short
        assertThat(publishedState().orElseThrow().packageName()).isNull();
        assertThat(publishedState().orElseThrow().publishing()).isEqualTo(name);
    }

    /**
     * A dropped package whose history copy S3 refuses past every retry is quarantined, held back beside the folder
     * (whose consumer deletes it), and dropped into the folder again after the pause: published once S3 answers, as a
     * manifest's package is fetched again. It was deleted with the exchange and nothing offered it again: the corte
     * stayed unpublished until someone noticed and dropped it again.
     */
    @Test
    void aDroppedPackageThatFailedPastEveryRetryIsOfferedAgainAndPublishedOnceS3Answers() throws Exception {
        var settings = failingFast(settings());
        settings.put("difusor.retry.failed-package-pause-ms", "3000");   // long enough to see it held back
        Path incoming = startWithAnIncomingDirectory(settings);
        Path pkg = corte(0);
        String name = pkg.getFileName().toString();
        s3SlowsDownPuts(p -> p.startsWith("/" + HISTORY + "/history/" + name.replace(".zip", "")), FaultProxy.ALWAYS);
        dropWithSidecar(incoming, pkg);

        JsonNode report = awaitReport(name);
        assertThat(report.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
        assertThat(report.path("step").asText()).isEqualTo("history-archiver");
        Path heldBack = incoming.resolve(".held-back");
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(incoming.resolve(name)) && Files.exists(heldBack.resolve(name + ".sha256")));
        assertThat(heldBack.resolve(name)).hasSameBinaryContentAs(pkg);
        assertThat(heldBack.resolve(name + ".sha256")).hasContent(PrepPackageGenerator.sha256Hex(pkg) + "  " + name);
        assertThat(publishedState()).isEmpty();

        s3Network.clearFaults();
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name)).asByteArray()).isEqualTo(Files.readAllBytes(pkg));
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            try (var held = Files.list(heldBack)) {
                return held.findAny().isEmpty() && !Files.exists(incoming.resolve(name));
            }
        });
    }

    /** A package S3 keeps refusing fails past its retries within seconds: two SDK attempts, one redelivery. */
    private static Map<String, String> failingFast(Map<String, String> settings) {
        settings.put("difusor.s3.max-attempts", "2");
        settings.put("difusor.retry.max-redeliveries", "1");
        return settings;
    }

    /** Settings for a difusor whose dropped packages fail fast and are held back longer than a test lasts. */
    private Map<String, String> heldBackForLong() {
        var settings = failingFast(settings());
        settings.put("difusor.retry.failed-package-pause-ms", "600000");   // only a restart makes them due
        return settings;
    }

    /** Drops the package while S3 refuses its history copy: it fails past its retries and is held back. */
    private void heldBack(Path incoming, Path pkg) throws Exception {
        String name = pkg.getFileName().toString();
        s3SlowsDownPuts(p -> p.startsWith("/" + HISTORY + "/history/" + name.replace(".zip", "")), FaultProxy.ALWAYS);
        dropWithSidecar(incoming, pkg);
        assertThat(awaitReport(name).path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(incoming.resolve(".held-back").resolve(name + ".sha256"))
                && !Files.exists(incoming.resolve(name)));
    }

    private void awaitNothingHeldBack(Path incoming) {
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            try (var held = Files.list(incoming.resolve(".held-back"))) {
                return held.findAny().isEmpty();
            }
        });
    }

    /**
     * A held-back package whose corte a newer one has passed meanwhile is not dropped again, after a restart too (when
     * nothing is known of the published state until it is read): it would only be refused as stale, a second report in
     * quarantine (and in the memoria técnica) for a package already there.
     */
    @Test
    void aHeldBackPackageOvertakenByANewerCorteIsNotOfferedAgain() throws Exception {
        var settings = heldBackForLong();
        Path incoming = startWithAnIncomingDirectory(settings);
        Path older = corte(0);
        String name = older.getFileName().toString();
        heldBack(incoming, older);
        Path newer = corte(1);
        dropWithSidecar(incoming, newer);
        awaitPublished(newer);
        s3Network.clearFaults();

        difusor.close();
        difusor = null;
        startDifusor(settings);   // due at once
        awaitNothingHeldBack(incoming);
        assertThat(incoming.resolve(name)).doesNotExist();
        List<String> reports = keys(HISTORY, "quarantine/" + name.replace(".zip", "") + "/").stream().filter(k -> k.endsWith("/report.json")).toList();
        assertThat(reports).singleElement().satisfies(k -> assertThat(k).contains("retries-exhausted"));
        assertThat(keys(HISTORY, "history/" + name)).isEmpty();
        assertThat(publishedState()).get().extracting(s -> s.packageName()).isEqualTo(newer.getFileName().toString());
        assertSiteEquals(newer);
    }

    /**
     * Two cortes held back during one outage: the newest is dropped again and published, the older one passed over, as
     * a manifest's newest corte is published and not each one missed. In name order the older went first: published,
     * then overwritten a minute later, an older corte on line for nothing.
     */
    @Test
    void ofTwoHeldBackCortesTheNewestIsOfferedAgainAndTheOlderPassedOver() throws Exception {
        var settings = heldBackForLong();
        Path incoming = startWithAnIncomingDirectory(settings);
        Path older = corte(0);
        Path newer = corte(1);
        heldBack(incoming, older);
        heldBack(incoming, newer);
        s3Network.clearFaults();

        difusor.close();
        difusor = null;
        startDifusor(settings);
        awaitPublished(newer);
        awaitNothingHeldBack(incoming);
        assertSiteEquals(newer);
        assertThat(keys(HISTORY, "history/" + older.getFileName())).isEmpty();
        assertThat(incoming.resolve(older.getFileName().toString())).doesNotExist();
    }

    /**
     * A pod killed while it dropped a held-back package again, between the zip and its checksum file: the drop is
     * finished at the next start. The zip waited in the folder for a checksum file that never came.
     */
    @Test
    void aDropAgainCutShortByAKilledPodIsFinished() throws Exception {
        Path incoming = Files.createDirectories(tmp.resolve("incoming"));
        Path heldBack = Files.createDirectories(incoming.resolve(".held-back"));
        Path pkg = corte(0);
        String name = pkg.getFileName().toString();
        Files.copy(pkg, incoming.resolve(name));
        Files.writeString(heldBack.resolve(name + ".sha256"), PrepPackageGenerator.sha256Hex(pkg) + "  " + name + "\n");
        Files.createFile(heldBack.resolve(name + ".dropping"));
        // and a zip held back without its checksum file (killed while holding it back): swept, never offered
        Files.copy(corte(1), heldBack.resolve(corte(1).getFileName()));

        startWithAnIncomingDirectory(settings());
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        awaitNothingHeldBack(incoming);
    }

    /**
     * S3's history down: a dropped package fails before its checksum is checked (the history cannot be asked), again
     * at every offer, and the pod's disk keeps its bytes once, not a 100 MB copy per failure; all reach S3 once it
     * answers, and the package is published.
     */
    @Test
    void aDroppedPackageFailingAgainWhileTheHistoryIsDownIsKeptOnThePodOnce() throws Exception {
        var settings = failingFast(settings());
        settings.put("difusor.quarantine.send-kept-every-ms", "500");
        Path incoming = startWithAnIncomingDirectory(settings);
        // the history and the quarantine refuse (the published state still answers: held back, the package is offered
        // again only when what is published can be told)
        s3Network.respond(r -> r.path().startsWith("/" + HISTORY + "/history/") || r.path().startsWith("/" + HISTORY + "/quarantine/"),
                FaultProxy.ALWAYS, 500, "application/xml", "<Error><Code>InternalError</Code><Message>injected</Message></Error>");
        Path pkg = corte(0);
        dropWithSidecar(incoming, pkg);
        Path local = tmp.resolve("work").resolve("quarantine");
        await().atMost(Duration.ofSeconds(60)).until(() -> filesUnder(local, "report.json").size() >= 2);
        assertThat(filesUnder(local, ".zip")).singleElement().satisfies(zip -> assertThat(zip).hasSameBinaryContentAs(pkg));

        s3Network.clearFaults();
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        await().atMost(Duration.ofSeconds(30)).until(() -> filesUnder(local, "").isEmpty());
        String folder = "quarantine/" + pkg.getFileName().toString().replace(".zip", "") + "/";
        assertThat(keys(HISTORY, folder).stream().filter(k -> k.endsWith("/report.json")).count()).isGreaterThanOrEqualTo(2);
    }

    private static List<Path> filesUnder(Path dir, String suffix) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        for (int walk = 1; ; walk++) {
            try (var files = Files.walk(dir)) {
                return files.filter(Files::isRegularFile).filter(f -> f.getFileName().toString().endsWith(suffix)).toList();
            } catch (java.io.UncheckedIOException movedDuringTheWalk) {
                // the quarantine renames its ".partial" copies as it writes them: walked again, never taken for empty
                if (!(movedDuringTheWalk.getCause() instanceof java.nio.file.NoSuchFileException) || walk == 10) {
                    throw movedDuringTheWalk;
                }
            }
        }
    }

    /**
     * Killed a step earlier: the zip linked into the folder but not yet unlinked from .held-back. The drop is finished
     * (the link dropped, the checksum file moved in); it used to be retried every second against the zip already there.
     */
    @Test
    void aDropAgainCutShortAfterItsZipWasLinkedIsFinished() throws Exception {
        Path incoming = Files.createDirectories(tmp.resolve("incoming"));
        Path heldBack = Files.createDirectories(incoming.resolve(".held-back"));
        Path pkg = corte(0);
        String name = pkg.getFileName().toString();
        Files.copy(pkg, heldBack.resolve(name));
        Files.createLink(incoming.resolve(name), heldBack.resolve(name));
        Files.writeString(heldBack.resolve(name + ".sha256"), PrepPackageGenerator.sha256Hex(pkg) + "  " + name + "\n");
        Files.createFile(heldBack.resolve(name + ".dropping"));

        startWithAnIncomingDirectory(settings());
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        awaitNothingHeldBack(incoming);
    }

    /** A dry run fed from the incoming folder offers a failed package again too, as a real run would. */
    @Test
    void aDryRunOffersAFailedDroppedPackageAgainAsARealRunWould() throws Exception {
        var settings = failingFast(settings());
        settings.put("difusor.publish.dry-run", "true");
        settings.put("difusor.retry.failed-package-pause-ms", "3000");
        Path incoming = startWithAnIncomingDirectory(settings);
        Path pkg = corte(0);
        String name = pkg.getFileName().toString();
        // the history is asked which corte the dropped package was published by, and cannot answer
        s3Network.respond(r -> r.method().equals("GET") && r.path().equals("/" + HISTORY + "/history/" + name + ".json"), FaultProxy.ALWAYS,
                500, "application/xml", "<Error><Code>InternalError</Code><Message>injected</Message></Error>");
        dropWithSidecar(incoming, pkg);
        Path report = tmp.resolve("work/dry-run/" + name.replace(".zip", ".json"));
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(report)
                && Json.MAPPER.readTree(Files.readString(report)).path("outcome").asText().equals("failed"));
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(incoming.resolve(".held-back").resolve(name + ".sha256")));

        s3Network.clearFaults();
        await().atMost(Duration.ofSeconds(30)).until(() -> Json.MAPPER.readTree(Files.readString(report)).path("outcome").asText().equals("publish"));
        assertThat(Json.MAPPER.readTree(Files.readString(report)).path("uploads").size()).isEqualTo(SiteBucket.files(pkg).size());
        assertThat(keys(SITE, "")).isEmpty();
    }

    /** A file name with a space and an accent: named safe, as its checksum file's line is read, and published. */
    @Test
    void aPackageDroppedUnderANameWithASpaceIsPublishedUnderItsSafeName() throws Exception {
        Path incoming = startWithAnIncomingDirectory();
        Path pkg = corte(0);
        String raw = "PREP 2024 Elección_JAL_20240602_2000.zip";
        Path dropped = Files.copy(pkg, incoming.resolve(raw));
        Files.writeString(incoming.resolve(raw + ".sha256"), PrepPackageGenerator.sha256Hex(pkg) + "  " + raw + "\n");
        String safe = "PREP_2024_Eleccion_JAL_20240602_2000.zip";
        await().atMost(Duration.ofSeconds(60)).until(() -> publishedState().map(p -> p.packageName()).filter(safe::equals).isPresent());
        assertSiteEquals(pkg);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + safe)).asByteArray()).isEqualTo(Files.readAllBytes(pkg));
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(dropped));
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    /**
     * The same refusal while the quarantine's route is stopped (as a stop past its timeout can leave it; here stopped by
     * the test): the dead-letter channel cannot reach it and swallows that failure, so the exchange ends handled and the
     * folder's consumer deletes the zip, the only copy (refused before its spool copy). It is set aside first, and the
     * sweep quarantines it. It was deleted: received, and lost.
     */
    @Test
    void aPackageRefusedBeforeItsSpoolCopyWhileTheQuarantineRouteIsStoppedIsKept() throws Exception {
        Path incoming = startWithAnIncomingDirectory(quarantineRouteMayStop(settings()));
        difusor.context().getRouteController().stopRoute("quarantine");
        Path pkg = corte(0);
        Path dropped = Files.copy(pkg, incoming.resolve(pkg.getFileName()));
        Files.writeString(incoming.resolve(pkg.getFileName() + ".sha256"), PrepPackageGenerator.sha256Hex(pkg) + "  paquete-elección.zip\r\n",
                StandardCharsets.ISO_8859_1);
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(dropped));

        String stem = pkg.getFileName().toString().replace(".zip", "");
        await().atMost(Duration.ofSeconds(30)).until(() -> keys(HISTORY, "quarantine/" + stem + "/").stream().anyMatch(k -> k.endsWith(".zip")));
        List<String> kept = keys(HISTORY, "quarantine/" + stem + "/");
        String copy = kept.stream().filter(k -> k.endsWith(".zip")).findFirst().orElseThrow();
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(copy)).asByteArray()).isEqualTo(Files.readAllBytes(pkg));
        JsonNode report = awaitReport(pkg.getFileName().toString());
        assertThat(report.path("reason").asText()).isEqualTo("CHECKSUM_INVALID");
        assertThat(report.path("step").asText()).isEqualTo("receive");
        assertThat(keys(SITE, "")).isEmpty();
    }

    /**
     * As above with the spool's leftovers refusing it too (here: their folder is a file; on a pod, the work disk full):
     * the package is renamed into the folder's {@code .not-kept/}, which takes no room and which the folder's consumer
     * does not look into. It was deleted by that consumer.
     */
    @Test
    void aPackageRefusedBeforeItsSpoolCopyThatNothingTakesStaysInItsFolder() throws Exception {
        Path incoming = startWithAnIncomingDirectory(quarantineRouteMayStop(settings()));
        difusor.context().getRouteController().stopRoute("quarantine");
        Path leftovers = tmp.resolve("work").resolve("spool-leftovers");
        Files.delete(leftovers);
        Files.writeString(leftovers, "not a folder");
        Path pkg = corte(0);
        Path dropped = Files.copy(pkg, incoming.resolve(pkg.getFileName()));
        Files.writeString(incoming.resolve(pkg.getFileName() + ".sha256"), PrepPackageGenerator.sha256Hex(pkg) + "  paquete-elección.zip\r\n",
                StandardCharsets.ISO_8859_1);
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(dropped));

        Path notKept = incoming.resolve(".not-kept");
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.isDirectory(notKept));
        List<Path> kept;
        try (var files = Files.list(notKept)) {
            kept = files.toList();
        }
        assertThat(kept).hasSize(1);
        assertThat(kept.get(0).getFileName().toString()).endsWith("~" + pkg.getFileName());
        assertThat(Files.readAllBytes(kept.get(0))).isEqualTo(Files.readAllBytes(pkg));
        assertThat(keys(SITE, "")).isEmpty();
        // counted as a package only on the pod: its alert calls a person, the only one who can quarantine it now
        assertThat(meters().get("difusor_packages_only_on_pod").gauge().value()).isEqualTo(1);
    }

    @Test
    void aPackageWhoseSidecarCannotBeReadIsKeptInQuarantineNotDeletedWithIt() throws Exception {
        Path incoming = startWithAnIncomingDirectory();
        Path pkg = corte(0);
        Path dropped = Files.copy(pkg, incoming.resolve(pkg.getFileName()));
        // saved in Windows' ANSI code page: 'ó' is no UTF-8, and no byte-order mark says what else it is
        Files.writeString(incoming.resolve(pkg.getFileName() + ".sha256"), PrepPackageGenerator.sha256Hex(pkg) + "  paquete-elección.zip\r\n",
                StandardCharsets.ISO_8859_1);
        String stem = pkg.getFileName().toString().replace(".zip", "");
        await().atMost(Duration.ofSeconds(30)).until(() -> keys(HISTORY, "quarantine/" + stem + "/").stream().anyMatch(k -> k.endsWith("report.json")));
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(dropped));

        List<String> kept = keys(HISTORY, "quarantine/" + stem + "/");
        JsonNode report = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY)
                .key(kept.stream().filter(k -> k.endsWith("report.json")).findFirst().orElseThrow())).asUtf8String());
        assertThat(report.path("package").asText()).isEqualTo(pkg.getFileName().toString());
        assertThat(report.path("reason").asText()).isEqualTo("CHECKSUM_INVALID");
        assertThat(report.path("cause").asText()).contains("UTF-8");
        String copy = kept.stream().filter(k -> k.endsWith(".zip")).findFirst().orElseThrow();
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(copy)).asByteArray()).isEqualTo(Files.readAllBytes(pkg));
        assertThat(keys(SITE, "")).isEmpty();
    }
}
