package mx.prep.difusor;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.putRequestedFor;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.zip.CRC32;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;

import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

import mx.prep.difusor.embedded.EmbeddedS3;

/**
 * The S3 client prep-difusor builds signs every upload over its whole body, sent as it is (one Content-Length, no
 * aws-chunked stream), and with when-supported still sends the CRC S3 verifies; checked on the wire.
 */
class S3UploadSigningTest {

    private WireMockServer s3;

    @BeforeEach
    void start() {
        s3 = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        s3.start();
        s3.stubFor(any(anyUrl()).willReturn(aResponse().withStatus(200).withHeader("ETag", "\"etag\"")));
        System.setProperty("aws.accessKeyId", EmbeddedS3.ACCESS_KEY);
        System.setProperty("aws.secretAccessKey", EmbeddedS3.SECRET_KEY);
    }

    @AfterEach
    void stop() {
        s3.stop();
    }

    @ParameterizedTest
    @ValueSource(strings = {"when-required", "when-supported"})
    void aSiteFileIsSignedOverItsWholeBody(String checksumCalculation) throws Exception {
        byte[] body = "{\"casilla\":\"1234B\",\"votos\":[101,202,303]}".repeat(100).getBytes();
        try (S3Client client = client(checksumCalculation)) {
            // as Camel's aws2-s3 producer sends a body whose length is known
            client.putObject(b -> b.bucket("prep-site").key("casillas/1234B.json").contentType("application/json"),
                    RequestBody.fromInputStream(new ByteArrayInputStream(body), body.length));
        }

        List<LoggedRequest> puts = s3.findAll(putRequestedFor(anyUrl()));
        assertThat(puts).hasSize(1);
        LoggedRequest put = puts.get(0);
        assertThat(put.getUrl()).isEqualTo("/prep-site/casillas/1234B.json");
        assertThat(put.getHeader("Content-Length")).isEqualTo(String.valueOf(body.length));
        // not STREAMING-AWS4-HMAC-SHA256-PAYLOAD: the signature covers the body's SHA-256
        assertThat(put.getHeader("x-amz-content-sha256"))
                .isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body)));
        assertThat(put.getHeader("Authorization")).contains("x-amz-content-sha256");
        assertThat(put.containsHeader("Content-Encoding")).isFalse();
        assertThat(put.containsHeader("x-amz-decoded-content-length")).isFalse();
        assertThat(put.containsHeader("x-amz-trailer")).isFalse();
        assertThat(put.getBody()).as("the body as sent").isEqualTo(body);
        if (checksumCalculation.equals("when-supported")) {
            CRC32 crc = new CRC32();
            crc.update(body);
            String expected = Base64.getEncoder().encodeToString(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
            assertThat(put.getHeader("x-amz-checksum-crc32")).isEqualTo(expected);
        } else {
            assertThat(put.containsHeader("x-amz-checksum-crc32")).isFalse();
        }
    }

    private S3Client client(String checksumCalculation) throws Exception {
        try (DefaultCamelContext context = new DefaultCamelContext()) {
            Properties p = new Properties();
            p.put("difusor.publish.concurrency", "4");
            p.put("difusor.s3.region", "us-east-1");
            p.put("difusor.s3.path-style", "true");
            p.put("difusor.s3.checksum-calculation", checksumCalculation);
            p.put("difusor.s3.connect-timeout-ms", "5000");
            p.put("difusor.s3.read-timeout-ms", "5000");
            p.put("difusor.s3.max-attempts", "1");
            p.put("difusor.s3.endpoint", "http://127.0.0.1:" + s3.port());
            context.getPropertiesComponent().setInitialProperties(p);
            return DifusorConfiguration.s3Client(new Settings(context.getPropertiesComponent()));
        }
    }
}
