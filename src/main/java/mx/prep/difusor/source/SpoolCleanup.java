package mx.prep.difusor.source;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.camel.Exchange;
import org.apache.camel.support.SynchronizationAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.Failures;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.quarantine.Quarantine;
import mx.prep.difusor.quarantine.QuarantineReport;

/**
 * Closes the package's zip and deletes its spool file once the exchange is done: by then the package is in the history
 * or in quarantine. An exchange that ended failed before the history had the package (stopped while its history copy
 * waited for a retry), or refused without the quarantine saying it kept the package, sets it aside with the spool's
 * leftovers instead, for the sweep to settle.
 */
final class SpoolCleanup extends SynchronizationAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(SpoolCleanup.class);

    /** What becomes of the spool file. */
    enum Spool {
        /** A copy taken back from the history: deleted, the history holds it. */
        DELETE,
        /** A download: deleted, unless the exchange failed before the history had it; then set aside. */
        DELETE_ONCE_SAFE,
        /**
         * A folder's own file, before its spool copy: never deleted here (the folder's consumer deletes it once the
         * exchange is handled, and leaves it when failed). Set aside only when refused and not kept.
         */
        FOLDER_FILE
    }

    /**
     * Set by an exchange that ends handled, not failed, before the package was in the history (the lead lost, or the
     * process stopping, while it waited for its turn): its spool file is set aside all the same.
     */
    static final String NOT_IN_HISTORY = "difusorPackageNotInHistory";

    private final PrepPackage pkg;
    private final Spool spool;
    /** The folder's own file ({@link Spool#FOLDER_FILE}): acted on only while it is still the package's file. */
    private final Path folderFile;
    /** Where a package set aside waits: beside its spool (the folder's own file is not in it). */
    private final Path leftovers;

    SpoolCleanup(PrepPackage pkg, Spool spool) {
        this(pkg, spool, null);
    }

    private SpoolCleanup(PrepPackage pkg, Spool spool, Path spoolDir) {
        this.pkg = pkg;
        this.spool = spool;
        this.folderFile = spool == Spool.FOLDER_FILE ? pkg.spoolFile() : null;
        this.leftovers = spoolDir == null ? null : SpoolLeftovers.besideSpool(spoolDir);
    }

    /**
     * For a folder's own file ({@link Spool#FOLDER_FILE}): acts on the package the exchange holds when done, if it is
     * still read from that file (refused before its spool copy). A retried receive registers it again: the first moves
     * the file, the others find it gone.
     */
    static org.apache.camel.spi.Synchronization ofFolderFile(Path zip, Path spoolDir) {
        return new SynchronizationAdapter() {
            @Override
            public void onDone(Exchange exchange) {
                PrepPackage pkg = exchange.getProperty(PrepPackage.PROPERTY, PrepPackage.class);
                if (pkg != null && zip.equals(pkg.spoolFile())) {
                    new SpoolCleanup(pkg, Spool.FOLDER_FILE, spoolDir).onDone(exchange);
                }
            }
        };
    }

    @Override
    public void onDone(Exchange exchange) {
        if (spool == Spool.FOLDER_FILE) {
            keepTheFolderFileIfRefusedNotKept(exchange);
            return;
        }
        if (pkg.site() != null) {
            pkg.site().close();
        }
        try {
            if (pkg.spoolFile() != null) {
                boolean unsettled = exchange.isFailed() || refusedNotKept(exchange) || exchange.getProperty(Quarantine.UNSETTLED, false, Boolean.class)
                        || exchange.getProperty(NOT_IN_HISTORY, false, Boolean.class);
                if (spool == Spool.DELETE_ONCE_SAFE && unsettled && !archived() && Files.exists(pkg.spoolFile())) {
                    setAside(exchange);
                } else {
                    Files.deleteIfExists(pkg.spoolFile());
                }
            }
        } catch (IOException e) {
            LOG.warn("{}: cannot delete or set aside the spool file {}: {}", pkg, pkg.spoolFile(), e.toString());
        }
    }

    /**
     * A refusal counts as settled only once the quarantine says so: Camel's dead-letter channel swallows a failure of
     * its own (deadLetterHandleNewException), so a refusal whose quarantine never ran ends handled, not failed.
     */
    private static boolean refusedNotKept(Exchange exchange) {
        return exchange.getProperty(Quarantine.REFUSAL) != null && !exchange.getProperty(Quarantine.SETTLED, false, Boolean.class);
    }

    /** Refused before its spool copy, and not kept: the folder's consumer is about to delete the only copy. */
    private void keepTheFolderFileIfRefusedNotKept(Exchange exchange) {
        try {
            if (!exchange.isFailed() && refusedNotKept(exchange) && Files.exists(folderFile)) {
                setAside(exchange);
            }
        } catch (IOException e) {
            keptInTheFolder(exchange.getProperty(Quarantine.STEP, "unknown", String.class), e);
        }
    }

    /**
     * The spool's leftovers refused it too (the work disk full, and likely another volume than the folder's): renamed
     * within the folder, which takes no room, out of its consumer's sight (a dot folder), for a person to quarantine.
     */
    private void keptInTheFolder(String step, IOException leftoversRefused) {
        Path aside = folderFile.resolveSibling(SpoolLeftovers.NOT_KEPT);
        try {
            Files.createDirectories(aside);
            Path kept = aside.resolve(java.time.Instant.now().toEpochMilli() + "~" + folderFile.getFileName());
            Files.move(folderFile, kept, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            LOG.error("{}: refused at step {}, not kept by the quarantine, and the spool's leftovers refused it ({}); kept in the folder at {}:"
                    + " put it in quarantine by hand (runbook)", pkg, step, leftoversRefused.toString(), kept);
        } catch (IOException | RuntimeException e) {
            e.addSuppressed(leftoversRefused);
            LOG.error("{}: refused at step {}, not kept by the quarantine, and it cannot be set aside ({}); the folder's consumer deletes {}:"
                    + " copy it out first", pkg, step, e.toString(), folderFile);
        }
    }

    private void setAside(Exchange exchange) throws IOException {
        Throwable caught = Failures.whatFailed(exchange);
        Throwable refusal = exchange.getProperty(Quarantine.REFUSAL, Throwable.class);
        // the dead-letter channel failed itself: Camel names that failure, the refusal is what a person must look at
        boolean notTaken = refusedNotKept(exchange) && !exchange.isFailed() && refusal != exchange.getProperty(Exchange.EXCEPTION_CAUGHT);
        Throwable cause = notTaken ? Failures.whatFailed(exchange, refusal) : caught;
        // the quarantine counted the refusal before neither S3 nor the disk took it: not to be counted again
        QuarantineReport why = report(exchange, cause);
        QuarantineReport report = exchange.getProperty(Quarantine.UNSETTLED, false, Boolean.class) ? why.asCounted() : why;
        if (leftovers == null) {
            SpoolLeftovers.setAside(pkg.spoolFile(), pkg.name(), report);
        } else {
            Files.createDirectories(leftovers);
            SpoolLeftovers.setAside(pkg.spoolFile(), leftovers, pkg.name(), report);
        }
        if (notTaken) {
            LOG.warn("{}: refused at step {} ({}), but the quarantine did not keep it ({}); set aside with the spool's leftovers,"
                    + " for the history's check, then the quarantine", pkg, why.step(), cause, caught);
        } else {
            LOG.warn("{}: its processing ended ({}) before the package was in the history or in quarantine; set aside with the "
                    + "spool's leftovers, for the history's check, then the quarantine", pkg, caught == null ? "failed" : caught);
        }
    }

    /** A copy into the history still under way may be about to hold the package: a short wait, not the whole copy. */
    private boolean archived() {
        try {
            pkg.settleArchiving(java.time.Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return pkg.isArchived();
    }

    /** Why it is set aside, for the quarantine if it comes to that: the step and the failure, not "a process stopped". */
    private QuarantineReport report(Exchange exchange, Throwable cause) {
        return new QuarantineReport(pkg.name(), pkg.corte() == null ? null : pkg.corte().toString(),
                exchange.getProperty(Quarantine.STEP, "unknown", String.class), new Failures().reasonOf(cause).name(),
                Failures.describe(cause), java.time.Instant.now().toString(), pkg.expectedSha256(), pkg.receivedSha256(),
                pkg.size() >= 0 ? pkg.size() : null, pkg.source(), null);
    }
}
