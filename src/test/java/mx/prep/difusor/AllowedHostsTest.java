package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.Test;

/**
 * difusor.source.allowed-hosts: a manifest changed by someone else must not send the difusor to fetch, and publish, a
 * package from anywhere. The institute simulator answers as localhost and as 127.0.0.1 (its certificate names both):
 * two hosts, one allowed.
 */
class AllowedHostsTest extends PipelineTestBase {

    private URI at127(String pathAndName) {
        return URI.create("https://127.0.0.1:" + institute.port() + pathAndName);
    }

    @Test
    void aManifestNamingAPackageOnAHostNotAllowedIsNotFetched() throws Exception {
        var settings = settings();
        settings.put("difusor.source.allowed-hosts", "localhost");
        List<String> logged = new CopyOnWriteArrayList<>();
        Path first = corte(0);
        try (AutoCloseable capture = captureLogs(logged)) {
            startDifusor(settings);
            institute.release(first, null, null, at127(institute.packageUri(first.getFileName().toString()).getPath()));
            NotifyBuilder polls = new NotifyBuilder(difusor.context()).fromRoute("poll-manifest").whenDone(10).create();
            assertThat(polls.matches(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        }
        assertThat(institute.requestCount("/" + first.getFileName())).isZero();
        assertThat(publishedState()).isEmpty();
        assertThat(logged).anyMatch(l -> l.contains("host 127.0.0.1 is not in difusor.source.allowed-hosts [localhost]"));
    }

    @Test
    void aPackageRedirectedToAHostNotAllowedIsNotPublishedAndOneAllowedIs() throws Exception {
        Path first = corte(0);
        String path = institute.packageUri(first.getFileName().toString()).getPath();
        // the zip moved to the other name of the server, where latest.zip is the same package
        institute.redirect(path, at127(path.substring(0, path.lastIndexOf('/') + 1) + "latest.zip").toString());

        var settings = settings();
        settings.put("difusor.source.allowed-hosts", "localhost");
        settings.put("difusor.retry.max-redeliveries", "1");
        startDifusor(settings);
        institute.release(first);
        var report = awaitReport(first.getFileName().toString());
        assertThat(report.path("reason").asText()).isEqualTo("BAD_SOURCE_RESPONSE");
        assertThat(report.path("cause").asText()).contains("was redirected to https://127.0.0.1:").contains("not in difusor.source.allowed-hosts");
        assertThat(publishedState()).isEmpty();
        // the host not allowed was never asked: the check comes before the request, not after the download
        assertThat(institute.requestCount("latest.zip")).isZero();

        difusor.close();
        difusor = null;
        settings.put("difusor.source.allowed-hosts", "localhost, 127.0.0.1");
        settings.put("difusor.retry.failed-package-pause-ms", "100");
        startDifusor(settings);
        awaitPublished(first);
        assertSiteEquals(first);
    }
}
