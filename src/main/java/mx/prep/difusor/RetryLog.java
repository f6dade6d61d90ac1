package mx.prep.difusor;

import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.quarantine.Quarantine;
import mx.prep.difusor.source.PackageOffer;

/**
 * The retry channel's line before each redelivery: the package, the step, the attempt and the cause. Camel's own line
 * names only its message and exchange ids, so an operator could not tell which corte was being retried, nor where.
 */
public final class RetryLog implements Processor {

    private static final Logger LOG = LoggerFactory.getLogger(RetryLog.class);

    @Override
    public void process(Exchange exchange) {
        Object what = exchange.getProperty(PrepPackage.PROPERTY);
        if (what == null) {
            what = exchange.getProperty(PackageOffer.PROPERTY);
        }
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        LOG.warn("{}: step {} failed, retry {} of {}: {}", what == null ? "package (not received yet)" : what,
                exchange.getProperty(Quarantine.STEP, "unknown", String.class),
                exchange.getMessage().getHeader(Exchange.REDELIVERY_COUNTER), exchange.getMessage().getHeader(Exchange.REDELIVERY_MAX_COUNTER),
                Failures.describe(cause != null ? cause : exchange.getException()));
    }
}
