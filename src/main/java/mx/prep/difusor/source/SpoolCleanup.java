package mx.prep.difusor.source;

import java.io.IOException;
import java.nio.file.Files;

import org.apache.camel.Exchange;
import org.apache.camel.support.SynchronizationAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.PrepPackage;

/**
 * Closes the package's zip and deletes its spool file once the exchange is done, whatever its outcome (by then the
 * package is in the history or in quarantine).
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
                Files.deleteIfExists(pkg.spoolFile());
            }
        } catch (IOException e) {
            LOG.warn("{}: cannot delete the spool file {}: {}", pkg, pkg.spoolFile(), e.toString());
        }
    }
}
