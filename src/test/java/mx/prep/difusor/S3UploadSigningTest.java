package mx.prep.difusor;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.deleteRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.head;
import static com.github.tomakehurst.wiremock.client.WireMock.matching;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.put;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.putRequestedFor;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.zip.CRC32;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;

import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
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

    @TempDir
    Path tmp;

    /**
     * A package in parts, as real S3 requires them: with when-supported the upload declares CRC-32 when it is created,
     * each part carries the CRC of its own bytes, and the completion lists every part's ETag and CRC as S3 answered
     * them, in order; with when-required no checksum at all. Each part is signed over its own bytes.
     */
    @ParameterizedTest
    @ValueSource(strings = {"when-required", "when-supported"})
    void aPackageInPartsCarriesTheChecksumsRealS3AsksFor(String checksumCalculation) throws Exception {
        int part = 5 << 20;
        byte[] zip = new byte[2 * part + 12345];
        new Random(7).nextBytes(zip);
        Path file = Files.write(tmp.resolve("PREP2024_JAL_20240602_2000.zip"), zip);
        String key = "/prep-history/history/PREP2024_JAL_20240602_2000.zip";
        boolean crc = checksumCalculation.equals("when-supported");
        s3.stubFor(post(urlPathEqualTo(key)).withQueryParam("uploads", matching(".*")).atPriority(1)
                .willReturn(aResponse().withStatus(200).withBody("<InitiateMultipartUploadResult><Bucket>prep-history</Bucket>"
                        + "<Key>history/PREP2024_JAL_20240602_2000.zip</Key><UploadId>upload-1</UploadId></InitiateMultipartUploadResult>")));
        for (int n = 1; n <= 3; n++) {
            byte[] slice = Arrays.copyOfRange(zip, (n - 1) * part, Math.min(n * part, zip.length));
            var answer = aResponse().withStatus(200).withHeader("ETag", "\"etag-" + n + "\"");
            if (crc) {
                answer = answer.withHeader("x-amz-checksum-crc32", crc32(slice));
            }
            s3.stubFor(put(urlPathEqualTo(key)).withQueryParam("partNumber", equalTo(String.valueOf(n)))
                    .atPriority(1).willReturn(answer));
        }
        s3.stubFor(post(urlPathEqualTo(key)).withQueryParam("uploadId", equalTo("upload-1"))
                .atPriority(1).willReturn(aResponse().withStatus(200).withBody("<CompleteMultipartUploadResult><Bucket>prep-history</Bucket>"
                        + "<Key>history/PREP2024_JAL_20240602_2000.zip</Key><ETag>\"whole-3\"</ETag></CompleteMultipartUploadResult>")));
        s3.stubFor(head(urlPathEqualTo(key)).atPriority(1).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Length", String.valueOf(zip.length)).withHeader("ETag", "\"whole-3\"")));

        ExecutorService parts = Executors.newFixedThreadPool(3);
        try (S3Client client = client(checksumCalculation)) {
            String etag = new ObjectStore(client, new ObjectStore.Parts(part, crc, parts))
                    .putPackage("prep-history", "history/PREP2024_JAL_20240602_2000.zip", file, "application/zip", Map.of("sha256", "abc"));
            assertThat(etag).isEqualTo("\"whole-3\"");
        } finally {
            parts.shutdownNow();
        }

        LoggedRequest created = s3.findAll(postRequestedFor(urlPathEqualTo(key))).stream().filter(r -> r.getUrl().endsWith("?uploads"))
                .findFirst().orElseThrow();
        assertThat(created.getHeader("Content-Type")).isEqualTo("application/zip");
        assertThat(created.getHeader("x-amz-meta-sha256")).isEqualTo("abc");
        if (crc) {
            assertThat(created.getHeader("x-amz-checksum-algorithm")).isEqualTo("CRC32");
        } else {
            assertThat(created.containsHeader("x-amz-checksum-algorithm")).isFalse();
        }
        List<LoggedRequest> sent = s3.findAll(putRequestedFor(urlPathEqualTo(key)));
        assertThat(sent).hasSize(3);
        for (LoggedRequest put : sent) {
            int n = Integer.parseInt(put.queryParameter("partNumber").firstValue());
            byte[] slice = Arrays.copyOfRange(zip, (n - 1) * part, Math.min(n * part, zip.length));
            assertThat(put.queryParameter("uploadId").firstValue()).isEqualTo("upload-1");
            assertThat(put.getBody()).as("part %d as sent", n).isEqualTo(slice);
            assertThat(put.getHeader("Content-Length")).isEqualTo(String.valueOf(slice.length));
            assertThat(put.getHeader("x-amz-content-sha256")).as("part %d signed over its bytes", n)
                    .isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(slice)));
            if (crc) {
                assertThat(put.getHeader("x-amz-checksum-crc32")).as("part %d's CRC", n).isEqualTo(crc32(slice));
            } else {
                assertThat(put.containsHeader("x-amz-checksum-crc32")).isFalse();
            }
        }
        String completion = s3.findAll(postRequestedFor(urlPathEqualTo(key))).stream().filter(r -> r.getUrl().contains("uploadId=upload-1"))
                .findFirst().orElseThrow().getBodyAsString().replaceAll("\\s", "");
        StringBuilder expected = new StringBuilder();
        for (int n = 1; n <= 3; n++) {
            byte[] slice = Arrays.copyOfRange(zip, (n - 1) * part, Math.min(n * part, zip.length));
            expected.append("<Part><ETag>&quot;etag-").append(n).append("&quot;</ETag>")
                    .append(crc ? "<ChecksumCRC32>" + crc32(slice) + "</ChecksumCRC32>" : "")
                    .append("<PartNumber>").append(n).append("</PartNumber></Part>");
        }
        assertThat(completion).contains(expected);
        assertThat(s3.findAll(deleteRequestedFor(anyUrl()))).as("no abort of an upload that went through").isEmpty();
    }

    private static String crc32(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return Base64.getEncoder().encodeToString(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
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
            p.put("difusor.s3.call-timeout-ms", "60000");
            p.put("difusor.s3.endpoint", "http://127.0.0.1:" + s3.port());
            context.getPropertiesComponent().setInitialProperties(p);
            return DifusorConfiguration.s3Client(new Settings(context.getPropertiesComponent()));
        }
    }
}
