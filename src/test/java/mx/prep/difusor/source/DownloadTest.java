package mx.prep.difusor.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLHandshakeException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.TransientFailureException;
import mx.prep.difusor.embedded.InstituteSimulator;
import mx.prep.difusor.embedded.PrepPackageGenerator;
import mx.prep.difusor.embedded.SelfSignedTls;
import mx.prep.difusor.state.CorteParser;
import mx.prep.difusor.testing.FaultProxy;

/** The download against a real HTTPS institute, with faults on the network path. */
class DownloadTest {

    @TempDir
    Path tmp;

    InstituteSimulator institute;
    Path pkg;

    @BeforeEach
    void release() throws Exception {
        institute = InstituteSimulator.start(tmp.resolve("institute"), 0);
        pkg = new PrepPackageGenerator(PrepPackageGenerator.Scale.SMALL, 7L).write(tmp, LocalDateTime.of(2024, 6, 2, 21, 40), 0);
        institute.release(pkg);
    }

    @AfterEach
    void stop() throws Exception {
        institute.close();
    }

    private SecureHttp trusting(InstituteSimulator trusted) {
        return new SecureHttp(trusted.truststore().toString(), trusted.truststorePassword(), "PKCS12", Duration.ofSeconds(5));
    }

    private PackageDownloader downloader(SecureHttp http, Duration readTimeout, Duration deadline) {
        return downloader(http, readTimeout, deadline, 1L << 30);
    }

    private PackageDownloader downloader(SecureHttp http, Duration readTimeout, Duration deadline, long maxBytes) {
        return new PackageDownloader(http, new CorteParser(".*_(?<date>\\d{8})_(?<time>\\d{4})\\.zip", java.time.ZoneId.of("America/Mexico_City")), tmp.resolve("spool"),
                readTimeout, deadline, Duration.ofMillis(200), maxBytes, Duration.ofMinutes(2), Duration.ofSeconds(2), Duration.ofSeconds(32),
                Clock.systemUTC(),
                new DifusorMetrics(new SimpleMeterRegistry(), Clock.systemUTC(), ZoneId.of("America/Mexico_City")));
    }

    private PackageOffer offer(URI uri) {
        return new PackageOffer(pkg.getFileName().toString(), "x", null, uri, null, null);
    }

    /**
     * A URL whose host the HTTP client cannot use (an underscore in it; "https:host/…" without "//"), with a token: refused
     * naming it without the token, and leaving no spool file open. The HTTP client refused it with the whole URL in
     * its message (into the log and the quarantine report), after the spool file was opened.
     */
    @Test
    void aUrlWithoutAHostTheClientCanUseIsRefusedWithoutItsTokenAndLeavesNoSpoolFile() throws Exception {
        PackageDownloader downloader = downloader(trusting(institute), Duration.ofSeconds(5), Duration.ofSeconds(30));
        for (String url : List.of("https://prep_jal.example.org/latest.zip?token=s3cr3t", "https:prep.example.org/latest.zip?token=s3cr3t")) {
            assertThatThrownBy(() -> downloader.download(offer(URI.create(url)))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("no host name").hasMessageNotContaining("s3cr3t");
        }
        assertThat(Files.exists(tmp.resolve("spool")) ? Files.list(tmp.resolve("spool")).toList() : List.of()).isEmpty();
    }

    @Test
    void aPackageIsSpooledWholeWithItsNameAndCorte() throws Exception {
        PrepPackage got = downloader(trusting(institute), Duration.ofSeconds(5), Duration.ofSeconds(30))
                .download(offer(institute.packageUri(pkg.getFileName().toString())));
        assertThat(Files.readAllBytes(got.spoolFile())).isEqualTo(Files.readAllBytes(pkg));
        assertThat(got.name()).isEqualTo(pkg.getFileName().toString());
        assertThat(got.corte()).hasToString("2024-06-02 21:40");
        assertThat(Files.list(tmp.resolve("spool"))).containsExactly(got.spoolFile());
    }

    /**
     * A manifest whose corte disagrees with the package's name (a field copied from the entry before): the field decides,
     * as before, and a WARN names both, so a corte then refused as stale can be told from a wrong announcement.
     */
    @Test
    void aCorteTheManifestAnnouncesOtherThanTheNameSaysIsNamedInAWarning() throws Exception {
        String name = pkg.getFileName().toString();
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        PrepPackage got;
        try (AutoCloseable capture = mx.prep.difusor.testing.CapturedLogs.capture(logged)) {
            got = downloader(trusting(institute), Duration.ofSeconds(5), Duration.ofSeconds(30))
                    .download(new PackageOffer(name, "x", null, institute.packageUri(name), "2024-06-02 21:20", null));
        }
        assertThat(got.corte()).hasToString("2024-06-02 21:20");
        assertThat(logged).anySatisfy(l -> assertThat(l).contains(name)
                .contains("the manifest announces corte 2024-06-02 21:20, its name says 2024-06-02 21:40"));
    }

    /**
     * The name's clock time under another offset (a local time labelled {@code Z}, or UTC-5 for Mexico City): the offset
     * form is the one that cannot be misread, so it still decides (a package named in UTC would otherwise be read six
     * hours ahead), and the WARN says what to fix if the manifest mislabels local time. A corte with its right offset
     * says nothing.
     */
    @Test
    void aManifestCorteThatIsTheNamesClockTimeUnderAnotherOffsetIsTheManifestsWithAWarningThatSaysSo() throws Exception {
        String name = pkg.getFileName().toString();
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        PackageDownloader downloader = downloader(trusting(institute), Duration.ofSeconds(5), Duration.ofSeconds(30));
        try (AutoCloseable capture = mx.prep.difusor.testing.CapturedLogs.capture(logged)) {
            assertThat(downloader.download(new PackageOffer(name, "x", null, institute.packageUri(name), "2024-06-02T21:40:00Z", null))
                    .corte()).hasToString("2024-06-02 15:40");
            assertThat(downloader.download(new PackageOffer(name, "x", null, institute.packageUri(name), "2024-06-02 21:40-05:00", null))
                    .corte()).hasToString("2024-06-02 20:40");
            assertThat(downloader.download(new PackageOffer(name, "x", null, institute.packageUri(name), "2024-06-03T03:40:00Z", null))
                    .corte()).hasToString("2024-06-02 21:40");
        }
        assertThat(logged.stream().filter(l -> l.contains("under an offset that is not America/Mexico_City's"))).hasSize(2)
                .anySatisfy(l -> assertThat(l).contains(name, "published as corte 2024-06-02 15:40 (the manifest's)", "'2024-06-02T21:40:00Z'"))
                .anySatisfy(l -> assertThat(l).contains("published as corte 2024-06-02 20:40 (the manifest's)", "whoever writes the manifest"));
        // the corte with its right offset is the name's: no WARN at all for it
        assertThat(logged.stream().filter(l -> l.contains("its name says"))).hasSize(2);
    }

    @Test
    void aCertificateOutsideTheTruststoreIsRefused() throws Exception {
        try (InstituteSimulator stranger = InstituteSimulator.start(tmp.resolve("stranger"), 0)) {
            stranger.release(pkg);
            assertThatThrownBy(() -> downloader(trusting(institute), Duration.ofSeconds(5), Duration.ofSeconds(30))
                    .download(offer(stranger.packageUri(pkg.getFileName().toString()))))
                    .hasCauseInstanceOf(SSLHandshakeException.class).hasMessageContaining("PKIX path validation failed");
            assertThat(tmp.resolve("spool")).isEmptyDirectory();
        }
    }

    @Test
    void aCertificateForAnotherHostIsRefusedEvenWhenTrusted() throws Exception {
        try (InstituteSimulator wrongHost = InstituteSimulator.start(tmp.resolve("wrong"), 0,
                SelfSignedTls.builder().wrongHost("prep.otro-instituto.mx").build())) {
            wrongHost.release(pkg);
            assertThatThrownBy(() -> downloader(trusting(wrongHost), Duration.ofSeconds(5), Duration.ofSeconds(30))
                    .download(offer(wrongHost.packageUri(pkg.getFileName().toString()))))
                    .hasCauseInstanceOf(SSLHandshakeException.class);
        }
    }

    /**
     * A truststore that loads but trusts nothing (an empty export, the wrong file of the right type) is refused at start,
     * naming the setting; it failed only at the first handshake with the institute, on the night, as unreachable.
     */
    @Test
    void aTruststoreThatTrustsNothingIsRefusedAtStart() throws Exception {
        java.security.KeyStore empty = java.security.KeyStore.getInstance("PKCS12");
        empty.load(null, null);
        Path file = tmp.resolve("empty.p12");
        try (var out = Files.newOutputStream(file)) {
            empty.store(out, "secreto".toCharArray());
        }
        assertThatThrownBy(() -> new SecureHttp(file.toString(), "secreto", "PKCS12", Duration.ofSeconds(5)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("difusor.source.truststore")
                .hasMessageContaining("holds no trusted certificate").hasMessageNotContaining("secreto");
    }

    /**
     * The operator's truststore (the institute's private CA) is trusted beside the JDK's CAs: a package served from a
     * host with a public certificate (a presigned S3 URL, a CDN) is still fetched. A keystore stands for the JDK's list
     * here, since no public CA signs for localhost; host names are still checked under either list.
     */
    @Test
    void theTruststoreIsTrustedBesideTheJdksCasNotInsteadOfThem() throws Exception {
        try (InstituteSimulator publicHost = InstituteSimulator.start(tmp.resolve("public"), 0);
                InstituteSimulator publicWrongHost = InstituteSimulator.start(tmp.resolve("public-wrong"), 0,
                        SelfSignedTls.builder().wrongHost("prep.otro-instituto.mx").build());
                InstituteSimulator stranger = InstituteSimulator.start(tmp.resolve("stranger"), 0)) {
            for (InstituteSimulator s : List.of(publicHost, publicWrongHost, stranger)) {
                s.release(pkg);
            }
            KeyStore jdk = KeyStore.getInstance("PKCS12");
            jdk.load(null, null);
            jdk.setCertificateEntry("public", anchorOf(publicHost));
            jdk.setCertificateEntry("public-wrong-host", anchorOf(publicWrongHost));
            SecureHttp http = new SecureHttp(institute.truststore().toString(), institute.truststorePassword(), "PKCS12", jdk,
                    Duration.ofSeconds(5));
            PackageDownloader downloader = downloader(http, Duration.ofSeconds(5), Duration.ofSeconds(30));
            String name = pkg.getFileName().toString();

            Path spooled = downloader.download(offer(institute.packageUri(name))).spoolFile();
            assertThat(Files.readAllBytes(spooled)).isEqualTo(Files.readAllBytes(pkg));
            Files.delete(spooled);   // as the exchange's cleanup does: the spool holds one file of a name at a time
            assertThat(Files.readAllBytes(downloader.download(offer(publicHost.packageUri(name))).spoolFile())).isEqualTo(Files.readAllBytes(pkg));
            assertThatThrownBy(() -> downloader.download(offer(stranger.packageUri(name))))
                    .hasCauseInstanceOf(SSLHandshakeException.class);
            assertThatThrownBy(() -> downloader.download(offer(publicWrongHost.packageUri(name))))
                    .hasCauseInstanceOf(SSLHandshakeException.class);
        }
    }

    private static java.security.cert.Certificate anchorOf(InstituteSimulator s) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(s.truststore())) {
            store.load(in, s.truststorePassword().toCharArray());
        }
        return store.getCertificate(store.aliases().nextElement());
    }

    @Test
    void plainHttpIsRefusedBeforeAnyConnection() {
        assertThatThrownBy(() -> downloader(trusting(institute), Duration.ofSeconds(5), Duration.ofSeconds(30))
                .download(offer(URI.create("http://localhost:" + institute.port() + "/prep/" + pkg.getFileName()))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("only https://");
    }

    @Test
    void aBodyThatStallsEndsInAClearTransientErrorAfterTheReadTimeout() throws Exception {
        try (FaultProxy network = FaultProxy.tcp("127.0.0.1", institute.port())) {
            network.stallAfterBytes(20_000, 1);
            URI through = URI.create("https://localhost:" + network.port() + "/prep/" + pkg.getFileName());
            long started = System.nanoTime();
            assertThatThrownBy(() -> downloader(trusting(institute), Duration.ofSeconds(1), Duration.ofSeconds(30)).download(offer(through)))
                    .isInstanceOf(TransientFailureException.class).hasMessageContaining("stalled");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
            assertThat(tmp.resolve("spool")).isEmptyDirectory();
        }
    }

    @Test
    void aManifestWhoseBodyStallsEndsInATransientErrorAtTheTimeoutNotAHungPoll() throws Exception {
        // a manifest large enough that the stall falls in its body, after the response head
        institute.releaseManifestJson("{\"package\": \"" + pkg.getFileName() + "\", \"padding\": \"" + "x".repeat(40_000) + "\"}");
        try (FaultProxy network = FaultProxy.tcp("127.0.0.1", institute.port())) {
            network.stallAfterBytes(20_000, 1);
            URI through = URI.create("https://localhost:" + network.port() + "/prep/manifest.json");
            ConditionalGet get = new ConditionalGet(trusting(institute), Duration.ofSeconds(1));
            long started = System.nanoTime();
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertThatThrownBy(() -> get.fetch(through))
                    .isInstanceOf(TransientFailureException.class).hasMessageContaining("no whole answer"));
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
            assertThat(network.faultsInjected()).isEqualTo(1);
        }
    }

    /**
     * The institute (its CDN, a WAF) answers 429 with Retry-After: the manifest is not asked again before that time,
     * though the poll comes every 15 s; each poll meanwhile fails as transient, saying why. Asked at every poll, a
     * source that said how long to wait would keep the difusor blocked for longer.
     */
    @Test
    void aManifestAnsweredWithRetryAfterIsNotAskedAgainBeforeThen() throws Exception {
        institute.releaseManifestJson("{\"package\": \"" + pkg.getFileName() + "\"}");
        institute.answerNext("/manifest.json", 1, 429, "text/plain", "despacio", Map.of("Retry-After", "2"));
        URI manifest = institute.manifestUri();
        ConditionalGet get = new ConditionalGet(trusting(institute), Duration.ofSeconds(5));
        assertThatThrownBy(() -> get.fetch(manifest)).isInstanceOf(TransientFailureException.class)
                .hasMessageContaining("HTTP 429").hasMessageContaining("not asked again for 2 s");
        assertThatThrownBy(() -> get.fetch(manifest)).isInstanceOf(TransientFailureException.class).hasMessageContaining("not asked");
        assertThat(institute.requestCount("/manifest.json")).isEqualTo(1);
        // once the time has passed, asked again (and answered)
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                .until(() -> get.fetch(manifest).isPresent());
        assertThat(institute.requestCount("/manifest.json")).isEqualTo(2);
        // and not before the 2 s it was asked to wait (the messages only repeat the header)
        List<Long> asked = institute.requestTimes("/manifest.json");
        assertThat(Duration.ofNanos(asked.get(1) - asked.get(0))).isGreaterThanOrEqualTo(Duration.ofMillis(1900));
    }

    @Test
    void aRetryAfterIsReadInSecondsOrAsADateAndCappedAtItsSetting() {
        java.time.Clock now = java.time.Clock.fixed(java.time.Instant.parse("2024-06-03T04:00:00Z"), java.time.ZoneOffset.UTC);
        Duration most = Duration.ofMinutes(2);
        assertThat(ConditionalGet.retryAfter("100", now, most)).contains(Duration.ofSeconds(100));
        assertThat(ConditionalGet.retryAfter("Mon, 03 Jun 2024 04:01:30 GMT", now, most)).contains(Duration.ofSeconds(90));
        assertThat(ConditionalGet.retryAfter("86400", now, most)).contains(most);
        assertThat(ConditionalGet.retryAfter("Mon, 03 Jun 2024 03:59:00 GMT", now, most)).isEmpty();
        assertThat(ConditionalGet.retryAfter("pronto", now, most)).isEmpty();
        assertThat(ConditionalGet.retryAfter(null, now, most)).isEmpty();
    }

    /** A connection reset mid-answer: the log line must say which document on which host, not "IOException: null". */
    @Test
    void aFailedFetchOfAManifestNamesItsUrl() throws Exception {
        institute.releaseManifestJson("{\"package\": \"" + pkg.getFileName() + "\", \"padding\": \"" + "x".repeat(40_000) + "\"}");
        try (FaultProxy network = FaultProxy.tcp("127.0.0.1", institute.port())) {
            network.resetAfterBytes(20_000, 5);   // the JDK client sends a GET again once after a reset
            URI through = URI.create("https://localhost:" + network.port() + "/prep/manifest.json");
            assertThatThrownBy(() -> new ConditionalGet(trusting(institute), Duration.ofSeconds(5)).fetch(through))
                    .isInstanceOf(java.io.IOException.class).hasMessageContaining("GET " + through + " failed");
            assertThat(network.faultsInjected()).isBetween(1, 2);
        }
    }

    /**
     * The zip answered 503 with Retry-After: the retry channel's next wait is the one asked for when longer than its own
     * backoff (2 s, doubled at each retry, at most 32 s here), never shorter (a WAF's "Retry-After: 1" at every answer
     * spent every retry in seconds); one that would end past the download deadline says so at once.
     */
    @Test
    void aRetryAfterOnTheZipSetsTheNextWaitNeverShorterThanTheBackoffNorPastTheDeadline() throws Exception {
        String name = pkg.getFileName().toString();
        PackageDownloader downloader = downloader(trusting(institute), Duration.ofSeconds(5), Duration.ofSeconds(60));
        try (org.apache.camel.impl.DefaultCamelContext camel = new org.apache.camel.impl.DefaultCamelContext()) {
            record Case(String retryAfter, int redeliveriesDone, long expectedWaitMillis) {
            }
            for (Case c : List.of(new Case("10", 0, 10_000), new Case("1", 0, 2_000), new Case("1", 2, 8_000), new Case("5", 6, 32_000))) {
                institute.answerNext(name, 1, 503, "text/plain", "Service Unavailable", Map.of("Retry-After", c.retryAfter()));
                org.apache.camel.Exchange exchange = new org.apache.camel.support.DefaultExchange(camel);
                if (c.redeliveriesDone() > 0) {
                    exchange.getIn().setHeader(org.apache.camel.Exchange.REDELIVERY_COUNTER, c.redeliveriesDone());
                }
                assertThatThrownBy(() -> downloader.download(offer(institute.packageUri(name)), exchange))
                        .isInstanceOf(TransientFailureException.class)
                        .hasMessageContaining("with Retry-After " + c.retryAfter() + " s: the next attempt waits " + c.expectedWaitMillis() / 1000 + " s");
                assertThat(exchange.getIn().getHeader(org.apache.camel.Exchange.REDELIVERY_DELAY, Long.class)).as(c.toString())
                        .isEqualTo(c.expectedWaitMillis());
            }
            // more than the deadline leaves, asked for or by the backoff: out of time now, naming the institute's answer
            PackageDownloader shortDeadline = downloader(trusting(institute), Duration.ofSeconds(5), Duration.ofSeconds(5));
            for (Case c : List.of(new Case("30", 0, 30_000), new Case("1", 4, 32_000))) {
                institute.answerNext(name, 1, 503, "text/plain", "Service Unavailable", Map.of("Retry-After", c.retryAfter()));
                org.apache.camel.Exchange exchange = new org.apache.camel.support.DefaultExchange(camel);
                exchange.getIn().setHeader(org.apache.camel.Exchange.REDELIVERY_COUNTER, c.redeliveriesDone());
                assertThatThrownBy(() -> shortDeadline.download(offer(institute.packageUri(name)), exchange))
                        .isInstanceOf(DownloadOutOfTimeException.class).hasMessageContaining("HTTP 503 with Retry-After " + c.retryAfter() + " s")
                        .hasMessageContaining("waiting " + c.expectedWaitMillis() / 1000 + " s more ends past the download deadline of 5 s");
                assertThat(exchange.getIn().getHeader(org.apache.camel.Exchange.REDELIVERY_DELAY)).isNull();
            }
        }
    }

    /**
     * A 503 or 404 whose body stalls after the head (a CDN or WAF page cut short): the status is enough, so the body is
     * not awaited; it used to hold the poll until the download deadline, then be reported as out of time.
     */
    @Test
    void anErrorStatusWhoseBodyStallsIsHandledByItsStatusNotAtTheDeadline() throws Exception {
        String name = pkg.getFileName().toString();
        institute.answerNext(name, 1, 503, "text/html", "x".repeat(60_000));
        try (FaultProxy network = FaultProxy.tcp("127.0.0.1", institute.port())) {
            network.stallAfterBytes(20_000, 1);
            URI through = URI.create("https://localhost:" + network.port() + "/prep/" + name);
            PackageDownloader downloader = downloader(trusting(institute), Duration.ofSeconds(1), Duration.ofSeconds(60));
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertThatThrownBy(() -> downloader.download(offer(through)))
                    .isExactlyInstanceOf(TransientFailureException.class).hasMessageContaining("HTTP 503"));
            // no count of the stall, as in the 404 case below: whether the proxy had passed 20,000 bytes when the body
            // was cancelled is a race; a download that awaited the body would always reach the stall
            assertThat(tmp.resolve("spool")).isEmptyDirectory();
        }
    }

    @Test
    void aNotFoundWhoseBodyStallsIsNotThereYetNotOutOfTime() throws Exception {
        String name = pkg.getFileName().toString();
        institute.answerNext(name, 1, 404, "text/html", "x".repeat(60_000));
        try (FaultProxy network = FaultProxy.tcp("127.0.0.1", institute.port())) {
            network.stallAfterBytes(20_000, 1);
            URI through = URI.create("https://localhost:" + network.port() + "/prep/" + name);
            PackageDownloader downloader = downloader(trusting(institute), Duration.ofSeconds(1), Duration.ofSeconds(60));
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertThatThrownBy(() -> downloader.download(offer(through)))
                    .isInstanceOf(NotYetOnOfferException.class).hasMessageContaining("HTTP 404"));
            // no count of the stall: the body is cancelled at the status, so whether the proxy had passed 20,000 bytes
            // by then is a race (it had not once in CI); a download that awaited the body would always reach the stall
            // and end on the 1 s read timeout, not "not there yet"
            assertThat(tmp.resolve("spool")).isEmptyDirectory();
        }
    }

    /**
     * A download of a package whose name another exchange holds in the spool (an operator's republish of it going
     * through): that file is left as it is, and the download is spooled beside it under {@code 2~<name>}, the package
     * keeping its name. It was renamed over it: the other exchange went on with bytes it never checked, and its cleanup
     * deleted this one's.
     */
    @Test
    void aDownloadNeverReplacesTheSpoolFileAnotherExchangeHolds() throws Exception {
        Path spool = Files.createDirectories(tmp.resolve("spool"));
        String name = pkg.getFileName().toString();
        Path held = Files.writeString(spool.resolve(name), "the republish's copy");
        PrepPackage got = downloader(trusting(institute), Duration.ofSeconds(5), Duration.ofSeconds(30))
                .download(offer(institute.packageUri(name)));
        assertThat(held).hasContent("the republish's copy");
        assertThat(got.name()).isEqualTo(name);
        assertThat(got.spoolFile()).isEqualTo(spool.resolve("2~" + name));
        assertThat(Files.readAllBytes(got.spoolFile())).isEqualTo(Files.readAllBytes(pkg));
        assertThat(Files.list(spool)).containsExactlyInAnyOrder(held, got.spoolFile());
    }

    @Test
    void aDownloadCutShortByAnEarlierProcessIsRemovedAtStartAndASpooledPackageKept() throws Exception {
        Path spool = Files.createDirectories(tmp.resolve("spool"));
        Path part = Files.write(spool.resolve("download-4711.part"), new byte[1000]);
        Path spooled = Files.copy(pkg, spool.resolve(pkg.getFileName()));
        downloader(trusting(institute), Duration.ofSeconds(1), Duration.ofSeconds(30));
        assertThat(part).doesNotExist();
        assertThat(spooled).exists();
    }

    /**
     * A zip larger than difusor.source.max-package-bytes is refused by its announced size, or by its Content-Length, before
     * its body: it was fetched up to the limit (1 GiB by default) at every attempt, and again after every pause while the
     * institute offered it. Here the body stalls after its first bytes: read, the download would wait for it.
     */
    @Test
    void aZipLargerThanTheLimitIsRefusedByItsSizeBeforeItsBodyIsRead() throws Exception {
        long limit = Files.size(pkg) - 1;
        int before = institute.requestCount("/prep/" + pkg.getFileName());
        PackageOffer announced = new PackageOffer(pkg.getFileName().toString(), "x", Files.size(pkg), institute.packageUri(pkg.getFileName().toString()),
                null, null);
        assertThatThrownBy(() -> downloader(trusting(institute), Duration.ofSeconds(5), Duration.ofSeconds(30), limit).download(announced))
                .isInstanceOf(PackageTooLargeException.class).hasMessageContaining("announced with " + Files.size(pkg) + " bytes");
        assertThat(institute.requestCount("/prep/" + pkg.getFileName())).isEqualTo(before);

        try (FaultProxy network = FaultProxy.tcp("127.0.0.1", institute.port())) {
            network.stallAfterBytes(20_000, 1);
            URI through = URI.create("https://localhost:" + network.port() + "/prep/" + pkg.getFileName());
            assertThatThrownBy(() -> downloader(trusting(institute), Duration.ofSeconds(5), Duration.ofSeconds(30), limit).download(offer(through)))
                    .isInstanceOf(PackageTooLargeException.class).hasMessageContaining("(Content-Length)");
        }
        assertThat(Files.list(tmp.resolve("spool"))).isEmpty();
    }

    @Test
    void aBodyThatDripsEndsAtTheTotalDeadline() throws Exception {
        try (FaultProxy network = FaultProxy.tcp("127.0.0.1", institute.port())) {
            // 4 KB every 100 ms (a TLS record every ~0.4 s): never silent for the read timeout, too slow for the deadline
            network.dripAfterBytes(20_000, 4096, Duration.ofMillis(100), 1);
            URI through = URI.create("https://localhost:" + network.port() + "/prep/" + pkg.getFileName());
            assertThatThrownBy(() -> downloader(trusting(institute), Duration.ofSeconds(2), Duration.ofSeconds(3)).download(offer(through)))
                    .isInstanceOf(TransientFailureException.class).hasMessageContaining("deadline");
        }
    }

    @Test
    void aConnectionClosedEarlyIsATransientFailure() throws Exception {
        try (FaultProxy network = FaultProxy.tcp("127.0.0.1", institute.port())) {
            network.closeAfterBytes(50_000, 1);
            URI through = URI.create("https://localhost:" + network.port() + "/prep/" + pkg.getFileName());
            assertThatThrownBy(() -> downloader(trusting(institute), Duration.ofSeconds(2), Duration.ofSeconds(10)).download(offer(through)))
                    .isInstanceOf(TransientFailureException.class);
            assertThat(tmp.resolve("spool")).isEmptyDirectory();
        }
    }

    @Test
    void expiredAndNotYetValidCertificatesAreRefusedEvenWhenTrusted() throws Exception {
        for (SelfSignedTls tls : new SelfSignedTls[] { SelfSignedTls.builder().expired().build(), SelfSignedTls.builder().notYetValid().build() }) {
            try (InstituteSimulator dated = InstituteSimulator.start(tmp.resolve("dated-" + System.nanoTime()), 0, tls)) {
                dated.release(pkg);
                assertThatThrownBy(() -> downloader(trusting(dated), Duration.ofSeconds(5), Duration.ofSeconds(30))
                        .download(offer(dated.packageUri(pkg.getFileName().toString()))))
                        .hasCauseInstanceOf(SSLHandshakeException.class);
            }
        }
    }

    @Test
    void theClientOffersOnlyTls12And13WithForwardSecretSuites() {
        javax.net.ssl.SSLParameters params = trusting(institute).client().sslParameters();
        assertThat(params.getProtocols()).containsExactlyInAnyOrder("TLSv1.3", "TLSv1.2");
        assertThat(params.getCipherSuites()).isNotEmpty().noneMatch(s -> s.startsWith("TLS_RSA_") || s.contains("NULL")
                || s.contains("anon") || s.contains("EXPORT") || s.contains("3DES") || s.contains("RC4"));
    }

    @Test
    void aRedirectToPlainHttpIsNotFollowed() throws Exception {
        com.sun.net.httpserver.HttpServer plain = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        java.util.concurrent.atomic.AtomicInteger plainRequests = new java.util.concurrent.atomic.AtomicInteger();
        plain.createContext("/", e -> {
            plainRequests.incrementAndGet();
            e.sendResponseHeaders(200, -1);
            e.close();
        });
        plain.start();
        SelfSignedTls tls = SelfSignedTls.localhost();
        com.sun.net.httpserver.HttpsServer redirecting = com.sun.net.httpserver.HttpsServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        redirecting.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(tls.serverSslContext()));
        redirecting.createContext("/", e -> {
            e.getResponseHeaders().set("Location", "http://localhost:" + plain.getAddress().getPort() + "/paquete.zip");
            e.sendResponseHeaders(302, -1);
            e.close();
        });
        redirecting.start();
        try {
            Path store = tls.writeTruststore(tmp.resolve("redirect.p12"), "changeit".toCharArray());
            SecureHttp http = new SecureHttp(store.toString(), "changeit", "PKCS12", Duration.ofSeconds(5));
            URI uri = URI.create("https://localhost:" + redirecting.getAddress().getPort() + "/prep/" + pkg.getFileName());
            assertThatThrownBy(() -> downloader(http, Duration.ofSeconds(5), Duration.ofSeconds(30)).download(offer(uri)))
                    .isInstanceOf(NotAPackageException.class).hasMessageContaining("was redirected to http://localhost:")
                    .hasMessageContaining("only followed to https://");
            assertThat(plainRequests).hasValue(0);
        } finally {
            redirecting.stop(0);
            plain.stop(0);
        }
    }

    /**
     * With difusor.source.allowed-hosts set, a redirect to a host not in it gets no request at all: the JDK's client,
     * left to follow redirects, asked the other host and downloaded the whole zip before the host was checked.
     */
    @Test
    void aRedirectToAHostNotAllowedIsNeverAsked() throws Exception {
        SecureHttp http = new SecureHttp(institute.truststore().toString(), institute.truststorePassword(), "PKCS12",
                Duration.ofSeconds(5), List.of("localhost"));
        String path = institute.packageUri(pkg.getFileName().toString()).getPath();
        String elsewhere = "https://127.0.0.1:" + institute.port() + path.substring(0, path.lastIndexOf('/') + 1);
        institute.redirect(path, elsewhere + "latest.zip");
        institute.redirect(institute.manifestUri().getPath(), elsewhere + "latest.zip.sha256");

        assertThatThrownBy(() -> downloader(http, Duration.ofSeconds(5), Duration.ofSeconds(30))
                .download(offer(institute.packageUri(pkg.getFileName().toString()))))
                .isInstanceOf(NotAPackageException.class)
                .hasMessageContaining("was redirected to " + elsewhere + "latest.zip: host 127.0.0.1 is not in difusor.source.allowed-hosts");
        assertThatThrownBy(() -> new ConditionalGet(http, Duration.ofSeconds(5)).fetch(institute.manifestUri()))
                .isInstanceOf(DocumentRefusedException.class).hasMessageContaining("host 127.0.0.1 is not in difusor.source.allowed-hosts");
        assertThat(institute.requestCount("latest.zip")).isZero();
        assertThat(institute.requestCount("latest.zip.sha256")).isZero();
        try (var spooled = Files.list(tmp.resolve("spool"))) {
            assertThat(spooled).isEmpty();
        }
        // nor is the spool file left open (deleted, its descriptor kept until a GC: one more at every poll's retry); the
        // pod, CI and this machine are Linux
        assertThat(Path.of("/proc/self/fd")).isDirectory();
        assertThat(openFilesUnder(tmp.resolve("spool"))).isEmpty();
    }

    /** The files this JVM holds open under a folder, deleted ones too (Linux: /proc/self/fd). */
    private static List<String> openFilesUnder(Path folder) throws java.io.IOException {
        List<String> open = new java.util.ArrayList<>();
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith(folder.toString())) {
                        open.add(target);
                    }
                } catch (java.io.IOException gone) {
                    // closed while listed
                }
            }
        }
        return open;
    }

    @Test
    void aRedirectLoopEndsAfterFiveHopsALocationThatIsNoUrlIsRefusedAndAnAllowedRedirectIsFollowed() throws Exception {
        SecureHttp http = new SecureHttp(institute.truststore().toString(), institute.truststorePassword(), "PKCS12",
                Duration.ofSeconds(5), List.of("localhost"));
        String dir = institute.baseUri().getPath();
        institute.redirect(dir + "a.zip", dir + "b.zip");
        institute.redirect(dir + "b.zip", dir + "a.zip");
        assertThatThrownBy(() -> downloader(http, Duration.ofSeconds(5), Duration.ofSeconds(30)).download(offer(institute.baseUri().resolve("a.zip"))))
                .isInstanceOf(NotAPackageException.class).hasMessageContaining("more than 5 redirects");
        assertThat(institute.requestCount("/a.zip") + institute.requestCount("/b.zip")).isEqualTo(6);

        // a Location that is no URL: refused, its signature never shown
        institute.redirect(dir + "signed.zip", "https://localhost:" + institute.port() + dir + "x y.zip?X-Amz-Signature=s3cr3t");
        assertThatThrownBy(() -> downloader(http, Duration.ofSeconds(5), Duration.ofSeconds(30)).download(offer(institute.baseUri().resolve("signed.zip"))))
                .isInstanceOf(NotAPackageException.class).hasMessageContaining("redirected to a Location that is not a URL")
                .hasMessageNotContaining("s3cr3t");

        institute.redirect(dir + "moved.zip", dir + pkg.getFileName());
        PrepPackage got = downloader(http, Duration.ofSeconds(5), Duration.ofSeconds(30)).download(offer(institute.baseUri().resolve("moved.zip")));
        assertThat(Files.readAllBytes(got.spoolFile())).isEqualTo(Files.readAllBytes(pkg));
    }
}
