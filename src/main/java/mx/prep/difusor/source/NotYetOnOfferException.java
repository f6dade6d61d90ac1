package mx.prep.difusor.source;

import java.io.IOException;

/**
 * The manifest announces a package whose zip is not there yet (404, or 403 as S3 answers for a missing key): the
 * institute uploads the zip after the manifest, or a CDN has not caught up. Not a package received, so nothing to
 * quarantine: the next poll asks again, and the publication lag, counted from the announcement, raises the alert if
 * it never comes.
 */
public class NotYetOnOfferException extends IOException {

    public NotYetOnOfferException(String message) {
        super(message);
    }
}
