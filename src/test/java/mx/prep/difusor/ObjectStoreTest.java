package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;

import mx.prep.difusor.embedded.EmbeddedS3;
import mx.prep.difusor.state.PublishedState;

/** What S3's "not found" answers mean to the state: a missing object is an answer, a missing bucket is a failure. */
class ObjectStoreTest {

    private EmbeddedS3 s3;
    private S3Client client;

    @BeforeEach
    void start() throws Exception {
        s3 = EmbeddedS3.inMemory();
        s3.createBucket("prep-history");
        client = s3.client();
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        s3.close();
    }

    @Test
    void aMissingStateIsNothingPublishedYet() throws Exception {
        assertThat(new ObjectStore(client).readJson("prep-history", "state/published.json", PublishedState.class)).isEmpty();
    }

    @Test
    void aMissingBucketIsAFailureNotAnEmptyState() {
        // a mistyped bucket read as "nothing published yet" would republish the whole site at every start
        assertThatThrownBy(() -> new ObjectStore(client).readJson("prep-historia", "state/published.json", PublishedState.class))
                .isInstanceOf(NoSuchBucketException.class);
    }
}
