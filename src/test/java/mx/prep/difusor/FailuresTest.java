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
}
