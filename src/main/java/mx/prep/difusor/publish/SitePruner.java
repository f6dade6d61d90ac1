package mx.prep.difusor.publish;

import java.io.IOException;
import java.util.List;

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

/** Deletes the files that vanished from the package, only after every upload succeeded; 1,000 keys a request. */
public final class SitePruner {

    private static final Logger LOG = LoggerFactory.getLogger(SitePruner.class);
    private static final int BATCH = 1000;

    private final S3Client s3;
    private final String siteBucket;
    private final String sitePrefix;
    private final DifusorMetrics metrics;

    public SitePruner(S3Client s3, String siteBucket, String sitePrefix, DifusorMetrics metrics) {
        this.metrics = metrics;
        this.s3 = s3;
        this.siteBucket = siteBucket;
        this.sitePrefix = sitePrefix;
    }

    /**
     * S3 answers a batch delete with an error per key it did not delete. A transient one (InternalError, SlowDown) is
     * retried with the stage. One refused for good (AccessDenied: a role without s3:DeleteObject, a bucket policy
     * denying deletes) is an ERROR, not a failed corte: the new corte's files are up, and holding back its invalidation
     * and record for files it no longer links would leave every later corte unpublished the same way.
     */
    public void prune(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws IOException {
        List<String> deletions = pkg.plan().deletions();
        int refused = 0;
        S3Error example = null;
        for (int from = 0; from < deletions.size(); from += BATCH) {
            List<ObjectIdentifier> batch = deletions.subList(from, Math.min(deletions.size(), from + BATCH)).stream()
                    .map(p -> ObjectIdentifier.builder().key(sitePrefix + p).build()).toList();
            DeleteObjectsResponse response = s3.deleteObjects(b -> b.bucket(siteBucket).delete(d -> d.objects(batch).quiet(true)));
            List<S3Error> errors = response.hasErrors() ? response.errors() : List.of();
            if (errors.stream().anyMatch(e -> Failures.isTransientCode(e.code()))) {
                throw new TransientFailureException(pkg + ": S3 did not delete " + errors.size() + " objects, e.g. "
                        + errors.get(0).key() + ": " + errors.get(0).code());
            }
            refused += errors.size();
            example = errors.isEmpty() ? example : errors.get(0);
        }
        if (refused > 0) {
            metrics.deletionsRefused(refused);
            LOG.error("{}: S3 refused to delete {} of the {} files gone from the package (e.g. {}: {} {}); they stay in the site "
                    + "bucket, linked by no page of this corte. Deleting needs s3:DeleteObject on the site bucket", pkg, refused,
                    deletions.size(), example.key(), example.code(), example.message());
        } else if (!deletions.isEmpty()) {
            LOG.info("{}: {} files gone from the package deleted from the site", pkg, deletions.size());
        }
    }
}
