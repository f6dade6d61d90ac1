package mx.prep.difusor.source;

import java.io.IOException;
import java.nio.file.Files;

import org.apache.camel.Exchange;
import org.apache.camel.support.SynchronizationAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.PrepPackage;

/**
 * Closes the package's zip and deletes its spool file once the exchange is done: by then the package is in the history
 * or in quarantine. An exchange that ended failed before the history had the package (stopped while its history copy
 * waited for a retry) sets it aside with the spool's leftovers instead, for the sweep to settle.
 */
final class SpoolCleanup extends SynchronizationAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(SpoolCleanup.class);

    private final PrepPackage pkg;
    private final boolean deleteSpool;

    SpoolCleanup(PrepPackage pkg, boolean deleteSpool) {
        this.pkg = pkg;
        this.deleteSpool = deleteSpool;
    }

    @Override
    public void onDone(Exchange exchange) {
        if (pkg.site() != null) {
            pkg.site().close();
        }
        try {
            if (deleteSpool && pkg.spoolFile() != null) {
                if (exchange.isFailed() && !pkg.isArchived() && Files.exists(pkg.spoolFile())) {
                    SpoolLeftovers.setAside(pkg.spoolFile(), pkg.name());
                    LOG.warn("{}: its processing ended ({}) before the package was in the history or in quarantine; set aside with the "
                            + "spool's leftovers, for the history's check, then the quarantine", pkg, failure(exchange));
                } else {
                    Files.deleteIfExists(pkg.spoolFile());
                }
            }
        } catch (IOException e) {
            LOG.warn("{}: cannot delete or set aside the spool file {}: {}", pkg, pkg.spoolFile(), e.toString());
        }
    }

    private static String failure(Exchange exchange) {
        return exchange.getException() == null ? "failed" : exchange.getException().toString();
    }
}
