package mx.prep.difusor.state;

import java.io.IOException;
import java.time.Clock;
import java.util.Optional;

import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.PackageRejectedException;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.RejectReason;
import mx.prep.difusor.archive.HistoryArchiver;
import mx.prep.difusor.quarantine.Quarantine;

/**
 * Lets only a newer corte through. The same package again is skipped quietly; an older (or equal) corte is
 * recorded as stale in the history and reported in quarantine, and the published site stays as it is.
 */
public final class CorteGate {

    private static final Logger LOG = LoggerFactory.getLogger(CorteGate.class);

    /** Exchange property set by the republish route. */
    public static final String REPUBLISH = "difusorRepublish";

    /**
     * Exchange property set when an operator's republish is received: the recorded package it was asked to go over
     * ({@code name@sha256}, empty for none). It waits for its turn, maybe behind a newer corte being published.
     */
    public static final String REPUBLISH_OVER = "difusorRepublishOver";

    /** Exchange property set on a package taken back from the history because its publication was cut short. */
    public static final String RESUMED = "difusorResumed";

    private final StateStore state;
    private final HistoryArchiver history;
    private final PackageLedger ledger;
    private final Clock clock;
    private final CorteHorizon horizon;

    public CorteGate(StateStore state, HistoryArchiver history, PackageLedger ledger, Clock clock, CorteHorizon horizon) {
        this.horizon = horizon;
        this.state = state;
        this.history = history;
        this.ledger = ledger;
        this.clock = clock;
    }

    /** Before archiving: a package without a corte cannot be ordered, so it cannot be history either. */
    public void requireCorte(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws PackageRejectedException {
        if (pkg.corte() == null) {
            throw new PackageRejectedException(RejectReason.NO_CORTE,
                    pkg + ": no corte in the package name (difusor.source.corte-pattern) nor in the manifest");
        }
        java.time.Duration ahead = horizon.ahead(pkg.corte());
        if (ahead != null) {
            throw new PackageRejectedException(RejectReason.CORTE_AHEAD, pkg + ": its corte " + pkg.corte() + " is " + minutes(ahead)
                    + " min ahead of the clock in " + horizon.zone() + " (a typo, or a time in another zone?); published, it would make every"
                    + " real corte after it look stale");
        }
        // a bucket keeps what it was sent: the same package read hours later, once the clock has caught up with its name
        java.time.Duration aheadOfItself = pkg.madeAt() == null ? null : horizon.aheadOf(pkg.corte(), pkg.madeAt());
        if (aheadOfItself != null) {
            // the time it was made in the zone the corte is read in: side by side, the operator compares like with like
            throw new PackageRejectedException(RejectReason.CORTE_AHEAD, pkg + ": its corte " + pkg.corte() + " is " + minutes(aheadOfItself)
                    + " min later than when its source made it (" + java.time.LocalDateTime.ofInstant(pkg.madeAt(), horizon.zone()).format(MADE_AT)
                    + " in " + horizon.zone() + ", its Last-Modified " + pkg.madeAt() + ")"
                    + " (a typo, or a time in another zone?); published, it would show older results as this corte");
        }
    }

    private static final java.time.format.DateTimeFormatter MADE_AT = java.time.format.DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss");

    /** Whole minutes, rounded up: 30 min 30 s past a 30-minute tolerance is not "30 min ahead". */
    private static long minutes(java.time.Duration ahead) {
        return (ahead.toMillis() + 59_999) / 60_000;
    }

    /**
     * @return true when the package is the one already published, or was handled before (its history record) while
     *         the poll could not tell by its offer: the route stops quietly
     */
    public boolean isAlreadyPublished(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg, Exchange exchange) throws IOException {
        Optional<PublishedState> published = state.load();
        if (exchange.getProperty(RESUMED, false, Boolean.class)
                && published.map(PublishedState::publishing).filter(pkg.name()::equals).isEmpty()) {
            // it waited for its turn behind the poll, which finished it, or published a newer corte over it
            LOG.info("{}: no longer cut short (finished, or a newer corte published meanwhile); skipped", pkg);
            return true;
        }
        // an operator's republish (or its resume) of the recorded package while a publication was cut short, another
        // one's or its own: the site is not whole, and this is what puts the recorded corte back (skipped, the resume
        // finished the other one, or never finished this one)
        boolean overACutShort = (exchange.getProperty(REPUBLISH, false, Boolean.class) || exchange.getProperty(RESUMED, false, Boolean.class))
                && published.map(PublishedState::publishing).isPresent();
        boolean republish = exchange.getProperty(REPUBLISH, false, Boolean.class);
        if (published.isPresent() && published.get().isSamePackage(pkg.name(), pkg.sha256()) && republish && !overACutShort) {
            // the operator's way to put the site back in line with the recorded corte (a file edited or deleted by hand,
            // after the night's last corte, when no next corte would repair it): compared file by file, not skipped
            LOG.warn("{}: republished by an operator over itself: the site bucket is compared with the package file by file", pkg);
            return false;
        }
        if (published.isPresent() && published.get().isSamePackage(pkg.name(), pkg.sha256()) && !overACutShort) {
            LOG.info("{}: already published; skipped", pkg);
            ledger.settled(pkg.name(), pkg.sha256());
            return true;
        }
        if (!pkg.isNamedByItsDownload() || exchange.getProperty(REPUBLISH, false, Boolean.class)
                || exchange.getProperty(RESUMED, false, Boolean.class)) {
            return false;
        }
        // handled before (published, stale or refused), under this name with these bytes: the poll's ledger does not
        // fetch such a package when its offer names it; one named only by its download (a fixed URL whose checksum file
        // names no file) is known to a new process by checksum alone, and an operator's rollback to an older corte would
        // be undone by the withdrawn newer zip still on offer. (A folder's packages are not polled: they go on, and an
        // older one is reported stale, as a rehearsal's replay expects)
        // a record damaged by hand: the gate decides as if there were none
        Optional<HistoryArchiver.HistoryRecord> record = history.outcome(pkg.name());
        if (record.isPresent() && pkg.sha256() != null && pkg.sha256().equalsIgnoreCase(record.get().sha256())) {
            LOG.info("{}: already handled ({} at {}); not published again (an operator puts it back on line through the republish folder)",
                    pkg, record.get().outcome(), record.get().outcomeAt());
            ledger.settled(pkg.name(), pkg.sha256());
            return true;
        }
        return false;
    }

    /** When an operator's republish is received, before it waits for its turn: what it is asked to go over. */
    public void republishRequested(Exchange exchange) throws IOException {
        Optional<PublishedState> now = state.load();
        String over = recorded(now.orElse(null));
        exchange.setProperty(REPUBLISH_OVER, over);
        // a marker then may be a publication under way as well as one cut short (its resume): whichever is recorded
        // before the republish's turn is a site the operator did not see, and is not replaced without them
        LOG.info("republish requested over {}{}", over.isEmpty() ? "(nothing published)" : over,
                now.map(PublishedState::publishing).map(p -> " (" + p + " being published or cut short)").orElse(""));
    }

    /** The package a state records as published, as {@link #REPUBLISH_OVER} names it: {@code name@sha256}, empty for none. */
    public static String recorded(PublishedState state) {
        return state == null || !state.hasPublished() ? ""
                : state.packageName() + "@" + (state.sha256() == null ? "" : state.sha256().toLowerCase(java.util.Locale.ROOT));
    }

    /**
     * Why an operator's republish may not go over what the state says is public, if it may not: another package was
     * recorded since the republish was asked for (a newer corte that had the turn before it, or one whose publication was
     * cut short and that the resume finished first). The operator chose to replace the corte they saw, never one they
     * did not; they copy it again if it is still wanted.
     */
    public static Optional<String> republishOverAnother(PrepPackage pkg, Exchange exchange, PublishedState current) {
        String over = exchange.getProperty(REPUBLISH_OVER, String.class);
        String now = recorded(current);
        // this very package recorded meanwhile (another process finished its resume): put over itself, no harm, unless
        // another publication is marked under way there since (its resume must not be dropped)
        if (over == null || over.equals(now) || current != null && current.isSamePackage(pkg.name(), pkg.sha256())
                && (current.publishing() == null || current.publishing().equals(pkg.name()))) {
            return Optional.empty();
        }
        return Optional.of(pkg + ": republish asked over " + (over.isEmpty() ? "an empty site" : over) + ", but "
                + (now.isEmpty() ? "the state now records nothing published" : now + " (corte " + current.corte() + ") was published since")
                + "; not put over it: copy it into the republish folder again if it is still wanted");
    }

    /** After archiving: only a corte newer than the published one (and not older than one cut short) goes on. */
    public void admit(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg, Exchange exchange) throws IOException, PackageRejectedException,
            InterruptedException {
        Optional<PublishedState> known = state.lastKnown();
        if (exchange.getProperty(REPUBLISH, false, Boolean.class)) {
            // not recorded as stale: the history's record of the package is that of its own publication, earlier
            Optional<String> overAnother = republishOverAnother(pkg, exchange, state.load().orElse(null));
            if (overAnother.isPresent()) {
                throw new PackageRejectedException(RejectReason.STALE_CORTE, overAnother.get());
            }
            // an operator's decision (runbook: republish a historic corte), the one way an older corte goes back online
            LOG.warn("{}: REPUBLISHED by an operator over the published corte {}", pkg,
                    known.filter(PublishedState::hasPublished).map(PublishedState::corte).orElse("(none)"));
            return;
        }
        Optional<String> tooOld = known.flatMap(s -> tooOld(pkg, s));
        if (tooOld.isPresent()) {
            // the outcome settles the package for good (it is not fetched again): only once it is whole in the history;
            // a failure of that copy is the archiver's
            exchange.setProperty(Quarantine.STEP, "history-archiver");
            history.awaitArchived(pkg);
            exchange.setProperty(Quarantine.STEP, "corte-gate");
            history.recordOutcome(pkg, "stale", clock.instant());
            throw new PackageRejectedException(RejectReason.STALE_CORTE, tooOld.get());
        }
        LOG.info("{}: newer than the published corte {}; publishing", pkg,
                known.filter(PublishedState::hasPublished).map(PublishedState::corte).orElse("(none yet)"));
    }

    /**
     * Why the package may not go over what the state says is public, if it may not: it is not newer than the published
     * corte, or it is older than a corte whose publication was cut short part way (already partly public, and finished
     * by the resume: an older corte over it would go back in time, and clear its marker so it is never finished).
     */
    public static Optional<String> tooOld(PrepPackage pkg, PublishedState state) {
        // the very package on line (recorded by another process meanwhile) is not stale, which would write "stale" over
        // its "published" record; the plan's gate skips it quietly. Unless a newer corte was cut short over it (below)
        if (state.hasPublished() && !pkg.corte().isNewerThan(state.corteValue()) && !state.isSamePackage(pkg.name(), pkg.sha256())) {
            return Optional.of(pkg + ": corte " + pkg.corte() + " is not newer than the published corte " + state.corte() + " ("
                    + state.packageName() + ")");
        }
        // the same corte in another package too, as against the published one: which of the two went public depended
        // on whether the resume's timer or the poll took the turn first
        Optional<Corte> unfinished = state.unfinishedCorte(pkg.name());
        if (unfinished.isPresent() && !pkg.corte().isNewerThan(unfinished.get())) {
            return Optional.of(pkg + ": corte " + pkg.corte() + " is not newer than corte " + unfinished.get() + " (" + state.publishing()
                    + "), whose publication was cut short part way and is finished from the history");
        }
        return Optional.empty();
    }

    /** A dry run's gate: the same decision as {@link #admit}, recorded nowhere. */
    public void wouldAdmit(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg, Exchange exchange) throws PackageRejectedException {
        Optional<String> tooOld = exchange.getProperty(REPUBLISH, false, Boolean.class)
                ? republishOverAnother(pkg, exchange, state.lastKnown().orElse(null))
                : state.lastKnown().flatMap(s -> tooOld(pkg, s));
        if (tooOld.isPresent()) {
            throw new PackageRejectedException(RejectReason.STALE_CORTE, tooOld.get());
        }
    }

}
