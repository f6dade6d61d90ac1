package mx.prep.difusor.embedded;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * A real S3-protocol server in-process (S3Proxy), for the embedded default and the tests. Requests are signed
 * and checked (SigV4), with local-only credentials.
 */
public final class EmbeddedS3 implements AutoCloseable {

    public static final String ACCESS_KEY = "prep-local";
    public static final String SECRET_KEY = "prep-local-secret";

    private final S3Proxy proxy;
    private final BlobStoreContext context;

    private EmbeddedS3(BlobStoreContext context, int port) throws Exception {
        this.context = context;
        this.proxy = S3Proxy.builder()
                .blobStore(context.getBlobStore())
                .endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                // SDK 2.57 asks for response checksums (x-amz-checksum-mode), which S3Proxy 2.7 does not implement
                .ignoreUnknownHeaders(true)
                // S3Proxy's default cap on a signed PUT is 32 MiB; S3 takes 5 GiB, and the site manifest of a large site or a
                // package with difusor.history.part-size set above 32 MiB goes in one PUT
                .v4MaxNonChunkedRequestSize(2L << 30)
                .build();
        proxy.start();
        while (!"STARTED".equals(proxy.getState())) {
            if ("FAILED".equals(proxy.getState())) {
                throw new IllegalStateException("S3Proxy failed to start on port " + port);
            }
            Thread.onSpinWait();
        }
    }

    /** Objects kept in memory: for tests. */
    public static EmbeddedS3 inMemory() throws Exception {
        return new EmbeddedS3(ContextBuilder.newBuilder("transient").build(BlobStoreContext.class), 0);
    }

    /** Objects kept under a local folder, so the local site survives a restart. */
    public static EmbeddedS3 onDisk(Path folder, int port) throws Exception {
        Files.createDirectories(folder);
        Properties overrides = new Properties();
        overrides.setProperty("jclouds.filesystem.basedir", folder.toAbsolutePath().toString());
        return new EmbeddedS3(ContextBuilder.newBuilder("filesystem").overrides(overrides).build(BlobStoreContext.class), port);
    }

    /** A client of this S3 with its local credentials. */
    public software.amazon.awssdk.services.s3.S3Client client() {
        return clientBuilder(endpoint()).build();
    }

    /**
     * A client builder for an embedded S3 reached at {@code endpoint} (its own, or a proxy in front of it): the local
     * credentials, path-style addressing, and checksums only where the API requires them, since S3Proxy takes no
     * aws-chunked upload with a trailing checksum, the SDK's default for a PUT.
     */
    public static software.amazon.awssdk.services.s3.S3ClientBuilder clientBuilder(URI endpoint) {
        return software.amazon.awssdk.services.s3.S3Client.builder().region(software.amazon.awssdk.regions.Region.US_EAST_1)
                .endpointOverride(endpoint).forcePathStyle(true)
                .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                        software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
                .requestChecksumCalculation(software.amazon.awssdk.core.checksums.RequestChecksumCalculation.WHEN_REQUIRED);
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + proxy.getPort());
    }

    public int port() {
        return proxy.getPort();
    }

    public void createBucket(String bucket) {
        BlobStore store = context.getBlobStore();
        if (!store.containerExists(bucket)) {
            store.createContainerInLocation(null, bucket);
        }
    }

    @Override
    public void close() throws Exception {
        proxy.stop();
        context.close();
    }

    /**
     * A standalone S3Proxy for benchmarks and manual tests: {@code <port> <folder | memory> [bucket...]}. Credentials
     * are {@link #ACCESS_KEY} / {@link #SECRET_KEY}. Runs until killed.
     */
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        EmbeddedS3 s3 = "memory".equals(args[1]) ? new EmbeddedS3(ContextBuilder.newBuilder("transient").build(BlobStoreContext.class), port)
                : onDisk(Path.of(args[1]), port);
        for (int i = 2; i < args.length; i++) {
            s3.createBucket(args[i]);
        }
        System.out.println("S3Proxy listening on " + s3.endpoint());
        Thread.currentThread().join();
    }
}
