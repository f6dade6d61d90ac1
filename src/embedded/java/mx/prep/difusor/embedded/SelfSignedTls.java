package mx.prep.difusor.embedded;

import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Objects;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Self-signed server identity for the simulated electoral institute.
 *
 * <p>The default is what a correct local run needs: CN=localhost, SAN DNS:localhost and
 * IP:127.0.0.1, valid from one hour ago. The {@link Builder} can also produce broken
 * identities (expired, not yet valid, wrong host) so tests can prove the difusor refuses them.
 * The client is expected to trust this exact certificate through {@link #writeTruststore}.
 *
 * <p>Caveat for refusal tests: the JDK's PKIX validator accepts a certificate that is itself a
 * trust anchor without looking at its dates. {@link Builder#expired()} and
 * {@link Builder#notYetValid()} therefore issue the server certificate from a throw-away local
 * CA, and the truststore then holds only that CA ({@link #trustAnchor()}), so the expired leaf
 * really is rejected. Wrong-host certificates need no CA: hostname checks always apply.
 */
public final class SelfSignedTls {

    public enum KeyType { EC_P256, RSA_2048 }

    public static final String[] SERVER_PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final KeyPair keyPair;
    private final X509Certificate certificate;
    private final X509Certificate issuer; // null when self-signed

    private SelfSignedTls(KeyPair keyPair, X509Certificate certificate, X509Certificate issuer) {
        this.keyPair = keyPair;
        this.certificate = certificate;
        this.issuer = issuer;
    }

    /** A valid EC P-256 identity for localhost, valid for 7 days. */
    public static SelfSignedTls localhost() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The server's certificate. */
    public X509Certificate certificate() {
        return certificate;
    }

    /** What the truststore holds: the certificate itself, or the local CA that issued it. */
    public X509Certificate trustAnchor() {
        return issuer != null ? issuer : certificate;
    }

    public boolean isSelfSigned() {
        return issuer == null;
    }

    public KeyPair keyPair() {
        return keyPair;
    }

    /** The trust anchor in PEM form, handy for curl --cacert. */
    public String certificatePem() {
        try {
            StringWriter out = new StringWriter();
            out.write("-----BEGIN CERTIFICATE-----\n");
            out.write(Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                    .encodeToString(trustAnchor().getEncoded()));
            out.write("\n-----END CERTIFICATE-----\n");
            return out.toString();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Cannot encode certificate", e);
        }
    }

    /**
     * Server-side SSLContext holding this key and certificate. Protocol and cipher suite
     * restrictions are applied per connection by the server (SSLParameters), because an
     * SSLContext instance cannot be narrowed by itself.
     */
    public SSLContext serverSslContext() {
        try {
            char[] transientPassword = "in-memory".toCharArray();
            KeyStore keyStore = KeyStore.getInstance("PKCS12");
            keyStore.load(null, null);
            X509Certificate[] chain = issuer == null
                    ? new X509Certificate[] {certificate}
                    : new X509Certificate[] {certificate, issuer};
            keyStore.setKeyEntry("institute", keyPair.getPrivate(), transientPassword, chain);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keyStore, transientPassword);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), null, new SecureRandom());
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("Cannot build the server SSLContext", e);
        }
    }

    /** Writes a PKCS12 truststore whose only entry is {@link #trustAnchor()}; returns the path. */
    public Path writeTruststore(Path p12File, char[] password) throws IOException {
        Objects.requireNonNull(password, "password");
        try {
            KeyStore trustStore = KeyStore.getInstance("PKCS12");
            trustStore.load(null, null);
            trustStore.setCertificateEntry("prep-institute", trustAnchor());
            Path parent = p12File.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            // write beside and move, so a reader never loads a half-written store
            Path tmp = Files.createTempFile(parent, ".truststore", ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                trustStore.store(out, password);
            }
            Files.move(tmp, p12File, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return p12File;
        } catch (GeneralSecurityException e) {
            throw new IOException("Cannot write truststore " + p12File, e);
        }
    }

    /** Options for the certificate; every setter has a sane default. */
    public static final class Builder {
        private KeyType keyType = KeyType.EC_P256;
        private String commonName = "localhost";
        private final List<String> dnsNames = new ArrayList<>(List.of("localhost"));
        private final List<String> ipAddresses = new ArrayList<>(List.of("127.0.0.1"));
        private Instant notBefore = null;
        private Duration validity = Duration.ofDays(7);
        private boolean localCa;

        private Builder() {
        }

        public Builder keyType(KeyType keyType) {
            this.keyType = Objects.requireNonNull(keyType);
            return this;
        }

        /** How long the certificate is valid, counted from notBefore (default now-1h). */
        public Builder validFor(Duration validity) {
            if (validity.isNegative() || validity.isZero()) {
                throw new IllegalArgumentException("validity must be positive: " + validity);
            }
            this.validity = validity;
            return this;
        }

        public Builder notBefore(Instant notBefore) {
            this.notBefore = Objects.requireNonNull(notBefore);
            return this;
        }

        /** Valid from 30 days ago until one day ago; issued by a local CA (see class comment). */
        public Builder expired() {
            this.notBefore = Instant.now().minus(Duration.ofDays(30));
            this.validity = Duration.ofDays(29);
            this.localCa = true;
            return this;
        }

        /** Valid only from tomorrow on; issued by a local CA (see class comment). */
        public Builder notYetValid() {
            this.notBefore = Instant.now().plus(Duration.ofDays(1));
            this.validity = Duration.ofDays(7);
            this.localCa = true;
            return this;
        }

        /** Issue the server certificate from a throw-away CA; the truststore then holds the CA only. */
        public Builder issuedByLocalCa(boolean localCa) {
            this.localCa = localCa;
            return this;
        }

        /**
         * Issues the certificate for another host only (no localhost / 127.0.0.1 names), so a
         * client connecting to localhost must fail hostname verification.
         */
        public Builder wrongHost(String hostName) {
            this.commonName = hostName;
            this.dnsNames.clear();
            this.dnsNames.add(hostName);
            this.ipAddresses.clear();
            return this;
        }

        public Builder addDnsName(String dnsName) {
            this.dnsNames.add(dnsName);
            return this;
        }

        public Builder addIpAddress(String ip) {
            this.ipAddresses.add(ip);
            return this;
        }

        public SelfSignedTls build() {
            try {
                KeyPair keyPair = generateKeyPair(keyType);
                Instant from = notBefore != null ? notBefore : Instant.now().minus(Duration.ofHours(1));
                Instant to = from.plus(validity);
                X500Name subject = new X500Name("CN=" + commonName + ",O=PREP Instituto Simulado,C=MX");
                if (!localCa) {
                    X509Certificate self = leaf(subject, keyPair, subject, keyPair, from, to);
                    return new SelfSignedTls(keyPair, self, null);
                }
                KeyPair caKeys = generateKeyPair(KeyType.EC_P256);
                X500Name caName = new X500Name("CN=PREP Instituto Simulado CA,O=PREP Instituto Simulado,C=MX");
                Instant caFrom = Instant.now().minus(Duration.ofDays(60));
                X509v3CertificateBuilder ca = new JcaX509v3CertificateBuilder(caName, serial(), Date.from(caFrom),
                        Date.from(caFrom.plus(Duration.ofDays(120))), caName, caKeys.getPublic());
                ca.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
                ca.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
                ca.addExtension(Extension.subjectKeyIdentifier, false,
                        new JcaX509ExtensionUtils().createSubjectKeyIdentifier(caKeys.getPublic()));
                X509Certificate caCert = new JcaX509CertificateConverter().getCertificate(
                        ca.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate())));
                X509Certificate issued = leaf(subject, keyPair, caName, caKeys, from, to);
                return new SelfSignedTls(keyPair, issued, caCert);
            } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
                throw new IllegalStateException("Cannot generate self-signed certificate", e);
            }
        }

        private X509Certificate leaf(X500Name subject, KeyPair keys, X500Name issuerName, KeyPair issuerKeys,
                                     Instant from, Instant to)
                throws GeneralSecurityException, OperatorCreationException, IOException {
            X509v3CertificateBuilder cert = new JcaX509v3CertificateBuilder(
                    issuerName, serial(), Date.from(from), Date.from(to), subject, keys.getPublic());
            List<GeneralName> names = new ArrayList<>();
            dnsNames.forEach(d -> names.add(new GeneralName(GeneralName.dNSName, d)));
            ipAddresses.forEach(ip -> names.add(new GeneralName(GeneralName.iPAddress, ip)));
            if (!names.isEmpty()) {
                cert.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(names.toArray(GeneralName[]::new)));
            }
            // an end-entity certificate trusted directly, not a CA the client could chain from
            cert.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            int usage = keyType == KeyType.RSA_2048
                    ? KeyUsage.digitalSignature | KeyUsage.keyEncipherment
                    : KeyUsage.digitalSignature;
            cert.addExtension(Extension.keyUsage, true, new KeyUsage(usage));
            cert.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
            cert.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(keys.getPublic()));
            if (issuerKeys != keys) {
                cert.addExtension(Extension.authorityKeyIdentifier, false,
                        utils.createAuthorityKeyIdentifier(issuerKeys.getPublic()));
            }
            String algorithm = issuerKeys.getPrivate().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
            ContentSigner signer = new JcaContentSignerBuilder(algorithm).build(issuerKeys.getPrivate());
            return new JcaX509CertificateConverter().getCertificate(cert.build(signer));
        }

        private static BigInteger serial() {
            return new BigInteger(127, new SecureRandom()).add(BigInteger.ONE);
        }

        private static KeyPair generateKeyPair(KeyType type) throws GeneralSecurityException {
            if (type == KeyType.RSA_2048) {
                KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
                generator.initialize(2048);
                return generator.generateKeyPair();
            }
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            return generator.generateKeyPair();
        }
    }
}
