package mx.prep.difusor.state;

import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import software.amazon.awssdk.services.s3.S3Client;

/**
 * Readiness: the site bucket answers and the published state could be read. A pod that cannot see S3 or does not
 * know what is published must not take the lead nor receive the institute's probe.
 */
public final class PublishedStateHealthCheck extends AbstractHealthCheck {

    private final StateStore state;
    private final S3Client s3;
    private final String siteBucket;

    public PublishedStateHealthCheck(StateStore state, S3Client s3, String siteBucket) {
        super("difusor", "published-state");
        this.state = state;
        this.s3 = s3;
        this.siteBucket = siteBucket;
        setEnabled(true);
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        try {
            s3.headBucket(b -> b.bucket(siteBucket));
            var published = state.load();
            builder.detail("site.bucket", siteBucket);
            builder.detail("published.corte", published.map(PublishedState::corte).orElse("none yet"));
            builder.up();
        } catch (RuntimeException | java.io.IOException e) {
            builder.message("S3 or the published state cannot be read: " + e.getMessage());
            builder.error(e);
            builder.down();
        }
    }
}
