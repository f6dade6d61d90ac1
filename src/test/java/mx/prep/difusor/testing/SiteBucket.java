package mx.prep.difusor.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Object;

/** Reads buckets and packages back for assertions: what the public would get, byte for byte. */
public final class SiteBucket {

    /** One object as served: bytes and the headers that matter. */
    public record Served(byte[] bytes, String contentType, String cacheControl, Map<String, String> metadata) {
    }

    private static final int FETCHERS = 8;

    private SiteBucket() {
    }

    public static Map<String, Served> objects(S3Client s3, String bucket, String prefix) {
        List<String> keys = s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents().stream().map(S3Object::key).toList();
        // fetched side by side: one at a time, the hundreds of GETs of a site were a second or two of every test that
        // compares the bucket with its package
        ExecutorService fetchers = Executors.newFixedThreadPool(FETCHERS);
        try {
            List<Future<Served>> fetched = new ArrayList<>();
            for (String key : keys) {
                fetched.add(fetchers.submit(() -> object(s3, bucket, key)));
            }
            Map<String, Served> objects = new TreeMap<>();
            for (int i = 0; i < keys.size(); i++) {
                objects.put(keys.get(i).substring(prefix.length()), fetched.get(i).get());
            }
            return objects;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } finally {
            fetchers.shutdownNow();
        }
    }

    /** One object, as a GET gets it. */
    public static Served object(S3Client s3, String bucket, String key) {
        ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(b -> b.bucket(bucket).key(key));
        return new Served(got.asByteArray(), got.response().contentType(), got.response().cacheControl(), got.response().metadata());
    }

    /** The package's files, path to bytes, directories left out. */
    public static Map<String, byte[]> files(Path zip) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (ZipFile z = new ZipFile(zip.toFile())) {
            Enumeration<? extends ZipEntry> entries = z.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (!e.isDirectory()) {
                    try (InputStream in = z.getInputStream(e)) {
                        files.put(e.getName(), in.readAllBytes());
                    }
                }
            }
        }
        return files;
    }
}
