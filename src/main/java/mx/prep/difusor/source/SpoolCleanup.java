package mx.prep.difusor.source;

import java.io.IOException;
import java.nio.file.Files;

import org.apache.camel.Exchange;
import org.apache.camel.support.ExchangeHelper;
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
        DELETE_ONCE_SAFE
    }

    /**
     * Set by an exchange that ends handled, not failed, before the package was in the history (the lead lost, or the
     * process stopping, while it waited for its turn): its spool file is set aside all the same.
     */
    static final String NOT_IN_HISTORY = "difusorPackageNotInHistory";

    private final PrepPackage pkg;
    private final Spool spool;

    SpoolCleanup(PrepPackage pkg, Spool spool) {
        this.pkg = pkg;
        this.spool = spool;
    }

    @Override
    public void onDone(Exchange exchange) {
        if (pkg.site() != null) {
            pkg.site().close();
        }
        try {
            if (pkg.spoolFile() != null) {
                // a refusal counts as settled only once the quarantine says so: Camel's dead-letter channel swallows a failure
                // of its own (deadLetterHandleNewException), so one whose quarantine never ran ends handled, not failed
                boolean refusedNotKept = ExchangeHelper.isFailureHandled(exchange) && !exchange.getProperty(Quarantine.SETTLED, false, Boolean.class);
                boolean unsettled = exchange.isFailed() || refusedNotKept || exchange.getProperty(Quarantine.UNSETTLED, false, Boolean.class)
                        || exchange.getProperty(NOT_IN_HISTORY, false, Boolean.class);
                if (spool == Spool.DELETE_ONCE_SAFE && unsettled && !archived() && Files.exists(pkg.spoolFile())) {
                    Throwable caught = Failures.whatFailed(exchange);
                    Throwable cause = refusedNotKept && !exchange.isFailed() ? refusal(caught) : caught;
                    // the quarantine counted the refusal before neither S3 nor the disk took it: not to be counted again
                    QuarantineReport why = report(exchange, cause);
                    SpoolLeftovers.setAside(pkg.spoolFile(), pkg.name(),
                            exchange.getProperty(Quarantine.UNSETTLED, false, Boolean.class) ? why.asCounted() : why);
                    if (cause != caught) {
                        LOG.warn("{}: refused at step {} ({}), but the quarantine did not keep it ({}); set aside with the spool's leftovers,"
                                + " for the history's check, then the quarantine", pkg, why.step(), cause, caught);
                    } else {
                        LOG.warn("{}: its processing ended ({}) before the package was in the history or in quarantine; set aside with the "
                                + "spool's leftovers, for the history's check, then the quarantine", pkg, caught == null ? "failed" : caught);
                    }
                } else {
                    Files.deleteIfExists(pkg.spoolFile());
                }
            }
        } catch (IOException e) {
            LOG.warn("{}: cannot delete or set aside the spool file {}: {}", pkg, pkg.spoolFile(), e.toString());
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

    /**
     * The refusal the dead-letter channel was handling when it failed itself: Camel then names its own failure (no
     * consumer on the quarantine's route, say) and keeps the refusal on it as suppressed, last.
     */
    private static Throwable refusal(Throwable deadLetterFailure) {
        Throwable[] kept = deadLetterFailure == null ? new Throwable[0] : deadLetterFailure.getSuppressed();
        return kept.length == 0 ? deadLetterFailure : kept[kept.length - 1];
    }

    /** Why it is set aside, for the quarantine if it comes to that: the step and the failure, not "a process stopped". */
    private QuarantineReport report(Exchange exchange, Throwable cause) {
        return new QuarantineReport(pkg.name(), pkg.corte() == null ? null : pkg.corte().toString(),
                exchange.getProperty(Quarantine.STEP, "unknown", String.class), new Failures().reasonOf(cause).name(),
                Failures.describe(cause), java.time.Instant.now().toString(), pkg.expectedSha256(), pkg.receivedSha256(),
                pkg.size() >= 0 ? pkg.size() : null, pkg.source(), null);
    }
}
