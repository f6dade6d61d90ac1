package mx.prep.difusor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** The few S3 operations the history, the state and the quarantine need, on the one shared client. */
public final class ObjectStore {

    private final S3Client s3;

    public ObjectStore(S3Client s3) {
        this.s3 = s3;
    }

    public S3Client client() {
        return s3;
    }

    public Optional<HeadObjectResponse> head(String bucket, String key) {
        try {
            return Optional.of(s3.headObject(b -> b.bucket(bucket).key(key)));
        } catch (S3Exception e) {
            return missing(e);
        }
    }

    public boolean exists(String bucket, String key) {
        return head(bucket, key).isPresent();
    }

    public Optional<String> readString(String bucket, String key) {
        try {
            ResponseBytes<GetObjectResponse> bytes = s3.getObjectAsBytes(b -> b.bucket(bucket).key(key));
            return Optional.of(bytes.asString(StandardCharsets.UTF_8));
        } catch (S3Exception e) {
            return missing(e);
        }
    }

    /** Parses the object as it arrives, without holding its bytes (a site manifest is tens of MB). */
    public <T> Optional<T> readJson(String bucket, String key, Class<T> type) throws IOException {
        try (var in = s3.getObject(b -> b.bucket(bucket).key(key))) {
            return Optional.of(Json.MAPPER.readValue(in, type));
        } catch (S3Exception e) {
            return missing(e);
        }
    }

    /** A missing object is an answer, not a failure; anything else S3 says is rethrown. */
    private static <T> Optional<T> missing(S3Exception e) {
        if (e instanceof NoSuchKeyException || e.statusCode() == 404) {
            return Optional.empty();
        }
        throw e;
    }

    /** @return the ETag S3 gave the object */
    public String putString(String bucket, String key, String text, String contentType) {
        return s3.putObject(PutObjectRequest.builder().bucket(bucket).key(key).contentType(contentType).build(),
                RequestBody.fromString(text, StandardCharsets.UTF_8)).eTag();
    }

    public void putJson(String bucket, String key, Object value) throws IOException {
        putString(bucket, key, Json.MAPPER.writeValueAsString(value), "application/json");
    }

    /** @return the ETag S3 gave the object */
    public String putFile(String bucket, String key, Path file, String contentType, Map<String, String> metadata) {
        return s3.putObject(PutObjectRequest.builder().bucket(bucket).key(key).contentType(contentType).metadata(metadata).build(),
                RequestBody.fromFile(file)).eTag();
    }

}
