package mx.prep.difusor.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The electoral institute's side of election night: an HTTPS server on 127.0.0.1 that publishes
 * Paquetes de Difusión under {@code /prep/}, the way the difusor will find them in production.
 *
 * <ul>
 *   <li>{@code GET /prep/manifest.json}: {@code {"package", "sha256", "size"[, "url"]}} of the newest package</li>
 *   <li>{@code GET /prep/<name>.zip}: any package released so far</li>
 *   <li>{@code GET /prep/latest.zip} and {@code /prep/latest.zip.sha256} (sha256sum format)</li>
 * </ul>
 * Every response carries a strong ETag and Last-Modified and honours If-None-Match /
 * If-Modified-Since with 304; HEAD is supported. Tests can advertise wrong checksums or serve
 * raw manifest/sidecar text to exercise the difusor's failure paths. Thread-safe.
 */
public final class InstituteSimulator implements AutoCloseable {

    public static final String BASE_PATH = "/prep/";
    public static final String TRUSTSTORE_FILE = "institute-truststore.p12";
    private static final String TRUSTSTORE_PASSWORD = "changeit";
    private static final Logger LOG = LoggerFactory.getLogger(InstituteSimulator.class);
    private static final DateTimeFormatter CORTE_LOG = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm");

    private final HttpsServer server;
    private final ExecutorService handlers;
    private final SelfSignedTls tls;
    private final Path workDir;
    private final Path truststore;
    private final Object releaseLock = new Object();
    private final Map<String, Release> releases = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> requests = new ConcurrentHashMap<>();
    /** When each request came, by path (System.nanoTime()): how long a client waited between two tries. */
    private final Map<String, java.util.Queue<Long>> requestTimes = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> notModified = new ConcurrentHashMap<>();
    private volatile Published published = Published.EMPTY;
    private ScheduledExecutorService scheduler;
    private ScheduledFuture<?> schedule;
    private Instant lastStamp; // guarded by releaseLock

    private InstituteSimulator(Path workDir, int port, SelfSignedTls tls) throws IOException {
        this.workDir = Files.createDirectories(workDir);
        this.tls = tls;
        this.truststore = tls.writeTruststore(workDir.resolve(TRUSTSTORE_FILE), TRUSTSTORE_PASSWORD.toCharArray());
        SSLContext sslContext = tls.serverSslContext();
        String[] suites = strongSuites(sslContext);
        this.server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
        server.setHttpsConfigurator(new HttpsConfigurator(sslContext) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters ssl = getSSLContext().getDefaultSSLParameters();
                ssl.setProtocols(SelfSignedTls.SERVER_PROTOCOLS.clone());
                ssl.setCipherSuites(suites.clone());
                ssl.setUseCipherSuitesOrder(true);
                ssl.setNeedClientAuth(false);
                params.setSSLParameters(ssl);
            }
        });
        AtomicInteger threadNumber = new AtomicInteger();
        this.handlers = Executors.newFixedThreadPool(8, r -> {
            Thread t = new Thread(r, "institute-http-" + threadNumber.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(handlers);
        server.createContext(BASE_PATH, this::handle);
        server.start();
    }

    /** Starts on 127.0.0.1 (port 0 = ephemeral) with a fresh localhost certificate. */
    public static InstituteSimulator start(Path workDir, int port) throws IOException {
        return start(workDir, port, SelfSignedTls.localhost());
    }

    /** Starts with a given identity, e.g. an expired or wrong-host certificate for refusal tests. */
    public static InstituteSimulator start(Path workDir, int port, SelfSignedTls tls) throws IOException {
        InstituteSimulator simulator = new InstituteSimulator(workDir, port, tls);
        LOG.info("Institute simulator serving {} (truststore {})", simulator.baseUri(), simulator.truststore);
        return simulator;
    }

    public URI baseUri() {
        return URI.create("https://localhost:" + port() + BASE_PATH);
    }

    public URI manifestUri() {
        return baseUri().resolve("manifest.json");
    }

    public URI latestZipUri() {
        return baseUri().resolve("latest.zip");
    }

    public URI packageUri(String packageName) {
        return baseUri().resolve(packageName);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public Path truststore() {
        return truststore;
    }

    public String truststorePassword() {
        return TRUSTSTORE_PASSWORD;
    }

    public SelfSignedTls tls() {
        return tls;
    }

    /** Makes this package the newest one; sha256 and size are computed from the file. */
    public void release(Path zip) throws IOException {
        release(zip, null, null, null);
    }

    /**
     * Makes this package the newest one but advertises the given sha256/size (null = the real
     * value) in both manifest.json and latest.zip.sha256, for checksum-mismatch tests.
     */
    public void release(Path zip, String advertisedSha256, Long advertisedSize) throws IOException {
        release(zip, advertisedSha256, advertisedSize, null);
    }

    /** As above, and also advertises {@code "url"} in the manifest (null = omit it). */
    public void release(Path zip, String advertisedSha256, Long advertisedSize, URI advertisedUrl) throws IOException {
        release(zip, advertisedSha256, advertisedSize, advertisedUrl, null, null);
    }

    /**
     * Makes this package the newest one and serves this text verbatim as manifest.json, in one step: a poll never
     * sees the package announced by the default manifest first.
     */
    public void releaseWithManifest(Path zip, String rawManifestJson) throws IOException {
        release(zip, null, null, null, Objects.requireNonNull(rawManifestJson), null);
    }

    /** Makes this package the newest one and serves this text verbatim as latest.zip.sha256, in one step. */
    public void releaseWithSidecar(Path zip, String rawSidecar) throws IOException {
        release(zip, null, null, null, null, Objects.requireNonNull(rawSidecar));
    }

    private void release(Path zip, String advertisedSha256, Long advertisedSize, URI advertisedUrl, String rawManifestJson,
            String rawSidecar) throws IOException {
        String name = zip.getFileName().toString();
        if (!name.endsWith(".zip") || name.contains("/") || name.equals("latest.zip")) {
            throw new IllegalArgumentException("Not a publishable package name: " + name);
        }
        String sha256 = PrepPackageGenerator.sha256Hex(zip);
        long size = Files.size(zip);
        Release release;
        String shownSha = advertisedSha256 != null ? advertisedSha256 : sha256;
        long shownSize = advertisedSize != null ? advertisedSize : size;
        StringBuilder manifest = new StringBuilder(256)
                .append("{\"package\": \"").append(name).append("\", \"sha256\": \"").append(shownSha)
                .append("\", \"size\": ").append(shownSize);
        if (advertisedUrl != null) {
            manifest.append(", \"url\": \"").append(advertisedUrl).append('"');
        }
        manifest.append("}\n");
        String sidecar = shownSha + "  " + name + "\n";
        synchronized (releaseLock) {
            Instant now = nextStamp();
            release = new Release(name, zip, sha256, size, now);
            releases.put(name, release);
            published = new Published(release, text(rawManifestJson != null ? rawManifestJson : manifest.toString(), now),
                    text(rawSidecar != null ? rawSidecar : sidecar, now));
        }
    }

    /** Serves this text verbatim as manifest.json until the next release (malformed JSON welcome). */
    public void releaseManifestJson(String rawJson) {
        Objects.requireNonNull(rawJson);
        synchronized (releaseLock) {
            Published p = published;
            published = new Published(p.latest, text(rawJson, nextStamp()), p.sidecar);
        }
    }

    /** Serves this text verbatim as latest.zip.sha256 until the next release. */
    public void releaseSidecar(String rawText) {
        Objects.requireNonNull(rawText);
        synchronized (releaseLock) {
            Published p = published;
            published = new Published(p.latest, p.manifest, text(rawText, nextStamp()));
        }
    }

    /**
     * Generates and releases a new corte every {@code pace} on a daemon thread, the first one
     * right away. Corte n is {@code firstCorte + n * corteStep}. A second call replaces the schedule.
     */
    public void releaseEvery(PrepPackageGenerator generator, Duration pace, LocalDateTime firstCorte, Duration corteStep) {
        Objects.requireNonNull(generator);
        Objects.requireNonNull(firstCorte);
        Objects.requireNonNull(corteStep);
        if (pace.isNegative() || pace.isZero()) {
            throw new IllegalArgumentException("pace must be positive: " + pace);
        }
        Path packages = workDir.resolve("packages");
        AtomicInteger sequence = new AtomicInteger();
        Runnable task = () -> {
            int n = sequence.getAndIncrement();
            LocalDateTime corte = firstCorte.plus(corteStep.multipliedBy(n));
            try {
                Path zip = generator.write(packages, corte, n);
                release(zip);
                LOG.info("Released corte {} as {} ({} bytes, {} scale, sequence {})",
                        corte.format(CORTE_LOG), zip.getFileName(), Files.size(zip), generator.scale(), n);
            } catch (IOException | RuntimeException e) {
                // keep the schedule alive: one failed corte must not stop the night
                LOG.error("Could not release corte {}", corte.format(CORTE_LOG), e);
            }
        };
        synchronized (releaseLock) {
            if (schedule != null) {
                schedule.cancel(false);
            }
            if (scheduler == null) {
                scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "institute-cortes");
                    t.setDaemon(true);
                    return t;
                });
            }
            schedule = scheduler.scheduleAtFixedRate(task, 0, pace.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Last-Modified has one-second resolution; two releases within a second would look equally
     * old to If-Modified-Since, so each publication gets a strictly later stamp.
     */
    private Instant nextStamp() {
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        if (lastStamp != null && !now.isAfter(lastStamp)) {
            now = lastStamp.plusSeconds(1);
        }
        lastStamp = now;
        return now;
    }

    /** The institute's own trouble: the next {@code times} requests for a path ending with the suffix get this answer. */
    private record Outage(String pathSuffix, AtomicInteger remaining, int status, String contentType, String body, Map<String, String> headers) {
    }

    private final java.util.List<Outage> outages = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * Answers the next {@code times} requests for paths ending with the suffix with this status and body instead: a
     * 503 while the institute's server is overloaded, or a maintenance page with 200 where the zip should be.
     */
    public void answerNext(String pathSuffix, int times, int status, String contentType, String body) {
        answerNext(pathSuffix, times, status, contentType, body, Map.of());
    }

    /** The same, with these headers too (a Retry-After). */
    public void answerNext(String pathSuffix, int times, int status, String contentType, String body, Map<String, String> headers) {
        outages.add(new Outage(pathSuffix, new AtomicInteger(times), status, contentType, body, Map.copyOf(headers)));
    }

    private final Map<String, String> redirects = new java.util.concurrent.ConcurrentHashMap<>();

    /** Answers requests for this exact path with a 302 to another path of this server (a site reorganised). */
    public void redirect(String path, String toPath) {
        redirects.put(path, toPath);
    }

    private boolean answeredByOutage(HttpExchange exchange, String path) throws IOException {
        String to = redirects.get(path);
        if (to != null) {
            exchange.getResponseHeaders().set("Location", to);
            exchange.sendResponseHeaders(302, -1);
            return true;
        }
        for (Outage o : outages) {
            if (path.endsWith(o.pathSuffix()) && o.remaining().getAndDecrement() > 0) {
                byte[] body = o.body().getBytes(java.nio.charset.StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", o.contentType());
                o.headers().forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
                exchange.sendResponseHeaders(o.status(), body.length);
                exchange.getResponseBody().write(body);
                return true;
            }
        }
        return false;
    }

    /** Requests (any method, any status) whose path ends with the suffix. */
    public int requestCount(String pathSuffix) {
        return sum(requests, pathSuffix);
    }

    /** When the requests for paths ending with the suffix came, oldest first (System.nanoTime()). */
    public List<Long> requestTimes(String pathSuffix) {
        return requestTimes.entrySet().stream().filter(e -> e.getKey().endsWith(pathSuffix))
                .flatMap(e -> e.getValue().stream()).sorted().toList();
    }

    /** 304 answers given for paths ending with the suffix. */
    public int notModifiedCount(String pathSuffix) {
        return sum(notModified, pathSuffix);
    }

    public void stop() {
        synchronized (releaseLock) {
            if (scheduler != null) {
                scheduler.shutdownNow();
            }
        }
        server.stop(0);
        handlers.shutdownNow();
    }

    @Override
    public void close() {
        stop();
    }

    // ------------------------------------------------------------------------------------------

    private void handle(HttpExchange exchange) {
        try {
            String path = exchange.getRequestURI().getRawPath();
            requests.computeIfAbsent(path, k -> new AtomicInteger()).incrementAndGet();
            requestTimes.computeIfAbsent(path, k -> new java.util.concurrent.ConcurrentLinkedQueue<>()).add(System.nanoTime());
            String method = exchange.getRequestMethod();
            boolean head = "HEAD".equals(method);
            if (!head && !"GET".equals(method)) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            if (answeredByOutage(exchange, path)) {
                return;
            }
            Published p = published;
            String name = path.substring(BASE_PATH.length());
            Resource resource = null;
            if (name.equals("manifest.json")) {
                resource = p.manifest == null ? null : p.manifest.as("application/json", null);
            } else if (name.equals("latest.zip.sha256")) {
                resource = p.sidecar == null ? null : p.sidecar.as("text/plain; charset=utf-8", null);
            } else if (name.equals("latest.zip")) {
                resource = p.latest == null ? null
                        : p.latest.resource("attachment; filename=\"" + p.latest.name + "\"");
            } else if (name.endsWith(".zip") && name.indexOf('/') < 0) {
                Release release = releases.get(name);
                resource = release == null ? null : release.resource(null);
            }
            if (resource == null) {
                sendNotFound(exchange, head);
                return;
            }
            serve(exchange, path, resource, head);
        } catch (IOException e) {
            // the client went away mid-download; nothing to answer
            LOG.debug("Response aborted: {}", e.toString());
        } finally {
            exchange.close();
        }
    }

    private void serve(HttpExchange exchange, String path, Resource resource, boolean head) throws IOException {
        Headers out = exchange.getResponseHeaders();
        out.set("ETag", resource.etag);
        out.set("Last-Modified", DateTimeFormatter.RFC_1123_DATE_TIME.format(resource.lastModified.atZone(ZoneOffset.UTC)));
        out.set("Cache-Control", "no-cache");
        if (notModified(exchange.getRequestHeaders(), resource)) {
            notModified.computeIfAbsent(path, k -> new AtomicInteger()).incrementAndGet();
            exchange.sendResponseHeaders(304, -1);
            return;
        }
        out.set("Content-Type", resource.contentType);
        if (resource.disposition != null) {
            out.set("Content-Disposition", resource.disposition);
        }
        if (head) {
            out.set("Content-Length", Long.toString(resource.length));
            exchange.sendResponseHeaders(200, -1);
            return;
        }
        exchange.sendResponseHeaders(200, resource.length);
        try (OutputStream body = exchange.getResponseBody()) {
            if (resource.bytes != null) {
                body.write(resource.bytes);
            } else {
                try (InputStream in = Files.newInputStream(resource.file)) {
                    in.transferTo(body);
                }
            }
        }
    }

    /** RFC 9110: If-None-Match wins over If-Modified-Since; weak comparison for If-None-Match. */
    private static boolean notModified(Headers request, Resource resource) {
        String inm = request.getFirst("If-None-Match");
        if (inm != null) {
            String mine = opaque(resource.etag);
            for (String candidate : inm.split(",")) {
                String c = candidate.trim();
                if (c.equals("*") || opaque(c).equals(mine)) {
                    return true;
                }
            }
            return false;
        }
        String ims = request.getFirst("If-Modified-Since");
        if (ims != null) {
            try {
                Instant since = ZonedDateTime.parse(ims.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                return !resource.lastModified.isAfter(since);
            } catch (DateTimeParseException e) {
                return false; // an unparseable date is ignored, as the RFC asks
            }
        }
        return false;
    }

    private static String opaque(String etag) {
        return etag.startsWith("W/") ? etag.substring(2) : etag;
    }

    private static void sendNotFound(HttpExchange exchange, boolean head) throws IOException {
        byte[] body = "Not found\n".getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        if (head) {
            exchange.sendResponseHeaders(404, -1);
            return;
        }
        exchange.sendResponseHeaders(404, body.length);
        exchange.getResponseBody().write(body);
    }

    private static int sum(Map<String, AtomicInteger> counts, String suffix) {
        return counts.entrySet().stream().filter(e -> e.getKey().endsWith(suffix)).mapToInt(e -> e.getValue().get()).sum();
    }

    /** Keeps only forward-secret suites: ECDHE for TLS 1.2 and the TLS 1.3 suites. */
    static String[] strongSuites(SSLContext context) {
        String[] strong = Arrays.stream(context.getDefaultSSLParameters().getCipherSuites())
                .filter(s -> s.startsWith("TLS_AES_") || s.startsWith("TLS_CHACHA20_") || s.startsWith("TLS_ECDHE_"))
                .filter(s -> !s.contains("_NULL_") && !s.contains("_anon_") && !s.contains("_EXPORT_")
                        && !s.contains("_3DES_") && !s.contains("_RC4_") && !s.contains("_DES_"))
                .toArray(String[]::new);
        if (strong.length == 0) {
            throw new IllegalStateException("No ECDHE/TLS 1.3 cipher suite available");
        }
        return strong;
    }

    private static TextResource text(String content, Instant lastModified) {
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        return new TextResource(bytes, "\"" + sha256(bytes).substring(0, 32) + "\"", lastModified);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------------------------------

    private record Release(String name, Path file, String sha256, long size, Instant releasedAt) {
        Resource resource(String disposition) {
            if (!Files.isReadable(file)) {
                LOG.warn("Released package {} is gone from {}", name, file);
                return null;
            }
            return new Resource(null, file, size, "application/zip", disposition, "\"" + sha256 + "\"", releasedAt);
        }
    }

    private record TextResource(byte[] bytes, String etag, Instant lastModified) {
        Resource as(String contentType, String disposition) {
            return new Resource(bytes, null, bytes.length, contentType, disposition, etag, lastModified);
        }
    }

    private record Resource(byte[] bytes, Path file, long length, String contentType, String disposition,
                            String etag, Instant lastModified) {
    }

    /** What is public right now; swapped as a whole so readers never see half a release. */
    private record Published(Release latest, TextResource manifest, TextResource sidecar) {
        static final Published EMPTY = new Published(null, null, null);
    }

    @Override
    public String toString() {
        Release latest = published.latest;
        return "InstituteSimulator[" + baseUri() + ", latest=" + (latest == null ? "none" : latest.name)
                + ", released=" + releases.size() + "]";
    }
}
