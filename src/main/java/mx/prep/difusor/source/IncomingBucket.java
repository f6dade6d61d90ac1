package mx.prep.difusor.source;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Object;

import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.TransientFailureException;
import mx.prep.difusor.state.Corte;
import mx.prep.difusor.state.CorteParser;

/**
 * Source kind "bucket": an S3 bucket the institute replicates its packages into (the call's "permisos en bucket para
 * aceptar réplica"), each {@code <zip>} with its {@code <zip>.sha256}. The checksum file is the "done" marker, as in
 * the folder source: replication copies objects in any order. The newest corte there is the package on offer, as a
 * manifest would announce it; the ledger knows which ones are settled, so the bucket is only read, never emptied: the
 * institute's copies stay as it sent them.
 */
public final class IncomingBucket {

    private static final Logger LOG = LoggerFactory.getLogger(IncomingBucket.class);
    private static final String SIDECAR = ".sha256";

    private final S3Client s3;
    private final String bucket;
    private final String prefix;
    private final CorteParser corteParser;
    private final Path spoolDir;
    private final long maxBytes;
    private final Clock clock;
    private final DifusorMetrics metrics;
    /** Checksum files read, by key, with the ETag they were read at: a poll reads again only one that changed. */
    private final Map<String, ReadSidecar> sidecars = new HashMap<>();
    private volatile PackageOffer lastOffer;

    private record ReadSidecar(String etag, PackageOffer offer) {
    }

    public IncomingBucket(S3Client s3, String bucket, String prefix, CorteParser corteParser, Path spoolDir, long maxBytes, Clock clock,
            DifusorMetrics metrics) {
        this.s3 = s3;
        this.bucket = bucket;
        this.prefix = prefix;
        this.corteParser = corteParser;
        this.spoolDir = spoolDir;
        this.maxBytes = maxBytes;
        this.clock = clock;
        this.metrics = metrics;
    }

    /** @return the newest corte whose zip and checksum file are both there, or null while there is none */
    public synchronized PackageOffer poll() throws IOException {
        Map<String, S3Object> objects = new HashMap<>();
        s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents().forEach(o -> objects.put(o.key(), o));
        Optional<S3Object> newest = objects.values().stream()
                .filter(o -> o.key().endsWith(".zip") && objects.containsKey(o.key() + SIDECAR))
                .max(Comparator.comparing((S3Object o) -> corteParser.fromPackageName(name(o.key())).orElse(null),
                        Comparator.nullsFirst(Comparator.naturalOrder())).thenComparing(S3Object::lastModified));
        sidecars.keySet().retainAll(objects.keySet());
        if (newest.isEmpty()) {
            return null;
        }
        S3Object zip = newest.get();
        S3Object sidecar = objects.get(zip.key() + SIDECAR);
        ReadSidecar read = sidecars.get(sidecar.key());
        if (read == null || !read.etag().equals(sidecar.eTag())) {
            read = new ReadSidecar(sidecar.eTag(), offer(zip, readSidecar(sidecar.key())));
            sidecars.put(sidecar.key(), read);
        }
        PackageOffer offer = read.offer();
        if (lastOffer == null || !offer.key().equals(lastOffer.key())) {
            LOG.info("{}: in the incoming bucket {} (sha256 {}, {} bytes)", offer, SecureHttp.shown(offer.packageUri()),
                    offer.announcedSha256(), offer.announcedSize());
        }
        lastOffer = offer;
        return offer;
    }

    /** The offer of a zip: its checksum file's checksum, or null (the checksum filter reports it) when that is not text. */
    private PackageOffer offer(S3Object zip, String sidecar) {
        PackageUrlSource.ChecksumLine line = sidecar == null ? new PackageUrlSource.ChecksumLine(null, null)
                : PackageUrlSource.checksumLine(sidecar);
        String raw = name(zip.key());
        String name = java.util.Objects.requireNonNullElse(PackageNames.safe(raw), raw);
        String names = line.name() == null ? null : PackageNames.safe(line.name());
        return new PackageOffer(name, line.checksum(), zip.size(), uri(zip.key()), null,
                line.name() == null ? null : java.util.Objects.requireNonNullElse(names, line.name()));
    }

    private URI uri(String key) {
        try {
            return new URI("s3", bucket, "/" + key, null);
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
        }
    }

    private String readSidecar(String key) throws IOException {
        byte[] bytes = s3.getObjectAsBytes(b -> b.bucket(bucket).key(key)).asByteArray();
        if (bytes.length > ConditionalGet.MAX_DOCUMENT_BYTES) {
            LOG.warn("s3://{}/{} has {} bytes: not a checksum file", bucket, key, bytes.length);
            return null;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            LOG.warn("s3://{}/{} is not text in ASCII or UTF-8 ({})", bucket, key, e.toString());
            return null;
        }
    }

    private static String name(String key) {
        return key.substring(key.lastIndexOf('/') + 1);
    }

    /** Camel entry point: copies the offer's zip into the spool; the spooled package becomes an exchange property. */
    public PrepPackage download(PackageOffer offer, Exchange exchange) throws IOException {
        exchange.setProperty(PackageOffer.PROPERTY, offer);
        String key = offer.packageUri().getPath().substring(1);
        Files.createDirectories(spoolDir);
        Path part = Files.createTempFile(spoolDir, "download-", ".part");
        long started = System.nanoTime();
        long bytes;
        try (ResponseInputStream<GetObjectResponse> in = s3.getObject(b -> b.bucket(bucket).key(key));
                OutputStream out = Files.newOutputStream(part)) {
            bytes = copyAtMost(in, out, offer);
        } catch (NoSuchKeyException gone) {
            Files.deleteIfExists(part);
            // listed at the poll, deleted since (the institute replaced it): the next poll sees what is there now
            throw new TransientFailureException(offer + ": s3://" + bucket + "/" + key + " is no longer there");
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(part);
            throw e;
        }
        Path spooled = spoolDir.resolve(offer.packageName());
        Files.move(part, spooled, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Corte corte = corteParser.fromPackageName(offer.packageName()).orElse(null);
        PrepPackage pkg = new PrepPackage(offer.packageName(), PackageDownloader.normalisedChecksum(offer.announcedSha256()),
                offer.announcedSize(), corte, "s3://" + bucket + "/" + key, Instant.now(clock));
        pkg.spooled(spooled, bytes);
        pkg.checksumNames(offer.checksumNames());
        pkg.stageTook("download", (System.nanoTime() - started) / 1_000_000);
        exchange.setProperty(PrepPackage.PROPERTY, pkg);
        // the spool file is only a working copy: the package lives on in the history or the quarantine
        exchange.getExchangeExtension().addOnCompletion(new SpoolCleanup(pkg, SpoolCleanup.Spool.DELETE_ONCE_SAFE));
        metrics.received();
        metrics.announced(corte);
        LOG.info("{}: copied {} bytes from the incoming bucket in {} ms", pkg, bytes, (System.nanoTime() - started) / 1_000_000);
        return pkg;
    }

    private long copyAtMost(InputStream in, OutputStream out, PackageOffer offer) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        long bytes = 0;
        for (int n; (n = in.read(buffer)) > 0;) {
            bytes += n;
            if (bytes > maxBytes) {
                throw new PackageTooLargeException(offer + ": larger than " + maxBytes + " bytes (difusor.source.max-package-bytes)");
            }
            out.write(buffer, 0, n);
        }
        return bytes;
    }
}
