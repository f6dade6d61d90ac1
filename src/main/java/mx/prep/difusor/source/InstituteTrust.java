package mx.prep.difusor.source;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.stream.Stream;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The CAs the institute's source trusts: the operator's truststore (an institute's private CA) in addition to the JDK's
 * list, not instead of it. One client fetches both the manifest and the package, and the package may come from another
 * host (a presigned S3 URL, a CDN) with a public certificate. Each list checks the whole chain and the host name itself
 * (the engine and socket variants, where the JDK verifies the endpoint), so neither can vouch for what the other refused
 * on a name.
 */
final class InstituteTrust extends X509ExtendedTrustManager {

    private final X509ExtendedTrustManager configured;
    private final X509ExtendedTrustManager platform;

    private InstituteTrust(X509ExtendedTrustManager configured, X509ExtendedTrustManager platform) {
        this.configured = configured;
        this.platform = platform;
    }

    /**
     * @param configured the operator's truststore
     * @param platform   the JDK's CAs when null (a test passes its own)
     */
    static InstituteTrust of(KeyStore configured, KeyStore platform) throws GeneralSecurityException {
        return new InstituteTrust(trustManager(configured), trustManager(platform));
    }

    private static X509ExtendedTrustManager trustManager(KeyStore anchors) throws GeneralSecurityException {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(anchors);
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509ExtendedTrustManager x509) {
                return x509;
            }
        }
        throw new GeneralSecurityException("no X.509 trust manager in " + tmf.getProvider());
    }

    private interface Check {
        void run(X509ExtendedTrustManager tm) throws CertificateException;
    }

    private void eitherTrusts(Check check) throws CertificateException {
        try {
            check.run(configured);
        } catch (CertificateException notByTheTruststore) {
            try {
                check.run(platform);
            } catch (CertificateException notByTheJdk) {
                notByTheTruststore.addSuppressed(notByTheJdk);
                throw notByTheTruststore;
            }
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        eitherTrusts(tm -> tm.checkServerTrusted(chain, authType, engine));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        eitherTrusts(tm -> tm.checkServerTrusted(chain, authType, socket));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        eitherTrusts(tm -> tm.checkServerTrusted(chain, authType));
    }

    // the institute's source is a client only: no client certificates to check
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        throw new CertificateException("the institute's source does not accept client certificates");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        throw new CertificateException("the institute's source does not accept client certificates");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("the institute's source does not accept client certificates");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return Stream.concat(Arrays.stream(configured.getAcceptedIssuers()), Arrays.stream(platform.getAcceptedIssuers()))
                .toArray(X509Certificate[]::new);
    }
}
