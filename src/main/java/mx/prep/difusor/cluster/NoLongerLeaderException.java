package mx.prep.difusor.cluster;

/**
 * This process lost the lead while a package was on its way to the public. Not a fault of the package (it is in the
 * history): the new leader publishes the newest corte, and this one must not overwrite what it publishes.
 */
public class NoLongerLeaderException extends Exception {

    private static final long serialVersionUID = 1L;

    public NoLongerLeaderException(String message) {
        super(message);
    }
}
