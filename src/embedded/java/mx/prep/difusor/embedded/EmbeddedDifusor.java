package mx.prep.difusor.embedded;

import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;

import org.apache.camel.main.Main;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import software.amazon.awssdk.services.s3.S3Client;

import mx.prep.difusor.DifusorMain;
import mx.prep.difusor.ObjectStore;
import mx.prep.difusor.state.PublishedState;

/**
 * The embedded default: the whole pipeline on one machine with no cloud account. An institute simulator releases
 * a new synthetic corte over HTTPS at a steady pace, S3Proxy stands in for S3 (data under .difusor-local/), and a
 * preview serves the published site at http://localhost:8000/ (the status page stays on 8080). Lives beside the tests,
 * never in the production jar.
 *
 * System properties: embedded.preview-port (8000), embedded.institute-port (8443), embedded.s3-port (9000),
 * embedded.pace-seconds (60), embedded.scale (SMALL | MEDIUM | FULL), embedded.dir (.difusor-local).
 */
public final class EmbeddedDifusor {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedDifusor.class);
    static final String SITE = "prep-site";
    static final String HISTORY = "prep-history";

    private EmbeddedDifusor() {
    }

    /**
     * The synthetic night starts when casillas begin to report, so the first cortes already differ; after a restart
     * it goes on after the corte already published, so the local site is not fed stale cortes.
     */
    static LocalDateTime firstCorte(S3Client s3) throws java.io.IOException {
        LocalDateTime start = LocalDateTime.of(2024, 6, 2, 21, 40);
        return new ObjectStore(s3).readJson(HISTORY, "state/published.json", PublishedState.class)
                .filter(PublishedState::hasPublished)
                .map(p -> p.corteValue().at().plusMinutes(20))
                .filter(start::isBefore)
                .orElse(start);
    }

    /**
     * As operators do before the night (docs/kubernetes.md): the placeholder page in the empty site bucket, so the
     * public URL answers as the institute's probe expects before the first corte.
     */
    static void placeholder(S3Client s3) throws java.io.IOException {
        Path page = Path.of("docs", "placeholder", "index.html");
        boolean empty = s3.listObjectsV2(b -> b.bucket(SITE).maxKeys(1)).contents().isEmpty();
        if (empty && java.nio.file.Files.isRegularFile(page)) {
            s3.putObject(b -> b.bucket(SITE).key("index.html").contentType("text/html; charset=utf-8").cacheControl("no-cache"),
                    software.amazon.awssdk.core.sync.RequestBody.fromFile(page));
            LOG.info("embedded default: the placeholder page {} is the site until the first corte", page);
        }
    }

    /** The local run's own client of the embedded S3 (the preview's, the placeholder's). */
    static S3Client localClient(EmbeddedS3 s3) {
        return s3.client();
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(System.getProperty("embedded.dir", ".difusor-local"));
        int previewPort = Integer.getInteger("embedded.preview-port", 8000);
        int institutePort = Integer.getInteger("embedded.institute-port", 8443);
        int s3Port = Integer.getInteger("embedded.s3-port", 9000);
        Duration pace = Duration.ofSeconds(Long.getLong("embedded.pace-seconds", 60));
        PrepPackageGenerator.Scale scale = PrepPackageGenerator.Scale.parse(System.getProperty("embedded.scale", "SMALL"));

        // local-only credentials for the local S3Proxy, found by the SDK's default chain like real ones would be
        System.setProperty("aws.accessKeyId", EmbeddedS3.ACCESS_KEY);
        System.setProperty("aws.secretAccessKey", EmbeddedS3.SECRET_KEY);

        // closed in reverse order whatever happens: a failure half way left S3Proxy's and the simulator's threads
        // running, and the command hung without a word
        java.util.Deque<AutoCloseable> started = new java.util.ArrayDeque<>();
        try {
            EmbeddedS3 s3 = EmbeddedS3.onDisk(dir.resolve("s3"), s3Port);
            started.push(s3);
            s3.createBucket(SITE);
            s3.createBucket(HISTORY);
            InstituteSimulator institute = InstituteSimulator.start(dir.resolve("institute"), institutePort);
            started.push(institute);
            S3Client reader = localClient(s3);
            started.push(reader);
            placeholder(reader);
            SitePreview preview = SitePreview.start(previewPort, reader, SITE, "");
            started.push(preview);

            Main main = DifusorMain.newMain();
            main.addOverrideProperty("difusor.source.kind", "manifest");
            main.addOverrideProperty("difusor.source.manifest-url", institute.manifestUri().toString());
            main.addOverrideProperty("difusor.source.allowed-hosts", institute.manifestUri().getHost());
            main.addOverrideProperty("difusor.source.truststore", institute.truststore().toString());
            main.addOverrideProperty("difusor.source.truststore-password", institute.truststorePassword());
            main.addOverrideProperty("difusor.source.poll-cron", "0/10 * * * * ?");
            main.addOverrideProperty("difusor.s3.endpoint", s3.endpoint().toString());
            main.addOverrideProperty("difusor.s3.path-style", "true");
            main.addOverrideProperty("difusor.s3.checksum-calculation", "when-required");
            main.addOverrideProperty("difusor.site.bucket", SITE);
            main.addOverrideProperty("difusor.history.bucket", HISTORY);
            main.addOverrideProperty("difusor.work-dir", dir.resolve("work").toString());
            // the preview stands in for the CDN: probe it as the institute would probe the public site
            main.addOverrideProperty("difusor.probe.url", "http://localhost:" + preview.port() + "/");
            main.addOverrideProperty("difusor.probe.cron", "0/10 * * * * ?");
            main.addOverrideProperty("difusor.probe.also-compare", "data/corte.json");   // the generated site's corte file

            institute.releaseEvery(new PrepPackageGenerator(scale, 2024L), pace, firstCorte(reader), Duration.ofMinutes(20));
            LOG.info("embedded default: institute at {}, S3 at {}, site preview at http://localhost:{}/, status at http://localhost:8080/status"
                    + " (a new {} corte every {} s)", institute.manifestUri(), s3.endpoint(), preview.port(), scale, pace.toSeconds());
            main.run(args);
        } catch (Exception | Error e) {
            LOG.error("embedded default stopped: {}", e.toString(), e);
            throw e;
        } finally {
            for (AutoCloseable c : started) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.warn("embedded default: closing {}: {}", c.getClass().getSimpleName(), e.toString());
                }
            }
        }
    }
}
