package mx.prep.difusor.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.camel.health.HealthCheck;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import mx.prep.difusor.testing.KubernetesApi;
import mx.prep.difusor.testing.MovableClock;

/**
 * The readiness check of the Kubernetes API on its own, against fabric8's mock API server, on a clock the test moves:
 * what the kubelet's probe hears between and after questions.
 */
class KubernetesApiReachabilityTest {

    private final KubernetesApi kubernetes = new KubernetesApi();
    private final ExecutorService asker = Executors.newSingleThreadExecutor();
    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2024-06-02T20:00:00Z"));

    @AfterEach
    void stop() {
        asker.shutdownNow();
        kubernetes.close();
    }

    /**
     * A probe that asks less often than the Lease's duration finds the last answer old: that is no silence of the API,
     * as long as the last question was answered. A Lease not created yet is an answer too.
     */
    @Test
    void anOldAnswerIsNoSilenceWhileTheLastQuestionWasAnswered() throws Exception {
        KubernetesApiReachability check = new KubernetesApiReachability(kubernetes.client(), KubernetesApi.NAMESPACE, KubernetesApi.LEASE,
                Duration.ofSeconds(15), asker, MovableClock.reading(now));

        assertThat(check.call().getState()).isEqualTo(HealthCheck.State.UP);
        // the first question (a 404: no Lease yet) answered before the next probe: the asker's one thread is free again
        asker.submit(() -> { }).get(10, java.util.concurrent.TimeUnit.SECONDS);

        now.set(now.get().plusSeconds(60));
        HealthCheck.Result result = check.call();
        assertThat(result.getState()).as("%s", result.getMessage()).isEqualTo(HealthCheck.State.UP);
        assertThat(result.getDetails()).containsEntry("lease", KubernetesApi.NAMESPACE + "/" + KubernetesApi.LEASE);
    }
}
