package mx.prep.difusor;

/**
 * A package that must never reach the public. Not retried: it goes straight to quarantine with its reason code.
 */
public class PackageRejectedException extends Exception {

    private final RejectReason reason;

    public PackageRejectedException(RejectReason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public PackageRejectedException(RejectReason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public RejectReason reason() {
        return reason;
    }
}
