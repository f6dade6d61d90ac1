package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.CamelContext;
import org.apache.camel.ServiceStatus;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckHelper;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.spi.CamelEvent.ExchangeCreatedEvent;
import org.apache.camel.support.EventNotifierSupport;
import org.apache.camel.support.service.ServiceHelper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.embedded.EmbeddedS3;
import mx.prep.difusor.testing.FaultProxy.RequestHead;
import mx.prep.difusor.testing.RunningDifusor;

/**
 * Two real difusors with difusor.cluster.mode = file on one shared folder, against the same institute, S3 and
 * CloudFront: only the leader polls, each corte is published once (one set of uploads, one invalidation), and when the
 * leader goes (stopped, or killed with SIGKILL in its own JVM) the other takes over and publishes the next corte.
 */
class LeaderElectionTest extends PipelineTestBase {

    private static final Logger LOG = LoggerFactory.getLogger(LeaderElectionTest.class);
    private static final long RETRY_MS = 500;
    private static final long LEASE_MS = 1500;
    private static final String POLL_ROUTE = "poll-manifest";

    private final List<AutoCloseable> others = new ArrayList<>();
    private Process child;

    @AfterEach
    void stopOthers() throws Exception {
        if (child != null) {
            child.destroyForcibly().waitFor();
        }
        for (AutoCloseable c : others) {
            c.close();
        }
    }

    private Map<String, String> replica(String name) {
        Map<String, String> p = settings();
        p.put("camel.main.name", name);
        p.put("difusor.work-dir", tmp.resolve("work-" + name).toString());
        p.put("difusor.cluster.mode", "file");
        p.put("difusor.cluster.file-root", tmp.resolve("cluster").toString());
        p.put("difusor.cluster.retry-period-ms", Long.toString(RETRY_MS));
        p.put("difusor.cluster.lease-duration-ms", Long.toString(LEASE_MS));
        // a new leader waits this long before it compares with the site (LeaderCheck.awaitTakeover)
        p.put("difusor.s3.call-timeout-ms", "5000");
        return p;
    }

    private RunningDifusor inProcess(String name) throws Exception {
        return inProcess(name, Map.of());
    }

    /** A replica with some settings of its own besides {@link #replica}'s. */
    private RunningDifusor inProcess(String name, Map<String, String> own) throws Exception {
        Map<String, String> settings = replica(name);
        settings.putAll(own);
        RunningDifusor d = RunningDifusor.start(settings);
        others.add(0, d);
        return d;
    }

    /** The real service in its own JVM, configured with -D overrides only (as CrashRecoveryTest does). */
    private Process childProcess(String name) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-XX:TieredStopAtLevel=1"); // a short-lived JVM: C1 alone starts Camel with less CPU
        replica(name).forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.add("-Daws.accessKeyId=" + EmbeddedS3.ACCESS_KEY);
        command.add("-Daws.secretAccessKey=" + EmbeddedS3.SECRET_KEY);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), DifusorMain.class.getName()));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(tmp.resolve(name + ".log").toFile()).start();
    }

    /** Polls of the institute made by one context: exchanges created by its poll route. */
    private static AtomicInteger pollCounter(CamelContext context) {
        AtomicInteger polls = new AtomicInteger();
        EventNotifierSupport notifier = new EventNotifierSupport() {
            @Override
            public void notify(CamelEvent event) {
                if (POLL_ROUTE.equals(((ExchangeCreatedEvent) event).getExchange().getFromRouteId())) {
                    polls.incrementAndGet();
                }
            }

            @Override
            public boolean isEnabled(CamelEvent event) {
                return event instanceof ExchangeCreatedEvent;
            }
        };
        context.getManagementStrategy().addEventNotifier(notifier);
        ServiceHelper.startService(notifier);
        return polls;
    }

    private static boolean polling(RunningDifusor d) {
        return d.context().getRouteController().getRouteStatus(POLL_ROUTE) == ServiceStatus.Started;
    }

    private int manifestRequests() {
        return institute.requestCount("manifest.json");
    }

    /** Uploads to the site bucket made since request number {@code from} of the S3 network path. */
    private List<String> sitePuts(int from) {
        List<RequestHead> requests = s3Network.requests();
        return requests.subList(from, requests.size()).stream().filter(r -> r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/"))
                .map(RequestHead::path).toList();
    }

    private static double leaderGauge(RunningDifusor d) {
        return d.context().getRegistry().lookupByNameAndType("metricsRegistry", io.micrometer.core.instrument.MeterRegistry.class)
                .get("difusor_leader").gauge().value();
    }

    /** Published by one difusor only: each file uploaded once, the package archived once, one invalidation. */
    private void assertPublishedOnce(Path pkg, int from, int invalidations) {
        awaitPublished(pkg);
        assertThat(sitePuts(from)).as("each file uploaded once").isNotEmpty().doesNotHaveDuplicates();
        String archived = "/" + HISTORY + "/history/" + pkg.getFileName();
        assertThat(s3Network.requests().stream().filter(r -> r.method().equals("PUT") && r.path().equals(archived)))
                .as("archived once").hasSize(1);
        assertThat(cloudFront.created(DISTRIBUTION)).as("one invalidation per corte").hasSize(invalidations);
    }

    @Test
    void onlyTheLeaderPollsAndTheOtherTakesOverWhenTheLeaderStops() throws Exception {
        RunningDifusor a = inProcess("difusor-a");
        AtomicInteger aPolls = pollCounter(a.context());
        await().atMost(Duration.ofSeconds(30)).until(() -> polling(a) && aPolls.get() > 0);

        Path republish = java.nio.file.Files.createDirectories(tmp.resolve("republish-b"));
        RunningDifusor b = inProcess("difusor-b", Map.of("difusor.republish.directory", republish.toString()));
        AtomicInteger bPolls = pollCounter(b.context());
        int aBefore = aPolls.get();
        // b follows: several heartbeat timeouts go by, a keeps polling, b never does
        await().during(Duration.ofMillis(3 * LEASE_MS)).atMost(Duration.ofSeconds(10)).until(() -> polling(a) && !polling(b) && bPolls.get() == 0);
        assertThat(aPolls.get()).isGreaterThan(aBefore);
        // what the alert "no replica leads" sums: 1 on the leader, 0 on the follower
        assertThat(leaderGauge(a)).isEqualTo(1);
        assertThat(leaderGauge(b)).isZero();
        // a follower is ready: in Kubernetes a replica that is not Ready cannot take the Lease over
        assertThat(HealthCheckHelper.invokeReadiness(b.context())).isNotEmpty()
                .allSatisfy(r -> assertThat(r.getState()).as(r.getCheck().getId()).isEqualTo(HealthCheck.State.UP));

        Path first = corte(0);
        int from = s3Network.requests().size();
        institute.release(first);
        assertPublishedOnce(first, from, 1);
        assertSiteEquals(first);
        assertThat(bPolls.get()).isZero();

        // an operator's republish copied into the standby by mistake: set aside when b takes the lead, never taken then
        // (it was published whenever that pod next led, maybe hours later, an older corte over newer ones)
        String name = first.getFileName().toString();
        bucket.getObject(r -> r.bucket(HISTORY).key("history/" + name), republish.resolve(name));
        bucket.getObject(r -> r.bucket(HISTORY).key("history/" + name + ".sha256"), republish.resolve(name + ".sha256"));

        // a stops (a rolling update, a node drain): b takes over and the corte released meanwhile is not lost
        Path second = corte(1);   // made before the clock starts: building a package is CPU work of the test's own
        long t0 = System.nanoTime();
        a.close();
        others.remove(a);
        from = s3Network.requests().size();
        institute.release(second);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> polling(b));
        long leads = millisSince(t0);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> bPolls.get() > 0);
        long polls = millisSince(t0);
        LOG.info("MEASURED file, leader stopped: the other leads after {} ms, polls after {} ms (retry {} ms, lease {} ms, cron 1 s)",
                leads, polls, RETRY_MS, LEASE_MS);
        assertThat(leads).isLessThan(5_000);
        assertThat(leaderGauge(b)).isEqualTo(1);
        assertPublishedOnce(second, from, 2);
        assertSiteEquals(second);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        try (var aside = java.nio.file.Files.list(republish)) {
            assertThat(aside.filter(java.nio.file.Files::isDirectory)).as("the standby's republish set aside").singleElement()
                    .satisfies(d -> assertThat(d.resolve(name)).hasSameBinaryContentAs(first));
        }
        assertThat(republish.resolve(name)).doesNotExist();
    }

    @Test
    void whenTheLeaderIsKilledTheOtherProcessTakesOverWithinTheLease() throws Exception {
        // the leader in its own JVM: file locks belong to processes, as in production
        child = childProcess("difusor-a");
        await().atMost(Duration.ofSeconds(60)).until(() -> manifestRequests() > 0);

        RunningDifusor b = inProcess("difusor-b");
        AtomicInteger bPolls = pollCounter(b.context());
        int before = manifestRequests();
        await().during(Duration.ofMillis(3 * LEASE_MS)).atMost(Duration.ofSeconds(10)).until(() -> !polling(b) && bPolls.get() == 0);
        assertThat(manifestRequests()).as("the other process polls").isGreaterThan(before);

        Path first = corte(0);
        int from = s3Network.requests().size();
        institute.release(first);
        assertPublishedOnce(first, from, 1);
        assertThat(bPolls.get()).isZero();

        // kill -9: no clean release, the heartbeat just stops
        Path second = corte(1);
        child.destroyForcibly().waitFor();
        long t0 = System.nanoTime();
        from = s3Network.requests().size();
        institute.release(second);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(() -> polling(b));
        long leads = millisSince(t0);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(() -> bPolls.get() > 0);
        long polls = millisSince(t0);
        LOG.info("MEASURED file, leader killed (SIGKILL, other JVM): the other leads after {} ms, polls after {} ms (retry {} ms, lease {} ms, cron 1 s)",
                leads, polls, RETRY_MS, LEASE_MS);
        // at most the lease plus a look or two; sooner when the dead leader's last heartbeats were already late
        // (a busy machine): the follower had found it silent and was trying the lock, which the OS now gives it
        assertThat(leads).isLessThan(LEASE_MS + 10 * RETRY_MS);
        assertPublishedOnce(second, from, 2);
        assertSiteEquals(second);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    private static long millisSince(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
