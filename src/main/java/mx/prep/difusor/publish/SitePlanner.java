package mx.prep.difusor.publish;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

import mx.prep.difusor.PackageRejectedException;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.RejectReason;
import mx.prep.difusor.state.PublishedState;
import mx.prep.difusor.state.StateStore;
import mx.prep.difusor.unpack.SiteFile;

/**
 * Decides what publishing a package changes, by content: an entry is uploaded only if it is new or its SHA-256 (or
 * its headers) differ from the published manifest. When the manifest is missing, or a publication did not finish
 * (a crash, a failure), the bucket listing is the truth instead: S3 gives each single-part object its MD5 as ETag.
 */
public final class SitePlanner {

    private static final Logger LOG = LoggerFactory.getLogger(SitePlanner.class);

    private final StateStore state;
    private final S3Client s3;
    private final String siteBucket;
    private final String sitePrefix;
    private final int maxDeletions;
    private final int maxInvalidationPaths;
    private final int listEvery;
    private int plansSinceListing = -1;

    public SitePlanner(StateStore state, S3Client s3, String siteBucket, String sitePrefix, int maxDeletions, int maxInvalidationPaths,
            int listEvery) {
        this.listEvery = listEvery;
        this.state = state;
        this.s3 = s3;
        this.siteBucket = siteBucket;
        this.sitePrefix = sitePrefix;
        this.maxDeletions = maxDeletions;
        this.maxInvalidationPaths = maxInvalidationPaths;
    }

    public void plan(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws IOException, PackageRejectedException {
        long started = System.nanoTime();
        Optional<PublishedState> published = state.load();
        Optional<SiteManifest> recorded = state.loadManifest();
        boolean trusted = recorded.isPresent() && published.isPresent() && published.get().publishing() == null
                && recorded.get().packageName() != null && recorded.get().packageName().equals(published.get().packageName());
        if (trusted && dueForListing()) {
            trusted = agreesWithBucket(pkg, recorded.get());
        }
        Map<String, SiteManifest.Entry> base = trusted ? recorded.get().files() : listBucket();
        if (!trusted) {
            plansSinceListing = 0;
        }

        List<SiteFile> uploads = new ArrayList<>();
        Set<String> inPackage = new HashSet<>(pkg.site().files().size() * 4 / 3 + 1);
        for (SiteFile f : pkg.site().files()) {
            inPackage.add(f.path());
            if (!isPublished(f, base.get(f.path()), trusted)) {
                uploads.add(f);
            }
        }
        List<String> deletions = base.keySet().stream().filter(p -> !inPackage.contains(p)).sorted().toList();
        if (deletions.size() > maxDeletions) {
            throw new PackageRejectedException(RejectReason.TOO_MANY_DELETIONS, pkg + ": would delete " + deletions.size()
                    + " published files (more than difusor.publish.max-deletions = " + maxDeletions + "); a person must look at it");
        }
        // invalidation paths against the manifest last recorded, so a retry after a crash asks for the same invalidation
        List<String> changed = new ArrayList<>();
        if (trusted) {
            // the base is that manifest: what changed is what is uploaded or deleted
            uploads.forEach(f -> changed.add(f.path()));
            changed.addAll(deletions);
        } else {
            Map<String, SiteManifest.Entry> invalidationBase = recorded.map(SiteManifest::files).orElse(base);
            for (SiteFile f : pkg.site().files()) {
                if (!isPublished(f, invalidationBase.get(f.path()), recorded.isPresent())) {
                    changed.add(f.path());
                }
            }
            invalidationBase.keySet().stream().filter(p -> !inPackage.contains(p)).forEach(changed::add);
        }
        SitePlan plan = new SitePlan(uploads, deletions, InvalidationPaths.of(changed, maxInvalidationPaths),
                pkg.site().files().size() - uploads.size(), !trusted,
                published.filter(PublishedState::hasPublished).map(PublishedState::sha256).orElse(null));
        pkg.plan(plan);
        pkg.stageTook("plan", (System.nanoTime() - started) / 1_000_000);
        LOG.info("{}: {}", pkg, plan.summary());
    }

    private static boolean isPublished(SiteFile f, SiteManifest.Entry published, boolean byManifest) {
        if (published == null) {
            return false;
        }
        if (byManifest) {
            return published.sameAs(f.sha256(), f.contentType(), f.cacheControl());
        }
        // from a listing: bytes only (ETag = MD5 of a single-part object); headers cannot be seen without a HEAD each
        return published.size() == f.size() && f.md5().equals(published.md5());
    }

    /** The first plan after a start, then every difusor.publish.list-bucket-every plans: someone may edit the bucket. */
    private synchronized boolean dueForListing() {
        plansSinceListing++;
        boolean due = plansSinceListing == 0 || listEvery > 0 && plansSinceListing >= listEvery;
        if (due) {
            // counted again from this listing: otherwise, once due, every later plan would list the whole bucket
            plansSinceListing = 0;
        }
        return due;
    }

    private boolean agreesWithBucket(PrepPackage pkg, SiteManifest manifest) {
        Map<String, SiteManifest.Entry> listed = listBucket();
        long disagreeing = manifest.files().entrySet().stream().filter(e -> {
            SiteManifest.Entry l = listed.get(e.getKey());
            return l == null || l.size() != e.getValue().size() || !l.md5().equals(e.getValue().md5());
        }).count() + listed.keySet().stream().filter(k -> !manifest.files().containsKey(k)).count();
        if (disagreeing > 0) {
            LOG.warn("{}: the site bucket disagrees with the published manifest on {} objects (edited by hand?); comparing with the bucket",
                    pkg, disagreeing);
        }
        return disagreeing == 0;
    }

    private Map<String, SiteManifest.Entry> listBucket() {
        Map<String, SiteManifest.Entry> listed = new HashMap<>();
        for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(siteBucket).prefix(sitePrefix)).contents()) {
            String etag = o.eTag() == null ? "" : o.eTag().replace("\"", "");
            listed.put(o.key().substring(sitePrefix.length()), new SiteManifest.Entry(null, etag, o.size(), null, null, null));
        }
        return listed;
    }
}
