package mx.prep.difusor.source;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import mx.prep.difusor.TransientFailureException;

/**
 * Fetches a small source document (manifest, checksum sidecar) with If-None-Match / If-Modified-Since, so an
 * unchanged source costs one small request answered 304.
 */
public final class ConditionalGet {

    /** Manifests and sidecars are tiny; anything larger is not one. */
    static final int MAX_DOCUMENT_BYTES = 64 * 1024;

    private record Validators(String etag, String lastModified) {
    }

    private final SecureHttp http;
    private final Duration timeout;
    private final Map<URI, Validators> validators = new ConcurrentHashMap<>();

    public ConditionalGet(SecureHttp http, Duration timeout) {
        this.http = http;
        this.timeout = timeout;
    }

    /**
     * @return the document's text, or empty when it is unchanged since the last successful fetch (304), or
     *         absent (404: the institute has not published yet)
     */
    public Optional<String> fetch(URI uri) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(http.checked(uri)).timeout(timeout).GET();
        Validators known = validators.get(uri);
        if (known != null) {
            if (known.etag() != null) {
                request.header("If-None-Match", known.etag());
            }
            if (known.lastModified() != null) {
                request.header("If-Modified-Since", known.lastModified());
            }
        }
        HttpResponse<InputStream> response = http.client().send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = response.body()) {
            int status = response.statusCode();
            if (status == 304 || status == 404) {
                return Optional.empty();
            }
            if (status >= 500 || status == 429 || status == 408) {
                throw new TransientFailureException("GET " + uri + " answered HTTP " + status);
            }
            if (status != 200) {
                throw new IOException("GET " + uri + " answered HTTP " + status);
            }
            byte[] bytes = body.readNBytes(MAX_DOCUMENT_BYTES + 1);
            if (bytes.length > MAX_DOCUMENT_BYTES) {
                throw new IOException("GET " + uri + " returned more than " + MAX_DOCUMENT_BYTES + " bytes: not a manifest or checksum file");
            }
            validators.put(uri, new Validators(response.headers().firstValue("ETag").orElse(null),
                    response.headers().firstValue("Last-Modified").orElse(null)));
            return Optional.of(new String(bytes, StandardCharsets.UTF_8));
        }
    }

    /** Forgets the validators, so the next fetch reads the document again. */
    public void forget(URI uri) {
        validators.remove(uri);
    }
}
