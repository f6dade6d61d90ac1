package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import mx.prep.difusor.testing.FaultProxy.RequestHead;
import mx.prep.difusor.verify.ChecksumFilter;
import mx.prep.difusor.testing.PackageEdits;

/**
 * A package larger than one part goes into the history in parts sent side by side, through S3Proxy and on the wire:
 * the history holds it byte for byte, a part S3 keeps refusing aborts the upload and the retry copies it again, and
 * nothing is published before the copy is whole.
 */
class HistoryInPartsTest extends PipelineTestBase {

    private static final int PART = 5 << 20;

    @Override
    Map<String, String> settings() {
        Map<String, String> p = super.settings();
        p.put("difusor.history.part-size", String.valueOf(PART));
        p.put("difusor.history.part-concurrency", "2"); // fewer than the parts: the third waits its turn
        return p;
    }

    /** The first corte with an incompressible 11 MiB video added: a zip of three parts (5, 5 and 1 MiB). */
    private Path largeCorte() throws Exception {
        Path small = corte(0);
        byte[] video = new byte[11 << 20];
        new Random(2024).nextBytes(video);
        Path large = PackageEdits.rewrite(small, Files.createDirectories(tmp.resolve("large")).resolve(small.getFileName()), n -> true,
                Map.of(), Map.of("assets/media/fondo.mp4", video));
        assertThat(Files.size(large)).isBetween(2L * PART + 1, 3L * PART);
        return large;
    }

    private List<RequestHead> historyZipRequests(String name) {
        String path = "/" + HISTORY + "/history/" + name;
        return s3Network.requests().stream().filter(r -> r.path().equals(path)).toList();
    }

    /** The part number a request carries, 0 if it is no UploadPart. */
    private static int partNumber(RequestHead r) {
        int query = r.target().indexOf('?');
        if (query < 0) {
            return 0;
        }
        for (String parameter : r.target().substring(query + 1).split("&")) {
            if (parameter.startsWith("partNumber=")) {
                return Integer.parseInt(parameter.substring("partNumber=".length()));
            }
        }
        return 0;
    }

    @Test
    void aLargePackageGoesIntoTheHistoryInPartsSentSideBySideAndIsKeptByteForByte() throws Exception {
        Path pkg = largeCorte();
        String name = pkg.getFileName().toString();
        // the first part's answer comes late: the others are sent meanwhile, not after it
        s3Network.delayResponse(r -> r.path().equals("/" + HISTORY + "/history/" + name) && partNumber(r) == 1, 1, Duration.ofSeconds(8));
        startDifusor();
        institute.release(pkg);

        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                .until(() -> historyZipRequests(name).stream().anyMatch(r -> partNumber(r) == 1));
        // parts sent one after another would wait the 8 s of the first's answer
        await().atMost(Duration.ofSeconds(7)).pollInterval(Duration.ofMillis(20))
                .until(() -> historyZipRequests(name).stream().filter(r -> partNumber(r) > 1).count() == 2);
        // not in the history yet, and nothing of it public: the site waits for the whole copy
        assertThat(keys(HISTORY, "history/" + name)).isEmpty();
        assertThat(keys(SITE, "")).isEmpty();

        awaitPublished(pkg);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name)).asByteArray()).isEqualTo(Files.readAllBytes(pkg));
        var head = bucket.headObject(b -> b.bucket(HISTORY).key("history/" + name));
        assertThat(head.metadata()).containsEntry("sha256", ChecksumFilter.sha256(pkg));
        assertThat(head.contentType()).isEqualTo("application/zip");
        assertSiteEquals(pkg);

        List<RequestHead> requests = historyZipRequests(name);
        assertThat(requests).filteredOn(r -> r.method().equals("POST") && r.target().endsWith("?uploads")).hasSize(1);
        Set<Integer> parts = new TreeSet<>();
        requests.stream().filter(r -> r.method().equals("PUT")).forEach(r -> parts.add(partNumber(r)));
        assertThat(parts).as("no single PUT of the whole zip, three parts").containsExactly(1, 2, 3);
        assertThat(requests).filteredOn(r -> r.method().equals("POST") && r.target().contains("uploadId=")).hasSize(1);
        assertThat(bucket.listMultipartUploads(b -> b.bucket(HISTORY)).uploads()).isEmpty();
        // on the wire: no site file was sent before the copy was completed (its first part held back 8 s meanwhile)
        List<RequestHead> all = s3Network.requests();
        int completed = -1;
        int firstSiteFile = -1;
        for (int i = 0; i < all.size(); i++) {
            RequestHead r = all.get(i);
            if (completed < 0 && r.method().equals("POST") && r.path().equals("/" + HISTORY + "/history/" + name) && r.target().contains("uploadId=")) {
                completed = i;
            }
            if (firstSiteFile < 0 && r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/")) {
                firstSiteFile = i;
            }
        }
        assertThat(completed).as("the history copy's completion").isNotNegative();
        assertThat(firstSiteFile).as("the first site file's PUT, after the completion at %d", completed).isGreaterThan(completed);
    }

    /**
     * Another copy of the same package (another pod's) completes in the history while this one's parts go up: S3 refuses
     * this completion (If-None-Match), the zip there is these bytes, so the package is archived; and this upload is
     * aborted, not left with its parts (a package's size, every time) until the bucket's lifecycle rule takes them.
     */
    @Test
    void aCopyOfTheSamePackageCompletedMeanwhileLeavesNoPartsBehind() throws Exception {
        Path pkg = largeCorte();
        String name = pkg.getFileName().toString();
        String key = "history/" + name;
        s3Network.holdAnswer(r -> r.path().equals("/" + HISTORY + "/" + key) && partNumber(r) == 1, 1, Duration.ofSeconds(60));
        startDifusor();
        institute.release(pkg);
        await().atMost(Duration.ofSeconds(60)).until(() -> historyZipRequests(name).stream().anyMatch(r -> partNumber(r) == 1));

        // the other pod's copy: the same bytes, in parts of the same size, with the same metadata
        String sha256 = ChecksumFilter.sha256(pkg);
        String upload = bucket.createMultipartUpload(b -> b.bucket(HISTORY).key(key).contentType("application/zip")
                .metadata(Map.of("sha256", sha256))).uploadId();
        byte[] bytes = Files.readAllBytes(pkg);
        List<software.amazon.awssdk.services.s3.model.CompletedPart> sent = new java.util.ArrayList<>();
        for (int n = 1, from = 0; from < bytes.length; n++, from += PART) {
            int number = n;
            byte[] slice = java.util.Arrays.copyOfRange(bytes, from, Math.min(bytes.length, from + PART));
            String etag = bucket.uploadPart(b -> b.bucket(HISTORY).key(key).uploadId(upload).partNumber(number),
                    software.amazon.awssdk.core.sync.RequestBody.fromBytes(slice)).eTag();
            sent.add(software.amazon.awssdk.services.s3.model.CompletedPart.builder().partNumber(number).eTag(etag).build());
        }
        bucket.completeMultipartUpload(b -> b.bucket(HISTORY).key(key).uploadId(upload).multipartUpload(m -> m.parts(sent)));
        s3Network.releaseAnswers();

        awaitPublished(pkg);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(key)).asByteArray()).isEqualTo(bytes);
        assertThat(historyZipRequests(name)).as("its completion, refused").filteredOn(r -> r.method().equals("POST") && r.target().contains("uploadId="))
                .hasSize(1);
        assertThat(historyZipRequests(name)).as("then aborted").filteredOn(r -> r.method().equals("DELETE") && r.target().contains("uploadId="))
                .hasSize(1);
        assertThat(bucket.listMultipartUploads(b -> b.bucket(HISTORY)).uploads()).isEmpty();
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertSiteEquals(pkg);
    }

    /**
     * A stop while a package goes into the history in parts, more parts than threads: Camel's pool drops the parts
     * still queued (shutdownNow) and the copy's thread is interrupted. The copy waited for every part, those dropped
     * too, which never end: the stop hung past the pod's grace period and the upload was never aborted. Now the parts
     * not started are let go: the copy ends once the part under way has (its answer, held on the wire, let go here),
     * and the upload is aborted.
     */
    @Test
    void aStopWhilePartsWaitForAThreadEndsTheCopyAndAbortsTheUpload() throws Exception {
        Path pkg = largeCorte();
        String key = "history/" + pkg.getFileName();
        s3Network.holdAnswer(r -> r.path().equals("/" + HISTORY + "/" + key) && partNumber(r) == 1, 1, Duration.ofSeconds(60));
        java.util.concurrent.ExecutorService partThreads = java.util.concurrent.Executors.newFixedThreadPool(1);
        java.util.concurrent.ExecutorService caller = java.util.concurrent.Executors.newSingleThreadExecutor();
        try (var client = mx.prep.difusor.embedded.EmbeddedS3.clientBuilder(s3Network.uri()).build()) {
            ObjectStore store = new ObjectStore(client, new ObjectStore.Parts(PART, false, partThreads));
            java.util.concurrent.atomic.AtomicReference<Thread> copying = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.CompletableFuture<Throwable> copy = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                copying.set(Thread.currentThread());
                try {
                    store.createPackage(HISTORY, key, pkg, "application/zip", Map.of());
                    return null;
                } catch (Exception | Error e) {
                    return e;
                }
            }, caller);
            await().atMost(Duration.ofSeconds(30)).until(() -> historyZipRequests(pkg.getFileName().toString()).stream().anyMatch(r -> partNumber(r) == 1));

            partThreads.shutdownNow();   // parts 2 and 3 were queued behind part 1
            copying.get().interrupt();
            s3Network.releaseAnswers();   // part 1 ends, whether or not the interrupt reached its socket
            Throwable failed = copy.get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(failed).as("the copy ended, failed").isNotNull();
            assertThat(historyZipRequests(pkg.getFileName().toString())).as("the upload aborted")
                    .filteredOn(r -> r.method().equals("DELETE") && r.target().contains("uploadId=")).hasSize(1);
            assertThat(bucket.listMultipartUploads(b -> b.bucket(HISTORY)).uploads()).isEmpty();
            assertThat(keys(HISTORY, "history/")).isEmpty();
        } finally {
            s3Network.releaseAnswers();
            caller.shutdownNow();
        }
    }

    @Test
    void aPartRefusedPastTheSdksAttemptsAbortsTheUploadAndTheRetryCopiesThePackageAgain() throws Exception {
        Path pkg = largeCorte();
        String name = pkg.getFileName().toString();
        // every attempt the SDK makes at the second part (difusor.s3.max-attempts = 4) is refused
        s3Network.respond(r -> r.method().equals("PUT") && r.path().equals("/" + HISTORY + "/history/" + name) && partNumber(r) == 2, 4,
                503, "application/xml", "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
        startDifusor();
        institute.release(pkg);
        awaitPublished(pkg);

        assertThat(s3Network.faultsInjected()).isEqualTo(4);
        List<RequestHead> requests = historyZipRequests(name);
        assertThat(requests).as("the failed upload aborted").filteredOn(r -> r.method().equals("DELETE") && r.target().contains("uploadId="))
                .hasSize(1);
        assertThat(requests).as("and a second one made by the retry").filteredOn(r -> r.method().equals("POST") && r.target().endsWith("?uploads"))
                .hasSize(2);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name)).asByteArray()).isEqualTo(Files.readAllBytes(pkg));
        assertThat(bucket.listMultipartUploads(b -> b.bucket(HISTORY)).uploads()).isEmpty();
        assertSiteEquals(pkg);
    }

    @Test
    void aPartSizeS3WouldRefuseStopsTheStartNamingTheSetting() {
        Map<String, String> settings = settings();
        settings.put("difusor.history.part-size", String.valueOf(1 << 20));

        assertThatThrownBy(() -> startDifusor(settings)).hasStackTraceContaining("difusor.history.part-size")
                .hasStackTraceContaining("S3's limits");
    }
}
