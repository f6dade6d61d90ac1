package mx.prep.difusor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.camel.cluster.CamelClusterMember;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

import mx.prep.difusor.PrepPackage;

/** A new leader's wait before it compares with the site (LeaderCheck.awaitTakeover). */
class LeaderCheckTest {

    private static final CamelClusterMember LOCAL = new CamelClusterMember() {
        @Override
        public boolean isLeader() {
            return true;
        }

        @Override
        public boolean isLocal() {
            return true;
        }

        @Override
        public String getId() {
            return "this-pod";
        }
    };

    /** A rollout stops the pod while it waits: the package is left to the next leader, not quarantined as UNEXPECTED. */
    @Test
    void aProcessStoppedWhileItWaitsToTakeOverLeavesThePackageToTheNextLeader() throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            LeadershipTerm term = new LeadershipTerm(Clock.systemUTC());
            term.leadershipChanged(null, LOCAL);
            context.getRegistry().bind(LeadershipTerm.BEAN, term);
            LeaderCheck check = new LeaderCheck(context, Duration.ofMinutes(10));
            PrepPackage pkg = new PrepPackage("PREP2024_JAL_20240602_2000.zip", null, null, null, "test", Instant.now());

            AtomicReference<Boolean> interruptKept = new AtomicReference<>();
            Throwable thrown = interruptedWhileItWaits(check, pkg, interruptKept);

            assertThat(thrown).isInstanceOf(NoLongerLeaderException.class).hasMessageContaining("PREP2024_JAL_20240602_2000.zip");
            assertThat(interruptKept.get()).isTrue();
        }
    }

    /**
     * The wall clock stepped forward an hour (NTP) right after the lead was taken: the wait is measured on the monotonic
     * clock, so the former leader's last S3 calls still have their time.
     */
    @Test
    void aWallClockSteppedForwardDoesNotCutTheWaitShort() throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            // the lead taken at what the wall clock said an hour before its step
            LeadershipTerm term = new LeadershipTerm(Clock.offset(Clock.systemUTC(), Duration.ofHours(-1)));
            term.leadershipChanged(null, LOCAL);
            context.getRegistry().bind(LeadershipTerm.BEAN, term);
            LeaderCheck check = new LeaderCheck(context, Duration.ofMinutes(10));
            PrepPackage pkg = new PrepPackage("PREP2024_JAL_20240602_2000.zip", null, null, null, "test", Instant.now());

            assertThat(interruptedWhileItWaits(check, pkg, new AtomicReference<>())).isInstanceOf(NoLongerLeaderException.class);
        }
    }

    /**
     * The route policy says this process leads before the cluster view's event has reached the term: the wait is taken
     * in full from then, not skipped for want of a term.
     */
    @Test
    void aLeadTheTermHasNotHeardOfYetIsWaitedForInFull() throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            LeadershipTerm term = new LeadershipTerm(Clock.systemUTC());
            context.getRegistry().bind(LeadershipTerm.BEAN, term);
            LeaderCheck check = new LeaderCheck(context, Duration.ofMinutes(10));
            PrepPackage pkg = new PrepPackage("PREP2024_JAL_20240602_2000.zip", null, null, null, "test", Instant.now());

            assertThat(interruptedWhileItWaits(check, pkg, new AtomicReference<>())).isInstanceOf(NoLongerLeaderException.class);
            // the check leaves no term behind: a lead lost meanwhile must not lend its start to the next one
            assertThat(term.since()).isEmpty();
        }
    }

    /**
     * While the check waits for a lead the term had not heard of, the term hears that lead, then its loss, and the
     * route policy reports a lead again: that new lead is waited for in full too, not cut short by the first one's.
     */
    @Test
    void aLeadLostAndTakenAgainWhileTheCheckWaitsIsWaitedForAgain() throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            LeadershipTerm term = new LeadershipTerm(Clock.systemUTC());
            context.getRegistry().bind(LeadershipTerm.BEAN, term);
            Duration pause = Duration.ofSeconds(2);
            LeaderCheck check = new LeaderCheck(context, pause);
            PrepPackage pkg = new PrepPackage("PREP2024_JAL_20240602_2000.zip", null, null, null, "test", Instant.now());

            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread waiting = waitingToTakeOver(check, pkg, thrown, new AtomicReference<>());
            term.leadershipChanged(null, LOCAL);
            term.leadershipChanged(null, null);
            long retaken = System.nanoTime();
            waiting.join(10_000);
            long done = System.nanoTime();

            assertThat(waiting.isAlive()).isFalse();
            assertThat(thrown.get()).isNull();
            // the lead taken again at `retaken` (its event not heard yet) gets its own pause from the check's next look
            assertThat(Duration.ofNanos(done - retaken)).isGreaterThanOrEqualTo(pause);
        }
    }

    /** Waits on a thread of its own until it is waiting (it fails if it never does), then interrupts it. */
    private static Throwable interruptedWhileItWaits(LeaderCheck check, PrepPackage pkg, AtomicReference<Boolean> interruptKept)
            throws InterruptedException {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread waiting = waitingToTakeOver(check, pkg, thrown, interruptKept);
        waiting.interrupt();
        waiting.join(10_000);
        return thrown.get();
    }

    /** The takeover wait on a thread of its own, once it waits (it fails if it never does). */
    private static Thread waitingToTakeOver(LeaderCheck check, PrepPackage pkg, AtomicReference<Throwable> thrown,
            AtomicReference<Boolean> interruptKept) {
        Thread waiting = new Thread(() -> {
            try {
                check.awaitTakeover(pkg);
            } catch (Throwable t) {
                thrown.set(t);
                interruptKept.set(Thread.currentThread().isInterrupted());
            }
        });
        waiting.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> waiting.getState() == Thread.State.TIMED_WAITING);
        return waiting;
    }
}
