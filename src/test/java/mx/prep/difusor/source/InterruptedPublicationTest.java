package mx.prep.difusor.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.ObjectStore;
import mx.prep.difusor.archive.HistoryArchiver;
import mx.prep.difusor.embedded.EmbeddedS3;
import mx.prep.difusor.state.CorteParser;
import mx.prep.difusor.state.PackageTurn;
import mx.prep.difusor.state.PublishedState;
import mx.prep.difusor.state.StateStore;
import mx.prep.difusor.testing.CapturedLogs;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * What the check for a publication cut short says when it cannot take the package back, against a real S3 endpoint:
 * the runbook greps the logs by corte, so its lines name the corte as every other line about a package does.
 */
class InterruptedPublicationTest {

    private static final String HISTORY = "prep-history";
    private static final ZoneId ZONE = ZoneId.of("America/Mexico_City");

    @TempDir
    Path tmp;

    private EmbeddedS3 s3;
    private S3Client client;

    @BeforeEach
    void startS3() throws Exception {
        s3 = EmbeddedS3.inMemory();
        s3.createBucket(HISTORY);
        client = s3.client();
    }

    @AfterEach
    void stopS3() throws Exception {
        client.close();
        s3.close();
    }

    private InterruptedPublication checkFor(StateStore state, ObjectStore store) {
        return checkFor(state, store, HISTORY);
    }

    private InterruptedPublication checkFor(StateStore state, ObjectStore store, String historyBucket) {
        return new InterruptedPublication(state, new HistoryArchiver(store, historyBucket, "history/"), store, new PackageTurn(Duration.ofMinutes(1)),
                new CorteParser(".*_(?<date>\\d{8})_(?<time>\\d{4})\\.zip", ZONE), tmp.resolve("spool"), Clock.systemUTC(),
                Duration.ofSeconds(1), Duration.ofMinutes(1), Duration.ofMinutes(1));
    }

    private StateStore state(ObjectStore store) {
        return new StateStore(store, HISTORY, "state/published.json", "state/site-manifest.json",
                new DifusorMetrics(new SimpleMeterRegistry(), Clock.systemUTC(), ZONE));
    }

    /**
     * The state marks a publication the history does not hold: it is left to the next corte, with a WARN that names
     * the corte, the state's (a manifest announced it; the name holds none) or else the name's.
     */
    @Test
    void aPublicationCutShortThatTheHistoryLacksIsNamedWithItsCorte() throws Exception {
        ObjectStore store = new ObjectStore(client);
        StateStore state = state(store);
        List<String> logged = new ArrayList<>();
        try (AutoCloseable capture = CapturedLogs.capture(logged)) {
            state.save(PublishedState.nothingYet("resultados.zip", "2024-06-02 21:40", null, Map.of(), "rules"));
            assertThat(checkFor(state, store).fetch(null)).isFalse();

            state.save(PublishedState.nothingYet("PREP2024_JAL_20240602_2200.zip", null, null, Map.of(), "rules"));
            assertThat(checkFor(state, store).fetch(null)).isFalse();

            // a corte edited by hand past reading: the name's, as for a state without one, not a failure at every check
            state.save(PublishedState.nothingYet("PREP2024_JAL_20240602_2220.zip", "las diez y veinte", null, Map.of(), "rules"));
            assertThat(checkFor(state, store).fetch(null)).isFalse();
        }
        assertThat(logged).filteredOn(l -> l.contains("the history does not hold it whole")).satisfiesExactly(
                l -> assertThat(l).contains("package resultados.zip (corte 2024-06-02 21:40)"),
                l -> assertThat(l).contains("package PREP2024_JAL_20240602_2200.zip (corte 2024-06-02 22:00)"),
                l -> assertThat(l).contains("package PREP2024_JAL_20240602_2220.zip (corte 2024-06-02 22:20)"));
    }

    /** The history cannot be read (its bucket refuses): the failure the route logs names the package and its corte. */
    @Test
    void aHistoryThatCannotBeReadIsAFailureThatNamesTheCorte() throws Exception {
        ObjectStore store = new ObjectStore(client);
        StateStore state = state(store);
        state.save(PublishedState.nothingYet("resultados.zip", "2024-06-02 21:40", null, Map.of(), "rules"));
        InterruptedPublication check = checkFor(state, store, "prep-history-gone");

        assertThatThrownBy(() -> check.fetch(null)).hasMessageStartingWith("package resultados.zip (corte 2024-06-02 21:40): its publication"
                + " was cut short");
    }
}
