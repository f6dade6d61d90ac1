package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

import mx.prep.difusor.embedded.EmbeddedS3;
import mx.prep.difusor.embedded.InstituteSimulator;
import mx.prep.difusor.embedded.PrepPackageGenerator;
import mx.prep.difusor.state.PublishedState;
import mx.prep.difusor.testing.CloudFrontEmulator;
import mx.prep.difusor.testing.FaultProxy;
import mx.prep.difusor.testing.RunningDifusor;
import mx.prep.difusor.testing.SiteBucket;

/**
 * Real protocols around a real prep-difusor: S3Proxy for S3 (behind a fault-injecting proxy), the institute
 * simulator over HTTPS with its own self-signed certificate, and a WireMock emulation of CloudFront's API.
 */
abstract class PipelineTestBase {

    static final String SITE = "prep-site";
    static final String HISTORY = "prep-history";
    static final String DISTRIBUTION = "E2PREPJAL2024";
    static final LocalDateTime FIRST_CORTE = LocalDateTime.of(2024, 6, 2, 20, 0);

    static {
        // the difusor's S3 client finds credentials through the SDK's default chain, as in production
        System.setProperty("aws.accessKeyId", EmbeddedS3.ACCESS_KEY);
        System.setProperty("aws.secretAccessKey", EmbeddedS3.SECRET_KEY);
    }

    @TempDir
    Path tmp;

    EmbeddedS3 s3;
    FaultProxy s3Network;
    S3Client bucket;
    InstituteSimulator institute;
    CloudFrontEmulator cloudFront;
    PrepPackageGenerator generator;
    RunningDifusor difusor;

    /** Starts the difusor and publishes the first corte: the published site most tests start from. */
    Path startWithFirstCortePublished() throws Exception {
        return startWithFirstCortePublished(settings());
    }

    Path startWithFirstCortePublished(Map<String, String> settings) throws Exception {
        startDifusor(settings);
        Path first = corte(0);
        institute.release(first);
        awaitPublished(first);
        return first;
    }

    /**
     * S3's answer to a client going too fast (503 SlowDown), sent by the proxy on the wire for the next {@code times}
     * PUTs whose path matches ({@link FaultProxy#ALWAYS}: until the faults are cleared).
     */
    void s3SlowsDownPuts(java.util.function.Predicate<String> path, int times) {
        s3Network.respond(r -> r.method().equals("PUT") && path.test(r.path()), times, 503, "application/xml",
                "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
    }

    @BeforeEach
    void startWorld() throws Exception {
        // a condition already true is seen at once, a new one within 50 ms (Awaitility's own default waits a whole
        // poll interval before the first look: 0.1-0.2 s on each of a thousand awaits)
        org.awaitility.Awaitility.setDefaultPollDelay(Duration.ZERO);
        org.awaitility.Awaitility.setDefaultPollInterval(Duration.ofMillis(50));
        s3 = EmbeddedS3.inMemory();
        s3.createBucket(SITE);
        s3.createBucket(HISTORY);
        s3Network = FaultProxy.http("127.0.0.1", s3.port());
        bucket = s3.client();
        s3Network.preconditions(this::asS3DecidesAConditionalWrite);
        institute = InstituteSimulator.start(tmp.resolve("institute"), 0);
        cloudFront = CloudFrontEmulator.start();
        cloudFront.addDistribution(DISTRIBUTION);
        generator = new PrepPackageGenerator(PrepPackageGenerator.Scale.TESTS, 2024L);
    }

    @AfterEach
    void stopWorld() throws Exception {
        org.awaitility.Awaitility.reset();
        // each one closed whatever the one before did: a server left open leaks into the next test class of the fork
        Exception failed = null;
        for (AutoCloseable c : new AutoCloseable[] { difusor, cloudFront, institute, bucket, s3Network, s3 }) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                if (failed == null) {
                    failed = e;
                } else {
                    failed.addSuppressed(e);
                }
            }
        }
        if (failed != null) {
            throw failed;
        }
    }

    /**
     * S3's answer to a conditional PUT (or completion of parts), which S3Proxy 2.7 ignores: If-None-Match * over an object there, or If-Match
     * naming another version than the one there, 412; If-Match over no object, 404. Null: the write goes through.
     */
    Integer asS3DecidesAConditionalWrite(FaultProxy.RequestHead request) {
        String ifMatch = request.header("If-Match");
        String ifNoneMatch = request.header("If-None-Match");
        // a PUT, or the completion of a multipart upload (POST ?uploadId=)
        boolean completion = request.method().equals("POST") && request.target().contains("uploadId=");
        if (!request.method().equals("PUT") && !completion || ifMatch == null && ifNoneMatch == null) {
            return null;
        }
        String[] bucketAndKey = request.path().substring(1).split("/", 2);   // path-style
        String key = java.net.URLDecoder.decode(bucketAndKey[1], java.nio.charset.StandardCharsets.UTF_8);
        Optional<String> there = new ObjectStore(bucket).head(bucketAndKey[0], key).map(h -> h.eTag().replace("\"", ""));
        if ("*".equals(ifNoneMatch) && there.isPresent()) {
            return 412;
        }
        if (ifMatch != null) {
            return there.isEmpty() ? Integer.valueOf(404) : there.get().equals(ifMatch.replace("\"", "")) ? null : Integer.valueOf(412);
        }
        return null;
    }

    /** The published state's key as its PUTs show on the wire (path-style). */
    static final String STATE_PATH = "/" + HISTORY + "/state/published.json";

    /** The published state's PUTs counted on the wire from now on: {@link #nth} matches the n-th of them. */
    static final class StatePuts {
        private final java.util.concurrent.atomic.AtomicInteger seen = new java.util.concurrent.atomic.AtomicInteger();

        java.util.function.Predicate<FaultProxy.RequestHead> nth(int n) {
            return r -> r.method().equals("PUT") && r.path().equals(STATE_PATH) && seen.incrementAndGet() == n;
        }

        int seen() {
            return seen.get();
        }
    }

    /** The running difusor's metrics, as /observe/metrics serves them. */
    io.micrometer.core.instrument.MeterRegistry meters() {
        return difusor.context().getRegistry().lookupByNameAndType("metricsRegistry", io.micrometer.core.instrument.MeterRegistry.class);
    }

    /** The source kind package-url: a zip at a fixed URL, polled through its checksum file. */
    Map<String, String> fixedUrlSettings() {
        var settings = settings();
        settings.put("difusor.source.kind", "package-url");
        return settings;
    }

    /** The history's record of a package (its corte, SHA-256 and outcome), as the next process reads it. */
    com.fasterxml.jackson.databind.JsonNode historyRecord(String name) throws IOException {
        return Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("history/" + name + ".json")).asUtf8String());
    }

    Map<String, String> settings() {
        Map<String, String> p = new HashMap<>();
        p.put("difusor.source.kind", "manifest");
        p.put("difusor.source.manifest-url", institute.manifestUri().toString());
        p.put("difusor.source.package-url", institute.latestZipUri().toString());
        p.put("difusor.source.poll-cron", "0/1 * * * * ?");   // then every 200 ms: pollOften
        p.put("difusor.source.directory-poll-ms", String.valueOf(1000 / POLLS_PER_SECOND));
        p.put("difusor.source.truststore", institute.truststore().toString());
        p.put("difusor.source.truststore-password", institute.truststorePassword());
        p.put("difusor.s3.endpoint", s3Network.uri().toString());
        p.put("difusor.s3.path-style", "true");
        p.put("difusor.s3.checksum-calculation", "when-required");
        p.put("difusor.site.bucket", SITE);
        p.put("difusor.history.bucket", HISTORY);
        p.put("difusor.cdn.endpoint", cloudFront.endpoint().toString());
        p.put("difusor.cdn.distribution-ids", DISTRIBUTION);
        p.put("difusor.work-dir", tmp.resolve("work").toString());
        // any free port: tests run beside other difusors
        p.put("camel.management.port", String.valueOf(freePort()));
        p.put("difusor.status.port", String.valueOf(freePort()));
        p.put("difusor.retry.initial-delay-ms", "100");
        p.put("difusor.retry.max-delay-ms", "1000");
        p.put("difusor.retry.failed-package-pause-ms", "500");
        p.put("difusor.quarantine.leftover-grace-ms", "0");   // the tests about it set their own
        return p;
    }

    /**
     * For a test that stops the quarantine's route: the dead-letter channel waits half a second for it (Camel's direct
     * endpoints wait 30 s for a consumer), and the spool's leftovers are swept every half second.
     */
    static Map<String, String> quarantineRouteMayStop(Map<String, String> settings) {
        settings.put("difusor.quarantine.send-kept-every-ms", "500");
        settings.put("camel.component.direct.timeout", "500");
        return settings;
    }

    /** Ports 20000-29999, a quarter to each test JVM (surefire's fork number), handed out in turn from a random start. */
    private static final int PORT_SLICE = 2_500;
    private static final int PORT_SLICE_START = 20_000 + PORT_SLICE * (Math.max(0, Integer.getInteger("test.fork", 1) - 1) % 4);
    private static final java.util.concurrent.atomic.AtomicInteger NEXT_PORT =
            new java.util.concurrent.atomic.AtomicInteger(java.util.concurrent.ThreadLocalRandom.current().nextInt(PORT_SLICE));

    /**
     * A port free now, below the kernel's ephemeral range (32768 and up on Linux): a port taken from that range and
     * released was, once in a few hundred runs, handed to another socket bound to port 0 (S3Proxy, a proxy, WireMock)
     * before the difusor bound it. Never the same port twice in a row nor one another test JVM hands out: two ports
     * picked for one difusor (management, status) and a JVM beside it once drew the same one.
     */
    static int freePort() {
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = PORT_SLICE_START + Math.floorMod(NEXT_PORT.getAndIncrement(), PORT_SLICE);
            try (java.net.ServerSocket s = new java.net.ServerSocket(port)) {
                return port;
            } catch (IOException busy) {
                // taken: another one
            }
        }
        throw new IllegalStateException("no free port between " + PORT_SLICE_START + " and " + (PORT_SLICE_START + PORT_SLICE));
    }

    /**
     * How often a test difusor polls its source: five times a second, where production's cron fires every 30 s and a
     * cron cannot go below 1 s. A test that counts polls to span a pause counts this many per second.
     */
    static final int POLLS_PER_SECOND = 5;

    void startDifusor() throws Exception {
        startDifusor(settings());
    }

    void startDifusor(Map<String, String> settings) throws Exception {
        difusor = RunningDifusor.start(settings);
        // a dry run takes no part in the election whatever its mode (Leadership)
        if ("none".equals(settings.getOrDefault("difusor.cluster.mode", "none"))
                || "true".equals(settings.get("difusor.publish.dry-run"))) {
            pollOften(difusor, settings.getOrDefault("difusor.source.kind", "manifest"));
        }
    }

    /**
     * The source's poll trigger, rescheduled from the cron's whole seconds to every 200 ms: the same route and job,
     * only sooner (a test waited up to a second for the next tick after each release, a few hundred times a run).
     * Not under leader election: there the leadership starts and stops the route, and its cron comes back.
     */
    static void pollOften(RunningDifusor difusor, String sourceKind) throws Exception {
        String poll = switch (sourceKind) {
            case "manifest" -> "poll-manifest";
            case "package-url" -> "poll-package-url";
            case "bucket" -> "poll-bucket";
            default -> null;   // the folder source polls on difusor.source.directory-poll-ms
        };
        if (poll != null) {
            org.quartz.Scheduler scheduler = difusor.context().getComponent("quartz", org.apache.camel.component.quartz.QuartzComponent.class)
                    .getScheduler();
            org.quartz.TriggerKey key = org.quartz.TriggerKey.triggerKey(poll, "difusor");
            org.quartz.Trigger trigger = scheduler.getTrigger(key);
            // a test counting polls at this rate would otherwise wait five times as long
            assertThat(trigger).as("the %s trigger, to poll often", poll).isNotNull();
            @SuppressWarnings("unchecked")
            var same = (org.quartz.TriggerBuilder<org.quartz.Trigger>) trigger.getTriggerBuilder();
            scheduler.rescheduleJob(key, same.startNow().withSchedule(org.quartz.SimpleScheduleBuilder
                    .simpleSchedule().withIntervalInMilliseconds(1000 / POLLS_PER_SECOND).repeatForever()).build());
        }
    }

    /** The packages of this JVM's tests, by scale and sequence: the generator is deterministic, so each is made once. */
    private static final Map<String, byte[]> GENERATED = new java.util.concurrent.ConcurrentHashMap<>();

    Path corte(int sequence) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("packages"));
        LocalDateTime corte = FIRST_CORTE.plusMinutes(20L * sequence);
        String made = generator.scale() + "/" + sequence;
        byte[] zip = GENERATED.get(made);
        if (zip == null) {
            zip = Files.readAllBytes(generator.write(Files.createDirectories(tmp.resolve("generated")), corte, sequence));
            GENERATED.putIfAbsent(made, zip);
        }
        // written whole under a temporary name and moved: a folder source never sees a partial package
        Path part = Files.write(dir.resolve("." + PrepPackageGenerator.packageName(corte) + ".part"), zip);
        return Files.move(part, dir.resolve(PrepPackageGenerator.packageName(corte)), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    Optional<PublishedState> publishedState() throws IOException {
        return new ObjectStore(bucket).readJson(HISTORY, "state/published.json", PublishedState.class);
    }

    /**
     * Stops the difusor and leaves the state as a pod killed mid-publication leaves it: "publishing" the package,
     * whose publication the next process must finish.
     */
    void killedWhilePublishing(String packageName) throws Exception {
        difusor.close();
        difusor = null;
        // as this version marks it: with the header rules it publishes under (application.properties')
        editState(state -> state.put("publishing", packageName).put("publishingHeaders", defaultHeaderRules()));
    }

    /** The digest of the Cache-Control and Content-Type rules of application.properties, as a publication marks it. */
    static String defaultHeaderRules() {
        java.util.Properties defaults = new java.util.Properties();
        try (var in = Files.newBufferedReader(Path.of("application.properties"), java.nio.charset.StandardCharsets.UTF_8)) {
            defaults.load(in);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return new mx.prep.difusor.unpack.CacheControlRules(defaults.getProperty("difusor.site.cache-control")).fingerprint();
    }

    /** The published state in S3 changed as another writer (a killed pod, a former leader) would have left it. */
    void editState(java.util.function.Consumer<ObjectNode> edit) throws Exception {
        var state = (ObjectNode) Json.MAPPER.readTree(
                bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key("state/published.json")).asUtf8String());
        edit.accept(state);
        bucket.putObject(b -> b.bucket(HISTORY).key("state/published.json").contentType("application/json"),
                RequestBody.fromString(state.toString()));
    }

    void awaitPublished(Path pkg) {
        String name = pkg.getFileName().toString();
        await().atMost(Duration.ofSeconds(60)).until(() -> publishedState()
                .map(PublishedState::packageName).filter(name::equals).isPresent());
    }

    /** The site bucket holds exactly the package's files, byte for byte, each with its Content-Type. */
    void assertSiteEquals(Path pkg) throws IOException {
        Map<String, byte[]> files = SiteBucket.files(pkg);
        Map<String, SiteBucket.Served> served = SiteBucket.objects(bucket, SITE, "");
        assertThat(served.keySet()).containsExactlyInAnyOrderElementsOf(files.keySet());
        files.forEach((path, bytes) -> {
            SiteBucket.Served object = served.get(path);
            // compared whole, reported by digest: a failure's message names the file, not a dump of its bytes
            if (!java.util.Arrays.equals(object.bytes(), bytes)) {
                org.assertj.core.api.Assertions.fail("bytes of %s: %d bytes, SHA-256 %s on the site; %d bytes, SHA-256 %s in the package", path,
                        object.bytes().length, digest(object.bytes()), bytes.length, digest(bytes));
            }
            // S3Proxy's Jetty drops the optional space before the charset parameter
            assertThat(object.contentType().replace(" ", "")).as("Content-Type of %s", path)
                    .isEqualTo(expectedContentType(path).replace(" ", ""));
        });
    }

    private static String digest(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String expectedContentType(String path) {
        if (path.endsWith(".html")) {
            return "text/html; charset=utf-8";
        }
        if (path.endsWith(".json")) {
            return "application/json";
        }
        if (path.endsWith(".js")) {
            return "text/javascript; charset=utf-8";
        }
        if (path.endsWith(".css")) {
            return "text/css; charset=utf-8";
        }
        if (path.endsWith(".csv")) {
            return "text/csv; charset=utf-8";
        }
        if (path.endsWith(".png")) {
            return "image/png";
        }
        if (path.endsWith(".txt")) {
            return "text/plain; charset=utf-8";
        }
        if (path.endsWith(".ico")) {
            return "image/x-icon";
        }
        if (path.endsWith(".woff2")) {
            return "font/woff2";
        }
        if (path.endsWith(".zip")) {
            return "application/zip";
        }
        if (path.endsWith(".mp4")) {
            return "video/mp4";
        }
        return "application/octet-stream";
    }

    /** The quarantine report of a package, once there. */
    com.fasterxml.jackson.databind.JsonNode awaitReport(String packageName) throws Exception {
        String folder = "quarantine/" + packageName.replace(".zip", "") + "/";
        await().atMost(Duration.ofSeconds(30)).until(() -> keys(HISTORY, folder).stream().anyMatch(k -> k.endsWith("/report.json")));
        String key = keys(HISTORY, folder).stream().filter(k -> k.endsWith("/report.json")).findFirst().orElseThrow();
        return mx.prep.difusor.Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(key)).asUtf8String());
    }

    List<String> keys(String bucketName, String prefix) {
        return bucket.listObjectsV2Paginator(b -> b.bucket(bucketName).prefix(prefix)).contents().stream().map(S3Object::key).toList();
    }

    /** Drops a package into a watched folder as an operator or a sync would: the zip, then its checksum file. */
    static void dropWithSidecar(Path incoming, Path pkg) throws Exception {
        String name = pkg.getFileName().toString();
        Files.copy(pkg, incoming.resolve(name));
        // the sidecar comes last: it tells the zip is complete
        Files.writeString(incoming.resolve(name + ".sha256"), mx.prep.difusor.embedded.PrepPackageGenerator.sha256Hex(pkg) + "  " + name + "\n");
    }

    /** Every line logged from now on, with its exception and the exception's causes, until the capture is closed. */
    static AutoCloseable captureLogs(List<String> logged) {
        return mx.prep.difusor.testing.CapturedLogs.capture(logged);
    }
}
