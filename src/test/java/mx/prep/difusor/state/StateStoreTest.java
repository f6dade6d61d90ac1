package mx.prep.difusor.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Clock;
import java.time.Duration;
import java.time.ZoneId;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.ObjectStore;
import mx.prep.difusor.embedded.EmbeddedS3;
import mx.prep.difusor.testing.FaultProxy;
import software.amazon.awssdk.services.s3.S3Client;

/** What this process knows of the published state, against a real S3 endpoint with faults on the wire. */
class StateStoreTest {

    private static final String HISTORY = "prep-history";

    private EmbeddedS3 s3;
    private FaultProxy network;
    private S3Client client;
    private final ExecutorService reader = Executors.newSingleThreadExecutor();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    @BeforeEach
    void start() throws Exception {
        s3 = EmbeddedS3.inMemory();
        s3.createBucket(HISTORY);
        network = FaultProxy.http("127.0.0.1", s3.port());
        // signed over the whole body, as the difusor's client: the proxy relays what it is sent
        client = EmbeddedS3.clientBuilder(network.uri())
                .authSchemeProvider(mx.prep.difusor.DifusorConfiguration.wholeBodySigning(
                        software.amazon.awssdk.services.s3.auth.scheme.S3AuthSchemeProvider.defaultProvider()))
                .build();
    }

    @AfterEach
    void stop() throws Exception {
        reader.shutdownNow();
        client.close();
        network.close();
        s3.close();
    }

    /**
     * The site manifest goes to S3 through a file in this process's scratch directory on the work volume, not in the
     * pod's small /tmp; one left there by a process killed during its upload is removed by the next process's start.
     */
    @Test
    void theManifestIsWrittenThroughTheScratchDirectoryWhichAStartClearsOfLeftovers(@org.junit.jupiter.api.io.TempDir java.nio.file.Path work)
            throws Exception {
        java.nio.file.Path scratch = java.nio.file.Files.createDirectories(work.resolve("scratch"));
        java.nio.file.Files.writeString(scratch.resolve("site-manifest-123.json"), "{\"package\": \"cut short\"");
        java.nio.file.Files.writeString(scratch.resolve("notes.txt"), "an operator's");
        StateStore state = new StateStore(new ObjectStore(client), HISTORY, "state/published.json", "state/site-manifest.json",
                new DifusorMetrics(meters, Clock.systemUTC(), ZoneId.of("America/Mexico_City")), scratch);
        assertThat(scratch.resolve("site-manifest-123.json")).doesNotExist();
        assertThat(scratch.resolve("notes.txt")).exists();

        network.delayResponse(FaultProxy.request("PUT", "/" + HISTORY + "/state/site-manifest.json"), 1, Duration.ofSeconds(2));
        mx.prep.difusor.publish.SiteManifest manifest = new mx.prep.difusor.publish.SiteManifest("PREP2024_JAL_20240602_2200.zip",
                Map.of(), new java.util.TreeSet<>());
        Future<?> save = reader.submit(() -> {
            state.saveManifest(manifest);
            return null;
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> network.faultsInjected() == 1);
        try (var files = java.nio.file.Files.list(scratch)) {
            assertThat(files.map(f -> f.getFileName().toString())).anyMatch(n -> n.startsWith("site-manifest-") && n.endsWith(".json"));
        }
        save.get(10, TimeUnit.SECONDS);
        try (var files = java.nio.file.Files.list(scratch)) {
            assertThat(files.map(f -> f.getFileName().toString())).containsExactly("notes.txt");
        }
    }

    /**
     * A read of the state (the probe's, a health check's) answered by S3 before this process saved the next state,
     * but returned after the save: it put the state just saved back by one in lastKnown and in the gauges (the
     * undeleted files seen at 4 after a corte that had deleted them, in CI).
     */
    @Test
    void aReadAnsweredBeforeOurOwnSaveDoesNotPutTheStateBack() throws Exception {
        StateStore state = new StateStore(new ObjectStore(client), HISTORY, "state/published.json", "state/site-manifest.json",
                new DifusorMetrics(meters, Clock.systemUTC(), ZoneId.of("America/Mexico_City")));
        PublishedState before = withUndeleted("PREP2024_JAL_20240602_2200.zip", 4);
        PublishedState after = withUndeleted("PREP2024_JAL_20240602_2220.zip", 0);
        state.save(before);

        network.delayResponse(FaultProxy.request("GET", "/" + HISTORY + "/state/published.json"), 1, Duration.ofSeconds(2));
        Future<?> load = reader.submit(() -> state.load());
        await().atMost(Duration.ofSeconds(10)).until(() -> network.faultsInjected() == 1);   // S3 has answered: the older state
        state.save(after);
        assertThat(load.get(10, TimeUnit.SECONDS)).asString().contains("PREP2024_JAL_20240602_2200.zip");

        assertThat(state.lastKnown()).contains(after);
        assertThat(meters.get("difusor_site_undeleted_files").gauge().value()).isZero();
        // a read after the save is taken as it is
        assertThat(state.load()).contains(after);
        assertThat(state.lastKnown()).contains(after);
    }

    private static PublishedState withUndeleted(String name, int undeleted) {
        return new PublishedState(name, "2024-06-02 22:00", "ab".repeat(32), 10, 3, "2024-06-03T04:00:00Z", "2024-06-03T04:00:05Z",
                Map.of(), 3, 0, null, null, undeleted, null, null, null);
    }
}
