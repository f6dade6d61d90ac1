package mx.prep.difusor.memoria;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.zip.GZIPOutputStream;

/**
 * Access log files as CloudFront's standard logging writes them: gzip, a #Version and a #Fields line, then one
 * tab-separated line per request with the 33 fields of the current format ('-' for an empty value, the User-Agent
 * URL-encoded).
 */
final class CloudFrontLogs {

    static final String FIELDS = "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
            + "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes "
            + "time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status "
            + "fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
            + "sc-range-start sc-range-end";

    private final StringBuilder text = new StringBuilder("#Version: 1.0\n#Fields: " + FIELDS + "\n");
    private int requests;

    CloudFrontLogs request(String at, String ip, String userAgent, String path, int status, String contentType) {
        return request(at, ip, userAgent, path, status, contentType, "GET");
    }

    CloudFrontLogs request(String at, String ip, String userAgent, String path, int status, String contentType, String method) {
        Instant t = Instant.parse(at);
        String date = t.toString().substring(0, 10);
        String time = t.toString().substring(11, 19);
        String result = status >= 400 ? "Error" : "Hit";
        text.append(String.join("\t", date, time, "QRO51-P1", "5120", ip, method, "d111111abcdef8.cloudfront.net", path,
                Integer.toString(status), "-", userAgent.replace(" ", "%20"), "-", "-", result, "req" + (++requests) + "AbCdEf==",
                "prep.example.mx", "https", "215", "0.002", "-", "TLSv1.3", "TLS_AES_128_GCM_SHA256", result, "HTTP/2.0", "-", "-",
                "51234", "0.002", result, contentType == null ? "-" : contentType, "5120", "-", "-")).append('\n');
        return this;
    }

    CloudFrontLogs line(String raw) {
        text.append(raw).append('\n');
        return this;
    }

    String text() {
        return text.toString();
    }

    byte[] gzip() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bytes)) {
            gz.write(text().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }
}
