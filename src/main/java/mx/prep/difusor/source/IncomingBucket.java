package mx.prep.difusor.source;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

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
import mx.prep.difusor.state.CorteHorizon;
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
    private final java.time.Duration deadline;
    private final java.time.Duration progressInterval;
    private final Clock clock;
    private final DifusorMetrics metrics;
    private final CorteHorizon horizon;
    private final Predicate<String> refused;
    /** Checksum files read, by key, with the ETag they were read at: a poll reads again only one that changed. */
    private final Map<String, ReadSidecar> sidecars = new HashMap<>();
    /** Longer than replication takes to bring a zip's checksum file after it (seconds, usually). */
    public static final java.time.Duration CHECKSUM_FILE_WAIT = java.time.Duration.ofMinutes(2);
    /** Zips said to wait for their checksum file, logged once each. */
    private final java.util.Set<String> waitingSaid = new java.util.HashSet<>();
    /** Zips passed over as refused ahead of the clock, logged once. */
    private final java.util.Set<String> passedOver = new java.util.HashSet<>();
    /** The zips' ETags at the last listing: the copy takes the object listed, or none (If-Match). */
    private volatile Map<String, String> listedEtags = Map.of();
    private volatile PackageOffer lastOffer;

    private record ReadSidecar(String etag, String text) {
    }

    public IncomingBucket(S3Client s3, String bucket, String prefix, CorteParser corteParser, Path spoolDir, long maxBytes,
            java.time.Duration deadline, java.time.Duration progressInterval, Clock clock, DifusorMetrics metrics, CorteHorizon horizon,
            Predicate<String> refused) {
        this.s3 = s3;
        this.bucket = bucket;
        this.prefix = prefix;
        this.corteParser = corteParser;
        this.spoolDir = spoolDir;
        this.maxBytes = maxBytes;
        this.deadline = deadline;
        this.progressInterval = progressInterval;
        this.clock = clock;
        this.metrics = metrics;
        this.horizon = horizon;
        this.refused = refused;
    }

    /** @return the newest corte whose zip and checksum file are both there, or null while there is none */
    public synchronized PackageOffer poll() throws IOException {
        Map<String, S3Object> objects = new HashMap<>();
        try {
            s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents().forEach(o -> objects.put(o.key(), o));
        } catch (software.amazon.awssdk.core.exception.SdkException e) {
            // the difusor's own bucket, not the institute's server: the WARN says which
            throw new IOException("cannot list the incoming bucket s3://" + bucket + "/" + prefix + ": " + e.getMessage(), e);
        }
        Optional<S3Object> newest = objects.values().stream()
                .filter(o -> isZip(o.key()) && hasChecksumFile(objects, o))
                .filter(o -> !refusedAhead(o))
                .max(Comparator.comparing((S3Object o) -> corteParser.fromPackageName(PackageNames.named(name(o.key()))).orElse(null),
                        Comparator.nullsFirst(Comparator.naturalOrder())).thenComparing(S3Object::lastModified));
        sidecars.keySet().retainAll(objects.keySet());
        waitingForTheirChecksumFile(objects, newest.orElse(null));
        if (newest.isEmpty()) {
            return null;
        }
        S3Object zip = newest.get();
        S3Object sidecar = objects.get(zip.key() + SIDECAR);
        ReadSidecar read = sidecars.get(sidecar.key());
        if (read == null || sidecar.eTag() == null || !sidecar.eTag().equals(read.etag())) {
            Optional<String> text = readSidecar(sidecar);
            if (text == null) {
                return null;   // deleted since the listing: the next poll sees what is there
            }
            read = new ReadSidecar(sidecar.eTag(), text.orElse(null));
            sidecars.put(sidecar.key(), read);
        }
        // a server that lists no ETag gets no If-Match (the checksum filter still judges the bytes)
        listedEtags = zip.eTag() == null ? Map.of() : Map.of(zip.key(), zip.eTag());
        PackageOffer offer = offer(zip, read.text());
        if (lastOffer == null || !offer.key().equals(lastOffer.key())) {
            LOG.info("{}: in the incoming bucket {} (sha256 {}, {} bytes)", offer, SecureHttp.shown(offer.packageUri()),
                    offer.announcedSha256(), offer.announcedSize());
        }
        lastOffer = offer;
        return offer;
    }

    /** A zip by its name's end in any letters ({@code .ZIP} from Windows), as the folder source takes it. */
    private static boolean isZip(String key) {
        return key.regionMatches(true, key.length() - 4, ".zip", 0, 4);
    }

    /**
     * Whether the zip's checksum file is there with a SHA-256's room in it: an empty one is a checksum file not written yet
     * (created first, filled by a second write), as the folder and fixed-URL sources take it. Offered, it was refused
     * for good as having no checksum, an alert and a report for a package that was fine.
     */
    private static boolean hasChecksumFile(Map<String, S3Object> objects, S3Object zip) {
        S3Object sidecar = objects.get(zip.key() + SIDECAR);
        return sidecar != null && (sidecar.size() == null || sidecar.size() >= SHA256_HEX_LENGTH);
    }

    /**
     * No checksum file holds a SHA-256 in fewer bytes: one shorter is still being written (PowerShell's byte-order mark
     * first, a line end), as an empty one is, and offered it was refused for good as announcing none.
     */
    private static final int SHA256_HEX_LENGTH = 64;

    /**
     * A zip newer than the one on offer that has waited for its checksum file longer than replication takes: said once,
     * at WARN, naming it. Nothing else would: polls find nothing new, and the lag only grows once the corte is announced
     * (an institute that replicates zips without checksum files, or another name for them, left the night silent until
     * PrepNoCorteFor45Minutes).
     */
    private void waitingForTheirChecksumFile(Map<String, S3Object> objects, S3Object offered) {
        Corte offeredCorte = offered == null ? null : corteParser.fromPackageName(PackageNames.named(name(offered.key()))).orElse(null);
        java.time.Instant waitedSince = clock.instant().minus(CHECKSUM_FILE_WAIT);
        java.util.List<String> waiting = objects.values().stream()
                .filter(o -> isZip(o.key()) && !hasChecksumFile(objects, o))
                .filter(o -> o.lastModified() != null && o.lastModified().isBefore(waitedSince))
                .filter(o -> offeredCorte == null || corteParser.fromPackageName(PackageNames.named(name(o.key())))
                        .map(c -> c.isNewerThan(offeredCorte)).orElse(false))
                .map(S3Object::key).sorted().toList();
        waitingSaid.retainAll(waiting);
        for (String key : waiting) {
            if (waitingSaid.add(key)) {
                LOG.warn("s3://{}/{} has been in the incoming bucket since {} without its {} (or with no SHA-256 in it yet): not offered until that checksum file comes"
                        + " (replication's done marker); ask the institute whether it replicates it", bucket, key,
                        objects.get(key).lastModified(), name(key) + SIDECAR);
            }
        }
    }

    /**
     * A zip refused because its corte is ahead of the clock or of its own copy (a typo in the date, a time in UTC) stays
     * in the bucket, and would stay the newest corte there, so no real corte after it would ever be offered: passed over
     * once refused. Reported once per process: a restarted one refuses it again at the corte gate, by its Last-Modified
     * if the clock has caught up with its name meanwhile, and never publishes it.
     */
    private boolean refusedAhead(S3Object zip) {
        String name = PackageNames.named(name(zip.key()));
        Optional<Corte> corte = corteParser.fromPackageName(name);
        // ahead of its own copy (Last-Modified) stays true once the clock has caught up with its name
        boolean ahead = corte.isPresent() && (horizon.ahead(corte.get()) != null
                || zip.lastModified() != null && horizon.aheadOf(corte.get(), zip.lastModified()) != null);
        if (!ahead || !refused.test(name)) {
            return false;
        }
        if (passedOver.add(zip.key())) {
            LOG.warn("{}: in the incoming bucket {} with a corte ahead of the clock or of its own Last-Modified, refused; passed over, the newest corte before it"
                    + " is on offer", name, bucket);
        }
        return true;
    }

    /** The offer of a zip: its checksum file's checksum, or null (the checksum filter reports it) when that is not text. */
    private PackageOffer offer(S3Object zip, String sidecar) {
        String raw = name(zip.key());
        String name = PackageNames.named(raw);
        PackageUrlSource.ChecksumLine line = sidecar == null ? new PackageUrlSource.ChecksumLine(null, null)
                : PackageUrlSource.checksumLine(sidecar, n -> name.equals(PackageNames.safe(n)));
        String names = line.name() == null ? null : PackageNames.safe(line.name());
        return new PackageOffer(name, line.checksum(), zip.size(), uri(zip.key()), null,
                line.name() == null ? null : java.util.Objects.requireNonNullElse(names, line.name()));
    }

    private URI uri(String key) {
        try {
            // the authority form: a legacy bucket name with '_' is no host name
            return new URI("s3", bucket, "/" + key, null, null);
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("s3://" + bucket + "/" + key + ": " + e.getMessage(), e);
        }
    }

    /** @return the checksum file's text, empty when it is none (the checksum filter reports it), null when it is gone */
    private Optional<String> readSidecar(S3Object sidecar) throws IOException {
        String key = sidecar.key();
        // an S3-compatible store may list no size: read it then, as far as a checksum file may go
        if (sidecar.size() != null && sidecar.size() > ConditionalGet.MAX_DOCUMENT_BYTES) {
            LOG.warn("s3://{}/{} has {} bytes: not a checksum file", bucket, key, sidecar.size());
            return Optional.empty();
        }
        if (sidecar.size() != null && sidecar.size() == 0) {
            return Optional.of("");   // a Range on an empty object is refused (416): nothing to read anyway
        }
        byte[] bytes;
        // replaced since the listing, it may be anything: read no more than a checksum file may hold, whatever S3 sends
        try (ResponseInputStream<GetObjectResponse> in = s3.getObject(b -> b.bucket(bucket).key(key).range("bytes=0-" + ConditionalGet.MAX_DOCUMENT_BYTES))) {
            bytes = in.readNBytes(ConditionalGet.MAX_DOCUMENT_BYTES + 1);
            if (bytes.length > ConditionalGet.MAX_DOCUMENT_BYTES) {
                in.abort();
                LOG.warn("s3://{}/{} holds more than {} bytes: not a checksum file", bucket, key, ConditionalGet.MAX_DOCUMENT_BYTES);
                return Optional.empty();
            }
        } catch (NoSuchKeyException gone) {
            return null;
        } catch (software.amazon.awssdk.core.exception.SdkException | IOException e) {
            // a body cut off on the network fails in the read, not the request: the WARN names the object either way
            throw new IOException("cannot read s3://" + bucket + "/" + key + ": " + e, e);
        }
        try {
            return Optional.of(InstituteText.decode(bytes));
        } catch (CharacterCodingException e) {
            LOG.warn("s3://{}/{} is not text in ASCII, UTF-8 or UTF-16 with a byte-order mark ({})", bucket, key, e.toString());
            return Optional.empty();
        }
    }

    private static String name(String key) {
        return key.substring(key.lastIndexOf('/') + 1);
    }

    /** Camel entry point: copies the offer's zip into the spool; the spooled package becomes an exchange property. */
    public PrepPackage download(PackageOffer offer, Exchange exchange) throws IOException {
        exchange.setProperty(PackageOffer.PROPERTY, offer);
        String key = offer.packageUri().getPath().substring(1);
        String where = "s3://" + bucket + "/" + key;
        if (offer.announcedSize() != null && offer.announcedSize() > maxBytes) {
            // the listing tells the size: not a byte is copied
            throw new PackageTooLargeException(offer + ": " + where + " has " + offer.announcedSize() + " bytes, more than " + maxBytes
                    + " (difusor.source.max-package-bytes)");
        }
        // one deadline for the offer, all attempts together, as over HTTP: each attempt's own let a copy that trickled, or
        // stalled until the call's timeout, hold the poll and every newer corte for as many deadlines as attempts
        Long until = exchange.getProperty(PackageDownloader.DOWNLOAD_UNTIL, Long.class);
        if (until == null) {
            until = System.nanoTime() + deadline.toNanos();
            exchange.setProperty(PackageDownloader.DOWNLOAD_UNTIL, until);
        } else if (System.nanoTime() >= until) {
            throw new DownloadOutOfTimeException(offer + ": copy from the incoming bucket not finished within the deadline of "
                    + deadline.toSeconds() + " s, all attempts together");
        }
        String etag = listedEtags.get(key);
        Files.createDirectories(spoolDir);
        Path part = Files.createTempFile(spoolDir, "download-", ".part");
        long started = System.nanoTime();
        long bytes;
        Instant madeAt;
        try (ResponseInputStream<GetObjectResponse> in = s3.getObject(b -> b.bucket(bucket).key(key).ifMatch(etag));
                java.nio.channels.FileChannel out = java.nio.channels.FileChannel.open(part, java.nio.file.StandardOpenOption.WRITE)) {
            madeAt = in.response().lastModified();
            try {
                bytes = copy(in, out, offer, started, until);
                // on disk before it is the spool's: a node that crashes now leaves no truncated package to the sweep
                out.force(true);
            } catch (IOException | RuntimeException e) {
                in.abort();   // closing would read the rest of the object first
                throw e;
            }
        } catch (NoSuchKeyException gone) {
            Files.deleteIfExists(part);
            throw new NotYetOnOfferException(offer + ": " + where + " is no longer there (replaced or removed since the listing); the next poll"
                    + " sees what is there now");
        } catch (software.amazon.awssdk.awscore.exception.AwsServiceException changed) {
            Files.deleteIfExists(part);
            if (changed.statusCode() == 412) {
                throw new NotYetOnOfferException(offer + ": " + where + " changed since the listing (replicated again); the next poll sees it");
            }
            throw changed;
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(part);
            throw e;
        }
        Path spooled = PackageDownloader.spoolUnder(part, spoolDir.resolve(offer.packageName()));
        Corte corte = corteParser.fromPackageName(offer.packageName()).orElse(null);
        PrepPackage pkg = new PrepPackage(offer.packageName(), PackageDownloader.normalisedChecksum(offer.announcedSha256()),
                offer.announcedSize(), corte, where, Instant.now(clock));
        pkg.spooled(spooled, bytes);
        pkg.madeAt(madeAt);
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

    /** Within the limits a download has: the package's size and the source's deadline, with progress for a long one. */
    private long copy(InputStream in, java.nio.channels.FileChannel out, PackageOffer offer, long started, long until) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        long bytes = 0;
        long nextProgress = started + progressInterval.toNanos();
        for (int n; (n = in.read(buffer)) > 0;) {
            bytes += n;
            if (bytes > maxBytes) {
                throw new PackageTooLargeException(offer + ": larger than " + maxBytes + " bytes (difusor.source.max-package-bytes)");
            }
            java.nio.ByteBuffer chunk = java.nio.ByteBuffer.wrap(buffer, 0, n);
            while (chunk.hasRemaining()) {
                out.write(chunk);
            }
            long now = System.nanoTime();
            if (now - until > 0) {
                throw new DownloadOutOfTimeException(offer + ": copy from the incoming bucket not finished within the deadline of "
                        + deadline.toSeconds() + " s, all attempts together (" + bytes + " bytes copied)");
            }
            if (now >= nextProgress) {
                LOG.info("{}: {} bytes copied from the incoming bucket so far", offer, bytes);
                nextProgress = now + progressInterval.toNanos();
            }
        }
        return bytes;
    }
}
