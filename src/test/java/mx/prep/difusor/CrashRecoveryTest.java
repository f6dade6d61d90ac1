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

    @Override
    Map<String, String> settings() {
        Map<String, String> settings = super.settings();
        settings.put("difusor.resume.check-every-ms", "500");
        return settings;
    }

    /**
     * The real service in its own JVM, configured with -D overrides only, as an operator would: the one that is killed.
     * The runs before and after it are in-process difusors on the same buckets and work folder (a JVM start costs
     * several seconds of the 2 cores; what is tested is what the killed one leaves behind).
     */
    private Process startChild(String log) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // a short-lived JVM beside the test's own: C1 alone starts Camel with less CPU (the killing is the same)
        command.add("-XX:TieredStopAtLevel=1");
        for (Map.Entry<String, String> e : settings().entrySet()) {
            command.add("-D" + e.getKey() + "=" + e.getValue());
        }
        command.add("-Daws.accessKeyId=" + mx.prep.difusor.embedded.EmbeddedS3.ACCESS_KEY);
        command.add("-Daws.secretAccessKey=" + mx.prep.difusor.embedded.EmbeddedS3.SECRET_KEY);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), DifusorMain.class.getName()));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(tmp.resolve(log).toFile()).start();
    }

    private void stopDifusor() throws Exception {
        difusor.close();
        difusor = null;
    }

    /**
     * Where the child is killed: the first request of that point has its answer held, so the child is frozen exactly
     * there (uploads of the pages wait for every asset) until the kill.
     */
    private static Predicate<RequestHead> killPoint(String where) {
        return switch (where) {
            case "archiving" -> r -> r.method().equals("PUT") && r.path().startsWith("/" + HISTORY + "/history/") && r.path().endsWith(".zip");
            case "uploading" -> r -> r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/") && !r.path().endsWith(".html");
            case "recording" -> r -> r.method().equals("PUT") && r.path().endsWith("/state/site-manifest.json");
            default -> throw new IllegalArgumentException(where);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = { "archiving", "uploading", "recording" })
    void killedWhilePublishingItConvergesOnRestart(String where) throws Exception {
        Path first = corte(6);
        institute.release(first);
        startDifusor();
        awaitPublished(first);
        stopDifusor();

        Path second = corte(7);
        String name = second.getFileName().toString();
        int faults = s3Network.faultsInjected();
        s3Network.delayResponse(killPoint(where), 1, Duration.ofSeconds(60));
        institute.release(second);
        child = startChild("killed-run.log");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5)).until(() -> s3Network.faultsInjected() > faults);
        child.destroyForcibly().waitFor();
        s3Network.clearFaults();
        boolean inHistory = !where.equals("archiving");
        assertThat(publishedState()).get().satisfies(s -> {
            assertThat(s.packageName()).isEqualTo(first.getFileName().toString());
            assertThat(s.publishing()).isEqualTo(inHistory ? name : null);
        });
        if (inHistory) {
            // the institute is down from now on: only the history can give the package back (a pod killed during an
            // operator's republish, or an institute that moved on, offers it no more)
            institute.answerNext("", Integer.MAX_VALUE, 503, "text/plain", "mantenimiento");
        }

        startDifusor();
        awaitPublished(second);
        assertSiteEquals(second);
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name)).asByteArray()).isEqualTo(Files.readAllBytes(second));
        assertThat(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name + ".sha256")).asUtf8String())
                .startsWith(PrepPackageGenerator.sha256Hex(second));
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(2);
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.publishing()).isNull());
        // taken back from the history, it was received by the killed process, not again by this one
        assertThat(meters().get("difusor_packages_received_total").counter().count()).isEqualTo(inHistory ? 0 : 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> meters().get("difusor_packages_published_total").counter().count() == 1);
    }

    /**
     * A package whose name holds no corte, announced with its corte by the manifest, killed while uploading: the state
     * recorded its corte with its name, so the restarted service still takes it back from the history and finishes it,
     * instead of leaving the site half old, half new until the next corte (or for good after the last one).
     */
    @org.junit.jupiter.api.Test
    void aPackageNamedWithoutItsCorteIsStillFinishedFromTheHistoryAfterAKill() throws Exception {
        Path first = corte(6);
        institute.release(first);
        startDifusor();
        awaitPublished(first);
        stopDifusor();

        Path second = Files.copy(corte(7), Files.createDirectories(tmp.resolve("named")).resolve("resultados-preliminares.zip"));
        String name = second.getFileName().toString();
        java.util.regex.Matcher stamp = java.util.regex.Pattern.compile("_(\\d{4})(\\d{2})(\\d{2})_(\\d{2})(\\d{2})\\.zip$")
                .matcher(corte(7).getFileName().toString());
        assertThat(stamp.find()).isTrue();
        String corte = stamp.group(1) + "-" + stamp.group(2) + "-" + stamp.group(3) + "T" + stamp.group(4) + ":" + stamp.group(5);
        institute.releaseWithManifest(second, "{\"package\": \"" + name + "\", \"sha256\": \"" + PrepPackageGenerator.sha256Hex(second)
                + "\", \"size\": " + Files.size(second) + ", \"corte\": \"" + corte + "\"}");
        int faults = s3Network.faultsInjected();
        s3Network.delayResponse(killPoint("uploading"), 1, Duration.ofSeconds(60));
        child = startChild("killed-run.log");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5)).until(() -> s3Network.faultsInjected() > faults);
        child.destroyForcibly().waitFor();
        s3Network.clearFaults();
        assertThat(publishedState()).get().satisfies(s -> assertThat(s.publishing()).isEqualTo(name));
        // only the history can give the package back
        institute.answerNext("", Integer.MAX_VALUE, 503, "text/plain", "mantenimiento");

        startDifusor();
        awaitPublished(second);
        assertSiteEquals(second);
        assertThat(keys(HISTORY, "quarantine/")).isEmpty();
        assertThat(publishedState()).get().satisfies(s -> {
            assertThat(s.publishing()).isNull();
            assertThat(s.corteValue()).isEqualTo(mx.prep.difusor.state.Corte.parse(corte));
        });
    }
}
