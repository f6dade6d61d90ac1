package mx.prep.difusor.publish;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.EncodingType;
import software.amazon.awssdk.services.s3.model.S3Object;

import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.state.StateStore;
import mx.prep.difusor.unpack.SitePaths;

/**
 * Compares the site bucket with the published manifest every difusor.publish.list-bucket-every publications, in case
 * someone edited the bucket by hand. Listing a whole site takes seconds (45 LIST requests for a FULL site on S3, 3-5 s
 * against S3Proxy), so the check runs once a corte is public, between cortes, instead of in the next corte's plan; that
 * plan only reads the verdict, and compares with the bucket itself when the check found a difference or could not run.
 */
public final class SiteAudit {

    private static final Logger LOG = LoggerFactory.getLogger(SiteAudit.class);

    /** A check that hangs must not hold the next corte for longer than this; the plan then lists the bucket itself. */
    private static final Duration CHECK_WAIT = Duration.ofMinutes(5);

    private final StateStore state;
    private final DifusorMetrics metrics;
    private final S3Client s3;
    private final String siteBucket;
    private final String sitePrefix;
    private final SiteKeep keep;
    private final int every;
    private final ExecutorService checks;
    private int publicationsSinceCheck;
    private Future<Verdict> pending;

    /** What a check between cortes found: whether the bucket held exactly the manifest of that package. */
    record Verdict(String manifestPackage, boolean agrees) {
    }

    /** @param checks runs the checks between cortes, one at a time */
    public SiteAudit(StateStore state, DifusorMetrics metrics, S3Client s3, String siteBucket, String sitePrefix, SiteKeep keep,
            int every, ExecutorService checks) {
        this.state = state;
        this.metrics = metrics;
        this.s3 = s3;
        this.siteBucket = siteBucket;
        this.sitePrefix = sitePrefix;
        this.keep = keep;
        this.every = every;
        this.checks = Objects.requireNonNull(checks, "checks");
    }

    /**
     * The plans compare the bucket itself with the manifest: after a start, and from a check that found a difference (or
     * could not tell) until the bucket agreed with the manifest or a publication planned on a listing of it is recorded.
     * Not cleared by the plan: a package refused after it, before its publication began (its marker in the state), left
     * the bucket as the check found it, and the next plan trusted the manifest, for hours of cortes.
     */
    private volatile boolean mustCompare = true;

    /**
     * A plan found the bucket disagreeing with the manifest since it was last repaired: the next plan lists it as its base
     * at once, without comparing first (two listings of a FULL site per package, in a dry run, which records nothing).
     */
    private volatile boolean disagrees;

    /** True if the plan must compare the bucket with the manifest (waiting for a check still running: {@link #foundDifference}). */
    boolean mustCompare(PrepPackage pkg, SiteManifest manifest) throws InterruptedException {
        if (foundDifference(pkg, manifest)) {
            mustCompare = true;
            disagrees = false;   // found again since: compared again
        }
        return mustCompare;
    }

    /** True if a plan since the last repair found the bucket other than the manifest says. */
    boolean knownToDisagree() {
        return disagrees;
    }

    /** What the plan's comparison found: the bucket as the manifest says, or not. */
    void compared(boolean agrees) {
        if (agrees) {
            mustCompare = false;
        }
        disagrees = !agrees;
    }

    /** After a publication is recorded: every {@code every} of them, starts a check of the bucket against its manifest. */
    public synchronized void afterPublication(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) {
        if (pkg.plan() != null && pkg.plan().rebuilt()) {
            mustCompare = false;   // the bucket is what that listing showed, repaired: its manifest is recorded now
            disagrees = false;
        }
        if (every <= 0 || ++publicationsSinceCheck < every) {
            return;
        }
        publicationsSinceCheck = 0;
        String label = pkg.toString();
        try {
            // a failed check (S3 unreachable, a manifest that cannot be read) is kept as such: the next plan lists the bucket
            pending = checks.submit(() -> check(label));
        } catch (RejectedExecutionException stopping) {
            pending = CompletableFuture.failedFuture(stopping);
        }
    }

    /**
     * True if the plan must compare the bucket itself with this manifest: the last check found a difference, could not
     * run, or looked at another manifest. Waits for a check still running: it never overlaps a publication.
     */
    boolean foundDifference(PrepPackage pkg, SiteManifest manifest) throws InterruptedException {
        Future<Verdict> check;
        synchronized (this) {
            check = pending;
            pending = null;
        }
        if (check == null) {
            return false;
        }
        try {
            Verdict verdict = check.get(CHECK_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            return manifest == null || manifest.packageName() == null || !verdict.agrees()
                    || !manifest.packageName().equals(verdict.manifestPackage());
        } catch (ExecutionException | CancellationException e) {
            LOG.warn("{}: the last check of the site bucket failed ({}); comparing with the bucket now", pkg,
                    (e.getCause() == null ? e : e.getCause()).toString());
            return true;
        } catch (TimeoutException e) {
            check.cancel(true);
            LOG.warn("{}: the last check of the site bucket took more than {}; comparing with the bucket now", pkg, CHECK_WAIT);
            return true;
        }
    }

    private Verdict check(String after) throws IOException {
        try {
            Optional<SiteManifest> manifest = state.loadManifest();
            if (manifest.isEmpty()) {
                metrics.siteChecked("failed");
                return new Verdict(null, false);
            }
            boolean agrees = agrees(after, manifest.get());
            metrics.siteChecked(agrees ? "agrees" : "differs");
            if (agrees) {
                LOG.info("{}: the site bucket holds exactly the published manifest", after);
            }
            return new Verdict(manifest.get().packageName(), agrees);
        } catch (IOException | RuntimeException e) {
            metrics.siteChecked("failed");
            throw e;
        }
    }

    /**
     * True if the bucket holds exactly the manifest's files, besides what the operator keeps there and what S3 refused to
     * delete (bytes compared by the ETag: the MD5 of a single-part
     * object, or the ETag the manifest recorded from S3's answer when it is not the MD5). Compared page by page: the
     * listing of a site is never held whole beside its manifest and the package's file list (a restart's first plan
     * of a site four times FULL did not fit in -Xmx256m so).
     */
    boolean agrees(String label, SiteManifest manifest) {
        Map<String, SiteManifest.Entry> files = manifest.files();
        java.util.Set<String> undeleted = manifest.undeleted();
        long[] present = new long[1];
        long[] differing = new long[1];
        forEachListed((path, etag, size) -> {
            SiteManifest.Entry e = files.get(path);
            if (e == null) {
                // an object the operator keeps there (difusor.site.keep) is no difference, nor one S3 refused to delete
                // (the manifest lists it; the next corte tries again), whether still there or gone since
                if (!keep.keeps(path) && !undeleted.contains(path)) {
                    differing[0]++;
                }
                return;
            }
            present[0]++;
            if (!e.listedAs(etag, size)) {
                differing[0]++;
            }
        });
        long disagreeing = differing[0] + files.size() - present[0];
        if (disagreeing > 0) {
            LOG.warn("{}: the site bucket disagrees with the published manifest on {} objects (edited by hand?); the plan compares "
                    + "with the bucket itself", label, disagreeing);
        }
        return disagreeing == 0;
    }

    /** One object of a listing: its site path, its ETag without quotes, its size. */
    @FunctionalInterface
    interface Listed {
        void object(String path, String etag, long size);
    }

    /**
     * The site's objects as listed: path, size and ETag. Keys ending in "/" are folder markers, never site files (a site
     * path names a file): the S3 console creates them, and a file-system S3 (the embedded default's) lists every
     * directory so, which cannot be deleted while it holds files. Keys are asked for URL-encoded: one key with a
     * character XML 1.0 cannot carry (a control character, put there by hand) would otherwise fail every listing;
     * such a key is no site file either (no package can hold it) and is left alone.
     */
    Map<String, SiteManifest.Entry> list() {
        Map<String, SiteManifest.Entry> listed = new HashMap<>();
        forEachListed((path, etag, size) -> listed.put(path, new SiteManifest.Entry(null, null, size, null, null, null, etag)));
        return listed;
    }

    private void forEachListed(Listed each) {
        var objects = s3.listObjectsV2Paginator(b -> b.bucket(siteBucket).prefix(sitePrefix).encodingType(EncodingType.URL)).contents();
        for (S3Object o : objects) {
            if (o.key().endsWith("/")) {
                continue;
            }
            if (SitePaths.hasControlCharacter(o.key())) {
                LOG.warn("site bucket: the key {} holds a control character (shown as ?), which no package can: not a site file, left alone",
                        o.key().replaceAll("\\p{Cntrl}", "?"));
                continue;
            }
            each.object(o.key().substring(sitePrefix.length()), o.eTag() == null ? "" : o.eTag().replace("\"", ""), o.size());
        }
    }
}
