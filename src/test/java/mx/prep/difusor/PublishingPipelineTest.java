package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;

import io.micrometer.core.instrument.MeterRegistry;

import org.apache.camel.builder.NotifyBuilder;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckHelper;
import org.junit.jupiter.api.Test;

import software.amazon.awssdk.core.sync.RequestBody;

import mx.prep.difusor.embedded.PrepPackageGenerator;
import mx.prep.difusor.testing.CloudFrontEmulator.ReceivedInvalidation;
import mx.prep.difusor.testing.FaultProxy;
import mx.prep.difusor.testing.RunningDifusor;
import mx.prep.difusor.testing.SiteBucket;

/**
 * The pipeline end to end, as the institute would drive it: cortes published byte for byte, the state, the
 * history kept before anything is public, S3 and CloudFront failing on the network, one process per work directory.
 */
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
     * The state deleted by hand between cortes (runbook, "S3 fails": a damaged state without versioning), the process
     * left running: the corte gate knows no corte, as the runbook says, and the next package is published as over an
     * empty site, though older than the corte the deleted state named. The gate kept what it had last read, refused
     * it as STALE_CORTE and recorded it stale for good, while the publication itself would have read no state.
     */
    @Test
    void aStateDeletedByHandBetweenCortesLeavesTheCorteGateKnowingNoCorte() throws Exception {
        startWithFirstCortePublished();
        bucket.deleteObject(b -> b.bucket(HISTORY).key("state/published.json"));
        String name = PrepPackageGenerator.packageName(FIRST_CORTE.minusMinutes(20));
        Path older = Files.copy(corte(2), Files.createDirectories(tmp.resolve("older")).resolve(name));
        institute.release(older);
        awaitPublished(older);
        assertSiteEquals(older);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
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
     * CloudFront refusing the batch for one path it will not take (InvalidArgument: a character it refuses): the whole
     * site is invalidated instead, under its own CallerReference, and nothing is counted refused. Before, no path at all
     * was purged and the edge kept the last corte's files until they expired.
     */
    @Test
    void aBatchCloudFrontRefusesForOnePathFallsBackToTheWholeSite() throws Exception {
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        Path second = corte(1);
        int before;
        try (AutoCloseable capture = captureLogs(logged)) {
            startWithFirstCortePublished(settings());
            before = cloudFront.requests().size();
            cloudFront.failNextFor(DISTRIBUTION, 1, 400, "InvalidArgument");
            institute.release(second);
            awaitPublished(second);
        }
        assertSiteEquals(second);
        List<mx.prep.difusor.testing.CloudFrontEmulator.ReceivedInvalidation> forSecond = cloudFront.requests().subList(before, cloudFront.requests().size());
        assertThat(forSecond).hasSize(2);
        assertThat(forSecond.get(0).errorCode()).isEqualTo("InvalidArgument");
        assertThat(forSecond.get(0).paths()).isNotEqualTo(List.of("/*"));
        assertThat(forSecond.get(1).succeeded()).isTrue();
        assertThat(forSecond.get(1).paths()).containsExactly("/*");
        assertThat(forSecond.get(1).callerReference()).isNotEqualTo(forSecond.get(0).callerReference());
        assertThat(logged).filteredOn(l -> l.contains("the whole site [/*] is invalidated instead")).singleElement().asString()
                .startsWith("package " + second.getFileName());
        assertThat(meters().get("difusor_invalidations_refused_total").counter().count()).isZero();
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.publishing()).isNull());
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
}
