package mx.prep.difusor.quarantine;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * Runs as the dead-letter channel takes a failure past its retries (its {@code onPrepareFailure}), before the
 * quarantine: notes the failure on the exchange. Camel's dead-letter channel swallows a failure of its own (a
 * quarantine route stopped under a stop past its timeout) and then names that failure, not the refusal: with the note,
 * the spool's cleanup still sees that a package was refused and that nothing kept it ({@link Quarantine#SETTLED}
 * missing), and why. Camel runs it before the handled clauses too (a lost lead, a CloudFront failure once the corte is
 * public): those never settle, so a package they leave outside the history is set aside as well, for the sweep to
 * drop once the history holds it or else to quarantine. The safe side: a needless quarantine, never a loss.
 */
public final class RefusalNote implements Processor {

    private final boolean dryRun;

    /** @param dryRun a dry run keeps no package, refused or not: nothing to note */
    public RefusalNote(boolean dryRun) {
        this.dryRun = dryRun;
    }

    @Override
    public void process(Exchange exchange) {
        if (!dryRun) {
            exchange.setProperty(Quarantine.REFUSAL, exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class));
        }
    }
}
