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

    @Test
    void theFileGivesTheDefault() throws Exception {
        assertThat(resolvedInChildJvm(List.of(), null, null, "difusor.site.bucket")).isEqualTo("prep-site");
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
}
