package mx.prep.difusor.bench;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
 * (Apache HttpClient 5, which prep-difusor uses, and 4, the SDK's older default): one untimed warm-up pass per client
 * at the highest concurrency, then {@code passes} rounds of one timed pass per client and concurrency. Rounds rather
 * than repeats in a row, so a drift of the machine or the server over the measurement falls on every setting alike.
 * A setting's rate is the median of its passes; the floor is the best setting's median. The fastest single pass is
 * printed too: with one pass per setting it was the floor, and it moved by a third from run to run.
 * Usage: {@code RawPutCapacity <endpoint> <bucket> <zip> <count> <passes> <client,client...> <concurrency>...}.
 * Prints {@code pass <client> <concurrency> <objects> <seconds> <objects/s>} per pass, {@code median <client>
 * <concurrency> <objects/s>} per setting, then {@code best <objects/s>} and {@code fastest_pass <objects/s>}.
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
        int passes = Integer.parseInt(args[4]);
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
        List<String> clients = List.of(args[5].split(","));
        List<Integer> concurrencies = new ArrayList<>();
        for (int i = 6; i < args.length; i++) {
            concurrencies.add(Integer.parseInt(args[i]));
        }
        int highest = concurrencies.stream().max(Integer::compare).orElse(1);
        // one untimed pass of every file at the highest concurrency first: the server's JIT and heap warm up,
        // otherwise the first passes measure a cold S3Proxy and the order of the passes decides the result
        for (String client : clients) {
            ExecutorService warmPool = Executors.newFixedThreadPool(highest);
            try (S3Client s3 = BenchS3.client(endpoint, highest * 2, client)) {
                runPass(s3, warmPool, bucket, "warmup-" + client + "/", entries);
            } finally {
                warmPool.shutdownNow();
            }
        }
        Map<String, List<Double>> rates = new LinkedHashMap<>();
        double fastest = 0;
        for (int round = 0; round < passes; round++) {
            for (String client : clients) {
                for (int concurrency : concurrencies) {
                    ExecutorService pool = Executors.newFixedThreadPool(concurrency);
                    try (S3Client s3 = BenchS3.client(endpoint, concurrency * 2, client)) {
                        // warm the connections and the JIT, not timed
                        runPass(s3, pool, bucket, "warm/", entries.subList(0, Math.min(500, entries.size())));
                        long began = System.nanoTime();
                        runPass(s3, pool, bucket, client + "-c" + concurrency + "/", entries);
                        double seconds = (System.nanoTime() - began) / 1e9;
                        double rate = entries.size() / seconds;
                        fastest = Math.max(fastest, rate);
                        rates.computeIfAbsent(client + " " + concurrency, k -> new ArrayList<>()).add(rate);
                        System.out.printf(Locale.ROOT, "pass %s %d %d %.2f %.0f%n", client, concurrency, entries.size(), seconds, rate);
                    } finally {
                        pool.shutdownNow();
                    }
                }
            }
        }
        double best = 0;
        for (Map.Entry<String, List<Double>> setting : rates.entrySet()) {
            double median = median(setting.getValue());
            best = Math.max(best, median);
            System.out.printf(Locale.ROOT, "median %s %.0f%n", setting.getKey(), median);
        }
        System.out.printf(Locale.ROOT, "best %.0f%n", best);
        System.out.printf(Locale.ROOT, "fastest_pass %.0f%n", fastest);
    }

    static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
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
