package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;

import io.micrometer.core.instrument.MeterRegistry;

import org.apache.camel.builder.NotifyBuilder;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckHelper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import software.amazon.awssdk.core.sync.RequestBody;

import mx.prep.difusor.embedded.InstituteSimulator;
import mx.prep.difusor.embedded.PrepPackageGenerator;
import mx.prep.difusor.state.Corte;
import mx.prep.difusor.testing.CloudFrontEmulator.ReceivedInvalidation;
import mx.prep.difusor.testing.FaultProxy;
import mx.prep.difusor.testing.PackageEdits;
import mx.prep.difusor.testing.RunningDifusor;
import mx.prep.difusor.testing.SiteBucket;

class PublishingPipelineTest extends PipelineTestBase {

    @Test
    void threeConsecutiveCortesArePublishedByteForByteWithHistoryAndOneInvalidationEach() throws Exception {
        startDifusor();
        Path pkg = null;
        String replaces = "first";
        for (int sequence = 0; sequence < 3; sequence++) {
            pkg = corte(sequence);
            institute.release(pkg);
            awaitPublished(pkg);
            assertSiteEquals(pkg);

            Path published = pkg;
            String name = pkg.getFileName().toString();
            String sha = PrepPackageGenerator.sha256Hex(pkg);
            // history: the original zip, its sha256sum line, its metadata
            assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name)).asByteArray())
                    .isEqualTo(Files.readAllBytes(published));
            assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name + ".sha256")).asUtf8String())
                    .isEqualTo(sha + "  " + name + "\n");
            JsonNode record = historyRecord(name);
            assertThat(record.path("outcome").asText()).isEqualTo("published");
            assertThat(record.path("sha256").asText()).isEqualTo(sha);
            assertThat(record.path("size").asLong()).isEqualTo(Files.size(published));

            // exactly one invalidation per package so far, with the CallerReference derived from it
            List<ReceivedInvalidation> created = cloudFront.created(DISTRIBUTION);
            assertThat(created).hasSize(sequence + 1);
            ReceivedInvalidation last = created.get(sequence);
            // ... and from the publication it replaces: its package and when it was published
            // (over nothing: "first-" and when the package was received, hashed)
            assertThat(last.callerReference()).matches(java.util.regex.Pattern.quote("prep-difusor/" + name.replace(".zip", "") + "/"
                    + sha.substring(0, 16) + "/" + replaces) + (sequence == 0 ? "-[0-9a-f]+" : "") + java.util.regex.Pattern.quote("/"
                    + Integer.toHexString(last.paths().hashCode())));
            replaces = sha.substring(0, 8) + "-" + Integer.toHexString(publishedState().orElseThrow().publishedAt().hashCode());
            assertThat(last.paths()).isNotEmpty().hasSizeLessThanOrEqualTo(10);
        }
        int files = SiteBucket.files(pkg).size();
        assertThat(publishedState()).get().satisfies(s -> {
            assertThat(s.corte()).isEqualTo("2024-06-02 20:40");
            assertThat(s.files()).isEqualTo(files);
        });
        assertThat(cloudFront.requests()).hasSize(3);

        // the business metrics beside Camel's own, on the registry served at /observe/metrics
        MeterRegistry meters = meters();
        // the metrics of the last publication are told once its state is saved, a moment after S3 shows it
        await().atMost(Duration.ofSeconds(10)).until(() -> meters.get("difusor_packages_published_total").counter().count() == 3);
        assertThat(meters.get("difusor_packages_received_total").counter().count()).isEqualTo(3);
        assertThat(meters.get("difusor_invalidations_total").counter().count()).isEqualTo(3);
        assertThat(meters.get("difusor_stage_duration").tag("stage", "publish").timer().count()).isEqualTo(3);
        assertThat(meters.get("difusor_seconds_since_last_publication").gauge().value()).isBetween(0.0, 60.0);
        assertThat(meters.get("difusor_publication_lag_seconds").gauge().value()).isZero();
    }

    @Test
    void aChecksumMismatchIsQuarantinedWithAReportAndTheSiteStaysAsItWas() throws Exception {
        startDifusor();
        Path good = corte(0);
        institute.release(good);
        awaitPublished(good);

        Path bad = corte(1);
        institute.release(bad, "0".repeat(64), Files.size(bad));
        String stem = bad.getFileName().toString().replace(".zip", "");
        // refused, and fetched again after a growing pause (a checksum file may be updated before its zip): counted
        // each time, reported once (the same bytes again are not kept or reported again)
        MeterRegistry meters = meters();
        await().atMost(Duration.ofSeconds(30)).until(() -> meters.find("difusor_packages_rejected_total").tag("reason", "CHECKSUM_MISMATCH")
                .counters().stream().mapToDouble(c -> c.count()).sum() >= 2);
        List<String> quarantined = keys(HISTORY, "quarantine/" + stem + "/");
        List<String> reports = quarantined.stream().filter(k -> k.endsWith("/report.json")).toList();
        assertThat(reports).hasSize(1);
        for (String reportKey : reports) {
            JsonNode report = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(reportKey)).asUtf8String());
            assertThat(report.path("package").asText()).isEqualTo(bad.getFileName().toString());
            assertThat(report.path("step").asText()).isEqualTo("checksum-filter");
            assertThat(report.path("reason").asText()).isEqualTo("CHECKSUM_MISMATCH");
            assertThat(report.path("cause").asText()).contains(PrepPackageGenerator.sha256Hex(bad));
        }
        String zipKey = quarantined.stream().filter(k -> k.endsWith(".zip")).findFirst().orElseThrow();
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(zipKey)).asByteArray()).isEqualTo(Files.readAllBytes(bad));

        assertSiteEquals(good);
        assertThat(publishedState()).get().extracting(s -> s.packageName()).isEqualTo(good.getFileName().toString());
        assertThat(keys(HISTORY, "history/" + bad.getFileName())).isEmpty();
        assertThat(cloudFront.requests()).hasSize(1);
    }

    @Test
    void theSamePackageAgainIsSkippedQuietlyAndAnOlderCorteIsKeptInHistoryAndReportedStale() throws Exception {
        startDifusor();
        Path older = corte(0);
        Path newer = corte(1);
        institute.release(newer);
        awaitPublished(newer);
        String zipPath = "/" + newer.getFileName();
        int downloads = institute.requestCount(zipPath);

        // the same package announced again with a fresh manifest (new ETag): not downloaded, nothing reported
        NotifyBuilder polled = new NotifyBuilder(difusor.context()).fromRoute("poll-manifest").whenCompleted(3 * POLLS_PER_SECOND).create();
        institute.releaseManifestJson("{ \"package\": \"" + newer.getFileName() + "\", \"sha256\": \""
                + PrepPackageGenerator.sha256Hex(newer) + "\", \"size\": " + Files.size(newer) + ", \"note\": \"again\" }");
        assertThat(polled.matches(20, TimeUnit.SECONDS)).isTrue();
        assertThat(institute.requestCount(zipPath)).isEqualTo(downloads);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();

        // an older corte: kept in the history as stale, reported in quarantine, never published
        institute.release(older);
        String olderName = older.getFileName().toString();
        await().atMost(Duration.ofSeconds(30)).until(() -> keys(HISTORY, "quarantine/" + olderName.replace(".zip", "") + "/").size() == 1);
        JsonNode report = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY)
                .key(keys(HISTORY, "quarantine/" + olderName.replace(".zip", "") + "/").get(0))).asUtf8String());
        assertThat(report.path("reason").asText()).isEqualTo("STALE_CORTE");
        assertThat(report.path("step").asText()).isEqualTo("corte-gate");
        assertThat(report.path("packageKeptAt").asText()).isEqualTo("history");
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + olderName)).asByteArray())
                .isEqualTo(Files.readAllBytes(older));
        JsonNode record = historyRecord(olderName);
        assertThat(record.path("outcome").asText()).isEqualTo("stale");

        assertSiteEquals(newer);
        assertThat(publishedState()).get().extracting(s -> s.packageName()).isEqualTo(newer.getFileName().toString());
        assertThat(cloudFront.requests()).hasSize(1);
    }

    @Test
    void anOlderCorteIsSettledAsStaleOnlyOnceItIsWholeInTheHistory() throws Exception {
        startDifusor();
        Path older = corte(0);
        Path newer = corte(1);
        institute.release(newer);
        awaitPublished(newer);

        // the older corte's copy into the history answers late: its outcome record, which stops it ever being fetched
        // again, must not be written before the copy (a process killed in between would lose the package)
        String olderName = older.getFileName().toString();
        s3Network.delayResponse(r -> r.method().equals("PUT") && r.path().equals("/" + HISTORY + "/history/" + olderName), 1,
                Duration.ofSeconds(3));
        institute.release(older);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                .until(() -> !keys(HISTORY, "history/" + olderName + ".json").isEmpty());
        assertThat(keys(HISTORY, "history/" + olderName + ".sha256")).hasSize(1);
        assertThat(s3Network.faultsInjected()).isEqualTo(1);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + olderName)).asByteArray())
                .isEqualTo(Files.readAllBytes(older));
        assertSiteEquals(newer);
    }

    @Test
    void uploadsStillOnTheirWayWhenAStageFailsLandBeforeTheNextCortePublishes() throws Exception {
        startWithFirstCortePublished();
        // a corte of a later hour: a hundred files changed, so that many uploads are on their way at once
        Path second = corte(9);
        Path third = corte(10);
        // the second corte's site uploads are held on the wire, as by a slow S3, and one of them is refused for good a
        // second later: its split fails while the uploads already sent are still on their way
        s3Network.respondAfter(Duration.ofSeconds(1), r -> r.method().equals("PUT") && r.path().endsWith("/csv/LEEME.txt"), 1, 403,
                "application/xml", "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
        // (twenty of them: all held, they took every upload thread, and the refused one was never sent)
        s3Network.holdRequest(r -> r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/"), 20, Duration.ofSeconds(60));
        institute.release(second);
        JsonNode report = awaitReport(second.getFileName().toString());
        assertThat(report.get("step").asText()).isEqualTo("publish");
        // the file S3 refused, whichever upload's failure ended the stage (the report named neither before)
        assertThat(report.get("cause").asText()).contains("csv/LEEME.txt").contains("Access Denied");
        int held = s3Network.faultsInjected() - 1;
        assertThat(held).as("uploads held when the stage failed").isGreaterThan(1);
        int sitePuts = s3Network.requests(r -> r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/"));

        // the third corte waits (not even fetched: the poll waits for the turn) while the second one's uploads are on
        // their way; without the wait it was fetched within a poll or two and published before they landed
        institute.release(third);
        await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(20)).until(() -> institute.requestCount("/" + third.getFileName()) == 0
                && s3Network.requests(r -> r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/")) == sitePuts);
        s3Network.clearFaults();
        s3Network.releaseHolds();
        awaitPublished(third);
        assertThat(s3Network.releasedHolds()).isEqualTo(held);
        // none of the second corte's late uploads landed over the third's files (data/corte.json changes every corte)
        assertSiteEquals(third);
    }

    /**
     * S3 slowing down during a corte: uploads of the first attempt still fail after the retry channel started the
     * next one. The retry must not be stopped by them (it was, and the good corte was quarantined as UNEXPECTED).
     */
    @Test
    void aLateFailureOfAnEarlierAttemptDoesNotStopTheRetriedStage() throws Exception {
        var settings = settings();
        settings.put("difusor.s3.max-attempts", "1");
        // the stage's first upload is refused late, after another one refused at once has made the stage fail
        s3SlowsDownPuts(p -> p.equals("/" + SITE + "/data/corte.json"), 1);
        java.util.concurrent.atomic.AtomicBoolean firstUpload = new java.util.concurrent.atomic.AtomicBoolean();
        s3Network.respondAfter(Duration.ofMillis(1500), r -> r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/")
                && firstUpload.compareAndSet(false, true), 1,
                503, "application/xml", "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();   // streamed while the difusor logs
        Path pkg = corte(0);
        try (AutoCloseable capture = captureLogs(logged)) {
            startDifusor(settings);
            institute.release(pkg);
            awaitPublished(pkg);
        }
        assertSiteEquals(pkg);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertThat(s3Network.faultsInjected()).isEqualTo(2);
        // one retry, for the first refusal: the second one, late, belongs to the attempt that already failed
        assertThat(logged.stream().filter(line -> line.contains("step publish failed, retry"))).hasSize(1);
    }

    @Test
    void anOlderCorteDoesNotGoOverANewerOneWhosePublicationWasCutShort() throws Exception {
        var settings = settings();
        settings.put("difusor.resume.check-every-ms", "600000"); // the older one comes before the resume would
        Path first = startWithFirstCortePublished(settings);
        Path older = corte(1);
        Path newer = corte(2);
        // the newer corte's publication stops part way: its data/corte.json is public, another upload refused for good
        s3Network.respondAfter(Duration.ofMillis(500), r -> r.method().equals("PUT") && r.path().endsWith("/csv/LEEME.txt"), 1, 403,
                "application/xml", "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
        institute.release(newer);
        assertThat(awaitReport(newer.getFileName().toString()).get("step").asText()).isEqualTo("publish");
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.publishing()).isEqualTo(newer.getFileName().toString()));

        // a lagging manifest then offers an older corte, newer than the published one but not than the one cut short
        institute.release(older);
        JsonNode report = awaitReport(older.getFileName().toString());
        assertThat(report.get("reason").asText()).isEqualTo("STALE_CORTE");
        assertThat(report.get("cause").asText()).contains("cut short");
        assertThat(publishedState()).get().satisfies(s -> {
            assertThat(s.packageName()).isEqualTo(first.getFileName().toString());
            assertThat(s.publishing()).as("the marker that lets the resume finish it").isEqualTo(newer.getFileName().toString());
        });

        institute.release(newer);
        awaitPublished(newer);
        assertSiteEquals(newer);
    }

    /**
     * A corte whose publication was cut short (part of it public) is withdrawn by the institute, which asks for the
     * published corte back: the operator republishes it from the history. It was skipped as "already published", the
     * site stayed part the withdrawn corte, and the resume then finished the withdrawn one.
     */
    @Test
    void aRepublishOfThePublishedCorteOverOneCutShortPutsItBackWhole() throws Exception {
        Path republish = Files.createDirectories(tmp.resolve("republish"));
        var settings = settings();
        settings.put("difusor.republish.directory", republish.toString());
        settings.put("difusor.resume.check-every-ms", "600000");   // the resume would finish the withdrawn corte first
        Path first = startWithFirstCortePublished(settings);
        Path withdrawn = corte(2);
        s3Network.respondAfter(Duration.ofMillis(500), r -> r.method().equals("PUT") && r.path().endsWith("/csv/LEEME.txt"), 1, 403,
                "application/xml", "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
        institute.release(withdrawn);
        assertThat(awaitReport(withdrawn.getFileName().toString()).get("step").asText()).isEqualTo("publish");
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.publishing()).isEqualTo(withdrawn.getFileName().toString()));

        institute.release(first);   // withdrawn: the institute offers the published corte again
        // the republish is cut short in turn (S3 refuses one of its uploads): the state names the recorded corte as
        // published and as being published, and the operator's second republish must still go through
        String name = first.getFileName().toString();
        s3Network.respondAfter(Duration.ofMillis(100), r -> r.method().equals("PUT") && r.path().endsWith("/data/corte.json"), 1, 403,
                "application/xml", "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
        republishFromTheHistory(republish, first);
        assertThat(awaitReport(name).get("step").asText()).isEqualTo("publish");
        assertThat(publishedState()).get().satisfies(s -> {
            assertThat(s.packageName()).isEqualTo(name);
            assertThat(s.publishing()).isEqualTo(name);
        });

        republishFromTheHistory(republish, first);
        await().atMost(Duration.ofSeconds(60)).until(() -> publishedState()
                .filter(s -> s.publishing() == null && name.equals(s.packageName())).isPresent());
        assertSiteEquals(first);
    }

    /**
     * The record's state write lands but its answer does not come back in time: the SDK's retry meets S3's refusal of a
     * write over a version that is no longer there (the one it wrote itself). That is this publication's own write, not
     * another process's: the corte is recorded as published, not dropped as a lost lead.
     */
    @Test
    void aStateWriteWhoseAnswerWasLostIsTakenAsWrittenWhenItsRetryIsRefused() throws Exception {
        Map<String, String> settings = settings();
        settings.put("difusor.s3.read-timeout-ms", "1000");
        startWithFirstCortePublished(settings);
        StatePuts statePuts = new StatePuts();
        s3Network.delayResponse(statePuts.nth(2), 1, Duration.ofSeconds(3));
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            Path second = corte(1);
            institute.release(second);
            String name = second.getFileName().toString();
            await().atMost(Duration.ofSeconds(30)).until(() -> logged.stream().anyMatch(l -> l.contains(name) && l.contains(": published;")));
            assertThat(logged).anyMatch(l -> l.contains(name) && l.contains("already says what this write says"))
                    .noneMatch(l -> l.contains("lost the lead"));
            assertThat(statePuts.seen()).as("the marker's write, the record's and its retry").isEqualTo(3);
            assertThat(publishedState()).get().satisfies(s -> {
                assertThat(s.packageName()).isEqualTo(name);
                assertThat(s.publishing()).isNull();
            });
            assertSiteEquals(second);
        }
    }

    /** S3's 409: another conditional write of the state at the same moment, which S3 asks to try again. */
    @Test
    void aConditionalRequestConflictOnTheStateIsRetriedAndTheCorteRecorded() throws Exception {
        startWithFirstCortePublished();
        StatePuts statePuts = new StatePuts();
        s3Network.respond(statePuts.nth(2), 1, 409,
                "application/xml", "<Error><Code>ConditionalRequestConflict</Code><Message>A conflicting conditional operation is currently in"
                        + " progress against this resource. Please try again.</Message></Error>");
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            Path second = corte(1);
            institute.release(second);
            awaitPublished(second);
            assertThat(s3Network.faultsInjected()).isEqualTo(1);
            // retried as a conflict, not taken for another leader's write (the state still says "publishing" the corte)
            assertThat(statePuts.seen()).as("the marker's write, the record's and its retry").isEqualTo(3);
            assertThat(logged).noneMatch(l -> l.contains("lost the lead") || l.contains("written by another process"));
            assertThat(keys(HISTORY, "quarantine/")).isEmpty();
            assertThat(publishedState().map(mx.prep.difusor.state.PublishedState::publishing)).isEmpty();
            assertSiteEquals(second);
        }
    }

    /**
     * The state deleted by hand while a corte is published (no process deletes it): written again by the record, not
     * taken for another writer's, which left the corte unrecorded, and never fetched again.
     */
    @Test
    void aStateDeletedByHandWhileACorteIsPublishedIsWrittenAgainByItsRecord() throws Exception {
        startWithFirstCortePublished();
        StatePuts statePuts = new StatePuts();
        s3Network.holdRequest(statePuts.nth(2), 1, Duration.ofSeconds(60));
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            Path second = corte(1);
            institute.release(second);
            await().atMost(Duration.ofSeconds(30)).until(() -> statePuts.seen() >= 2);
            bucket.deleteObject(b -> b.bucket(HISTORY).key("state/published.json"));
            s3Network.releaseHolds();
            awaitPublished(second);
            assertThat(logged).anyMatch(l -> l.contains(second.getFileName().toString()) && l.contains("was deleted while this publication ran"))
                    .noneMatch(l -> l.contains("lost the lead"));
            assertThat(publishedState().map(mx.prep.difusor.state.PublishedState::publishing)).isEmpty();
        }
    }

    /** difusor.s3.conditional-writes=false, for a store that refuses them other than with NotImplemented: plain writes. */
    @Test
    void conditionalWritesTurnedOffWriteTheStatePlainly() throws Exception {
        Map<String, String> settings = settings();
        settings.put("difusor.s3.conditional-writes", "false");
        Path first = startWithFirstCortePublished(settings);
        List<FaultProxy.RequestHead> statePuts = s3Network.requests().stream().filter(r -> r.method().equals("PUT") && r.path().equals(STATE_PATH))
                .toList();
        assertThat(statePuts).as("the marker's write and the record's").hasSize(2)
                .allSatisfy(r -> assertThat(r.header("If-Match") == null && r.header("If-None-Match") == null).as("%s", r.headers()).isTrue());
        assertSiteEquals(first);
    }

    /**
     * The store's enforcement of conditional writes is checked once, before the first state write, by one PUT under a key
     * of its own, only over a version nobody holds: a store that enforces it (S3, here the emulation) refuses it, and
     * nothing is written.
     */
    @Test
    void theFenceIsCheckedOnceByAWriteTheStoreRefuses() throws Exception {
        String checkPath = STATE_PATH + ".fence-check";
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            startWithFirstCortePublished();
            Path second = corte(1);
            institute.release(second);
            awaitPublished(second);
        }
        List<FaultProxy.RequestHead> checks = s3Network.requests().stream().filter(r -> r.path().equals(checkPath)).toList();
        assertThat(checks).singleElement().satisfies(r -> {
            assertThat(r.method()).isEqualTo("PUT");
            assertThat(r.header("If-Match")).isNotBlank();
        });
        assertThat(keys(HISTORY, "state/")).doesNotContain("state/published.json.fence-check");
        assertThat(logged).noneMatch(l -> l.contains("ignores If-Match"));
    }

    /**
     * A store that takes a conditional write over a version nobody holds (S3Proxy 2.7 as it is: the headers ignored):
     * the state's fence stops nobody, said once at WARN; nothing else would tell the operator.
     */
    @Test
    void aStoreThatIgnoresConditionalWritesIsSaidOnceAtWarn() throws Exception {
        s3Network.preconditions(r -> null);
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            Path first = startWithFirstCortePublished();
            Path second = corte(1);
            institute.release(second);
            awaitPublished(second);
            await().atMost(Duration.ofSeconds(10)).until(() -> logged.stream().anyMatch(l -> l.contains("ignores If-Match")));
            assertThat(logged).filteredOn(l -> l.contains("ignores If-Match")).singleElement()
                    .satisfies(l -> assertThat(l).startsWith("package " + first.getFileName()).contains("the state's fence stops no former leader"));
        }
        assertThat(keys(HISTORY, "state/")).contains("state/published.json.fence-check");
        assertSiteEquals(corte(1));
    }

    /** A store that answers NotImplemented to a conditional write: the state is written plainly, with a WARN. */
    @Test
    void aStoreWithoutConditionalWritesGetsThePlainWriteWithAWarning() throws Exception {
        s3Network.respond(r -> r.method().equals("PUT") && r.path().equals(STATE_PATH) && (r.header("If-Match") != null
                || r.header("If-None-Match") != null), FaultProxy.ALWAYS, 501, "application/xml",
                "<Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented</Message></Error>");
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            Path first = startWithFirstCortePublished();
            assertThat(logged).filteredOn(l -> l.contains("refuses conditional writes")).hasSize(1);
            assertThat(publishedState().map(mx.prep.difusor.state.PublishedState::publishing)).isEmpty();
            assertSiteEquals(first);
        }
    }

    @Test
    void transientS3FailuresAreRetriedAndTheCorteIsStillPublishedWhole() throws Exception {
        // SlowDown on the first site uploads: the SDK's own retries absorb the first ones, and an outage on one
        // object longer than the SDK's attempts sends the whole stage through the retry channel
        s3SlowsDownPuts(p -> p.startsWith("/" + SITE + "/"), 2);
        s3SlowsDownPuts(p -> p.equals("/" + SITE + "/index.html"), 6);
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();   // streamed while the difusor logs
        Path pkg = corte(0);
        try (AutoCloseable capture = captureLogs(logged)) {
            startDifusor();
            institute.release(pkg);
            awaitPublished(pkg);
        }

        assertSiteEquals(pkg);
        // the retry's line names the package, the step and the cause (Camel's own names only its exchange)
        assertThat(logged).anySatisfy(line -> assertThat(line).startsWith("package " + pkg.getFileName())
                .contains("step publish failed, retry 1 of 5").contains("Status Code: 503"));
        assertThat(s3Network.faultsInjected()).isEqualTo(8);
        // the retried stage sent only what the first attempt had not written: each file once, plus the refused attempts
        assertThat(s3Network.requests(r -> r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/")))
                .isEqualTo(SiteBucket.files(pkg).size() + 8);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(1);
    }

    /**
     * A publish stage retried after a slow failure: its time counts every attempt, as the public waited through them. Only
     * the last one counted, and a corte held up by S3 showed in difusor_stage_duration and the state as a fast one.
     */
    @Test
    void aRetriedPublishStageCountsTheTimeOfEveryAttempt() throws Exception {
        var settings = settings();
        settings.put("difusor.s3.max-attempts", "1");
        s3Network.respondAfter(Duration.ofSeconds(2), r -> r.method().equals("PUT") && r.path().equals("/" + SITE + "/index.html"), 1, 503,
                "application/xml", "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
        Path pkg = corte(0);
        startDifusor(settings);
        institute.release(pkg);
        awaitPublished(pkg);

        assertSiteEquals(pkg);
        assertThat(s3Network.faultsInjected()).isEqualTo(1);
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.stageMillis().get("publish")).isGreaterThanOrEqualTo(2000));
    }

    @Test
    void aHistoryBucketThatDoesNotExistKeepsThePodNotReady() throws Exception {
        var settings = settings();
        settings.put("difusor.history.bucket", "prep-history-mistyped");
        startDifusor(settings);
        // its state key reads as "nothing published yet": only the bucket itself tells the name is wrong
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(HealthCheckHelper.invokeReadiness(difusor.context()))
                .filteredOn(r -> r.getCheck().getId().equals("published-state")).singleElement().satisfies(r -> {
                    assertThat(r.getState()).isEqualTo(HealthCheck.State.DOWN);
                    assertThat(r.getMessage()).get().asString().contains("prep-history-mistyped");
                }));
    }

    @Test
    void aShortS3SlowdownKeepsThePodReadyAndTheProbeAnswersInTimeALongerOutageDoesNot() throws Exception {
        var settings = settings();
        settings.put("difusor.health.s3-grace-ms", "8000");
        startDifusor(settings);
        await().atMost(Duration.ofSeconds(10)).until(() -> readiness().getState() == HealthCheck.State.UP);

        // S3 stops answering: readiness decides who may lead, so the pod must not turn unready at once, and the probe
        // must answer before the kubelet's timeout (3 s) whatever S3 does
        s3Network.holdRequest(FaultProxy.anyRequest(), FaultProxy.ALWAYS, Duration.ofSeconds(5));
        long asked = System.nanoTime();
        HealthCheck.Result slow = readiness();
        // the kubelet's timeout: the check gives S3 2 s of it, far under the 5 s hold
        assertThat(Duration.ofNanos(System.nanoTime() - asked)).isLessThan(Duration.ofMillis(3000));
        assertThat(slow.getState()).isEqualTo(HealthCheck.State.UP);
        assertThat(slow.getMessage()).get().asString().contains("did not answer").contains("stays ready");

        // S3 refusing for longer than the grace: not ready, so a pod that cannot reach S3 does not keep the lead
        s3Network.clearFaults();
        s3Network.respond(FaultProxy.anyRequest(), FaultProxy.ALWAYS, 503, "application/xml",
                "<Error><Code>ServiceUnavailable</Code><Message>Please try again.</Message></Error>");
        await().atMost(Duration.ofSeconds(40)).until(() -> readiness().getState() == HealthCheck.State.DOWN);
        assertThat(readiness().getMessage()).get().asString().contains(SITE).contains("not ready");

        s3Network.clearFaults();
        await().atMost(Duration.ofSeconds(30)).until(() -> readiness().getState() == HealthCheck.State.UP);

        // a definite answer is no slowdown: access denied (a broken role) is not ready at once, within the grace
        s3Network.respond(FaultProxy.anyRequest(), FaultProxy.ALWAYS, 403, "application/xml",
                "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
        await().atMost(Duration.ofSeconds(5)).until(() -> readiness().getState() == HealthCheck.State.DOWN);
    }

    private HealthCheck.Result readiness() {
        return HealthCheckHelper.invokeReadiness(difusor.context()).stream()
                .filter(r -> r.getCheck().getId().equals("published-state")).findFirst().orElseThrow();
    }

    @Test
    void aRestartedDifusorDoesNotRepublishWhatIsAlreadyPublished() throws Exception {
        Path first = startWithFirstCortePublished();
        difusor.close();
        int puts = s3Network.requests(r -> r.method().equals("PUT"));
        int downloads = institute.requestCount("/" + first.getFileName());

        // a new CamelContext: nothing in memory, only what S3 says
        startDifusor();
        NotifyBuilder polled = new NotifyBuilder(difusor.context()).fromRoute("poll-manifest").whenCompleted(3 * POLLS_PER_SECOND).create();
        assertThat(polled.matches(20, TimeUnit.SECONDS)).isTrue();
        assertThat(s3Network.requests(r -> r.method().equals("PUT"))).isEqualTo(puts);
        assertThat(institute.requestCount("/" + first.getFileName())).isEqualTo(downloads);
        assertThat(cloudFront.requests()).hasSize(1);

        Path second = corte(1);
        institute.release(second);
        awaitPublished(second);
        assertSiteEquals(second);
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(2);
    }

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
     * The institute's checksum file made with {@code sha256sum latest.zip}: it names the fixed URL's own file. Taken for
     * the package's name, every corte was refused without a corte (NO_CORTE); the download names it (Content-Disposition).
     */
    @Test
    void aChecksumFileNamingTheFixedUrlsOwnFileLetsTheDownloadNameThePackage() throws Exception {
        startDifusor(fixedUrlSettings());
        Path pkg = corte(0);
        institute.releaseWithSidecar(pkg, PrepPackageGenerator.sha256Hex(pkg) + "  latest.zip\n");
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

    /** A difusor with a republish folder (returned), that has published two cortes, the older then the newer. */
    private Path startWithTwoCortesAndARepublishFolder(Path older, Path newer) throws Exception {
        Path republish = Files.createDirectories(tmp.resolve("republish"));
        var settings = settings();
        settings.put("difusor.republish.directory", republish.toString());
        startDifusor(settings);
        institute.release(older);
        awaitPublished(older);
        institute.release(newer);
        awaitPublished(newer);
        return republish;
    }

    /** The runbook: copy the zip and its checksum file from the history into the republish folder. */
    private void republishFromTheHistory(Path republish, Path pkg) {
        String name = pkg.getFileName().toString();
        bucket.getObject(b -> b.bucket(HISTORY).key("history/" + name), republish.resolve(name));
        bucket.getObject(b -> b.bucket(HISTORY).key("history/" + name + ".sha256"), republish.resolve(name + ".sha256"));
    }

    @Test
    void anOperatorRepublishesAHistoricCorteFromTheHistory() throws Exception {
        Path older = corte(0);
        Path republish = startWithTwoCortesAndARepublishFolder(older, corte(1));
        republishFromTheHistory(republish, older);
        awaitPublished(older);
        assertSiteEquals(older);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(3);
    }

    /**
     * A rehearsal replays the same packages into emptied buckets, against the same distribution: the first corte's
     * invalidation is a new one. Under the last rehearsal's CallerReference (same package, same paths, over nothing)
     * CloudFront answered with that old invalidation and purged nothing: the CDN went on serving the last rehearsal.
     */
    @Test
    void theFirstCorteOfARehearsalReplayedIntoEmptiedBucketsIsInvalidatedAgain() throws Exception {
        Path first = startWithFirstCortePublished();
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(1);
        difusor.close();
        difusor = null;
        for (String emptied : List.of(SITE, HISTORY)) {
            for (String key : keys(emptied, "")) {
                bucket.deleteObject(b -> b.bucket(emptied).key(key));
            }
        }

        startDifusor(settings());
        institute.release(first);
        awaitPublished(first);
        assertSiteEquals(first);
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(2).extracting(ReceivedInvalidation::callerReference).doesNotHaveDuplicates();
    }

    /**
     * The package's history record damaged by hand: the republish goes on as if there were none (its corte from its
     * name). The parse error was taken for S3 trouble, retried, and the package quarantined as RETRIES_EXHAUSTED.
     */
    @Test
    void aRepublishWhoseHistoryRecordCannotBeReadIsPublished() throws Exception {
        Path older = corte(0);
        Path republish = startWithTwoCortesAndARepublishFolder(older, corte(1));
        bucket.putObject(b -> b.bucket(HISTORY).key("history/" + older.getFileName() + ".json").contentType("application/json"),
                RequestBody.fromString("{\"package\": \"" + older.getFileName() + "\", \"corte\": 2024"));
        republishFromTheHistory(republish, older);
        awaitPublished(older);
        assertSiteEquals(older);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    /**
     * A published state edited by hand so that it no longer reads as JSON: the report named only Jackson's "Unexpected
     * end-of-input", which with RETRIES_EXHAUSTED sent the operator after an S3 outage. It names the state and what to do.
     */
    @Test
    void aPublishedStateThatIsNoLongerJsonIsNamedInTheReport() throws Exception {
        Path first = startWithFirstCortePublished();
        bucket.putObject(b -> b.bucket(HISTORY).key("state/published.json").contentType("application/json"),
                RequestBody.fromString("{\"package\": \"" + first.getFileName() + "\", "));
        Path second = corte(1);
        institute.release(second);
        JsonNode report = awaitReport(second.getFileName().toString());
        assertThat(report.get("cause").asText()).contains("the published state s3://" + HISTORY + "/state/published.json cannot be read as JSON");
        assertSiteEquals(first);
    }

    /**
     * The operator asks to go back over the corte they see while the poll has the next one under way: the republish waits
     * for its turn, and the newer corte is published first. It was then put over that newer corte, which the operator
     * never saw; now it is refused (stale, with a report that says why) and the newer corte stays.
     */
    @Test
    void aRepublishWaitingForItsTurnIsNotPutOverACortePublishedMeanwhile() throws Exception {
        Path older = corte(0);
        Path seen = corte(1);
        Path republish = startWithTwoCortesAndARepublishFolder(older, seen);
        // the next corte's site uploads are held on the wire: its publication holds the turn
        s3Network.holdRequest(r -> r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/"), FaultProxy.ALWAYS, Duration.ofSeconds(60));
        Path newer = corte(2);
        institute.release(newer);
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.faultsInjected() > 0);
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            republishFromTheHistory(republish, older);
            // received (copied into the spool), and waiting for the turn, over the corte the operator saw
            await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(tmp.resolve("work").resolve("spool").resolve(older.getFileName())));
            await().atMost(Duration.ofSeconds(20)).until(() -> logged.stream().anyMatch(l -> l.contains("republish requested over")));
        }
        assertThat(logged).anyMatch(l -> l.contains("republish requested over " + seen.getFileName() + "@"));
        s3Network.clearFaults();
        s3Network.releaseHolds();
        awaitPublished(newer);
        JsonNode report = awaitReport(older.getFileName().toString());
        assertThat(report.path("reason").asText()).isEqualTo("STALE_CORTE");
        assertThat(report.path("cause").asText()).contains("republish asked over " + seen.getFileName()).contains(newer.getFileName()
                + "@" + PrepPackageGenerator.sha256Hex(newer) + " (corte ").contains("was published since");
        assertThat(publishedState().orElseThrow().packageName()).isEqualTo(newer.getFileName().toString());
        assertSiteEquals(newer);
        // its history record stays that of its own publication, not "stale"
        assertThat(mx.prep.difusor.Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + older.getFileName()
                + ".json")).asUtf8String()).path("outcome").asText()).isEqualTo("published");
    }

    /**
     * An operator's rollback stands over a restart while the institute still serves the withdrawn newer zip at its fixed
     * URL, with a checksum file that names no file: a new process knows that zip by its checksum alone, and once the
     * download names it, its history record says it was published before. It was published again over the rollback.
     */
    @Test
    void anOperatorsRollbackStandsAfterARestartWhileTheWithdrawnZipIsStillOnOffer() throws Exception {
        Path republish = Files.createDirectories(tmp.resolve("republish"));
        var settings = fixedUrlSettings();
        settings.put("difusor.republish.directory", republish.toString());
        startDifusor(settings);
        Path older = corte(0);
        Path withdrawn = corte(1);
        institute.releaseWithSidecar(older, PrepPackageGenerator.sha256Hex(older) + "\n");
        awaitPublished(older);
        institute.releaseWithSidecar(withdrawn, PrepPackageGenerator.sha256Hex(withdrawn) + "\n");
        awaitPublished(withdrawn);
        republishFromTheHistory(republish, older);
        awaitPublished(older);
        difusor.close();
        int downloads = institute.requestCount("latest.zip");

        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            startDifusor(settings);
            await().atMost(Duration.ofSeconds(30)).until(() -> logged.stream().anyMatch(l -> l.contains(withdrawn.getFileName() + " ")
                    && l.contains("already handled (published at")) || !publishedState().orElseThrow().isSamePackage(
                            older.getFileName().toString(), PrepPackageGenerator.sha256Hex(older)));
        }
        assertThat(publishedState().orElseThrow().packageName()).isEqualTo(older.getFileName().toString());
        // known by its checksum from then on: not fetched again at every poll
        int polls = institute.requestCount("latest.zip.sha256");
        await().atMost(Duration.ofSeconds(20)).until(() -> institute.requestCount("latest.zip.sha256") >= polls + 2 * POLLS_PER_SECOND);
        assertThat(institute.requestCount("latest.zip")).isEqualTo(downloads + 1);
        assertSiteEquals(older);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(3);
    }

    /**
     * A corte refused (here as older than the published one) and then put on line by an operator's republish: its
     * history record said "stale" for good, and the memoria técnica listed it among the packages never published.
     */
    @Test
    void aRefusedCorteAnOperatorRepublishesIsRecordedAsPublished() throws Exception {
        Path republish = startWithTwoCortesAndARepublishFolder(corte(0), corte(2));
        Path late = corte(1);
        String name = late.getFileName().toString();
        institute.release(late);
        assertThat(awaitReport(name).get("reason").asText()).isEqualTo("STALE_CORTE");
        JsonNode refused = historyRecord(name);
        assertThat(refused.path("outcome").asText()).isEqualTo("stale");

        republishFromTheHistory(republish, late);
        awaitPublished(late);
        await().atMost(Duration.ofSeconds(10)).until(() -> "published".equals(historyRecord(name).path("outcome").asText()));
        // the record still says when and from where the institute delivered it, not the operator's republish
        JsonNode published = historyRecord(name);
        assertThat(published.path("receivedAt").asText()).isEqualTo(refused.path("receivedAt").asText());
        assertThat(published.path("source").asText()).isEqualTo(refused.path("source").asText()).startsWith("https://");
        assertThat(published.path("sha256").asText()).isEqualTo(refused.path("sha256").asText());
        java.time.Instant now = java.time.Instant.now();
        var night = new mx.prep.difusor.memoria.OperationRecords(new ObjectStore(bucket), HISTORY, "history/", "quarantine/", "incidents/")
                .read(now.minus(Duration.ofHours(1)), now.plusSeconds(1));
        assertThat(night.refused()).extracting(r -> r.packageName()).doesNotContain(name);
        assertThat(night.publishedLater()).extracting(r -> r.packageName()).contains(name);
    }

    /** The source kind package-url: a zip at a fixed URL, polled through its checksum file. */
    private Map<String, String> fixedUrlSettings() {
        var settings = settings();
        settings.put("difusor.source.kind", "package-url");
        return settings;
    }

    private JsonNode historyRecord(String name) throws IOException {
        return Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name + ".json")).asUtf8String());
    }

    /**
     * A package whose name holds no corte, announced with it by the manifest and published, then republished by an
     * operator from the history: the corte comes from its record in the history (same name, same SHA-256).
     */
    @Test
    void anOperatorRepublishesAPackageNamedWithoutItsCorte() throws Exception {
        Path older = Files.copy(corte(0), Files.createDirectories(tmp.resolve("named")).resolve("resultados-preliminares.zip"));
        Path republish = Files.createDirectories(tmp.resolve("republish"));
        var settings = settings();
        settings.put("difusor.republish.directory", republish.toString());
        String name = older.getFileName().toString();
        // released before the start: the first poll already reads the manifest that announces the corte
        institute.releaseWithManifest(older, "{\"package\": \"" + name + "\", \"sha256\": \"" + PrepPackageGenerator.sha256Hex(older)
                + "\", \"size\": " + Files.size(older) + ", \"corte\": \"" + FIRST_CORTE + "\"}");
        startDifusor(settings);
        awaitPublished(older);
        Path newer = corte(1);
        institute.release(newer);
        awaitPublished(newer);

        republishFromTheHistory(republish, older);
        awaitPublished(older);
        assertSiteEquals(older);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.corteValue()).isEqualTo(Corte.parse(FIRST_CORTE.toString())));
    }

    /**
     * The history is asked which corte the dropped package was published by; if S3 fails that question for good, the
     * package still ends in quarantine whole, named, with the step and the cause: the folder's consumer deletes the zip
     * once the exchange is handled, so a quarantine that did not know the package would lose it.
     */
    @Test
    void aRepublishWhoseHistoryRecordCannotBeReadEndsWholeInQuarantine() throws Exception {
        Path older = corte(0);
        Path republish = startWithTwoCortesAndARepublishFolder(older, corte(1));
        String name = older.getFileName().toString();
        String stem = name.replace(".zip", "");
        s3Network.respond(r -> r.method().equals("GET") && r.path().equals("/" + HISTORY + "/history/" + name + ".json"), FaultProxy.ALWAYS,
                500, "application/xml", "<Error><Code>InternalError</Code><Message>injected</Message></Error>");
        republishFromTheHistory(republish, older);

        await().atMost(Duration.ofSeconds(60)).until(() -> keys(HISTORY, "quarantine/" + stem + "/").stream().anyMatch(k -> k.endsWith("report.json")));
        List<String> quarantined = keys(HISTORY, "quarantine/" + stem + "/");
        JsonNode report = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY)
                .key(quarantined.stream().filter(k -> k.endsWith("report.json")).findFirst().orElseThrow())).asUtf8String());
        assertThat(report.path("package").asText()).isEqualTo(name);
        assertThat(report.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
        assertThat(report.path("cause").asText()).contains("Status Code: 500");
        assertThat(report.path("step").asText()).isNotBlank();
        String zipKey = quarantined.stream().filter(k -> k.endsWith(".zip")).findFirst().orElseThrow();
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(zipKey)).asByteArray()).isEqualTo(Files.readAllBytes(older));
        assertThat(publishedState()).get().extracting(s -> s.packageName()).isNotEqualTo(name);
    }

    /** Republished, a package is again the corte it was published by (its record), not the one its name reads. */
    @Test
    void anOperatorRepublishesAPackageByTheCorteItWasPublishedBy() throws Exception {
        Path republish = Files.createDirectories(tmp.resolve("republish"));
        var settings = settings();
        settings.put("difusor.republish.directory", republish.toString());
        startDifusor(settings);
        Path older = Files.move(corte(1), tmp.resolve("packages").resolve("PREP2024_JAL_20240602_1900.zip"));
        String name = older.getFileName().toString();
        LocalDateTime announced = FIRST_CORTE.plusMinutes(20);
        institute.releaseWithManifest(older, "{\"package\": \"" + name + "\", \"sha256\": \"" + PrepPackageGenerator.sha256Hex(older)
                + "\", \"size\": " + Files.size(older) + ", \"corte\": \"" + announced + "\"}");
        awaitPublished(older);
        Path newer = corte(2);
        institute.release(newer);
        awaitPublished(newer);

        republishFromTheHistory(republish, older);
        awaitPublished(older);
        assertSiteEquals(older);
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.corteValue()).isEqualTo(Corte.parse(announced.toString())));
    }

    /**
     * Never over each other: the newest corte is published whole first; the republish, asked for over the corte before
     * it, then finds a corte the operator never saw recorded, and leaves it (the operator copies it again if the rollback
     * still stands).
     */
    @Test
    void aRepublishDroppedWhileACorteIsBeingPublishedWaitsForItsTurnAndLeavesThatCorte() throws Exception {
        Path older = corte(0);
        Path republish = startWithTwoCortesAndARepublishFolder(older, corte(1));
        Path newest = corte(2);
        // the newest corte's first asset upload answers late; the operator drops the republish meanwhile
        s3Network.delayResponse(r -> r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/") && !r.path().endsWith(".html"),
                1, Duration.ofSeconds(3));
        institute.release(newest);
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.faultsInjected() == 1);
        republishFromTheHistory(republish, older);

        awaitPublished(newest);
        JsonNode report = awaitReport(older.getFileName().toString());
        assertThat(report.path("reason").asText()).isEqualTo("STALE_CORTE");
        assertThat(report.path("cause").asText()).contains(newest.getFileName() + "@").contains("was published since");
        assertSiteEquals(newest);
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(3);
        assertThat(Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + newest.getFileName() + ".json"))
                .asUtf8String()).path("outcome").asText()).isEqualTo("published");
    }

    @Test
    void aCorteWhoseOutcomeRecordS3RefusedIsStillPublishingSoTheNextProcessFinishesAndRecordsIt() throws Exception {
        var first = settings();
        first.put("camel.main.shutdown-timeout", "1"); // stopped as if killed: no long wait for the refused record
        startWithFirstCortePublished(first);
        Path second = corte(1);
        String name = second.getFileName().toString();
        // the package's outcome record in the history is refused, as if the process were killed right before it
        s3SlowsDownPuts(p -> p.equals("/" + HISTORY + "/history/" + name + ".json"), FaultProxy.ALWAYS);
        institute.release(second);
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.faultsInjected() > 0);

        // the state must not yet say "published" without the record beside it: nothing would ever write it, the
        // memoria técnica would not count the corte, and a later offer of the package would be recorded as stale
        difusor.close();
        difusor = null;
        s3Network.clearFaults();
        var settings = settings();
        settings.put("difusor.resume.check-every-ms", "500");
        startDifusor(settings);
        await().atMost(Duration.ofSeconds(60)).until(() -> publishedState().map(s -> s.publishing() == null && name.equals(s.packageName())).orElse(false));
        JsonNode record = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name + ".json")).asUtf8String());
        assertThat(record.path("outcome").asText()).isEqualTo("published");
        assertSiteEquals(second);
    }

    /**
     * A manifest may announce a corte other than the one the package's name reads (a name the institute did not update):
     * the download is ordered by the announced one, and so is its publication finished after a crash. Ordered by the name
     * (an hour before the published corte here), the resumed package would be refused as stale and the site left half new.
     */
    @Test
    void aCorteCutShortIsFinishedByTheCorteItWasPublishedByNotTheOneItsNameReads() throws Exception {
        var first = settings();
        first.put("camel.main.shutdown-timeout", "1"); // stopped as if killed: no long wait for the refused record
        startWithFirstCortePublished(first);
        Path second = Files.move(corte(1), tmp.resolve("packages").resolve("PREP2024_JAL_20240602_1900.zip"));
        String name = second.getFileName().toString();
        LocalDateTime announced = FIRST_CORTE.plusMinutes(20);
        s3SlowsDownPuts(p -> p.equals("/" + HISTORY + "/history/" + name + ".json"), FaultProxy.ALWAYS);
        institute.releaseWithManifest(second, "{\"package\": \"" + name + "\", \"sha256\": \"" + PrepPackageGenerator.sha256Hex(second)
                + "\", \"size\": " + Files.size(second) + ", \"corte\": \"" + announced + "\"}");
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.faultsInjected() > 0);
        difusor.close();
        difusor = null;
        s3Network.clearFaults();
        assertThat(publishedState()).get().satisfies(s -> assertThat(Corte.parse(s.publishingCorte())).isEqualTo(Corte.parse(announced.toString())));
        // only the history can give the package back now
        institute.answerNext("", Integer.MAX_VALUE, 503, "text/plain", "mantenimiento");

        var settings = settings();
        settings.put("difusor.resume.check-every-ms", "500");
        startDifusor(settings);
        await().atMost(Duration.ofSeconds(60)).until(() -> publishedState().map(s -> s.publishing() == null && name.equals(s.packageName())).orElse(false));
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.corteValue()).isEqualTo(Corte.parse(announced.toString())));
        assertSiteEquals(second);
        // the first process's record, refused until it stopped, is its only report; none says stale
        assertThat(keys(HISTORY, "quarantine/")).noneMatch(k -> k.contains("stale"));
    }

    @Test
    void aRepublishCutShortIsFinishedFromTheHistoryByTheNextProcessAndItsLeftoverFileIsSetAside() throws Exception {
        Path older = corte(0);
        Path newer = corte(1);
        Path republish = startWithTwoCortesAndARepublishFolder(older, newer);
        String name = older.getFileName().toString();

        // as a pod killed mid-republish leaves it: the state says "publishing", some of the older corte's files are
        // up, and its zip is still in the pod's republish folder
        killedWhilePublishing(name);
        Map<String, byte[]> olderFiles = SiteBucket.files(older);
        List<String> halfDone = IncrementalPublishingTest.changed(newer, older).stream().filter(p -> olderFiles.containsKey(p) && !p.endsWith(".html"))
                .limit(5).toList();
        assertThat(halfDone).isNotEmpty();
        halfDone.forEach(p -> bucket.putObject(b -> b.bucket(SITE).key(p).contentType(expectedContentType(p)), RequestBody.fromBytes(olderFiles.get(p))));
        republishFromTheHistory(republish, older);

        // the next process: the institute still offers the newer corte, which the state names as published
        var settings = settings();
        settings.put("difusor.republish.directory", republish.toString());
        settings.put("difusor.resume.check-every-ms", "500");
        startDifusor(settings);
        await().atMost(Duration.ofSeconds(60)).until(() -> publishedState().map(s -> s.publishing() == null && name.equals(s.packageName())).orElse(false));
        assertSiteEquals(older);
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(3);
        // the leftover request was set aside, not taken as a new one
        assertThat(republish.resolve(name)).doesNotExist();
        try (var aside = Files.list(republish)) {
            assertThat(aside.filter(Files::isDirectory)).singleElement()
                    .satisfies(d -> assertThat(d.resolve(name)).exists().hasSameBinaryContentAs(older));
        }

        // the institute moves on: the newest corte goes online as usual
        Path newest = corte(2);
        institute.release(newest);
        awaitPublished(newest);
        assertSiteEquals(newest);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    /**
     * A republish cut short, taken back from the history by the next process, which is then held up past the gate (its
     * listing of the site stalls) while another leader records a newer corte. The older corte is not put over that one: it
     * was resumed as a republish over the corte recorded when the operator asked, and every freshness check let it
     * through, so it went on line over a corte it was never asked to replace, and the marker it wrote sent the next
     * leader's resume back to it as well.
     */
    @Test
    void aRepublishCutShortIsNotResumedOverACorteRecordedSinceItWasTakenBack() throws Exception {
        Path older = corte(0);
        Path newer = corte(1);
        String name = older.getFileName().toString();
        // meanwhile another leader publishes and records the newest corte
        Path newest = corte(2);
        String newestName = newest.getFileName().toString();
        String newestSha = PrepPackageGenerator.sha256Hex(newest);
        republishCutShortThenResumedWhileAnotherProcessRecords(older, newer, newestName, "2024-06-02 20:40", newestSha);

        String stem = name.replace(".zip", "");
        // refused, or (as it was) put on line over the newest and recorded
        await().atMost(Duration.ofSeconds(60)).until(() -> keys(HISTORY, "quarantine/" + stem + "/").stream().anyMatch(k -> k.endsWith("report.json"))
                || publishedState().map(st -> name.equals(st.packageName())).orElse(false));
        assertThat(publishedState().map(mx.prep.difusor.state.PublishedState::packageName)).contains(newestName);
        String report = keys(HISTORY, "quarantine/" + stem + "/").stream().filter(k -> k.endsWith("report.json")).findFirst().orElseThrow();
        JsonNode refused = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(report)).asUtf8String());
        assertThat(refused.path("reason").asText()).isEqualTo("STALE_CORTE");
        assertThat(refused.path("cause").asText()).contains(newestName + "@" + newestSha + " (corte 2024-06-02 20:40) was published since")
                .contains("found when about to publish");
        assertThat(publishedState()).get().satisfies(st -> {
            assertThat(st.packageName()).isEqualTo(newestName);
            assertThat(st.publishing()).isNull();
        });
        assertSiteEquals(newer);
    }

    /**
     * As above, but the other process recorded this very republish (it finished the resume first): put over itself, no
     * harm, not refused as a republish over another corte (a quarantine report and an ERROR for the corte on line).
     */
    @Test
    void aRepublishCutShortThatAnotherProcessFinishedMeanwhileIsPutOverItselfNotRefused() throws Exception {
        Path older = corte(0);
        Path newer = corte(1);
        String name = older.getFileName().toString();
        republishCutShortThenResumedWhileAnotherProcessRecords(older, newer, name, "2024-06-02 20:00", PrepPackageGenerator.sha256Hex(older));

        String stem = name.replace(".zip", "");
        // refused, or published (the third invalidation: the two cortes', then this one's)
        await().atMost(Duration.ofSeconds(60)).until(() -> keys(HISTORY, "quarantine/" + stem + "/").stream().anyMatch(k -> k.endsWith("report.json"))
                || cloudFront.created(DISTRIBUTION).size() == 3);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        await().atMost(Duration.ofSeconds(30)).until(() -> publishedState().map(st -> st.publishing() == null).orElse(false));
        assertThat(publishedState().map(mx.prep.difusor.state.PublishedState::packageName)).contains(name);
        assertSiteEquals(older);
    }

    /**
     * A corte cut short before its prune, resumed by a process whose limits changed meanwhile (a rollout lowered
     * difusor.publish.max-deletions): its plan refuses it for good, after part of it was public. The ERROR says the site
     * may show part of it and what to do, and the resume does not take it back again; it did at every check, each time
     * with another report and another ERROR saying it was rejected as if nothing of it were public.
     */
    @Test
    void aCorteCutShortThatItsResumeRefusesForGoodIsNotTakenBackAgainAndTheErrorSaysTheSiteMayBeMixed() throws Exception {
        startDifusor();
        Path first = corte(0);
        institute.release(first);
        awaitPublished(first);
        Map<String, byte[]> firstFiles = SiteBucket.files(first);
        List<String> dropped = firstFiles.keySet().stream().filter(p -> p.startsWith("csv/")).sorted().limit(2).toList();
        assertThat(dropped).hasSize(2);
        Path lessCsv = PackageEdits.rewrite(corte(1), tmp.resolve(corte(1).getFileName()), n -> !dropped.contains(n), Map.of());
        String name = lessCsv.getFileName().toString();
        institute.release(lessCsv);
        awaitPublished(lessCsv);
        // as a pod killed before the prune leaves it: the files it drops still there, the state marking it
        killedWhilePublishing(name);
        dropped.forEach(p -> bucket.putObject(b -> b.bucket(SITE).key(p).contentType(expectedContentType(p)), RequestBody.fromBytes(firstFiles.get(p))));

        var settings = settings();
        settings.put("difusor.resume.check-every-ms", "200");
        settings.put("difusor.publish.max-deletions", "1");
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            startDifusor(settings);
            JsonNode report = awaitReport(name);
            assertThat(report.path("reason").asText()).isEqualTo("TOO_MANY_DELETIONS");
            String stem = name.replace(".zip", "");
            // the pause after a failure here is half a second, doubling: retaken, it would be refused again within seconds
            await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5))
                    .until(() -> keys(HISTORY, "quarantine/" + stem + "/").stream().filter(k -> k.endsWith("report.json")).count() == 1);
            assertThat(logged).filteredOn(l -> l.startsWith("package " + name) && l.contains("rejected at step plan")).singleElement()
                    .satisfies(l -> assertThat(l).contains("its publication had started").contains("the site may show part of this corte"));
        }
        assertThat(publishedState().map(mx.prep.difusor.state.PublishedState::publishing)).contains(name);
    }

    /**
     * Two cortes published, then a republish of the older one cut short (the state marks it); the next process takes
     * it back from the history and is held up past the gate (its listing of the site stalls) while another process
     * records the given package; then it goes on.
     */
    private void republishCutShortThenResumedWhileAnotherProcessRecords(Path older, Path newer, String recorded, String corte, String sha)
            throws Exception {
        Path republish = startWithTwoCortesAndARepublishFolder(older, newer);
        killedWhilePublishing(older.getFileName().toString());
        // held up past the gate: the plan's listing of the site (the state's marker makes it list the bucket) stalls
        java.util.function.Predicate<FaultProxy.RequestHead> siteListing = r -> r.method().equals("GET")
                && (r.path().equals("/" + SITE) || r.path().equals("/" + SITE + "/")) && r.target().contains("list-type=2");
        s3Network.holdRequest(siteListing, 1, Duration.ofSeconds(60));
        var settings = settings();
        settings.put("difusor.republish.directory", republish.toString());
        settings.put("difusor.resume.check-every-ms", "500");
        startDifusor(settings);
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.faultsInjected() == 1);   // the listing held
        editState(state -> {
            state.put("package", recorded).put("corte", corte).put("sha256", sha);
            List.of("publishing", "publishingCorte", "publishingIndex", "publishingFiles", "publishingHeaders").forEach(state::remove);
        });
        s3Network.releaseHolds();
    }

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

    private static List<Path> filesUnder(Path dir, String suffix) throws java.io.IOException {
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

    @Test
    void aPackageWhoseSidecarCannotBeReadIsKeptInQuarantineNotDeletedWithIt() throws Exception {
        Path incoming = startWithAnIncomingDirectory();
        Path pkg = corte(0);
        Path dropped = Files.copy(pkg, incoming.resolve(pkg.getFileName()));
        // Windows PowerShell's Out-File writes UTF-16 with a byte-order mark: not the text a checksum file is
        Files.writeString(incoming.resolve(pkg.getFileName() + ".sha256"), PrepPackageGenerator.sha256Hex(pkg) + "  " + pkg.getFileName() + "\r\n",
                StandardCharsets.UTF_16);
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
    void aSecondProcessOnTheSameWorkDirDoesNotStartAndTheFirstPublishesUndisturbed() throws Exception {
        startDifusor();
        // a download cut short and a package in the spool: what a second process would delete and take at its start
        Path spool = Files.createDirectories(tmp.resolve("work/spool"));
        Path partial = Files.writeString(spool.resolve("download-1.part"), "half a zip");
        Path spooled = Files.writeString(spool.resolve("PREP2024_JAL_20240602_2000.zip"), "a package being checked");

        assertThatThrownBy(() -> RunningDifusor.start(settings())).hasStackTraceContaining("another prep-difusor uses the work dir");
        assertThat(partial).exists();
        assertThat(spooled).exists();
        Files.delete(partial);
        Files.delete(spooled);

        Path pkg = corte(0);
        institute.release(pkg);
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        // stopped, it lets the next process have the folder
        difusor.close();
        difusor = null;
        startDifusor();
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
    void republishingBackAndForthPurgesTheCdnEachTime() throws Exception {
        Path older = corte(0);
        Path newer = corte(1);
        Path republish = startWithTwoCortesAndARepublishFolder(older, newer);

        // an operator puts the older corte back by mistake, then the newer one again: the same package over the same
        // other one, with the same paths, as its first publication
        for (Path pkg : List.of(older, newer)) {
            republishFromTheHistory(republish, pkg);
            awaitPublished(pkg);
        }
        assertSiteEquals(newer);
        var created = cloudFront.created(DISTRIBUTION);
        assertThat(created).hasSize(4);
        assertThat(created.get(3).paths()).isEqualTo(created.get(1).paths());
        assertThat(created.stream().map(ReceivedInvalidation::callerReference).distinct()).hasSize(4);
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
     * A zip larger than difusor.source.max-package-bytes is abandoned at the limit and reported at once, then paused:
     * retried at once, the same zip was downloaded again up to the limit (2 GB by default) five more times.
     */
    @Test
    void aPackageLargerThanTheLimitIsReportedAtOnceNotDownloadedAgainAndAgain() throws Exception {
        Path first = corte(0);
        var settings = settings();
        settings.put("difusor.source.max-package-bytes", String.valueOf(Files.size(first) + 1000));
        settings.put("difusor.retry.failed-package-pause-ms", "60000");
        settings.put("difusor.retry.max-delay-ms", "10000");   // not fetched again within this test
        startWithFirstCortePublished(settings);
        byte[] noise = new byte[200_000];   // does not deflate: the zip grows by as much
        new java.util.Random(7).nextBytes(noise);
        Path large = PackageEdits.rewrite(first, Files.createDirectories(tmp.resolve("large")).resolve(corte(1).getFileName()), n -> true,
                Map.of(), Map.of("data/relleno.bin", noise));
        institute.release(large);
        JsonNode report = awaitReport(large.getFileName().toString());
        assertThat(report.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
        assertThat(report.path("step").asText()).isEqualTo("download");
        assertThat(report.path("cause").asText()).contains("max-package-bytes");
        assertThat(institute.requestCount("/" + large.getFileName())).isEqualTo(1);
        assertSiteEquals(first);
    }

    /**
     * A publication cut short whose package cannot be taken back from the history yet (S3 failing the download): the
     * failure names the package, the step and the cause, and a later check finishes it. The log said only "resume check
     * failed" and the SDK's message.
     */
    @Test
    void aCutShortPublicationWhosePackageCannotBeTakenBackYetIsNamedAndFinishedLater() throws Exception {
        var settings = settings();
        settings.put("difusor.resume.check-every-ms", "200");
        // the pause after a resumed publication that failed: a download that failed is no such failure, and the next
        // check takes the package again (it waited this long, a site half old, half new meanwhile)
        settings.put("difusor.retry.failed-package-pause-ms", "60000");
        settings.put("difusor.retry.max-delay-ms", "10000");
        Path first = startWithFirstCortePublished(settings);
        String name = first.getFileName().toString();
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            // its checksum file first (one check, the SDK's 4 attempts), then the zip (two checks)
            s3Network.respond(r -> r.method().equals("GET") && r.path().equals("/" + HISTORY + "/history/" + name + ".sha256"), 4, 500,
                    "application/xml", "<Error><Code>InternalError</Code><Message>injected</Message></Error>");
            s3Network.respond(r -> r.method().equals("GET") && r.path().equals("/" + HISTORY + "/history/" + name), 8, 500,
                    "application/xml", "<Error><Code>InternalError</Code><Message>injected</Message></Error>");
            // as a process killed while publishing it leaves the state (the marker of the publication under way)
            editState(state -> state.put("publishing", name).put("publishingCorte", state.path("corte").asText())
                    .put("publishingHeaders", defaultHeaderRules()));
            await().atMost(Duration.ofSeconds(30)).until(() -> logged.stream().filter(l -> l.contains("resume check failed (resume-interrupted)")).count() >= 2);
            List<String> failures = logged.stream().filter(l -> l.contains("resume check failed")).toList();
            assertThat(failures.get(0)).contains("package " + name + ": its publication was cut short, and its checksum in the history")
                    .contains("Status Code: 500");
            assertThat(failures.get(1)).contains("package " + name + ": its publication was cut short, and taking it back")
                    .contains("Status Code: 500");
            await().atMost(Duration.ofSeconds(20)).until(() -> publishedState().orElseThrow().publishing() == null);
        }
        assertSiteEquals(first);
        assertThat(logged).anyMatch(l -> l.contains(name) && l.contains("published again from the history"));
    }

    /**
     * The state records this very package as published while it is on its way to the plan (a former leader's last S3
     * call, landing during the new leader's takeover wait, had finished it): skipped quietly once the wait is over. It
     * was refused as STALE_CORTE ("not newer than" itself), with an ERROR and a quarantine report for the corte on line.
     * Here the history copy is what is held up, the state written meanwhile.
     */
    @Test
    void aPackageTheStateRecordsAsPublishedWhileOnItsWayIsSkippedNotReportedStale() throws Exception {
        Path first = startWithFirstCortePublished();
        Path second = corte(1);
        String name = second.getFileName().toString();
        int faults = s3Network.faultsInjected();
        s3Network.delayResponse(r -> r.method().equals("PUT") && r.path().equals("/" + HISTORY + "/history/" + name), 1, Duration.ofSeconds(3));
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            institute.release(second);
            await().atMost(Duration.ofSeconds(20)).until(() -> s3Network.faultsInjected() > faults);
            String sha = PrepPackageGenerator.sha256Hex(second);
            editState(state -> state.put("package", name).put("sha256", sha)
                    .put("corte", mx.prep.difusor.state.Corte.parse(FIRST_CORTE.plusMinutes(20).toString()).toString()));
            // the pipeline ends either way: skipped, or refused as stale (its report written before its ERROR line)
            await().atMost(Duration.ofSeconds(30)).until(() -> logged.stream().anyMatch(l -> l.contains(name)
                    && (l.contains("already published; skipped") || l.contains("rejected at step"))));
        }
        assertThat(logged).anyMatch(l -> l.contains(name) && l.contains("already published; skipped"));
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertThat(meters().get("difusor_packages_rejected_total").tag("reason", "STALE_CORTE").counter().count()).isZero();
    }

    /**
     * The institute answers, and the ledger cannot ask the history whether its package is new (S3 failing): not a
     * failed poll of the institute, which PrepInstituteUnreachable would page for; the package is published once S3
     * answers.
     */
    @Test
    void aLedgerCheckThatCannotReadTheHistoryIsNotAFailedPoll() throws Exception {
        var settings = settings();
        settings.put("difusor.s3.max-attempts", "1");
        startDifusor(settings);
        MeterRegistry meters = meters();
        Path first = corte(0);
        String stem = first.getFileName().toString().replace(".zip", "");
        s3Network.respond(r -> r.method().equals("GET") && r.path().startsWith("/" + HISTORY + "/history/" + stem), 6, 500,
                "application/xml", "<Error><Code>InternalError</Code><Message>injected</Message></Error>");
        institute.release(first);
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.faultsInjected() == 6);
        awaitPublished(first);
        assertThat(meters.get("difusor_source_polls_total").tag("outcome", "failed").counter().count()).isZero();
        assertThat(meters.get("difusor_source_polls_total").tag("outcome", "offer").counter().count()).isGreaterThanOrEqualTo(7);
    }

    /** The resume check reads the history, not the institute: S3 failing it is not a failed poll (a false page). */
    @Test
    void aResumeCheckThatCannotReadTheStateIsNotAFailedPoll() throws Exception {
        var settings = settings();
        settings.put("difusor.source.kind", "directory");
        settings.put("difusor.source.directory", Files.createDirectories(tmp.resolve("incoming")).toString());
        settings.put("difusor.resume.check-every-ms", "200");
        startDifusor(settings);
        MeterRegistry meters = meters();
        s3Network.respond(r -> r.method().equals("GET") && r.path().equals("/" + HISTORY + "/state/published.json"), 12, 500,
                "application/xml", "<Error><Code>InternalError</Code><Message>injected</Message></Error>");
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.faultsInjected() == 12);
        assertThat(meters.get("difusor_source_polls_total").tag("outcome", "failed").counter().count()).isZero();
    }

    @Test
    void cloudFrontBusyWithEarlierInvalidationsIsWaitedForLongerThanTheRetryChannelWithoutASecondInvalidation() throws Exception {
        var settings = settings();
        settings.put("difusor.cdn.busy-delay-ms", "200");
        startDifusor(settings);
        Path first = corte(0);
        institute.release(first);
        awaitPublished(first);
        // not retried by the SDK: the stage is redelivered, with the same CallerReference, more often than the retry
        // channel's max-redeliveries (5) would
        cloudFront.failNext(8, 400, "TooManyInvalidationsInProgress");
        Path second = corte(1);
        institute.release(second);
        awaitPublished(second);
        assertSiteEquals(second);
        assertThat(cloudFront.requests()).hasSize(10);
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(2);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    /**
     * Three distributions, one busy with its own invalidations for longer than the busy retries, one that does not exist
     * (refused for good): the third gets its invalidation at once, and only once, the refused one is asked once, and the
     * corte is recorded. The busy one's failure stopped the loop, so the others were never asked and the third got no
     * invalidation at all; then, asked on every retry, the refused one was counted and logged as refused each time.
     */
    @Test
    void oneDistributionBusyForLongDoesNotHoldBackTheOthersInvalidation() throws Exception {
        String busy = "E1JORNADA00001";
        String missing = "E0NOSUCHDIST01";
        cloudFront.addDistribution(busy);
        var settings = settings();
        settings.put("difusor.cdn.distribution-ids", busy + "," + missing + "," + DISTRIBUTION);
        settings.put("difusor.cdn.busy-delay-ms", "100");
        settings.put("difusor.cdn.busy-retries", "2");
        startDifusor(settings);
        Path first = corte(0);
        institute.release(first);
        awaitPublished(first);
        assertThat(cloudFront.created(busy)).hasSize(1);
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(1);

        cloudFront.failNextFor(busy, 3, 400, "TooManyInvalidationsInProgress");
        Path second = corte(1);
        institute.release(second);
        awaitPublished(second);
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(2);
        assertThat(cloudFront.requests().stream().filter(r -> r.distributionId().equals(DISTRIBUTION))).hasSize(2);
        assertThat(cloudFront.created(busy)).hasSize(1);
        assertThat(cloudFront.requests().stream().filter(r -> r.distributionId().equals(missing))).hasSize(2);
        // the missing one for each corte, the busy one for the second
        assertThat(meters().get("difusor_invalidations_refused_total").counter().count()).isEqualTo(3);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    /**
     * CloudFront refuses for good: a distribution id that does not exist (a placeholder left in the overlay), then a
     * role without cloudfront:CreateInvalidation. The site bucket already holds the corte: it is recorded, the refusal
     * counted, and the next corte is published the same way, instead of a quarantine and a resume of the same corte
     * in a loop.
     */
    @Test
    void anInvalidationCloudFrontRefusesForGoodStillRecordsTheCorteAndTheNextOneIsPublished() throws Exception {
        var settings = settings();
        settings.put("difusor.cdn.distribution-ids", "E1JORNADA00001," + DISTRIBUTION);
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();   // streamed while the difusor logs
        Path first = corte(0);
        Path second = corte(1);
        try (AutoCloseable capture = captureLogs(logged)) {
            startDifusor(settings);
            institute.release(first);
            awaitPublished(first);
            assertSiteEquals(first);
            // the other distribution still got its invalidation
            assertThat(cloudFront.created(DISTRIBUTION)).hasSize(1);

            cloudFront.failNext(2, 403, "AccessDenied");
            institute.release(second);
            awaitPublished(second);
        }
        assertSiteEquals(second);
        // the only trace naming what to fix: one line per refusal, with the package, the distribution and CloudFront's answer
        List<String> refusals = logged.stream().filter(l -> l.contains("CloudFront refused the invalidation")).toList();
        assertThat(refusals).hasSize(3).allSatisfy(l -> assertThat(l).contains("difusor.cdn.distribution-ids", "cloudfront:CreateInvalidation"));
        assertThat(refusals.get(0)).startsWith("package " + first.getFileName()).contains("distribution E1JORNADA00001 (404 NoSuchDistribution");
        assertThat(refusals.subList(1, 3)).allSatisfy(l -> assertThat(l).startsWith("package " + second.getFileName()).contains("(403 AccessDenied"))
                .anySatisfy(l -> assertThat(l).contains("distribution E1JORNADA00001 "))
                .anySatisfy(l -> assertThat(l).contains("distribution " + DISTRIBUTION + " "));
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(1);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.publishing()).isNull());
        MeterRegistry meters = meters();
        // NoSuchDistribution for the first corte; AccessDenied for both distributions of the second
        assertThat(meters.get("difusor_invalidations_refused_total").counter().count()).isEqualTo(3);
    }

    /**
     * CloudFront failing past every retry comes after the corte is public: it is recorded as published (not reported
     * rejected, not published again by the resume), the failure counted, and the next corte invalidated as usual.
     */
    @Test
    void anInvalidationStillFailingAfterTheRetriesStillRecordsTheCorte() throws Exception {
        var settings = settings();
        settings.put("difusor.retry.max-redeliveries", "1");
        // two distributions, both left without their invalidation: counted one each, as refusals are
        String other = "E1JORNADA00002";
        cloudFront.addDistribution(other);
        settings.put("difusor.cdn.distribution-ids", DISTRIBUTION + "," + other);
        startWithFirstCortePublished(settings);
        cloudFront.failNext(1000, 503, "ServiceUnavailable");
        Path second = corte(1);
        institute.release(second);
        awaitPublished(second);
        assertSiteEquals(second);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.publishing()).isNull());
        MeterRegistry meters = meters();
        assertThat(meters.get("difusor_invalidations_refused_total").counter().count()).isEqualTo(2);
        assertThat(cloudFront.requests().stream().filter(r -> !r.succeeded()).count()).as("attempts refused on the wire").isGreaterThan(2);

        cloudFront.reset(); // the failures still queued too
        Path third = corte(2);
        institute.release(third);
        awaitPublished(third);
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(1);
    }

    /** An older corte is settled as stale only once it is whole in the history: a failure of that copy is the archiver's. */
    @Test
    void aStaleCorteWhoseHistoryCopyFailsIsReportedAtTheHistoryArchiver() throws Exception {
        var settings = settings();
        settings.put("difusor.s3.max-attempts", "1");
        settings.put("difusor.retry.max-redeliveries", "1");
        startDifusor(settings);
        Path older = corte(0);
        Path newer = corte(1);
        institute.release(newer);
        awaitPublished(newer);
        String name = older.getFileName().toString();
        s3SlowsDownPuts(p -> p.equals("/" + HISTORY + "/history/" + name), FaultProxy.ALWAYS);
        institute.release(older);
        String stem = name.replace(".zip", "");
        await().atMost(Duration.ofSeconds(60)).until(() -> keys(HISTORY, "quarantine/" + stem + "/").stream().anyMatch(k -> k.endsWith("report.json")));
        String reportKey = keys(HISTORY, "quarantine/" + stem + "/").stream().filter(k -> k.endsWith("report.json")).findFirst().orElseThrow();
        JsonNode report = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(reportKey)).asUtf8String());
        assertThat(report.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
        assertThat(report.path("step").asText()).isEqualTo("history-archiver");
        assertSiteEquals(newer);
    }

    @Test
    void nothingIsPublishedUntilThePackageIsInTheHistory() throws Exception {
        var settings = settings();
        settings.put("difusor.s3.max-attempts", "1"); // no SDK retry: the retry channel is what is tested
        Path first = startWithFirstCortePublished(settings);
        Path second = corte(1);
        String name = second.getFileName().toString();
        // the copy into the history (run beside the unzip) fails past the SDK's attempts and every redelivery
        s3SlowsDownPuts(p -> p.equals("/" + HISTORY + "/history/" + name), FaultProxy.ALWAYS);
        institute.release(second);
        String stem = name.replace(".zip", "");
        await().atMost(Duration.ofSeconds(60)).until(() -> keys(HISTORY, "quarantine/" + stem + "/").stream().anyMatch(k -> k.endsWith("report.json")));
        String reportKey = keys(HISTORY, "quarantine/" + stem + "/").stream().filter(k -> k.endsWith("report.json")).findFirst().orElseThrow();
        JsonNode report = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(reportKey)).asUtf8String());
        assertThat(report.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
        assertThat(report.path("step").asText()).isEqualTo("history-archiver");
        // not in the history, so the quarantine keeps it; and the site, the state and the CDN never saw it
        assertThat(report.path("packageKeptAt").asText()).isEqualTo("s3://" + HISTORY + "/" + reportKey.replace("report.json", name));
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(reportKey.replace("report.json", name))).asByteArray())
                .isEqualTo(Files.readAllBytes(second));
        assertSiteEquals(first);
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.packageName()).isEqualTo(first.getFileName().toString()));
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(1);

        s3Network.clearFaults();
        awaitPublished(second);
        assertSiteEquals(second);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name)).asByteArray()).isEqualTo(Files.readAllBytes(second));
    }

    @Test
    void whenS3RefusesPastEveryRetryThePackageIsQuarantinedThenPublishedOnceS3IsBack() throws Exception {
        var settings = settings();
        settings.put("difusor.s3.max-attempts", "1"); // no SDK retry: the retry channel is what is tested
        Path first = startWithFirstCortePublished(settings);
        // S3 refuses one changed file for longer than the SDK's attempts and the retry channel's redeliveries
        s3SlowsDownPuts(p -> p.equals("/" + SITE + "/data/corte.json"), FaultProxy.ALWAYS);
        Path second = corte(1);
        institute.release(second);
        String stem = second.getFileName().toString().replace(".zip", "");
        await().atMost(Duration.ofSeconds(60)).until(() -> keys(HISTORY, "quarantine/" + stem + "/").stream().anyMatch(k -> k.endsWith("report.json")));
        String reportKey = keys(HISTORY, "quarantine/" + stem + "/").stream().filter(k -> k.endsWith("report.json")).findFirst().orElseThrow();
        JsonNode report = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(reportKey)).asUtf8String());
        assertThat(report.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
        assertThat(report.path("step").asText()).isEqualTo("publish");
        assertThat(report.path("packageKeptAt").asText()).isEqualTo("history");
        // the HTML still is the published corte's: the failed corte's pages never went up
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(SITE).key("index.html")).asByteArray())
                .isEqualTo(SiteBucket.files(first).get("index.html"));
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.packageName()).isEqualTo(first.getFileName().toString()));

        s3Network.clearFaults();
        awaitPublished(second);
        assertSiteEquals(second);
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(2);
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
