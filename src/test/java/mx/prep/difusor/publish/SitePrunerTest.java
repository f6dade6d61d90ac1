package mx.prep.difusor.publish;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.DeleteObjectsRequest;
import software.amazon.awssdk.services.s3.model.S3Object;

import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.cluster.LeaderCheck;
import mx.prep.difusor.embedded.EmbeddedS3;

/**
 * S3's DeleteObjects takes at most 1,000 keys: a national corte that drops thousands of files (a section renamed, a
 * front-end deploy) is deleted in batches, none over the limit, files gone and leftovers alike. One over it is refused
 * whole (MalformedXML), at every retry of the stage.
 */
class SitePrunerTest {

    private static final String SITE = "prep-site";

    @Test
    void moreThanAThousandFilesGoneAreDeletedInBatchesOfAtMostAThousand() throws Exception {
        List<Integer> batches = new CopyOnWriteArrayList<>();
        ExecutionInterceptor counting = new ExecutionInterceptor() {
            @Override
            public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                if (context.request() instanceof DeleteObjectsRequest delete) {
                    batches.add(delete.delete().objects().size());
                }
            }
        };
        try (EmbeddedS3 s3 = EmbeddedS3.inMemory();
                S3Client client = EmbeddedS3.clientBuilder(s3.endpoint())
                        .overrideConfiguration(c -> c.addExecutionInterceptor(counting)).build();
                DefaultCamelContext camel = new DefaultCamelContext()) {
            s3.createBucket(SITE);
            List<String> gone = IntStream.range(0, 1_200).mapToObj(i -> "data/seccion-" + i + ".json").toList();
            List<String> leftovers = List.of("data/left-over.json");
            List<String> kept = List.of("index.html", "data/corte.json");
            List<String> all = new ArrayList<>(gone);
            all.addAll(leftovers);
            all.addAll(kept);
            all.parallelStream().forEach(p -> client.putObject(b -> b.bucket(SITE).key("sitio/" + p), RequestBody.fromString("{}")));

            PrepPackage pkg = new PrepPackage("PREP2024_JAL_20240602_2000.zip", "x", null, null, "test", Instant.now());
            pkg.plan(new SitePlan(List.of(), gone, leftovers, List.of(), List.of(), 0, false, Map.of(), null, null));
            camel.start();
            new SitePruner(client, SITE, "sitio/", new DifusorMetrics(new SimpleMeterRegistry(), Clock.systemUTC(), ZoneId.of("America/Mexico_City")),
                    100, "/", new LeaderCheck(camel, java.time.Duration.ZERO)).prune(pkg);

            assertThat(batches).containsExactly(1_000, 201);
            assertThat(client.listObjectsV2Paginator(b -> b.bucket(SITE)).contents().stream().map(S3Object::key))
                    .containsExactlyInAnyOrder("sitio/index.html", "sitio/data/corte.json");
            assertThat(pkg.undeleted()).isEmpty();
        }
    }
}
