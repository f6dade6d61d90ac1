package mx.prep.difusor.source;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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
    private final Map<URI, URI> answeredFrom = new ConcurrentHashMap<>();
    /** URIs whose last answer was 404: empty from {@link #fetch} means "not there", not "unchanged". */
    private final java.util.Set<URI> absent = ConcurrentHashMap.newKeySet();

    /** The longest a Retry-After holds the next question back by default (difusor.source.max-retry-after-ms). */
    static final Duration MOST_RETRY_AFTER = Duration.ofMinutes(2);

    /** URIs whose last answer (429 or 503) asked to wait, with when (System.nanoTime) they may be asked again. */
    private final Map<URI, Long> notBefore = new ConcurrentHashMap<>();

    /**
     * The longest a Retry-After holds the next question back: a new corte waits that long at most, and no alert tells
     * a source that asked us to wait from one that is down (a day's Retry-After would silence the poll all night).
     */
    private final Duration mostRetryAfter;

    public ConditionalGet(SecureHttp http, Duration timeout) {
        this(http, timeout, MOST_RETRY_AFTER);
    }

    public ConditionalGet(SecureHttp http, Duration timeout, Duration mostRetryAfter) {
        this.http = http;
        this.timeout = timeout;
        this.mostRetryAfter = mostRetryAfter;
    }

    /**
     * @return where the last document fetched from this URI really came from, after redirects: what its relative
     *         links resolve against
     */
    public URI answeredFrom(URI uri) {
        return answeredFrom.getOrDefault(uri, uri);
    }

    /** Whether the last answer for {@code uri} was 404 (its last document, if any, is no longer there). */
    public boolean absent(URI uri) {
        return absent.contains(uri);
    }

    /**
     * @return the document's text, or empty when it is unchanged since the last successful fetch (304), or
     *         absent (404: the institute has not published yet)
     */
    public Optional<String> fetch(URI uri) throws IOException, InterruptedException {
        Long wait = notBefore.get(uri);
        if (wait != null && System.nanoTime() - wait < 0) {
            // asked again at every poll, a source that said how long to wait (a WAF, a CDN under load) would keep us
            // blocked for longer
            throw new TransientFailureException("GET " + SecureHttp.shown(uri) + " not asked: its last answer said Retry-After, "
                    + Math.max(1, Duration.ofNanos(wait - System.nanoTime()).toSeconds()) + " s more");
        }
        notBefore.remove(uri);
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
        // the request timeout ends at the response head; a body that stalls after it would hold the poll (and every
        // later one: the poll routes never overlap) for good. So the whole answer has the same deadline.
        CompletableFuture<HttpResponse<byte[]>> answer = http.send(request.build(), info -> new BoundedBody(MAX_DOCUMENT_BYTES));
        HttpResponse<byte[]> response;
        try {
            response = answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            answer.cancel(true);
            throw new TransientFailureException("GET " + SecureHttp.shown(uri) + ": no whole answer within " + timeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof SecureHttp.RedirectRefusedException refused) {
                throw new DocumentRefusedException(refused.getMessage());
            }
            // the JDK's own message may be as bare as "java.net.ConnectException: null": the log must say which URL
            throw new IOException("GET " + SecureHttp.shown(uri) + " failed: " + cause, cause);
        } catch (InterruptedException e) {
            answer.cancel(true);
            throw e;
        }
        int status = response.statusCode();
        if (status == 404) {
            absent.add(uri);
            // what comes back may be an older document (an earlier manifest restored): asked whole, not "since" the gone one
            validators.remove(uri);
        } else {
            absent.remove(uri);
        }
        if (status == 304 || status == 404) {
            return Optional.empty();
        }
        if (status >= 500 || status == 429 || status == 408) {
            Optional<Duration> retryAfter = status == 429 || status == 503
                    ? retryAfter(response.headers().firstValue("Retry-After").orElse(null), java.time.Clock.systemUTC(), mostRetryAfter)
                    : Optional.empty();
            retryAfter.ifPresent(d -> notBefore.put(uri, System.nanoTime() + d.toNanos()));
            throw new TransientFailureException("GET " + SecureHttp.shown(uri) + " answered HTTP " + status
                    + retryAfter.map(d -> " (Retry-After: not asked again for " + d.toSeconds() + " s)").orElse(""));
        }
        if (status != 200) {
            throw new DocumentRefusedException("GET " + SecureHttp.shown(uri) + " answered HTTP " + status);
        }
        if (response.body() == null) {
            throw new DocumentRefusedException("GET " + SecureHttp.shown(uri) + " returned more than " + MAX_DOCUMENT_BYTES + " bytes: not a manifest or checksum file");
        }
        validators.put(uri, new Validators(response.headers().firstValue("ETag").orElse(null),
                response.headers().firstValue("Last-Modified").orElse(null)));
        answeredFrom.put(uri, response.uri());
        try {
            return Optional.of(InstituteText.decode(response.body()));
        } catch (java.nio.charset.CharacterCodingException notText) {
            // read as it is: the checksum's or the manifest's own check says what is wrong with it
            return Optional.of(new String(response.body(), StandardCharsets.UTF_8));
        }
    }

    /**
     * A Retry-After header's wait: delay-seconds or an HTTP-date, at most {@code most}; empty when there is none, it
     * cannot be read, or it has passed.
     */
    static Optional<Duration> retryAfter(String header, java.time.Clock clock, Duration most) {
        if (header == null || header.isBlank()) {
            return Optional.empty();
        }
        Duration wait;
        try {
            wait = Duration.ofSeconds(Long.parseLong(header.strip()));
        } catch (NumberFormatException notSeconds) {
            try {
                wait = Duration.between(clock.instant(),
                        java.time.ZonedDateTime.parse(header.strip(), java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
            } catch (java.time.format.DateTimeParseException unreadable) {
                return Optional.empty();
            }
        }
        if (wait.isNegative() || wait.isZero()) {
            return Optional.empty();
        }
        return Optional.of(wait.compareTo(most) > 0 ? most : wait);
    }

    /** Collects at most {@code limit} bytes; a longer body is cut off (the connection is let go) and yields null. */
    private static final class BoundedBody implements HttpResponse.BodySubscriber<byte[]> {

        private final int limit;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final CompletableFuture<byte[]> result = new CompletableFuture<>();
        private Flow.Subscription subscription;

        BoundedBody(int limit) {
            this.limit = limit;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            if (result.isDone()) {
                return;
            }
            for (ByteBuffer b : buffers) {
                byte[] chunk = new byte[b.remaining()];
                b.get(chunk);
                bytes.writeBytes(chunk);
            }
            if (bytes.size() > limit) {
                subscription.cancel();
                result.complete(null);
            }
        }

        @Override
        public void onError(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            result.complete(bytes.toByteArray());
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return result;
        }
    }

    /** Whether difusor.source.allowed-hosts lets the source be at this URI's host. */
    public boolean allows(URI uri) {
        return http.allows(uri);
    }

    public String notAllowed(URI uri) {
        return http.notAllowed(uri);
    }

    /** Forgets the validators, so the next fetch reads the document again. */
    public void forget(URI uri) {
        validators.remove(uri);
    }
}
