package mx.prep.difusor.source;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

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

    private final HttpClient client;
    private final boolean allowPlainHttp;
    /** difusor.source.allowed-hosts: host names, or *.domain for the hosts under it; empty: any host. */
    private final List<String> allowedHosts;

    public SecureHttp(String truststore, String truststorePassword, String truststoreType, Duration connectTimeout,
            boolean allowPlainHttp) {
        this(truststore, truststorePassword, truststoreType, null, connectTimeout, allowPlainHttp, List.of());
    }

    public SecureHttp(String truststore, String truststorePassword, String truststoreType, Duration connectTimeout,
            boolean allowPlainHttp, List<String> allowedHosts) {
        this(truststore, truststorePassword, truststoreType, null, connectTimeout, allowPlainHttp, allowedHosts);
    }

    /** @param platform the CAs that stand for the JDK's list (null: the JDK's own); tests pass their own */
    SecureHttp(String truststore, String truststorePassword, String truststoreType, KeyStore platform, Duration connectTimeout,
            boolean allowPlainHttp) {
        this(truststore, truststorePassword, truststoreType, platform, connectTimeout, allowPlainHttp, List.of());
    }

    SecureHttp(String truststore, String truststorePassword, String truststoreType, KeyStore platform, Duration connectTimeout,
            boolean allowPlainHttp, List<String> allowedHosts) {
        this.allowPlainHttp = allowPlainHttp;
        this.allowedHosts = allowedHosts.stream().map(h -> h.strip().toLowerCase(Locale.ROOT)).filter(h -> !h.isEmpty()).toList();
        try {
            SSLContext tls = sslContext(truststore, truststorePassword, truststoreType, platform);
            SSLParameters params = new SSLParameters(strongCipherSuites(tls), PROTOCOLS);
            this.client = HttpClient.newBuilder()
                    .sslContext(tls)
                    .sslParameters(params)
                    .connectTimeout(connectTimeout)
                    // NORMAL never follows an https -> http redirect
                    .followRedirects(HttpClient.Redirect.NORMAL)
                    .version(HttpClient.Version.HTTP_1_1)
                    .build();
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot set up TLS for the institute's source: " + e.getMessage(), e);
        }
    }

    public HttpClient client() {
        return client;
    }

    /**
     * A URI as logs and reports show it: without its query and user info, where a presigned URL carries its signature
     * and a service its token. Secrets never go into logs.
     */
    public static String shown(URI uri) {
        if (uri == null) {
            return "null";
        }
        if (uri.getRawQuery() == null && uri.getRawUserInfo() == null) {
            return uri.toString();
        }
        String shown = (uri.getScheme() == null ? "" : uri.getScheme() + "://") + (uri.getHost() == null ? "" : uri.getHost())
                + (uri.getPort() < 0 ? "" : ":" + uri.getPort()) + (uri.getRawPath() == null ? "" : uri.getRawPath());
        return uri.getRawQuery() == null ? shown : shown + "?…";
    }

    /** Refuses plain http:// unless the (test-only) switch allows it, and a host difusor.source.allowed-hosts does not name. */
    public URI checked(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("https") || (allowPlainHttp && scheme.equals("http")))) {
            throw new IllegalArgumentException("refusing " + shown(uri) + ": only https:// is allowed for the institute's source");
        }
        if (!allows(uri)) {
            throw new IllegalArgumentException("refusing " + shown(uri) + ": " + notAllowed(uri));
        }
        return uri;
    }

    /**
     * Whether the institute's source may be at this URI's host: a manifest changed by someone else must not send the
     * difusor to fetch, and publish, a package from anywhere. Redirects are followed by the client, so the host an
     * answer really came from is checked too, before its bytes are used.
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

    /** Excludes static-RSA key exchange (no forward secrecy), NULL, anonymous, export, DES/3DES and RC4 suites. */
    static boolean isStrong(String suite) {
        String s = suite.toUpperCase(Locale.ROOT);
        if (s.startsWith("TLS_RSA_") || s.startsWith("SSL_")) {
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
        tls.init(null, new TrustManager[] { InstituteTrust.of(store, platform) }, null);
        return tls;
    }
}
