package mx.prep.difusor.state;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.SerializationFeature;

import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.Json;
import mx.prep.difusor.ObjectStore;
import mx.prep.difusor.publish.SiteManifest;
import mx.prep.difusor.unpack.KnownContent;

/** Reads and writes the published state object (JSON) in S3. */
public final class StateStore {

    private static final Logger LOG = LoggerFactory.getLogger(StateStore.class);

    private final ObjectStore store;
    private final String bucket;
    private final String key;
    private final String manifestKey;
    private volatile PublishedState lastKnown;
    /** This process's saves so far: a load that saw one happen meanwhile does not replace lastKnown. */
    private final java.util.concurrent.atomic.AtomicLong saves = new java.util.concurrent.atomic.AtomicLong();
    private volatile SiteManifest lastManifest;
    private volatile String lastManifestEtag;
    private volatile Seen seen;
    private final DifusorMetrics metrics;

    /** Where the site manifest is written before its upload; null: the JVM's temporary directory. */
    private final java.nio.file.Path scratch;

    public StateStore(ObjectStore store, String bucket, String key, String manifestKey, DifusorMetrics metrics) {
        this(store, bucket, key, manifestKey, metrics, null);
    }

    /**
     * @param scratch this process's own directory for the manifest on its way to S3 (under the work volume). A process
     *                killed while it uploads leaves a file of tens of MB there; the next one on the volume removes it.
     *                In the pod's small /tmp, shared by the JVM, a few such restarts got the pod evicted.
     */
    public StateStore(ObjectStore store, String bucket, String key, String manifestKey, DifusorMetrics metrics, java.nio.file.Path scratch) {
        this.metrics = metrics;
        this.store = store;
        this.bucket = bucket;
        this.key = key;
        this.manifestKey = manifestKey;
        this.scratch = scratch;
        if (scratch != null && java.nio.file.Files.isDirectory(scratch)) {
            try (var left = java.nio.file.Files.newDirectoryStream(scratch, "site-manifest-*.json")) {
                for (java.nio.file.Path file : left) {
                    LOG.info("a site manifest left by an earlier process removed: {}", file);
                    java.nio.file.Files.delete(file);
                }
            } catch (IOException e) {
                LOG.warn("cannot remove the site manifests left in {} ({})", scratch, e.toString());
            }
        }
    }

    /**
     * The site manifest: the copy this process wrote last if S3 still holds exactly that object (same ETag: tens of
     * thousands of entries are not read and parsed again every corte), else the one in S3.
     */
    public Optional<SiteManifest> loadManifest() throws IOException {
        SiteManifest cached = lastManifest;
        String cachedEtag = lastManifestEtag;
        if (cached != null && cachedEtag != null
                && store.head(bucket, manifestKey).map(h -> cachedEtag.equals(h.eTag())).orElse(false)) {
            return Optional.of(cached);
        }
        // parsed from the response stream: a manifest of a large site is tens of MB as text
        try {
            Optional<SiteManifest> read = store.readJson(bucket, manifestKey, SiteManifest.class);
            unreadableSaid = "";
            return read;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UnreadableManifestException("the site manifest s3://" + bucket + "/" + manifestKey + " cannot be read ("
                    + e.getOriginalMessage() + ")", e);
        }
    }

    /**
     * The site manifest for the plan of a package: one that no longer reads as a manifest (edited by hand, as the runbook sends
     * operators into it, or written by another version) is taken as missing, so the plan compares with the bucket,
     * uploads every file again (their headers unknown) and its record writes a good one. Failed as transient, it
     * quarantined every corte until the night's end. Everyone else (the probe, the check between cortes) still sees
     * it as unreadable: the corte on line cannot be told from it.
     */
    public Optional<SiteManifest> loadManifestOrNoneIfUnreadable(Object forPackage) throws IOException {
        try {
            return loadManifest();
        } catch (UnreadableManifestException e) {
            if (!e.getMessage().equals(unreadableSaid)) {
                LOG.error("{}: plan: {}: taken as missing, this publication compares with the bucket and uploads every file again, then"
                        + " writes a new one (the files S3 refused to delete that it listed count as hand edits again)", forPackage,
                        e.getMessage());
                unreadableSaid = e.getMessage();
            }
            return Optional.empty();
        }
    }

    /** A site manifest S3 holds that does not read as one. */
    public static final class UnreadableManifestException extends IOException {
        UnreadableManifestException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** What the last unreadable site manifest was told to be, said once per plan that meets it again the same. */
    private volatile String unreadableSaid = "";

    /**
     * index.html's SHA-256 in the site manifest, read again only when the manifest's ETag changed. The probe asks
     * every 30 s on every replica, and only the process that wrote the manifest has it cached: a standby downloaded
     * and parsed all of it (tens of MB for a large site) at each probe.
     */
    public Optional<String> publishedIndexSha256() throws IOException {
        return publishedSha256s(List.of("index.html")).map(m -> m.get("index.html"));
    }

    /**
     * The SHA-256 of each of these site paths in the site manifest (a path it lacks maps to nothing), read again only
     * when the manifest's ETag changed (see {@link #publishedIndexSha256()}); empty when there is no manifest.
     */
    public Optional<Map<String, String>> publishedSha256s(List<String> paths) throws IOException {
        Optional<String> etag = store.head(bucket, manifestKey).map(h -> h.eTag());
        if (etag.isEmpty()) {
            return Optional.empty();
        }
        Seen seen = this.seen;
        if (seen != null && seen.etag().equals(etag.get()) && seen.sha256s().keySet().containsAll(paths)) {
            return Optional.of(seen.sha256s());
        }
        Optional<Map<String, SiteManifest.Entry>> files = loadManifest().map(SiteManifest::files);
        if (files.isEmpty()) {
            return Optional.empty();
        }
        Map<String, String> sha256s = new HashMap<>();
        // the paths asked before stay known with this manifest: two callers asking for different paths do not read it in turns
        java.util.Set<String> asked = new java.util.LinkedHashSet<>(paths);
        if (seen != null && seen.etag().equals(etag.get())) {
            asked.addAll(seen.sha256s().keySet());
        }
        for (String path : asked) {
            SiteManifest.Entry entry = files.get().get(path);
            sha256s.put(path, entry == null ? null : entry.sha256());
        }
        // a manifest replaced between the two requests only costs one more read at the next probe
        this.seen = new Seen(etag.get(), sha256s);
        return Optional.of(sha256s);
    }

    private record Seen(String etag, Map<String, String> sha256s) {
    }

    /**
     * What the recorded manifest knows about zip entries, for the unzip step. Nothing if it cannot be read: every
     * entry is then inflated and hashed, which is slower and just as safe.
     */
    public KnownContent knownContent(Object forPackage) {
        try {
            return loadManifest().map(SiteManifest::knownContent).orElse(KnownContent.NONE);
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: unzip: cannot read the site manifest ({}); every entry of the package will be inflated and hashed",
                    forPackage, e.toString());
            return KnownContent.NONE;
        }
    }

    /** Lets the previous manifest go before the next one is built: a large site's two manifests need not share the heap. */
    public void forgetCachedManifest() {
        lastManifest = null;
        lastManifestEtag = null;
    }

    /** Compact JSON, written through a temporary file: tens of thousands of entries never become one big String. */
    public void saveManifest(SiteManifest manifest) throws IOException {
        lastManifest = null;
        java.nio.file.Path file = scratch == null ? java.nio.file.Files.createTempFile("site-manifest-", ".json")
                : java.nio.file.Files.createTempFile(java.nio.file.Files.createDirectories(scratch), "site-manifest-", ".json");
        try {
            Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), manifest);
            lastManifestEtag = store.putFile(bucket, manifestKey, file, "application/json", java.util.Map.of());
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
        lastManifest = manifest;
    }

    /** Reads the state from S3 (the source of truth: another pod may have published since). */
    public Optional<PublishedState> load() throws IOException {
        return loadForUpdate().state();
    }

    /** The state as read, and the version of it a write over it replaces (null: there was none). */
    public record Versioned(Optional<PublishedState> state, String etag) {
    }

    /** As {@link #load()}, with the version read: {@link #saveOver} writes only over that one. */
    public Versioned loadForUpdate() throws IOException {
        long savesBefore = saves.get();
        Optional<ObjectStore.Read<PublishedState>> read;
        try {
            read = store.readJsonWithEtag(bucket, key, PublishedState.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            // Jackson's own message names neither the object nor what to do: the report and the readiness check said
            // only "Unexpected end-of-input", and the retries made it look like S3 trouble
            throw new IOException("the published state " + location() + " cannot be read as JSON (" + e.getOriginalMessage()
                    + "): edited by hand? put its last good version back (docs/runbook.md, \"S3 fails\")", e);
        }
        Optional<PublishedState> state = read.map(ObjectStore.Read::value);
        synchronized (this) {
            // a read answered before this process's own save but returned after it is older than lastKnown: the probe, a
            // health check or the status page put the corte just recorded (and its gauges) back by one
            if (state.isPresent() && saves.get() == savesBefore) {
                known(state.get());
            } else if (state.isEmpty() && saves.get() == savesBefore) {
                // deleted (the runbook's way out of a damaged state, or a rehearsal's bucket emptied): what was known is
                // gone, and the corte gate, which asks lastKnown, refused every corte older than it as stale, for good
                lastKnown = null;
            }
        }
        return new Versioned(state, read.map(ObjectStore.Read::etag).orElse(null));
    }

    private void known(PublishedState state) {
        lastKnown = state;
        metrics.undeletedFiles(state.undeletedFiles());
        if (state.hasPublished()) {
            metrics.alreadyPublished(state.corteValue(), java.time.Instant.parse(state.publishedAt()));
        }
    }

    /** The state as last read or written by this process, without a request; may be behind S3. */
    public Optional<PublishedState> lastKnown() {
        return Optional.ofNullable(lastKnown);
    }

    public void save(PublishedState state) throws IOException {
        store.putJson(bucket, key, state);
        saved(state);
    }

    private void saved(PublishedState state) {
        synchronized (this) {
            saves.incrementAndGet();
            lastKnown = state;
            metrics.undeletedFiles(state.undeletedFiles());
        }
    }

    /**
     * Writes the state only over the version {@code etagSeen} this process read or wrote last (null: only if there is
     * none yet), so a former leader held up past its lead check (a pause, a slow S3) cannot write its corte over what
     * the new leader recorded meanwhile: S3 refuses it (412). A refusal is taken for this process's own write only when
     * the state now says what this one was writing (the package, its phase): the answer to an earlier attempt that
     * landed was lost, and the SDK's retry, or the stage's, met its own write.
     *
     * @return the version written, for the next write of this publication
     * @throws NoLongerLeaderException another process wrote the state since this one read it
     */
    public String saveOver(String etagSeen, PublishedState state, Object forPackage) throws IOException,
            mx.prep.difusor.cluster.NoLongerLeaderException {
        if (!conditionalWrites) {
            save(state);
            return null;
        }
        String etag;
        try {
            etag = store.putJsonOver(bucket, key, state, etagSeen);
        } catch (software.amazon.awssdk.services.s3.model.S3Exception e) {
            if (e.statusCode() == 501 || "NotImplemented".equals(e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode())) {
                // an S3-compatible store without conditional writes: written as before they were used, said once
                if (!unconditionalSaid) {
                    LOG.warn("{}: {} refuses conditional writes ({}): the state is written without them, and a former leader held up past"
                            + " its lead check could write over the new leader's state", forPackage, location(), e.toString());
                    unconditionalSaid = true;
                }
                save(state);
                return null;
            }
            // 409: S3's ConditionalRequestConflict, another conditional write of the state under way at the same moment
            if (e.statusCode() != 412 && e.statusCode() != 409 && !(e.statusCode() == 404 && etagSeen != null)) {
                throw e;
            }
            Versioned now = loadForUpdate();
            PublishedState there = now.state().orElse(null);
            if (e.statusCode() == 409 && sameVersion(now.etag(), etagSeen)) {
                throw e;   // the other write has not landed: retried (transient), the retry meets whatever it wrote
            }
            if (there != null && java.util.Objects.equals(there.packageName(), state.packageName())
                    && java.util.Objects.equals(there.publishing(), state.publishing())
                    && java.util.Objects.equals(there.sha256(), state.sha256())) {
                LOG.info("{}: {} already says what this write says (an earlier attempt landed, its answer lost): taken as written", forPackage,
                        location());
                saved(state);
                return now.etag();
            }
            if (there == null && etagSeen != null) {
                // no process deletes the state: deleted by hand while this publication ran. Written again, once, still
                // only if nobody else wrote it meanwhile (taken as a lost lead, this corte was never recorded, nor
                // fetched again)
                LOG.warn("{}: {} was deleted while this publication ran (by hand?): written again", forPackage, location());
                return saveOver(null, state, forPackage);
            }
            if (there == null) {
                throw e;   // refused as there, gone when read: another writer at work; retried (transient) or reported
            }
            throw new mx.prep.difusor.cluster.NoLongerLeaderException(forPackage + ": " + location() + " was written by another process since"
                    + " this one read it (now package " + there.packageName() + (there.publishing() == null ? "" : ", publishing "
                    + there.publishing()) + "): another leader publishes; this process does not write over it");
        }
        saved(state);
        return etag;
    }

    /** ETags compared as S3-compatible stores may give them: quoted or not, weak or not. */
    private static boolean sameVersion(String a, String b) {
        return a != null && b != null && bare(a).equals(bare(b)) || a == null && b == null;
    }

    private static String bare(String etag) {
        String e = etag.startsWith("W/") ? etag.substring(2) : etag;
        return e.replace("\"", "");
    }

    /** False for an S3-compatible store that refuses conditional writes other than with NotImplemented. */
    public StateStore conditionalWrites(boolean on) {
        conditionalWrites = on;
        return this;
    }

    private volatile boolean conditionalWrites = true;
    private volatile boolean unconditionalSaid;
    /** Whether the store refuses a write over a version it does not hold; null until a check had an answer. */
    private volatile Boolean fenceHolds;
    private volatile boolean fenceCheckAnswered;

    /** Where the check writes if the store ignores the condition: beside the state, never over it. */
    String fenceCheckKey() {
        return key + ".fence-check";
    }

    /**
     * Once a process, from its first marker step: one PUT under a key of its own, only over a version nobody
     * holds. A store that enforces the condition refuses it (412, or 404 with no object there) and writes nothing; one
     * that ignores the headers (S3Proxy 2.7, some S3-compatible stores) writes it, and the state's fence then stops no
     * former leader: said at WARN, since nothing else would tell. A check S3 does not answer is made again next time.
     * Started by a publication's marker step, in the background: its answer is only said, and a slow S3 must not hold up
     * the first corte after a failover.
     */
    public void checkTheFenceOnce(Object forPackage) {
        if (!conditionalWrites || fenceHolds != null || fenceCheckAnswered || !fenceCheckRunning.compareAndSet(false, true)) {
            return;
        }
        Thread check = new Thread(() -> {
            try {
                checkTheFence(forPackage);
            } finally {
                fenceCheckRunning.set(false);
            }
        }, "state-fence-check");
        check.setDaemon(true);
        check.start();
    }

    private final java.util.concurrent.atomic.AtomicBoolean fenceCheckRunning = new java.util.concurrent.atomic.AtomicBoolean();

    private void checkTheFence(Object forPackage) {
        try {
            store.putJsonOver(bucket, fenceCheckKey(), Map.of("checked", "a write only over a version nobody holds"),
                    "\"00000000000000000000000000000000\"");
            fenceHolds = false;
            LOG.warn("{}: s3://{}/{} took a write only over a version nobody holds (it ignores If-Match): the state's fence stops no"
                    + " former leader held up past its lead check, which could write over the new leader's state", forPackage, bucket,
                    fenceCheckKey());
        } catch (software.amazon.awssdk.services.s3.model.S3Exception e) {
            if (e.statusCode() == 412 || e.statusCode() == 404) {
                fenceHolds = true;
            } else if (e.statusCode() >= 500 && e.statusCode() != 501 || e.statusCode() == 409) {
                LOG.debug("{}: the check of conditional writes had no answer ({}); made again at the next write", forPackage, e.toString());
            } else {
                // refused for another reason (NotImplemented: the state's own write says so; a policy on that key): not asked again
                fenceCheckAnswered = true;
                LOG.info("{}: the check of conditional writes was refused ({}); the state's writes tell the rest", forPackage, e.toString());
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("{}: the check of conditional writes had no answer ({}); made again at the next write", forPackage, e.toString());
        }
    }

    public String location() {
        return "s3://" + bucket + "/" + key;
    }
}
