package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipOutputStream;

import com.fasterxml.jackson.databind.JsonNode;

import io.micrometer.core.instrument.MeterRegistry;

import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import software.amazon.awssdk.core.sync.RequestBody;

import mx.prep.difusor.embedded.PrepPackageGenerator;
import mx.prep.difusor.testing.FaultProxy;
import mx.prep.difusor.testing.PackageEdits;
import mx.prep.difusor.unpack.ZipStructure;

/**
 * Every kind of bad package, one after another on one running difusor, each between two good cortes: rejected
 * before anything is published, quarantined with a report naming the package, the step and the reason code, counted
 * in the metrics, the site left exactly as it was, and the next good corte still published.
 */
class BadPackagesTest extends PipelineTestBase {

    /** How a bad package is made from the good package of the corte before it, and what it must be refused as. */
    private record Bad(String what, String reason, String step, Maker maker) {
    }

    private interface Maker {
        /** Releases the bad package; returns its name. */
        String release(BadPackagesTest t, Path previousGood, String badName) throws Exception;
    }

    private static Maker edited(java.util.function.Predicate<String> keep, Map<String, byte[]> replaced, Map<String, byte[]> added) {
        return (t, good, name) -> {
            Path bad = PackageEdits.rewrite(good, Files.createDirectories(t.tmp.resolve("bad")).resolve(name), keep, replaced, added);
            t.institute.release(bad);
            return name;
        };
    }

    private static Maker bytes(BytesOf content) {
        return (t, good, name) -> {
            Path bad = Files.write(Files.createDirectories(t.tmp.resolve("bad")).resolve(name), content.of(good));
            t.institute.release(bad);
            return name;
        };
    }

    private interface BytesOf {
        byte[] of(Path good) throws Exception;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] emptyZip() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new ZipOutputStream(out).close();
        return out.toByteArray();
    }

    /** A byte of a stored (not deflated) entry flipped: the zip stays readable, the entry no longer matches its CRC. */
    private static byte[] flippedStoredByte(Path good) throws Exception {
        byte[] bytes = Files.readAllBytes(good);
        ZipStructure.Entry stored = ZipStructure.inspect(good, new ZipStructure.Limits(1_000_000, 1L << 40, 1L << 40, 100_000)).stream()
                .filter(e -> e.method() == 0 && e.compressedSize() > 100).findFirst().orElseThrow();
        bytes[(int) stored.dataOffset() + 50] ^= 0x5a;
        return bytes;
    }

    private static final List<Bad> BAD = List.of(
            new Bad("checksum of another package", "CHECKSUM_MISMATCH", "checksum-filter",
                    (t, good, name) -> releaseWithChecksum(t, good, name, "ab".repeat(32), null)),
            new Bad("an MD5 where the SHA-256 goes", "CHECKSUM_INVALID", "checksum-filter",
                    (t, good, name) -> releaseWithChecksum(t, good, name, "d41d8cd98f00b204e9800998ecf8427e", null)),
            // with the announced SHA-256 a wrong size is only a WARN: the bytes are the institute's
            new Bad("a size other than announced, and other bytes", "SIZE_MISMATCH", "checksum-filter",
                    (t, good, name) -> releaseWithChecksum(t, good, name, "ab".repeat(32), 12L)),
            new Bad("an HTML page", "BAD_ZIP", "unzip", bytes(g -> utf8("<html><body>Servicio no disponible</body></html>"))),
            new Bad("an empty zip", "BAD_ZIP", "unzip", bytes(g -> emptyZip())),
            new Bad("a truncated zip", "BAD_ZIP", "unzip", bytes(g -> Arrays.copyOf(Files.readAllBytes(g), (int) Files.size(g) / 2))),
            new Bad("an entry that does not match its CRC", "ENTRY_CRC_MISMATCH", "unzip", bytes(BadPackagesTest::flippedStoredByte)),
            new Bad("an entry escaping the site root", "UNSAFE_ENTRY_NAME", "unzip",
                    edited(n -> true, Map.of(), Map.of("../../../etc/cron.d/x", utf8("boom")))),
            new Bad("two entries for one site path", "DUPLICATE_ENTRY", "unzip",
                    edited(n -> true, Map.of(), Map.of("data//corte.json", utf8("{}")))),
            new Bad("an archive inside", "NESTED_ARCHIVE", "unzip",
                    edited(n -> true, Map.of(), Map.of("data/respaldo.tar.gz", new byte[] { 0x1f, (byte) 0x8b, 8, 0 }))),
            // an empty zip (its end record alone) under a JSON name: found by its first bytes, not its name
            new Bad("an archive under an innocent name", "NESTED_ARCHIVE", "unzip",
                    edited(n -> true, Map.of(), Map.of("data/respaldo.json", Arrays.copyOf(new byte[] { 'P', 'K', 5, 6 }, 22)))),
            new Bad("a zip bomb", "ZIP_BOMB", "unzip",
                    edited(n -> true, Map.of(), Map.of("data/relleno.json", new byte[20 << 20]))),
            new Bad("no index.html", "NO_INDEX_HTML", "unzip", edited(n -> !n.equals("index.html"), Map.of(), Map.of())),
            new Bad("an index.html without <base>", "NO_BASE_TAG", "unzip",
                    edited(n -> true, Map.of("index.html", utf8("<html><head><title>PREP</title></head></html>")), Map.of())),
            new Bad("a <base> pointing elsewhere", "BASE_OUTSIDE_SITE", "unzip",
                    edited(n -> true, Map.of("index.html", utf8("<html><head><base href=\"https://resultados-falsos.example/\"></head></html>")),
                            Map.of())));

    private static String releaseWithChecksum(BadPackagesTest t, Path good, String name, String sha, Long size) throws Exception {
        Path copy = Files.copy(good, Files.createDirectories(t.tmp.resolve("bad")).resolve(name));
        t.institute.release(copy, sha == null ? PrepPackageGenerator.sha256Hex(copy) : sha, size == null ? Files.size(copy) : size);
        return name;
    }

    private static double rejected(MeterRegistry meters, String reason) {
        var counter = meters.find("difusor_packages_rejected_total").tag("reason", reason).counter();
        return counter == null ? 0 : counter.count();
    }

    @TestFactory
    Stream<DynamicTest> eachBadPackageIsQuarantinedAndTheNextGoodOneStillPublished() throws Exception {
        Path first = startWithFirstCortePublished();
        List<DynamicTest> tests = new ArrayList<>();
        Path[] good = { first };
        int[] sequence = { 0 };
        for (Bad bad : BAD) {
            tests.add(DynamicTest.dynamicTest(bad.what() + " -> " + bad.reason(), () -> {
                int s = sequence[0];
                // a corte of its own, between the published one and the next good one
                String badName = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(20L * s + 10));
                MeterRegistry meters = meters();
                double rejectedBefore = rejected(meters, bad.reason());
                bad.maker().release(this, good[0], badName);
                JsonNode report = awaitReport(badName);
                assertThat(report.path("package").asText()).isEqualTo(badName);
                assertThat(report.path("reason").asText()).isEqualTo(bad.reason());
                assertThat(report.path("step").asText()).isEqualTo(bad.step());
                assertThat(report.path("cause").asText()).contains(badName);
                assertSiteEquals(good[0]);
                assertThat(publishedState()).get().extracting(p -> p.packageName()).isEqualTo(good[0].getFileName().toString());
                // counted under its own reason by this case (BAD_ZIP and others come up more than once in this list; a
                // mismatch is fetched again after a pause and counted again)
                await().atMost(Duration.ofSeconds(10)).until(() -> rejected(meters, bad.reason()) > rejectedBefore);
                // kept by the quarantine: its spool file goes, not aside as one nobody kept
                Path work = tmp.resolve("work");
                await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(work.resolve("spool").resolve(badName)));
                assertThat(work.resolve("spool-leftovers").resolve(badName)).doesNotExist();

                Path next = corte(s + 1);
                institute.release(next);
                awaitPublished(next);
                assertSiteEquals(next);
                good[0] = next;
                sequence[0] = s + 1;
            }));
        }
        tests.add(DynamicTest.dynamicTest("the published name with other content -> NAME_REUSED", () -> {
            String name = good[0].getFileName().toString();
            Path other = PackageEdits.rewrite(good[0], Files.createDirectories(tmp.resolve("reused")).resolve(name), n -> true,
                    Map.of("data/corte.json", utf8("{\"otro\":true}")), Map.of());
            institute.release(other);
            JsonNode report = awaitReport(name);
            assertThat(report.path("reason").asText()).isEqualTo("NAME_REUSED");
            assertThat(report.path("step").asText()).isEqualTo("history-archiver");
            assertSiteEquals(good[0]);
        }));
        tests.add(DynamicTest.dynamicTest("a name without a corte -> NO_CORTE", () -> {
            Path unnamed = Files.copy(good[0], Files.createDirectories(tmp.resolve("unnamed")).resolve("PREP2024_JAL_ultimo.zip"));
            institute.release(unnamed);
            JsonNode report = awaitReport("PREP2024_JAL_ultimo.zip");
            assertThat(report.path("reason").asText()).isEqualTo("NO_CORTE");
            assertThat(report.path("step").asText()).isEqualTo("corte-gate");
            assertSiteEquals(good[0]);
        }));
        // a typo in the year: published, every real corte after it would be refused as stale for the rest of the night
        tests.add(DynamicTest.dynamicTest("a corte ahead of the clock -> CORTE_AHEAD, a lag from its offer, not fetched again", () -> {
            String name = "PREP2024_JAL_20420602_2000.zip";
            Path ahead = Files.copy(good[0], Files.createDirectories(tmp.resolve("ahead")).resolve(name));
            institute.release(ahead);
            JsonNode report = awaitReport(name);
            assertThat(report.path("reason").asText()).isEqualTo("CORTE_AHEAD");
            assertThat(report.path("step").asText()).isEqualTo("corte-gate");
            assertThat(report.path("cause").asText()).contains("2042-06-02 20:00", "ahead of the clock");
            assertSiteEquals(good[0]);
            // the lag counts from the offer (not to 2042, which would hold the alert up after the next publication)
            MeterRegistry meters = meters();
            await().atMost(Duration.ofSeconds(10)).until(() -> meters.get("difusor_publication_lag_seconds").gauge().value() >= 1);
            assertThat(meters.get("difusor_publication_lag_seconds").gauge().value()).isLessThan(120);
            // refused for this process: fetched again later, as the clock caught up, it would be published as 2042
            NotifyBuilder polls = new NotifyBuilder(difusor.context()).fromRoute("poll-manifest").whenCompleted(3 * POLLS_PER_SECOND).create();
            assertThat(polls.matches(20, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(institute.requestCount("/" + name)).isEqualTo(1);
        }));
        // the likeliest mistake: the corte in UTC, six hours ahead of difusor.corte-zone (America/Mexico_City) now
        tests.add(DynamicTest.dynamicTest("a corte typed in UTC -> CORTE_AHEAD in the institute's zone", () -> {
            java.time.LocalDateTime utcNow = java.time.LocalDateTime.now(java.time.ZoneOffset.UTC);
            String name = "PREP2024_JAL_" + utcNow.format(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd_HHmm")) + ".zip";
            Path inUtc = Files.copy(good[0], Files.createDirectories(tmp.resolve("utc")).resolve(name));
            institute.release(inUtc);
            JsonNode report = awaitReport(name);
            assertThat(report.path("reason").asText()).isEqualTo("CORTE_AHEAD");
            assertThat(report.path("cause").asText()).contains("ahead of the clock in America/Mexico_City");
            assertSiteEquals(good[0]);
        }));
        return tests.stream();
    }

    @Test
    void aPackageRefusedAtUnzipWhileItsHistoryCopyIsSlowIsReportedOnceTheCopyIsWhole() throws Exception {
        Path first = startWithFirstCortePublished();
        String badName = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(10));
        // the copy into the history runs beside the unzip; here it answers long after the unzip has refused the package
        s3Network.delayResponse(r -> r.method().equals("PUT") && r.path().equals("/" + HISTORY + "/history/" + badName), 1,
                Duration.ofSeconds(3));
        Path bad = PackageEdits.rewrite(first, Files.createDirectories(tmp.resolve("slow-history")).resolve(badName),
                n -> !n.equals("index.html"), Map.of(), Map.of());
        institute.release(bad);

        JsonNode report = awaitReport(badName);
        assertThat(report.path("reason").asText()).isEqualTo("NO_INDEX_HTML");
        assertThat(report.path("step").asText()).isEqualTo("unzip");
        // the report waited for the copy: the package is in the history, whole, and not a second time in quarantine
        assertThat(s3Network.faultsInjected()).isEqualTo(1);
        assertThat(report.path("packageKeptAt").asText()).isEqualTo("history");
        // what the runbook sends an operator to read: which corte, which bytes, from where, when
        assertThat(report.path("corte").asText()).isEqualTo("2024-06-02 20:10");
        assertThat(report.path("size").asLong()).isEqualTo(Files.size(bad));
        assertThat(report.path("receivedSha256").asText()).isEqualTo(PrepPackageGenerator.sha256Hex(bad));
        assertThat(report.path("source").asText()).isEqualTo(institute.packageUri(badName).toString());
        assertThat(java.time.Instant.parse(report.path("time").asText())).isBetween(java.time.Instant.now().minusSeconds(60), java.time.Instant.now());
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + badName)).asByteArray()).isEqualTo(Files.readAllBytes(bad));
        assertThat(keys(HISTORY, "quarantine/" + badName.replace(".zip", "") + "/")).allMatch(k -> k.endsWith("/report.json"));
        assertSiteEquals(first);
    }

    /**
     * Two attempts per S3 request instead of four: a quarantine S3 refuses (503 SlowDown, answered with the SDK's
     * throttling back-off) is given up in under a second instead of about 4.5 s; still past the SDK's retry.
     */
    static Map<String, String> givingUpOnS3Sooner(Map<String, String> settings) {
        settings.put("difusor.s3.max-attempts", "2");
        return settings;
    }

    /**
     * S3 refuses every write of the quarantine past the SDK's attempts, and the next corte's package fails its
     * checksum (a copy of {@code good}, announced with {@code announced}): its report and the package stay on local
     * disk. Returns the bad package's name.
     */
    private String aBadPackageKeptOnLocalDisk(Path good, String announced) throws Exception {
        s3SlowsDownPuts(p -> p.startsWith("/" + HISTORY + "/quarantine/"), FaultProxy.ALWAYS);
        String badName = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(10));
        releaseWithChecksum(this, good, badName, announced, null);
        await().atMost(Duration.ofSeconds(30)).until(() -> localReports(localQuarantine()).size() == 1);
        // kept by the quarantine on the pod's disk: its spool file goes, not aside as one nobody kept
        Path work = tmp.resolve("work");
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(work.resolve("spool").resolve(badName)));
        assertThat(work.resolve("spool-leftovers").resolve(badName)).doesNotExist();
        return badName;
    }

    /**
     * A package refused (a wrong checksum) while S3 refuses the quarantine and these folders cannot be written (each
     * one a file instead); its name.
     */
    private String refusedWhereNothingCanKeepIt(Path first, Path... folders) throws Exception {
        for (Path folder : folders) {
            if (Files.isDirectory(folder)) {
                Files.delete(folder);
            }
            Files.writeString(folder, "not a folder");
        }
        s3SlowsDownPuts(p -> p.startsWith("/" + HISTORY + "/quarantine/"), FaultProxy.ALWAYS);
        String badName = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(10));
        releaseWithChecksum(this, first, badName, "ab".repeat(32), null);
        return badName;
    }

    private Path localQuarantine() {
        return tmp.resolve("work").resolve("quarantine");
    }

    /** S3 answers again and the next corte is published: the record step sends what was kept on local disk. */
    private Path s3AnswersAgainAndCortePublished(int sequence) throws Exception {
        s3Network.clearFaults();
        Path next = corte(sequence);
        institute.release(next);
        awaitPublished(next);
        return next;
    }

    /**
     * S3 answers again, slowly for the report kept on disk for {@code badName}: its uploads stay on their way until
     * released; corte 1 is published, which sets the send off. Returns that report's folder in S3 (its own: the
     * package fetched again after its pause is quarantined into another).
     */
    private String keptReportsSendHeldUpAfterTheNextCorte(String badName) throws Exception {
        String keptFolder = "quarantine/" + badName.replace(".zip", "") + "/"
                + localReports(localQuarantine()).get(0).getParent().getFileName() + "/";
        s3Network.clearFaults();
        s3Network.holdRequest(r -> r.method().equals("PUT") && r.path().startsWith("/" + HISTORY + "/" + keptFolder),
                FaultProxy.ALWAYS, Duration.ofSeconds(120));
        Path next = corte(1);
        institute.release(next);
        awaitPublished(next);
        return keptFolder;
    }

    /** The bytes of the package a quarantine report names ({@code packageKeptAt}), as S3 holds them. */
    private byte[] keptPackage(JsonNode report) {
        String key = report.path("packageKeptAt").asText().substring(("s3://" + HISTORY + "/").length());
        return bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(key)).asByteArray();
    }

    /**
     * A report S3 refused waits on local disk and is sent once S3 answers again, after the next publication. Sending
     * takes as long as S3 takes (a backlog of 100 MB packages: minutes): the publication that set it off must not hold
     * its turn meanwhile. It did: the corte after went public only once the send ended.
     */
    @Test
    void aReportS3RefusedIsKeptOnDiskAndSentOnceS3AnswersAgainWithoutHoldingBackTheNextCorte() throws Exception {
        Path first = startWithFirstCortePublished(givingUpOnS3Sooner(settings()));
        String badName = aBadPackageKeptOnLocalDisk(first, "ab".repeat(32));
        String keptFolder = keptReportsSendHeldUpAfterTheNextCorte(badName);
        // the send set off by that publication is on its way, held
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.requests(
                r -> r.method().equals("PUT") && r.path().startsWith("/" + HISTORY + "/" + keptFolder)) > 0);

        Path after = corte(2);
        institute.release(after);
        String name = after.getFileName().toString();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> publishedState().map(s -> s.packageName()).filter(name::equals).isPresent());
        assertSiteEquals(after);
        assertThat(keys(HISTORY, keptFolder)).isEmpty();

        s3Network.clearFaults();
        s3Network.releaseHolds();
        await().atMost(Duration.ofSeconds(30)).until(() -> keys(HISTORY, keptFolder).contains(keptFolder + "report.json"));
        JsonNode report = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(keptFolder + "report.json")).asUtf8String());
        assertThat(report.path("reason").asText()).isEqualTo("CHECKSUM_MISMATCH");
        assertThat(report.path("step").asText()).isEqualTo("checksum-filter");
        // what the institute announced and what arrived, side by side
        assertThat(report.path("announcedSha256").asText()).isEqualTo("ab".repeat(32));
        assertThat(report.path("receivedSha256").asText()).isEqualTo(PrepPackageGenerator.sha256Hex(tmp.resolve("bad").resolve(badName)));
        assertThat(report.path("packageKeptAt").asText()).isEqualTo("s3://" + HISTORY + "/" + keptFolder + badName);
        assertThat(keptPackage(report)).isEqualTo(Files.readAllBytes(tmp.resolve("bad").resolve(badName)));
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(localQuarantine()) || isEmptyTree(localQuarantine()));
        assertSiteEquals(after);
    }

    /**
     * A refusal kept on the pod's disk while S3 refused it, and the process restarted with another history bucket (the
     * rehearsal's bucket swapped for the night's, the pod's disk kept): the package goes to the new bucket with its
     * report, which says so. Its copy was deleted unsent, the only one: the report named the old bucket, and only a
     * report naming this very bucket took its package along.
     */
    @Test
    void aPackageKeptOnDiskUnderAnotherHistoryBucketIsSentToTheCurrentOne() throws Exception {
        Path first = startWithFirstCortePublished(givingUpOnS3Sooner(settings()));
        String badName = aBadPackageKeptOnLocalDisk(first, "ab".repeat(32));
        institute.release(first);   // the bad package no longer on offer: only the copy on disk can bring it to S3
        difusor.close();
        difusor = null;

        String night = "prep-history-night";
        bucket.createBucket(b -> b.bucket(night));
        s3Network.clearFaults();
        var settings = settings();
        settings.put("difusor.history.bucket", night);
        settings.put("difusor.quarantine.send-kept-every-ms", "500");
        startDifusor(settings);

        String folder = "quarantine/" + badName.replace(".zip", "") + "/";
        await().atMost(Duration.ofSeconds(30)).until(() -> keys(night, folder).stream().anyMatch(k -> k.endsWith("/report.json")));
        String reportKey = keys(night, folder).stream().filter(k -> k.endsWith("/report.json")).findFirst().orElseThrow();
        JsonNode report = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(night).key(reportKey)).asUtf8String());
        String packageKey = reportKey.replace("report.json", badName);
        assertThat(report.path("packageKeptAt").asText()).isEqualTo("s3://" + night + "/" + packageKey);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(night).key(packageKey)).asByteArray())
                .isEqualTo(Files.readAllBytes(tmp.resolve("bad").resolve(badName)));
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(localQuarantine()) || isEmptyTree(localQuarantine()));
    }

    /**
     * A send of kept reports hangs on a slow S3 (a 100 MB copy: minutes) when the next package is refused and S3
     * refuses its quarantine too: that refusal is kept on the pod's disk at once and the corte after it is published,
     * without waiting for the send. The refusal waited for the whole send, inside its package's turn, and held back the
     * next corte meanwhile. Once S3 answers, both reports are sent with the very bytes they are about.
     */
    @Test
    void aRefusalKeptOnDiskWhileEarlierOnesAreStillOnTheirWayToASlowS3DoesNotWaitForThem() throws Exception {
        Path first = startWithFirstCortePublished(givingUpOnS3Sooner(settings()));
        String badName = aBadPackageKeptOnLocalDisk(first, "ab".repeat(32));
        String keptFolder = keptReportsSendHeldUpAfterTheNextCorte(badName);
        Path next = corte(1);
        // the send set off by that publication is on its way, held
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.requests(
                r -> r.method().equals("PUT") && r.path().startsWith("/" + HISTORY + "/" + keptFolder)) > 0);

        String secondBad = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(30));
        String secondFolder = "quarantine/" + secondBad.replace(".zip", "") + "/";
        s3SlowsDownPuts(p -> p.startsWith("/" + HISTORY + "/" + secondFolder), FaultProxy.ALWAYS);
        releaseWithChecksum(this, next, secondBad, "cd".repeat(32), null);
        await().atMost(Duration.ofSeconds(30)).until(() -> localReports(localQuarantine()).stream()
                .anyMatch(r -> r.toString().contains(secondBad.replace(".zip", ""))));
        Path after = corte(2);
        institute.release(after);
        String name = after.getFileName().toString();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> publishedState().map(s -> s.packageName()).filter(name::equals).isPresent());
        assertSiteEquals(after);

        s3Network.clearFaults();
        s3Network.releaseHolds();
        for (String bad : List.of(badName, secondBad)) {
            JsonNode report = awaitReport(bad);
            assertThat(report.path("reason").asText()).isEqualTo("CHECKSUM_MISMATCH");
            assertThat(keptPackage(report)).as(bad).isEqualTo(Files.readAllBytes(tmp.resolve("bad").resolve(bad)));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> isEmptyTree(localQuarantine()));
    }

    /**
     * S3 refuses one kept report for good (its key denied, say) while it takes the others: those are sent, the refused
     * one stays on the pod's disk for a person. The first refusal ended every send, and the reports sorted after it
     * waited on the pod, lost with it, however long S3 had been answering.
     */
    @Test
    void aKeptReportS3RefusesForGoodDoesNotHoldBackTheOthers() throws Exception {
        Path first = startWithFirstCortePublished(givingUpOnS3Sooner(settings()));
        String badName = aBadPackageKeptOnLocalDisk(first, "ab".repeat(32));
        String secondBad = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(30));
        releaseWithChecksum(this, first, secondBad, "cd".repeat(32), null);
        // (the first one may be kept more than once: fetched again after its pause while still on offer)
        await().atMost(Duration.ofSeconds(30)).until(() -> localReports(localQuarantine()).stream()
                .anyMatch(r -> r.toString().contains(secondBad.replace(".zip", ""))));

        s3Network.clearFaults();
        int sendsFrom = s3Network.requests().size();   // the refusals' own attempts came before
        String deniedFolder = "quarantine/" + badName.replace(".zip", "") + "/";
        s3Network.respond(r -> r.method().equals("PUT") && r.path().startsWith("/" + HISTORY + "/" + deniedFolder), FaultProxy.ALWAYS, 403,
                "application/xml", "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
        Path next = corte(1);
        institute.release(next);
        awaitPublished(next);

        JsonNode report = awaitReport(secondBad);
        assertThat(keptPackage(report)).isEqualTo(Files.readAllBytes(tmp.resolve("bad").resolve(secondBad)));
        assertThat(keys(HISTORY, deniedFolder)).isEmpty();
        // the refused one was tried, and refused: the send met the refusal and went on (the other one's copy on disk is
        // gone below, sent). A poll may meanwhile fetch the other package again and quarantine it in S3 itself
        assertThat(s3Network.requests().stream().skip(sendsFrom)).as("PUTs under %s", deniedFolder)
                .anyMatch(r -> r.method().equals("PUT") && r.path().startsWith("/" + HISTORY + "/" + deniedFolder));
        // the sent one is deleted from the disk just after S3 has it: awaited
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(localReports(localQuarantine())).isNotEmpty()
                .allSatisfy(r -> assertThat(r.toString()).contains(badName.replace(".zip", ""))));
    }

    /**
     * The newest corte on offer is refused for good (after its history copy, so the history records its refusal): the
     * public is behind the institute, and stays so after a restart (a rollout, a lost lead) until a person acts or a
     * newer corte comes. The restarted process did not fetch the refused package again, rightly, but neither counted
     * it as announced: the lag fell to 0 and PrepBehindTheInstitute resolved with the newest corte still not public.
     */
    @Test
    void theLagToANewestCorteRefusedForGoodOutlivesARestart() throws Exception {
        Path first = startWithFirstCortePublished();
        String badName = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(10));
        BAD.stream().filter(b -> b.reason().equals("NO_BASE_TAG")).findFirst().orElseThrow().maker().release(this, first, badName);
        awaitReport(badName);
        await().atMost(Duration.ofSeconds(10)).until(() -> meters().get("difusor_publication_lag_seconds").gauge().value() == 600);

        difusor.close();
        difusor = null;
        startDifusor();
        NotifyBuilder polls = new NotifyBuilder(difusor.context()).fromRoute("poll-manifest").whenCompleted(2).create();
        assertThat(polls.matches(20, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(meters().get("difusor_publication_lag_seconds").gauge().value()).isEqualTo(600);
        assertThat(institute.requestCount("/" + badName)).as("not fetched again").isEqualTo(1);
        assertSiteEquals(first);
    }

    /**
     * S3 refuses a package's history copy for long: the source offers it again after every pause and it fails again,
     * each time reported, but its bytes are kept once, and every report points at that copy. A copy each time (100 MB,
     * on the pod's disk while S3 is down) filled the work volume within hours of an outage.
     */
    @Test
    void aPackageFailingAgainAndAgainIsKeptInQuarantineOnce() throws Exception {
        var settings = givingUpOnS3Sooner(settings());
        settings.put("difusor.retry.max-redeliveries", "1");   // failed past its retries sooner
        startWithFirstCortePublished(settings);
        Path second = corte(1);
        String name = second.getFileName().toString();
        String folder = "quarantine/" + name.replace(".zip", "") + "/";
        s3SlowsDownPuts(p -> p.startsWith("/" + HISTORY + "/history/" + name.replace(".zip", "")), FaultProxy.ALWAYS);
        institute.release(second);
        await().atMost(Duration.ofSeconds(90)).until(() -> keys(HISTORY, folder).stream().filter(k -> k.endsWith("/report.json")).count() >= 2);

        List<String> zips = keys(HISTORY, folder).stream().filter(k -> k.endsWith(".zip")).toList();
        assertThat(zips).hasSize(1);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(zips.get(0))).asByteArray()).isEqualTo(Files.readAllBytes(second));
        for (String key : keys(HISTORY, folder).stream().filter(k -> k.endsWith("/report.json")).toList()) {
            JsonNode report = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(key)).asUtf8String());
            assertThat(report.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
            assertThat(report.path("packageKeptAt").asText()).isEqualTo("s3://" + HISTORY + "/" + zips.get(0));
        }

        s3Network.clearFaults();
        awaitPublished(second);
        assertSiteEquals(second);
    }

    /**
     * The first failure's copy went to the pod's disk (S3 refused the quarantine then); the next failure of the same
     * bytes, S3 taking writes again, keeps its own copy in S3: pointing at one only on the pod, it would be lost with it.
     */
    @Test
    void aCopyOnlyOnThePodIsNoCopyALaterReportMayPointAt() throws Exception {
        var settings = givingUpOnS3Sooner(settings());
        settings.put("difusor.retry.max-redeliveries", "1");
        settings.put("difusor.quarantine.send-kept-every-ms", "600000");   // the copy on the pod stays there
        startWithFirstCortePublished(settings);
        Path second = corte(1);
        String name = second.getFileName().toString();
        String folder = "quarantine/" + name.replace(".zip", "") + "/";
        s3SlowsDownPuts(p -> p.startsWith("/" + HISTORY + "/history/" + name.replace(".zip", "")), FaultProxy.ALWAYS);
        s3SlowsDownPuts(p -> p.startsWith("/" + HISTORY + "/" + folder), 2);   // the first quarantine, both SDK attempts
        institute.release(second);
        await().atMost(Duration.ofSeconds(60)).until(() -> keys(HISTORY, folder).stream().anyMatch(k -> k.endsWith("/report.json")));

        String reportKey = keys(HISTORY, folder).stream().filter(k -> k.endsWith("/report.json")).findFirst().orElseThrow();
        JsonNode report = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(reportKey)).asUtf8String());
        assertThat(report.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
        assertThat(keptPackage(report)).isEqualTo(Files.readAllBytes(second));
        assertThat(localReports(localQuarantine())).hasSize(1);
    }

    /**
     * The same mismatching bytes twice, the first one's copy only on the pod's disk (S3 refused the quarantine then): the
     * second refusal keeps its copy in S3. It was dropped as "the same bytes as the copy already in quarantine", and the
     * package was lost with the pod.
     */
    @Test
    void theSameMismatchingBytesAgainAreKeptInS3WhenTheFirstCopyIsOnlyOnThePod() throws Exception {
        var settings = givingUpOnS3Sooner(settings());
        settings.put("difusor.quarantine.send-kept-every-ms", "600000");   // the copy on the pod stays there
        startWithFirstCortePublished(settings);
        Path second = corte(1);
        String name = second.getFileName().toString();
        String folder = "quarantine/" + name.replace(".zip", "") + "/";
        s3SlowsDownPuts(p -> p.startsWith("/" + HISTORY + "/" + folder), 2);   // the first quarantine, both SDK attempts
        institute.release(second, "ab".repeat(32), null);
        await().atMost(Duration.ofSeconds(60)).until(() -> keys(HISTORY, folder).stream().anyMatch(k -> k.endsWith("/report.json")));

        String reportKey = keys(HISTORY, folder).stream().filter(k -> k.endsWith("/report.json")).findFirst().orElseThrow();
        JsonNode report = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(reportKey)).asUtf8String());
        assertThat(report.path("reason").asText()).isEqualTo("CHECKSUM_MISMATCH");
        assertThat(keptPackage(report)).isEqualTo(Files.readAllBytes(second));
        assertThat(localReports(localQuarantine())).hasSize(1);
        // fetched again after a longer pause (the zip may not be replaced yet): the same bytes, neither kept nor
        // reported a third time
        await().atMost(Duration.ofSeconds(20)).until(() -> difusor.context().getRegistry().lookupByNameAndType("packageJournal",
                mx.prep.difusor.state.PackageJournal.class).recent().stream().filter(e -> e.packageName().equals(name)).count() >= 3);
        assertThat(keys(HISTORY, folder).stream().filter(k -> k.endsWith("/report.json"))).hasSize(1);
        assertThat(keys(HISTORY, folder).stream().filter(k -> k.endsWith(".zip"))).hasSize(1);
        assertThat(localReports(localQuarantine())).hasSize(1);
    }

    /**
     * S3 refuses the quarantine and the local disk does too (here: its folder is a file): the package is not deleted
     * with the spool but waits among the spool's leftovers, and reaches the quarantine in S3 once S3 answers. It was
     * deleted: a package received and lost.
     */
    @Test
    void aPackageNeitherS3NorTheLocalDiskTakeWaitsAndReachesTheQuarantineOnceS3Answers() throws Exception {
        var settings = givingUpOnS3Sooner(settings());
        settings.put("difusor.quarantine.send-kept-every-ms", "500");
        Path first = startWithFirstCortePublished(settings);
        Path local = localQuarantine();
        String badName = refusedWhereNothingCanKeepIt(first, local);
        Path waiting = tmp.resolve("work").resolve("spool-leftovers").resolve(badName);
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(waiting));
        assertThat(Files.readAllBytes(waiting)).isEqualTo(Files.readAllBytes(tmp.resolve("bad").resolve(badName)));
        // the institute offers the published corte again: the bad one is fetched no more, its refusals can be counted
        institute.release(first);
        MeterRegistry meters = meters();
        assertThat(meters.get("difusor_packages_only_on_pod").gauge().value()).isEqualTo(1);
        Path setAside = waiting.resolveSibling(badName + ".report.json");
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(setAside));
        JsonNode refusal = Json.MAPPER.readTree(setAside.toFile());

        s3Network.clearFaults();
        Files.delete(local);
        String folder = "quarantine/" + badName.replace(".zip", "") + "/";
        await().atMost(Duration.ofSeconds(30)).until(() -> keys(HISTORY, folder).stream().anyMatch(k -> k.endsWith("/" + badName)));
        String kept = keys(HISTORY, folder).stream().filter(k -> k.endsWith("/" + badName)).findFirst().orElseThrow();
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(kept)).asByteArray()).isEqualTo(Files.readAllBytes(tmp.resolve("bad").resolve(badName)));
        // with the refusal's own report: its reason, step and checksums, not "downloaded by a process that stopped"
        JsonNode report = awaitReport(badName);
        assertThat(report.path("reason").asText()).isEqualTo("CHECKSUM_MISMATCH");
        assertThat(report.path("step").asText()).isEqualTo("checksum-filter");
        assertThat(report.path("announcedSha256").asText()).isEqualTo("ab".repeat(32));
        // the one sent by the sweep: when it was refused, with its corte (the memoria técnica counts it in its period,
        // not in the sweep's); a download after the faults were cleared may have been refused straight into S3 too
        assertThat(refusal.path("corte").asText()).isNotEmpty();
        await().atMost(Duration.ofSeconds(10)).until(() -> keys(HISTORY, folder).stream().filter(k -> k.endsWith("/report.json"))
                .map(k -> bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(k)).asUtf8String()).anyMatch(r -> r.contains(
                        "\"time\" : \"" + refusal.path("time").asText() + "\"") && r.contains("\"corte\" : \"" + refusal.path("corte").asText() + "\"")));
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(waiting));
        assertThat(waiting.resolveSibling(badName + ".report.json")).doesNotExist();
        assertThat(meters.get("difusor_packages_only_on_pod").gauge().value()).isZero();
        // a count per refusal (one per download: the same bytes fetched again after the pause are refused again), none
        // when the sweep sends the one S3 and the disk refused
        await().atMost(Duration.ofSeconds(10)).untilAsserted(
                () -> assertThat(rejected(meters, "CHECKSUM_MISMATCH")).isEqualTo(institute.requestCount("/" + badName)));
        assertSiteEquals(first);
    }

    /**
     * The quarantine's route stopped when a bad package comes (as a stop past its timeout can leave it: Camel stops the
     * routes one by one, and an exchange still in flight may reach the quarantine's after it stopped; here stopped by
     * the test): the dead-letter channel cannot reach it, and Camel's dead-letter channel swallows a failure
     * of its own, so the exchange ends handled, not failed. The package is set aside with the spool's leftovers, and
     * the sweep, which needs no route, quarantines it. It was deleted with the spool: received, and lost.
     */
    @Test
    void aPackageRefusedWhileTheQuarantineRouteIsStoppedIsSetAsideAndStillQuarantined() throws Exception {
        Path first = startWithFirstCortePublished(quarantineRouteMayStop(settings()));
        difusor.context().getRouteController().stopRoute("quarantine");
        String badName = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(10));
        releaseWithChecksum(this, first, badName, "ab".repeat(32), null);

        String folder = "quarantine/" + badName.replace(".zip", "") + "/";
        await().atMost(Duration.ofSeconds(30)).until(() -> keys(HISTORY, folder).stream().anyMatch(k -> k.endsWith("/" + badName)));
        String kept = keys(HISTORY, folder).stream().filter(k -> k.endsWith("/" + badName)).findFirst().orElseThrow();
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(kept)).asByteArray())
                .isEqualTo(Files.readAllBytes(tmp.resolve("bad").resolve(badName)));
        // the refusal's own reason and step, not "left in the spool by an earlier process"
        JsonNode report = awaitReport(badName);
        assertThat(report.path("reason").asText()).isEqualTo("CHECKSUM_MISMATCH");
        assertThat(report.path("step").asText()).isEqualTo("checksum-filter");
        assertThat(difusor.context().getRouteController().getRouteStatus("quarantine").isStopped()).isTrue();
        assertSiteEquals(first);
    }

    /**
     * S3, the local disk and the spool's leftovers all refuse the package (here: their folders are files): it stays in
     * the spool, and the next process sets it aside at start and quarantines it. It was deleted with the spool: the
     * dead-letter channel handled the quarantine's own failure, so the exchange did not end failed.
     */
    @Test
    void aPackageNothingCanKeepStaysInTheSpoolForTheNextProcess() throws Exception {
        Path first = startWithFirstCortePublished(givingUpOnS3Sooner(settings()));
        Path local = localQuarantine();
        Path leftovers = tmp.resolve("work").resolve("spool-leftovers");
        String badName = refusedWhereNothingCanKeepIt(first, local, leftovers);
        await().atMost(Duration.ofSeconds(60)).until(() -> meters().find("difusor_packages_rejected_total").tag("reason", "CHECKSUM_MISMATCH")
                .counter() != null && meters().get("difusor_packages_rejected_total").tag("reason", "CHECKSUM_MISMATCH").counter().count() >= 1);
        Path spooled = tmp.resolve("work").resolve("spool").resolve(badName);
        difusor.close();   // once the refusal's exchange is done
        difusor = null;
        assertThat(Files.readAllBytes(spooled)).isEqualTo(Files.readAllBytes(tmp.resolve("bad").resolve(badName)));

        s3Network.clearFaults();
        Files.delete(local);
        Files.delete(leftovers);
        var settings = settings();
        settings.put("difusor.quarantine.send-kept-every-ms", "500");
        startDifusor(settings);
        String folder = "quarantine/" + badName.replace(".zip", "") + "/";
        await().atMost(Duration.ofSeconds(30)).until(() -> keys(HISTORY, folder).stream().anyMatch(k -> k.endsWith("/" + badName)));
        String kept = keys(HISTORY, folder).stream().filter(k -> k.endsWith("/" + badName)).findFirst().orElseThrow();
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(kept)).asByteArray()).isEqualTo(Files.readAllBytes(tmp.resolve("bad").resolve(badName)));
        assertSiteEquals(first);
    }

    /**
     * A stale corte, whole in the history, refused while neither S3 nor the local disk takes its report: the package is
     * safe, and the log still names it, the step, the reason and the cause. Before, the failure of the report left only
     * Camel's line about an exchange and a disk error.
     */
    @Test
    void aRefusalWhoseReportNothingCanKeepIsStillLoggedWithItsPackageStepAndReason() throws Exception {
        startWithFirstCortePublished(givingUpOnS3Sooner(settings()));
        Path newer = corte(2);
        institute.release(newer);
        awaitPublished(newer);
        Path local = localQuarantine();
        if (Files.isDirectory(local)) {
            try (var inside = Files.walk(local)) {
                for (Path p : inside.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        Files.writeString(local, "not a folder");
        s3SlowsDownPuts(p -> p.startsWith("/" + HISTORY + "/quarantine/"), FaultProxy.ALWAYS);
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();   // streamed while the difusor logs
        Path stale = corte(1);
        String name = stale.getFileName().toString();
        try (AutoCloseable capture = captureLogs(logged)) {
            institute.release(stale);
            await().atMost(Duration.ofSeconds(60)).until(() -> logged.stream().anyMatch(l -> l.contains("took the report")));
        }
        assertThat(logged).anySatisfy(l -> assertThat(l).startsWith("package " + name).contains("rejected at step corte-gate: STALE_CORTE",
                "not newer than the published corte", "neither S3", "nor the local disk"));
        assertThat(keys(HISTORY, "history/" + name)).contains("history/" + name, "history/" + name + ".sha256");
        assertSiteEquals(newer);
    }

    /**
     * Two different zips of the same wrong size, one after the other under the same announcement: both are kept in
     * quarantine. Told apart by their size alone, the second was taken for the copy already there and deleted with
     * the spool: a package received and lost.
     */
    @Test
    void twoDifferentZipsOfTheSameWrongSizeAreBothKeptInQuarantine() throws Exception {
        var settings = settings();
        settings.put("difusor.retry.failed-package-pause-ms", "2000");
        Path first = startWithFirstCortePublished(settings);
        Path next = corte(1);
        String name = next.getFileName().toString();
        String folder = "quarantine/" + name.replace(".zip", "") + "/";
        // neither zip has the announced SHA-256: with it, a wrong size alone passes
        String announcedSha = "cd".repeat(32);
        long announcedSize = Files.size(next) + 1;
        institute.release(next, announcedSha, announcedSize);
        await().atMost(Duration.ofSeconds(30)).until(() -> keys(HISTORY, folder).stream().filter(k -> k.endsWith("/" + name)).count() == 1);

        // the institute zips it again before the pause is over: other bytes, the same length, the same announcement
        byte[] original = Files.readAllBytes(next);
        byte[] again = original.clone();
        again[again.length / 2] ^= 0x55;
        Files.write(next, again);
        institute.release(next, announcedSha, announcedSize);
        await().atMost(Duration.ofSeconds(30)).until(() -> keys(HISTORY, folder).stream().filter(k -> k.endsWith("/" + name)).count() == 2);
        List<byte[]> kept = keys(HISTORY, folder).stream().filter(k -> k.endsWith("/" + name))
                .map(k -> bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(k)).asByteArray()).toList();
        assertThat(kept).anySatisfy(bytes -> assertThat(bytes).isEqualTo(original)).anySatisfy(bytes -> assertThat(bytes).isEqualTo(again));
        assertSiteEquals(first);
    }

    /**
     * Not a bad package: the same site zipped on Windows, every folder separated by '\\' (PowerShell 5.1's
     * Compress-Archive; host MS-DOS). Published as that site, byte for byte; it was refused (UNSAFE_ENTRY_NAME) at every
     * corte, where unzip, and so every other difusor, reads folders.
     */
    @Test
    void theSiteZippedOnWindowsWithBackslashesIsPublishedByteForByte() throws Exception {
        Path first = startWithFirstCortePublished();
        Path next = corte(1);
        Path windows = Files.createDirectories(tmp.resolve("windows")).resolve(next.getFileName());
        try (java.util.zip.ZipFile in = new java.util.zip.ZipFile(next.toFile());
                java.util.zip.ZipOutputStream out = new java.util.zip.ZipOutputStream(Files.newOutputStream(windows))) {
            for (var e = in.entries(); e.hasMoreElements();) {
                java.util.zip.ZipEntry entry = e.nextElement();
                if (entry.isDirectory()) {
                    continue;
                }
                out.putNextEntry(new java.util.zip.ZipEntry(entry.getName().replace('/', '\\')));
                try (var bytes = in.getInputStream(entry)) {
                    bytes.transferTo(out);
                }
                out.closeEntry();
            }
        }
        institute.release(windows);
        awaitPublished(windows);
        assertSiteEquals(next);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertThat(keys(SITE, "")).noneMatch(k -> k.contains("\\"));
    }

    @Test
    void aHistoryZipWhoseChecksumFileWasNeverWrittenIsNotOverwrittenByAnotherPackageOfItsName() throws Exception {
        Path first = startWithFirstCortePublished();
        // a pod killed between the zip and its checksum file left another package whole under this name
        Path kept = corte(1);
        String name = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(10));
        String keptSha = PrepPackageGenerator.sha256Hex(kept);
        bucket.putObject(b -> b.bucket(HISTORY).key("history/" + name).metadata(Map.of("sha256", keptSha)), RequestBody.fromFile(kept));
        Path other = Files.copy(corte(2), Files.createDirectories(tmp.resolve("reissued")).resolve(name));
        institute.release(other);

        JsonNode report = awaitReport(name);
        assertThat(report.path("reason").asText()).isEqualTo("NAME_REUSED");
        assertThat(report.path("step").asText()).isEqualTo("history-archiver");
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name)).asByteArray()).isEqualTo(Files.readAllBytes(kept));
        assertThat(keptPackage(report)).isEqualTo(Files.readAllBytes(other));
        assertSiteEquals(first);
    }

    /**
     * Another package of the same name reaches the history after this one found the name free: another pod's copy (two
     * leaders one after the other), or this process's own copy of it from before it lost the lead and took it back. The
     * history keeps the first, this one is refused as NAME_REUSED and kept in quarantine. The name was checked once, as
     * the copy was queued, and the zip and its checksum file were then written over the other package's.
     * 1: it lands before the queued copy starts, which asks again and sends nothing; 2: it lands after that, and S3
     * refuses the zip written only where none is (If-None-Match).
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "the other package lands after the name's check number {0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = { 1, 2 })
    void anotherPackageOfItsNameThatReachesTheHistoryMeanwhileIsNeverOverwritten(int check) throws Exception {
        Path first = startWithFirstCortePublished();
        String name = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(10));
        String zipPath = "/" + HISTORY + "/history/" + name;
        Path landed = corte(1);
        String landedSha = PrepPackageGenerator.sha256Hex(landed);
        Path other = Files.copy(corte(2), Files.createDirectories(tmp.resolve("reissued")).resolve(name));
        java.util.concurrent.atomic.AtomicInteger heads = new java.util.concurrent.atomic.AtomicInteger();
        s3Network.holdAnswer(r -> r.method().equals("HEAD") && r.path().equals(zipPath) && heads.incrementAndGet() == check, 1,
                Duration.ofSeconds(30));
        institute.release(other);
        // the check found no zip; before its answer comes, the other package lands whole, zip and checksum file
        await().atMost(Duration.ofSeconds(30)).until(() -> heads.get() >= check);
        bucket.putObject(b -> b.bucket(HISTORY).key("history/" + name).metadata(Map.of("sha256", landedSha)), RequestBody.fromFile(landed));
        bucket.putObject(b -> b.bucket(HISTORY).key("history/" + name + ".sha256"), RequestBody.fromString(landedSha + "  " + name + "\n"));
        s3Network.releaseAnswers();

        JsonNode report = awaitReport(name);
        assertThat(report.path("reason").asText()).isEqualTo("NAME_REUSED");
        assertThat(report.path("step").asText()).isEqualTo("history-archiver");
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name)).asByteArray()).isEqualTo(Files.readAllBytes(landed));
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name + ".sha256")).asUtf8String()).startsWith(landedSha);
        assertThat(keptPackage(report)).isEqualTo(Files.readAllBytes(other));
        assertThat(s3Network.requests(r -> r.method().equals("PUT") && r.path().equals(zipPath))).isEqualTo(check == 1 ? 0 : 1);
        assertSiteEquals(first);
    }

    /**
     * An S3-compatible store that refuses the history zip's If-None-Match (501 NotImplemented) gets it written without,
     * as the state is: every package was retried until quarantined, and nothing was published. With
     * difusor.s3.conditional-writes=false the condition is not sent at all.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "difusor.s3.conditional-writes={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = { true, false })
    void aStoreWithoutConditionalWritesStillGetsTheHistoryZip(boolean conditionalWrites) throws Exception {
        var settings = settings();
        settings.put("difusor.s3.conditional-writes", Boolean.toString(conditionalWrites));
        startDifusor(settings);
        Path pkg = corte(0);
        String zipPath = "/" + HISTORY + "/history/" + pkg.getFileName();
        s3Network.respond(r -> r.method().equals("PUT") && r.path().equals(zipPath) && r.header("If-None-Match") != null, FaultProxy.ALWAYS, 501,
                "application/xml", "<Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented</Message></Error>");
        institute.release(pkg);
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + pkg.getFileName())).asByteArray()).isEqualTo(Files.readAllBytes(pkg));
        assertThat(s3Network.requests(r -> r.method().equals("PUT") && r.path().equals(zipPath) && r.header("If-None-Match") != null))
                .isEqualTo(conditionalWrites ? 1 : 0);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    @Test
    void aPackageRefusedAfterItsHistoryCopyIsNotFetchedAndReportedAgainAfterARestart() throws Exception {
        Path first = startWithFirstCortePublished();
        String badName = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(10));
        Path bad = PackageEdits.rewrite(first, Files.createDirectories(tmp.resolve("no-index")).resolve(badName),
                n -> !n.equals("index.html"), Map.of(), Map.of());
        institute.release(bad);
        assertThat(awaitReport(badName).path("reason").asText()).isEqualTo("NO_INDEX_HTML");
        // the outcome record is written after the report
        await().atMost(Duration.ofSeconds(10)).until(() -> keys(HISTORY, "history/" + badName + ".json").size() == 1);
        JsonNode record = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + badName + ".json")).asUtf8String());
        assertThat(record.path("outcome").asText()).isEqualTo("rejected");

        // the pod restarts while the institute still offers the bad package
        difusor.close();
        difusor = null;
        startDifusor();
        NotifyBuilder polled = new NotifyBuilder(difusor.context())
                .fromRoute("poll-manifest").whenCompleted(3 * POLLS_PER_SECOND).create();
        assertThat(polled.matches(20, TimeUnit.SECONDS)).isTrue();
        assertThat(institute.requestCount("/" + badName)).isEqualTo(1);
        assertThat(keys(HISTORY, "quarantine/" + badName.replace(".zip", "") + "/")).filteredOn(k -> k.endsWith("/report.json")).hasSize(1);
        assertSiteEquals(first);
    }

    /**
     * Stopped while the history copy waits for its retry (S3 refusing it): the package is neither in the history nor in
     * quarantine, so it is not deleted with the spool but set aside with the spool's leftovers, and the next process
     * settles it (here the institute still offers it: published, and the leftover dropped or quarantined). It was
     * deleted with the spool: a package received and lost if the institute had moved on. Nor is it reported lost while
     * the source offers it again (it was quarantined UNEXPECTED a moment before the history had it).
     */
    @Test
    void aPackageStoppedBeforeItReachedTheHistoryIsSetAsideNotDeleted() throws Exception {
        var settings = settings();
        // the stop comes while the retry waits; or, when it comes while the SDK still retries the copy, the retry is
        // scheduled after the stop and waited out by the package's thread: 10 s, well inside the wait below
        settings.put("difusor.retry.initial-delay-ms", "10000");
        settings.put("difusor.retry.max-delay-ms", "10000");
        settings.put("camel.main.shutdown-timeout", "1");
        Path first = startWithFirstCortePublished(settings);
        Path second = corte(1);
        String name = second.getFileName().toString();
        s3SlowsDownPuts(p -> p.startsWith("/" + HISTORY + "/history/" + name.replace(".zip", "")), FaultProxy.ALWAYS);
        institute.release(second);
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.faultsInjected() > 0);
        difusor.close();
        difusor = null;
        Path leftover = tmp.resolve("work").resolve("spool-leftovers").resolve(name);
        // set aside by the package's own thread, which a forced stop (shutdown-timeout 1 s) does not wait for: it first
        // gives the history copy under way a few seconds to settle
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(leftover.resolveSibling(name + ".report.json")));
        assertThat(Files.readAllBytes(leftover)).isEqualTo(Files.readAllBytes(second));
        assertThat(tmp.resolve("work").resolve("spool").resolve(name)).doesNotExist();

        // why it was set aside, for the quarantine if it comes to that: the step and the failure. (A stop landing just as
        // the retry is scheduled waits out its delay and fails it with "SendProcessor has not been started": the report
        // still names the S3 failure, SpoolCleanupTest)
        JsonNode why = Json.MAPPER.readTree(leftover.resolveSibling(name + ".report.json").toFile());
        assertThat(why.path("step").asText()).isEqualTo("history-archiver");
        assertThat(why.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
        assertThat(why.path("cause").asText()).contains("reduce your request rate");

        s3Network.clearFaults();
        var again = settings();
        again.put("difusor.quarantine.send-kept-every-ms", "500");
        again.put("difusor.quarantine.leftover-grace-ms", "120000");
        startDifusor(again);
        awaitPublished(second);
        await().atMost(Duration.ofSeconds(30)).until(() -> isEmptyTree(tmp.resolve("work").resolve("spool-leftovers")));
        assertSiteEquals(second);
        // the institute offered it again and the history holds it: dropped, not reported as a package lost
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    @Test
    void packagesAKilledProcessLeftInTheSpoolAreDroppedIfTheHistoryHoldsThemElseQuarantined() throws Exception {
        Path first = startWithFirstCortePublished();
        difusor.close();
        difusor = null;
        // killed after two downloads: one was already whole in the history, the other never reached it (and the
        // institute has moved on, so the source will not offer it again)
        Path spool = Files.createDirectories(tmp.resolve("work").resolve("spool"));
        Files.copy(first, spool.resolve(first.getFileName()));
        String lostName = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(10));
        Path lost = corte(1);
        Files.copy(lost, spool.resolve(lostName));

        var settings = settings();
        settings.put("difusor.quarantine.send-kept-every-ms", "500");
        startDifusor(settings);
        JsonNode report = awaitReport(lostName);
        assertThat(report.path("reason").asText()).isEqualTo("UNEXPECTED");
        assertThat(report.path("step").asText()).isEqualTo("download");
        assertThat(report.path("receivedSha256").asText()).isEqualTo(PrepPackageGenerator.sha256Hex(lost));
        assertThat(keptPackage(report)).isEqualTo(Files.readAllBytes(lost));
        await().atMost(Duration.ofSeconds(10)).until(() -> isEmptyTree(tmp.resolve("work").resolve("spool-leftovers")));
        assertThat(keys(HISTORY, "quarantine/" + first.getFileName().toString().replace(".zip", "") + "/")).isEmpty();
        assertSiteEquals(first);
    }

    /**
     * Killed with a package in the spool that never reached the history; the institute offers the same bytes again and
     * the restarted process refuses them (a wrong checksum) with a report of their own. The leftover is those bytes:
     * dropped, not quarantined a second time as UNEXPECTED "not checked against the institute's checksum" (a second
     * alert, and a false cause in the memoria técnica).
     */
    @Test
    void aLeftoverRefusedAgainAfterTheRestartIsQuarantinedOnce() throws Exception {
        Path first = startWithFirstCortePublished();
        difusor.close();
        difusor = null;
        String name = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(10));
        Path bytes = corte(1);
        Files.copy(bytes, Files.createDirectories(tmp.resolve("work").resolve("spool")).resolve(name));
        releaseWithChecksum(this, bytes, name, "ab".repeat(32), null);

        var settings = settings();
        settings.put("difusor.quarantine.send-kept-every-ms", "500");
        settings.put("difusor.quarantine.leftover-grace-ms", "15000");   // the refusal comes from the first polls
        startDifusor(settings);
        JsonNode report = awaitReport(name);
        assertThat(report.path("reason").asText()).isEqualTo("CHECKSUM_MISMATCH");
        await().atMost(Duration.ofSeconds(40)).until(() -> isEmptyTree(tmp.resolve("work").resolve("spool-leftovers")));
        String folder = "quarantine/" + name.replace(".zip", "") + "/";
        assertThat(keys(HISTORY, folder).stream().filter(k -> k.endsWith("/report.json"))).hasSize(1);
        assertThat(keys(HISTORY, folder).stream().filter(k -> k.endsWith("/" + name))).hasSize(1);
        assertSiteEquals(first);
    }

    /**
     * A publication cut short is taken back from the history, then fails (S3 stops answering the state) while S3 takes
     * no quarantine either: the package is in the history, so only its report waits on the pod's disk. It was copied
     * there whole too, and PrepPackagesOnlyOnAPod said "do not delete the pod" for a package that was never at risk.
     */
    @Test
    void aPackageTakenBackFromTheHistoryIsNotCopiedOntoThePodWhenItFails() throws Exception {
        var settings = givingUpOnS3Sooner(settings());
        startWithFirstCortePublished(settings);
        Path cutShort = corte(1);
        String name = cutShort.getFileName().toString();
        institute.release(cutShort);
        awaitPublished(cutShort);
        killedWhilePublishing(name);
        // once the resume has the package from the history, S3 answers neither a read of the state nor a quarantine write
        java.util.concurrent.atomic.AtomicBoolean takenBack = new java.util.concurrent.atomic.AtomicBoolean();
        s3Network.respond(r -> {
            if (r.method().equals("GET") && r.path().equals("/" + HISTORY + "/history/" + name)) {
                takenBack.set(true);
                return false;
            }
            return takenBack.get() && (r.method().equals("GET") && r.path().equals("/" + HISTORY + "/state/published.json")
                    || r.method().equals("PUT") && r.path().startsWith("/" + HISTORY + "/quarantine/"));
        }, FaultProxy.ALWAYS, 503, "application/xml", "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
        settings.put("difusor.resume.check-every-ms", "500");
        startDifusor(settings);

        await().atMost(Duration.ofSeconds(60)).until(() -> localReports(localQuarantine()).size() == 1);
        JsonNode report = Json.MAPPER.readTree(localReports(localQuarantine()).get(0).toFile());
        assertThat(report.path("package").asText()).isEqualTo(name);
        assertThat(report.path("packageKeptAt").asText()).isEqualTo("history");
        try (Stream<Path> files = Files.walk(localQuarantine())) {
            assertThat(files.filter(f -> f.getFileName().toString().endsWith(".zip"))).isEmpty();
        }
        assertThat(meters().get("difusor_packages_only_on_pod").gauge().value()).isZero();
        s3Network.clearFaults();
    }

    /**
     * A package already waiting among the leftovers (an earlier kill while S3 was down) and another one of the same
     * name but other bytes left in the spool by the next kill (the institute reused the name): set aside at start, the
     * second one replaced the first, a package received and lost. Both are now kept, and both reach the quarantine.
     * Reports whose package is gone are removed.
     */
    @Test
    void twoPackagesOfOneNameLeftByTwoKilledProcessesAreBothQuarantined() throws Exception {
        Path first = startWithFirstCortePublished();
        difusor.close();
        difusor = null;
        String name = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(10));
        Path waiting = Files.createDirectories(tmp.resolve("work").resolve("spool-leftovers")).resolve(name);
        Files.copy(corte(1), waiting);
        Path reissued = corte(2);
        Files.copy(reissued, Files.createDirectories(tmp.resolve("work").resolve("spool")).resolve(name));
        // reports whose package is gone (settled while they were written, a kill mid-write): they would be taken for
        // the report of the next leftover of their name
        Files.writeString(waiting.resolveSibling("PREP2024_JAL_20240602_2300.zip.report.json"), "{\"reason\": \"ZIP_BOMB\"}");
        Files.writeString(waiting.resolveSibling("PREP2024_JAL_20240602_2300.zip.report.json.partial"), "{\"rea");

        var settings = settings();
        settings.put("difusor.quarantine.send-kept-every-ms", "500");
        startDifusor(settings);
        String folder = "quarantine/" + name.replace(".zip", "") + "/";
        await().atMost(Duration.ofSeconds(30)).until(() -> keys(HISTORY, folder).stream().filter(k -> k.endsWith("/" + name)).count() == 2);
        List<byte[]> kept = keys(HISTORY, folder).stream().filter(k -> k.endsWith("/" + name))
                .map(k -> bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(k)).asByteArray()).toList();
        assertThat(kept).anySatisfy(bytes -> assertThat(bytes).isEqualTo(Files.readAllBytes(corte(1))))
                .anySatisfy(bytes -> assertThat(bytes).isEqualTo(Files.readAllBytes(reissued)));
        await().atMost(Duration.ofSeconds(10)).until(() -> isEmptyTree(tmp.resolve("work").resolve("spool-leftovers")));
        assertSiteEquals(first);
    }

    @Test
    void aPackageCopyCutShortByAKilledPodIsNotTakenForTheWholePackage() throws Exception {
        Path first = startWithFirstCortePublished(givingUpOnS3Sooner(settings()));
        // a pod killed while it copied this very package to local disk left half of it under the copy's name
        String badName = PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(10));
        byte[] whole = Files.readAllBytes(first);
        Files.createDirectories(localQuarantine());
        Files.write(localQuarantine().resolve(badName.replace(".zip", "-") + PrepPackageGenerator.sha256Hex(first).substring(0, 16) + ".zip"),
                java.util.Arrays.copyOf(whole, whole.length / 2));
        assertThat(aBadPackageKeptOnLocalDisk(first, "ab".repeat(32))).isEqualTo(badName);

        Path next = s3AnswersAgainAndCortePublished(1);
        JsonNode report = awaitReport(badName);
        assertThat(report.path("reason").asText()).isEqualTo("CHECKSUM_MISMATCH");
        assertThat(keptPackage(report)).isEqualTo(whole);
        assertSiteEquals(next);
    }

    @Test
    void aReportKeptOnDiskIsSentWithoutWaitingForAPublicationEvenOneCutShortBeforeItsRename() throws Exception {
        var settings = givingUpOnS3Sooner(settings());
        settings.put("difusor.quarantine.send-kept-every-ms", "500");
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();   // streamed while the difusor logs
        String badName;
        try (AutoCloseable capture = captureLogs(logged)) {
            Path first = startWithFirstCortePublished(settings);
            badName = aBadPackageKeptOnLocalDisk(first, "ab".repeat(32));
            // PrepPackagesOnlyOnAPod's gauges: what a deleted pod would lose
            MeterRegistry meters = meters();
            assertThat(meters.get("difusor_packages_only_on_pod").gauge().value()).isEqualTo(1);
            assertThat(meters.get("difusor_package_bytes_only_on_pod").gauge().value()).isEqualTo(Files.size(tmp.resolve("bad").resolve(badName)));
            // the pod was killed between writing the report and renaming it
            Path report = localReports(localQuarantine()).get(0);
            Files.move(report, report.resolveSibling("report.json.partial"));

            // S3 answers again; no newer corte comes (the institute paused, or this pod is now the follower)
            s3Network.clearFaults();
            JsonNode sent = awaitReport(badName);
            assertThat(sent.path("reason").asText()).isEqualTo("CHECKSUM_MISMATCH");
            assertThat(keptPackage(sent)).isEqualTo(Files.readAllBytes(tmp.resolve("bad").resolve(badName)));
            await().atMost(Duration.ofSeconds(10)).until(() -> isEmptyTree(localQuarantine()));
            assertThat(meters.get("difusor_packages_only_on_pod").gauge().value()).isZero();
            assertThat(publishedState()).get().extracting(s -> s.packageName()).isEqualTo(first.getFileName().toString());
            assertSiteEquals(first);
        }
        // both lines name the package with its corte, as every line about a package does: a grep by corte finds them
        String named = "package " + badName + " (corte 2024-06-02 20:10)";
        assertThat(logged).anySatisfy(l -> assertThat(l).contains(named + ": S3 refused the quarantine"))
                .anySatisfy(l -> assertThat(l).contains(named + ": quarantine report kept on local disk sent to"));
    }

    @Test
    void aDamagedReportKeptOnDiskDoesNotHoldBackTheOthers() throws Exception {
        Path first = startWithFirstCortePublished(givingUpOnS3Sooner(settings()));
        String badName = aBadPackageKeptOnLocalDisk(first, "ab".repeat(32));
        Path localQuarantine = localQuarantine();
        // a report cut short (or edited by hand), sorted before the good one
        Path damaged = localQuarantine.resolve("quarantine").resolve("0-damaged").resolve("20240602T000000.000Z-unexpected");
        Files.createDirectories(damaged);
        Files.writeString(damaged.resolve("report.json"), "{\"packageName\": \"PREP2024_JAL_20");

        Path next = s3AnswersAgainAndCortePublished(1);
        JsonNode report = awaitReport(badName);
        assertThat(report.path("reason").asText()).isEqualTo("CHECKSUM_MISMATCH");
        assertThat(keptPackage(report)).isEqualTo(Files.readAllBytes(tmp.resolve("bad").resolve(badName)));
        // the damaged one stays for a person, with every copy of its package it might name: none here. The sent
        // package's copy goes (the sent report is deleted from the disk just after S3 has it: awaited); it kept
        // PrepPackagesOnlyOnAPod up for a package S3 held
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            try (Stream<Path> left = Files.walk(localQuarantine)) {
                assertThat(left.filter(Files::isRegularFile).map(f -> localQuarantine.relativize(f).toString()))
                        .containsExactly(localQuarantine.relativize(damaged.resolve("report.json")).toString());
            }
        });
        assertThat(meters().get("difusor_packages_only_on_pod").gauge().value()).isZero();
        assertThat(keys(HISTORY, "quarantine/0-damaged/")).isEmpty();
        assertSiteEquals(next);
    }

    /** A damaged report of the same package as a copy kept on disk: the copy may be the one it names, and stays. */
    @Test
    void aDamagedReportKeepsTheCopiesOfItsPackage() throws Exception {
        Path first = startWithFirstCortePublished(givingUpOnS3Sooner(settings()));
        String badName = aBadPackageKeptOnLocalDisk(first, "ab".repeat(32));
        Path localQuarantine = localQuarantine();
        Path damaged = localQuarantine.resolve("quarantine").resolve(badName.replace(".zip", "")).resolve("20240602T000000.000Z-unexpected");
        Files.createDirectories(damaged);
        Files.writeString(damaged.resolve("report.json"), "{\"packageName\": \"PREP2024_JAL_20");

        s3AnswersAgainAndCortePublished(1);
        awaitReport(badName);
        String copy = badName.replace(".zip", "-") + PrepPackageGenerator.sha256Hex(tmp.resolve("bad").resolve(badName)).substring(0, 16) + ".zip";
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            try (Stream<Path> left = Files.walk(localQuarantine)) {
                assertThat(left.filter(Files::isRegularFile).map(f -> localQuarantine.relativize(f).toString()))
                        .containsExactlyInAnyOrder(localQuarantine.relativize(damaged.resolve("report.json")).toString(), copy);
            }
        });
    }

    @Test
    void aPackageReissuedUnderTheSameNameIsKeptOnDiskAsItsOwnCopy() throws Exception {
        // an S3 outage gives up quickly here: one attempt per request, one more try of a stage
        var settings = settings();
        settings.put("difusor.s3.max-attempts", "1");
        settings.put("difusor.retry.max-redeliveries", "1");
        startDifusor(settings);
        Path first = corte(0);
        institute.release(first);
        awaitPublished(first);
        // a package fails its checksum while S3 refuses the quarantine: it is kept on local disk
        String announcedFirst = "ab".repeat(32);
        String badName = aBadPackageKeptOnLocalDisk(first, announcedFirst);
        Path localQuarantine = localQuarantine();
        // the institute re-issues it under the same name with other bytes, which cannot reach the history either
        s3SlowsDownPuts(p -> p.equals("/" + HISTORY + "/history/" + badName), FaultProxy.ALWAYS);
        Path reissued = Files.copy(corte(1), Files.createDirectories(tmp.resolve("reissued")).resolve(badName));
        institute.release(reissued);
        await().atMost(Duration.ofSeconds(60)).until(() -> localReports(localQuarantine).size() >= 2);

        Path next = s3AnswersAgainAndCortePublished(2);
        // every report sent with the very bytes it is about
        String folder = "quarantine/" + badName.replace(".zip", "") + "/";
        await().atMost(Duration.ofSeconds(30)).until(() -> isEmptyTree(localQuarantine));
        List<String> reports = keys(HISTORY, folder).stream().filter(k -> k.endsWith("/report.json")).toList();
        assertThat(reports).hasSizeGreaterThanOrEqualTo(2);
        for (String key : reports) {
            JsonNode report = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(key)).asUtf8String());
            Path original = report.path("announcedSha256").asText().equals(announcedFirst) ? tmp.resolve("bad").resolve(badName) : reissued;
            assertThat(keptPackage(report)).as(key).isEqualTo(Files.readAllBytes(original));
        }
        assertSiteEquals(next);
    }

    private static List<Path> localReports(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(f -> f.getFileName().toString().equals("report.json")).toList();
        } catch (java.io.UncheckedIOException movedDuringTheWalk) {
            // the quarantine renames its ".partial" copies as it writes them: not there yet, the next poll sees them
            if (!(movedDuringTheWalk.getCause() instanceof java.nio.file.NoSuchFileException)) {
                throw movedDuringTheWalk;
            }
            return List.of();
        }
    }

    private static boolean isEmptyTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.allMatch(Files::isDirectory);
        } catch (java.io.UncheckedIOException movedDuringTheWalk) {
            if (!(movedDuringTheWalk.getCause() instanceof java.nio.file.NoSuchFileException)) {
                throw movedDuringTheWalk;
            }
            return false;
        }
    }

}
