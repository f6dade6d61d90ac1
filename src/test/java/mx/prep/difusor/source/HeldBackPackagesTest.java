package mx.prep.difusor.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.ObjectStore;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.embedded.EmbeddedS3;
import mx.prep.difusor.state.CorteParser;
import mx.prep.difusor.state.StateStore;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * When held-back packages of the incoming folder go back into it, told by the ledger's pauses on a clock the test
 * moves (nothing published yet, against a real S3 endpoint for the state).
 */
class HeldBackPackagesTest {

    private static final String OLDER = "PREP2024_JAL_20240602_2000.zip";
    private static final String NEWEST = "PREP2024_JAL_20240602_2020.zip";

    @TempDir
    Path tmp;

    private EmbeddedS3 s3;
    private S3Client client;
    private final java.util.concurrent.atomic.AtomicReference<Instant> now = new java.util.concurrent.atomic.AtomicReference<>(
            Instant.parse("2024-06-03T03:00:00Z"));
    private final Clock clock = mx.prep.difusor.testing.MovableClock.reading(now);

    @BeforeEach
    void startS3() throws Exception {
        s3 = EmbeddedS3.inMemory();
        s3.createBucket("prep-history");
        client = s3.client();
    }

    @AfterEach
    void stopS3() throws Exception {
        client.close();
        s3.close();
    }

    /**
     * The newest corte failed twice (a longer pause), an older one once: when only the older's pause is over, nothing
     * goes back, since the older one would go on line for a minute only to be passed by the newest. Then the newest
     * goes back, alone.
     */
    @Test
    void theNewestHeldBackCorteWaitsOutItsOwnLongerPauseAndGoesFirst() throws Exception {
        Path incoming = Files.createDirectories(tmp.resolve("incoming"));
        HeldBackPackages held = new HeldBackPackages(incoming, new StateStore(new ObjectStore(client), "prep-history",
                "state/published.json", "state/site-manifest.json",
                new DifusorMetrics(new SimpleMeterRegistry(), clock, ZoneId.of("America/Mexico_City"))),
                new CorteParser(".*_(?<date>\\d{8})_(?<time>\\d{4})\\.zip", java.time.ZoneId.of("America/Mexico_City")), clock);
        Instant start = clock.instant();
        assertThat(held.holdBack(failedInTheFolder(incoming, OLDER), start.plus(Duration.ofMinutes(1)))).isTrue();
        assertThat(held.holdBack(failedInTheFolder(incoming, NEWEST), start.plus(Duration.ofMinutes(4)))).isTrue();
        consumerDeletes(incoming, OLDER);
        consumerDeletes(incoming, NEWEST);

        now.set(start.plus(Duration.ofMinutes(2)));   // the older's pause is over, not the newest's
        held.offerAgain();
        assertThat(incoming.resolve(OLDER)).doesNotExist();
        assertThat(incoming.resolve(NEWEST)).doesNotExist();

        now.set(start.plus(Duration.ofMinutes(4)));
        held.offerAgain();
        assertThat(incoming.resolve(NEWEST)).hasContent("zip of " + NEWEST);
        assertThat(incoming.resolve(NEWEST + ".sha256")).hasContent("sha256 of " + NEWEST);
        assertThat(incoming.resolve(OLDER)).doesNotExist();
        // the older waits while the newest is in the folder, to be let go once the newest is published
        held.offerAgain();
        assertThat(incoming.resolve(OLDER)).doesNotExist();
        assertThat(incoming.resolve(HeldBackPackages.FOLDER).resolve(OLDER)).exists();
    }

    /** A package the folder's consumer took, that failed; the folder still has it and its checksum file. */
    private static PrepPackage failedInTheFolder(Path incoming, String name) throws Exception {
        Path zip = Files.writeString(incoming.resolve(name), "zip of " + name);
        Files.writeString(incoming.resolve(name + ".sha256"), "sha256 of " + name);
        PrepPackage pkg = new PrepPackage(name, null, null, null, "file:" + zip, Instant.now());
        pkg.spooled(zip, Files.size(zip));
        return pkg;
    }

    private static void consumerDeletes(Path incoming, String name) throws Exception {
        Files.delete(incoming.resolve(name));
        Files.delete(incoming.resolve(name + ".sha256"));
    }
}
