package mx.prep.difusor.source;

/**
 * The download outgrew difusor.source.max-package-bytes. Reported (RETRIES_EXHAUSTED) and fetched again after the
 * pause, in case the institute replaces it, but not retried at once: the same zip would be as large, downloaded again
 * up to the limit each time.
 */
public class PackageTooLargeException extends OfferSpentException {

    public PackageTooLargeException(String message) {
        super(message);
    }
}
