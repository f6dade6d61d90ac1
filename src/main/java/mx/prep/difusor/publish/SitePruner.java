package mx.prep.difusor.publish;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Error;

import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.Failures;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.TransientFailureException;

/**
 * Deletes the files that vanished from the package, only after every upload succeeded, and those earlier cortes left
 * in the bucket because S3 refused to delete them; 1,000 keys a request.
 */
public final class SitePruner {

    private static final Logger LOG = LoggerFactory.getLogger(SitePruner.class);
    private static final int BATCH = 1000;

    private final S3Client s3;
    private final String siteBucket;
    private final String sitePrefix;
    private final DifusorMetrics metrics;
    private final int maxInvalidationPaths;
    private final String cdnPathPrefix;

    private final mx.prep.difusor.cluster.LeaderCheck leaderCheck;

    public SitePruner(S3Client s3, String siteBucket, String sitePrefix, DifusorMetrics metrics, int maxInvalidationPaths,
            String cdnPathPrefix, mx.prep.difusor.cluster.LeaderCheck leaderCheck) {
        this.leaderCheck = leaderCheck;
        this.metrics = metrics;
        this.s3 = s3;
        this.siteBucket = siteBucket;
        this.sitePrefix = sitePrefix;
        this.maxInvalidationPaths = maxInvalidationPaths;
        this.cdnPathPrefix = cdnPathPrefix;
    }

    /**
     * S3 answers a batch delete with an error per key it did not delete. A transient one (InternalError, SlowDown) is
     * retried with the stage. One refused for good (AccessDenied: a role without s3:DeleteObject, a bucket policy
     * denying deletes) is an ERROR, not a failed corte: the new corte's files are up, and holding back its invalidation
     * and record for files it no longer links would leave every later corte unpublished the same way. The refused files
     * go into the manifest as undeleted (the record step), and the next cortes try again, without an ERROR each time.
     */
    public void prune(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws IOException, mx.prep.difusor.cluster.NoLongerLeaderException {
        SitePlan plan = pkg.plan();
        List<String> deletions = plan.deletions();
        List<String> leftovers = plan.leftovers();
        List<String> asked = new ArrayList<>(deletions.size() + leftovers.size());
        asked.addAll(deletions);
        asked.addAll(leftovers);
        Set<String> refused = new TreeSet<>();
        S3Error example = null;
        for (int from = 0; from < asked.size(); from += BATCH) {
            // before each batch, not once before all: a new leader waits for one S3 call of the former one, not several
            leaderCheck.require(pkg);
            List<ObjectIdentifier> batch = asked.subList(from, Math.min(asked.size(), from + BATCH)).stream()
                    .map(p -> ObjectIdentifier.builder().key(sitePrefix + p).build()).toList();
            DeleteObjectsResponse response = s3.deleteObjects(b -> b.bucket(siteBucket).delete(d -> d.objects(batch).quiet(true)));
            List<S3Error> errors = response.hasErrors() ? response.errors() : List.of();
            if (errors.stream().anyMatch(e -> Failures.isTransientCode(e.code()))) {
                throw new TransientFailureException(pkg + ": S3 did not delete " + errors.size() + " objects, e.g. "
                        + errors.get(0).key() + ": " + errors.get(0).code());
            }
            for (S3Error e : errors) {
                if (e.key() != null) {
                    refused.add(e.key().startsWith(sitePrefix) ? e.key().substring(sitePrefix.length()) : e.key());
                }
            }
            example = errors.isEmpty() ? example : errors.get(0);
        }
        Set<String> wereLeftovers = new HashSet<>(leftovers);
        long refusedNow = refused.stream().filter(p -> !wereLeftovers.contains(p)).count();
        List<String> leftoversDeleted = leftovers.stream().filter(p -> !refused.contains(p)).toList();
        pkg.pruned(List.copyOf(refused), asked.size() - refused.size());
        if (!leftoversDeleted.isEmpty()) {
            // gone from the bucket now: purged from the CDN with this corte's changes
            List<String> changed = new ArrayList<>(plan.changed());
            changed.addAll(leftoversDeleted);
            pkg.plan(plan.withInvalidationPaths(InvalidationPaths.of(changed, maxInvalidationPaths, cdnPathPrefix)));
            LOG.info("{}: {} files earlier cortes left in the site bucket (S3 had refused to delete them) deleted now", pkg,
                    leftoversDeleted.size());
        }
        if (refusedNow > 0) {
            metrics.deletionsRefused((int) refusedNow);
            LOG.error("{}: S3 refused to delete {} of the {} files gone from the package (e.g. {}: {} {}){}; they stay in the site "
                    + "bucket, linked by no page of this corte, and the next cortes try again. Deleting needs s3:DeleteObject on the "
                    + "site bucket", pkg, refusedNow, deletions.size(), example.key(), example.code(), example.message(),
                    refused.size() > refusedNow ? ", and again " + (refused.size() - refusedNow) + " left by earlier cortes" : "");
        } else if (!refused.isEmpty()) {
            // the ERROR was logged when they were first refused; the gauge and its alert last while they stay
            LOG.warn("{}: S3 still refuses to delete the {} files earlier cortes left in the site bucket (e.g. {}: {}); tried again "
                    + "with the next corte", pkg, refused.size(), example.key(), example.code());
        } else if (!deletions.isEmpty()) {
            LOG.info("{}: {} files gone from the package deleted from the site", pkg, deletions.size());
        }
    }
}
