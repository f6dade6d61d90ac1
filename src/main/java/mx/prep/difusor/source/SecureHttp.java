package mx.prep.difusor.source;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;

/**
 * The HTTPS client used to talk to the institute: TLS 1.2 and 1.3 only, forward-secret cipher suites only,
 * hostname verification always on (the JDK default, never relaxed here), and optionally a truststore of
 * our own trusted beside the JDK's CA list (the institute may sign with a private CA: {@link InstituteTrust}).
 */
public final class SecureHttp {

    static final String[] PROTOCOLS = { "TLSv1.3", "TLSv1.2" };

    /** As many as the JDK's client follows by itself. */
    static final int MAX_REDIRECTS = 5;
    private static final Set<Integer> REDIRECTS = Set.of(301, 302, 303, 307, 308);

    private final HttpClient client;
    /** difusor.source.allowed-hosts: host names, or *.domain for the hosts under it; empty: any host. */
    private final List<String> allowedHosts;

    public SecureHttp(String truststore, String truststorePassword, String truststoreType, Duration connectTimeout) {
        this(truststore, truststorePassword, truststoreType, null, connectTimeout, List.of());
    }

    public SecureHttp(String truststore, String truststorePassword, String truststoreType, Duration connectTimeout,
            List<String> allowedHosts) {
        this(truststore, truststorePassword, truststoreType, null, connectTimeout, allowedHosts);
    }

    /** @param platform the CAs that stand for the JDK's list (null: the JDK's own); tests pass their own */
    SecureHttp(String truststore, String truststorePassword, String truststoreType, KeyStore platform, Duration connectTimeout) {
        this(truststore, truststorePassword, truststoreType, platform, connectTimeout, List.of());
    }

    SecureHttp(String truststore, String truststorePassword, String truststoreType, KeyStore platform, Duration connectTimeout,
            List<String> allowedHosts) {
        this.allowedHosts = allowedHosts.stream().map(h -> h.strip().toLowerCase(Locale.ROOT)).filter(h -> !h.isEmpty()).toList();
        try {
            SSLContext tls = sslContext(truststore, truststorePassword, truststoreType, platform);
            SSLParameters params = new SSLParameters(strongCipherSuites(tls), PROTOCOLS);
            this.client = HttpClient.newBuilder()
                    .sslContext(tls)
                    .sslParameters(params)
                    .connectTimeout(connectTimeout)
                    // redirects are followed by send(), which checks each hop before asking it
                    .followRedirects(HttpClient.Redirect.NEVER)
                    .version(HttpClient.Version.HTTP_1_1)
                    .build();
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot set up TLS for the institute's source: " + e.getMessage(), e);
        }
    }

    /** The client itself, for its TLS settings: requests go through {@link #send}. */
    HttpClient client() {
        return client;
    }

    /**
     * Sends a GET and follows its redirects here rather than in the JDK's client, so that every hop is checked
     * ({@link #checked}: https only, an allowed host; never from https down to http) before it is asked: a redirect to
     * a host not allowed gets no request, and its bytes are never downloaded. A refused hop fails the answer with a
     * {@link RedirectRefusedException}. Cancelling the answer cancels the hop in flight.
     */
    public <T> CompletableFuture<HttpResponse<T>> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
        AtomicReference<CompletableFuture<?>> inFlight = new AtomicReference<>();
        CompletableFuture<HttpResponse<T>> answer = new CompletableFuture<>();
        answer.whenComplete((r, e) -> {
            CompletableFuture<?> hop = inFlight.get();
            if (answer.isCancelled() && hop != null) {
                hop.cancel(true);
            }
        });
        hop(request, handler, request.uri(), 0, inFlight, answer);
        return answer;
    }

    private <T> void hop(HttpRequest request, HttpResponse.BodyHandler<T> handler, URI asked, int redirects,
            AtomicReference<CompletableFuture<?>> inFlight, CompletableFuture<HttpResponse<T>> answer) {
        CompletableFuture<HttpResponse<T>> hop = client.sendAsync(request,
                info -> location(info.statusCode(), info.headers()).isPresent() ? new Unread<>() : handler.apply(info));
        inFlight.set(hop);
        if (answer.isCancelled()) {
            hop.cancel(true);
            return;
        }
        hop.whenComplete((response, failed) -> {
            if (answer.isDone()) {
                // cancelled meanwhile: no next hop
                return;
            }
            if (failed != null) {
                answer.completeExceptionally(failed);
                return;
            }
            try {
                Optional<String> location = location(response.statusCode(), response.headers());
                if (location.isEmpty()) {
                    answer.complete(response);
                    return;
                }
                URI next = next(response.uri(), location.get(), asked);
                String from = "GET " + shown(asked) + " was redirected to " + shown(next) + ": ";
                if (redirects >= MAX_REDIRECTS) {
                    throw new RedirectRefusedException(from + "more than " + MAX_REDIRECTS + " redirects");
                }
                if ("https".equalsIgnoreCase(response.uri().getScheme()) && !"https".equalsIgnoreCase(next.getScheme())) {
                    throw new RedirectRefusedException(from + "a redirect from https:// is only followed to https://");
                }
                if (!allows(next)) {
                    throw new RedirectRefusedException(from + notAllowed(next));
                }
                HttpRequest nextRequest;
                try {
                    checked(next);
                    nextRequest = HttpRequest.newBuilder(request, (name, value) -> true).uri(next).build();
                } catch (IllegalArgumentException e) {
                    // the JDK's message repeats the whole URL, a presigned one's signature with it
                    throw new RedirectRefusedException(from + "not a URL to ask");
                }
                hop(nextRequest, handler, asked, redirects + 1, inFlight, answer);
            } catch (Throwable e) {
                // whatever it is, the answer ends: nobody waits for a hop that never comes
                answer.completeExceptionally(e);
            }
        });
    }

    /** A redirect's Location resolved against the URI that answered it; one that is not a URL is refused without being shown. */
    private static URI next(URI answered, String location, URI asked) throws RedirectRefusedException {
        try {
            return answered.resolve(location.strip());
        } catch (IllegalArgumentException e) {
            throw new RedirectRefusedException("GET " + shown(asked) + " was redirected to a Location that is not a URL");
        }
    }

    /** Where a redirect answer sends the request; empty for any other answer (a 304 is not a redirect). */
    private static Optional<String> location(int status, java.net.http.HttpHeaders headers) {
        return REDIRECTS.contains(status) ? headers.firstValue("Location").filter(l -> !l.isBlank()) : Optional.empty();
    }

    /** A hop the difusor will not ask: the answer's redirect named a host or scheme it must not go to. */
    public static final class RedirectRefusedException extends IOException {
        private static final long serialVersionUID = 1L;

        RedirectRefusedException(String message) {
            super(message);
        }
    }

    /** Cancels a body at once (the connection is let go) and completes without it: a redirect's, an error page's. */
    static final class Unread<T> implements HttpResponse.BodySubscriber<T> {
        private final CompletableFuture<T> result = new CompletableFuture<>();

        @Override
        public CompletableFuture<T> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            s.cancel();
            result.complete(null);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            // cancelled: whatever still arrives is dropped
        }

        @Override
        public void onError(Throwable t) {
            result.complete(null);
        }

        @Override
        public void onComplete() {
            result.complete(null);
        }
    }

    /**
     * A URL that does not parse, as {@link #shown(URI)} shows one that does: without its query (a presigned URL's
     * signature) and without user info (user:password@) in what would be its authority.
     */
    public static String shown(String url) {
        if (url == null) {
            return "null";
        }
        String text = url.contains("?") ? url.substring(0, url.indexOf('?')) + "?…" : url;
        int scheme = text.indexOf("://");
        int from = scheme < 0 ? 0 : scheme + 3;
        int end = text.indexOf('/', from);
        String authority = end < 0 ? text.substring(from) : text.substring(from, end);
        int at = authority.lastIndexOf('@');
        return at < 0 ? text : text.substring(0, from) + text.substring(from + at + 1);
    }

    /**
     * A URI as logs and reports show it: without its query and user info, where a presigned URL carries its signature
     * and a service its token. Secrets never go into logs.
     */
    public static String shown(URI uri) {
        if (uri == null) {
            return "null";
        }
        if (uri.isOpaque()) {
            // "https:host/x?sig=…" parses with no query of its own: cut at the first '?' all the same
            String text = uri.toString();
            return text.contains("?") ? text.substring(0, text.indexOf('?')) + "?…" : text;
        }
        // a host the URI class could not read leaves its user info unread too: the raw authority still holds it
        if (uri.getRawQuery() == null && uri.getRawUserInfo() == null && (uri.getRawAuthority() == null || !uri.getRawAuthority().contains("@"))) {
            return uri.toString();
        }
        // a host the URI class could not read (an underscore in it) is still shown, without any user info
        String authority = uri.getRawAuthority() == null ? "" : uri.getRawAuthority().substring(uri.getRawAuthority().lastIndexOf('@') + 1);
        String shown = (uri.getScheme() == null ? "" : uri.getScheme() + "://") + (uri.getHost() == null ? authority : uri.getHost())
                + (uri.getPort() < 0 ? "" : ":" + uri.getPort()) + (uri.getRawPath() == null ? "" : uri.getRawPath());
        return uri.getRawQuery() == null ? shown : shown + "?…";
    }

    /**
     * Refuses plain http:// (no switch allows it: the manifest, the checksum and the zip over one channel anyone on the
     * way could rewrite), and a host difusor.source.allowed-hosts does not name.
     */
    public URI checked(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https")) {
            throw new IllegalArgumentException("refusing " + shown(uri) + ": only https:// is allowed for the institute's source");
        }
        if (uri.getHost() == null) {
            // the HTTP client would refuse it with the whole URL, token and all, in its message
            throw new IllegalArgumentException("refusing " + shown(uri) + ": no host name the HTTP client can use (an underscore in it,"
                    + " or no '//' after the scheme)");
        }
        if (!allows(uri)) {
            throw new IllegalArgumentException("refusing " + shown(uri) + ": " + notAllowed(uri));
        }
        return uri;
    }

    /**
     * Whether the institute's source may be at this URI's host: a manifest changed by someone else must not send the
     * difusor to fetch, and publish, a package from anywhere. Every redirect's host is checked too, before it is
     * asked ({@link #send}).
     */
    public boolean allows(URI uri) {
        if (allowedHosts.isEmpty()) {
            return true;
        }
        String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
        return allowedHosts.stream().anyMatch(a -> a.startsWith("*.") ? host.endsWith(a.substring(1)) : host.equals(a));
    }

    /** Why {@link #allows} said no, for the log and the report. */
    public String notAllowed(URI uri) {
        return "host " + uri.getHost() + " is not in difusor.source.allowed-hosts " + allowedHosts;
    }

    static String[] strongCipherSuites(SSLContext tls) {
        return Arrays.stream(tls.getDefaultSSLParameters().getCipherSuites())
                .filter(SecureHttp::isStrong)
                .toArray(String[]::new);
    }

    /**
     * Excludes static key exchange (RSA, and ECDH or DH with the certificate's own key: no forward secrecy), NULL,
     * anonymous, export, DES/3DES and RC4 suites. Recent JDK updates disable static ECDH themselves; an older one does not.
     */
    static boolean isStrong(String suite) {
        String s = suite.toUpperCase(Locale.ROOT);
        if (s.startsWith("TLS_RSA_") || s.startsWith("TLS_ECDH_") || s.startsWith("TLS_DH_") || s.startsWith("SSL_")) {
            return false;
        }
        return !(s.contains("_NULL_") || s.endsWith("_NULL") || s.contains("_ANON_") || s.contains("_EXPORT")
                || s.contains("_DES_") || s.contains("3DES") || s.contains("_RC4_") || s.contains("EMPTY_RENEGOTIATION"));
    }

    private static SSLContext sslContext(String truststore, String password, String type, KeyStore platform)
            throws IOException, GeneralSecurityException {
        SSLContext tls = SSLContext.getInstance("TLS");
        if (truststore == null || truststore.isBlank()) {
            tls.init(null, null, null);
            return tls;
        }
        KeyStore store = KeyStore.getInstance(type == null || type.isBlank() ? "PKCS12" : type);
        try (InputStream in = Files.newInputStream(Path.of(truststore))) {
            store.load(in, password == null ? null : password.toCharArray());
        }
        // a store that loads but trusts nothing (the wrong file, a key store, an empty export) fails closed, but only at
        // the first handshake with the institute, on the night, as "unreachable": said at start instead
        boolean trustsOne = false;
        for (var aliases = store.aliases(); aliases.hasMoreElements() && !trustsOne;) {
            // a certificate entry, or a key entry's certificate, as the JDK's trust managers take them
            trustsOne = store.getCertificate(aliases.nextElement()) != null;
        }
        if (!trustsOne) {
            throw new GeneralSecurityException("difusor.source.truststore " + truststore + " holds no trusted certificate");
        }
        tls.init(null, new TrustManager[] { InstituteTrust.of(store, platform) }, null);
        return tls;
    }
}
