package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.micrometer.core.instrument.MeterRegistry;

import software.amazon.awssdk.core.sync.RequestBody;

import mx.prep.difusor.testing.CloudFrontEmulator.ReceivedInvalidation;
import mx.prep.difusor.testing.FaultProxy;
import mx.prep.difusor.testing.FaultProxy.RequestHead;
import mx.prep.difusor.testing.PackageEdits;
import mx.prep.difusor.testing.SiteBucket;

/** Publishing only what changed, by content, in a safe order, with pruning and targeted invalidations. */
class IncrementalPublishingTest extends PipelineTestBase {

    private static boolean sitePut(RequestHead r) {
        return r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/");
    }

    /** A PUT into the site bucket, or a DeleteObjects (the prune). */
    private static boolean siteWrite(RequestHead r) {
        return sitePut(r) || r.method().equals("POST") && r.path().startsWith("/" + SITE) && r.target().contains("delete");
    }

    /** Paths whose bytes differ between two packages, or that only one of them has. */
    static List<String> changed(Path before, Path after) throws Exception {
        Map<String, byte[]> a = SiteBucket.files(before);
        Map<String, byte[]> b = SiteBucket.files(after);
        TreeSet<String> all = new TreeSet<>(a.keySet());
        all.addAll(b.keySet());
        return all.stream().filter(p -> !Arrays.equals(a.get(p), b.get(p))).toList();
    }

    static boolean covers(List<String> invalidation, String sitePath) {
        return invalidation.stream().anyMatch(p -> p.equals("/" + sitePath) || p.endsWith("/*") && ("/" + sitePath).startsWith(p.substring(0, p.length() - 1)));
    }

    @Test
    void onlyFilesWhoseContentChangedAreUploadedIncludingSameSizeChangesAndTheSiteStaysExact() throws Exception {
        startDifusor();
        Path previous = corte(6);
        institute.release(previous);
        awaitPublished(previous);
        for (int sequence = 7; sequence <= 9; sequence++) {
            Path next = corte(sequence);
            List<String> changed = changed(previous, next);
            Map<String, byte[]> before = SiteBucket.files(previous);
            Map<String, byte[]> after = SiteBucket.files(next);
            long sameSize = changed.stream().filter(p -> before.containsKey(p) && after.containsKey(p) && before.get(p).length == after.get(p).length).count();
            assertThat(sameSize).as("the generator makes same-size changes").isPositive();
            assertThat(changed.size()).as("a corte changes a part of the site, not all of it").isLessThan(after.size() / 2);

            int putsBefore = s3Network.requests(IncrementalPublishingTest::sitePut);
            institute.release(next);
            awaitPublished(next);

            assertThat(s3Network.requests(IncrementalPublishingTest::sitePut) - putsBefore).isEqualTo(changed.size());
            assertSiteEquals(next);
            assertThat(publishedState()).get().satisfies(s -> assertThat(s.uploaded()).isEqualTo(changed.size()));
            previous = next;
        }
    }

    /**
     * A site bucket encrypted with SSE-KMS: S3's ETags are not the content's MD5 (the proxy disguises them on the
     * wire, in PUT answers and listings alike). The manifest records what S3 answered, so the first plan after a
     * restart, which checks the bucket, and the plan of a corte cut short, which takes the listing as its base, still
     * find the unchanged files unchanged instead of publishing the whole site again.
     */
    @ParameterizedTest
    @ValueSource(strings = { "restarted", "cut short" })
    void inABucketWhoseETagsAreNotTheMd5OnlyWhatChangedIsPublishedAfterARestartOrACorteCutShort(String how) throws Exception {
        s3Network.disguiseETags(r -> r.path().equals("/" + SITE) || r.path().startsWith("/" + SITE + "/"));
        Path first = startWithFirstCortePublished();
        Map<String, byte[]> files = SiteBucket.files(first);
        JsonNode manifest = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("state/site-manifest.json")).asByteArray());
        files.forEach((path, bytes) -> assertThat(manifest.at("/files/" + path.replace("~", "~0").replace("/", "~1") + "/etag").asText())
                .as("the ETag S3 answered for %s", path).hasSize(32).isNotEqualTo(manifest.at("/files/" + path.replace("~", "~0").replace("/", "~1") + "/md5").asText()));

        Path next = corte(1);
        List<String> changed = changed(first, next);
        assertThat(changed.size()).as("a corte changes a part of the site, not all of it").isLessThan(files.size() / 2);
        if (how.equals("cut short")) {
            killedWhilePublishing(next.getFileName().toString());
        } else {
            difusor.close();
            difusor = null;
        }
        int putsBefore = s3Network.requests(IncrementalPublishingTest::sitePut);
        startDifusor();
        institute.release(next);
        awaitPublished(next);

        assertThat(s3Network.requests(IncrementalPublishingTest::sitePut) - putsBefore).isEqualTo(changed.size());
        assertSiteEquals(next);
        assertThat(cloudFront.created(DISTRIBUTION).get(1).paths()).doesNotContain("/*");
    }

    /** A JSON file whose bytes are the same in both packages. */
    private static String unchangedJson(Path first, Path next) throws Exception {
        Map<String, byte[]> before = SiteBucket.files(first);
        return SiteBucket.files(next).entrySet().stream()
                .filter(e -> e.getKey().endsWith(".json") && Arrays.equals(e.getValue(), before.get(e.getKey()))).map(Map.Entry::getKey)
                .findFirst().orElseThrow();
    }

    @Test
    void aCorteCutShortAfterAChangeOfTheCacheControlRulesStillPutsTheNewHeadersOnFilesThatDidNotChange() throws Exception {
        Path first = startWithFirstCortePublished();
        Path next = corte(1);
        String unchangedJson = unchangedJson(first, next);
        assertThat(SiteBucket.object(bucket, SITE, unchangedJson).cacheControl()).isEqualTo("public, max-age=30");

        // a rollout with new rules killed the pod mid-publication: the state still says a publication is under way
        killedWhilePublishing(next.getFileName().toString());
        var settings = settings();
        settings.put("difusor.site.cache-control", "**/*.html=no-cache;**/*.json=public, max-age=10;**=public, max-age=300");
        startDifusor(settings);
        institute.release(next);
        awaitPublished(next);

        assertSiteEquals(next);
        assertThat(SiteBucket.object(bucket, SITE, unchangedJson).cacheControl()).isEqualTo("public, max-age=10");
    }

    /**
     * The other way round: a rollout with new rules is killed mid-publication, after it re-uploaded unchanged files with
     * its headers, and is rolled back. The record (the last corte's) and the rules agree on the old headers; only the
     * state's marker tells that the bucket may hold others.
     */
    @Test
    void aCorteCutShortUnderNewCacheControlRulesThatAreRolledBackGetsTheOldHeadersBackOnFilesThatDidNotChange() throws Exception {
        Path first = startWithFirstCortePublished();
        Path next = corte(1);
        Map<String, byte[]> before = SiteBucket.files(first);
        String unchangedJson = unchangedJson(first, next);
        String rolledOut = "**/*.html=no-cache;**/*.json=public, max-age=10;**=public, max-age=300";
        killedWhilePublishing(next.getFileName().toString());
        // what the killed attempt under the new rules had done: the marker with its rules, a file with its headers
        editState(state -> state.put("publishingHeaders", new mx.prep.difusor.unpack.CacheControlRules(rolledOut).fingerprint()));
        bucket.putObject(b -> b.bucket(SITE).key(unchangedJson).contentType("application/json").cacheControl("public, max-age=10"),
                RequestBody.fromBytes(before.get(unchangedJson)));

        startDifusor();
        institute.release(next);
        awaitPublished(next);

        assertSiteEquals(next);
        assertThat(SiteBucket.object(bucket, SITE, unchangedJson).cacheControl()).isEqualTo("public, max-age=30");
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.publishingHeaders()).isNull());
    }

    /**
     * A newspaper's bucket and distribution: its own front page beside the PREP under {@code prep2024/}. The site is
     * published, checked after a restart and invalidated under its prefix only: the newspaper's pages are neither
     * deleted nor purged, not even by the last resort ({@code /prep2024/*}, not {@code /*}).
     */
    @Test
    void aSiteUnderAKeyPrefixLeavesTheRestOfTheBucketAndTheDistributionAlone() throws Exception {
        Map<String, String> theirs = Map.of("index.html", "<html>portada del diario</html>", "deportes/index.html", "<html>deportes</html>",
                "prep2024.html", "<html>enlace al PREP</html>");
        theirs.forEach((key, body) -> bucket.putObject(b -> b.bucket(SITE).key(key).contentType("text/html"), RequestBody.fromString(body)));
        var settings = settings();
        settings.put("difusor.site.prefix", "prep2024");
        settings.put("difusor.cdn.path-prefix", "/prep2024");
        settings.put("difusor.cdn.max-paths", "3");
        startDifusor(settings);
        Path first = corte(0);
        institute.release(first);
        awaitPublished(first);
        // a restart: the first plan checks the manifest against a listing of the prefix
        difusor.close();
        difusor = null;
        startDifusor(settings);
        Path next = corte(1);
        institute.release(next);
        awaitPublished(next);

        Map<String, byte[]> files = SiteBucket.files(next);
        Map<String, SiteBucket.Served> served = SiteBucket.objects(bucket, SITE, "prep2024/");
        assertThat(served.keySet()).containsExactlyInAnyOrderElementsOf(files.keySet());
        files.forEach((path, bytes) -> assertThat(served.get(path).bytes()).as("bytes of prep2024/%s", path).isEqualTo(bytes));
        theirs.forEach((key, body) -> assertThat(bucket.getObjectAsBytes(b -> b.bucket(SITE).key(key)).asUtf8String()).as(key).isEqualTo(body));
        List<ReceivedInvalidation> created = cloudFront.created(DISTRIBUTION);
        assertThat(created).hasSize(2);
        assertThat(created.get(0).paths()).containsExactly("/prep2024/*");
        assertThat(created).allSatisfy(i -> assertThat(i.paths()).isNotEmpty().allMatch(p -> p.startsWith("/prep2024/")));
    }

    @Test
    void aFolderMarkerInTheSiteBucketIsNotASiteFileToDelete() throws Exception {
        Path first = startWithFirstCortePublished();
        // the S3 console's "create folder" (and a file-system S3 lists every directory so, and cannot delete it)
        bucket.putObject(b -> b.bucket(SITE).key("carpeta/"), RequestBody.empty());
        // a restart: the first plan compares the manifest with a bucket listing
        difusor.close();
        difusor = null;
        int listings = s3Network.requests(IncrementalPublishingTest::siteListing);
        startDifusor();
        Path next = corte(1);
        institute.release(next);
        awaitPublished(next);
        assertThat(s3Network.requests(IncrementalPublishingTest::siteListing)).as("listings of the site").isGreaterThan(listings);

        assertThat(bucket.listObjectsV2(b -> b.bucket(SITE).prefix("carpeta/")).contents()).hasSize(1);
        assertThat(s3Network.requests(r -> r.method().equals("POST") && r.target().contains("delete"))).isZero();
        assertThat(cloudFront.created(DISTRIBUTION)).allSatisfy(i -> assertThat(i.paths()).noneMatch(p -> p.startsWith("/carpeta")));
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.deleted()).isZero());
    }

    @Test
    void keysWithSpacesPlusSignsAndAccentsListAsTheyAreAndAKeyWithAControlCharacterNeitherBreaksTheListingNorIsDeleted()
            throws Exception {
        // names a municipality's page may well have; the listing asks S3 for URL-encoded keys, which the SDK decodes
        Map<String, byte[]> named = Map.of("municipios/San Pedro Tlaquepaque.json", "{\"casillas\":1}".getBytes(StandardCharsets.UTF_8),
                "municipios/Zapotlán el Grande/1+1.json", "{\"casillas\":2}".getBytes(StandardCharsets.UTF_8));
        startDifusor();
        Path first = PackageEdits.rewrite(corte(0), Files.createDirectories(tmp.resolve("named")).resolve(corte(0).getFileName()),
                n -> true, Map.of(), named);
        institute.release(first);
        awaitPublished(first);
        // put there by hand: S3 cannot list this key in XML 1.0 unless asked to URL-encode it
        String stray = "notas/borrador\u0001.txt";
        bucket.putObject(b -> b.bucket(SITE).key(stray), RequestBody.fromString("borrador"));
        // a restart: the first plan compares the manifest with a bucket listing
        difusor.close();
        difusor = null;
        int listings = s3Network.requests(IncrementalPublishingTest::siteListing);
        startDifusor();
        Path next = PackageEdits.rewrite(corte(1), tmp.resolve("named").resolve(corte(1).getFileName()), n -> true, Map.of(), named);
        institute.release(next);
        awaitPublished(next);
        assertThat(s3Network.requests(IncrementalPublishingTest::siteListing)).as("listings of the site").isGreaterThan(listings);

        assertThat(bucket.getObjectAsBytes(b -> b.bucket(SITE).key(stray)).asUtf8String()).isEqualTo("borrador");
        assertThat(s3Network.requests(r -> r.method().equals("POST") && r.target().contains("delete"))).isZero();
        // listed as they are, so unchanged: uploaded with the first corte only
        assertThat(s3Network.requests(r -> r.method().equals("PUT") && r.target().contains("Tlaquepaque"))).isEqualTo(1);
        assertThat(s3Network.requests(r -> r.method().equals("PUT") && r.target().contains("1%2B1.json"))).isEqualTo(1);
        bucket.deleteObject(b -> b.bucket(SITE).key(stray));
        assertSiteEquals(next);
    }

    /**
     * A corte changing a bundle named with a {@code ~} and a page named with a space and an accent: CloudFront (its
     * emulator, as it answers) takes the batch, with the accented name encoded and the {@code ~} name as a wildcard up to
     * it. A raw {@code ~} got the whole batch refused, the corte recorded without any purge.
     */
    @Test
    void aCorteChangingFilesWithOddNamesIsPurgedWithPathsCloudFrontTakes() throws Exception {
        var settings = settings();
        settings.put("difusor.cdn.max-paths", "3000"); // every path as it is
        startDifusor(settings);
        Path named = Files.createDirectories(tmp.resolve("named"));
        Path first = PackageEdits.rewrite(corte(0), named.resolve(corte(0).getFileName()), n -> true, Map.of(),
                Map.of("assets/vendors~main.js", "var v=1;".getBytes(StandardCharsets.UTF_8),
                        "municipios/Zapotlán el Grande.json", "{\"casillas\":1}".getBytes(StandardCharsets.UTF_8)));
        institute.release(first);
        awaitPublished(first);
        Path next = PackageEdits.rewrite(corte(1), named.resolve(corte(1).getFileName()), n -> true, Map.of(),
                Map.of("assets/vendors~main.js", "var v=2;".getBytes(StandardCharsets.UTF_8),
                        "municipios/Zapotlán el Grande.json", "{\"casillas\":2}".getBytes(StandardCharsets.UTF_8)));
        institute.release(next);
        awaitPublished(next);

        assertSiteEquals(next);
        assertThat(cloudFront.requests()).allSatisfy(r -> assertThat(r.errorCode()).isNull());
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(2).last().satisfies(i -> assertThat(i.paths())
                .contains("/assets/vendors*", "/municipios/Zapotl%C3%A1n%20el%20Grande.json").noneMatch(p -> p.contains("~")));
    }

    @Test
    void aRedoThatMustPurgeMoreThanTheFirstAttemptGetsAnInvalidationOfItsOwn() throws Exception {
        var settings = settings();
        settings.put("difusor.s3.max-attempts", "1");
        settings.put("difusor.retry.max-redeliveries", "1");
        settings.put("difusor.cdn.max-paths", "3000"); // every path as it is, no wildcard that would cover anything
        startDifusor(settings);
        Path first = corte(6);
        institute.release(first);
        awaitPublished(first);
        Path second = corte(7);
        assertThat(changed(first, second)).doesNotContain(STABLE);

        // the site manifest cannot be written: the corte is public and invalidated, but not recorded, and is done again
        s3Network.respond(r -> r.method().equals("PUT") && r.path().equals("/" + HISTORY + "/state/site-manifest.json"), FaultProxy.ALWAYS,
                500, "application/xml", "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>");
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        String name = second.getFileName().toString();
        try (AutoCloseable capture = captureLogs(logged)) {
            institute.release(second);
            await().atMost(Duration.ofSeconds(30)).until(() -> cloudFront.created(DISTRIBUTION).size() == 2);
            // past its retries: said to be cut short and finished by the resume, not rejected (it is public)
            await().atMost(Duration.ofSeconds(30)).until(() -> logged.stream().anyMatch(l -> l.contains(name) && l.contains("at step record")));
        }
        assertThat(logged).anyMatch(l -> l.startsWith("package " + name) && l.contains(": publication cut short at step record: RETRIES_EXHAUSTED")
                && l.contains("the resume finishes it"));
        assertThat(logged).noneMatch(l -> l.contains(name) && l.contains("rejected at step"));
        mx.prep.difusor.state.PackageJournal journal = difusor.context().getRegistry().lookupByNameAndType("packageJournal",
                mx.prep.difusor.state.PackageJournal.class);
        assertThat(journal.recent()).anySatisfy(e -> {
            assertThat(e.packageName()).isEqualTo(name);
            assertThat(e.outcome()).isEqualTo("cut short");
        });
        // meanwhile a file is edited by hand: the next redo repairs it, and must purge it from the CDN too, with an
        // invalidation of its own (the same reference with other paths is refused by CloudFront)
        editBucketByHand();
        await().atMost(Duration.ofSeconds(60)).until(() -> cloudFront.created(DISTRIBUTION).size() == 3);
        s3Network.clearFaults();
        awaitPublished(second);

        assertSiteEquals(second);
        List<ReceivedInvalidation> created = cloudFront.created(DISTRIBUTION);
        assertThat(created).hasSize(3);
        assertThat(created).anySatisfy(i -> assertThat(covers(i.paths(), STABLE)).isTrue());
    }

    private static boolean siteListing(RequestHead r) {
        return r.method().equals("GET") && (r.path().equals("/" + SITE) || r.path().equals("/" + SITE + "/"))
                && r.target().contains("list-type=2");
    }

    private static boolean stateRecorded(RequestHead r) {
        return r.method().equals("PUT") && r.path().equals("/" + HISTORY + "/state/published.json");
    }

    /**
     * The plan lists the bucket only when it has no manifest to trust yet (the first publication after a start). Every
     * difusor.publish.list-bucket-every publications the bucket is checked again, after the corte is public: a listing
     * of a full site takes seconds, and no corte waits for it.
     */
    @Test
    void theSiteBucketIsCheckedEveryNPublicationsOnceTheCorteIsPublicNotOnItsPath() throws Exception {
        var settings = settings();
        settings.put("difusor.publish.list-bucket-every", "2");
        startDifusor(settings);
        List<Integer> beforePublic = new ArrayList<>();
        List<Integer> afterPublic = new ArrayList<>();
        int expected = 0;
        for (int publication = 1; publication <= 6; publication++) {
            int from = s3Network.requests().size();
            Path next = corte(publication + 5);
            institute.release(next);
            awaitPublished(next);
            expected += (publication == 1 ? 1 : 0) + (publication % 2 == 0 ? 1 : 0);
            int listings = expected;
            await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.requests(IncrementalPublishingTest::siteListing) >= listings);

            // this publication's requests, split where its state was recorded (the corte public)
            List<RequestHead> window = s3Network.requests().subList(from, s3Network.requests().size());
            int recorded = -1;
            for (int i = 0; i < window.size(); i++) {
                if (stateRecorded(window.get(i))) {
                    recorded = i;
                }
            }
            assertThat(recorded).as("the state recorded in publication %d", publication).isNotNegative();
            beforePublic.add((int) window.subList(0, recorded).stream().filter(IncrementalPublishingTest::siteListing).count());
            afterPublic.add((int) window.subList(recorded, window.size()).stream().filter(IncrementalPublishingTest::siteListing).count());
            assertSiteEquals(next);
        }
        assertThat(beforePublic).as("listings before each corte was public").containsExactly(1, 0, 0, 0, 0, 0);
        assertThat(afterPublic).as("listings after each corte was public").containsExactly(0, 1, 0, 1, 0, 1);
    }

    /**
     * A bucket edited by hand while the difusor runs is found by the check between cortes: the publication after it
     * compares with the bucket, puts the published bytes back, deletes the stray file and invalidates both paths.
     */
    @Test
    void aBucketEditedByHandIsFoundBetweenCortesAndRepairedByTheNextPublication() throws Exception {
        var settings = settings();
        settings.put("difusor.publish.list-bucket-every", "1");
        settings.put("difusor.cdn.max-paths", "3000"); // every path as it is, no wildcard that would cover anything
        startDifusor(settings);
        Path first = corte(6);
        institute.release(first);
        awaitPublished(first);
        // the check after the first publication has concluded (a listing merely sent could still see the edit below)
        MeterRegistry meters = meters();
        await().atMost(Duration.ofSeconds(30)).until(() -> siteChecks(meters) >= 1);
        assertThat(meters.get("difusor_site_checks_total").tag("outcome", "agrees").counter().count()).isEqualTo(1);

        editBucketByHand();
        Path second = corte(7);
        assertThat(changed(first, second)).doesNotContain(STABLE);
        institute.release(second);
        awaitPublished(second);
        // the check after the second publication finds the edit, before the third corte is offered
        await().atMost(Duration.ofSeconds(30)).until(() -> siteChecks(meters) >= 2);
        assertThat(meters.get("difusor_site_checks_total").tag("outcome", "differs").counter().count()).isEqualTo(1);

        Path third = corte(8);
        assertThat(changed(second, third)).doesNotContain(STABLE);
        institute.release(third);
        awaitPublished(third);
        assertSiteEquals(third);
        List<ReceivedInvalidation> invalidations = cloudFront.created(DISTRIBUTION);
        List<String> repaired = invalidations.get(invalidations.size() - 1).paths();
        assertThat(covers(repaired, STABLE)).as("%s covered by %s", STABLE, repaired).isTrue();
        assertThat(covers(repaired, "stray.html")).as("stray.html covered by %s", repaired).isTrue();
        // the check after the repair finds the bucket as the manifest says again
        await().atMost(Duration.ofSeconds(30)).until(() -> siteChecks(meters) >= 3);
        assertThat(meters.get("difusor_site_checks_total").tag("outcome", "differs").counter().count()).isEqualTo(1);
        assertThat(meters.get("difusor_site_checks_total").tag("outcome", "agrees").counter().count()).isEqualTo(2);
    }

    /**
     * The difference the check between cortes found outlives a package refused before its publication began (S3 refusing
     * the state's "publishing" marker past every retry): the publication after it still compares with the bucket and
     * repairs it. The plan of the refused package forgot it, and the bucket stayed edited until the next check, 12
     * publications later by default: hours of an election night.
     */
    @Test
    void aDifferenceFoundBetweenCortesIsRepairedThoughThePackageAfterItFailedBeforeItsPublicationBegan() throws Exception {
        var settings = settings();
        settings.put("difusor.retry.failed-package-pause-ms", "600000");   // the failed third is not fetched again before the fourth is out
        settings.put("difusor.retry.max-redeliveries", "1");   // refused at its marker after one retry: the refusal is what matters
        settings.put("difusor.s3.max-attempts", "2");
        settings.put("difusor.publish.list-bucket-every", "1");
        settings.put("difusor.cdn.max-paths", "3000"); // every path as it is, no wildcard that would cover anything
        startDifusor(settings);
        Path first = corte(6);
        institute.release(first);
        awaitPublished(first);
        MeterRegistry meters = meters();
        await().atMost(Duration.ofSeconds(30)).until(() -> siteChecks(meters) >= 1);

        editBucketByHand();
        Path second = corte(7);
        institute.release(second);
        awaitPublished(second);
        await().atMost(Duration.ofSeconds(30)).until(() -> siteChecks(meters) >= 2);
        assertThat(meters.get("difusor_site_checks_total").tag("outcome", "differs").counter().count()).isEqualTo(1);

        // the state cannot be written: the third package is planned (on a listing of the bucket), then refused at its marker
        s3Network.respond(FaultProxy.request("PUT", "/" + HISTORY + "/state/"), FaultProxy.ALWAYS, 503, "application/xml",
                "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
        Path third = corte(8);
        String thirdStem = third.getFileName().toString().replace(".zip", "");
        institute.release(third);
        await().atMost(Duration.ofSeconds(60)).until(() -> keys(HISTORY, "quarantine/" + thirdStem + "/").stream().anyMatch(k -> k.endsWith("/report.json")));
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(SITE).key(STABLE)).asUtf8String()).isEqualTo("not the logo");
        s3Network.clearFaults();

        Path fourth = corte(9);
        assertThat(changed(first, fourth)).doesNotContain(STABLE, STABLE_SAME_SIZE);
        int listings = s3Network.requests(IncrementalPublishingTest::siteListing);
        institute.release(fourth);
        awaitPublished(fourth);
        assertSiteEquals(fourth);
        // its plan listed the bucket once, as its base, without comparing it first (the third's plan found it edited),
        // and the check after it once more
        await().atMost(Duration.ofSeconds(30)).until(() -> siteChecks(meters) >= 3);
        assertThat(s3Network.requests(IncrementalPublishingTest::siteListing) - listings).isEqualTo(2);
        List<ReceivedInvalidation> invalidations = cloudFront.created(DISTRIBUTION);
        List<String> repaired = invalidations.get(invalidations.size() - 1).paths();
        assertThat(covers(repaired, STABLE)).as("%s covered by %s", STABLE, repaired).isTrue();
        assertThat(covers(repaired, "stray.html")).as("stray.html covered by %s", repaired).isTrue();
    }

    /**
     * A site manifest an operator broke by hand (not JSON, or JSON without its files): taken as missing, so the next
     * corte compares with the bucket, is published whole and writes a good manifest again. It failed as a transient
     * error, and every corte after it was quarantined once its retries ran out.
     */
    @ParameterizedTest
    @ValueSource(strings = { "{\"package\": \"PREP2024_JAL_20240602_2000.zip\", \"files\": {", "{\"package\": \"PREP2024_JAL_20240602_2000.zip\"}" })
    void aSiteManifestBrokenByHandIsTakenAsMissingAndTheNextCorteIsPublished(String broken) throws Exception {
        Path first = startWithFirstCortePublished();
        bucket.putObject(b -> b.bucket(HISTORY).key("state/site-manifest.json"), RequestBody.fromString(broken));
        // the probe still cannot tell the corte on line from it (missing, it said green: nothing published to compare with)
        mx.prep.difusor.state.StateStore state = difusor.context().getRegistry().lookupByNameAndType("stateStore", mx.prep.difusor.state.StateStore.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(state::publishedIndexSha256).hasMessageContaining("cannot be read");
        Path second = corte(1);
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            institute.release(second);
            awaitPublished(second);
        }
        assertSiteEquals(second);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        // the operator reads which package met it, at which step, and why
        String name = "package " + second.getFileName();
        assertThat(logged.stream().filter(l -> l.contains("state/site-manifest.json cannot be read")))
                .hasSize(2)
                .anySatisfy(l -> assertThat(l).startsWith(name).contains(": unzip: cannot read the site manifest"))
                .anySatisfy(l -> assertThat(l).startsWith(name).contains(": plan: the site manifest s3://"));
        JsonNode manifest = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("state/site-manifest.json")).asByteArray());
        assertThat(manifest.path("package").asText()).isEqualTo(second.getFileName().toString());
        assertThat(manifest.path("files").size()).isEqualTo(SiteBucket.files(second).size());
    }

    private static double siteChecks(MeterRegistry meters) {
        return meters.find("difusor_site_checks_total").counters().stream().mapToDouble(c -> c.count()).sum();
    }

    /**
     * Files the operator keeps in the site bucket (difusor.site.keep), which no package holds: a robots.txt and more
     * search-engine verification files than difusor.publish.max-deletions. The check between cortes does not count them
     * as a difference, and the plan of a corte cut short, based on a listing of the bucket, neither deletes them (nor
     * refuses the corte for deleting too many) nor invalidates them.
     */
    @Test
    void objectsTheOperatorKeepsInTheSiteBucketAreNeitherDeletedNorADifferenceNorInvalidated() throws Exception {
        var settings = settings();
        settings.put("difusor.site.keep", "robots.txt, .well-known/**");
        settings.put("difusor.publish.list-bucket-every", "1");
        settings.put("difusor.publish.max-deletions", "50");
        settings.put("difusor.publish.max-deletions-percent", "100");
        settings.put("difusor.cdn.max-paths", "3000"); // every path as it is: a wildcard would cover the kept files
        startDifusor(settings);
        Path first = corte(6);
        institute.release(first);
        awaitPublished(first);
        // the first plan's listing, then the check after the first publication
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.requests(IncrementalPublishingTest::siteListing) >= 2);

        Map<String, String> kept = new java.util.TreeMap<>();
        kept.put("robots.txt", "User-agent: *\nAllow: /\n");
        for (int i = 0; i < 60; i++) {
            kept.put(".well-known/verificacion-" + i + ".html", "verificacion " + i);
        }
        assertThat(SiteBucket.files(first).keySet()).doesNotContainAnyElementsOf(kept.keySet());
        kept.forEach((key, text) -> bucket.putObject(b -> b.bucket(SITE).key(key), RequestBody.fromString(text, StandardCharsets.UTF_8)));
        Path second = corte(7);
        institute.release(second);
        awaitPublished(second);
        // the check after the second publication sees the kept files
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.requests(IncrementalPublishingTest::siteListing) >= 3);
        MeterRegistry meters = meters();
        await().atMost(Duration.ofSeconds(30)).until(() -> meters.find("difusor_site_checks_total").counters().stream()
                .mapToDouble(c -> c.count()).sum() >= 2);
        assertThat(meters.get("difusor_site_checks_total").tag("outcome", "differs").counter().count()).as("checks that found a difference").isZero();
        assertThat(meters.get("difusor_site_checks_total").tag("outcome", "agrees").counter().count()).isEqualTo(2);

        // a pod killed while publishing the third corte: the plan after the restart takes the bucket's listing, kept files
        // and all, as its base
        Path third = corte(8);
        killedWhilePublishing(third.getFileName().toString());
        startDifusor(settings);
        institute.release(third);
        awaitPublished(third);

        kept.forEach((key, text) -> assertThat(bucket.getObjectAsBytes(b -> b.bucket(SITE).key(key)).asUtf8String()).as(key).isEqualTo(text));
        assertThat(s3Network.requests(r -> r.method().equals("POST") && r.target().contains("delete"))).isZero();
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.deleted()).isZero());
        assertThat(cloudFront.created(DISTRIBUTION)).allSatisfy(i -> assertThat(i.paths())
                .noneMatch(p -> p.equals("/robots.txt") || p.startsWith("/.well-known")));
        kept.keySet().forEach(key -> bucket.deleteObject(b -> b.bucket(SITE).key(key)));
        assertSiteEquals(third);
    }

    /** A check between cortes that fails (S3 answering 500 to the listing) leaves the next plan to list the bucket itself. */
    @Test
    void aCheckBetweenCortesThatFailsMakesTheNextPlanCompareWithTheBucket() throws Exception {
        var settings = settings();
        settings.put("difusor.publish.list-bucket-every", "2");
        startDifusor(settings);
        MeterRegistry meters = meters();
        Path first = corte(6);
        institute.release(first);
        awaitPublished(first);

        // the check after the second publication gets 500 for every attempt of the SDK
        failSiteListings(1000);
        Path second = corte(7);
        institute.release(second);
        awaitPublished(second);
        await().atMost(Duration.ofSeconds(60))
                .until(() -> meters.find("difusor_site_checks_total").tag("outcome", "failed").counter() != null
                        && meters.get("difusor_site_checks_total").tag("outcome", "failed").counter().count() == 1);
        s3Network.clearFaults();

        int from = s3Network.requests().size();
        Path third = corte(8);
        institute.release(third);
        awaitPublished(third);
        List<RequestHead> window = s3Network.requests().subList(from, s3Network.requests().size());
        int recorded = -1;
        for (int i = 0; i < window.size(); i++) {
            if (stateRecorded(window.get(i))) {
                recorded = i;
            }
        }
        assertThat(window.subList(0, recorded).stream().filter(IncrementalPublishingTest::siteListing).count())
                .as("the third corte's plan lists the bucket").isEqualTo(1);
        assertSiteEquals(third);
    }

    /**
     * The data file that stamps the corte, named in difusor.publish.last, goes with the pages: only once every other
     * changed file is written, so the page never says the new corte beside older numbers (here the answer to one
     * data file's upload comes 2 s late: the stamp sent beside it would show up on the wire meanwhile).
     */
    @Test
    void theCorteStampNamedToGoLastIsSentOnlyOnceEveryOtherFileIsWritten() throws Exception {
        var settings = settings();
        settings.put("difusor.publish.last", "data/corte.json");
        Path first = startWithFirstCortePublished(settings);
        Path second = corte(1);
        assertThat(changed(first, second)).contains("data/corte.json");
        int from = s3Network.requests().size();
        s3Network.delayResponse(r -> sitePut(r) && !r.path().endsWith(".html") && !r.path().endsWith("/data/corte.json"), 1,
                Duration.ofSeconds(2));
        institute.release(second);
        awaitPublished(second);
        assertSiteEquals(second);
        assertThat(s3Network.delayedAnswersRelayedAt()).hasSize(1);
        List<RequestHead> all = s3Network.requests();
        List<String> sentBeforeTheLateAnswer = all.subList(from, s3Network.delayedAnswersRelayedAt().get(0)).stream()
                .filter(IncrementalPublishingTest::sitePut).map(RequestHead::path).toList();
        assertThat(sentBeforeTheLateAnswer).isNotEmpty().doesNotContain("/" + SITE + "/data/corte.json")
                .allMatch(p -> !p.endsWith(".html"));
        assertThat(all.subList(from, all.size()).stream().filter(IncrementalPublishingTest::sitePut).map(RequestHead::path))
                .contains("/" + SITE + "/data/corte.json");
    }

    /** A difusor.publish.last glob that matches no file of the package (a typo) is said once, not silently ignored. */
    @Test
    void aGlobToGoLastThatMatchesNoFileIsWarnedAboutOnce() throws Exception {
        var settings = settings();
        settings.put("difusor.publish.last", "data/corte.json, datos/corte.json");
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            startWithFirstCortePublished(settings);
            Path second = corte(1);
            institute.release(second);
            awaitPublished(second);
            assertSiteEquals(second);
        }
        assertThat(logged.stream().filter(l -> l.contains("difusor.publish.last [datos/corte.json] matches no file"))).hasSize(1);
    }

    @Test
    void htmlEntryPointsGoLastThenTheStateAndTheManifest() throws Exception {
        startDifusor();
        Path first = corte(6);
        institute.release(first);
        awaitPublished(first);
        int from = s3Network.requests().size();
        // what S3 had been sent when the invalidation arrived: it must come after the last site write
        List<Integer> siteWritesAtInvalidation = java.util.Collections.synchronizedList(new ArrayList<>());
        cloudFront.onArrival(() -> siteWritesAtInvalidation.add(s3Network.requests(IncrementalPublishingTest::siteWrite)));
        // the answer to the first asset's upload comes 2 s late: pages sent before it would show up on the wire meanwhile
        s3Network.delayResponse(r -> sitePut(r) && !r.path().endsWith(".html"), 1, Duration.ofSeconds(2));
        Path second = corte(7);
        institute.release(second);
        awaitPublished(second);
        assertThat(siteWritesAtInvalidation).containsExactly(s3Network.requests(IncrementalPublishingTest::siteWrite));
        assertThat(s3Network.delayedAnswersRelayedAt()).hasSize(1);
        int assetAnswered = s3Network.delayedAnswersRelayedAt().get(0);
        List<RequestHead> all = s3Network.requests();
        for (int i = from; i < assetAnswered; i++) {
            assertThat(all.get(i).path()).as("request %d, sent before the delayed asset was written", i).doesNotEndWith(".html");
        }

        List<RequestHead> puts = s3Network.requests().subList(from, s3Network.requests().size()).stream()
                .filter(r -> r.method().equals("PUT")).toList();
        List<String> order = puts.stream().map(RequestHead::path).toList();
        int lastAsset = -1;
        int firstPage = Integer.MAX_VALUE;
        for (int i = 0; i < order.size(); i++) {
            String p = order.get(i);
            if (p.startsWith("/" + SITE + "/")) {
                if (p.endsWith(".html")) {
                    firstPage = Math.min(firstPage, i);
                } else {
                    lastAsset = i;
                }
            }
        }
        assertThat(firstPage).as("some HTML changed").isLessThan(Integer.MAX_VALUE);
        assertThat(lastAsset).as("every asset before the first HTML page").isLessThan(firstPage);
        int lastSitePut = 0;
        for (int i = 0; i < order.size(); i++) {
            if (order.get(i).startsWith("/" + SITE + "/")) {
                lastSitePut = i;
            }
        }
        assertThat(order.indexOf("/" + HISTORY + "/state/site-manifest.json")).isGreaterThan(lastSitePut);
        assertThat(order.lastIndexOf("/" + HISTORY + "/state/published.json")).isGreaterThan(order.indexOf("/" + HISTORY + "/state/site-manifest.json"));
    }

    @Test
    void theInvalidationCoversWhatChangedWithinThePathLimit() throws Exception {
        var settings = settings();
        settings.put("difusor.cdn.max-paths", "3000");
        startDifusor(settings);
        Path first = corte(6);
        institute.release(first);
        awaitPublished(first);
        Path second = corte(7);
        institute.release(second);
        awaitPublished(second);

        List<String> changed = changed(first, second);
        ReceivedInvalidation exact = cloudFront.created(DISTRIBUTION).get(1);
        List<String> expected = new ArrayList<>(changed.stream().map(p -> "/" + p).toList());
        changed.stream().filter(p -> p.endsWith("index.html")).map(p -> "/" + p.substring(0, p.length() - "index.html".length())).forEach(expected::add);
        assertThat(exact.paths()).containsExactlyInAnyOrderElementsOf(expected);

        // the default limit, 10 paths a corte, shared by two distributions (the free 1,000 paths are the account's):
        // a corte whose changes lie in two directories, eight files each, is purged as those two directories' wildcards,
        // as deep as they go, not the whole site
        difusor.close();
        String other = "E2PREPJAL2024OTRA";
        cloudFront.addDistribution(other);
        var two = settings();
        two.put("difusor.cdn.distribution-ids", DISTRIBUTION + "," + other);
        startDifusor(two);
        Map<String, byte[]> site = SiteBucket.files(second);
        Map<String, byte[]> edited = new java.util.TreeMap<>();
        for (String dir : List.of("data/gubernatura/secciones/", "data/ayuntamientos/casillas/")) {
            site.keySet().stream().filter(p -> p.startsWith(dir)).sorted().limit(8)
                    .forEach(p -> edited.put(p, (new String(site.get(p), StandardCharsets.UTF_8) + "\n").getBytes(StandardCharsets.UTF_8)));
        }
        assertThat(edited).hasSize(16);
        Path third = PackageEdits.rewrite(second, tmp.resolve(corte(8).getFileName()), n -> true, edited);
        institute.release(third);
        awaitPublished(third);
        assertThat(changed(second, third)).containsExactlyElementsOf(edited.keySet());
        List<String> collapsed = cloudFront.created(DISTRIBUTION).get(2).paths();
        assertThat(cloudFront.created(other)).singleElement().satisfies(i -> assertThat(i.paths()).isEqualTo(collapsed));
        assertThat(collapsed).containsExactly("/data/ayuntamientos/casillas/*", "/data/gubernatura/secciones/*");
    }

    /**
     * A delete S3 refuses for good (AccessDenied per key in its batch answer: a role without s3:DeleteObject) leaves
     * those files in the bucket with an ERROR and a metric, but the corte is invalidated and recorded: held back, it
     * and every later corte would stay unpublished the same way.
     */
    @Test
    void filesS3RefusesToDeleteStayButTheCorteIsPublishedAndRecorded() throws Exception {
        startDifusor();
        Path first = corte(6);
        institute.release(first);
        awaitPublished(first);
        List<String> csv = SiteBucket.files(first).keySet().stream().filter(p -> p.startsWith("csv/")).sorted().toList();
        assertThat(csv).isNotEmpty();
        StringBuilder denied = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?><DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        csv.forEach(p -> denied.append("<Error><Key>").append(p).append("</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"));
        s3Network.respond(r -> r.method().equals("POST") && r.path().equals("/" + SITE) && r.target().contains("delete"), FaultProxy.ALWAYS,
                200, "application/xml", denied.append("</DeleteResult>").toString());

        Path lessCsv = PackageEdits.rewrite(corte(7), tmp.resolve("PREP2024_JAL_20240602_2220.zip"), n -> !n.startsWith("csv/"), Map.of());
        institute.release(lessCsv);
        awaitPublished(lessCsv);

        assertThat(s3Network.faultsInjected()).isPositive();
        assertThat(keys(SITE, "csv/")).containsExactlyElementsOf(csv);
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(2);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        MeterRegistry meters = meters();
        assertThat(meters.get("difusor_site_deletions_refused_total").counter().count()).isEqualTo(csv.size());
    }

    /**
     * S3 refuses deletes for good over several cortes (a role without s3:DeleteObject), each corte dropping a few files,
     * fewer than difusor.publish.max-deletions, that add up to more. Every corte is published all the same; the files
     * left in the bucket are remembered in the site manifest, so the checks between cortes do not take them for a hand
     * edit and later cortes retry them without counting them against the limit; the operator sees how many there are.
     * Once deletes are allowed again, the next corte deletes them, and purges them from the CDN.
     */
    @Test
    void filesS3KeepsRefusingToDeleteAreRetriedByLaterCortesWithoutLookingEditedByHandOrAddingUpToTooManyDeletions() throws Exception {
        Path first = corte(6);
        List<String> municipios = SiteBucket.files(first).keySet().stream().filter(p -> p.startsWith("data/gubernatura/municipios/"))
                .sorted().toList();
        int perCorte = 4;
        int refusedCortes = 3;
        assertThat(municipios).hasSizeGreaterThan(perCorte * refusedCortes);
        var settings = settings();
        settings.put("difusor.publish.list-bucket-every", "1"); // the bucket checked after every corte
        deletionsCappedAt(settings, perCorte);
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();   // streamed while the difusor logs
        org.assertj.core.api.SoftAssertions soft = new org.assertj.core.api.SoftAssertions();
        Path last;
        try (AutoCloseable capture = captureLogs(logged)) {
            startDifusor(settings);
            MeterRegistry meters = meters();
            institute.release(first);
            awaitPublished(first);
            int published = 1;
            awaitSiteChecks(meters, published);

            List<String> leftovers = new ArrayList<>();
            Path previous = first;
            for (int corte = 1; corte <= refusedCortes; corte++) {
                int number = corte;
                List<String> dropped = municipios.subList(0, corte * perCorte);
                List<String> droppedNow = municipios.subList((corte - 1) * perCorte, corte * perCorte);
                // S3 answers the prune's batch with AccessDenied for each key it asks for: the leftovers, and what this corte drops
                List<String> asked = new ArrayList<>(leftovers);
                asked.addAll(droppedNow);
                refuseDeletes(asked);
                Path next = PackageEdits.rewrite(corte(6 + corte), tmp.resolve(corte(6 + corte).getFileName().toString()),
                        n -> !dropped.contains(n), Map.of());
                String name = next.getFileName().toString();
                int from = logged.size();
                institute.release(next);
                awaitPublishedOrQuarantined(next);
                soft.assertThat(keys(HISTORY, "quarantine/")).as("quarantined after corte %d with deletes refused", corte).isEmpty();
                if (publishedState().map(s -> s.packageName().equals(name)).orElse(false)) {
                    published++;
                    previous = next;
                    leftovers.addAll(droppedNow);
                    java.util.Set<String> expected = new TreeSet<>(SiteBucket.files(next).keySet());
                    expected.addAll(leftovers);
                    soft.assertThat(new TreeSet<>(keys(SITE, ""))).as("the bucket after corte %d: its files and the leftovers", corte)
                            .isEqualTo(expected);
                    awaitSiteChecks(meters, published);
                    // refused now, purged as a deletion; retried and refused again, not purged again: the CDN serves
                    // them as the bucket holds them
                    List<String> purged = cloudFront.created(DISTRIBUTION).get(cloudFront.created(DISTRIBUTION).size() - 1).paths();
                    droppedNow.forEach(p -> soft.assertThat(covers(purged, p)).as("%s purged by corte %d", p, number).isTrue());
                    leftovers.stream().filter(p -> !droppedNow.contains(p))
                            .forEach(p -> soft.assertThat(covers(purged, p)).as("leftover %s purged again by corte %d", p, number).isFalse());
                }
                // one line per corte, however many files and batches
                soft.assertThat(logged.stream().skip(from)
                        .filter(l -> l.startsWith("package " + name + " (corte ") && l.contains("): S3 refused to delete ")))
                        .as("ERROR lines of corte %d about refused deletes", corte).hasSize(1);
                soft.assertThat(meters.get("difusor_site_checks_total").tag("outcome", "differs").counter().count())
                        .as("checks that found a difference after corte %d", corte).isZero();
                soft.assertThat(undeletedFilesGaugeOnceSaved(meters, leftovers.size())).as("files left undeleted after corte %d", corte)
                        .isEqualTo(leftovers.size());
                soft.assertThat(manifestUndeleted()).as("the manifest's undeleted files after corte %d", corte).isEqualTo(leftovers);
            }
            soft.assertThat(logged.stream().filter(l -> l.contains("edited by hand"))).as("the checks' warnings").isEmpty();
            soft.assertThat(meters.get("difusor_site_deletions_refused_total").counter().count()).as("files whose deletion was refused")
                    .isEqualTo(perCorte * refusedCortes);

            // the pod is killed while publishing the next corte and restarts with a role that may delete again: the new
            // process shows the leftovers from the state before it publishes anything, and its first plan, based on a
            // listing of the bucket (leftovers and all), deletes every leftover and purges it from the CDN
            List<String> dropped = municipios.subList(0, perCorte * refusedCortes);
            last = PackageEdits.rewrite(corte(7 + refusedCortes), tmp.resolve(corte(7 + refusedCortes).getFileName().toString()),
                    n -> !dropped.contains(n), Map.of());
            killedWhilePublishing(last.getFileName().toString());
            s3Network.clearFaults();
            startDifusor(settings);
            MeterRegistry restarted = meters();
            int undeleted = leftovers.size();
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> undeletedFilesGauge(restarted) == undeleted);
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                soft.fail("the restarted process shows %s files left undeleted, not %d", undeletedFilesGauge(restarted), undeleted);
            }
            meters = restarted;
            published = 0;
            institute.release(last);
            awaitPublishedOrQuarantined(last);
            soft.assertThat(keys(HISTORY, "quarantine/")).as("quarantined once deletes are allowed").isEmpty();
            soft.assertThat(new TreeSet<>(keys(SITE, ""))).as("the bucket once deletes are allowed")
                    .isEqualTo(new TreeSet<>(SiteBucket.files(last).keySet()));
            List<String> purged = cloudFront.created(DISTRIBUTION).get(cloudFront.created(DISTRIBUTION).size() - 1).paths();
            leftovers.forEach(p -> soft.assertThat(covers(purged, p)).as("deleted leftover %s purged", p).isTrue());
            soft.assertThat(undeletedFilesGaugeOnceSaved(meters, 0)).as("files left undeleted once deletes are allowed").isZero();
            soft.assertThat(manifestUndeleted()).as("the manifest's undeleted files once deletes are allowed").isEmpty();
            java.util.Set<String> goneNow = new TreeSet<>(SiteBucket.files(previous).keySet());
            goneNow.removeAll(SiteBucket.files(last).keySet());
            soft.assertThat(publishedState()).get().satisfies(s -> assertThat(s.deleted()).isEqualTo(leftovers.size() + goneNow.size()));
            if (keys(HISTORY, "quarantine/").isEmpty()) {
                awaitSiteChecks(meters, published + 1);
            }
            soft.assertThat(meters.get("difusor_site_checks_total").tag("outcome", "differs").counter().count())
                    .as("checks that found a difference").isZero();
        }
        soft.assertAll();
        assertSiteEquals(last);
    }

    /**
     * The usual way out: the role is fixed while the pod keeps running. A corte that drops nothing new while S3 still
     * refuses logs a WARN, not another ERROR, and counts nothing again; the next corte after the fix deletes the
     * leftovers from the manifest's list (no listing: the manifest is trusted) and purges them from the CDN.
     */
    @Test
    void leftoversAreDeletedByTheNextCorteOnceTheRoleMayDeleteWithoutARestart() throws Exception {
        Path first = corte(6);
        List<String> dropped = SiteBucket.files(first).keySet().stream().filter(p -> p.startsWith("data/gubernatura/municipios/"))
                .sorted().limit(4).toList();
        var settings = settings();
        deletionsCappedAt(settings, dropped.size());
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();   // streamed while the difusor logs
        Path last;
        try (AutoCloseable capture = captureLogs(logged)) {
            startDifusor(settings);
            MeterRegistry meters = meters();
            institute.release(first);
            awaitPublished(first);
            refuseDeletes(dropped);
            for (int corte = 7; corte <= 8; corte++) {
                Path next = PackageEdits.rewrite(corte(corte), tmp.resolve(corte(corte).getFileName().toString()), n -> !dropped.contains(n), Map.of());
                institute.release(next);
                awaitPublished(next);
                assertThat(undeletedFilesGaugeOnceSaved(meters, dropped.size())).isEqualTo(dropped.size());
                assertThat(manifestUndeleted()).isEqualTo(dropped);
            }
            assertThat(logged.stream().filter(l -> l.contains("): S3 refused to delete "))).hasSize(1);
            assertThat(logged.stream().filter(l -> l.contains("): S3 still refuses to delete the 4 files"))).hasSize(1);
            assertThat(meters.get("difusor_site_deletions_refused_total").counter().count()).isEqualTo(dropped.size());

            s3Network.clearFaults();
            int listings = s3Network.requests(r -> r.method().equals("GET") && r.path().equals("/" + SITE) && r.target().contains("list-type"));
            last = PackageEdits.rewrite(corte(9), tmp.resolve(corte(9).getFileName().toString()), n -> !dropped.contains(n), Map.of());
            institute.release(last);
            awaitPublished(last);
            assertThat(s3Network.requests(r -> r.method().equals("GET") && r.path().equals("/" + SITE) && r.target().contains("list-type")))
                    .as("site listings by the plan").isEqualTo(listings);
            assertThat(undeletedFilesGaugeOnceSaved(meters, 0)).isZero();
            assertThat(manifestUndeleted()).isEmpty();
            List<String> purged = cloudFront.created(DISTRIBUTION).get(cloudFront.created(DISTRIBUTION).size() - 1).paths();
            dropped.forEach(p -> assertThat(covers(purged, p)).as("deleted leftover %s purged", p).isTrue());
            assertThat(logged.stream().filter(l -> l.contains("): 4 files earlier cortes left in the site bucket (S3 had refused to delete them) deleted now"))).hasSize(1);
            assertThat(publishedState()).get().satisfies(s -> assertThat(s.deleted()).isEqualTo(dropped.size()));
        }
        assertSiteEquals(last);
    }

    /** At most this many deletions a corte (by count only), and every invalidation path as it is (no wildcard covering leftovers). */
    private static void deletionsCappedAt(Map<String, String> settings, int maxDeletions) {
        settings.put("difusor.publish.max-deletions", Integer.toString(maxDeletions));
        settings.put("difusor.publish.max-deletions-percent", "100");
        settings.put("difusor.cdn.max-paths", "3000");
    }

    /** S3 answers every DeleteObjects in the site bucket with AccessDenied for each of these keys, as a role without s3:DeleteObject. */
    private void refuseDeletes(List<String> keys) {
        s3Network.clearFaults();
        StringBuilder denied = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?><DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        keys.forEach(p -> denied.append("<Error><Key>").append(p).append("</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"));
        s3Network.respond(r -> r.method().equals("POST") && r.path().equals("/" + SITE) && r.target().contains("delete"), FaultProxy.ALWAYS,
                200, "application/xml", denied.append("</DeleteResult>").toString());
    }

    private void awaitPublishedOrQuarantined(Path pkg) {
        String name = pkg.getFileName().toString();
        String stem = name.replace(".zip", "");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> publishedState()
                .map(mx.prep.difusor.state.PublishedState::packageName).filter(name::equals).isPresent() || !keys(HISTORY, "quarantine/" + stem + "/").isEmpty());
    }

    /** The checks between cortes ended so far, whatever they found. */
    private static void awaitSiteChecks(MeterRegistry meters, int checks) {
        await().atMost(Duration.ofSeconds(30)).until(() -> meters.find("difusor_site_checks_total").counters().stream()
                .mapToDouble(c -> c.count()).sum() >= checks);
    }

    /**
     * The gauge follows the state's save, which the test may read in S3 a moment before the save returns: its value
     * once it is {@code expected}, or after 10 s.
     */
    private static double undeletedFilesGaugeOnceSaved(MeterRegistry meters, int expected) {
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> undeletedFilesGauge(meters) == expected);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            // the assertion names the value
        }
        return undeletedFilesGauge(meters);
    }

    private static double undeletedFilesGauge(MeterRegistry meters) {
        var gauge = meters.find("difusor_site_undeleted_files").gauge();
        return gauge == null ? Double.NaN : gauge.value();
    }

    /** The site manifest's list of files left in the bucket because S3 refused to delete them. */
    private List<String> manifestUndeleted() throws Exception {
        JsonNode manifest = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("state/site-manifest.json")).asByteArray());
        List<String> paths = new ArrayList<>();
        manifest.path("undeleted").forEach(p -> paths.add(p.asText()));
        return paths;
    }

    /** Files gone from the package are deleted only once every upload succeeded: a corte whose upload fails deletes nothing. */
    @Test
    void aCorteWhoseUploadFailsDeletesNothing() throws Exception {
        var settings = settings();
        settings.put("difusor.s3.max-attempts", "2"); // past the SDK's attempts sooner: the failed stage is what is tested
        settings.put("difusor.retry.max-redeliveries", "1");   // and the retry channel's (each attempt waits out SlowDown's backoff)
        startDifusor(settings);
        Path first = corte(6);
        institute.release(first);
        awaitPublished(first);
        Path lessCsv = PackageEdits.rewrite(corte(7), tmp.resolve("PREP2024_JAL_20240602_2220.zip"), n -> !n.startsWith("csv/"), Map.of());
        String failing = changed(first, lessCsv).stream().filter(p -> !p.startsWith("csv/") && !p.endsWith(".html")).findFirst().orElseThrow();
        s3SlowsDownPuts(path -> path.equals("/" + SITE + "/" + failing), FaultProxy.ALWAYS);
        institute.release(lessCsv);
        await().atMost(Duration.ofSeconds(90)).until(() -> !keys(HISTORY, "quarantine/").isEmpty());

        assertThat(s3Network.requests(r -> r.method().equals("POST") && r.target().contains("delete"))).isZero();
        assertThat(keys(SITE, "csv/")).isNotEmpty();
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.packageName()).isEqualTo(first.getFileName().toString()));
    }

    /** Either limit refuses a site half gone: a count (set low here), or, with the defaults, the share of the site. */
    @ParameterizedTest
    @ValueSource(strings = { "count", "share" })
    void filesGoneFromThePackageAreDeletedAfterTheUploadsButASiteHalfGoneIsQuarantined(String limit) throws Exception {
        var settings = settings();
        Path first = corte(6);
        long csvFiles = SiteBucket.files(first).keySet().stream().filter(p -> p.startsWith("csv/")).count();
        if (limit.equals("count")) {
            // exactly as many as the next corte deletes: the limit is allowed, only more is refused
            settings.put("difusor.publish.max-deletions", Long.toString(csvFiles));
            settings.put("difusor.publish.max-deletions-percent", "100");
        }
        startDifusor(settings);
        institute.release(first);
        awaitPublished(first);

        // the next corte without the CSV folder: a few files gone, within the limit
        Path lessCsv = PackageEdits.rewrite(corte(7), tmp.resolve("PREP2024_JAL_20240602_2220.zip"), n -> !n.startsWith("csv/"), Map.of());
        int seenBefore = s3Network.requests().size();
        institute.release(lessCsv);
        awaitPublished(lessCsv);
        assertSiteEquals(lessCsv);
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.deleted()).isEqualTo(csvFiles));
        List<RequestHead> deletes = s3Network.requests().stream().filter(r -> r.method().equals("POST") && r.target().contains("delete")).toList();
        assertThat(deletes).hasSize(1);
        // after the uploads, the HTML entry points last of them: a page never points at a file deleted before it was replaced
        List<RequestHead> all = s3Network.requests();
        List<RequestHead> thisCorte = all.subList(seenBefore, all.size());
        int deleted = thisCorte.indexOf(deletes.get(0));
        java.util.function.Predicate<RequestHead> sitePut = r -> r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/");
        assertThat(thisCorte.stream().filter(sitePut.and(r -> r.path().endsWith(".html")))).isNotEmpty();
        assertThat(thisCorte.subList(deleted, thisCorte.size())).noneMatch(sitePut);
        List<String> purged = cloudFront.created(DISTRIBUTION).get(1).paths();
        assertThat(SiteBucket.files(first).keySet()).filteredOn(p -> p.startsWith("csv/")).isNotEmpty()
                .allSatisfy(p -> assertThat(covers(purged, p)).as("deleted %s covered by %s", p, purged).isTrue());

        // a corte that lacks half the site: a person must look at it
        Path halfGone = PackageEdits.rewrite(corte(8), tmp.resolve("PREP2024_JAL_20240602_2240.zip"),
                n -> !n.startsWith("data/") || n.hashCode() % 2 == 0, Map.of());
        institute.release(halfGone);
        String stem = "PREP2024_JAL_20240602_2240";
        await().atMost(Duration.ofSeconds(30)).until(() -> !keys(HISTORY, "quarantine/" + stem + "/").isEmpty());
        JsonNode report = Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY)
                .key(keys(HISTORY, "quarantine/" + stem + "/").get(0))).asUtf8String());
        assertThat(report.path("reason").asText()).isEqualTo("TOO_MANY_DELETIONS");
        // the limit passed, and only that one: raising the other would let no corte through
        if (limit.equals("count")) {
            assertThat(report.path("cause").asText()).contains("more than difusor.publish.max-deletions = " + csvFiles + ";")
                    .doesNotContain("max-deletions-percent");
        } else {
            assertThat(report.path("cause").asText()).contains("more than difusor.publish.max-deletions-percent = 10 % of them;")
                    .doesNotContain("max-deletions =");
        }
        assertSiteEquals(lessCsv);
    }

    /**
     * Before the first publication the site bucket holds a placeholder put there by hand ("results from 20:00", so the
     * institute's probe gets its 200 and <base>): the first corte replaces all of it. Against a base of three files
     * the share limit would refuse every corte of the night; only the count applies until something is published.
     */
    @Test
    void aPlaceholderInTheSiteBucketBeforeTheFirstCorteIsReplacedNotAReasonToRefuseIt() throws Exception {
        for (String key : List.of("index.html", "placeholder.css", "img/escudo.png")) {
            bucket.putObject(b -> b.bucket(SITE).key(key), RequestBody.fromString(
                    key.equals("index.html") ? "<html><head><base href=\"/\"></head><body>Resultados a partir de las 20:00</body></html>" : key,
                    StandardCharsets.UTF_8));
        }
        startDifusor();
        Path first = corte(6);
        assertThat(SiteBucket.files(first)).containsKey("index.html").doesNotContainKeys("placeholder.css", "img/escudo.png");
        institute.release(first);
        awaitPublished(first);

        assertSiteEquals(first);
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.deleted()).isEqualTo(2));
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(1);
    }

    /** Files the next cortes do not change, edited by hand (one keeping its size), and a stray file added by hand. */
    private static final String STABLE = "assets/img/logo-iepc.png";
    private static final String STABLE_SAME_SIZE = "assets/fonts/source-sans-regular.woff2";

    private void editBucketByHand() {
        bucket.putObject(b -> b.bucket(SITE).key(STABLE).contentType("image/png"),
                RequestBody.fromString("not the logo", StandardCharsets.UTF_8));
        // only its MD5 (the ETag) tells this one apart
        byte[] font = bucket.getObjectAsBytes(b -> b.bucket(SITE).key(STABLE_SAME_SIZE)).asByteArray();
        font[font.length / 2] ^= 0x5a;
        bucket.putObject(b -> b.bucket(SITE).key(STABLE_SAME_SIZE).contentType("font/woff2"), RequestBody.fromBytes(font));
        bucket.putObject(b -> b.bucket(SITE).key("stray.html").contentType("text/html"),
                RequestBody.fromString("<p>stray</p>", StandardCharsets.UTF_8));
    }

    /**
     * The bucket a difusor takes over was filled by another tool (the same bytes, another Content-Type, no Cache-Control):
     * with no manifest nobody knows the headers, so every file is written again, as in a cold corte.
     */
    @Test
    void aBucketFilledByAnotherToolGetsTheDifusorsHeadersOnTheFirstPublication() throws Exception {
        Path first = corte(6);
        SiteBucket.files(first).forEach((path, bytes) -> bucket.putObject(b -> b.bucket(SITE).key(path).contentType("application/octet-stream"),
                RequestBody.fromBytes(bytes)));
        startDifusor();
        institute.release(first);
        awaitPublished(first);

        assertSiteEquals(first);
        Map<String, SiteBucket.Served> served = SiteBucket.objects(bucket, SITE, "");
        assertThat(served.get("index.html").cacheControl()).isEqualTo("no-cache");
        // a logo under a fixed name may be replaced during the night; only a bundle named by its content is kept for a year
        assertThat(served.get(STABLE).cacheControl()).isEqualTo("public, max-age=300");
        assertThat(served).hasEntrySatisfying(served.keySet().stream().filter(k -> k.matches("assets/app\\.[0-9a-f]{8}\\.js")).findFirst()
                .orElseThrow(), o -> assertThat(o.cacheControl()).isEqualTo("public, max-age=31536000, immutable"));
        assertThat(served.values()).allSatisfy(o -> assertThat(o.cacheControl()).isNotNull());
        assertThat(cloudFront.created(DISTRIBUTION)).singleElement().satisfies(i -> assertThat(covers(i.paths(), "index.html")).isTrue());
    }

    @Test
    void aLostManifestIsRebuiltFromTheBucketListing() throws Exception {
        startDifusor();
        Path first = corte(6);
        institute.release(first);
        awaitPublished(first);
        Path second = corte(7);
        assertThat(changed(first, second)).doesNotContain(STABLE);

        editBucketByHand();
        bucket.deleteObject(b -> b.bucket(HISTORY).key("state/site-manifest.json"));
        institute.release(second);
        awaitPublished(second);
        assertSiteEquals(second);
        // written again, for this corte, and the files edited by hand purged from the CDN
        assertThat(new ObjectStore(bucket).readJson(HISTORY, "state/site-manifest.json", mx.prep.difusor.publish.SiteManifest.class))
                .get().satisfies(m -> {
                    assertThat(m.packageName()).isEqualTo(second.getFileName().toString());
                    assertThat(m.files()).containsKeys(STABLE, STABLE_SAME_SIZE).doesNotContainKey("stray.html");
                });
        List<String> purged = cloudFront.created(DISTRIBUTION).get(cloudFront.created(DISTRIBUTION).size() - 1).paths();
        assertThat(covers(purged, STABLE)).as("%s covered by %s", STABLE, purged).isTrue();
        assertThat(covers(purged, STABLE_SAME_SIZE)).as("%s covered by %s", STABLE_SAME_SIZE, purged).isTrue();
        assertThat(covers(purged, "stray.html")).as("stray.html covered by %s", purged).isTrue();
    }

    /**
     * A bucket edited by hand while the difusor was down is caught by the first plan's listing after the restart, also
     * when that listing fails at first (S3 answering 500 to every attempt of the SDK): the retried plan lists again
     * rather than trusting the manifest.
     */
    @ParameterizedTest(name = "first listing failing {0} times")
    @ValueSource(ints = {0, 4})
    void aBucketEditedByHandIsCaughtByTheListingAfterARestart(int listingFailures) throws Exception {
        startDifusor();
        Path first = corte(6);
        institute.release(first);
        awaitPublished(first);
        difusor.close();

        editBucketByHand();
        startDifusor();
        // 4 = as many attempts as the SDK makes: the plan fails once, then the retry channel runs it again
        failSiteListings(listingFailures);
        Path second = corte(7);
        institute.release(second);
        awaitPublished(second);
        assertThat(s3Network.faultsInjected()).isEqualTo(listingFailures);
        assertSiteEquals(second);
    }

    private void failSiteListings(int times) {
        if (times > 0) {
            s3Network.respond(IncrementalPublishingTest::siteListing, times, 500, "application/xml",
                    "<Error><Code>InternalError</Code><Message>injected</Message></Error>");
        }
    }

    @Test
    void aDryRunReportsWhatWouldChangeAndTouchesNothing() throws Exception {
        // a file an earlier corte could not delete (S3 refused), as the manifest remembers it
        bucket.putObject(b -> b.bucket(SITE).key("viejo/borrado.json"), RequestBody.fromString("{}"));
        bucket.putObject(b -> b.bucket(HISTORY).key("state/site-manifest.json").contentType("application/json"),
                RequestBody.fromString("{\"package\": null, \"files\": {}, \"undeleted\": [\"viejo/borrado.json\"]}"));
        var settings = settings();
        settings.put("difusor.publish.dry-run", "true");
        // the pods' own probe URL, as an overlay sets it: a dry run does not probe
        settings.put("difusor.probe.url", "http://127.0.0.1:" + freePort() + "/");
        // what an earlier dry run set aside when it was stopped while a package waited: a dry run never sweeps it
        Path setAside = Files.createDirectories(tmp.resolve("work/spool-leftovers")).resolve("PREP2024_JAL_20240602_2000.zip");
        Files.copy(corte(0), setAside);
        startDifusor(settings);
        Path pkg = corte(6);
        institute.release(pkg);
        Path report = tmp.resolve("work/dry-run/" + pkg.getFileName().toString().replace(".zip", ".json"));
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(report));

        JsonNode json = Json.MAPPER.readTree(Files.readString(report));
        assertThat(json.path("outcome").asText()).isEqualTo("publish");
        assertThat(json.path("uploads").size()).isEqualTo(SiteBucket.files(pkg).size());
        assertThat(json.path("deletions")).isEmpty();
        assertThat(json.path("leftovers")).containsExactly(Json.MAPPER.getNodeFactory().textNode("viejo/borrado.json"));
        assertThat(json.path("invalidationPaths").size()).isPositive();
        assertThat(keys(SITE, "")).containsExactly("viejo/borrado.json");
        assertThat(keys(HISTORY, "")).containsExactly("state/site-manifest.json");
        assertThat(cloudFront.requests()).isEmpty();
        assertThat(s3Network.requests(r -> !r.method().equals("GET") && !r.method().equals("HEAD"))).isZero();
        // it publishes nothing, so beside the real replicas it is no second leader (PrepTwoLeaders)
        MeterRegistry meters = meters();
        assertThat(meters.get("difusor_leader").gauge().value()).isZero();
        // nor a site down (PrepPublicSiteDown): it looked at no site
        assertThat(meters.find("difusor_probe_up").gauge()).isNull();
        // nor a package only on the pod (PrepPackagesOnlyOnAPod): it keeps nothing for S3, so that one would page for good
        assertThat(setAside).exists();
        assertThat(meters.get("difusor_packages_only_on_pod").gauge().value()).isZero();
    }

    /** The flag is read by a route predicate, route preconditions and Java: "yes" would be a dry run to some only. */
    @ParameterizedTest
    @ValueSource(strings = { "yes", "1", "TRUE", " true" })
    void aDryRunFlagOtherThanTrueOrFalseStopsTheStart(String flag) {
        var settings = settings();
        settings.put("difusor.publish.dry-run", flag);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> startDifusor(settings))
                .hasStackTraceContaining("difusor.publish.dry-run is true or false");
    }

    /** Values that would start and then stop the night (a hung publication, a poll held for good) stop the start instead. */
    @ParameterizedTest
    @ValueSource(strings = { "difusor.publish.concurrency=0", "difusor.retry.max-redeliveries=-1", "difusor.publish.max-deletions=-1",
            "difusor.cdn.busy-retries=-1", "difusor.history.bucket=prep-site", "difusor.site.cache-control=*.html=no-cache;**=public, max-age=31536000, immutable",
            "difusor.source.opens-at=2024-06-02 20:00", "difusor.site.prefix=prep2024", "difusor.source.corte-max-ahead-minutes=-5" })
    void aSettingThatWouldStopTheNightStopsTheStart(String setting) {
        var settings = settings();
        String key = setting.substring(0, setting.indexOf('='));
        settings.put(key, setting.substring(setting.indexOf('=') + 1));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> startDifusor(settings)).hasStackTraceContaining(key);
    }

    /** A misspelt override would leave the service as it was without a word: the start stops and names it. */
    @Test
    void aSystemPropertyThatNamesNoKeyStopsTheStart() {
        System.setProperty("difusor.source.poll.cron", "0/15 * * * * ?");
        try {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> startDifusor(settings()))
                    .hasStackTraceContaining("the system property difusor.source.poll.cron names no key (difusor.source.poll-cron?)");
        } finally {
            System.clearProperty("difusor.source.poll.cron");
        }
    }

    @Test
    void aFolderSourceWithoutItsFolderStopsTheStart() {
        var settings = settings();
        settings.put("difusor.source.kind", "directory");
        settings.put("difusor.source.directory", "");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> startDifusor(settings))
                .hasStackTraceContaining("configuration key difusor.source.directory has no value");
    }

    @Test
    void aDryRunReportsWhatItWouldRefuseWritesNothingAndTakesNoPartInTheElection() throws Exception {
        var settings = settings();
        settings.put("difusor.publish.max-deletions", "50");
        startDifusor(settings);
        Path published = corte(6);
        institute.release(published);
        awaitPublished(published);
        byte[] stateOfCorte6 = bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("state/published.json")).asByteArray();
        Path cutShort = corte(7);
        institute.release(cutShort);
        awaitPublished(cutShort);
        difusor.close();
        difusor = null;
        // as a pod killed while publishing corte 7 leaves it: a real difusor would take 7 back from the history
        var state = (com.fasterxml.jackson.databind.node.ObjectNode) Json.MAPPER.readTree(stateOfCorte6);
        state.put("publishing", cutShort.getFileName().toString()).put("publishingHeaders", defaultHeaderRules());
        bucket.putObject(b -> b.bucket(HISTORY).key("state/published.json").contentType("application/json"),
                RequestBody.fromString(state.toString()));
        int writesBefore = s3Network.requests(r -> !r.method().equals("GET") && !r.method().equals("HEAD"));
        int invalidationsBefore = cloudFront.requests().size();

        // a dry run beside the real replicas: their election, a probe of an unreachable page, the resume check
        Path lockRoot = tmp.resolve("cluster");
        settings.put("difusor.publish.dry-run", "true");
        settings.put("difusor.cluster.mode", "file");
        settings.put("difusor.cluster.file-root", lockRoot.toString());
        settings.put("difusor.probe.url", "http://127.0.0.1:" + freePort() + "/");
        settings.put("difusor.probe.cron", "0/1 * * * * ?");
        settings.put("difusor.resume.check-every-ms", "200");
        startDifusor(settings);
        Path reports = tmp.resolve("work/dry-run");

        // a corte that lacks half the site, then an older corte than the published one
        Path halfGone = PackageEdits.rewrite(corte(8), tmp.resolve("PREP2024_JAL_20240602_2240.zip"),
                n -> !n.startsWith("data/") || n.hashCode() % 2 == 0, Map.of());
        institute.release(halfGone);
        Path halfGoneReport = reports.resolve("PREP2024_JAL_20240602_2240.json");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(halfGoneReport));
        JsonNode refused = Json.MAPPER.readTree(Files.readString(halfGoneReport));
        assertThat(refused.path("outcome").asText()).isEqualTo("refused");
        assertThat(refused.path("reason").asText()).isEqualTo("TOO_MANY_DELETIONS");
        assertThat(refused.path("step").asText()).isEqualTo("plan");

        Path older = corte(5);
        String olderName = older.getFileName().toString();
        institute.release(older);
        Path olderReport = reports.resolve(olderName.replace(".zip", ".json"));
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(olderReport));
        JsonNode stale = Json.MAPPER.readTree(Files.readString(olderReport));
        assertThat(stale.path("outcome").asText()).isEqualTo("refused");
        assertThat(stale.path("reason").asText()).isEqualTo("STALE_CORTE");
        assertThat(stale.path("step").asText()).isEqualTo("corte-gate");

        // three more seconds of polls of the manifest that still offers the older corte: it is not fetched again
        String manifest = institute.manifestUri().getPath();
        int polls = institute.requestCount(manifest);
        await().atMost(Duration.ofSeconds(30)).until(() -> institute.requestCount(manifest) >= polls + 3 * POLLS_PER_SECOND);
        assertThat(institute.requestCount(olderName)).isEqualTo(1);

        // nothing written: no quarantine, no stale outcome, no incident, no invalidation, no lock; the cut-short
        // publication is left to a real difusor
        assertThat(s3Network.requests(r -> !r.method().equals("GET") && !r.method().equals("HEAD"))).isEqualTo(writesBefore);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertThat(keys(HISTORY, "incidents/")).isEmpty();
        assertThat(cloudFront.requests()).hasSize(invalidationsBefore);
        assertThat(lockRoot).satisfiesAnyOf(root -> assertThat(root).doesNotExist(), root -> assertThat(root).isEmptyDirectory());
        assertThat(reports.resolve(cutShort.getFileName().toString().replace(".zip", ".json"))).doesNotExist();
    }
}
