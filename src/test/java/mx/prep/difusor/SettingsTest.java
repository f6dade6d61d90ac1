package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

/** The configuration contract: application.properties, overridden by -D system properties and environment variables. */
class SettingsTest {

    /** Prints one resolved key, as the service would see it; run in a child JVM with its own environment. */
    public static void main(String[] args) throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            context.getPropertiesComponent().setLocation("file:application.properties");
            try {
                Settings.requireKnownOverrides(context.getPropertiesComponent(), System.getenv(), System.getProperties());
            } catch (IllegalStateException e) {
                System.out.println("resolved=refused: " + e.getMessage());
                return;
            }
            System.out.println("resolved=" + new Settings(context.getPropertiesComponent()).text(args[0]));
        }
    }

    private static String resolvedInChildJvm(List<String> jvmArgs, String envName, String envValue, String key)
            throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmArgs);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), SettingsTest.class.getName(), key));
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
        if (envName != null) {
            builder.environment().put(envName, envValue);
        }
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out.lines().filter(l -> l.startsWith("resolved=")).map(l -> l.substring("resolved=".length())).findFirst().orElse(out);
    }

    /** A prefix S3 would take as it is, but the pod's disk would fold ("q//" into "q/"), is refused at start. */
    @Test
    void aPrefixWithAnEmptyOrDotSegmentIsRefused() throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            java.util.Properties given = new java.util.Properties();
            given.put("a", "/quarantine");
            given.put("b", "prep2024/quarantine/");
            given.put("c", "");
            given.put("d", "q//x/");
            given.put("e", "./q/");
            given.put("f", "q/../x");
            context.getPropertiesComponent().setInitialProperties(given);
            Settings settings = new Settings(context.getPropertiesComponent());
            assertThat(settings.prefix("a")).isEqualTo("quarantine/");
            assertThat(settings.prefix("b")).isEqualTo("prep2024/quarantine/");
            assertThat(settings.prefix("c")).isEmpty();
            for (String key : List.of("d", "e", "f")) {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> settings.prefix(key)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("configuration key " + key).hasMessageContaining(given.getProperty(key));
            }
        }
    }

    @Test
    void theFileGivesTheDefault() throws Exception {
        assertThat(resolvedInChildJvm(List.of(), null, null, "difusor.history.prefix")).isEqualTo("history/");
    }

    @Test
    void aSystemPropertyOverridesTheFile() throws Exception {
        assertThat(resolvedInChildJvm(List.of("-Ddifusor.site.bucket=from-jvm"), null, null, "difusor.site.bucket")).isEqualTo("from-jvm");
    }

    @Test
    void anEnvironmentVariableOverridesTheFileAsKubernetesUsersExpect() throws Exception {
        assertThat(Settings.envName("difusor.cdn.distribution-ids")).isEqualTo("DIFUSOR_CDN_DISTRIBUTION_IDS");
        assertThat(resolvedInChildJvm(List.of(), "DIFUSOR_CDN_DISTRIBUTION_IDS", "E1,E2", "difusor.cdn.distribution-ids"))
                .isEqualTo("E1,E2");
    }

    @Test
    void aMisspeltEnvironmentVariableStopsTheStartAndNamesTheKeyMeant() throws Exception {
        assertThat(resolvedInChildJvm(List.of(), "DIFUSOR_SOURCE_POLLCRON", "0/15 * * * * ?", "difusor.source.poll-cron"))
                .isEqualTo("refused: configuration: the environment variable DIFUSOR_SOURCE_POLLCRON names no key (DIFUSOR_SOURCE_POLL_CRON?)");
    }

    /**
     * There is no switch that lets plain http:// through (it was "tests only", and no test used it): the variable an
     * operator might set in an outage stops the start instead of sending the manifest, checksum and zip in the clear.
     */
    @Test
    void noSettingLetsPlainHttpThrough() throws Exception {
        assertThat(resolvedInChildJvm(List.of(), "DIFUSOR_SOURCE_ALLOW_PLAIN_HTTP", "true", "difusor.source.manifest-url"))
                .startsWith("refused: configuration: the environment variable DIFUSOR_SOURCE_ALLOW_PLAIN_HTTP names no key");
    }

    @Test
    void aMisspeltSystemPropertyStopsTheStart() throws Exception {
        assertThat(resolvedInChildJvm(List.of("-Ddifusor.site.buckets=from-jvm"), null, null, "difusor.site.bucket"))
                .startsWith("refused: configuration: the system property difusor.site.buckets names no key");
    }

    /** A Secret's trailing newline (kubectl create secret --from-file) where Java reads the key, which strips it. */
    @Test
    void blanksAroundAValueOnlyJavaReadsAreHarmless() {
        assertThat(Settings.strayOverrides(java.util.Set.of("difusor.jolokia.password"),
                java.util.Map.of("DIFUSOR_JOLOKIA_PASSWORD", "s3cret\n"), new java.util.Properties())).isEmpty();
    }

    /** The keys whose blanks stop the start are exactly those the routes read as placeholders. */
    @Test
    void theKeysReadByRoutesAreTheRoutesPlaceholders() throws IOException {
        java.util.Set<String> placeholders = new java.util.TreeSet<>();
        try (var routes = java.nio.file.Files.list(Path.of("routes"))) {
            for (Path route : routes.toList()) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\{\\{(difusor\\.[a-z0-9.-]+)}}")
                        .matcher(java.nio.file.Files.readString(route));
                while (m.find()) {
                    placeholders.add(m.group(1));
                }
            }
        }
        assertThat(Settings.READ_BY_ROUTES).containsExactlyInAnyOrderElementsOf(placeholders);
    }

    @Test
    void anEnvironmentValueWithBlanksAroundItStopsTheStart() throws Exception {
        // read by a route's placeholder as it is: "manifest " is no source kind any poll route starts for
        assertThat(resolvedInChildJvm(List.of(), "DIFUSOR_SOURCE_KIND", "manifest ", "difusor.source.kind"))
                .isEqualTo("refused: configuration: the environment variable DIFUSOR_SOURCE_KIND has blanks around its value");
    }

    @Test
    void variablesKubernetesSetsForAServiceAreNoTypos() {
        java.util.Properties none = new java.util.Properties();
        var keys = java.util.Set.of("difusor.status.port", "difusor.source.kind");
        // a Service named difusor-web
        assertThat(Settings.strayOverrides(keys, java.util.Map.of("DIFUSOR_WEB_SERVICE_HOST", "10.0.0.1", "DIFUSOR_WEB_SERVICE_PORT_HTTP",
                "8080", "DIFUSOR_WEB_PORT_8080_TCP_ADDR", "10.0.0.1", "DIFUSOR_WEB_PORT_8080_TCP_PROTO", "tcp", "DIFUSOR_WEB_PORT",
                "tcp://10.0.0.1:8080", "PATH", "/bin"), none)).isEmpty();
        // a name of that shape with another value is a typo
        assertThat(Settings.strayOverrides(keys, java.util.Map.of("DIFUSOR_JOLOKIA_PORT", "eight"), none)).hasSize(1);
        assertThat(Settings.strayOverrides(keys, java.util.Map.of("DIFUSOR_SOURCE_KINDS", "manifest"), none))
                .containsExactly("the environment variable DIFUSOR_SOURCE_KINDS names no key (application.properties lists every key)");
    }

    /** A stalled S3 connection is tried again by the SDK within the call's bound, not after it by the retry channel. */
    @Test
    void theShippedS3ReadTimeoutLeavesTheCallRoomForAnotherAttempt() throws IOException {
        java.util.Properties shipped = new java.util.Properties();
        try (var in = java.nio.file.Files.newBufferedReader(Path.of("application.properties"), StandardCharsets.UTF_8)) {
            shipped.load(in);
        }
        long read = Long.parseLong(shipped.getProperty("difusor.s3.read-timeout-ms").strip());
        long call = Long.parseLong(shipped.getProperty("difusor.s3.call-timeout-ms").strip());
        assertThat(2 * read).as("two stalled attempts within difusor.s3.call-timeout-ms").isLessThan(call);
    }
}
