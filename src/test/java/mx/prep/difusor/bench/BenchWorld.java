package mx.prep.difusor.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import com.sun.net.httpserver.HttpServer;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;
import org.jclouds.blobstore.domain.Blob;
import org.jclouds.blobstore.domain.MultipartPart;
import org.jclouds.blobstore.domain.MultipartUpload;
import org.jclouds.blobstore.options.CopyOptions;
import org.jclouds.blobstore.options.PutOptions;
import org.jclouds.blobstore.util.ForwardingBlobStore;

import mx.prep.difusor.embedded.EmbeddedS3;
import mx.prep.difusor.testing.CloudFrontEmulator;

/**
 * "The world" for the benchmark, in one JVM: an S3Proxy server (same settings as {@link EmbeddedS3}: SigV4,
 * path-style, credentials prep-local / prep-local-secret) whose blob store counts writes per bucket, the CloudFront
 * emulator, and a tiny HTTP endpoint that reports the counters, so every tool's uploads are counted on the server
 * side, the same way.
 *
 * <p>Usage: {@code BenchWorld <s3 port> <counters port> <memory | folder> <distribution id> <ports file> [bucket...]}.
 * Writes {@code S3_PORT=}, {@code CF_ENDPOINT=}, {@code COUNTERS_PORT=} lines to the ports file once everything
 * listens, then runs until killed. {@code GET /counts} answers one line per bucket: {@code bucket puts deletes};
 * {@code GET /invalidations} the number of CloudFront invalidations created and when the latest was (epoch ms).
 */
public final class BenchWorld {

    private static final Map<String, AtomicLong> PUTS = new ConcurrentHashMap<>();
    private static final Map<String, AtomicLong> DELETES = new ConcurrentHashMap<>();

    private BenchWorld() {
    }

    public static void main(String[] args) throws Exception {
        int s3Port = Integer.parseInt(args[0]);
        int countersPort = Integer.parseInt(args[1]);
        String storage = args[2];
        String distribution = args[3];
        Path portsFile = Path.of(args[4]);

        BlobStoreContext context;
        if ("memory".equals(storage)) {
            context = ContextBuilder.newBuilder("transient").build(BlobStoreContext.class);
        } else {
            Files.createDirectories(Path.of(storage));
            Properties overrides = new Properties();
            overrides.setProperty("jclouds.filesystem.basedir", Path.of(storage).toAbsolutePath().toString());
            context = ContextBuilder.newBuilder("filesystem").overrides(overrides).build(BlobStoreContext.class);
        }
        BlobStore counting = new CountingBlobStore(context.getBlobStore());
        for (int i = 5; i < args.length; i++) {
            if (!counting.containerExists(args[i])) {
                counting.createContainerInLocation(null, args[i]);
            }
        }
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(counting)
                .endpoint(URI.create("http://127.0.0.1:" + s3Port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, EmbeddedS3.ACCESS_KEY, EmbeddedS3.SECRET_KEY)
                .ignoreUnknownHeaders(true)
                // S3Proxy refuses (resets) a non-chunked SigV4 PUT above 32 MiB by default; S3 takes 5 GiB in one PUT.
                // prep-difusor signs every PUT over its whole body; packages go in 16 MiB parts, but the 4x site's
                // manifest goes in one PUT
                .v4MaxNonChunkedRequestSize(2L << 30)
                .build();
        proxy.start();
        while (!"STARTED".equals(proxy.getState())) {
            if ("FAILED".equals(proxy.getState())) {
                throw new IllegalStateException("S3Proxy failed to start on port " + s3Port);
            }
            Thread.onSpinWait(); // S3Proxy.start() returns once Jetty runs; this only guards a slow start
        }

        CloudFrontEmulator cloudFront = CloudFrontEmulator.start();
        cloudFront.addDistribution(distribution);

        HttpServer counters = HttpServer.create(new InetSocketAddress("127.0.0.1", countersPort), 16);
        counters.createContext("/counts", exchange -> {
            StringBuilder out = new StringBuilder();
            Map<String, AtomicLong> puts = new TreeMap<>(PUTS);
            for (String bucket : new java.util.TreeSet<>(union(puts.keySet(), DELETES.keySet()))) {
                out.append(bucket).append(' ').append(value(PUTS, bucket)).append(' ').append(value(DELETES, bucket)).append('\n');
            }
            answer(exchange, out.toString());
        });
        // how many invalidations, and when the latest was received (epoch ms, 0 if none): the end of a corte's clock
        counters.createContext("/invalidations", exchange ->
                answer(exchange, cloudFront.created(distribution).size() + " "
                        + cloudFront.lastCreated(distribution).map(java.time.Instant::toEpochMilli).orElse(0L) + "\n"));
        counters.start();

        String ports = "S3_PORT=" + proxy.getPort() + "\nCF_ENDPOINT=" + cloudFront.endpoint() + "\nCOUNTERS_PORT="
                + counters.getAddress().getPort() + "\n";
        Path tmp = portsFile.resolveSibling(portsFile.getFileName() + ".tmp");
        Files.writeString(tmp, ports);
        Files.move(tmp, portsFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        System.out.print(ports);
        System.out.flush();
        Thread.currentThread().join();
    }

    private static java.util.Set<String> union(java.util.Set<String> a, java.util.Set<String> b) {
        java.util.Set<String> all = new java.util.HashSet<>(a);
        all.addAll(b);
        return all;
    }

    private static long value(Map<String, AtomicLong> map, String bucket) {
        AtomicLong v = map.get(bucket);
        return v == null ? 0 : v.get();
    }

    private static void answer(com.sun.net.httpserver.HttpExchange exchange, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain");
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static void count(Map<String, AtomicLong> map, String bucket, long n) {
        map.computeIfAbsent(bucket, b -> new AtomicLong()).addAndGet(n);
    }

    /** Counts every object write (put, copy, completed multipart upload) and delete, per bucket. */
    private static final class CountingBlobStore extends ForwardingBlobStore {
        CountingBlobStore(BlobStore delegate) {
            super(delegate);
        }

        @Override
        public String putBlob(String container, Blob blob) {
            String etag = super.putBlob(container, blob);
            count(PUTS, container, 1);
            return etag;
        }

        @Override
        public String putBlob(String container, Blob blob, PutOptions options) {
            String etag = super.putBlob(container, blob, options);
            count(PUTS, container, 1);
            return etag;
        }

        @Override
        public String copyBlob(String fromContainer, String fromName, String toContainer, String toName, CopyOptions options) {
            String etag = super.copyBlob(fromContainer, fromName, toContainer, toName, options);
            count(PUTS, toContainer, 1);
            return etag;
        }

        @Override
        public String completeMultipartUpload(MultipartUpload mpu, java.util.List<MultipartPart> parts) {
            String etag = super.completeMultipartUpload(mpu, parts);
            count(PUTS, mpu.containerName(), 1);
            return etag;
        }

        @Override
        public void removeBlob(String container, String name) {
            super.removeBlob(container, name);
            count(DELETES, container, 1);
        }

        @Override
        public void removeBlobs(String container, Iterable<String> names) {
            super.removeBlobs(container, names);
            long n = 0;
            for (String ignored : names) {
                n++;
            }
            count(DELETES, container, n);
        }
    }
}
