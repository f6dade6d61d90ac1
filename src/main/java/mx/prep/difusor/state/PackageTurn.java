package mx.prep.difusor.state;

import java.time.Duration;
import java.util.concurrent.Semaphore;

import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.apache.camel.support.SynchronizationAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.PrepPackage;

/**
 * One package in the pipeline at a time. The poll route and the operators' republish folder are separate consumers of
 * the same pipeline: two packages published at once would upload into the same keys, prune each other's files and
 * leave the last record naming a site that is a mix of both. The turn is held from the checksum filter until the
 * exchange is done (published, skipped, quarantined or left to a new leader), retries included.
 */
public final class PackageTurn {

    private static final Logger LOG = LoggerFactory.getLogger(PackageTurn.class);

    private final Semaphore turn = new Semaphore(1, true);
    private final Duration uploadsBound;

    /** {@code uploadsBound}: how long an upload already sent may take (the S3 client's bound for a whole call). */
    public PackageTurn(Duration uploadsBound) {
        this.uploadsBound = uploadsBound;
    }

    public void take(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg, Exchange exchange)
            throws mx.prep.difusor.cluster.NoLongerLeaderException {
        if (!turn.tryAcquire()) {
            LOG.info("{}: waits for the package in the pipeline to finish", pkg);
            try {
                turn.acquire();
            } catch (InterruptedException stopping) {
                // a process stopping (a lost lead stops the routes) while it waits: nothing of this package has started,
                // as when it waits to take over the site (LeaderCheck); an InterruptedException was quarantined as
                // UNEXPECTED, a false refusal, and an operator's republish file deleted with it. Only a folder's
                // consumer thread is interrupted (the forced stop after the graceful wait); a quartz or timer thread
                // waits on and stops at the lead check after its turn
                Thread.currentThread().interrupt();
                throw new mx.prep.difusor.cluster.NoLongerLeaderException(pkg + ": this process is stopping while it waits for its turn");
            }
        }
        // released when the whole exchange is done, on whatever thread finishes it (the splitters hand it around)
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onDone(Exchange done) {
                try {
                    awaitUploads(pkg);
                } finally {
                    turn.release();
                }
            }
        });
    }

    /**
     * A failed publish stage returns at its first failure while the uploads already sent go on: landing after the next
     * package's, they would put an older corte's file over a newer one, under a manifest that says otherwise.
     */
    private void awaitUploads(PrepPackage pkg) {
        pkg.uploadsClosed(); // uploads still queued (a lost lead, a wait that ran out) are not sent after the turn
        int underWay = pkg.uploadsUnderWay();
        if (underWay == 0) {
            return;
        }
        LOG.warn("{}: waits for {} uploads already sent before the next package may publish", pkg, underWay);
        try {
            int left = pkg.awaitUploadsEnded(uploadsBound);
            if (left > 0) {
                LOG.error("{}: {} uploads still under way after {} s; the next package goes on", pkg, left, uploadsBound.toSeconds());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** True while a package holds the turn. */
    public boolean busy() {
        return turn.availablePermits() == 0;
    }
}
