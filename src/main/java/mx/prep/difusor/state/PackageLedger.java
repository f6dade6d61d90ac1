package mx.prep.difusor.state;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.archive.HistoryArchiver;
import mx.prep.difusor.source.PackageOffer;

/**
 * Knows which offers are settled (published, stale or rejected), so the poll does not download the same package
 * again every time it looks. Settled packages are remembered in memory, and found again after a restart in the
 * published state and the history's outcome records.
 */
public final class PackageLedger {

    private static final Logger LOG = LoggerFactory.getLogger(PackageLedger.class);
    private static final int REMEMBERED = 1000;

    private final StateStore state;
    private final HistoryArchiver history;
    private final Clock clock;
    private final Duration firstRetry;
    private final Duration maxRetry;
    private final Map<String, Failed> failed = new ConcurrentHashMap<>();

    private record Failed(int times, Instant retryAt) {
    }
    // the set's calls lock this map, so whoever walks the set holds this map's lock, not the set's
    private final Map<String, Boolean> settledKeys = Collections.synchronizedMap(new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > REMEMBERED;
        }
    });
    private final Set<String> settled = Collections.newSetFromMap(settledKeys);

    public PackageLedger(StateStore state, HistoryArchiver history, Clock clock, Duration firstRetry, Duration maxRetry) {
        this.state = state;
        this.history = history;
        this.clock = clock;
        this.firstRetry = firstRetry;
        this.maxRetry = maxRetry;
    }

    /** The filter in front of the download: true when the offer still needs to be fetched. */
    public boolean isNew(PackageOffer offer) throws IOException {
        if (offer == null) {
            return false;
        }
        String sha = normalised(offer.announcedSha256());
        if (offer.packageName() == null) {
            // only the download will tell its name: known by its checksum alone, or it would be fetched (and, if bad,
            // quarantined) again at every poll
            return sha.isEmpty() || isNewChecksum(sha);
        }
        String key = key(offer.packageName(), sha);
        if (settled.contains(key)) {
            return false;
        }
        Failed lastFailure = failed.get(key);
        if (lastFailure != null && clock.instant().isBefore(lastFailure.retryAt())) {
            return false;
        }
        Optional<PublishedState> published = state.lastKnown().isPresent() ? state.lastKnown() : state.load();
        if (published.isPresent() && published.get().isSamePackage(offer.packageName(), sha)) {
            settled(offer.packageName(), sha);
            LOG.debug("{}: already published", offer);
            return false;
        }
        Optional<HistoryArchiver.HistoryRecord> record = history.outcome(offer.packageName());
        if (record.isPresent() && record.get().sha256() != null && record.get().sha256().equals(sha)) {
            settled(offer.packageName(), sha);
            LOG.info("{}: already handled ({} at {}); not fetched again", offer, record.get().outcome(), record.get().outcomeAt());
            return false;
        }
        return true;
    }

    private boolean isNewChecksum(String sha) throws IOException {
        String suffix = "@" + sha;
        synchronized (settledKeys) {
            if (settled.stream().anyMatch(k -> k.endsWith(suffix))) {
                return false;
            }
        }
        Instant now = clock.instant();
        if (failed.entrySet().stream().anyMatch(e -> e.getKey().endsWith(suffix) && now.isBefore(e.getValue().retryAt()))) {
            return false;
        }
        Optional<PublishedState> published = state.lastKnown().isPresent() ? state.lastKnown() : state.load();
        return published.map(p -> p.sha256() == null || !p.sha256().equalsIgnoreCase(sha)).orElse(true);
    }

    /**
     * A package refused for good. Kept in the history (refused after the copy), it gets an outcome record there too,
     * so a restarted process does not fetch and report it again while the source still offers it.
     */
    public void rejected(PrepPackage pkg, Instant at) {
        settled(pkg.name(), pkg.expectedSha256());
        refused.add(pkg.name());
        if (pkg.isArchived() && pkg.sha256() != null) {
            try {
                history.recordOutcome(pkg, "rejected", at);
            } catch (IOException | RuntimeException e) {
                LOG.warn("{}: cannot record its refusal in the history ({}); a restarted process may report it again", pkg, e.toString());
            }
        }
    }

    /** Names refused for good by this process, whatever their checksum. */
    private final Set<String> refused = Collections.newSetFromMap(Collections.synchronizedMap(new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > REMEMBERED;
        }
    }));

    /** @return true when this process refused a package of this name for good (a restarted one has forgotten) */
    public boolean refused(String packageName) {
        return refused.contains(packageName);
    }

    /** What each offer's last mismatching download received: its SHA-256, or its size when it was refused before hashing. */
    private final Map<String, String> mismatches = Collections.synchronizedMap(new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > REMEMBERED;
        }
    });

    /**
     * A download whose bytes are not the ones announced. The source may be changing under it (a checksum file or a
     * manifest updated before its zip, a cache or an upload still serving another zip at a fixed URL: the night's first
     * corte over a rehearsal's zip, the corte after a refused one): offered again after a pause that grows, like a
     * failure, for as long as the source announces it. Never refused for good: the same bytes twice said only that the
     * zip had not changed yet, and the corte then stayed off line until the next one (the last one for good).
     *
     * @return true when these very bytes were refused before (already in quarantine: not reported again)
     */
    public boolean mismatched(PrepPackage pkg, Instant at) {
        String key = key(pkg.name(), normalised(pkg.expectedSha256()));
        String received = pkg.receivedSha256() != null ? pkg.receivedSha256() : "size " + pkg.size();
        boolean again = received.equals(mismatches.put(key, received));
        failed(pkg.name(), pkg.expectedSha256());
        return again;
    }

    public void settled(String packageName, String sha256) {
        String key = key(packageName, normalised(sha256));
        settled.add(key);
        failed.remove(key);
    }

    /**
     * A package whose pipeline failed after every retry (S3 or the source down for long): offered again later, with
     * a growing pause, rather than downloaded again on every poll.
     *
     * @return when it may be offered again
     */
    public Instant failed(String packageName, String sha256) {
        return failed.compute(key(packageName, normalised(sha256)), (k, before) -> {
            int times = before == null ? 1 : before.times() + 1;
            long pauseMillis = Math.min(maxRetry.toMillis(), firstRetry.toMillis() << Math.min(times - 1, 20));
            return new Failed(times, clock.instant().plusMillis(pauseMillis));
        }).retryAt();
    }

    private static String key(String name, String sha) {
        return name + "@" + sha;
    }

    private static String normalised(String sha) {
        return sha == null ? "" : sha.strip().toLowerCase();
    }
}
