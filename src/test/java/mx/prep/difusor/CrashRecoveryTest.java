package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import mx.prep.difusor.embedded.PrepPackageGenerator;
import mx.prep.difusor.testing.FaultProxy.RequestHead;

/**
 * prep-difusor killed with SIGKILL at points of a publication, then started again: it converges. The site ends equal
 * to the newest verified package, the history holds the package whole, nothing is published twice, and no
 * invalidation is created twice.
 */
class CrashRecoveryTest extends PipelineTestBase {

    private Process child;

    @AfterEach
    void killChild() {
        if (child != null) {
            child.destroyForcibly();
        }
    }

    /** The real service in its own JVM, configured with -D overrides only, as an operator would. */
    private Process startChild(String log) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (Map.Entry<String, String> e : settings().entrySet()) {
            command.add("-D" + e.getKey() + "=" + e.getValue());
        }
        command.add("-Daws.accessKeyId=" + mx.prep.difusor.embedded.EmbeddedS3.ACCESS_KEY);
        command.add("-Daws.secretAccessKey=" + mx.prep.difusor.embedded.EmbeddedS3.SECRET_KEY);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), DifusorMain.class.getName()));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(tmp.resolve(log).toFile()).start();
    }

    private static Predicate<RequestHead> killPoint(String where) {
        return switch (where) {
            case "archiving" -> r -> r.method().equals("PUT") && r.path().startsWith("/" + HISTORY + "/history/") && r.path().endsWith(".zip");
            case "uploading" -> new Predicate<>() {
                private int seen;

                @Override
                public boolean test(RequestHead r) {
                    return r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/") && ++seen >= 300;
                }
            };
            case "recording" -> r -> r.method().equals("PUT") && r.path().endsWith("/state/site-manifest.json");
            default -> throw new IllegalArgumentException(where);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = { "archiving", "uploading", "recording" })
    void killedWhilePublishingItConvergesOnRestart(String where) throws Exception {
        Path first = corte(6);
        institute.release(first);
        child = startChild("first-run.log");
        awaitPublished(first);

        Path second = corte(7);
        Predicate<RequestHead> point = killPoint(where);
        int from = s3Network.requests().size();
        institute.release(second);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5))
                .until(() -> {
                    List<RequestHead> seen = s3Network.requests(); // one snapshot: two calls may see different lengths
                    return seen.subList(from, seen.size()).stream().anyMatch(point);
                });
        child.destroyForcibly().waitFor();
        assertThat(publishedState()).get().extracting(s -> s.packageName()).isEqualTo(first.getFileName().toString());

        child = startChild("second-run.log");
        awaitPublished(second);
        assertSiteEquals(second);
        String name = second.getFileName().toString();
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name)).asByteArray()).isEqualTo(Files.readAllBytes(second));
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name + ".sha256")).asUtf8String())
                .startsWith(PrepPackageGenerator.sha256Hex(second));
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(2);
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.publishing()).isNull());
    }
}
