package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.services.s3.model.S3Exception;

class FailuresTest {

    private final Failures failures = new Failures();

    /** A HEAD answer has no body, so S3's error carries no code: it was a NullPointerException in the retry channel. */
    @Test
    void anS3ErrorWithoutACodeIsJudgedByItsStatus() {
        S3Exception denied = (S3Exception) S3Exception.builder().statusCode(403)
                .awsErrorDetails(AwsErrorDetails.builder().errorMessage("Forbidden").build()).build();
        S3Exception unavailable = (S3Exception) S3Exception.builder().statusCode(503)
                .awsErrorDetails(AwsErrorDetails.builder().errorMessage("Service Unavailable").build()).build();
        assertThat(failures.isTransient(denied)).isFalse();
        assertThat(failures.isTransient(unavailable)).isTrue();
        assertThat(failures.reasonOf(denied)).isEqualTo(RejectReason.UNEXPECTED);
    }

    /**
     * Temporary credentials that expired under a request (400 ExpiredToken, TokenRefreshRequired; 403 from STS-backed
     * services) are retried: the next attempt signs with fresh ones. An access denied is not.
     */
    @Test
    void anExpiredTokenIsRetriedAnAccessDeniedIsNot() {
        for (String code : java.util.List.of("ExpiredToken", "TokenRefreshRequired", "ExpiredTokenException")) {
            S3Exception expired = (S3Exception) S3Exception.builder().statusCode(code.endsWith("Exception") ? 403 : 400)
                    .awsErrorDetails(AwsErrorDetails.builder().errorCode(code).errorMessage("The provided token has expired.").build()).build();
            assertThat(failures.isTransient(expired)).as(code).isTrue();
        }
        S3Exception denied = (S3Exception) S3Exception.builder().statusCode(403)
                .awsErrorDetails(AwsErrorDetails.builder().errorCode("AccessDenied").errorMessage("Access Denied").build()).build();
        assertThat(failures.isTransient(denied)).isFalse();
    }

    /**
     * An HTML page or a 401 where the zip should be is retried like an outage, reported for what it is, and not a
     * refusal for good: the offer is fetched again after the pause (in a dry run too).
     */
    @Test
    void aSourceAnsweringSomethingElseThanAPackageIsRetriedAndReportedAsSuch() {
        Exception wrapped = new org.apache.camel.CamelExecutionException("download failed", null,
                new mx.prep.difusor.source.NotAPackageException("GET https://prep.example/p.zip returned an HTML page"));
        assertThat(failures.isTransient(wrapped)).isTrue();
        assertThat(failures.reasonOf(wrapped)).isEqualTo(RejectReason.BAD_SOURCE_RESPONSE);
        assertThat(RejectReason.BAD_SOURCE_RESPONSE.isLasting()).isFalse();
        assertThat(RejectReason.RETRIES_EXHAUSTED.isLasting()).isFalse();
        assertThat(RejectReason.CHECKSUM_MISMATCH.isLasting()).isTrue();
    }
}
