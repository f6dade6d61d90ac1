package mx.prep.difusor.invalidate;

import java.util.List;

import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import software.amazon.awssdk.services.cloudfront.CloudFrontClient;
import software.amazon.awssdk.services.cloudfront.model.CloudFrontException;
import software.amazon.awssdk.services.cloudfront.model.CreateInvalidationResponse;
import software.amazon.awssdk.services.cloudfront.model.InvalidationBatch;
import software.amazon.awssdk.services.cloudfront.model.Paths;

import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.Failures;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.publish.SitePlan;

/**
 * The CloudFront invalidation processor: one invalidation per published package and distribution. The
 * CallerReference is derived from the package, so a retry (or a restart that publishes the same package again)
 * gets the invalidation already created instead of a second one.
 */
public final class CdnInvalidator {

    private static final Logger LOG = LoggerFactory.getLogger(CdnInvalidator.class);
    /** CloudFront's limit on CallerReference. */
    static final int MAX_CALLER_REFERENCE = 128;

    private final CloudFrontClient cloudFront;
    private final List<String> distributionIds;

    private final DifusorMetrics metrics;
    private final Failures failures;

    /** The whole site at the distribution ({@code /*}, or {@code /prep2024/*}): what a batch CloudFront refuses falls back to. */
    private final List<String> wholeSite;

    /** @param pathPrefix where the distributions serve the site (difusor.cdn.path-prefix, as {@link mx.prep.difusor.publish.InvalidationPaths} takes it) */
    public CdnInvalidator(CloudFrontClient cloudFront, List<String> distributionIds, String pathPrefix, DifusorMetrics metrics, Failures failures) {
        this.wholeSite = mx.prep.difusor.publish.InvalidationPaths.wholeSite(pathPrefix);
        this.metrics = metrics;
        this.failures = failures;
        this.cloudFront = cloudFront;
        this.distributionIds = List.copyOf(distributionIds);
    }

    public void invalidate(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) {
        if (distributionIds.isEmpty()) {
            LOG.info("{}: no CloudFront distribution configured (difusor.cdn.distribution-ids); invalidation skipped", pkg);
            return;
        }
        List<String> paths = pkg.plan().invalidationPaths();
        if (paths.isEmpty()) {
            LOG.info("{}: nothing published changed; no invalidation needed", pkg);
            return;
        }
        long started = System.nanoTime();
        String reference = callerReference(pkg);
        // every distribution is asked, then the first transient failure goes to the retry channel, which asks only
        // those still without the invalidation: one busy distribution held back the purge of the others, for good
        // once the retries ran out
        RuntimeException retry = null;
        for (String distribution : distributionIds) {
            if (pkg.isInvalidationSettled(distribution, reference)) {
                continue;
            }
            try {
                List<String> sent = paths;
                String sentAs = reference;
                CreateInvalidationResponse created;
                try {
                    created = create(distribution, reference, paths);
                } catch (CloudFrontException e) {
                    if (!"InvalidArgument".equals(code(e)) || paths.equals(wholeSite)) {
                        throw e;
                    }
                    // one path CloudFront will not take refuses the whole batch: the whole site instead, one wildcard,
                    // rather than no purge at all and the edge serving the last corte's files until they expire
                    LOG.warn("{}: CloudFront refused the invalidation paths for distribution {} ({}: {}); the whole site {} is "
                            + "invalidated instead", pkg, distribution, code(e), e.awsErrorDetails().errorMessage(), wholeSite);
                    sent = wholeSite;
                    // a reference of its own for each set of paths it stands for: a redo that must purge more gets a new one
                    List<String> standsFor = new java.util.ArrayList<>(wholeSite);
                    standsFor.addAll(paths);
                    sentAs = callerReference(pkg, standsFor);
                    created = create(distribution, sentAs, wholeSite);
                }
                pkg.invalidationSettled(distribution, reference);
                metrics.invalidation();
                LOG.info("{}: CloudFront invalidation {} ({}) for distribution {}, paths {}, CallerReference {}", pkg,
                        created.invalidation().id(), created.invalidation().status(), distribution, sent, sentAs);
            } catch (CloudFrontException e) {
                String code = code(e);
                if ("InvalidationBatchAlreadyExists".equals(code)) {
                    // cannot happen with the paths in the reference but for a hash collision: logged, never silent
                    LOG.warn("{}: distribution {} already has the invalidation {} from an earlier attempt", pkg, distribution, reference);
                    pkg.invalidationSettled(distribution, reference);
                } else if (failures.isTransient(e)) {
                    LOG.info("{}: the CloudFront invalidation for distribution {} failed ({}); retried", pkg, distribution, Failures.describe(e));
                    retry = retry == null ? e : retry;
                } else {
                    refused(pkg, distribution, e, code);
                    pkg.invalidationSettled(distribution, reference);   // asked once: a retry for another does not count it again
                }
            } catch (RuntimeException e) {
                // no answer (a timeout, a reset): the others are asked all the same, the route's retry decides on this one
                LOG.info("{}: the CloudFront invalidation for distribution {} failed ({}); retried", pkg, distribution, Failures.describe(e));
                retry = retry == null ? e : retry;
            }
        }
        pkg.stageTook("invalidate", (System.nanoTime() - started) / 1_000_000);
        if (retry != null) {
            throw retry;
        }
    }

    private CreateInvalidationResponse create(String distribution, String reference, List<String> paths) {
        return cloudFront.createInvalidation(r -> r.distributionId(distribution)
                .invalidationBatch(InvalidationBatch.builder()
                        .callerReference(reference)
                        .paths(Paths.builder().quantity(paths.size()).items(paths).build())
                        .build()));
    }

    private static String code(CloudFrontException e) {
        return e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
    }

    /**
     * CloudFront refused for good (NoSuchDistribution: a wrong id in difusor.cdn.distribution-ids; AccessDenied: a role
     * without cloudfront:CreateInvalidation). The corte is in the site bucket already: it is recorded as published, and
     * the CDN serves it as its cache expires (HTML no-cache, results 30 s by the default rules). Holding it back would
     * leave the state "publishing", the corte resumed and refused again in a loop, and every later corte the same.
     */
    private void refused(PrepPackage pkg, String distribution, CloudFrontException e, String code) {
        metrics.invalidationRefused();
        LOG.error("{}: CloudFront refused the invalidation for distribution {} ({} {}: {}); the corte is published in the site "
                + "bucket and reaches the public as the CDN's cache expires. Check difusor.cdn.distribution-ids and the role's "
                + "cloudfront:CreateInvalidation", pkg, distribution, e.statusCode(), code,
                e.awsErrorDetails() == null ? e.getMessage() : e.awsErrorDetails().errorMessage());
    }

    /**
     * CloudFront still failing after every retry (busy, 5xx, unreachable): as when it refuses for good, the corte is
     * recorded and reaches the public as the CDN's cache expires. The other distributions have their invalidation; the
     * next corte's covers only its own changes.
     */
    public void gaveUp(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg, @ExchangeProperty(Exchange.EXCEPTION_CAUGHT) Throwable failure) {
        List<String> without = distributionIds.stream().filter(d -> !pkg.isInvalidationSettled(d, callerReference(pkg))).toList();
        // one per distribution left without its invalidation, as a refusal counts one per distribution it names
        for (int i = 0; i < Math.max(1, without.size()); i++) {
            metrics.invalidationRefused();
        }
        LOG.error("{}: the CloudFront invalidation for distribution {} still failed after every retry ({}); the corte is published in"
                + " the site bucket and reaches the public there as the CDN's cache expires", pkg, without, Failures.describe(failure));
    }

    /**
     * {@code prep-difusor/<package stem>/<first 16 hex of its SHA-256>/<first 8 hex of the package it replaces>-<when
     * that one was published, hashed>/<its paths, hashed>} ({@code first-<when it was received, hashed>} over nothing): the same for a retry or a restart of the same publication
     * (the state still names the package it replaces, the plan finds the same paths), different when an operator
     * republishes an older corte over another one, and again when the same package goes back over the same other one:
     * CloudFront answers a reused reference with the old invalidation, and purges nothing.
     */
    public static String callerReference(PrepPackage pkg) {
        return callerReference(pkg, pkg.plan() == null ? null : pkg.plan().invalidationPaths());
    }

    /** As {@link #callerReference(PrepPackage)}, for these paths. */
    static String callerReference(PrepPackage pkg, List<String> invalidationPaths) {
        SitePlan plan = pkg.plan();
        // over nothing: when it was received too, or a rehearsal replaying the same packages into emptied buckets got
        // the last rehearsal's invalidation back from CloudFront (same package, same paths), and nothing was purged. A
        // restart that takes it back from the history sends one more invalidation of the same paths: harmless
        String replaces = plan == null || plan.replaces() == null
                ? "first-" + Integer.toHexString(String.valueOf(pkg.receivedAt()).hashCode())
                : plan.replaces().substring(0, 8) + (plan.replacedAt() == null ? "" : "-" + Integer.toHexString(plan.replacedAt().hashCode()));
        // and the paths: a redo that must purge more (a file repaired after a crash) gets an invalidation of its own,
        // where the same reference with other paths is refused by CloudFront (InvalidationBatchAlreadyExists)
        String paths = invalidationPaths == null ? "" : "/" + Integer.toHexString(invalidationPaths.hashCode());
        String tail = "/" + pkg.sha256().substring(0, 16) + "/" + replaces + paths;
        String head = "prep-difusor/" + pkg.stem();
        if (head.length() + tail.length() > MAX_CALLER_REFERENCE) {
            head = head.substring(0, MAX_CALLER_REFERENCE - tail.length());
        }
        return head + tail;
    }
}
