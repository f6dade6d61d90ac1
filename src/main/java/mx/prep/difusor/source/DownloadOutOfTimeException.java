package mx.prep.difusor.source;

/**
 * The download of one offer, all its attempts together, outlasted difusor.source.download-deadline-ms. Still a
 * transient failure (reported as RETRIES_EXHAUSTED, fetched again after the pause), but not retried at once: the poll
 * waits for the download, and a newer corte on offer meanwhile would wait too.
 */
public class DownloadOutOfTimeException extends OfferSpentException {

    public DownloadOutOfTimeException(String message) {
        super(message);
    }
}
