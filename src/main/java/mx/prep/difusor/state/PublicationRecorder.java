package mx.prep.difusor.state;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.PackageRejectedException;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.RejectReason;
import mx.prep.difusor.archive.HistoryArchiver;
import mx.prep.difusor.publish.SiteManifest;
import mx.prep.difusor.unpack.SiteFile;

/** The last step: the package's outcome in the history, then the published state object in S3. */
public final class PublicationRecorder {

    /** Set once the state marks this package's publication: from then on whoever leads next finishes it. */
    public static final String MARKED = "difusorPublishingMarked";


    private static final Logger LOG = LoggerFactory.getLogger(PublicationRecorder.class);

    private final StateStore state;
    private final HistoryArchiver history;
    private final PackageLedger ledger;
    private final Clock clock;
    private final DifusorMetrics metrics;
    private final PackageJournal journal;
    private final java.util.Set<String> probedFiles;

    /**
     * @param probedFiles the files of {@code difusor.probe.also-compare}: their hashes in the package being published go
     *                    into the state's marker, for the probe
     */
    private final mx.prep.difusor.cluster.LeaderCheck leaderCheck;
    /** The headers this difusor puts on site files (CacheControlRules#fingerprint), marked with each publication. */
    private final String headers;

    public PublicationRecorder(StateStore state, HistoryArchiver history, PackageLedger ledger, Clock clock, DifusorMetrics metrics,
            PackageJournal journal, List<String> probedFiles, mx.prep.difusor.cluster.LeaderCheck leaderCheck, String headers) {
        this.leaderCheck = leaderCheck;
        this.headers = headers;
        this.probedFiles = java.util.Set.copyOf(probedFiles);
        this.metrics = metrics;
        this.journal = journal;
        this.state = state;
        this.history = history;
        this.ledger = ledger;
        this.clock = clock;
    }

    /**
     * Before the first upload: the state says a publication is under way, until {@link #record} clears it. The state is
     * read again here, since another writer may have published a newer corte after the gate let this one through (a
     * retried stage, two processes publishing); only an operator's republish goes back in time.
     */
    public void publishing(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg, Exchange exchange)
            throws IOException, PackageRejectedException, mx.prep.difusor.cluster.NoLongerLeaderException {
        state.checkTheFenceOnce(pkg);   // in the background
        StateStore.Versioned read = state.loadForUpdate();
        PublishedState current = read.state().orElse(null);
        // the lead asked again after the read, as before each write of the record: a lead lost while the read was held
        // up would write back what it read over the new leader's state, and the marker would send its resume back to
        // this older corte; and before the checks below, so a former leader stops as one, not with a quarantine report
        leaderCheck.require(pkg);
        java.util.Optional<String> tooOld = current == null || exchange.getProperty(CorteGate.REPUBLISH, false, Boolean.class)
                ? java.util.Optional.empty() : CorteGate.tooOld(pkg, current);
        if (tooOld.isPresent()) {
            history.recordOutcome(pkg, "stale", clock.instant());
            throw new PackageRejectedException(RejectReason.STALE_CORTE, tooOld.get() + " (found when about to publish: written meanwhile)");
        }
        java.util.Optional<String> overAnother = CorteGate.republishOverAnother(pkg, exchange, current);
        if (overAnother.isPresent()) {
            throw new PackageRejectedException(RejectReason.STALE_CORTE, overAnother.get() + " (found when about to publish)");
        }
        String corte = pkg.corte().toString();
        String index = pkg.site().files().stream().filter(f -> f.path().equals("index.html")).map(SiteFile::sha256).findFirst().orElse(null);
        Map<String, String> probed = probedFiles.isEmpty() ? null : pkg.site().files().stream().filter(f -> probedFiles.contains(f.path()))
                .collect(java.util.stream.Collectors.toMap(SiteFile::path, SiteFile::sha256, (a, b) -> a, java.util.TreeMap::new));
        // and only over the state as read: another writer since (a new leader, while this one was held up) is not
        // written over
        String written = state.saveOver(read.etag(), current == null ? PublishedState.nothingYet(pkg.name(), corte, index, probed, headers)
                : current.publishing(pkg.name(), corte, index, probed, headers), pkg);
        exchange.setProperty(MARKED, true);
        exchange.setProperty(STATE_VERSION, written);
    }

    /** The version of the state this publication's marker wrote: its record writes over that one only. */
    public static final String STATE_VERSION = "difusorStateVersion";

    /** The site manifest first, then the package's outcome record, then the state that vouches for both. */
    public void record(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg, @ExchangeProperty(STATE_VERSION) String stateVersion)
            throws IOException, mx.prep.difusor.cluster.NoLongerLeaderException {
        long started = System.nanoTime();
        state.forgetCachedManifest();
        // in package order, looked up by hash: the next package's unzip and plan ask it about every one of their paths
        Map<String, SiteManifest.Entry> files = new LinkedHashMap<>(pkg.site().files().size() * 4 / 3 + 1);
        for (SiteFile f : pkg.site().files()) {
            files.put(f.path(), new SiteManifest.Entry(f.sha256(), f.md5(), f.size(), f.contentType(), f.cacheControl(), f.zip(),
                    pkg.etagOf(f.path())));
        }
        // what S3 refused to delete stays known until a later corte deletes it (or the package holds it again)
        List<String> undeleted = pkg.undeleted().stream().filter(p -> !files.containsKey(p)).toList();
        state.saveManifest(new SiteManifest(pkg.name(), files, new java.util.TreeSet<>(undeleted)));
        pkg.stageTook("record", (System.nanoTime() - started) / 1_000_000);
        Instant now = clock.instant();
        // a lead check before each write, not once before the three: a new leader waits for one S3 call of the former
        // one (a manifest of tens of MB may take that long), and a late state would land over its "publishing" marker
        leaderCheck.require(pkg);
        // the outcome record before the state: a process killed in between leaves the state "publishing", which the next
        // leader finishes (resume.yaml); the other way round the state said "published" and the record was never written
        history.recordOutcome(pkg, "published", now);
        leaderCheck.require(pkg);
        PublishedState published = new PublishedState(pkg.name(), pkg.corte().toString(), pkg.sha256(), pkg.size(), files.size(),
                pkg.receivedAt().toString(), now.toString(), pkg.stageMillis(), pkg.plan().uploads().size(), pkg.deleted(),
                null, null, undeleted.isEmpty() ? null : undeleted.size(), null, null, null);
        if (stateVersion == null) {
            state.save(published);   // a store without conditional writes gave the marker no version to write over
        } else {
            state.saveOver(stateVersion, published, pkg);
        }
        metrics.published(pkg.corte(), now, pkg.stageMillis(), pkg.plan().uploads().size(),
                pkg.plan().uploads().stream().mapToLong(SiteFile::size).sum());
        ledger.settled(pkg.name(), pkg.sha256());
        journal.add(new PackageJournal.Entry(pkg.name(), pkg.corte().toString(), "published", null, null,
                pkg.plan().uploads().size() + " uploaded, " + pkg.deleted() + " deleted", now.toString(), pkg.stageMillis()));
        LOG.info("{}: published; {} files ({} uploaded, {} deleted{}); stages {} ms; state at {}", pkg, files.size(),
                pkg.plan().uploads().size(), pkg.deleted(), undeleted.isEmpty() ? "" : ", " + undeleted.size() + " S3 refused to delete",
                pkg.stageMillis(), state.location());
    }
}
