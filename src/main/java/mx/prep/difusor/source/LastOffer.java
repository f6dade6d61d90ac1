package mx.prep.difusor.source;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The package a polled document (a manifest, a fixed URL's checksum file) announced last: still on offer while the
 * document answers 304, none while it answers 404. A document withdrawn or moved mid-night must show as "nothing on
 * offer" (a poll "none", a WARN once), not as its last package still on offer.
 */
final class LastOffer {

    private static final Logger LOG = LoggerFactory.getLogger(LastOffer.class);

    private final String document;
    private volatile PackageOffer offer;
    private volatile boolean goneSaid;

    /** @param document what is polled, for the log ("the manifest https://...") */
    LastOffer(String document) {
        this.document = document;
    }

    /** After a fetch that read nothing: the last offer when the document is unchanged (304), null when it is gone (404). */
    PackageOffer unchangedOrGone(boolean gone) {
        if (!gone) {
            return offer;
        }
        if (offer != null && !goneSaid) {
            LOG.warn("{} answers 404 now (it announced {} before): nothing on offer until it answers again", document, offer);
            goneSaid = true;
        }
        return null;
    }

    /** The document read whole announces {@code next}; true when it is another package (or checksum) than before. */
    boolean announces(PackageOffer next) {
        goneSaid = false;
        boolean another = offer == null || !next.key().equals(offer.key());
        offer = next;
        return another;
    }
}
