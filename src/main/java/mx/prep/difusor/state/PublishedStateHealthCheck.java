package mx.prep.difusor.state;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.Failures;

import software.amazon.awssdk.services.s3.S3Client;

/**
 * Readiness: both buckets answer and the published state could be read. A pod that cannot see S3 or does not know
 * what is published must not take the lead nor receive the institute's probe. The history bucket is asked on its own:
 * a missing state key reads as "nothing published yet", so a mistyped bucket name would otherwise look ready.
 * <p>
 * Readiness also decides who may lead (only a Ready pod holds the Lease), so a pod that has seen S3 answer stays ready
 * through a short S3 slowdown (no answer, 5xx, throttling, the network), for {@code grace}: the retry channel rides such a blip out, while an unready leader
 * would lose the lead mid-corte and leave the corte to a standby that waits for the takeover. S3 is asked on a thread
 * of its own and the probe answers within {@code answerWithin}, before the kubelet's timeout, whatever S3 does.
 */
public final class PublishedStateHealthCheck extends AbstractHealthCheck {

    private static final Logger LOG = LoggerFactory.getLogger(PublishedStateHealthCheck.class);
    private static final Failures FAILURES = new Failures();

    private final StateStore state;
    private final S3Client s3;
    private final String siteBucket;
    private final String historyBucket;
    private final ExecutorService asker;
    private final Duration answerWithin;
    private final Duration grace;
    private final Clock clock;
    private Future<String> asking; // guarded by this: one question to S3 at a time
    private volatile Instant lastAnswered;
    private volatile String trouble;
    private volatile boolean troubleGraced;

    public PublishedStateHealthCheck(StateStore state, S3Client s3, String siteBucket, String historyBucket, ExecutorService asker,
            Duration answerWithin, Duration grace, Clock clock) {
        super("difusor", "published-state");
        this.state = state;
        this.s3 = s3;
        this.siteBucket = siteBucket;
        this.historyBucket = historyBucket;
        this.asker = asker;
        this.answerWithin = answerWithin;
        this.grace = grace;
        this.clock = clock;
        setEnabled(true);
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("site.bucket", siteBucket);
        builder.detail("history.bucket", historyBucket);
        Future<String> answer;
        synchronized (this) {
            if (asking == null || asking.isDone()) {
                asking = asker.submit(this::ask);
            }
            answer = asking;
        }
        String problem;
        Throwable cause = null;
        boolean passing = true; // a slowdown passes; a definite answer (no such bucket, access denied) does not
        try {
            String corte = answer.get(answerWithin.toMillis(), TimeUnit.MILLISECONDS);
            if (trouble != null) {
                LOG.info("S3 answers the readiness check again");
                trouble = null;
            }
            builder.detail("published.corte", corte);
            builder.up();
            return;
        } catch (TimeoutException slow) {
            problem = "S3 did not answer the readiness check within " + answerWithin.toMillis() + " ms";
        } catch (ExecutionException failed) {
            cause = failed.getCause();
            problem = cause.getMessage();
            passing = FAILURES.isTransient(cause.getCause() != null ? cause.getCause() : cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            problem = "interrupted";
        }
        Instant answered = lastAnswered;
        boolean graced = passing && answered != null && Duration.between(answered, clock.instant()).compareTo(grace) < 0;
        String verdict = graced ? "the pod stays ready until " + answered.plus(grace) + " (" + grace.toSeconds()
                + " s after S3's last answer)" : "the pod is not ready";
        if (trouble == null || graced != troubleGraced) {
            LOG.warn("readiness: {}; {}", problem, verdict);
        }
        trouble = problem;
        troubleGraced = graced;
        builder.message(problem + "; " + verdict);
        if (cause != null) {
            builder.error(cause);
        }
        if (graced) {
            builder.detail("s3.last-answered", answered.toString());
            builder.up();
        } else {
            builder.down();
        }
    }

    /** The published corte, once both buckets answered; the failure names what could not be read. */
    private String ask() throws IOException {
        String asking = siteBucket;
        try {
            s3.headBucket(b -> b.bucket(siteBucket));
            asking = historyBucket;
            s3.headBucket(b -> b.bucket(historyBucket));
            asking = "the published state in " + historyBucket;
            String corte = state.load().map(PublishedState::corte).orElse("none yet");
            // also an answer that came after the probe stopped waiting for it
            lastAnswered = clock.instant();
            return corte;
        } catch (RuntimeException | IOException e) {
            throw new IOException("S3 bucket " + asking + " cannot be read: " + e.getMessage(), e);
        }
    }
}
