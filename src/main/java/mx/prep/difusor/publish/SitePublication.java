package mx.prep.difusor.publish;

import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.Header;
import org.apache.camel.Message;
import org.apache.camel.component.aws2.s3.AWS2S3Constants;
import org.apache.camel.support.SynchronizationAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.cluster.LeaderCheck;
import mx.prep.difusor.cluster.NoLongerLeaderException;
import mx.prep.difusor.unpack.SiteFile;

/**
 * Feeds the unzip splitter and the S3 producer: which site files to publish, in which order, and the headers the
 * aws2-s3 producer needs for each (key, Content-Type, Cache-Control, and the Content-Length, without which it
 * would read the whole entry into memory).
 */
public final class SitePublication {

    private static final Logger LOG = LoggerFactory.getLogger(SitePublication.class);

    /**
     * Site files up to this size are read into memory before they are sent; larger ones stream from the zip. The S3
     * client reads a body twice (to sign it, then to send it), and a file streamed from the zip is inflated each time;
     * nearly every file of a PREP site is a few KiB. At most one such body per upload in flight is held at once
     * (difusor.publish.concurrency x 256 KiB), whatever the package's size.
     */
    static final int IN_MEMORY_MAX_BYTES = 256 * 1024;

    /** The site path of the file a split's exchange uploads; a failure report names it (Failures.describe). */
    public static final String SITE_PATH = "difusorSitePath";
    /** That file's MD5. */
    static final String SITE_MD5 = "difusorSiteMd5";

    private final java.util.concurrent.atomic.AtomicBoolean etagsNotMd5Seen = new java.util.concurrent.atomic.AtomicBoolean();

    private final String sitePrefix;
    private final LeaderCheck leaderCheck;
    private final Duration uploadsBound;
    private final LastFiles last;
    /** What the last package left unmatched of difusor.publish.last: said when it changes, not at every corte. */
    private volatile List<String> lastUnmatched = List.of();

    public SitePublication(String sitePrefix, LeaderCheck leaderCheck, Duration uploadsBound) {
        this(sitePrefix, leaderCheck, uploadsBound, LastFiles.pagesOnly());
    }

    /**
     * {@code uploadsBound}: how long an upload already sent may take (the S3 client's bound for a whole call);
     * {@code last}: what goes after every other file (the HTML entry points, and difusor.publish.last).
     */
    public SitePublication(String sitePrefix, LeaderCheck leaderCheck, Duration uploadsBound, LastFiles last) {
        this.sitePrefix = sitePrefix;
        this.leaderCheck = leaderCheck;
        this.uploadsBound = uploadsBound;
        this.last = last;
    }

    /**
     * The files to upload except HTML entry points (and difusor.publish.last): first, so no new page points at a file
     * not uploaded yet. A retried stage (S3 slowing down on a 45,000-file corte) leaves out what an earlier attempt
     * already wrote.
     */
    public Iterator<SiteFile> assets(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) {
        return pkg.plan().uploads().stream().filter(f -> !last.isLast(f) && !pkg.isUploaded(f.path())).iterator();
    }

    /** The HTML entry points (and difusor.publish.last) to upload, last: only once every other upload is written. */
    public Iterator<SiteFile> pages(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) {
        return pkg.plan().uploads().stream().filter(f -> last.isLast(f) && !pkg.isUploaded(f.path())).iterator();
    }

    /**
     * After the S3 producer: the file is written. An ETag that is not the content's MD5 (a bucket encrypted with
     * SSE-KMS) goes into the manifest, or every check of the bucket would find it changed and publish the whole site.
     */
    public void uploaded(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg, @ExchangeProperty(SITE_PATH) String path,
            @ExchangeProperty(SITE_MD5) String md5, @Header(AWS2S3Constants.E_TAG) String etag) {
        String answered = etag == null ? null : etag.replace("\"", "");
        if (answered == null || answered.equals(md5)) {
            pkg.uploaded(path);
            return;
        }
        pkg.uploaded(path, answered);
        if (etagsNotMd5Seen.compareAndSet(false, true)) {
            LOG.info("{}: S3 answers ETags that are not the content's MD5 (the site bucket is encrypted with SSE-KMS?); the "
                    + "site manifest records them for the bucket checks", pkg);
        }
    }

    /** Turns one split SiteFile into a put request for the S3 producer, its body in memory or streamed from the zip. */
    public void toPutRequest(Exchange exchange) throws NoLongerLeaderException {
        PrepPackage pkg = exchange.getProperty(PrepPackage.PROPERTY, PrepPackage.class);
        // a corte takes seconds to upload: the lead can be lost in between, and the next leader may be publishing
        leaderCheck.require(pkg);
        Message message = exchange.getMessage();
        SiteFile file = message.getBody(SiteFile.class);
        if (!pkg.uploadStarting()) {
            // the cause is the failure that stopped the stage: the retry channel and the report judge it, not this
            PrepPackage.UploadsStopped stopped = pkg.uploadsStopped();
            throw new IllegalStateException(pkg + ": not sending " + file.path() + ": " + (stopped == null ? "the package's turn is over"
                    : "the upload of " + (stopped.path() != null ? stopped.path() : "another file") + " failed: " + stopped.failure().getMessage()),
                    stopped == null ? null : stopped.failure());
        }
        // counted until this upload ends, written or not: the package's turn waits for the last one (PackageTurn)
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onComplete(Exchange done) {
                pkg.uploadEnded(null);
            }

            @Override
            public void onFailure(Exchange failed) {
                Throwable failure = failed.getException();
                pkg.uploadEnded(failure != null ? failure : new IllegalStateException("upload of " + file.path() + " failed"), file.path());
            }
        });
        exchange.setProperty(SITE_PATH, file.path());
        exchange.setProperty(SITE_MD5, file.md5());
        message.setHeader(AWS2S3Constants.KEY, siteKey(file.path()));
        message.setHeader(AWS2S3Constants.CONTENT_LENGTH, file.size());
        message.setHeader(AWS2S3Constants.CONTENT_TYPE, file.contentType());
        if (file.cacheControl() != null) {
            message.setHeader(AWS2S3Constants.CACHE_CONTROL, file.cacheControl());
        }
        // our own content hash: ETags are MD5 only for single-part uploads
        message.setHeader(AWS2S3Constants.METADATA, Map.of("sha256", file.sha256()));
        // the MD5 taken when the entry was checked against its CRC: S3 refuses any other bytes (BadDigest), so bytes
        // changed on disk since, or in memory, never reach the public under a checked package's name
        message.setHeader(AWS2S3Constants.CONTENT_MD5, java.util.Base64.getEncoder().encodeToString(java.util.HexFormat.of().parseHex(file.md5())));
        message.setBody(file.size() <= IN_MEMORY_MAX_BYTES ? pkg.site().read(file) : pkg.site().open(file));
    }

    public String siteKey(String path) {
        return sitePrefix + path;
    }

    public void published(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg, Exchange exchange) {
        pkg.filesPublished(pkg.plan().uploads().size());
        long started = exchange.getProperty("publishStartedNanos", System.nanoTime(), Long.class);
        pkg.stageTook("publish", (System.nanoTime() - started) / 1_000_000);
        LOG.info("{}: {} changed site files written to S3, {} deleted", pkg, pkg.filesPublished(), pkg.deleted());
    }

    public void starting(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg, Exchange exchange) throws InterruptedException {
        List<String> unmatched = last.unmatched(pkg.site().files());
        if (!unmatched.isEmpty() && !unmatched.equals(lastUnmatched)) {
            LOG.warn("{}: difusor.publish.last {} matches no file of the package: nothing is uploaded last for it (a path the site"
                    + " does not have?)", pkg, unmatched);
        }
        lastUnmatched = unmatched;
        pkg.uploadsMayStart(uploadsBound);
        // from the first attempt: a stage retried after a slow failure took all of that time, not its last attempt's
        if (exchange.getProperty("publishStartedNanos") == null) {
            exchange.setProperty("publishStartedNanos", System.nanoTime());
        }
    }
}
