package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import mx.prep.difusor.cluster.LeaderCheck;
import mx.prep.difusor.embedded.PrepPackageGenerator;
import mx.prep.difusor.state.PublishedState;
import mx.prep.difusor.testing.FaultProxy;
import mx.prep.difusor.testing.KubernetesApi;
import mx.prep.difusor.testing.RunningDifusor;

/**
 * Two real difusors in difusor.cluster.mode = kubernetes (an in-process API server): the leader loses the Lease while
 * it is publishing a corte. Losing the lead stops only its poll routes, so the publication under way must stop by
 * itself: otherwise it goes on over the newer corte the new leader publishes meanwhile. And without leader election,
 * a publication retried after another process published a newer corte is stale.
 */
class LeadershipLossTest extends PipelineTestBase {

    private static final long LEASE_MS = 3000;
    private static final long RENEW_MS = 2000;
    private static final long RETRY_MS = 500;
    private static final long CALL_MS = 6000;
    /** a, the first leader of a test, follows nobody: no former leader's call can land, so it need not wait (saves 6-18 s a test). */
    private static final Map<String, String> FIRST_LEADER = Map.of("difusor.cluster.takeover-pause-ms", "0");

    private KubernetesApi kubernetes;
    private FaultProxy otherS3Network;
    private final List<RunningDifusor> replicas = new ArrayList<>();

    @BeforeEach
    void startApiServer() {
        kubernetes = new KubernetesApi();
        kubernetes.pod("difusor-a", true);
        kubernetes.pod("difusor-b", true);
        otherS3Network = FaultProxy.http("127.0.0.1", s3.port()).preconditions(this::asS3DecidesAConditionalWrite);
    }

    @AfterEach
    void stopReplicas() throws Exception {
        for (RunningDifusor replica : replicas) {
            replica.close();
        }
        otherS3Network.close();
        kubernetes.close();
    }

    /**
     * Each replica reaches S3 through its own network, so a fault can hold up one replica's uploads only. An S3 call
     * takes at most CALL_MS, its retries included, and a new leader waits that long before it compares with the site.
     */
    private RunningDifusor replica(String pod, URI s3Endpoint) throws Exception {
        return replica(pod, s3Endpoint, Map.of());
    }

    private RunningDifusor replica(String pod, URI s3Endpoint, Map<String, String> overrides) throws Exception {
        Map<String, String> p = settings();
        p.putAll(kubernetes.replicaSettings(pod, LEASE_MS, RENEW_MS, RETRY_MS));
        p.put("camel.main.name", pod);
        p.put("difusor.work-dir", tmp.resolve("work-" + pod).toString());
        p.put("difusor.s3.endpoint", s3Endpoint.toString());
        p.put("difusor.s3.call-timeout-ms", Long.toString(CALL_MS));
        // without the bound on a call the SDK would go on retrying an upload for minutes
        p.put("difusor.s3.max-attempts", "30");
        p.putAll(overrides);
        RunningDifusor replica = RunningDifusor.start(p);
        replicas.add(0, replica);
        return replica;
    }

    /** Without leader election (difusor.cluster.mode = none): two processes both publish, as after a wrong config. */
    private RunningDifusor unelected(String name, URI s3Endpoint, Map<String, String> overrides) throws Exception {
        Map<String, String> p = settings();
        p.put("camel.main.name", name);
        p.put("difusor.work-dir", tmp.resolve("work-" + name).toString());
        p.put("difusor.s3.endpoint", s3Endpoint.toString());
        p.putAll(overrides);
        RunningDifusor replica = RunningDifusor.start(p);
        replicas.add(0, replica);
        return replica;
    }

    private static boolean leads(RunningDifusor replica) {
        return replica.context().getRegistry().lookupByNameAndType("leaderCheck", LeaderCheck.class).leads();
    }

    @Test
    void aLeaderThatLosesTheLeaseMidPublicationLeavesTheSiteToTheNewLeader() throws Exception {
        RunningDifusor a = replica("difusor-a", s3Network.uri(), FIRST_LEADER);
        await().atMost(Duration.ofSeconds(20)).until(() -> leads(a));
        RunningDifusor b = replica("difusor-b", otherS3Network.uri());

        // a publishes the first corte; the answer to one of its asset uploads is held up on the network for longer than
        // a call may take, so a is still uploading (its pages not yet) when its pod fails the readiness probe and the
        // Lease goes to b
        s3Network.delayResponse(r -> r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/") && !r.path().endsWith(".html"),
                1, Duration.ofSeconds(20));
        Path first = corte(0);
        institute.release(first);
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.faultsInjected() == 1);
        kubernetes.setReady("difusor-a", false);
        Path second = corte(1);
        institute.release(second);

        // b publishes the newer corte; by the time it compares with the site, a's held-up call has ended (its bound)
        // and a has stopped at its next lead check: it uploads no older page, deletes, invalidates or records nothing
        await().atMost(Duration.ofSeconds(15)).until(() -> leads(b) && !leads(a));
        awaitPublished(second);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(a.context().getInflightRepository().size())
                .as("a's publication ended").isZero());
        assertSiteEquals(second);
        assertThat(publishedState().map(PublishedState::packageName)).contains(second.getFileName().toString());
        assertThat(s3Network.requests(r -> r.method().equals("PUT") && r.path().endsWith(".html"))).isZero();
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertThat(keys(HISTORY, "history/")).contains("history/" + first.getFileName(), "history/" + second.getFileName());
    }

    /**
     * A package dropped into the leader's incoming folder, the lead lost while the new leader waits out its takeover
     * pause (before the state marks the publication): nobody finishes it, and the folder's consumer deleted it with its
     * exchange. Now it is held back in the folder, and taken again once this pod leads again (that a package taken
     * again is published: IncomingFolderTest's held-back cases).
     */
    @Test
    void aFolderPackageWhoseLeaderLosesTheLeaseBeforeItsPublicationStartedIsOfferedAgain() throws Exception {
        Path incoming = Files.createDirectories(tmp.resolve("incoming-a"));
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();   // streamed while the difusor logs
        try (AutoCloseable capture = captureLogs(logged)) {
            // b started first, not ready so that a leads: a's takeover pause (its call timeout, long enough for the Lease
            // to go to b meanwhile) then starts once both run
            kubernetes.setReady("difusor-b", false);
            RunningDifusor b = replica("difusor-b", otherS3Network.uri(), Map.of("difusor.source.kind", "directory",
                    "difusor.source.directory", Files.createDirectories(tmp.resolve("incoming-b")).toString()));
            // a's shutdown at the end comes while its package waits out the takeover pause again: cut short, not waited for
            RunningDifusor a = replica("difusor-a", s3Network.uri(), Map.of("difusor.source.kind", "directory",
                    "difusor.source.directory", incoming.toString(), "difusor.s3.call-timeout-ms", "12000", "camel.main.shutdown-timeout", "1"));
            await().atMost(Duration.ofSeconds(20)).until(() -> leads(a));
            Path pkg = corte(0);
            String name = pkg.getFileName().toString();
            dropWithSidecar(incoming, pkg);
            await().atMost(Duration.ofSeconds(20)).until(() -> keys(HISTORY, "history/").contains("history/" + name));
            kubernetes.setReady("difusor-a", false);
            kubernetes.setReady("difusor-b", true);
            await().atMost(Duration.ofSeconds(15)).until(() -> leads(b) && !leads(a));
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(a.context().getInflightRepository().size())
                    .as("a's exchange ended").isZero());
            assertThat(publishedState()).isEmpty();
            assertThat(incoming.resolve(".held-back").resolve(name)).hasSameBinaryContentAs(pkg);
            assertThat(incoming.resolve(name)).doesNotExist();

            kubernetes.setReady("difusor-a", true);
            kubernetes.setReady("difusor-b", false);
            await().atMost(Duration.ofSeconds(15)).until(() -> leads(a) && !leads(b));
            // dropped into the folder again and taken: in a's pipeline again, which waits out its new takeover pause
            await().atMost(Duration.ofSeconds(30)).until(() -> logged.stream().filter(l -> l.startsWith("package " + name)
                    && l.contains("received in the incoming directory")).count() == 2);
            assertThat(incoming.resolve(".held-back").resolve(name)).doesNotExist();
        }
    }

    /**
     * The leader loses the Lease while CloudFront's answer to its invalidation is held up on the network: once the
     * answer comes, it records nothing (no manifest, no state) over what the new leader does meanwhile, which finishes
     * the publication from the history.
     */
    @Test
    void aLeaderThatLosesTheLeaseWhileItsInvalidationIsHeldUpRecordsNothing() throws Exception {
        try (FaultProxy cdnNetwork = FaultProxy.http("127.0.0.1", cloudFront.endpoint().getPort())) {
            // a's CloudFront calls outlast the answer held up until the lead has changed hands
            RunningDifusor a = replica("difusor-a", s3Network.uri(), Map.of("difusor.cdn.endpoint", cdnNetwork.uri().toString(),
                    "difusor.resume.check-every-ms", "1000", "difusor.cluster.takeover-pause-ms", "0", "difusor.cdn.call-timeout-ms", "45000"));
            await().atMost(Duration.ofSeconds(20)).until(() -> leads(a));
            RunningDifusor b = replica("difusor-b", otherS3Network.uri(), Map.of("difusor.resume.check-every-ms", "1000"));
            cdnNetwork.holdAnswer(r -> r.method().equals("POST") && r.path().endsWith("/invalidation"), 1, Duration.ofSeconds(40));
            Path first = corte(0);
            institute.release(first);
            await().atMost(Duration.ofSeconds(30)).until(() -> cdnNetwork.faultsInjected() == 1);
            java.util.function.Predicate<FaultProxy.RequestHead> stateWrite = r -> r.method().equals("PUT") && r.path().startsWith("/" + HISTORY + "/state/");
            int stateWrites = s3Network.requests(stateWrite);

            kubernetes.setReady("difusor-a", false);
            await().atMost(Duration.ofSeconds(15)).until(() -> leads(b) && !leads(a));
            // a's invalidation answer arrives only now, and a's exchange ends at its lead check before the record
            cdnNetwork.releaseAnswers();
            assertThat(cdnNetwork.answersTimedOut()).as("answers let go before the hand-over").isZero();
            await().atMost(Duration.ofSeconds(40)).until(() -> a.context().getInflightRepository().size() == 0);
            assertThat(s3Network.requests(stateWrite)).as("state and manifest writes of the former leader").isEqualTo(stateWrites);

            awaitPublished(first);
            assertSiteEquals(first);
            assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        }
    }

    /**
     * The leader loses the Lease while S3's answer to its site manifest, the record step's first write, is held up:
     * once the answer comes it writes neither the package's outcome record nor the state (one lead check before the
     * record covered all three writes, each as long as an S3 call may take, where the new leader waits for one; the
     * late state landed over the new leader's). The new leader finishes the publication from the history.
     */
    @Test
    void aLeaderThatLosesTheLeaseWhileItsManifestIsHeldUpWritesNoStateAfterIt() throws Exception {
        Replicas replicas = leaderWhoseCallsOutlastAHeldAnswer();
        RunningDifusor a = replicas.leader();
        RunningDifusor b = replicas.standby();
        s3Network.holdAnswer(r -> r.method().equals("PUT") && r.path().startsWith("/" + HISTORY + "/state/site-manifest"), 1,
                Duration.ofSeconds(100));
        Path first = corte(0);
        String name = first.getFileName().toString();
        institute.release(first);
        await().atMost(Duration.ofSeconds(60)).until(() -> s3Network.faultsInjected() == 1);
        java.util.function.Predicate<FaultProxy.RequestHead> stateWrite = r -> r.method().equals("PUT")
                && r.path().equals("/" + HISTORY + "/state/published.json");
        java.util.function.Predicate<FaultProxy.RequestHead> outcomeWrite = r -> r.method().equals("PUT")
                && r.path().equals("/" + HISTORY + "/history/" + name + ".json");
        int stateWrites = s3Network.requests(stateWrite);
        int outcomeWrites = s3Network.requests(outcomeWrite);

        kubernetes.setReady("difusor-a", false);
        await().atMost(Duration.ofSeconds(15)).until(() -> leads(b) && !leads(a));
        // a's manifest answer arrives only now, and a's exchange ends at its lead check before the next write
        s3Network.releaseAnswers();
        assertThat(s3Network.answersTimedOut()).as("answers let go before the hand-over").isZero();
        await().atMost(Duration.ofSeconds(40)).until(() -> a.context().getInflightRepository().size() == 0);
        assertThat(s3Network.requests(outcomeWrite)).as("outcome record written by the former leader").isEqualTo(outcomeWrites);
        assertThat(s3Network.requests(stateWrite)).as("state written by the former leader").isEqualTo(stateWrites);

        awaitPublished(first);
        assertSiteEquals(first);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
    }

    /**
     * The leader loses the Lease while S3's answer to its read of the state, just before it marks the publication
     * under way, is held up: once the answer comes it writes no marker. It wrote back what it had read over the new
     * leader's state, and the marker sent the new leader's resume back to the older corte, over the newer one.
     */
    @Test
    void aLeaderThatLosesTheLeaseWhileItsReadOfTheStateIsHeldUpMarksNothing() throws Exception {
        Replicas replicas = leaderWhoseCallsOutlastAHeldAnswer();
        RunningDifusor a = replicas.leader();
        RunningDifusor b = replicas.standby();
        Path first = corte(0);
        institute.release(first);
        awaitPublished(first);

        // the read of the publish step itself (the plan's before it is not held up: a passed its lead check after it)
        String statePath = "/" + HISTORY + "/state/published.json";
        s3Network.holdAnswer(r -> r.method().equals("GET") && r.path().equals(statePath) && publishing(a), 1,
                Duration.ofSeconds(100));
        java.util.function.Predicate<FaultProxy.RequestHead> stateWrite = r -> r.method().equals("PUT") && r.path().equals(statePath);
        Path second = corte(1);
        institute.release(second);
        await().atMost(Duration.ofSeconds(60)).until(() -> s3Network.faultsInjected() == 1);
        int stateWrites = s3Network.requests(stateWrite);

        kubernetes.setReady("difusor-a", false);
        await().atMost(Duration.ofSeconds(15)).until(() -> leads(b) && !leads(a));
        Path third = corte(2);
        institute.release(third);
        awaitPublished(third);
        // a's answer, the state as it was before third, arrives only now, and a's exchange ends at its lead check before
        // the marker
        s3Network.releaseAnswers();
        assertThat(s3Network.answersTimedOut()).as("answers let go before the new leader's corte").isZero();
        await().atMost(Duration.ofSeconds(40)).until(() -> a.context().getInflightRepository().size() == 0);
        assertThat(s3Network.requests(stateWrite)).as("state written by the former leader").isEqualTo(stateWrites);
        assertThat(publishedState().map(PublishedState::publishing)).isEmpty();
        assertSiteEquals(third);
    }

    private record Replicas(RunningDifusor leader, RunningDifusor standby) {
    }

    /**
     * a leads, b stands by, both resuming a cut-short publication every second. a's calls may take longer than an
     * answer the test holds up (at most 100 s) until the lead has changed hands (a manifest of tens of MB on a slow
     * network); a, the first leader, follows nobody, so it publishes at once (difusor.cluster.takeover-pause-ms 0).
     */
    private Replicas leaderWhoseCallsOutlastAHeldAnswer() throws Exception {
        RunningDifusor a = replica("difusor-a", s3Network.uri(), Map.of("difusor.resume.check-every-ms", "1000",
                "difusor.s3.call-timeout-ms", "120000", "difusor.s3.read-timeout-ms", "110000", "difusor.cluster.takeover-pause-ms", "0"));
        await().atMost(Duration.ofSeconds(20)).until(() -> leads(a));
        RunningDifusor b = replica("difusor-b", otherS3Network.uri(), Map.of("difusor.resume.check-every-ms", "1000"));
        return new Replicas(a, b);
    }

    /** Whether a package of the replica is in its publish route. */
    private static boolean publishing(RunningDifusor replica) {
        return replica.context().getInflightRepository().size("publish") > 0;
    }

    /**
     * The former leader's network to S3 breaks while it uploads: its SDK retries the upload, and the lead goes to the
     * other replica. When the network heals, the retry must not land over what the new leader published meanwhile.
     */
    @Test
    void anUploadTheFormerLeaderWasRetryingDoesNotLandOverTheNewLeadersCorte() throws Exception {
        // a call may take 15 s: longer than the lead takes to change hands and b to publish, were b not to wait it out
        RunningDifusor a = replica("difusor-a", s3Network.uri(), Map.of("difusor.cluster.takeover-pause-ms", "0",
                "difusor.s3.call-timeout-ms", "15000"));
        await().atMost(Duration.ofSeconds(20)).until(() -> leads(a));
        RunningDifusor b = replica("difusor-b", otherS3Network.uri(), Map.of("difusor.s3.call-timeout-ms", "15000"));
        Path first = corte(0);
        institute.release(first);
        awaitPublished(first);

        // a file the next two cortes both change: a's upload of the second corte's is reset on the wire, again and again
        Path second = corte(1);
        Path third = corte(2);
        List<String> changedNext = IncrementalPublishingTest.changed(second, third);
        String contested = IncrementalPublishingTest.changed(first, second).stream()
                .filter(p -> !p.endsWith(".html") && changedNext.contains(p)).findFirst().orElseThrow();
        s3Network.resetMidUpload(r -> r.method().equals("PUT") && r.path().equals("/" + SITE + "/" + contested), FaultProxy.ALWAYS, 16);
        institute.release(second);
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.faultsInjected() >= 2);
        kubernetes.setReady("difusor-a", false);
        await().atMost(Duration.ofSeconds(15)).until(() -> leads(b) && !leads(a));

        // b publishes the third corte; then a's network heals
        institute.release(third);
        awaitPublished(third);
        java.util.function.Predicate<FaultProxy.RequestHead> contestedPut = r -> r.method().equals("PUT")
                && r.path().equals("/" + SITE + "/" + contested);
        int contestedPuts = s3Network.requests(contestedPut);
        s3Network.clearFaults();
        await().atMost(Duration.ofSeconds(40)).until(() -> a.context().getInflightRepository().size() == 0);
        // b waited out a's last call before it wrote: no attempt of a was left to land once the network healed
        assertThat(s3Network.requests(contestedPut)).as("a's PUTs of %s after its network healed", contested).isEqualTo(contestedPuts);
        assertSiteEquals(third);
        assertThat(publishedState().map(PublishedState::packageName)).contains(third.getFileName().toString());
    }

    @Test
    void aPublicationRetriedAfterAnotherWriterPublishedANewerCorteIsStaleNotPublished() throws Exception {
        // a: one S3 attempt per request, and a long pause before its retry channel tries a failed stage again
        RunningDifusor a = unelected("difusor-a", s3Network.uri(), Map.of("difusor.s3.max-attempts", "1",
                "difusor.retry.max-redeliveries", "3", "difusor.retry.initial-delay-ms", "5000", "difusor.retry.max-delay-ms", "5000"));
        // b: another writer of the same site, fed from a folder the test controls
        Path incoming = Files.createDirectories(tmp.resolve("incoming-b"));
        unelected("difusor-b", otherS3Network.uri(), Map.of("difusor.source.kind", "directory",
                "difusor.source.directory", incoming.toString()));
        Path first = corte(0);
        institute.release(first);
        awaitPublished(first);

        // a's pages of the next corte are refused (SlowDown): its publish stage fails and waits for the retry channel
        s3SlowsDownPuts(p -> p.startsWith("/" + SITE + "/") && p.endsWith(".html"), FaultProxy.ALWAYS);
        Path second = corte(1);
        institute.release(second);
        await().atMost(Duration.ofSeconds(30)).until(() -> s3Network.faultsInjected() >= 1);

        // meanwhile b publishes a newer corte
        Path third = corte(2);
        Files.copy(third, incoming.resolve(third.getFileName()));
        Files.writeString(incoming.resolve(third.getFileName() + ".sha256"),
                PrepPackageGenerator.sha256Hex(third) + "  " + third.getFileName() + "\n");
        awaitPublished(third);

        // a's next attempt must see it: the older corte is stale, not published over the newer one
        s3Network.clearFaults();
        String stem = second.getFileName().toString().replace(".zip", "");
        await().atMost(Duration.ofSeconds(30)).until(() -> keys(HISTORY, "quarantine/" + stem + "/").stream()
                .anyMatch(k -> k.endsWith("-stale-corte/report.json")));
        await().atMost(Duration.ofSeconds(30)).until(() -> a.context().getInflightRepository().size() == 0);
        assertSiteEquals(third);
        assertThat(publishedState().map(PublishedState::packageName)).contains(third.getFileName().toString());
        assertThat(keys(HISTORY, "history/")).contains("history/" + second.getFileName());
        // rejected on the first retry, and not retried again: the stale outcome was looked up once
        String outcome = "/" + HISTORY + "/history/" + second.getFileName() + ".json";
        assertThat(s3Network.requests(r -> r.method().equals("HEAD") && r.path().equals(outcome))).isEqualTo(1);
    }

    /**
     * A writer held up past its last checks (a pause, a slow S3: the lead check passed, then its state write took long
     * enough for another process to publish a newer corte) must not write its older corte over the newer state: the
     * state is written only over the version this publication marked (S3's conditional write), and S3 refuses it.
     */
    @Test
    void aStateWriteHeldUpWhileAnotherWriterPublishedANewerCorteIsRefusedNotWrittenOverIt() throws Exception {
        RunningDifusor a = unelected("difusor-a", s3Network.uri(), Map.of());
        Path incoming = Files.createDirectories(tmp.resolve("incoming-b"));
        unelected("difusor-b", otherS3Network.uri(), Map.of("difusor.source.kind", "directory", "difusor.source.directory", incoming.toString()));
        Path first = corte(0);
        institute.release(first);
        awaitPublished(first);

        // a's next state write after its marker, the record's, held on the network
        StatePuts statePuts = new StatePuts();
        s3Network.holdRequest(statePuts.nth(2), 1, Duration.ofSeconds(60));
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = captureLogs(logged)) {
            Path second = corte(1);
            institute.release(second);
            await().atMost(Duration.ofSeconds(30)).until(() -> statePuts.seen() >= 2);

            // meanwhile b publishes a newer corte
            Path third = corte(2);
            dropWithSidecar(incoming, third);
            awaitPublished(third);

            s3Network.releaseHolds();
            await().atMost(Duration.ofSeconds(30)).until(() -> logged.stream().anyMatch(l -> l.contains(second.getFileName().toString())
                    && l.contains("lost the lead at step record") && l.contains("was written by another process since this one read it")));
            await().atMost(Duration.ofSeconds(30)).until(() -> a.context().getInflightRepository().size() == 0);
            assertThat(publishedState().map(PublishedState::packageName)).contains(third.getFileName().toString());
            assertThat(publishedState().map(PublishedState::publishing)).isEmpty();
            assertSiteEquals(third);
        }
    }
}
