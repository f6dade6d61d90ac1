package mx.prep.difusor.source;

import mx.prep.difusor.TransientFailureException;

/**
 * A download that retrying at once cannot mend (its time is spent, or the zip would be as large again): reported as
 * RETRIES_EXHAUSTED without the retry channel's attempts, and fetched again after the pause, so the poll reads the
 * manifest again meanwhile.
 */
public abstract class OfferSpentException extends TransientFailureException {

    protected OfferSpentException(String message) {
        super(message);
    }
}
