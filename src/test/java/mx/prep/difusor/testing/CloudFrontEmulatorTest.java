package mx.prep.difusor.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import mx.prep.difusor.testing.CloudFrontEmulator.ReceivedInvalidation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.cloudfront.CloudFrontClient;
import software.amazon.awssdk.services.cloudfront.model.BatchTooLargeException;
import software.amazon.awssdk.services.cloudfront.model.CloudFrontException;
import software.amazon.awssdk.services.cloudfront.model.CreateInvalidationResponse;
import software.amazon.awssdk.services.cloudfront.model.GetInvalidationResponse;
import software.amazon.awssdk.services.cloudfront.model.InconsistentQuantitiesException;
import software.amazon.awssdk.services.cloudfront.model.InvalidArgumentException;
import software.amazon.awssdk.services.cloudfront.model.NoSuchDistributionException;
import software.amazon.awssdk.services.cloudfront.model.NoSuchInvalidationException;
import software.amazon.awssdk.services.cloudfront.model.TooManyInvalidationsInProgressException;

/** Drives the real AWS SDK v2 CloudFront client against the emulator. */
class CloudFrontEmulatorTest {

    private static final String DIST = "E2EXAMPLE12345";

    private static CloudFrontEmulator emulator;
    private CloudFrontClient client;

    @BeforeAll
    static void startEmulator() {
        emulator = CloudFrontEmulator.start();
        emulator.addDistribution(DIST);
    }

    @AfterAll
    static void stopEmulator() {
        emulator.close();
    }

    @BeforeEach
    void newClient() {
        emulator.reset();
        client = CloudFrontClient.builder()
                .endpointOverride(emulator.endpoint())
                .region(Region.AWS_GLOBAL)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .httpClientBuilder(Apache5HttpClient.builder()) // the HTTP client prep-difusor uses
                .build();
    }

    @AfterEach
    void closeClient() {
        client.close();
    }

    private CreateInvalidationResponse invalidate(String distributionId, String callerReference, String... paths) {
        return client.createInvalidation(r -> r.distributionId(distributionId)
                .invalidationBatch(b -> b.callerReference(callerReference)
                        .paths(p -> p.quantity(paths.length).items(paths))));
    }

    @Test
    void createReturnsIdAndWireRequestCarriesReferenceAndPaths() {
        CreateInvalidationResponse response = invalidate(DIST, "ref-1", "/index.html", "/data/*");

        String id = response.invalidation().id();
        assertThat(id).matches("I[A-Z0-9]{13}");
        assertThat(response.invalidation().status()).isEqualTo("InProgress");
        assertThat(response.invalidation().createTime()).isNotNull();
        assertThat(response.invalidation().invalidationBatch().paths().items())
                .containsExactly("/index.html", "/data/*");
        assertThat(response.location()).endsWith("/2020-05-31/distribution/" + DIST + "/invalidation/" + id);

        assertThat(emulator.requests()).singleElement().satisfies(req -> {
            assertThat(req.distributionId()).isEqualTo(DIST);
            assertThat(req.callerReference()).isEqualTo("ref-1");
            assertThat(req.paths()).containsExactly("/index.html", "/data/*");
            assertThat(req.responseStatus()).isEqualTo(201);
            assertThat(req.invalidationId()).isEqualTo(id);
            // With endpointOverride the SDK scopes the signature to "aws-global", not us-east-1.
            assertThat(req.header("authorization")).startsWith("AWS4-HMAC-SHA256 Credential=test/")
                    .contains("/cloudfront/aws4_request");
            assertThat(req.header("X-Amz-Date")).isNotBlank();
            assertThat(req.header("Content-Type")).contains("xml");
            assertThat(req.rawBody()).contains("<CallerReference>ref-1</CallerReference>");
        });
        assertThat(emulator.created(DIST)).extracting(ReceivedInvalidation::invalidationId).containsExactly(id);
    }

    @Test
    void sameReferenceAndPathsReturnsExistingInvalidation() {
        String first = invalidate(DIST, "ref-2", "/a", "/b").invalidation().id();
        CreateInvalidationResponse again = invalidate(DIST, "ref-2", "/a", "/b");

        assertThat(again.invalidation().id()).isEqualTo(first);
        assertThat(emulator.requests()).hasSize(2)
                .extracting(ReceivedInvalidation::invalidationId).containsOnly(first);
        assertThat(emulator.created(DIST)).hasSize(1);
    }

    @Test
    void sameReferenceWithDifferentPathsIsRejected() {
        invalidate(DIST, "ref-3", "/a");

        // SDK 2.57.8 has no modeled InvalidationBatchAlreadyExistsException: it surfaces as the
        // service's base exception carrying the CloudFront error code.
        assertThatThrownBy(() -> invalidate(DIST, "ref-3", "/b"))
                .isExactlyInstanceOf(CloudFrontException.class)
                .satisfies(e -> {
                    CloudFrontException cfe = (CloudFrontException) e;
                    assertThat(cfe.statusCode()).isEqualTo(409);
                    assertThat(cfe.awsErrorDetails().errorCode()).isEqualTo("InvalidationBatchAlreadyExists");
                });
        assertThat(emulator.created(DIST)).hasSize(1);
        // 409 is not retryable: exactly one attempt for the rejected call.
        assertThat(emulator.requests()).hasSize(2);
    }

    @Test
    void callerReferenceIsScopedPerDistribution() {
        emulator.addDistribution("EOTHER");
        String a = invalidate(DIST, "ref-shared", "/a").invalidation().id();
        String b = invalidate("EOTHER", "ref-shared", "/b").invalidation().id();

        assertThat(a).isNotEqualTo(b);
        assertThat(emulator.created(DIST)).hasSize(1);
        assertThat(emulator.created("EOTHER")).hasSize(1);
    }

    @Test
    void concurrentDuplicatesCreateOneInvalidation() throws Exception {
        int callers = 8;
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<String>> ids = new ArrayList<>();
            for (int i = 0; i < callers; i++) {
                ids.add(pool.submit(() -> {
                    go.await();
                    return invalidate(DIST, "ref-concurrent", "/a", "/b").invalidation().id();
                }));
            }
            go.countDown();
            Set<String> distinct = new HashSet<>();
            for (Future<String> id : ids) {
                distinct.add(id.get(30, TimeUnit.SECONDS));
            }
            assertThat(distinct).hasSize(1);
            assertThat(emulator.requests()).hasSize(callers);
            assertThat(emulator.created(DIST)).hasSize(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void unknownDistributionIsNoSuchDistribution() {
        assertThatThrownBy(() -> invalidate("EUNKNOWN", "ref-4", "/a"))
                .isInstanceOf(NoSuchDistributionException.class)
                .satisfies(e -> assertThat(((CloudFrontException) e).statusCode()).isEqualTo(404));
        assertThat(emulator.requests()).singleElement()
                .satisfies(r -> assertThat(r.errorCode()).isEqualTo("NoSuchDistribution"));
        assertThat(emulator.created("EUNKNOWN")).isEmpty();
    }

    @Test
    void serviceUnavailableIsRetriedBySdkThenSucceeds() {
        emulator.failNext(1, 503, "ServiceUnavailable");

        String id = invalidate(DIST, "ref-5", "/a").invalidation().id();

        List<ReceivedInvalidation> wire = emulator.requests();
        assertThat(wire).hasSize(2);
        assertThat(wire.get(0).responseStatus()).isEqualTo(503);
        assertThat(wire.get(0).errorCode()).isEqualTo("ServiceUnavailable");
        assertThat(wire.get(1).responseStatus()).isEqualTo(201);
        assertThat(wire.get(1).invalidationId()).isEqualTo(id);
        // Same logical call, second attempt.
        assertThat(wire.get(1).header("amz-sdk-invocation-id")).isEqualTo(wire.get(0).header("amz-sdk-invocation-id"));
        assertThat(wire.get(0).header("amz-sdk-request")).contains("attempt=1");
        assertThat(wire.get(1).header("amz-sdk-request")).contains("attempt=2");
        assertThat(emulator.created(DIST)).hasSize(1);
    }

    @Test
    void persistentServiceUnavailableExhaustsDefaultRetries() {
        emulator.failNext(5, 503, "ServiceUnavailable");

        assertThatThrownBy(() -> invalidate(DIST, "ref-6", "/a"))
                .isInstanceOf(CloudFrontException.class)
                .satisfies(e -> assertThat(((CloudFrontException) e).statusCode()).isEqualTo(503));
        // The SDK announces its attempt budget in amz-sdk-request ("attempt=N; max=M"); the
        // default (legacy) mode in 2.57.8 allows 4 attempts, AWS_RETRY_MODE=standard allows 3.
        List<ReceivedInvalidation> wire = emulator.requests();
        String lastAttempt = wire.get(wire.size() - 1).header("amz-sdk-request");
        int maxAttempts = Integer.parseInt(lastAttempt.replaceAll(".*max=(\\d+).*", "$1"));
        assertThat(maxAttempts).isGreaterThan(1);
        assertThat(wire).hasSize(maxAttempts)
                .extracting(ReceivedInvalidation::responseStatus).containsOnly(503);
        assertThat(lastAttempt).contains("attempt=" + maxAttempts);
        assertThat(emulator.created(DIST)).isEmpty();
    }

    @Test
    void throttlingIsRetriedButTooManyInvalidationsIsNot() {
        emulator.failNext(1, 400, "Throttling");
        invalidate(DIST, "ref-7", "/a");
        assertThat(emulator.requests()).extracting(ReceivedInvalidation::responseStatus).containsExactly(400, 201);

        emulator.reset();
        emulator.failNext(1, 400, "TooManyInvalidationsInProgress");
        assertThatThrownBy(() -> invalidate(DIST, "ref-8", "/a"))
                .isInstanceOf(TooManyInvalidationsInProgressException.class);
        assertThat(emulator.requests()).hasSize(1);
    }

    @Test
    void getInvalidationReportsProgressThenCompletion() {
        String id = invalidate(DIST, "ref-9", "/x").invalidation().id();

        GetInvalidationResponse before = client.getInvalidation(r -> r.distributionId(DIST).id(id));
        assertThat(before.invalidation().id()).isEqualTo(id);
        assertThat(before.invalidation().status()).isEqualTo("InProgress");
        assertThat(before.invalidation().invalidationBatch().callerReference()).isEqualTo("ref-9");

        emulator.completeAll();
        GetInvalidationResponse after = client.getInvalidation(r -> r.distributionId(DIST).id(id));
        assertThat(after.invalidation().status()).isEqualTo("Completed");

        assertThatThrownBy(() -> client.getInvalidation(r -> r.distributionId(DIST).id("INOTTHERE0000X")))
                .isInstanceOf(NoSuchInvalidationException.class);
    }

    @Test
    void malformedBatchesAreRejectedOnTheWire() {
        assertThatThrownBy(() -> invalidate(DIST, "ref-10", "no-leading-slash"))
                .isInstanceOf(InvalidArgumentException.class);
        assertThatThrownBy(() -> invalidate(DIST, "", "/a"))
                .isInstanceOf(InvalidArgumentException.class);
        assertThatThrownBy(() -> client.createInvalidation(r -> r.distributionId(DIST)
                        .invalidationBatch(b -> b.callerReference("ref-11").paths(p -> p.quantity(2).items("/a")))))
                .isInstanceOf(InconsistentQuantitiesException.class);
        List<String> tooMany = new ArrayList<>();
        for (int i = 0; i <= CloudFrontEmulator.MAX_PATHS_PER_BATCH; i++) {
            tooMany.add("/f" + i);
        }
        assertThatThrownBy(() -> invalidate(DIST, "ref-12", tooMany.toArray(String[]::new)))
                .isInstanceOf(BatchTooLargeException.class);
        List<String> wildcards = new ArrayList<>();
        for (int i = 0; i <= CloudFrontEmulator.MAX_WILDCARDS_IN_PROGRESS; i++) {
            wildcards.add("/d" + i + "/*");
        }
        assertThatThrownBy(() -> invalidate(DIST, "ref-13", wildcards.toArray(String[]::new)))
                .isInstanceOf(TooManyInvalidationsInProgressException.class);
        assertThatThrownBy(() -> invalidate(DIST, "ref-14", "/assets/vendors~main.js"))
                .isInstanceOf(InvalidArgumentException.class);
        assertThatThrownBy(() -> invalidate(DIST, "ref-15", "/data/a*b.json"))
                .isInstanceOf(InvalidArgumentException.class);
        assertThat(emulator.created(DIST)).isEmpty();
        assertThat(emulator.requests()).extracting(ReceivedInvalidation::errorCode)
                .containsExactly("InvalidArgument", "InvalidArgument", "InconsistentQuantities", "BatchTooLarge", "TooManyInvalidationsInProgress",
                        "InvalidArgument", "InvalidArgument");
    }

    @Test
    void unsignedOrNonXmlRequestsAreRejected() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        URI uri = URI.create(emulator.endpoint() + "/2020-05-31/distribution/" + DIST + "/invalidation");
        String body = "<InvalidationBatch xmlns=\"" + CloudFrontEmulator.XML_NAMESPACE + "\"><Paths><Quantity>1"
                + "</Quantity><Items><Path>/a</Path></Items></Paths><CallerReference>raw</CallerReference>"
                + "</InvalidationBatch>";

        HttpResponse<String> unsigned = http.send(HttpRequest.newBuilder(uri)
                .header("Content-Type", "application/xml")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(unsigned.statusCode()).isEqualTo(403);
        assertThat(unsigned.body()).contains("<Code>MissingAuthenticationToken</Code>");

        String fakeAuth = "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/cloudfront/aws4_request, "
                + "SignedHeaders=host;x-amz-date, Signature=" + "0".repeat(64);
        HttpResponse<String> json = http.send(HttpRequest.newBuilder(uri)
                .header("Content-Type", "application/json")
                .header("Authorization", fakeAuth)
                .header("X-Amz-Date", "20250101T000000Z")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(json.statusCode()).isEqualTo(400);
        assertThat(json.body()).contains("<Type>Sender</Type>", "<Code>InvalidArgument</Code>", "<RequestId>");

        assertThat(emulator.requests()).hasSize(2);
        assertThat(emulator.created(DIST)).isEmpty();
    }
}
