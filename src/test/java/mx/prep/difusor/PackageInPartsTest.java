package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.function.Predicate;

import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import software.amazon.awssdk.services.s3.S3Client;

import mx.prep.difusor.archive.HistoryArchiver;
import mx.prep.difusor.embedded.EmbeddedS3;
import mx.prep.difusor.testing.FaultProxy;
import mx.prep.difusor.testing.FaultProxy.RequestHead;
import mx.prep.difusor.verify.ChecksumFilter;

/**
 * A package's copy in parts through prep-difusor's own S3 client and part threads, against S3Proxy behind a
 * fault-injecting proxy: what the network, the SDK's retries and a stopping process do to it. The pipeline around it
 * is in {@link HistoryInPartsTest}.
 */
class PackageInPartsTest {

    private static final int PART = 5 << 20;
    private static final String BUCKET = "prep-history";
    private static final String KEY = "history/PREP2024_JAL_20240602_2000.zip";

    @TempDir
    Path tmp;

    private EmbeddedS3 s3;
    private FaultProxy network;
    private DefaultCamelContext camel;
    private S3Client client;
    private ExecutorService partThreads;
    private Path zip;

    @BeforeEach
    void start() throws Exception {
        System.setProperty("aws.accessKeyId", EmbeddedS3.ACCESS_KEY);
        System.setProperty("aws.secretAccessKey", EmbeddedS3.SECRET_KEY);
        s3 = EmbeddedS3.inMemory();
        s3.createBucket(BUCKET);
        network = FaultProxy.http("127.0.0.1", s3.port());
        camel = new DefaultCamelContext();
        Properties p = new Properties();
        p.put("difusor.publish.concurrency", "4");
        p.put("difusor.s3.region", "us-east-1");
        p.put("difusor.s3.path-style", "true");
        p.put("difusor.s3.checksum-calculation", "when-required");
        p.put("difusor.s3.connect-timeout-ms", "5000");
        p.put("difusor.s3.read-timeout-ms", "5000");
        p.put("difusor.s3.max-attempts", "4");
        p.put("difusor.s3.call-timeout-ms", "60000");
        p.put("difusor.s3.endpoint", network.uri().toString());
        camel.getPropertiesComponent().setInitialProperties(p);
        camel.start();
        client = DifusorConfiguration.s3Client(new Settings(camel.getPropertiesComponent()));
        partThreads = DifusorConfiguration.historyPartThreads(camel, 2); // fewer threads than parts: some wait their turn
        byte[] bytes = new byte[2 * PART + 4321];
        new Random(2024).nextBytes(bytes);
        zip = Files.write(tmp.resolve("PREP2024_JAL_20240602_2000.zip"), bytes);
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {client, camel, network, s3}) {
            if (c != null) {
                c.close();
            }
        }
    }

    private ObjectStore store() {
        return new ObjectStore(client, new ObjectStore.Parts(PART, false, partThreads));
    }

    private String put() throws IOException {
        return store().putPackage(BUCKET, KEY, zip, "application/zip", Map.of("sha256", "d1ce"));
    }

    private static Predicate<RequestHead> part(int number) {
        return r -> r.method().equals("PUT") && r.target().contains("partNumber=" + number + "&");
    }

    private static final Predicate<RequestHead> COMPLETE = r -> r.method().equals("POST") && r.target().contains("uploadId=");
    private static final Predicate<RequestHead> ABORT = r -> r.method().equals("DELETE") && r.target().contains("uploadId=");
    private static final Predicate<RequestHead> CREATE = r -> r.method().equals("POST") && r.target().endsWith("?uploads");

    private byte[] stored() {
        return client.getObjectAsBytes(b -> b.bucket(BUCKET).key(KEY)).asByteArray();
    }

    private boolean partsLeft() {
        return !client.listMultipartUploads(b -> b.bucket(BUCKET)).uploads().isEmpty();
    }

    @Test
    void aPartRefusedOnceIsSentAgainWholeByTheSdk() throws Exception {
        network.respond(part(2), 1, 503, "application/xml", "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>");

        put();

        assertThat(network.requests(part(2))).as("the part, then its retry").isEqualTo(2);
        assertThat(network.requests(CREATE)).as("within the same upload").isEqualTo(1);
        assertThat(stored()).isEqualTo(Files.readAllBytes(zip));
        assertThat(client.headObject(b -> b.bucket(BUCKET).key(KEY)).metadata()).containsEntry("sha256", "d1ce");
        assertThat(partsLeft()).isFalse();
    }

    /**
     * S3 completes the upload but its answer is lost: late past the read timeout (the SDK's retry then finds the upload
     * gone, NoSuchUpload), or cut off in its body (the SDK does not retry). Either way the object it made tells.
     */
    @ParameterizedTest
    @ValueSource(strings = {"late", "cut off"})
    void aCompletionWhoseAnswerIsLostIsKnownDoneByTheObjectItMade(String answer) throws Exception {
        if (answer.equals("late")) {
            network.delayResponse(COMPLETE, 1, Duration.ofSeconds(8));
        } else {
            network.stallResponseBody(COMPLETE, 1);
        }

        String etag = put();

        assertThat(network.requests(COMPLETE)).isEqualTo(answer.equals("late") ? 2 : 1);
        assertThat(network.requests(ABORT)).isZero();
        assertThat(etag).endsWith("-3\"");
        assertThat(stored()).isEqualTo(Files.readAllBytes(zip));
    }

    @Test
    void anInterruptedCopyLetsItsPartsEndThenAbortsTheUploadAndKeepsTheInterrupt() throws Exception {
        network.delayResponse(part(1), 1, Duration.ofSeconds(3));
        CompletableFuture<Throwable> thrown = new CompletableFuture<>();
        CompletableFuture<Boolean> stillInterrupted = new CompletableFuture<>();
        Thread copy = new Thread(() -> {
            try {
                put();
                thrown.complete(null);
            } catch (Throwable t) {
                thrown.complete(t);
            }
            stillInterrupted.complete(Thread.currentThread().isInterrupted());
        });
        copy.start();
        await().atMost(Duration.ofSeconds(20)).until(() -> network.requests(part(1)) == 1 && network.requests(part(3)) == 1);

        copy.interrupt();

        assertThat(thrown.get(30, java.util.concurrent.TimeUnit.SECONDS)).isInstanceOf(InterruptedIOException.class).hasMessageContaining(KEY);
        assertThat(stillInterrupted.get(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(network.requests(ABORT)).as("the abort is sent, after the part held up").isEqualTo(1);
        assertThat(network.requests(COMPLETE)).isZero();
        assertThat(partsLeft()).isFalse();
        assertThat(client.listObjectsV2(b -> b.bucket(BUCKET)).contents()).isEmpty();
    }

    @Test
    void aStoppedPartPoolFailsTheCopyAsTransientInsteadOfLosingAPartAndWaitingForever() throws Exception {
        camel.getExecutorServiceManager().shutdown(partThreads);

        Throwable thrown = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> org.assertj.core.api.Assertions.catchThrowable(this::put));

        assertThat(thrown).isInstanceOf(IOException.class).hasMessageContaining("part uploads are stopping");
        assertThat(new Failures().isTransient(thrown)).as("the package stays in the spool for the next process").isTrue();
        assertThat(network.requests(ABORT)).isEqualTo(1);
        assertThat(partsLeft()).isFalse();
    }

    @Test
    void aStoppedHistoryPoolCopiesThePackageInTheStepInsteadOfWaitingForACopyThatNeverRuns() throws Exception {
        ExecutorService copies = DifusorConfiguration.historyCopies(camel);
        camel.getExecutorServiceManager().shutdown(copies);
        HistoryArchiver archiver = new HistoryArchiver(store(), BUCKET, "history/", copies);
        PrepPackage pkg = new PrepPackage(zip.getFileName().toString(), null, null, null, "test", Instant.now());
        pkg.spooled(zip, Files.size(zip));
        pkg.verified(ChecksumFilter.sha256(zip));

        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            archiver.startArchive(pkg);
            archiver.awaitArchived(pkg);
        });

        assertThat(pkg.isArchived()).isTrue();
        assertThat(stored()).isEqualTo(Files.readAllBytes(zip));
    }
}
