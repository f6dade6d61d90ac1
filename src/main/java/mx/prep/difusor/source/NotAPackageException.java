package mx.prep.difusor.source;

import mx.prep.difusor.TransientFailureException;

/**
 * The institute answered where the zip should be, and not with a package: an HTML page served with 200 (a maintenance
 * or error page) or a status that is neither success nor a known transient one (401, 410, ...). Retried like a
 * transient failure (the institute may put it right), and reported as BAD_SOURCE_RESPONSE, not as an outage, when
 * the retries run out.
 */
public class NotAPackageException extends TransientFailureException {

    private static final long serialVersionUID = 1L;

    public NotAPackageException(String message) {
        super(message);
    }
}
