package mx.prep.difusor;

import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import mx.prep.difusor.publish.SitePlan;
import mx.prep.difusor.state.Corte;
import mx.prep.difusor.unpack.SitePackage;

/**
 * One Paquete de Difusión on its way through the pipeline. It travels as an exchange property so that every
 * stage, and the dead-letter channel, can name the package, its corte and what has happened to it so far.
 */
public final class PrepPackage {

    public static final String PROPERTY = "prepPackage";

    private final String name;
    private final String expectedSha256;
    private final Long expectedSize;
    private final String source;
    private final Instant receivedAt;
    private Corte corte;
    private Path spoolFile;
    private Path takenFrom;
    private long size = -1;
    private String sha256;
    private volatile String receivedSha256;
    private volatile boolean archived;
    private volatile CompletableFuture<Void> archiving;
    private volatile SitePackage site;
    private SitePlan plan;
    private volatile List<String> undeleted = List.of();
    private volatile int deleted = -1;
    private int filesPublished;
    private String checksumNames;
    private String sidecarSha256;
    private final Map<String, Long> stageMillis = new LinkedHashMap<>();
    /** Site paths this package's publication has written so far: a retried publish stage sends only the others. */
    private final java.util.Set<String> uploaded = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.atomic.AtomicInteger uploadsUnderWay = new java.util.concurrent.atomic.AtomicInteger();
    private volatile Throwable uploadsStopped;
    private String uploadsStoppedAt;
    private volatile boolean uploadsClosed;
    /** ETags S3 answered for those writes where they are not the content's MD5 (SSE-KMS); empty for most buckets. */
    private final Map<String, String> uploadedETags = new java.util.concurrent.ConcurrentHashMap<>();

    public PrepPackage(String name, String expectedSha256, Long expectedSize, Corte corte, String source, Instant receivedAt) {
        this.name = name;
        this.expectedSha256 = expectedSha256;
        this.expectedSize = expectedSize;
        this.corte = corte;
        this.source = source;
        this.receivedAt = receivedAt;
    }

    public String name() {
        return name;
    }

    /** The SHA-256 the institute announced (manifest or sidecar), lower-case hex; null when none was announced. */
    public String expectedSha256() {
        return expectedSha256;
    }

    public Long expectedSize() {
        return expectedSize;
    }

    public String source() {
        return source;
    }

    /** When its source made it (an S3 object's Last-Modified), if it tells: no corte can be later than that. */
    private volatile Instant madeAt;

    public Instant madeAt() {
        return madeAt;
    }

    public void madeAt(Instant when) {
        this.madeAt = when;
    }

    public Instant receivedAt() {
        return receivedAt;
    }

    public Corte corte() {
        return corte;
    }

    public void corte(Corte corte) {
        this.corte = corte;
    }

    public Path spoolFile() {
        return spoolFile;
    }

    /** The file of a watched folder it was copied from, or null when it came from elsewhere. */
    public Path takenFrom() {
        return takenFrom;
    }

    public void takenFrom(Path file) {
        this.takenFrom = file;
    }

    public void spooled(Path file, long bytes) {
        this.spoolFile = file;
        this.size = bytes;
    }

    public long size() {
        return size;
    }

    /** The SHA-256 of the bytes actually received; set by the checksum filter once it matches. */
    public String sha256() {
        return sha256;
    }

    public void verified(String sha256) {
        this.sha256 = sha256;
    }

    /** The SHA-256 of the bytes received, matching the announcement or not: for the quarantine's report. */
    public String receivedSha256() {
        return sha256 != null ? sha256 : receivedSha256;
    }

    /** Computed by the checksum filter before it compares: a mismatch is reported with the hash it found. */
    public void hashed(String sha256) {
        this.receivedSha256 = sha256;
    }

    public boolean isArchived() {
        return archived;
    }

    public void archived() {
        this.archived = true;
    }

    /** The copy into the history while the pipeline goes on, or null (none started, or made in the step). */
    public CompletableFuture<Void> archiving() {
        return archiving;
    }

    public void archiving(CompletableFuture<Void> copy) {
        this.archiving = copy;
    }

    /** As {@link #settleArchiving()}, for at most this long: a copy still under way then is not waited for. */
    public void settleArchiving(java.time.Duration atMost) throws InterruptedException {
        CompletableFuture<Void> copy = archiving;
        if (copy != null) {
            try {
                copy.get(atMost.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException notThere) {
                // not in the history (yet): whoever asks keeps it elsewhere
            }
        }
    }

    /** Waits for a copy into the history still under way, whatever its outcome: then {@link #isArchived()} is final. */
    public void settleArchiving() throws InterruptedException {
        CompletableFuture<Void> copy = archiving;
        if (copy != null) {
            try {
                copy.get();
            } catch (java.util.concurrent.ExecutionException failed) {
                // the package is not in the history: whoever asks keeps it elsewhere
            }
        }
    }

    public SitePackage site() {
        return site;
    }

    public void site(SitePackage site) {
        this.site = site;
    }

    public SitePlan plan() {
        return plan;
    }

    public void plan(SitePlan plan) {
        this.plan = plan;
    }

    public void uploaded(String sitePath) {
        uploaded.add(sitePath);
    }

    /**
     * What the prune did: the site paths S3 refused to delete (they stay in the bucket; the record step lists them in
     * the manifest as undeleted) and how many it deleted.
     */
    public void pruned(List<String> refused, int deleted) {
        this.undeleted = refused;
        this.deleted = deleted;
    }

    /** The site paths S3 refused to delete in this publication, sorted; empty before the prune. */
    public List<String> undeleted() {
        return undeleted;
    }

    /** The files this publication deleted from the site; before the prune, those its plan would delete. */
    public int deleted() {
        return deleted >= 0 ? deleted : plan == null ? 0 : plan.deletions().size() + plan.leftovers().size();
    }

    /**
     * An upload of this package is about to be sent; false once an upload of the current publish stage failed, or the
     * package's turn is over. A failed parallel split returns at its first failure while the uploads already sent go
     * on: nothing more is sent.
     */
    public boolean uploadStarting() {
        // counted before the flags are read: a turn closed in between sees this upload under way and waits for it,
        // where a check first let it go out after the turn was released (review)
        uploadsUnderWay.incrementAndGet();
        if (uploadsStopped != null || uploadsClosed) {
            uploadEnded(null);
            return false;
        }
        return true;
    }

    /** An upload ended: written ({@code failure} null) or not. */
    public void uploadEnded(Throwable failure) {
        uploadEnded(failure, null);
    }

    /** An upload of the site file {@code path} ended: written ({@code failure} null) or not. */
    public void uploadEnded(Throwable failure, String path) {
        if (failure != null) {
            synchronized (this) {
                if (uploadsStopped == null) {
                    uploadsStopped = failure;
                    uploadsStoppedAt = path;
                }
            }
        }
        synchronized (uploadsUnderWay) {
            if (uploadsUnderWay.decrementAndGet() == 0) {
                uploadsUnderWay.notifyAll();
            }
        }
    }

    /** The failure that stopped this stage's uploads, null while none did. */
    public Throwable uploadsStoppedBy() {
        return uploadsStopped;
    }

    /** The failure that stopped this stage's uploads and its site file (null when not known), read together. */
    public record UploadsStopped(Throwable failure, String path) {
    }

    /** What stopped this stage's uploads, null while nothing did. */
    public synchronized UploadsStopped uploadsStopped() {
        return uploadsStopped == null ? null : new UploadsStopped(uploadsStopped, uploadsStoppedAt);
    }

    /**
     * A publish stage starts (again, after a retried failure): once the earlier attempt's uploads have ended, its
     * uploads may go. Waiting first keeps a late failure of the earlier attempt from stopping this one.
     */
    public void uploadsMayStart(java.time.Duration within) throws InterruptedException {
        awaitUploadsEnded(within);
        synchronized (this) {
            uploadsStopped = null;
            uploadsStoppedAt = null;
        }
    }

    /** The package's turn is over: nothing of it is sent any more, whatever is still queued. */
    public void uploadsClosed() {
        uploadsClosed = true;
    }

    /** Waits until no upload of this package is under way, at most {@code within}; the number still under way. */
    public int awaitUploadsEnded(java.time.Duration within) throws InterruptedException {
        long until = System.nanoTime() + within.toNanos();
        synchronized (uploadsUnderWay) {
            while (uploadsUnderWay.get() > 0) {
                long left = until - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(uploadsUnderWay, left);
            }
            return uploadsUnderWay.get();
        }
    }

    public int uploadsUnderWay() {
        return uploadsUnderWay.get();
    }

    public boolean isUploaded(String sitePath) {
        return uploaded.contains(sitePath);
    }

    /** Written, and S3 answered an ETag that is not the content's MD5. */
    public void uploaded(String sitePath, String etag) {
        uploadedETags.put(sitePath, etag);
        uploaded.add(sitePath);
    }

    /**
     * The ETag S3 gave the file as now published, where it is not its MD5: from this publication's write, else (not
     * written now) as the plan found it. Null when it is the MD5.
     */
    public String etagOf(String sitePath) {
        return uploaded.contains(sitePath) ? uploadedETags.get(sitePath) : plan.keptETags().get(sitePath);
    }

    public int filesPublished() {
        return filesPublished;
    }

    public void filesPublished(int files) {
        this.filesPublished = files;
    }

    /** The file name the checksum file's line names (sha256sum format), if it names one. */
    public String checksumNames() {
        return checksumNames;
    }

    public void checksumNames(String name) {
        this.checksumNames = name;
    }

    /** A second announcement of the checksum (a sidecar next to a manifest's package), or null. */
    public String sidecarSha256() {
        return sidecarSha256;
    }

    public void sidecarSha256(String sha) {
        this.sidecarSha256 = sha;
    }

    /** A copy: the copy into the history records its time from another thread. */
    public synchronized Map<String, Long> stageMillis() {
        return new LinkedHashMap<>(stageMillis);
    }

    public synchronized void stageTook(String stage, long millis) {
        stageMillis.merge(stage, millis, Long::sum);
    }

    /** Named by its download (a fixed URL whose checksum file names no file): the poll's ledger knew it by checksum only. */
    private volatile boolean namedByItsDownload;

    public void namedByItsDownload(boolean named) {
        this.namedByItsDownload = named;
    }

    public boolean isNamedByItsDownload() {
        return namedByItsDownload;
    }

    /**
     * The distributions CloudFront answered for good for this package's invalidation (took it, or refused it for good),
     * by distribution and CallerReference: a retry asks the others only.
     */
    private final java.util.Set<String> invalidationsSettled = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public void invalidationSettled(String distribution, String callerReference) {
        invalidationsSettled.add(distribution + "\n" + callerReference);
    }

    public boolean isInvalidationSettled(String distribution, String callerReference) {
        return invalidationsSettled.contains(distribution + "\n" + callerReference);
    }

    /** Package name without the .zip extension: the stem used in history, quarantine and CallerReference keys. */
    public String stem() {
        return name.toLowerCase().endsWith(".zip") ? name.substring(0, name.length() - 4) : name;
    }

    @Override
    public String toString() {
        return shown(name, corte);
    }

    /**
     * How every log line and failure names a package: with its corte when known, which the runbook's grep by corte
     * finds (also for a package known only by its name and a corte read elsewhere: a report, the state).
     */
    public static String shown(String name, Object corte) {
        return corte == null ? "package " + name : "package " + name + " (corte " + corte + ")";
    }
}
