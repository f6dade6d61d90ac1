package mx.prep.difusor.bench;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.zip.GZIPOutputStream;

import mx.prep.difusor.embedded.EmbeddedS3;
import mx.prep.difusor.memoria.MemoriaTecnica;
import mx.prep.difusor.memoria.OperationRecords;
import mx.prep.difusor.ObjectStore;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The memoria técnica's benchmark (bench/memoria.sh): a week of CloudFront standard logs of a PREP site, then the
 * memoria técnica's figures of them, to set beside GoAccess's of the same files.
 * <ul>
 * <li>{@code generate <folder> <visitors> <seed>}: visitors (a few share an IP behind a NAT, with other browsers) come
 * one to four times between 2 and 9 June, most on election night; a visit loads the page (200, or 304 when the
 * browser has it), its bundles, then polls the results JSON every 1-5 minutes for 5-60 minutes; scanners ask for pages
 * that are not there (404). One gzip file per hour and edge, as CloudFront names them; 2 % of the lines arrive in the
 * next hour's file, out of time order.</li>
 * <li>{@code figures <folder> <out> <zone>}: runs the memoria técnica on them (history bucket empty, in S3Proxy).</li>
 * </ul>
 */
public final class BenchAccessLogs {

    private static final DateTimeFormatter HOUR = DateTimeFormatter.ofPattern("yyyy-MM-dd-HH").withZone(ZoneOffset.UTC);
    private static final String[] BROWSERS = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.113 Mobile Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"};
    private static final String[] EDGES = {"QRO51-P1", "MEX50-P2", "DFW57-P3"};

    private BenchAccessLogs() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "generate" -> System.out.println(generate(Path.of(args[1]), Integer.parseInt(args[2]), Long.parseLong(args[3])));
            case "figures" -> figures(Path.of(args[1]), Path.of(args[2]), ZoneId.of(args[3]));
            default -> throw new IllegalArgumentException("generate <folder> <visitors> <seed> | figures <folder> <out> <zone>");
        }
    }

    private record Line(long at, String text) {
    }

    /** @return the number of request lines written */
    static long generate(Path folder, int visitors, long seed) throws IOException {
        Random r = new Random(seed);
        long june2 = LocalDate.parse("2024-06-02").atStartOfDay(ZoneOffset.UTC).toEpochSecond();
        long night = Instant.parse("2024-06-03T02:00:00Z").getEpochSecond(); // 20:00 on 2 June, Tiempo del Centro
        Map<String, List<Line>> files = new TreeMap<>();
        long lines = 0;
        for (int v = 0; v < visitors; v++) {
            String ip = r.nextInt(10) == 0 ? "187.190." + r.nextInt(4) + "." + r.nextInt(8) // behind a NAT, shared
                    : "201." + r.nextInt(256) + "." + r.nextInt(256) + "." + r.nextInt(256);
            String agent = BROWSERS[r.nextInt(BROWSERS.length)].replace(" ", "%20");
            int visits = 1 + r.nextInt(4);
            for (int k = 0; k < visits; k++) {
                long start = r.nextInt(3) > 0 ? night + (long) (Math.abs(r.nextGaussian()) * 3 * 3600)
                        : june2 + (long) (r.nextDouble() * 8 * 86400);
                boolean cached = r.nextBoolean();
                long t = start;
                lines += add(files, r, t, ip, agent, "/", cached ? 304 : 200, cached ? "-" : "text/html");
                lines += add(files, r, t + 1, ip, agent, "/assets/app.3f9a1c.js", cached ? 304 : 200, cached ? "-" : "application/javascript");
                lines += add(files, r, t + 1, ip, agent, "/assets/app.7c1e0b.css", cached ? 304 : 200, cached ? "-" : "text/css");
                long end = start + 300 + r.nextInt(3300);
                for (t = start + 60 + r.nextInt(240); t < end; t += 60 + r.nextInt(240)) {
                    lines += add(files, r, t, ip, agent, "/data/" + (r.nextBoolean() ? "gubernatura" : "diputaciones") + "/entidad.json", 200,
                            "application/json");
                }
            }
            if (r.nextInt(50) == 0) {
                lines += add(files, r, june2 + (long) (r.nextDouble() * 8 * 86400), ip, "python-requests/2.31.0", "/wp-login.php", 404, "text/html");
            }
        }
        Files.createDirectories(folder);
        for (Map.Entry<String, List<Line>> f : files.entrySet()) {
            f.getValue().sort((a, b) -> Long.compare(a.at(), b.at()));
            try (Writer w = new OutputStreamWriter(new GZIPOutputStream(Files.newOutputStream(folder.resolve(f.getKey()))), StandardCharsets.UTF_8)) {
                w.write("#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
                        + "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes "
                        + "time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status "
                        + "fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
                        + "sc-range-start sc-range-end\n");
                for (Line l : f.getValue()) {
                    w.write(l.text());
                }
            }
        }
        return lines;
    }

    private static int add(Map<String, List<Line>> files, Random r, long at, String ip, String agent, String path, int status, String type) {
        String iso = Instant.ofEpochSecond(at).toString();
        String edge = EDGES[Math.floorMod(ip.hashCode(), EDGES.length)];
        // CloudFront delivers some lines in a later file: the memoria must not depend on the files' order
        long fileHour = at / 3600 + (r.nextInt(50) == 0 ? 1 : 0);
        String name = "E2QWRUHAPOMQZL." + HOUR.format(Instant.ofEpochSecond(fileHour * 3600)) + "." + Integer.toHexString(edge.hashCode() & 0xffff) + ".gz";
        String result = status == 404 ? "Error" : status == 304 ? "RefreshHit" : "Hit";
        String text = String.join("\t", iso.substring(0, 10), iso.substring(11, 19), edge, status == 304 ? "0" : "5120", ip, "GET",
                "d111111abcdef8.cloudfront.net", path, Integer.toString(status), "https://prep.example.mx/", agent, "-", "-", result,
                Long.toHexString(r.nextLong()) + "==", "prep.example.mx", "https", "215", "0.002", "-", "TLSv1.3", "TLS_AES_128_GCM_SHA256",
                result, "HTTP/2.0", "-", "-", "51234", "0.002", result, type, status == 304 ? "0" : "5120", "-", "-") + "\n";
        files.computeIfAbsent(name, n -> new ArrayList<>()).add(new Line(at, text));
        return 1;
    }

    static void figures(Path logs, Path out, ZoneId zone) throws Exception {
        try (EmbeddedS3 s3 = EmbeddedS3.inMemory();
             S3Client client = S3Client.builder().region(Region.US_EAST_1).endpointOverride(s3.endpoint()).forcePathStyle(true)
                     .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(EmbeddedS3.ACCESS_KEY, EmbeddedS3.SECRET_KEY)))
                     .build()) {
            s3.createBucket("prep-history");
            ObjectStore store = new ObjectStore(client);
            long t0 = System.nanoTime();
            var written = new MemoriaTecnica(store, new OperationRecords(store, "prep-history", "history/", "quarantine/", "incidents/"),
                    java.time.Clock.systemUTC()).write("https://prep.example.mx/", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-09"), java.time.LocalDateTime.parse("2024-06-02T20:00"),
                    zone, logs.toString(), out);
            System.out.printf("memoria técnica: %d files in %.1f s%n", written.logFiles(), (System.nanoTime() - t0) / 1e9);
        }
    }
}
