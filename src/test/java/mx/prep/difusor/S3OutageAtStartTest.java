package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.apache.camel.ServiceStatus;
import org.apache.camel.builder.NotifyBuilder;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckHelper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import mx.prep.difusor.testing.FaultProxy;

/**
 * A process started while S3 does not answer (an outage, a network partition, STS down) starts anyway: alive, not
 * ready, and once S3 answers again it publishes without a restart. It used to fail its start (the aws2-s3 endpoints
 * asked S3 for their bucket as their route started), and Kubernetes restarted it in CrashLoopBackOff for up to 5
 * minutes after S3 was back.
 */
class S3OutageAtStartTest extends PipelineTestBase {

    /**
     * @param fault reset: every connection to S3 reset as its request arrives (S3 or STS refusing, a route gone);
     *        stalled: requests held unanswered (a partition dropping packets), which before the fix also held the
     *        start for the S3 call timeout, per endpoint
     */
    @ParameterizedTest
    @ValueSource(strings = { "reset", "stalled" })
    void aDifusorStartedWhileS3IsUnreachableStartsNotReadyAndPublishesOnceS3IsBack(String fault) throws Exception {
        Path pkg = corte(0);
        institute.release(pkg);
        var settings = settings();
        if (fault.equals("reset")) {
            s3Network.reset(FaultProxy.anyRequest(), FaultProxy.ALWAYS);
        } else {
            s3Network.holdRequest(FaultProxy.anyRequest(), FaultProxy.ALWAYS, Duration.ofMinutes(5));
            // each poll's question to the history gives up sooner than production's 60 s
            settings.put("difusor.s3.call-timeout-ms", "2000");
        }

        startDifusor(settings);

        // every route started, the publishing ones included: nothing waits for a restart
        assertThat(difusor.context().getRoutes()).isNotEmpty().allSatisfy(r -> assertThat(
                difusor.context().getRouteController().getRouteStatus(r.getRouteId())).as(r.getRouteId()).isEqualTo(ServiceStatus.Started));
        // alive (no restart by the liveness probe) and not ready (no Lease, no traffic): S3 never answered
        assertThat(HealthCheckHelper.invokeLiveness(difusor.context())).isNotEmpty()
                .allSatisfy(r -> assertThat(r.getState()).as(r.getCheck().getId()).isEqualTo(HealthCheck.State.UP));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(readiness().getState()).isEqualTo(HealthCheck.State.DOWN));
        // stalled: "did not answer within 2000 ms" or the call's timeout, whichever the probe saw first
        assertThat(readiness().getMessage()).get().asString().contains("not ready");
        // as the kubelet sees it, on the management port: the startup and liveness probes pass, readiness does not
        int port = Integer.parseInt(settings.get("camel.management.port"));
        assertThat(probe(port, "/observe/health/live").statusCode()).isEqualTo(200);
        assertThat(probe(port, "/observe/health/ready").statusCode()).isEqualTo(503);

        // the poll runs meanwhile (without leader election; with it, a pod that is not ready does not lead), but
        // whether the offer is new is asked of the history: no package is taken while S3 could not keep it
        String name = pkg.getFileName().toString();
        NotifyBuilder polled = new NotifyBuilder(difusor.context()).fromRoute("poll-manifest").whenCompleted(3).create();
        assertThat(polled.matches(30, TimeUnit.SECONDS)).isTrue();
        assertThat(institute.requestCount("/" + name)).isZero();
        assertThat(readiness().getState()).isEqualTo(HealthCheck.State.DOWN);
        assertThat(cloudFront.created(DISTRIBUTION)).isEmpty();

        // S3 answers again: the same process publishes the package, end to end, and turns ready
        s3Network.clearFaults();
        s3Network.releaseHolds();
        awaitPublished(pkg);
        assertSiteEquals(pkg);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name)).asByteArray()).isEqualTo(Files.readAllBytes(pkg));
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(1);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        await().atMost(Duration.ofSeconds(10)).until(() -> readiness().getState() == HealthCheck.State.UP);
        assertThat(probe(port, "/observe/health/ready").statusCode()).isEqualTo(200);
    }

    private HealthCheck.Result readiness() {
        return HealthCheckHelper.invokeReadiness(difusor.context()).stream()
                .filter(r -> r.getCheck().getId().equals("published-state")).findFirst().orElseThrow();
    }

    private static HttpResponse<String> probe(int port, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
