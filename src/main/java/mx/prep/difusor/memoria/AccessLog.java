package mx.prep.difusor.memoria;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;

/**
 * Reads CloudFront's standard access logs (W3C extended format, tab-separated, gzip or plain), the source of the
 * memoria técnica's visits, pages and accesses. Columns are found by name in each file's {@code #Fields:} line, so
 * the legacy format and the newer one with more fields both read; a line that does not fit is counted, not fatal.
 */
public final class AccessLog {

    /**
     * One request the CDN answered. {@code contentType} is null when the log has no sc-content-type field, {@code method}
     * when it has no cs-method field.
     */
    public record Hit(Instant at, String clientIp, String userAgent, String path, int status, String contentType, String method) {
    }

    /** How the message of a file that is no CloudFront access log starts. */
    static final String NOT_A_LOG = "not a CloudFront access log";

    private static final List<String> REQUIRED = List.of("date", "time", "c-ip", "cs-uri-stem", "sc-status", "cs(User-Agent)");

    private AccessLog() {
    }

    /**
     * Sends every request of one log file to {@code hits}.
     *
     * @return the lines that could not be read as a request (a malformed or cut-short line)
     */
    public static long read(InputStream raw, Consumer<Hit> hits) throws IOException {
        long[] unreadable = new long[1];
        read(raw, hits, () -> unreadable[0]++);
        return unreadable[0];
    }

    /**
     * Sends every request of one log file to {@code hits}, and every line that could not be read as a request to
     * {@code unreadableLine} as it is met: a file damaged further on still counts the bad lines read before the fault.
     */
    public static void read(InputStream raw, Consumer<Hit> hits, Runnable unreadableLine) throws IOException {
        InputStream in = new BufferedInputStream(raw, 1 << 16);
        in.mark(2);
        boolean gzip = in.read() == 0x1f && in.read() == 0x8b;
        in.reset();
        if (gzip) {
            in = new GZIPInputStream(in, 1 << 16);
        }
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16)) {
            read(lines, hits, unreadableLine);
        }
    }

    private static void read(BufferedReader lines, Consumer<Hit> hits, Runnable unreadableLine) throws IOException {
        int[] columns = null;
        int width = 0;
        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
            if (line.startsWith("#Fields:")) {
                List<String> fields = Arrays.asList(line.substring("#Fields:".length()).strip().split("\\s+"));
                columns = new int[REQUIRED.size() + 2];
                for (int i = 0; i < REQUIRED.size(); i++) {
                    columns[i] = fields.indexOf(REQUIRED.get(i));
                    if (columns[i] < 0) {
                        throw new IOException(NOT_A_LOG + ": its #Fields line has no " + REQUIRED.get(i));
                    }
                }
                columns[REQUIRED.size()] = fields.indexOf("sc-content-type");
                columns[REQUIRED.size() + 1] = fields.indexOf("cs-method");
                width = fields.size();
                continue;
            }
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (columns == null) {
                throw new IOException(NOT_A_LOG + ": a request line comes before any #Fields line");
            }
            Hit hit = parse(line.split("\t", -1), columns, width);
            if (hit == null) {
                unreadableLine.run();
            } else {
                hits.accept(hit);
            }
        }
    }

    private static Hit parse(String[] v, int[] c, int width) {
        if (v.length < Math.min(width, 1 + Arrays.stream(c).max().getAsInt())) {
            return null;
        }
        try {
            Instant at = Instant.parse(v[c[0]] + "T" + v[c[1]] + "Z");
            int status = Integer.parseInt(v[c[4]]);
            String contentType = c[6] < 0 || "-".equals(v[c[6]]) ? null : v[c[6]];
            String method = c[7] < 0 || "-".equals(v[c[7]]) ? null : v[c[7]];
            return new Hit(at, v[c[2]], v[c[5]], v[c[3]], status, contentType, method);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
