package mx.prep.difusor.publish;

import java.io.IOException;
import java.util.List;

import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;

import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.TransientFailureException;

/** Deletes the files that vanished from the package, only after every upload succeeded; 1,000 keys a request. */
public final class SitePruner {

    private static final Logger LOG = LoggerFactory.getLogger(SitePruner.class);
    private static final int BATCH = 1000;

    private final S3Client s3;
    private final String siteBucket;
    private final String sitePrefix;

    public SitePruner(S3Client s3, String siteBucket, String sitePrefix) {
        this.s3 = s3;
        this.siteBucket = siteBucket;
        this.sitePrefix = sitePrefix;
    }

    public void prune(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws IOException {
        List<String> deletions = pkg.plan().deletions();
        for (int from = 0; from < deletions.size(); from += BATCH) {
            List<ObjectIdentifier> batch = deletions.subList(from, Math.min(deletions.size(), from + BATCH)).stream()
                    .map(p -> ObjectIdentifier.builder().key(sitePrefix + p).build()).toList();
            DeleteObjectsResponse response = s3.deleteObjects(b -> b.bucket(siteBucket).delete(d -> d.objects(batch).quiet(true)));
            if (response.hasErrors() && !response.errors().isEmpty()) {
                throw new TransientFailureException(pkg + ": S3 did not delete " + response.errors().size() + " objects, e.g. "
                        + response.errors().get(0).key() + ": " + response.errors().get(0).code());
            }
        }
        if (!deletions.isEmpty()) {
            LOG.info("{}: {} files gone from the package deleted from the site", pkg, deletions.size());
        }
    }
}
