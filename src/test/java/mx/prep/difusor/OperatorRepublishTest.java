package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Test;

import software.amazon.awssdk.core.sync.RequestBody;

import mx.prep.difusor.embedded.PrepPackageGenerator;
import mx.prep.difusor.state.Corte;
import mx.prep.difusor.testing.CloudFrontEmulator.ReceivedInvalidation;
import mx.prep.difusor.testing.FaultProxy;
import mx.prep.difusor.testing.PackageEdits;
import mx.prep.difusor.testing.SiteBucket;

/**
 * The operators' republish folder (the runbook's rollback from the history) and publications cut short and
 * finished by the next process.
 */
class OperatorRepublishTest extends PipelineTestBase {

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

    /**
     * After the night's last corte, a file of the site is changed and another deleted by hand (or by a stray write): no
     * next corte will repair them. The operator republishes the recorded corte: the bucket is compared with the package
     * file by file, put back byte for byte, and what changed is invalidated. It was skipped as "already published".
     */
    @Test
    void aRepublishOfTheRecordedCortePutsTheSiteBackInLineWithIt() throws Exception {
        Path older = corte(0);
        Path last = corte(1);
        Path republish = startWithTwoCortesAndARepublishFolder(older, last);
        List<String> site = keys(SITE, "");
        String edited = site.stream().filter(k -> k.endsWith(".json")).findFirst().orElseThrow();
        String deleted = site.stream().filter(k -> k.endsWith(".csv")).findFirst().orElseThrow();
        bucket.putObject(b -> b.bucket(SITE).key(edited).contentType("application/json"), RequestBody.fromString("{\"votos\": 0}"));
        bucket.deleteObject(b -> b.bucket(SITE).key(deleted));
        int invalidations = cloudFront.created(DISTRIBUTION).size();

        republishFromTheHistory(republish, last);
        await().atMost(Duration.ofSeconds(60)).until(() -> cloudFront.created(DISTRIBUTION).size() > invalidations);
        assertSiteEquals(last);
        assertThat(cloudFront.created(DISTRIBUTION).get(invalidations).paths()).contains("/" + edited, "/" + deleted);
        assertThat(publishedState()).get().satisfies(s -> {
            assertThat(s.packageName()).isEqualTo(last.getFileName().toString());
            assertThat(s.publishing()).isNull();
        });
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
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
            // each resume check reads the package's checksum in the history; taken back, the zip is read next. The pause
            // after a failure is half a second, doubling: ten checks at 200 ms are past it, however slow the machine
            java.util.function.Predicate<FaultProxy.RequestHead> check = r -> r.method().equals("GET")
                    && r.path().equals("/" + HISTORY + "/history/" + name + ".sha256");
            java.util.function.Predicate<FaultProxy.RequestHead> takenBack = r -> r.method().equals("GET")
                    && r.path().equals("/" + HISTORY + "/history/" + name);
            int checksBefore = s3Network.requests(check);
            int takenBackBefore = s3Network.requests(takenBack);
            await().atMost(Duration.ofSeconds(60)).until(() -> s3Network.requests(check) >= checksBefore + 10);
            assertThat(s3Network.requests(takenBack)).as("the zip read again from the history").isEqualTo(takenBackBefore);
            assertThat(keys(HISTORY, "quarantine/" + stem + "/")).filteredOn(k -> k.endsWith("report.json")).hasSize(1);
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
            // named with the corte the state marked it with, as every line about a package
            assertThat(failures.get(0)).contains("package " + name + " (corte 2024-06-02 20:00): its publication was cut short, and its checksum in the history")
                    .contains("Status Code: 500");
            assertThat(failures.get(1)).contains("package " + name + " (corte 2024-06-02 20:00): its publication was cut short, and taking it back")
                    .contains("Status Code: 500");
            await().atMost(Duration.ofSeconds(20)).until(() -> publishedState().orElseThrow().publishing() == null);
        }
        assertSiteEquals(first);
        assertThat(logged).anyMatch(l -> l.contains(name) && l.contains("published again from the history"));
    }
}
