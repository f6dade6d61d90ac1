package mx.prep.difusor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Set;

import org.apache.camel.Exchange;

import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;

/**
 * Tells transient failures (worth a retry with backoff) from everything else (straight to the dead-letter
 * channel). One place, so the retry channel in the routes and the reports agree.
 */
public final class Failures {

    private static final Set<String> TRANSIENT_CODES = Set.of("SlowDown", "Throttling", "ThrottlingException", "RequestTimeout",
            "RequestTimeTooSkewed", "ServiceUnavailable", "InternalError", "TooManyInvalidationsInProgress", "TooManyRequests",
            // two conditional writes of one object at once: S3 asks to try again
            "ConditionalRequestConflict",
            // temporary credentials (IRSA, an assumed role) that ran out under a request: the SDK's provider has fresh
            // ones for the next attempt. Taken as final, the corte went to quarantine at once
            "ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired");

    /** The retry channel's predicate: the exception being handled on the exchange. */
    public boolean shouldRetry(Exchange exchange) {
        Throwable failure = exchange.getException() != null ? exchange.getException()
                : exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof mx.prep.difusor.source.OfferSpentException) {
                return false;   // retrying at once cannot mend it: reported, and fetched again after the pause
            }
        }
        boolean retry = isTransient(failure);
        if (retry) {
            // what a stop while the retry waits should report (whatFailed), with its step
            exchange.setProperty(RETRYING, new Retrying(exchange.getProperty(mx.prep.difusor.quarantine.Quarantine.STEP, String.class), failure));
        }
        return retry;
    }

    /** The exchange property naming the failure the retry channel is retrying, and at which step. */
    public static final String RETRYING = "difusorRetrying";

    /** A failure sent to the retry channel at {@code step}. */
    public record Retrying(String step, Throwable failure) {
    }

    /** A transient failure of the CloudFront invalidation, which comes after the corte is public. */
    public boolean shouldRetryTheInvalidation(Exchange exchange) {
        return "invalidation".equals(exchange.getProperty(mx.prep.difusor.quarantine.Quarantine.STEP, String.class)) && shouldRetry(exchange);
    }

    /**
     * Any failure outside the invalidation that no clause before took: to the dead-letter channel at once, also after
     * a transient failure of the same step was retried (Camel keeps the last matching clause's retries when no clause
     * matches the next failure). The invalidation's keep their own clauses: the corte is public by then.
     */
    public boolean isOutsideTheInvalidation(Exchange exchange) {
        return !"invalidation".equals(exchange.getProperty(mx.prep.difusor.quarantine.Quarantine.STEP, String.class));
    }

    /** An S3 or CloudFront error code worth a retry, as found in a batch answer's per-key errors. */
    public static boolean isTransientCode(String code) {
        return code != null && TRANSIENT_CODES.contains(code);
    }

    public boolean isTransient(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof PackageRejectedException) {
                return false;
            }
            if (t instanceof AwsServiceException aws) {
                return aws.statusCode() >= 500 || aws.statusCode() == 429 || aws.isThrottlingException()
                        || (aws.awsErrorDetails() != null && isTransientCode(aws.awsErrorDetails().errorCode()));
            }
            if (t instanceof SdkClientException || t instanceof IOException || t instanceof UncheckedIOException) {
                return true;
            }
        }
        return false;
    }

    public RejectReason reasonOf(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof PackageRejectedException rejected) {
                return rejected.reason();
            }
            if (t instanceof mx.prep.difusor.source.NotAPackageException) {
                return RejectReason.BAD_SOURCE_RESPONSE;
            }
        }
        return isTransient(failure) ? RejectReason.RETRIES_EXHAUSTED : RejectReason.UNEXPECTED;
    }

    /**
     * The failure a report names: the exchange's, unless that is only the stop's doing (a pod stopped while a retry
     * waited fails the exchange with "Redelivery not allowed while stopping" or "SendProcessor has not been started");
     * then the failure the retry channel was retrying at that same step, if any.
     */
    public static Throwable whatFailed(Exchange exchange) {
        return whatFailed(exchange, exchange.getException() != null ? exchange.getException()
                : exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class));
    }

    /** As {@link #whatFailed(Exchange)}, for a failure taken from elsewhere (the refusal noted for the quarantine). */
    public static Throwable whatFailed(Exchange exchange, Throwable failure) {
        if (failure == null || !isTheStopsDoing(failure)) {
            return failure;
        }
        Retrying retrying = exchange.getProperty(RETRYING, Retrying.class);
        String step = exchange.getProperty(mx.prep.difusor.quarantine.Quarantine.STEP, String.class);
        // one retried at another step succeeded long ago: the stop is then the whole story
        return retrying != null && java.util.Objects.equals(retrying.step(), step) ? retrying.failure() : failure;
    }

    /** Camel refusing to go on because it is stopping, not a failure of the step itself. */
    static boolean isTheStopsDoing(Throwable failure) {
        if (failure instanceof java.util.concurrent.RejectedExecutionException) {
            return true;
        }
        String message = String.valueOf(failure.getMessage());
        return failure instanceof IllegalStateException && (message.contains("has not been started") || message.contains("is not started"));
    }

    /** The cause as a report names it: the wrappers' message, and the root cause that really happened. */
    public static String describe(Throwable cause) {
        if (cause == null) {
            return "unknown";
        }
        if (cause instanceof PackageRejectedException) {
            return cause.getMessage();
        }
        // the wrappers (CamelExecutionException, split failures) hide what really happened: name the root too
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = uploading(cause) + cause.getClass().getName() + ": " + cause.getMessage();
        return root == cause ? text : text + "; caused by " + root.getClass().getName() + ": " + root.getMessage();
    }

    /**
     * "site file x: " when the failure is a split's upload: the split's wrapper names only its position in a list
     * nobody can see afterwards, and the S3 error no key, so a refusal of one prefix could not be traced to a file.
     */
    private static String uploading(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof org.apache.camel.CamelExchangeException failed && failed.getExchange() != null) {
                String path = failed.getExchange().getProperty(mx.prep.difusor.publish.SitePublication.SITE_PATH, String.class);
                if (path != null) {
                    return "site file " + path + ": ";
                }
            }
        }
        return "";
    }
}
