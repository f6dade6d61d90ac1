package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;

import io.micrometer.core.instrument.MeterRegistry;

import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import mx.prep.difusor.embedded.InstituteSimulator;
import mx.prep.difusor.embedded.PrepPackageGenerator;
import mx.prep.difusor.testing.FaultProxy;
import mx.prep.difusor.testing.PackageEdits;

/**
 * Fetching from the institute: the fixed-URL source and its checksum file, downloads that fail, trickle or answer
 * something else, secrets in the source URLs, and the polls counted by outcome.
 */
class InstituteSourceTest extends PipelineTestBase {

    @Test
    void aFixedUrlPackageWhoseSidecarNamesNoFileIsFetchedAgainAfterGrowingPausesNotAtEveryPoll() throws Exception {
        var settings = fixedUrlSettings();
        startDifusor(settings);
        Path pkg = corte(0);
        // the checksum alone, and not the package's: its name comes with the download; fetched again after pauses
        // that double (0.5, 1, 2 s here: the source may still be changing), the same bytes kept and reported once
        institute.releaseWithSidecar(pkg, "ab".repeat(32) + "\n");
        String stem = pkg.getFileName().toString().replace(".zip", "");
        await().atMost(Duration.ofSeconds(30)).until(() -> institute.requestCount("latest.zip") == 2);
        int polls = institute.requestCount("latest.zip.sha256");
        await().atMost(Duration.ofSeconds(20)).until(() -> institute.requestCount("latest.zip.sha256") >= polls + 3 * POLLS_PER_SECOND);
        // 15 polls, at least 3 s: the download after 1 s more, and not one at every poll (after 2 s and 4 s more, at most,
        // on a slow machine)
        assertThat(institute.requestCount("latest.zip")).isBetween(3, 5);
        // and the pauses grow: at least 1 s before the third download, 2 s before the fourth
        List<Long> downloads = institute.requestTimes("latest.zip");
        for (int i = 2; i < downloads.size(); i++) {
            assertThat(Duration.ofNanos(downloads.get(i) - downloads.get(i - 1))).as("pause before download %d", i + 1)
                    .isGreaterThanOrEqualTo(Duration.ofMillis(900L << (i - 2)));
        }
        List<String> quarantined = keys(HISTORY, "quarantine/" + stem + "/");
        assertThat(quarantined.stream().filter(k -> k.endsWith("/report.json"))).hasSize(1);
        assertThat(quarantined.stream().filter(k -> k.endsWith(".zip"))).hasSize(1);
    }

    /**
     * The institute's checksum file naming a file without a corte: the fixed URL's own ({@code sha256sum latest.zip}), or
     * another ({@code sha256sum paquete.zip}, for a zip behind {@code /descargar?archivo=latest.zip}). Taken for the
     * package's name, every corte was refused without a corte (NO_CORTE) all night; the download names it
     * (Content-Disposition), and the polls that follow know it by its checksum, without fetching it again.
     */
    @ParameterizedTest
    @ValueSource(strings = { "latest.zip", "paquete.zip" })
    void aChecksumFileNamingAFileWithoutACorteLetsTheDownloadNameThePackage(String named) throws Exception {
        startDifusor(fixedUrlSettings());
        Path pkg = corte(0);
        institute.releaseWithSidecar(pkg, PrepPackageGenerator.sha256Hex(pkg) + "  " + named + "\n");
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.packageName()).isEqualTo(pkg.getFileName().toString()));
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        int polls = institute.requestCount("latest.zip.sha256");
        await().atMost(Duration.ofSeconds(20)).until(() -> institute.requestCount("latest.zip.sha256") >= polls + 2 * POLLS_PER_SECOND);
        assertThat(institute.requestCount("latest.zip")).isEqualTo(1);
    }

    /**
     * The fixed URL's checksum file lists other files first (a SHA256SUMS of the whole release): the package's line is
     * read. The first line's checksum was announced for the zip, refused as a mismatch at every poll.
     */
    @Test
    void aChecksumFileListingOtherFilesFirstAnnouncesThePackagesOwnLine() throws Exception {
        startDifusor(fixedUrlSettings());
        Path pkg = corte(0);
        institute.releaseWithSidecar(pkg, "# Paquete de Difusion PREP\n" + "0".repeat(64) + "  leeme.pdf\n"
                + PrepPackageGenerator.sha256Hex(pkg) + "  " + pkg.getFileName() + "\n" + "1".repeat(64) + "  PREP2024_JAL.csv\n");
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    /** An empty checksum file at a fixed URL is nothing on offer: the zip is not downloaded (and refused) at every poll. */
    @Test
    void anEmptyChecksumFileAtAFixedUrlOffersNothingUntilItHoldsTheChecksum() throws Exception {
        var settings = fixedUrlSettings();
        Path pkg = corte(0);
        institute.releaseWithSidecar(pkg, " \n");
        startDifusor(settings);
        int polls = institute.requestCount("latest.zip.sha256");
        await().atMost(Duration.ofSeconds(20)).until(() -> institute.requestCount("latest.zip.sha256") >= polls + 2 * POLLS_PER_SECOND);
        assertThat(institute.requestCount("latest.zip")).isZero();
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        // the institute answers: no failed poll, whose alert would say it is unreachable
        assertThat(meters().get("difusor_source_polls_total").tag("outcome", "none").counter().count()).isGreaterThanOrEqualTo(2 * POLLS_PER_SECOND);
        assertThat(meters().get("difusor_source_polls_total").tag("outcome", "failed").counter().count()).isZero();

        institute.releaseSidecar(PrepPackageGenerator.sha256Hex(pkg) + "  " + pkg.getFileName() + "\n");
        awaitPublished(pkg);
        assertSiteEquals(pkg);
    }

    /**
     * The fixed URL's checksum file answered by the institute's CDN with its site's page (200, HTML: a missing path sent
     * to the SPA). It was taken for a checksum: the zip was downloaded and refused for good as CHECKSUM_INVALID under a
     * name made of the page's words ("html_.zip"). Now nothing is on offer, each poll fails (as a page where the manifest
     * should be), and the corte is published once the checksum file holds its SHA-256.
     */
    @Test
    void aPageWhereTheFixedUrlsChecksumFileShouldBeOffersNothingAndIsAFailedPoll() throws Exception {
        var settings = fixedUrlSettings();
        Path pkg = corte(0);
        institute.releaseWithSidecar(pkg, "<!DOCTYPE html>\n<html><head><base href=\"/\"></head><body>PREP</body></html>\n");
        startDifusor(settings);
        int polls = institute.requestCount("latest.zip.sha256");
        await().atMost(Duration.ofSeconds(20)).until(() -> institute.requestCount("latest.zip.sha256") >= polls + 2 * POLLS_PER_SECOND);
        assertThat(institute.requestCount("latest.zip")).isZero();
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        // the poll is counted once its answer is read, after the institute counted the request
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(meters().get("difusor_source_polls_total")
                .tag("outcome", "failed").counter().count()).isGreaterThanOrEqualTo(2 * POLLS_PER_SECOND));
        assertThat(meters().get("difusor_source_polls_total").tag("outcome", "offer").counter().count()).isZero();

        institute.releaseSidecar(PrepPackageGenerator.sha256Hex(pkg).toUpperCase(java.util.Locale.ROOT) + "  " + pkg.getFileName() + "\n");
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    /**
     * The night's first corte announced while the fixed URL still serves another zip (a rehearsal's; the institute's
     * upload of the new one takes minutes): the same wrong bytes twice are no verdict on the corte, which is published
     * once its zip is there. It was refused for good at the second download, and stayed off line until the next corte.
     */
    @Test
    void aCorteWhoseFixedUrlServesAnotherZipTwiceIsPublishedOnceItsZipIsThere() throws Exception {
        var settings = fixedUrlSettings();
        Path rehearsal = Files.move(corte(5), Files.createDirectories(tmp.resolve("simulacro")).resolve("SIMULACRO_JAL_20240526_2000.zip"));
        Path first = corte(0);
        institute.release(rehearsal);
        institute.releaseSidecar(PrepPackageGenerator.sha256Hex(first) + "  " + first.getFileName() + "\n");
        startDifusor(settings);
        String stem = first.getFileName().toString().replace(".zip", "");
        await().atMost(Duration.ofSeconds(30)).until(() -> institute.requestCount("latest.zip") >= 3);
        assertThat(publishedState()).isEmpty();
        assertThat(keys(HISTORY, "quarantine/" + stem + "/").stream().filter(k -> k.endsWith("/report.json"))).hasSize(1);

        institute.release(first);
        awaitPublished(first);
        assertSiteEquals(first);
        // the memoria técnica lists it as published late, not among the packages never published
        await().atMost(Duration.ofSeconds(10)).until(() -> keys(HISTORY, "history/" + first.getFileName() + ".json").size() == 1);
        java.time.Instant now = java.time.Instant.now();
        var night = new mx.prep.difusor.memoria.OperationRecords(new ObjectStore(bucket), HISTORY, "history/", "quarantine/", "incidents/")
                .read(now.minus(Duration.ofHours(1)), now.plusSeconds(1));
        assertThat(night.refused()).extracting(r -> r.packageName()).doesNotContain(first.getFileName().toString());
        assertThat(night.publishedLater()).extracting(r -> r.packageName()).containsExactly(first.getFileName().toString());
    }

    @Test
    void aChecksumFileUpdatedBeforeItsZipIsAMismatchAtFirstAndTheCorteIsPublishedOnceTheZipIsThere() throws Exception {
        var settings = fixedUrlSettings();
        startDifusor(settings);
        Path first = corte(0);
        institute.release(first);
        awaitPublished(first);

        // the institute (or a cache in front of it) serves the next corte's checksum file beside the older zip, for
        // longer than one pause: fetched again and again while it is the published package's zip
        Path next = corte(1);
        institute.releaseSidecar(PrepPackageGenerator.sha256Hex(next) + "  " + next.getFileName() + "\n");
        String stem = next.getFileName().toString().replace(".zip", "");
        await().atMost(Duration.ofSeconds(30)).until(() -> institute.requestCount("latest.zip") >= 4);
        assertThat(keys(HISTORY, "quarantine/" + stem + "/").stream().filter(k -> k.endsWith("report.json"))).isNotEmpty();
        institute.release(next);
        awaitPublished(next);
        assertSiteEquals(next);
    }

    /**
     * The institute's checksum file written as "sha256sum ./PREP….zip": the package is the named file, published once
     * and not fetched again. It was refused as naming another file, under a name the ledger did not know, and
     * downloaded and quarantined again at every poll.
     */
    @Test
    void aChecksumFileThatNamesThePackageWithItsPathPublishesItOnce() throws Exception {
        var settings = fixedUrlSettings();
        startDifusor(settings);
        Path pkg = corte(0);
        institute.releaseWithSidecar(pkg, PrepPackageGenerator.sha256Hex(pkg) + "  ./" + pkg.getFileName() + "\n");
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        int unchanged = institute.notModifiedCount("latest.zip.sha256");
        await().atMost(Duration.ofSeconds(20)).until(() -> institute.notModifiedCount("latest.zip.sha256") >= unchanged + 3 * POLLS_PER_SECOND);
        assertThat(institute.requestCount("latest.zip")).isEqualTo(1);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    @Test
    void theFixedUrlSourceWithItsSha256SidecarPublishesAndPollsConditionally() throws Exception {
        var settings = fixedUrlSettings();
        startDifusor(settings);
        Path pkg = corte(0);
        institute.release(pkg);
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + pkg.getFileName())).asByteArray())
                .isEqualTo(Files.readAllBytes(pkg));
        // an unchanged sidecar costs one 304 per poll, not a download
        int unchanged = institute.notModifiedCount("latest.zip.sha256");
        await().atMost(Duration.ofSeconds(20)).until(() -> institute.notModifiedCount("latest.zip.sha256") >= unchanged + 3 * POLLS_PER_SECOND);
        assertThat(institute.requestCount("latest.zip")).isEqualTo(1);
        // the checksum file gone (404): polls find nothing on offer, not the last package
        MeterRegistry meters = meters();
        double none = meters.get("difusor_source_polls_total").tag("outcome", "none").counter().count();
        institute.answerNext("/latest.zip.sha256", 3, 404, "text/plain", "no encontrado");
        await().atMost(Duration.ofSeconds(30))
                .until(() -> meters.get("difusor_source_polls_total").tag("outcome", "none").counter().count() >= none + 3);
    }

    @Test
    void aPresignedPackageUrlNeverShowsItsSignatureInTheLogsNorInTheRecords() throws Exception {
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();   // streamed while the difusor logs
        try (AutoCloseable capture = captureLogs(logged)) {
            startDifusor();
            String secret = "Signature=5ECRE7";
            Path good = corte(0);
            Path bad = corte(1);
            String zip = "/" + good.getFileName();
            // the first GET fails, so the URL goes into an exception's message and the retry's WARN too
            institute.answerNext(zip, 1, 503, "text/plain", "Service Unavailable");
            institute.release(good, null, null, URI.create(institute.packageUri(good.getFileName().toString())
                    + "?X-Amz-Credential=AKIA5ECRE7&X-Amz-" + secret));
            awaitPublished(good);
            institute.release(bad, "0".repeat(64), null, URI.create(institute.packageUri(bad.getFileName().toString()) + "?token=5ECRE7"));
            String stem = bad.getFileName().toString().replace(".zip", "");
            await().atMost(Duration.ofSeconds(30)).until(() -> keys(HISTORY, "quarantine/" + stem + "/").stream().anyMatch(k -> k.endsWith("report.json")));

            assertThat(institute.requestCount(zip)).isEqualTo(2);
            assertThat(logged).anySatisfy(line -> assertThat(line).contains(zip + "?…"));
            assertThat(logged).noneSatisfy(line -> assertThat(line).contains("5ECRE7"));
            for (String key : keys(HISTORY, "")) {
                if (key.endsWith(".json")) {
                    assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(key)).asUtf8String()).as(key).doesNotContain("5ECRE7");
                }
            }
        }
    }

    /**
     * The source URLs may carry a token: Camel Main's start-up summary of the properties set must mask them as it
     * masks a password, and the service still reads the manifest at that URL. Nor do the passwords show.
     */
    @Test
    void aTokenInTheSourceUrlsNeverShowsInTheStartLog() throws Exception {
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();   // streamed while the difusor logs
        try (AutoCloseable capture = captureLogs(logged)) {
            Map<String, String> settings = settings();
            settings.put("difusor.source.manifest-url", institute.manifestUri() + "?token=s3cr3t-value");
            settings.put("difusor.source.package-url", institute.latestZipUri() + "?token=s3cr3t-value");
            settings.put("difusor.jolokia.password", "j0l0kia-s3cr3t");
            startDifusor(settings);
            Path pkg = corte(0);
            institute.release(pkg);
            awaitPublished(pkg);

            assertThat(logged).anySatisfy(line -> assertThat(line).contains("Property-placeholders summary"));
            assertThat(logged).anySatisfy(line -> assertThat(line).contains("difusor.source.manifest-url = xxxxxx"));
            assertThat(logged).noneSatisfy(line -> assertThat(line).contains("s3cr3t"));
            // nor the other secrets the service is given: the truststore's password and Jolokia's
            assertThat(logged).anySatisfy(line -> assertThat(line).contains("difusor.source.truststore-password = xxxxxx"));
            assertThat(logged).noneSatisfy(line -> assertThat(line).contains(institute.truststorePassword()));
            // not read by a manifest source, so not in its summary: the same masking holds for every URL the service is given
            // (the checksum file's, presigned or with a token, was printed in full: 'packagechecksumurl' was not in the list)
            List<String> urlKeys = Files.readAllLines(Path.of("application.properties")).stream().map(String::strip)
                    .filter(l -> l.startsWith("difusor.") && l.contains("=")).map(l -> l.substring(0, l.indexOf('=')).strip())
                    .filter(k -> k.endsWith("-url") || k.endsWith(".url")).toList();
            assertThat(urlKeys).contains("difusor.source.package-url", "difusor.source.package-checksum-url", "difusor.probe.url");
            assertThat(urlKeys).allSatisfy(k -> assertThat(org.apache.camel.support.CamelContextHelper.containsSensitive(difusor.context(), k))
                    .as(k).isTrue());
            // read only with a probe URL: the probe's signing key
            assertThat(org.apache.camel.support.CamelContextHelper.containsSensitive(difusor.context(), "difusor.probe.signing-key")).isTrue();
            // and the memoria's earlier keys, should an operator set them on the pod too
            assertThat(org.apache.camel.support.CamelContextHelper.containsSensitive(difusor.context(), "difusor.probe.previous-signing-keys")).isTrue();
        }
    }

    /** A source URL that is no URL (a token pasted with a "|" in it): the start is refused without the URL in any line. */
    @Test
    void aSourceUrlThatIsNoUrlIsRefusedAtStartWithoutShowingIt() throws Exception {
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            Map<String, String> settings = settings();
            settings.put("difusor.source.manifest-url", institute.manifestUri() + "?token=a|s3cr3t-value");
            assertThatThrownBy(() -> startDifusor(settings)).hasStackTraceContaining("difusor.source.manifest-url is not a valid URL")
                    .satisfies(e -> {
                        java.io.StringWriter trace = new java.io.StringWriter();
                        e.printStackTrace(new java.io.PrintWriter(trace));
                        assertThat(trace.toString()).doesNotContain("s3cr3t");
                    });
        }
        assertThat(logged).noneSatisfy(line -> assertThat(line).contains("s3cr3t"));
    }

    @Test
    void theInstitutesOutagesAreRetriedWithBackoffAndTheCorteIsPublished() throws Exception {
        startDifusor();
        Path pkg = corte(0);
        String zip = "/" + pkg.getFileName();
        // the institute overloaded, then a maintenance page with 200 where the zip should be: both transient
        institute.answerNext(zip, 2, 503, "text/plain", "Service Unavailable");
        institute.answerNext(zip, 1, 200, "text/html; charset=utf-8", "<html><body>Sitio en mantenimiento</body></html>");
        institute.release(pkg);
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        assertThat(institute.requestCount(zip)).isEqualTo(4);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    /**
     * Each step has all its retries: Camel counts them in a header that outlived a download that succeeded on its
     * fifth retry, so the publish after it had none left, and one SlowDown too many for the SDK quarantined the corte.
     */
    @Test
    void aDownloadRetriedFiveTimesLeavesThePublishAllItsRetries() throws Exception {
        Path pkg = corte(0);
        String zip = "/" + pkg.getFileName();
        institute.answerNext(zip, 5, 503, "text/plain", "Service Unavailable");
        s3SlowsDownPuts(p -> p.equals("/" + SITE + "/index.html"), 6);
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            startDifusor();
            institute.release(pkg);
            awaitPublished(pkg);
        }
        assertSiteEquals(pkg);
        assertThat(keys(HISTORY, "quarantine/")).as("cut short at step publish without a retry").isEmpty();
        assertThat(logged).anySatisfy(line -> assertThat(line).contains("step download failed, retry 5 of 5"))
                .anySatisfy(line -> assertThat(line).contains("step publish failed, retry 1 of 5"));
        assertThat(institute.requestCount(zip)).isEqualTo(6);
    }

    @Test
    void aChecksumFileRefusedForGoodIsNoChecksumFileAndTheCorteIsPublished() throws Exception {
        Path first = startWithFirstCortePublished();
        Path second = corte(1);
        String sidecar = "/" + second.getFileName() + ".sha256";
        // an institute on S3 without a sidecar: a missing key is a 403 there, not a 404
        institute.answerNext(sidecar, Integer.MAX_VALUE, 403, "application/xml", "<Error><Code>AccessDenied</Code></Error>");
        institute.release(second);
        awaitPublished(second);
        assertSiteEquals(second);
        assertThat(institute.requestCount(sidecar)).isEqualTo(1);
    }

    /**
     * A manifest without its {@code sha256} field, the institute's checksum file beside the zip: that file's line naming
     * the package is the announcement (refused as "no SHA-256 announced", every corte was). Until it names the package
     * (still the previous corte's: its bytes could be the ones at the URL), the poll fails and reads both again, and
     * nothing is downloaded. A manifest whose size is wrong (stale, in KB) beside the right SHA-256: the SHA-256 vouches
     * for the bytes (refused as SIZE_MISMATCH, the package was fetched again at every pause and never published).
     */
    @Test
    void aManifestWithoutItsSha256OrWithAWrongSizeIsPublishedByTheChecksumThatMatches() throws Exception {
        Path first = startWithFirstCortePublished();
        Path second = corte(1);
        String name = second.getFileName().toString();
        String sidecar = "/" + name + ".sha256";
        institute.answerNext(sidecar, 2, 200, "text/plain", PrepPackageGenerator.sha256Hex(first) + "  " + first.getFileName() + "\n");
        institute.answerNext(sidecar, Integer.MAX_VALUE, 200, "text/plain", PrepPackageGenerator.sha256Hex(second) + "  " + name + "\n");
        institute.releaseWithManifest(second, "{\"package\": \"" + name + "\", \"size\": " + Files.size(second) + "}");
        awaitPublished(second);
        assertSiteEquals(second);
        assertThat(institute.requestCount(sidecar)).isGreaterThanOrEqualTo(3);
        assertThat(institute.requestCount("/" + name)).isEqualTo(1);

        Path third = corte(2);
        institute.release(third, null, Files.size(third) / 1024);
        awaitPublished(third);
        assertSiteEquals(third);
        assertThat(institute.requestCount("/" + third.getFileName())).isEqualTo(1);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    /**
     * The checksum file beside the zip is optional and the manifest is the announcement: a host that answers every
     * missing path with its SPA's page (200, HTML), then one whose checksum file answers 503 all night, does not hold
     * a corte back. Both used to refuse every corte (CHECKSUM_INVALID for good; every poll failed).
     */
    @Test
    void aChecksumFileThatIsAPageOrCannotBeReadDoesNotHoldTheCorteBack() throws Exception {
        Path first = startWithFirstCortePublished();
        Path second = corte(1);
        String page = "/" + second.getFileName() + ".sha256";
        institute.answerNext(page, Integer.MAX_VALUE, 200, "text/html; charset=utf-8", "<!doctype html><html><base href=\"/\"></html>");
        institute.release(second);
        awaitPublished(second);
        assertSiteEquals(second);

        Path third = corte(2);
        String down = "/" + third.getFileName() + ".sha256";
        institute.answerNext(down, Integer.MAX_VALUE, 503, "text/plain", "Service Unavailable");
        institute.release(third);
        awaitPublished(third);
        assertSiteEquals(third);
        assertThat(institute.requestCount(page)).isPositive();
        assertThat(institute.requestCount(down)).isPositive();
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        MeterRegistry meters = meters();
        assertThat(meters.get("difusor_source_polls_total").tag("outcome", "failed").counter().count()).isZero();
    }

    /**
     * Each poll of the institute is counted by outcome (difusor_source_polls_total): failed while the institute answers
     * 503, none while it offers nothing yet (404), offer once a package is on offer. The alert "every poll failed for
     * 15 minutes" (PrepInstituteUnreachable) is built on these.
     */
    @Test
    void pollsOfTheInstituteAreCountedByOutcome() throws Exception {
        institute.answerNext("", 3, 503, "text/plain", "mantenimiento");
        startDifusor();
        MeterRegistry meters = meters();
        java.util.function.ToDoubleFunction<String> polls = outcome -> meters.get("difusor_source_polls_total").tag("outcome", outcome)
                .counter().count();
        await().atMost(Duration.ofSeconds(30)).until(() -> polls.applyAsDouble("none") >= 1);
        assertThat(polls.applyAsDouble("failed")).isEqualTo(3);
        assertThat(polls.applyAsDouble("offer")).isZero();

        Path first = corte(0);
        institute.release(first);
        awaitPublished(first);
        assertThat(polls.applyAsDouble("offer")).isPositive();
        assertThat(polls.applyAsDouble("failed")).isEqualTo(3);

        // the manifest withdrawn mid-night (moved, a wrong deploy on the institute's side): nothing is on offer, which
        // the polls say; they went on counting the last package as on offer
        double none = polls.applyAsDouble("none");
        institute.answerNext("/manifest.json", 3, 404, "text/plain", "no encontrado");
        await().atMost(Duration.ofSeconds(30)).until(() -> polls.applyAsDouble("none") >= none + 3);
        assertThat(polls.applyAsDouble("failed")).isEqualTo(3);
        // answering again (unchanged: 304), the package it announced is on offer again, and already published
        double offers = polls.applyAsDouble("offer");
        await().atMost(Duration.ofSeconds(30)).until(() -> polls.applyAsDouble("offer") > offers);
        assertThat(institute.requestCount("/" + first.getFileName())).isEqualTo(1);
    }

    /**
     * The first corte of the night is on offer but its zip cannot be fetched: the lag counts from the offer, so the
     * alert on it fires. It used to count from a download that never came, and read 0 (NaN once nothing was public).
     */
    @Test
    void aFirstCorteThatCannotBeFetchedMakesThePublicationLagGrow() throws Exception {
        Path first = corte(0);
        institute.answerNext("/" + first.getFileName(), Integer.MAX_VALUE, 500, "text/plain", "error interno");
        institute.release(first);
        startDifusor();
        MeterRegistry meters = meters();
        await().atMost(Duration.ofSeconds(30)).until(() -> institute.requestCount("/" + first.getFileName()) >= 2);
        await().atMost(Duration.ofSeconds(10)).until(() -> meters.get("difusor_publication_lag_seconds").gauge().value() >= 1);
        assertThat(meters.get("difusor_source_polls_total").tag("outcome", "failed").counter().count()).isZero();
        assertThat(publishedState()).isEmpty();
    }

    /**
     * The PREP opened ten minutes ago and the manifest URL still answers 404 (a wrong URL, or the institute is late):
     * nothing is ever announced, so only the opening time can make the lag grow and PrepBehindTheInstitute fire.
     * The first corte published brings it back to 0.
     */
    @Test
    void aManifestThatAnswers404AfterThePrepOpenedMakesThePublicationLagGrow() throws Exception {
        var settings = settings();
        settings.put("difusor.source.opens-at", java.time.OffsetDateTime.now(java.time.ZoneOffset.ofHours(-6)).minusMinutes(10).toString());
        startDifusor(settings);
        MeterRegistry meters = meters();
        await().atMost(Duration.ofSeconds(30)).until(() -> meters.get("difusor_source_polls_total").tag("outcome", "none").counter().count() >= 2);
        assertThat(institute.requestCount("/manifest.json")).isGreaterThanOrEqualTo(2);
        assertThat(meters.get("difusor_publication_lag_seconds").gauge().value()).isBetween(600.0, 700.0);
        assertThat(meters.get("difusor_source_polls_total").tag("outcome", "offer").counter().count()).isZero();

        Path first = corte(0);
        institute.release(first);
        awaitPublished(first);
        // the gauges learn of the publication once the state is saved, a moment after S3 shows it
        await().atMost(Duration.ofSeconds(10)).until(() -> meters.get("difusor_publication_lag_seconds").gauge().value() == 0);
    }

    /**
     * A zip that trickles (bytes every moment, so never a stall) is given the download deadline once, for all its
     * attempts: then it is reported and paused, and the poll reads the manifest again and publishes the newer corte.
     * Each attempt used to have a deadline of its own: six of them held the poll, and every newer corte, for 90 minutes.
     */
    @Test
    void aTricklingDownloadHasOneDeadlineForAllItsAttemptsAndANewerCorteIsNotHeldBack() throws Exception {
        var settings = settings();
        settings.put("difusor.source.download-deadline-ms", "3000");
        settings.put("difusor.retry.failed-package-pause-ms", "60000");
        settings.put("difusor.retry.max-delay-ms", "10000");   // not fetched again within this test
        startWithFirstCortePublished(settings);
        try (FaultProxy network = FaultProxy.tcp("127.0.0.1", institute.port())) {
            network.dripAfterBytes(20_000, 2048, Duration.ofMillis(100), FaultProxy.ALWAYS);
            Path slow = corte(1);
            institute.release(slow, null, null, URI.create("https://localhost:" + network.port() + "/prep/" + slow.getFileName()));
            JsonNode report = awaitReport(slow.getFileName().toString());
            assertThat(report.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
            assertThat(report.path("step").asText()).isEqualTo("download");
            assertThat(report.path("cause").asText()).contains("all attempts together");
            assertThat(network.connections()).isEqualTo(1);

            Path newer = corte(2);
            institute.release(newer);
            awaitPublished(newer);
            assertSiteEquals(newer);
            assertThat(network.connections()).isEqualTo(1);
        }
    }

    /**
     * The institute updates its manifest before the zip is uploaded (a missing key on S3 is a 403, elsewhere a 404),
     * for longer than the retry channel lasts: no quarantine, no package "not published" in the memoria, only a WARN
     * per poll, and the corte is published once the zip is there. It used to be reported RETRIES_EXHAUSTED and paused.
     */
    @Test
    void aZipNotUploadedYetIsAskedForAgainAtEachPollNotQuarantined() throws Exception {
        startWithFirstCortePublished();
        Path second = corte(1);
        String zip = "/" + second.getFileName();
        institute.answerNext(zip, 6, 403, "application/xml", "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
        institute.answerNext(zip, 6, 404, "text/plain", "Not Found");
        institute.release(second);
        awaitPublished(second);
        assertSiteEquals(second);
        assertThat(institute.requestCount(zip)).isGreaterThanOrEqualTo(13);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    /**
     * The institute moves its manifest and redirects the old URL: the zip named beside the manifest is where the
     * manifest now is. It was looked for beside the old URL, where nothing answers, all night.
     */
    @Test
    void aRedirectedManifestsZipIsLookedForBesideWhereTheManifestReallyIs() throws Exception {
        institute.redirect(InstituteSimulator.BASE_PATH + "viejo/manifest.json", InstituteSimulator.BASE_PATH + "manifest.json");
        var settings = settings();
        settings.put("difusor.source.manifest-url", institute.baseUri().resolve("viejo/manifest.json").toString());
        startDifusor(settings);
        Path first = corte(0);
        institute.release(first);
        awaitPublished(first);
        assertSiteEquals(first);
        assertThat(institute.requestCount("/viejo/" + first.getFileName())).isZero();
    }

    /**
     * "Not there yet" has the download deadline: a zip that still answers 404 after it (a wrong URL, an expired
     * signature) is reported, so PrepPackageQuarantined fires even when nothing else can (an offer without a corte
     * raises no lag).
     */
    @Test
    void aZipStillMissingAfterTheDownloadDeadlineIsReported() throws Exception {
        var settings = settings();
        settings.put("difusor.source.download-deadline-ms", "2000");
        startWithFirstCortePublished(settings);
        Path second = corte(1);
        institute.answerNext("/" + second.getFileName(), Integer.MAX_VALUE, 404, "text/plain", "Not Found");
        institute.release(second);
        JsonNode report = awaitReport(second.getFileName().toString());
        assertThat(report.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
        assertThat(report.path("step").asText()).isEqualTo("download");
        assertThat(report.path("cause").asText()).contains("HTTP 404", "has not been there since");
    }

    /**
     * A maintenance page served with 200 where the zip should be is retried, then reported as the source answering
     * something that is not a package (it was RETRIES_EXHAUSTED, read as an outage), and fetched again after the pause
     * like an outage: once the zip is there, it is published.
     */
    @Test
    void aMaintenancePageWhereTheZipShouldBeIsReportedAsABadSourceResponseAndTheZipFetchedAgainLater() throws Exception {
        var settings = settings();
        // the site is looked at before the zip is fetched again (5 s was too short with the other fork busy: CI saw the
        // second corte on the site while the first was compared)
        settings.put("difusor.retry.failed-package-pause-ms", "8000");
        startWithFirstCortePublished(settings);
        Path first = corte(0);
        Path second = corte(1);
        int attempts = 1 + 5;   // difusor.retry.max-redeliveries
        institute.answerNext("/" + second.getFileName(), attempts, 200, "text/html; charset=utf-8",
                "<html><body>Sitio en mantenimiento</body></html>");
        institute.release(second);
        JsonNode report = awaitReport(second.getFileName().toString());
        assertSiteEquals(first);
        assertThat(report.path("reason").asText()).isEqualTo("BAD_SOURCE_RESPONSE");
        assertThat(report.path("step").asText()).isEqualTo("download");
        assertThat(report.path("cause").asText()).contains("returned an HTML page", "not a zip");
        assertThat(institute.requestCount("/" + second.getFileName())).isEqualTo(attempts);
        awaitPublished(second);
        assertSiteEquals(second);
        assertThat(meters().get("difusor_packages_rejected_total").tag("reason", "BAD_SOURCE_RESPONSE").counter().count()).isEqualTo(1.0);
    }

    /**
     * The first corte published by a difusor whose difusor.source.max-package-bytes its next corte passes (an asset that
     * does not deflate), not fetched again within a test: that next corte, not released yet.
     */
    private Path startedWithALargerSecondCorte(Path first) throws Exception {
        var settings = settings();
        settings.put("difusor.source.max-package-bytes", String.valueOf(Files.size(first) + 1000));
        settings.put("difusor.retry.failed-package-pause-ms", "60000");
        settings.put("difusor.retry.max-delay-ms", "10000");
        startWithFirstCortePublished(settings);
        byte[] noise = new byte[200_000];   // does not deflate: the zip grows by as much
        new java.util.Random(7).nextBytes(noise);
        return PackageEdits.rewrite(first, Files.createDirectories(tmp.resolve("large")).resolve(corte(1).getFileName()), n -> true,
                Map.of(), Map.of("data/relleno.bin", noise));
    }

    /**
     * A zip larger than difusor.source.max-package-bytes is reported at once, then paused: retried at once, the same zip
     * was downloaded again up to the limit (1 GiB by default) five more times. Announced with its size by the manifest,
     * it is not fetched at all; announced without, its Content-Length refuses it before its body.
     */
    @ParameterizedTest(name = "size announced: {0}")
    @ValueSource(booleans = { true, false })
    void aPackageLargerThanTheLimitIsReportedAtOnceNotDownloadedAgainAndAgain(boolean sizeAnnounced) throws Exception {
        Path first = corte(0);
        Path large = startedWithALargerSecondCorte(first);
        releaseAnnouncingItsSizeOrNot(large, sizeAnnounced);
        JsonNode report = awaitReport(large.getFileName().toString());
        assertThat(report.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
        assertThat(report.path("step").asText()).isEqualTo("download");
        assertThat(report.path("cause").asText()).contains("max-package-bytes")
                .contains(sizeAnnounced ? "announced with " + Files.size(large) + " bytes" : "announces " + Files.size(large) + " bytes (Content-Length)");
        assertThat(institute.requestCount("/" + large.getFileName())).isEqualTo(sizeAnnounced ? 0 : 1);
        assertSiteEquals(first);
    }

    private void releaseAnnouncingItsSizeOrNot(Path zip, boolean sizeAnnounced) throws Exception {
        if (sizeAnnounced) {
            institute.release(zip);
        } else {
            institute.releaseWithManifest(zip, "{\"package\": \"" + zip.getFileName() + "\", \"sha256\": \""
                    + PrepPackageGenerator.sha256Hex(zip) + "\"}");
        }
    }

    /**
     * The same, after a 503 the retry channel retried: the second attempt finds the zip too large, which no retry can
     * mend. Camel kept the transient failure's retries for it (no clause matched the new failure, so the last one's
     * policy stayed): the zip was downloaded to the limit four more times before the report.
     */
    @Test
    void aFailureNoRetryCanMendAfterARetriedOneIsReportedAtOnce() throws Exception {
        Path first = corte(0);
        Path large = startedWithALargerSecondCorte(first);
        institute.answerNext("/" + large.getFileName(), 1, 503, "text/plain", "Service Unavailable");
        // its size not announced: only the second attempt's answer tells it
        releaseAnnouncingItsSizeOrNot(large, false);
        JsonNode report = awaitReport(large.getFileName().toString());
        assertThat(report.path("cause").asText()).contains("max-package-bytes");
        assertThat(institute.requestCount("/" + large.getFileName())).as("the 503, then the zip once").isEqualTo(2);
        assertSiteEquals(first);
    }

    /**
     * The institute's server, overloaded, answers the zip 503 with Retry-After: 3: the next attempt comes after the
     * 3 s it asked for, not after the retry channel's backoff (0.1 s here), and the retry's WARN says why.
     */
    @Test
    void aZipAnsweredWithRetryAfterIsAskedAgainOnlyOnceTheWaitIsOver() throws Exception {
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            startDifusor();
            Path pkg = corte(0);
            String zip = "/" + pkg.getFileName();
            institute.answerNext(zip, 1, 503, "text/plain", "Service Unavailable", Map.of("Retry-After", "3"));
            institute.release(pkg);
            awaitPublished(pkg);

            List<Long> asked = institute.requestTimes(zip);
            assertThat(asked).hasSize(2);
            assertThat(Duration.ofNanos(asked.get(1) - asked.get(0))).isGreaterThanOrEqualTo(Duration.ofSeconds(3));
            assertThat(logged).anySatisfy(line -> assertThat(line).contains("step download failed, retry 1")
                    .contains("HTTP 503 with Retry-After 3 s: the next attempt waits 3 s"));
        }
    }

    @Test
    void aManifestThatIsNotOneIsSkippedAndTheNextGoodOneIsPublished() throws Exception {
        startDifusor();
        NotifyBuilder polled = new NotifyBuilder(difusor.context()).fromRoute("poll-manifest").whenCompleted(2 * POLLS_PER_SECOND).create();
        institute.releaseManifestJson("<html><body>Mantenimiento</body></html>");
        assertThat(polled.matches(20, TimeUnit.SECONDS)).isTrue();
        assertThat(keys(HISTORY, "")).isEmpty();
        Path pkg = corte(0);
        institute.release(pkg);
        awaitPublished(pkg);
        assertSiteEquals(pkg);
    }
}
