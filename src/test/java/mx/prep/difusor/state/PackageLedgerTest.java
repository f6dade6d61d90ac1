package mx.prep.difusor.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.util.ConcurrentModificationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import mx.prep.difusor.source.PackageOffer;

class PackageLedgerTest {

    /**
     * A fixed URL's offer names no package until it is downloaded: the poll looks for its checksum among the packages
     * settled, while a resume or a republish settles another on its own thread. The walk held the set's lock where the
     * set's calls take the map's: a ConcurrentModificationException failed that poll (the corte one poll late).
     */
    @Test
    void aNamelessOfferIsLookedUpWhileAnotherThreadSettlesPackages() throws Exception {
        PackageLedger ledger = new PackageLedger(null, null, Clock.systemUTC(), Duration.ofSeconds(1), Duration.ofSeconds(10));
        String sha = "a".repeat(64);
        AtomicBoolean done = new AtomicBoolean();
        CompletableFuture<Void> settling = CompletableFuture.runAsync(() -> {
            for (int i = 0; !done.get(); i++) {
                ledger.settled("PREP2024_JAL_20240602_2000.zip", sha);   // settled again once evicted: the walk goes through many
                ledger.settled("PREP2024_JAL_" + i + ".zip", Integer.toHexString(i));
            }
        });
        AtomicInteger concurrentModifications = new AtomicInteger();
        try {
            for (int i = 0; i < 20_000; i++) {
                try {
                    ledger.isNew(new PackageOffer(null, sha, null, null, null, null, null));
                } catch (ConcurrentModificationException walkedWhileChanged) {
                    concurrentModifications.incrementAndGet();
                } catch (NullPointerException evictedAMoment) {
                    // its key evicted and not settled again yet: this ledger has no state to ask, and that is not the point
                }
            }
        } finally {
            done.set(true);
            settling.join();
        }
        assertThat(concurrentModifications).hasValue(0);
    }
}
