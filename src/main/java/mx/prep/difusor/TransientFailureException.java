package mx.prep.difusor;

import java.io.IOException;

/** A failure worth retrying with backoff: the source or the cloud is busy or briefly unreachable. */
public class TransientFailureException extends IOException {

    public TransientFailureException(String message) {
        super(message);
    }

    public TransientFailureException(String message, Throwable cause) {
        super(message, cause);
    }
}
