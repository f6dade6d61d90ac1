package mx.prep.difusor.bench;

import java.io.InputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Checks that buckets hold exactly a package, byte for byte: every object is listed and downloaded (GET) and its
 * SHA-256 compared with the zip entry's. Usage: {@code BucketCheck <endpoint> <zip> <bucket>...}.
 *
 * <p>One line per bucket: {@code bucket expected objects ok stale missing extra seconds}, where stale = key present
 * with different bytes, missing = entry not in the bucket, extra = object not in the package. Exit status 0 always
 * (the caller reports the figures); 2 on a usage or I/O error.
 */
public final class BucketCheck {

    private BucketCheck() {
    }

    public static void main(String[] args) throws Exception {
        String endpoint = args[0];
        Map<String, String> expected = entryHashes(Path.of(args[1]));
        int threads = Integer.getInteger("bench.check.threads", 32);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (S3Client s3 = BenchS3.client(endpoint, threads * 2)) {
            for (int i = 2; i < args.length; i++) {
                String bucket = args[i];
                long began = System.nanoTime();
                List<String> keys = new ArrayList<>();
                for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket)).contents()) {
                    keys.add(o.key());
                }
                AtomicLong ok = new AtomicLong();
                AtomicLong stale = new AtomicLong();
                AtomicLong extra = new AtomicLong();
                Set<String> staleSample = ConcurrentHashMap.newKeySet();
                List<Future<?>> futures = new ArrayList<>();
                for (String key : keys) {
                    futures.add(pool.submit(() -> {
                        String want = expected.get(key);
                        if (want == null) {
                            extra.incrementAndGet();
                            return null;
                        }
                        String got;
                        try (InputStream in = s3.getObject(b -> b.bucket(bucket).key(key))) {
                            got = sha256(in);
                        }
                        if (want.equals(got)) {
                            ok.incrementAndGet();
                        } else {
                            stale.incrementAndGet();
                            if (staleSample.size() < 3) {
                                staleSample.add(key);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : futures) {
                    f.get();
                }
                Set<String> present = new java.util.HashSet<>(keys);
                long missing = expected.keySet().stream().filter(k -> !present.contains(k)).count();
                System.out.printf(java.util.Locale.ROOT, "%s %d %d %d %d %d %d %.1f%s%n", bucket, expected.size(), keys.size(),
                        ok.get(), stale.get(), missing, extra.get(), (System.nanoTime() - began) / 1e9,
                        staleSample.isEmpty() ? "" : " e.g. " + String.join(",", staleSample));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Entry name to SHA-256 of its bytes, directories left out. */
    static Map<String, String> entryHashes(Path zip) throws Exception {
        Map<String, String> hashes = new java.util.HashMap<>();
        try (ZipFile z = new ZipFile(zip.toFile())) {
            Enumeration<? extends ZipEntry> entries = z.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (!e.isDirectory()) {
                    try (InputStream in = z.getInputStream(e)) {
                        hashes.put(e.getName(), sha256(in));
                    }
                }
            }
        }
        return hashes;
    }

    static String sha256(InputStream in) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[16 * 1024];
        for (int n; (n = in.read(buffer)) > 0; ) {
            digest.update(buffer, 0, n);
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
