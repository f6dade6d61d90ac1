package mx.prep.difusor.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

class EmbeddedDifusorTest {

    /**
     * The local run puts the documented placeholder page into its empty site bucket with its own client, against the
     * real S3Proxy: with the SDK's default (a trailing checksum) S3Proxy refused the PUT and the local run's main
     * thread died before anything started. Once the site holds something, it is left alone.
     */
    @Test
    void theLocalRunStartsWithThePlaceholderPageInItsEmptySiteBucket() throws Exception {
        try (EmbeddedS3 s3 = EmbeddedS3.inMemory(); S3Client client = EmbeddedDifusor.localClient(s3)) {
            s3.createBucket(EmbeddedDifusor.SITE);
            EmbeddedDifusor.placeholder(client);
            ResponseBytes<GetObjectResponse> page = client.getObjectAsBytes(b -> b.bucket(EmbeddedDifusor.SITE).key("index.html"));
            assertThat(page.asByteArray()).isEqualTo(Files.readAllBytes(Path.of("docs", "placeholder", "index.html")));
            assertThat(page.response().contentType()).startsWith("text/html");
            assertThat(page.response().cacheControl()).isEqualTo("no-cache");

            client.putObject(b -> b.bucket(EmbeddedDifusor.SITE).key("index.html"),
                    software.amazon.awssdk.core.sync.RequestBody.fromString("<html><base href=\"/\">corte</html>"));
            EmbeddedDifusor.placeholder(client);
            assertThat(client.getObjectAsBytes(b -> b.bucket(EmbeddedDifusor.SITE).key("index.html")).asUtf8String()).contains("corte");
        }
    }
}
