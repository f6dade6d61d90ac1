package mx.prep.difusor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * difusor.cluster.mode = file with two replicas in one JVM. File locks belong to the process, but the JVM keeps one
 * lock table per file for all its channels: a second channel's tryLock on a file locked in the same JVM throws
 * (OverlappingFileLockException), which camel-file's cluster view counts as "not acquired". So two replicas in one JVM
 * do exclude each other; LeaderElectionTest checks it across processes too (and kill -9).
 */
class FileLockLeaderElectionTest {

    private static final Logger LOG = LoggerFactory.getLogger(FileLockLeaderElectionTest.class);
    private static final long RETRY_MS = 200;
    /** Long beside the retry period: a clean handover (the next look, ~0.3 s) and the lease running out stay apart on a busy machine. */
    private static final long LEASE_MS = 2000;

    @TempDir
    Path shared;

    private final List<ElectedContext> replicas = new ArrayList<>();

    @AfterEach
    void stopAll() {
        replicas.forEach(ElectedContext::close);
    }

    private ElectedContext replica(String name) throws Exception {
        ElectedContext replica = ElectedContext.start(name, Map.of("difusor.cluster.mode", "file", "difusor.cluster.file-root",
                shared.resolve("cluster").toString(), "difusor.cluster.retry-period-ms", Long.toString(RETRY_MS),
                "difusor.cluster.lease-duration-ms", Long.toString(LEASE_MS)));
        replicas.add(replica);
        return replica;
    }

    @Test
    void twoReplicasStartedTogetherElectOneAndTheOtherTakesOverWhenItStops() throws Exception {
        ElectedContext a = replica("a");
        ElectedContext b = replica("b");
        try (LeaderWatch watch = new LeaderWatch(List.of(a, b))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> a.leads() || b.leads());
            // two leases go by, ten looks each: still exactly one
            await().during(Duration.ofMillis(2 * LEASE_MS)).atMost(Duration.ofMillis(3 * LEASE_MS)).until(() -> a.leads() ^ b.leads());
            ElectedContext leader = a.leads() ? a : b;
            ElectedContext follower = leader == a ? b : a;

            long t0 = System.nanoTime();
            leader.close();
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10)).until(follower::leads);
            long took = (System.nanoTime() - t0) / 1_000_000;
            LOG.info("MEASURED file (one JVM): leader stopped -> the other polling after {} ms (retry {} ms)", took, RETRY_MS);
            assertThat(watch.mostLeadersAtOnce()).as("never two leaders at once").isEqualTo(1);
            // a clean stop clears the heartbeat: taken over at the follower's next look, not after the lease
            // an expired lease could not be taken before LEASE_MS less a look since the last heartbeat
            assertThat(took).isLessThan(LEASE_MS - 2 * RETRY_MS - 100);
        }
    }
}
