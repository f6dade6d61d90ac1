package mx.prep.difusor.archive;

import java.io.IOException;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

import com.fasterxml.jackson.annotation.JsonProperty;

import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.ObjectStore;
import mx.prep.difusor.PackageRejectedException;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.RejectReason;

/**
 * The history archiver: every verified package, as received, with its checksum file, under the history prefix.
 * History objects are never overwritten: a package already archived with the same checksum is left as it is (a
 * retry or a restart), and a different package under a name already taken is refused.
 */
public final class HistoryArchiver {

    private static final Logger LOG = LoggerFactory.getLogger(HistoryArchiver.class);

    private final ObjectStore store;
    private final String bucket;
    private final String prefix;
    private final Executor copies;

    public HistoryArchiver(ObjectStore store, String bucket, String prefix) {
        this(store, bucket, prefix, null);
    }

    /** @param copies runs the copy into the history while the pipeline goes on to the unzip (null: in the step itself) */
    public HistoryArchiver(ObjectStore store, String bucket, String prefix, Executor copies) {
        this.store = store;
        this.bucket = bucket;
        this.prefix = prefix;
        this.copies = copies;
    }

    /** False: the zip is written without If-None-Match (difusor.s3.conditional-writes, for a store that refuses it). */
    private volatile boolean conditionalWrites = true;
    private volatile boolean unconditionalSaid;

    public HistoryArchiver conditionalWrites(boolean on) {
        conditionalWrites = on;
        return this;
    }

    public String bucket() {
        return bucket;
    }

    public String zipKey(String packageName) {
        return prefix + packageName;
    }

    public String checksumKey(String packageName) {
        return prefix + packageName + ".sha256";
    }

    public String metadataKey(String packageName) {
        return prefix + packageName + ".json";
    }

    /**
     * Starts copying the package into the history; {@link #awaitArchived} waits for it before anything is published.
     * The copy and the unzip's check of every entry need nothing from each other, so the corte is public sooner.
     */
    public void startArchive(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws IOException, PackageRejectedException,
            InterruptedException {
        // a retried step: the copy it started before ends first, so two copies of one package never overlap
        pkg.settleArchiving();
        if (copies == null) {
            archive(pkg);
            return;
        }
        long started = System.nanoTime();
        // whether the name is taken is known at once, as when the copy runs in the step: a reused name is refused here
        if (alreadyArchived(pkg)) {
            pkg.archived();
            pkg.stageTook("archive", (System.nanoTime() - started) / 1_000_000);
            return;
        }
        CompletableFuture<Void> copy = new CompletableFuture<>();
        pkg.archiving(copy);
        try {
            copies.execute(() -> {
                try {
                    // asked again as the copy starts: another copy of this name (a package this process took before it
                    // lost the lead and took it back) may have landed since, on this one thread
                    if (!alreadyArchived(pkg)) {
                        copy(pkg);
                    }
                    pkg.archived();
                    pkg.stageTook("archive", (System.nanoTime() - started) / 1_000_000);
                    copy.complete(null);
                } catch (Exception | Error e) {
                    copy.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException stopping) {
            pkg.archiving(null);
            archive(pkg);
        }
    }

    /**
     * The package is whole in the history, or the copy's failure is rethrown as it happened (the retry channel and the
     * quarantine see it as if the copy had run here). A copy that failed is made again here when the step is retried.
     */
    public void awaitArchived(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws IOException, PackageRejectedException,
            InterruptedException {
        CompletableFuture<Void> copy = pkg.archiving();
        if (copy == null) {
            if (!pkg.isArchived()) {
                archive(pkg);
            }
            return;
        }
        try {
            copy.get();
        } catch (ExecutionException e) {
            pkg.archiving(null); // a retry of this step copies again, in the step
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof PackageRejectedException rejected) {
                throw rejected;
            }
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(pkg + ": the copy into the history failed: " + cause, cause);
        }
    }

    public void archive(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws IOException, PackageRejectedException {
        long started = System.nanoTime();
        if (!alreadyArchived(pkg)) {
            copy(pkg);
        }
        pkg.archived();
        pkg.stageTook("archive", (System.nanoTime() - started) / 1_000_000);
    }

    /** The SHA-256 in the history's checksum file for this package name: present only once its zip is whole there. */
    public Optional<String> archivedSha256(String packageName) {
        return store.readString(bucket, checksumKey(packageName)).map(HistoryArchiver::firstToken);
    }

    /** True if the history holds this very package; a different package under its name is refused. */
    private boolean alreadyArchived(PrepPackage pkg) throws IOException, PackageRejectedException {
        Optional<String> archivedSha = archivedSha256(pkg.name());
        if (archivedSha.isEmpty()) {
            // a copy cut short between the zip and its checksum file (a killed pod) left a whole zip: another
            // package's must not be overwritten (an S3 object is there whole or not at all)
            Optional<String> zipSha = store.head(bucket, zipKey(pkg.name())).map(h -> h.metadata().get("sha256"));
            if (zipSha.isPresent() && !zipSha.get().equalsIgnoreCase(pkg.sha256())) {
                throw new PackageRejectedException(RejectReason.NAME_REUSED, pkg + ": the history already holds a different "
                        + pkg.name() + " (sha256 " + zipSha.get() + ", its checksum file missing); history is never overwritten");
            }
            return false;
        }
        if (!archivedSha.get().equals(pkg.sha256())) {
            throw new PackageRejectedException(RejectReason.NAME_REUSED, pkg + ": the history already holds a different "
                    + pkg.name() + " (sha256 " + archivedSha.get() + "); history is never overwritten");
        }
        LOG.info("{}: already in the history, left as it is", pkg);
        return true;
    }

    private void copy(PrepPackage pkg) throws IOException, PackageRejectedException {
        // the zip first, the checksum file last: a checksum file in the history means the zip beside it is whole. Only
        // where no zip is: one may have landed since the name was found free (another pod's copy, one leader after
        // another), and a different package's is never overwritten
        try {
            if (conditionalWrites) {
                store.createPackage(bucket, zipKey(pkg.name()), pkg.spoolFile(), "application/zip", Map.of("sha256", pkg.sha256()));
            } else {
                store.putPackage(bucket, zipKey(pkg.name()), pkg.spoolFile(), "application/zip", Map.of("sha256", pkg.sha256()));
            }
        } catch (software.amazon.awssdk.awscore.exception.AwsServiceException e) {
            if (e.statusCode() == 501 || e.awsErrorDetails() != null && "NotImplemented".equals(e.awsErrorDetails().errorCode())) {
                // an S3-compatible store without conditional writes: written as before they were used, said once
                if (!unconditionalSaid) {
                    LOG.warn("{}: s3://{} refuses conditional writes ({}): history zips are written without them, so a package of a "
                            + "name another copy took meanwhile could write over it", pkg, bucket, e.toString());
                    unconditionalSaid = true;
                }
                conditionalWrites = false;
                store.putPackage(bucket, zipKey(pkg.name()), pkg.spoolFile(), "application/zip", Map.of("sha256", pkg.sha256()));
            } else if (e.statusCode() != 412) {
                throw e;
            } else {
                settleTaken(pkg, e);
            }
        }
        store.putString(bucket, checksumKey(pkg.name()), pkg.sha256() + "  " + pkg.name() + "\n", "text/plain; charset=utf-8");
        LOG.info("{}: archived in the history as s3://{}/{}", pkg, bucket, zipKey(pkg.name()));
    }

    /** S3 refused the zip (412): a zip is under its key now, these bytes or another package's. */
    private void settleTaken(PrepPackage pkg, software.amazon.awssdk.awscore.exception.AwsServiceException e) throws IOException,
            PackageRejectedException {
        // the same package (this very PUT retried after its answer was lost, or another pod's copy of these bytes) is
        // archived; another one is not overwritten
        Optional<software.amazon.awssdk.services.s3.model.HeadObjectResponse> there = store.head(bucket, zipKey(pkg.name()));
        if (there.isEmpty()) {
            throw new IOException(pkg + ": S3 refused the history copy as if a zip were there (412), and holds none: copied again", e);
        }
        String thereSha = there.get().metadata().get("sha256");
        if (thereSha == null || !thereSha.equalsIgnoreCase(pkg.sha256())) {
            throw new PackageRejectedException(RejectReason.NAME_REUSED, pkg + ": another " + pkg.name() + " (sha256 " + thereSha
                    + ") reached the history while this one was copied; history is never overwritten");
        }
        LOG.info("{}: its zip reached the history by another copy of the same bytes", pkg);
    }

    /**
     * Writes the package's metadata once its outcome is known. An existing record stands (a republish keeps the time of
     * the first publication), except a refusal that an operator's republish has since put on line: the memoria técnica
     * counted such a corte as never published.
     */
    public void recordOutcome(PrepPackage pkg, String outcome, Instant at) throws IOException {
        String key = metadataKey(pkg.name());
        if ("published".equals(outcome)) {
            Optional<HistoryRecord> recorded;
            try {
                recorded = store.readJson(bucket, key, HistoryRecord.class);
            } catch (com.fasterxml.jackson.core.JacksonException unreadable) {
                // a record damaged by hand must not fail the record step of a corte already public: replaced
                LOG.warn("{}: its history record s3://{}/{} cannot be read ({}); replaced", pkg, bucket, key, unreadable.getOriginalMessage());
                recorded = Optional.empty();
            }
            if (recorded.isPresent() && ("published".equals(recorded.get().outcome()) || !pkg.sha256().equals(recorded.get().sha256()))) {
                return;
            }
            if (recorded.isPresent()) {
                // a refusal an operator republished: when and from where the institute delivered it stay the first's
                HistoryRecord refused = recorded.get();
                store.putJson(bucket, key, new HistoryRecord(pkg.name(), pkg.corte() == null ? refused.corte() : pkg.corte().toString(),
                        pkg.sha256(), pkg.size(), orElse(refused.receivedAt(), pkg.receivedAt().toString()), outcome, at.toString(),
                        orElse(refused.source(), pkg.source())));
                return;
            }
        } else if (store.exists(bucket, key)) {
            return;
        }
        store.putJson(bucket, key, new HistoryRecord(pkg.name(), pkg.corte() == null ? null : pkg.corte().toString(),
                pkg.sha256(), pkg.size(), pkg.receivedAt().toString(), outcome, at.toString(), pkg.source()));
    }

    /**
     * The package's outcome record, or empty: none, or one damaged by hand. A parse error is an IOException that the
     * retry channel took for S3 trouble: retried, then quarantined, at every poll or drop of the package, for good.
     */
    public Optional<HistoryRecord> outcome(String packageName) throws IOException {
        try {
            return store.readJson(bucket, metadataKey(packageName), HistoryRecord.class);
        } catch (com.fasterxml.jackson.core.JacksonException unreadable) {
            LOG.warn("package {}: its history record s3://{}/{} cannot be read ({}); taken as none", packageName, bucket,
                    metadataKey(packageName), unreadable.getOriginalMessage());
            return Optional.empty();
        }
    }

    private static String orElse(String recorded, String otherwise) {
        return recorded == null || recorded.isBlank() ? otherwise : recorded;
    }

    private static String firstToken(String sha256sumLine) {
        String t = sha256sumLine.strip();
        int space = t.indexOf(' ');
        return (space < 0 ? t : t.substring(0, space)).toLowerCase();
    }

    /** The metadata JSON kept beside each package in the history. */
    public record HistoryRecord(@JsonProperty("package") String packageName, String corte, String sha256, long size, String receivedAt, String outcome,
            String outcomeAt, String source) {
    }
}
