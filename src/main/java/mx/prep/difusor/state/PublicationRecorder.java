package mx.prep.difusor.state;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;

import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.archive.HistoryArchiver;

/** The last step: the published state object in S3, then the package's outcome in the history. */
public final class PublicationRecorder {

    private static final Logger LOG = LoggerFactory.getLogger(PublicationRecorder.class);

    private final StateStore state;
    private final HistoryArchiver history;
    private final PackageLedger ledger;
    private final Clock clock;

    public PublicationRecorder(StateStore state, HistoryArchiver history, PackageLedger ledger, Clock clock) {
        this.state = state;
        this.history = history;
        this.ledger = ledger;
        this.clock = clock;
    }

    public void record(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws IOException {
        Instant now = clock.instant();
        state.save(new PublishedState(pkg.name(), pkg.corte().toString(), pkg.sha256(), pkg.size(), pkg.filesPublished(),
                pkg.receivedAt().toString(), now.toString(), pkg.stageMillis()));
        history.recordOutcome(pkg, "published", now);
        ledger.settled(pkg.name(), pkg.sha256());
        LOG.info("{}: published; {} files; stages {} ms; state at {}", pkg, pkg.filesPublished(), pkg.stageMillis(), state.location());
    }
}
