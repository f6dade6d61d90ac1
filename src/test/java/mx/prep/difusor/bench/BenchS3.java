package mx.prep.difusor.bench;

import java.net.URI;
import java.time.Duration;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.auth.scheme.S3AuthSchemeProvider;

import mx.prep.difusor.DifusorConfiguration;
import mx.prep.difusor.embedded.EmbeddedS3;

/** The benchmark tools' S3 client: path-style, local credentials, no request checksums (S3Proxy 2.7). */
final class BenchS3 {

    private BenchS3() {
    }

    /** With the HTTP client prep-difusor uses (Apache HttpClient 5). */
    static S3Client client(String endpoint, int connections) {
        return client(endpoint, connections, "apache5");
    }

    /**
     * With the named HTTP client: {@code apache5} (HttpClient 5) or {@code apache} (HttpClient 4, the SDK's older
     * default), signing each body as an aws-chunked stream (the SDK's default for PutObject) or, with the suffix
     * {@code -whole}, over the whole body as prep-difusor does.
     */
    @SuppressWarnings("deprecation") // ApacheHttpClient is deprecated in 2.57: measured only to compare
    static S3Client client(String endpoint, int connections, String client) {
        boolean whole = client.endsWith("-whole");
        String httpClient = whole ? client.substring(0, client.length() - "-whole".length()) : client;
        SdkHttpClient http = switch (httpClient) {
            case "apache5" -> Apache5HttpClient.builder().maxConnections(connections)
                    .connectionTimeout(Duration.ofSeconds(10)).socketTimeout(Duration.ofSeconds(60)).build();
            case "apache" -> ApacheHttpClient.builder().maxConnections(connections)
                    .connectionTimeout(Duration.ofSeconds(10)).socketTimeout(Duration.ofSeconds(60)).build();
            default -> throw new IllegalArgumentException("HTTP client apache5 or apache, not " + httpClient);
        };
        S3ClientBuilder builder = S3Client.builder()
                .region(Region.US_EAST_1)
                .endpointOverride(URI.create(endpoint))
                .forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(EmbeddedS3.ACCESS_KEY, EmbeddedS3.SECRET_KEY)))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClient(http);
        if (whole) {
            builder.authSchemeProvider(DifusorConfiguration.wholeBodySigning(S3AuthSchemeProvider.defaultProvider()));
        }
        return builder.build();
    }
}
