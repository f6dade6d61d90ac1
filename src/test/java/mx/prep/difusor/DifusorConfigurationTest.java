package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

class DifusorConfigurationTest {

    @Test
    void theInvalidationPathBudgetIsSharedByTheDistributions() {
        assertThat(DifusorConfiguration.invalidationPaths(10, 1)).isEqualTo(10);
        assertThat(DifusorConfiguration.invalidationPaths(10, 2)).isEqualTo(5);
        assertThat(DifusorConfiguration.invalidationPaths(3000, 4)).isEqualTo(750);
    }

    @Test
    void moreThanCloudFrontTakesInOneInvalidationIsRefusedAtStart() {
        assertThatThrownBy(() -> DifusorConfiguration.invalidationPaths(3001, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("difusor.cdn.max-paths");
        assertThatThrownBy(() -> DifusorConfiguration.invalidationPaths(0, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * A CloudFront API that accepts the connection and never answers: the call ends at its own timeout, retries and all.
     * Without one it waited for the SDK's socket timeouts, attempt after attempt, inside the package's turn.
     */
    @Test
    void aCloudFrontCallThatGetsNoAnswerEndsAtItsTimeout() throws Exception {
        try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
                var client = DifusorConfiguration.cloudFrontClient("http://127.0.0.1:" + silent.getLocalPort(), java.time.Duration.ofSeconds(1),
                        software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                                software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create("AKIDEXAMPLE", "secret")))) {
            assertThatThrownBy(() -> client.createInvalidation(b -> b.distributionId("E2PREPJAL2024").invalidationBatch(i -> i
                    .callerReference("test").paths(p -> p.quantity(1).items("/index.html")))))
                    .isInstanceOf(software.amazon.awssdk.core.exception.ApiCallTimeoutException.class);
        }
    }

    private static final java.util.Map<String, String> HISTORY_KEYS = java.util.Map.of("difusor.history.prefix", "history/",
            "difusor.quarantine.prefix", "quarantine/", "difusor.state.key", "state/published.json");

    @Test
    void aSourceOverHttpsWithoutAllowedHostsIsWarnedOfAtStart() {
        assertThat(DifusorConfiguration.anyHostWarning("manifest", List.of())).get().asString().contains("difusor.source.allowed-hosts is empty");
        assertThat(DifusorConfiguration.anyHostWarning("package-url", List.of(" "))).isPresent();
        assertThat(DifusorConfiguration.anyHostWarning("manifest", List.of("prep.iepcjalisco.org.mx"))).isEmpty();
        // the folder and the incoming bucket are not reached by a URL someone else writes
        assertThat(DifusorConfiguration.anyHostWarning("directory", List.of())).isEmpty();
        assertThat(DifusorConfiguration.anyHostWarning("bucket", List.of())).isEmpty();
    }

    @Test
    void theHistoryInsideThePublicSiteIsRefusedAtStart() {
        // the site at the root of the history's bucket: the prune would delete the state, CloudFront would serve the quarantine
        assertThatThrownBy(() -> DifusorConfiguration.requireApartFromTheSite("prep", "", "prep", HISTORY_KEYS, ""))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("difusor.history.prefix ('history/')");
        assertThatThrownBy(() -> DifusorConfiguration.requireApartFromTheSite("prep", "state/", "prep", HISTORY_KEYS, ""))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("difusor.state.key");
        // a history prefix that holds the site: listing the history would take in the site
        assertThatThrownBy(() -> DifusorConfiguration.requireApartFromTheSite("prep", "history/site/", "prep", HISTORY_KEYS, ""))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("difusor.history.prefix");
    }

    /**
     * The start check knows every prefix and key the difusor writes in the history bucket (those of application.properties
     * that are no site, source or CDN path and no secret): the probe's views were missing, and a views prefix inside the
     * site started without a word, its files pruned and served by CloudFront.
     */
    @Test
    void everyPlaceTheDifusorWritesInTheHistoryBucketIsKeptApartFromTheSite() throws Exception {
        java.util.Properties file = new java.util.Properties();
        try (var in = java.nio.file.Files.newBufferedReader(java.nio.file.Path.of("application.properties"), java.nio.charset.StandardCharsets.UTF_8)) {
            file.load(in);
        }
        List<String> notInTheHistory = List.of("difusor.site.prefix", "difusor.source.bucket-prefix", "difusor.cdn.path-prefix",
                "difusor.probe.signing-key");
        List<String> written = file.stringPropertyNames().stream().filter(k -> k.matches("difusor\\..*[.-](prefix|key)"))
                .filter(k -> !notInTheHistory.contains(k)).toList();
        try (var camel = new org.apache.camel.impl.DefaultCamelContext()) {
            camel.getPropertiesComponent().setInitialProperties(file);
            camel.start();
            java.util.Map<String, String> keys = DifusorConfiguration.historyKeys(new Settings(camel.getPropertiesComponent()));
            assertThat(keys.keySet()).containsExactlyInAnyOrderElementsOf(written).contains("difusor.probe.views-prefix");
            assertThatThrownBy(() -> DifusorConfiguration.requireApartFromTheSite("prep", "probe-views/", "prep", keys, ""))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("difusor.probe.views-prefix ('probe-views/')");
        }
        // no views kept: nothing to keep apart (an empty prefix overlapped every site prefix)
        file.setProperty("difusor.probe.views-prefix", "");
        try (var camel = new org.apache.camel.impl.DefaultCamelContext()) {
            camel.getPropertiesComponent().setInitialProperties(file);
            camel.start();
            java.util.Map<String, String> keys = DifusorConfiguration.historyKeys(new Settings(camel.getPropertiesComponent()));
            assertThat(keys).doesNotContainKey("difusor.probe.views-prefix");
            DifusorConfiguration.requireApartFromTheSite("prep", "site/", "prep", keys, "");
        }
    }

    @Test
    void aHistoryBesideTheSiteIsAccepted() {
        DifusorConfiguration.requireApartFromTheSite("prep", "site/", "prep", HISTORY_KEYS, "");
        DifusorConfiguration.requireApartFromTheSite("prep-site", "", "prep-history", HISTORY_KEYS, "s3://prep-logs/cloudfront/");
        DifusorConfiguration.requireApartFromTheSite("prep", "site/", "prep", HISTORY_KEYS, "s3://prep/logs/");
        DifusorConfiguration.requireApartFromTheSite("prep-site", "", "prep-history", HISTORY_KEYS, "/var/tmp/logs");
    }

    @Test
    void cloudFrontsAccessLogsInsideThePublicSiteAreRefusedAtStart() {
        assertThatThrownBy(() -> DifusorConfiguration.requireApartFromTheSite("prep-site", "", "prep-history", HISTORY_KEYS,
                "s3://prep-site/cf-logs/")).isInstanceOf(IllegalStateException.class).hasMessageContaining("IP addresses");
        assertThatThrownBy(() -> DifusorConfiguration.requireApartFromTheSite("prep-site", "site/", "prep-history", HISTORY_KEYS,
                "s3://prep-site")).isInstanceOf(IllegalStateException.class).hasMessageContaining("difusor.memoria.logs");
    }

    @Test
    void limitsThatWouldStopTheNightAreRefusedAtStart() {
        DifusorConfiguration.requireSensibleLimits(1, 0, 0, 0);
        DifusorConfiguration.requireSensibleLimits(64, 5, 500, 20);
        assertThatThrownBy(() -> DifusorConfiguration.requireSensibleLimits(0, 5, 500, 20)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("difusor.publish.concurrency");
        assertThatThrownBy(() -> DifusorConfiguration.requireSensibleLimits(64, -1, 500, 20)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("difusor.retry.max-redeliveries");
        assertThatThrownBy(() -> DifusorConfiguration.requireSensibleLimits(64, 5, -1, 20)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("difusor.publish.max-deletions");
        assertThatThrownBy(() -> DifusorConfiguration.requireSensibleLimits(64, 5, 500, -1)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("difusor.cdn.busy-retries");
    }

    @Test
    void theOpeningOfThePrepIsADateAndTimeWithItsOffset() {
        assertThat(DifusorConfiguration.opensAt("")).isNull();
        assertThat(DifusorConfiguration.opensAt("2024-06-02T20:00:00-06:00")).isEqualTo(java.time.Instant.parse("2024-06-03T02:00:00Z"));
        // without an offset the hour would be read in whatever zone the pod runs in
        assertThatThrownBy(() -> DifusorConfiguration.opensAt("2024-06-02T20:00")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("difusor.source.opens-at");
        assertThatThrownBy(() -> DifusorConfiguration.opensAt("2 de junio, 20:00")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("difusor.source.opens-at");
    }

    @Test
    void aSiteUnderAPrefixSaysWhereItsDistributionsServeIt() {
        assertThat(DifusorConfiguration.cdnPathPrefix("", "", List.of("E1"))).isEmpty();
        assertThat(DifusorConfiguration.cdnPathPrefix("prep2024/", "/prep2024", List.of("E1"))).isEqualTo("prep2024/");
        assertThat(DifusorConfiguration.cdnPathPrefix("prep2024/", "/", List.of("E1"))).isEmpty();
        // no distribution: nothing is invalidated, nothing to say
        assertThat(DifusorConfiguration.cdnPathPrefix("prep2024/", "", List.of())).isEqualTo("prep2024/");
        assertThatThrownBy(() -> DifusorConfiguration.cdnPathPrefix("prep2024/", "", List.of("E1"))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("difusor.cdn.path-prefix").hasMessageContaining("/prep2024");
    }
}
