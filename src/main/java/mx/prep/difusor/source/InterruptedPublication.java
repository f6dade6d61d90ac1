package mx.prep.difusor.source;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.ObjectStore;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.archive.HistoryArchiver;
import mx.prep.difusor.state.Corte;
import mx.prep.difusor.state.CorteGate;
import mx.prep.difusor.state.CorteParser;
import mx.prep.difusor.state.PackageTurn;
import mx.prep.difusor.state.PublishedState;
import mx.prep.difusor.state.StateStore;

/**
 * The history as a source: a publication cut short (a killed pod, a lost lead) leaves the state marked "publishing"
 * and the site part old, part new. The institute's source offers that package again only while it is its newest;
 * an operator's republish was a file on the pod that died. So whoever leads next takes the package from the history,
 * where it was copied before its first upload, and publishes it again, whole.
 */
public final class InterruptedPublication {

    /** The spool name of a package taken back from the history: {@code resumed~<name>}. */
    public static final String RESUMED_PREFIX = "resumed~";


    private static final Logger LOG = LoggerFactory.getLogger(InterruptedPublication.class);

    private final StateStore state;
    private final HistoryArchiver history;
    private final ObjectStore store;
    private final PackageTurn turn;
    private final CorteParser corteParser;
    private final Path spoolDir;
    private final Clock clock;
    private final Duration firstPause;
    private final Duration maxPause;
    private final Duration transferDeadline;
    /** The last package taken back, how often, and when it may be taken again. */
    private String lastKey;
    /** Packages (name@sha256) whose resume was refused for good: the same refusal would come at every check. */
    private final java.util.Set<String> refusedForGood = new java.util.HashSet<>();
    private int attempts;
    /** Downloads of the same package from the history that failed in a row: the first few are taken again at once. */
    private int downloadFailures;
    private static final int DOWNLOADS_AGAIN_AT_ONCE = 3;
    private Instant retryAt = Instant.MIN;

    public InterruptedPublication(StateStore state, HistoryArchiver history, ObjectStore store, PackageTurn turn, CorteParser corteParser,
            Path spoolDir, Clock clock, Duration firstPause, Duration maxPause, Duration transferDeadline) {
        this.transferDeadline = transferDeadline;
        this.state = state;
        this.history = history;
        this.store = store;
        this.firstPause = firstPause;
        this.maxPause = maxPause;
        this.turn = turn;
        this.corteParser = corteParser;
        this.spoolDir = spoolDir;
        this.clock = clock;
    }

    /** A corte the state recorded, unless edited by hand past reading: then the name's, as for a state without one. */
    private static Optional<Corte> readable(String corte) {
        try {
            return Optional.of(Corte.parse(corte));
        } catch (IllegalArgumentException unreadable) {
            return Optional.empty();
        }
    }

    /** @return true when a package cut short was taken back from the history into the spool, for the pipeline */
    public boolean fetch(Exchange exchange) throws IOException {
        if (turn.busy()) {
            return false; // a publication under way in this process marks the state itself
        }
        Optional<PublishedState> published = state.load();
        String name = published.map(PublishedState::publishing).orElse(null);
        if (name == null || name.contains("/") || name.contains("\\")) {
            synchronized (this) {
                refusedForGood.clear();   // that marker is gone: the same package marked again later is a new publication
            }
            return false;
        }
        // the corte the state recorded with it, the one its publication was ordered by (a manifest may announce a corte
        // the name lacks, or another one); the name's for a state written before the corte was recorded
        Optional<Corte> corte = published.map(PublishedState::publishingCorte).flatMap(InterruptedPublication::readable)
                .or(() -> corteParser.fromPackageName(name));
        // as PrepPackage names a package in the log: a grep by corte finds these lines too
        String shown = PrepPackage.shown(name, corte.orElse(null));
        Optional<String> sha;
        try {
            sha = history.archivedSha256(name);
        } catch (RuntimeException e) {
            throw new IOException(shown + ": its publication was cut short, and its checksum in the history cannot be read ("
                    + mx.prep.difusor.Failures.describe(e) + "); tried again at the next check", e);
        }
        if (sha.isEmpty()) {
            LOG.warn("{}: its publication was cut short, but the history does not hold it whole; the next corte replaces the site", shown);
            return false;
        }
        // one that failed again (S3 down, or refused) is taken again after a growing pause, not at every check
        String key = name + "@" + sha.get();
        Instant now = clock.instant();
        synchronized (this) {
            refusedForGood.retainAll(java.util.Set.of(key));   // only the marker there now may stay refused
            if (refusedForGood.contains(key)) {
                return false;   // its refusal said so, at ERROR; after a restart it is tried once more
            }
            if (key.equals(lastKey) && now.isBefore(retryAt)) {
                return false;
            }
            if (!key.equals(lastKey)) {
                downloadFailures = 0;
            }
            attempts = key.equals(lastKey) ? attempts + 1 : 1;
            lastKey = key;
            retryAt = now.plusMillis(Math.min(maxPause.toMillis(), firstPause.toMillis() << Math.min(attempts - 1, 20)));
        }
        if (corte.isEmpty()) {
            LOG.warn("package {}: its publication was cut short, but neither its name nor the state holds its corte; the next corte "
                    + "replaces the site", name);
            return false;
        }
        Files.createDirectories(spoolDir);
        // not the name the download spools to: the poll may be fetching the same package from the institute meanwhile.
        // A '~' no package name holds (PackageNames): "resumed-" was a name the institute could give a package, whose
        // download this deleted, and which a start's sweep took for a copy of the history's
        Path spool = spoolDir.resolve(RESUMED_PREFIX + name);
        Files.deleteIfExists(spool);
        // a whole package: as long as a download from the institute may take, not one S3 call's bound
        try {
            store.client().getObject(b -> b.bucket(history.bucket()).key(history.zipKey(name))
                    .overrideConfiguration(o -> o.apiCallTimeout(transferDeadline)), spool);
        } catch (RuntimeException e) {
            // nothing was tried on the site: the next check takes it again, not the pause after a failed publication
            // (a minute and more of a site half old, half new after one S3 hiccup); one failing again and again (a
            // denied key) goes back to the growing pause
            boolean atOnce;
            synchronized (this) {
                atOnce = ++downloadFailures <= DOWNLOADS_AGAIN_AT_ONCE;
                if (atOnce) {
                    attempts--;
                    retryAt = now;
                }
            }
            // the route's failure log names neither: the package whose publication stays cut short, and the step
            IOException failed = new IOException(shown + ": its publication was cut short, and taking it back from s3://"
                    + history.bucket() + "/" + history.zipKey(name) + " failed (" + mx.prep.difusor.Failures.describe(e) + "); tried again "
                    + (atOnce ? "at the next check" : "after a pause"), e);
            try {
                Files.deleteIfExists(spool);
            } catch (IOException notDeleted) {
                failed.addSuppressed(notDeleted);
            }
            throw failed;
        }
        synchronized (this) {
            downloadFailures = 0;
        }
        PrepPackage pkg = new PrepPackage(name, sha.get(), null, corte.get(), "s3://" + history.bucket() + "/" + history.zipKey(name),
                clock.instant());
        pkg.spooled(spool, Files.size(spool));
        // whole in the history, where it was just read from: a failure before the archive step (the state unreadable)
        // copied it into the quarantine, onto the pod's disk while S3 was down (PrepPackagesOnlyOnAPod, falsely)
        pkg.archived();
        exchange.setProperty(PrepPackage.PROPERTY, pkg);
        exchange.setProperty(CorteGate.RESUMED, true);
        // an older corte in flight was an operator's republish: the gate lets it through as it did the first time
        boolean older = published.filter(PublishedState::hasPublished).map(p -> !corte.get().isNewerThan(p.corteValue())).orElse(false);
        exchange.setProperty(CorteGate.REPUBLISH, older);
        if (older) {
            // and only over the corte recorded now, as the republish itself was: a newer one recorded while this process
            // took the package back (another leader, this one held up) is not gone back from
            exchange.setProperty(CorteGate.REPUBLISH_OVER, CorteGate.recorded(published.orElse(null)));
        }
        exchange.getExchangeExtension().addOnCompletion(new SpoolCleanup(pkg, SpoolCleanup.Spool.DELETE));
        exchange.getExchangeExtension().addOnCompletion(new org.apache.camel.support.SynchronizationAdapter() {
            @Override
            public void onDone(Exchange done) {
                if (done.getProperty(mx.prep.difusor.quarantine.Quarantine.REFUSED_PAST_THE_MARKER, false, Boolean.class)) {
                    synchronized (InterruptedPublication.this) {
                        refusedForGood.add(key);
                    }
                }
            }
        });
        // not counted as received: it was when it came from the source, and a restart's resume would count it twice
        LOG.warn("{}: its publication was cut short (the state still says so); published again from the history", pkg);
        return true;
    }
}
