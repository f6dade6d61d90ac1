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
            LeaderCheck check = new LeaderCheck(context, Clock.systemUTC(), Duration.ofMinutes(10));
            PrepPackage pkg = new PrepPackage("PREP2024_JAL_20240602_2000.zip", null, null, null, "test", Instant.now());

            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicReference<Boolean> interruptKept = new AtomicReference<>();
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
            waiting.interrupt();
            waiting.join(10_000);

            assertThat(thrown.get()).isInstanceOf(NoLongerLeaderException.class).hasMessageContaining("PREP2024_JAL_20240602_2000.zip");
            assertThat(interruptKept.get()).isTrue();
        }
    }
}
