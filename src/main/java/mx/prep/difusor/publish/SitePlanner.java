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
 * The manifest is compared with the bucket at the first plan after a start, and again when {@link SiteAudit}'s check
 * between cortes found a difference.
 */
public final class SitePlanner {

    private static final Logger LOG = LoggerFactory.getLogger(SitePlanner.class);

    private final StateStore state;
    private final int maxDeletions;
    private final int maxDeletionsPercent;
    private final int maxInvalidationPaths;
    /** Where the distribution serves the site: the site's key prefix, unless its origin path already holds it. */
    private final String cdnPathPrefix;
    private final SiteAudit audit;
    private final SiteKeep keep;
    /** The headers this difusor puts on site files (CacheControlRules#fingerprint). */
    private final String headers;

    public SitePlanner(StateStore state, SiteAudit audit, SiteKeep keep, int maxDeletions, int maxDeletionsPercent,
            int maxInvalidationPaths, String cdnPathPrefix, String headers) {
        if (maxDeletionsPercent < 0 || maxDeletionsPercent > 100) {
            throw new IllegalArgumentException("difusor.publish.max-deletions-percent is 0 to 100, not " + maxDeletionsPercent);
        }
        this.state = state;
        this.audit = audit;
        this.keep = keep;
        this.maxDeletions = maxDeletions;
        this.maxDeletionsPercent = maxDeletionsPercent;
        this.maxInvalidationPaths = maxInvalidationPaths;
        this.cdnPathPrefix = cdnPathPrefix;
        this.headers = headers;
    }

    public void plan(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg,
            @ExchangeProperty(mx.prep.difusor.state.CorteGate.REPUBLISH) Boolean republish) throws IOException, PackageRejectedException,
            InterruptedException {
        long started = System.nanoTime();
        Optional<PublishedState> published = state.load();
        Optional<SiteManifest> recorded = state.loadManifestOrNoneIfUnreadable(pkg);
        // an operator's republish is a person putting the site right: based on what the bucket holds, not on the record
        boolean byAnOperator = Boolean.TRUE.equals(republish);
        boolean trusted = !byAnOperator && recorded.isPresent() && published.isPresent() && published.get().publishing() == null
                && recorded.get().packageName() != null && recorded.get().packageName().equals(published.get().packageName());
        // a check between cortes still running ends first: it never overlaps a publication
        if (audit.mustCompare(pkg, recorded.orElse(null)) && trusted) {
            // compared page by page; only a bucket that disagrees is listed whole, as the base (at once, if an earlier
            // plan found it so and no publication has repaired it since)
            trusted = !audit.knownToDisagree() && audit.agrees(pkg.toString(), recorded.get());
            audit.compared(trusted);
        }
        Map<String, SiteManifest.Entry> base = trusted ? recorded.get().files() : audit.list();

        List<SiteFile> uploads = new ArrayList<>();
        Set<String> inPackage = new HashSet<>(pkg.site().files().size() * 4 / 3 + 1);
        // a listing shows bytes, not headers: those of the last recorded publication stand in (a corte cut short after
        // a change of the Cache-Control rules must still put the new headers on files whose bytes did not change)
        // (and a corte cut short under other rules than today's left files with headers neither the record nor the rules
        // vouch for: all of them are uploaded again)
        boolean headersKnown = published.map(p -> p.unfinishedUnder(headers)).orElse(true);
        Map<String, SiteManifest.Entry> recordedHeaders = trusted || !headersKnown ? Map.of() : recorded.map(SiteManifest::files).orElse(Map.of());
        if (!trusted && !headersKnown) {
            LOG.info("{}: a publication cut short under other Cache-Control or Content-Type rules left headers no listing shows: "
                    + "every file is uploaded again", pkg);
        }
        // ETags S3 gave the unchanged files, where they are not the MD5 (SSE-KMS), go on into the next manifest
        Map<String, String> keptETags = new HashMap<>();
        for (SiteFile f : pkg.site().files()) {
            inPackage.add(f.path());
            SiteManifest.Entry now = base.get(f.path());
            SiteManifest.Entry recordedEntry = recordedHeaders.get(f.path());
            if (!isPublished(f, now, trusted, recordedEntry) || !trusted && headersMayDiffer(f, recordedEntry)) {
                uploads.add(f);
            } else if (now.etag() != null && !now.etag().equals(f.md5())) {
                keptETags.put(f.path(), now.etag());
            }
        }
        // what the package no longer holds, except what the operator keeps in the bucket (a robots.txt put there by hand)
        // and what earlier cortes left there because S3 refused to delete it: those are deleted again, but were not
        // published files of the last corte, so they neither count against the limits nor pile up into a refusal
        Set<String> undeleted = recorded.map(SiteManifest::undeleted).orElse(java.util.Collections.emptySortedSet());
        List<String> deletions = new ArrayList<>();
        List<String> leftovers = new ArrayList<>();
        int keptByOperator = 0;
        int leftoversListed = 0;
        for (String p : base.keySet()) {
            if (!inPackage.contains(p)) {
                if (keep.keeps(p)) {
                    keptByOperator++;
                } else if (undeleted.contains(p)) {
                    leftoversListed++;
                } else {
                    deletions.add(p);
                }
            }
        }
        // all of them, listed or not: a delete of a key already gone succeeds, and a redo after a crash retries (and
        // invalidates) the same ones as the attempt it repeats
        undeleted.stream().filter(p -> !inPackage.contains(p) && !keep.keeps(p)).forEach(leftovers::add);
        deletions.sort(null);
        int siteFiles = base.size() - keptByOperator - leftoversListed;
        // a count for a national site, a share for a small one: a state PREP of 800 files missing 400 is half gone. The
        // share only against a site some publication recorded: before the first one the bucket may hold a placeholder
        // ("results from 20:00", three files), all of which the first corte replaces; the count still guards a bucket
        // that holds something else entirely (a wrong bucket or prefix)
        boolean shareApplies = recorded.isPresent() || published.filter(PublishedState::hasPublished).isPresent();
        boolean overCount = deletions.size() > maxDeletions;
        boolean overShare = shareApplies && deletions.size() * 100L > (long) maxDeletionsPercent * siteFiles;
        if (overCount || overShare) {
            // only the limits passed: raising the other one, and restarting the pods, would not let the next corte through
            List<String> passed = new ArrayList<>();
            if (overCount) {
                passed.add("difusor.publish.max-deletions = " + maxDeletions);
            }
            if (overShare) {
                passed.add("difusor.publish.max-deletions-percent = " + maxDeletionsPercent + " % of them");
            }
            throw new PackageRejectedException(RejectReason.TOO_MANY_DELETIONS, pkg + ": would delete " + deletions.size() + " of the "
                    + siteFiles + " published files (" + share(deletions.size(), siteFiles) + " %), more than " + String.join(" and more than ", passed) + "; a person must look at it");
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
                if (!isPublished(f, invalidationBase.get(f.path()), recorded.isPresent(), null)) {
                    changed.add(f.path());
                }
            }
            invalidationBase.keySet().stream().filter(p -> !inPackage.contains(p) && !keep.keeps(p)).forEach(changed::add);
            // and what the bucket had wrong (edited by hand): the CDN may hold those bytes too
            Set<String> already = new HashSet<>(changed);
            uploads.stream().map(SiteFile::path).filter(already::add).forEach(changed::add);
            deletions.stream().filter(already::add).forEach(changed::add);
        }
        // the leftovers are not in it: the prune adds those S3 deletes this time (withInvalidationPaths)
        SitePlan plan = new SitePlan(uploads, deletions, leftovers, changed, InvalidationPaths.of(changed, maxInvalidationPaths, cdnPathPrefix),
                pkg.site().files().size() - uploads.size(), !trusted, keptETags,
                published.filter(PublishedState::hasPublished).map(PublishedState::sha256).orElse(null),
                published.filter(PublishedState::hasPublished).map(PublishedState::publishedAt).orElse(null));
        pkg.plan(plan);
        pkg.stageTook("plan", (System.nanoTime() - started) / 1_000_000);
        LOG.info("{}: {}", pkg, plan.summary());
        if (keptByOperator > 0) {
            LOG.info("{}: {} objects in the site bucket that the package does not hold are kept, as difusor.site.keep {} says",
                    pkg, keptByOperator, keep);
        }
    }

    /**
     * A file no publication recorded (no manifest: a first run, a bucket filled by another tool or by hand) has headers
     * nobody knows: a Content-Type a browser refuses, no Cache-Control. It is uploaded again, as a cold corte would.
     */
    private static boolean headersMayDiffer(SiteFile f, SiteManifest.Entry recorded) {
        return recorded == null || !(java.util.Objects.equals(recorded.contentType(), f.contentType())
                && java.util.Objects.equals(recorded.cacheControl(), f.cacheControl()));
    }

    /**
     * From a listing, bytes only: the ETag is the MD5 of a single-part object, or, in a bucket encrypted with SSE-KMS,
     * the ETag the last manifest recorded for these very bytes. Headers cannot be seen without a HEAD each.
     */
    private static boolean isPublished(SiteFile f, SiteManifest.Entry published, boolean byManifest, SiteManifest.Entry recorded) {
        if (published == null) {
            return false;
        }
        if (byManifest) {
            return published.sameAs(f.sha256(), f.contentType(), f.cacheControl());
        }
        if (published.size() != f.size()) {
            return false;
        }
        return published.etag().equals(f.md5())
                || recorded != null && f.sha256().equals(recorded.sha256()) && published.etag().equals(recorded.etag());
    }

    /** The share, rounded up to two decimals: 1,001 of 10,000 reads 10.01 %, never a "10.0 %" said to be more than 10 %. */
    static String share(int part, int whole) {
        return java.math.BigDecimal.valueOf(part * 100L).divide(java.math.BigDecimal.valueOf(Math.max(1, whole)), 2,
                java.math.RoundingMode.UP).toPlainString();
    }
}
