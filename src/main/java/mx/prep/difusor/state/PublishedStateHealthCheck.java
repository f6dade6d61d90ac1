package mx.prep.difusor.state;

import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import software.amazon.awssdk.services.s3.S3Client;

/**
 * Readiness: both buckets answer and the published state could be read. A pod that cannot see S3 or does not know
 * what is published must not take the lead nor receive the institute's probe. The history bucket is asked on its own:
 * a missing state key reads as "nothing published yet", so a mistyped bucket name would otherwise look ready.
 */
public final class PublishedStateHealthCheck extends AbstractHealthCheck {

    private final StateStore state;
    private final S3Client s3;
    private final String siteBucket;
    private final String historyBucket;

    public PublishedStateHealthCheck(StateStore state, S3Client s3, String siteBucket, String historyBucket) {
        super("difusor", "published-state");
        this.state = state;
        this.s3 = s3;
        this.siteBucket = siteBucket;
        this.historyBucket = historyBucket;
        setEnabled(true);
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        String asking = siteBucket;
        try {
            s3.headBucket(b -> b.bucket(siteBucket));
            asking = historyBucket;
            s3.headBucket(b -> b.bucket(historyBucket));
            asking = "the published state in " + historyBucket;
            var published = state.load();
            builder.detail("site.bucket", siteBucket);
            builder.detail("history.bucket", historyBucket);
            builder.detail("published.corte", published.map(PublishedState::corte).orElse("none yet"));
            builder.up();
        } catch (RuntimeException | java.io.IOException e) {
            builder.message("S3 bucket " + asking + " cannot be read: " + e.getMessage());
            builder.error(e);
            builder.down();
        }
    }
}
