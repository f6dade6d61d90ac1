package mx.prep.difusor.source;

import java.io.IOException;

/**
 * The server answered, and not with the document: a status other than 200, 304, 404 or a transient one, or a body too
 * large for a manifest or checksum file. Asking again soon will get the same answer.
 */
public class DocumentRefusedException extends IOException {

    private static final long serialVersionUID = 1L;

    public DocumentRefusedException(String message) {
        super(message);
    }
}
