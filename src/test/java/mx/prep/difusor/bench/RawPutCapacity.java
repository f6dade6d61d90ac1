package mx.prep.difusor.bench;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The endpoint's raw PUT capacity: the real files of a package (first {@code count} entries, bytes already in
 * memory, nothing computed per object) PUT by an SDK v2 client with a fixed thread pool, for each HTTP client named
 * (Apache HttpClient 5, which prep-difusor uses, and 4, the SDK's older default): one untimed warm-up pass at the
 * highest concurrency, then one timed pass per concurrency. The best of all is the floor: the strictest one.
 * Usage: {@code RawPutCapacity <endpoint> <bucket> <zip> <count> <client,client...> <concurrency>...}. Prints
 * {@code client concurrency objects seconds objects_per_second} per pass, then {@code best <objects/s>}.
 */
public final class RawPutCapacity {

    private RawPutCapacity() {
    }

    private record Entry(String name, byte[] bytes) {
    }

    public static void main(String[] args) throws Exception {
        String endpoint = args[0];
        String bucket = args[1];
        int count = Integer.parseInt(args[3]);
        List<Entry> entries = new ArrayList<>();
        try (ZipFile z = new ZipFile(Path.of(args[2]).toFile())) {
            Enumeration<? extends ZipEntry> e = z.entries();
            while (e.hasMoreElements() && entries.size() < count) {
                ZipEntry entry = e.nextElement();
                if (!entry.isDirectory()) {
                    try (InputStream in = z.getInputStream(entry)) {
                        entries.add(new Entry(entry.getName(), in.readAllBytes()));
                    }
                }
            }
        }
        List<String> clients = List.of(args[4].split(","));
        double best = 0;
        // one untimed pass of every file at the highest concurrency first: the server's JIT and heap warm up,
        // otherwise the first passes measure a cold S3Proxy and the order of the passes decides the result
        int highest = 1;
        for (int i = 5; i < args.length; i++) {
            highest = Math.max(highest, Integer.parseInt(args[i]));
        }
        for (String client : clients) {
            ExecutorService warmPool = Executors.newFixedThreadPool(highest);
            try (S3Client s3 = BenchS3.client(endpoint, highest * 2, client)) {
                runPass(s3, warmPool, bucket, "warmup-" + client + "/", entries);
            } finally {
                warmPool.shutdownNow();
            }
        }
        for (String client : clients) {
            for (int i = 5; i < args.length; i++) {
                int concurrency = Integer.parseInt(args[i]);
                ExecutorService pool = Executors.newFixedThreadPool(concurrency);
                try (S3Client s3 = BenchS3.client(endpoint, concurrency * 2, client)) {
                    // warm the connections and the JIT, not timed
                    runPass(s3, pool, bucket, "warm/", entries.subList(0, Math.min(500, entries.size())));
                    long began = System.nanoTime();
                    runPass(s3, pool, bucket, client + "-c" + concurrency + "/", entries);
                    double seconds = (System.nanoTime() - began) / 1e9;
                    double rate = entries.size() / seconds;
                    best = Math.max(best, rate);
                    System.out.printf(Locale.ROOT, "%s %d %d %.2f %.0f%n", client, concurrency, entries.size(), seconds, rate);
                } finally {
                    pool.shutdownNow();
                }
            }
        }
        System.out.printf(Locale.ROOT, "best %.0f%n", best);
    }

    private static void runPass(S3Client s3, ExecutorService pool, String bucket, String prefix, List<Entry> entries)
            throws Exception {
        List<Future<?>> futures = new ArrayList<>(entries.size());
        for (Entry e : entries) {
            futures.add(pool.submit(() -> s3.putObject(b -> b.bucket(bucket).key(prefix + e.name()), RequestBody.fromBytes(e.bytes()))));
        }
        for (Future<?> f : futures) {
            f.get();
        }
    }
}
