package mx.prep.difusor;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** The few S3 operations the history, the state and the quarantine need, on the one shared client. */
public final class ObjectStore {

    private static final Logger LOG = LoggerFactory.getLogger(ObjectStore.class);

    /**
     * How a package goes up: in parts of {@code size} bytes, as many side by side as {@code executor} runs; a file no
     * larger than one part in a single PUT. With {@code crc32} the upload declares CRC-32
     * part checksums, as S3 requires when the SDK sends one with each part (checksum calculation when-supported).
     */
    public record Parts(long size, boolean crc32, Executor executor) {
        /** S3's smallest part (all but the last). */
        public static final long MIN_SIZE = 5L << 20;
        /** S3's largest part. */
        public static final long MAX_SIZE = 5L << 30;
        /** S3's most parts in one upload. */
        public static final int MAX_COUNT = 10_000;

        public Parts {
            if (size < MIN_SIZE || size > MAX_SIZE) {
                throw new IllegalArgumentException("a part is " + MIN_SIZE + " to " + MAX_SIZE + " bytes (S3's limits), not " + size);
            }
        }
    }

    private final S3Client s3;
    private final Parts parts;

    public ObjectStore(S3Client s3) {
        this(s3, null);
    }

    /** @param parts how packages go up (null: always in one PUT) */
    public ObjectStore(S3Client s3, Parts parts) {
        this.s3 = s3;
        this.parts = parts;
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

    /** An object read, with the ETag S3 gave it: what a write over it names as the version it replaces. */
    public record Read<T>(T value, String etag) {
    }

    /** As {@link #readJson}, with the object's ETag. */
    public <T> Optional<Read<T>> readJsonWithEtag(String bucket, String key, Class<T> type) throws IOException {
        try (var in = s3.getObject(b -> b.bucket(bucket).key(key))) {
            return Optional.of(new Read<>(Json.MAPPER.readValue(in, type), in.response().eTag()));
        } catch (S3Exception e) {
            return missing(e);
        }
    }

    /**
     * Writes the object only if it is still the version this process read ({@code etagSeen}), or still absent when it
     * read none (null): S3's conditional write, {@code If-Match} or {@code If-None-Match: *}. S3 answers 412 (404 when
     * the object seen is gone) if another writer came in between; that S3Exception is rethrown.
     *
     * @return the ETag S3 gave the object
     */
    public String putJsonOver(String bucket, String key, Object value, String etagSeen) throws IOException {
        PutObjectRequest.Builder put = PutObjectRequest.builder().bucket(bucket).key(key).contentType("application/json");
        put = etagSeen == null ? put.ifNoneMatch("*") : put.ifMatch(etagSeen);
        return s3.putObject(put.build(), RequestBody.fromString(Json.MAPPER.writeValueAsString(value), StandardCharsets.UTF_8)).eTag();
    }

    /** A missing object is an answer, not a failure; anything else S3 says (a missing bucket too) is rethrown. */
    private static <T> Optional<T> missing(S3Exception e) {
        if (e instanceof NoSuchKeyException || e.statusCode() == 404 && !(e instanceof NoSuchBucketException)) {
            return Optional.empty();
        }
        throw e;
    }

    /**
     * The bound on one call that sends a package or a part of one (16 MiB): long enough for a slow link and its retries.
     * The client's own bound (difusor.s3.call-timeout-ms) is for the site and the state, which a new leader must not
     * find overwritten by a former one; a package goes under a key of its own, and the same package twice is the same
     * bytes.
     */
    static final java.time.Duration PACKAGE_CALL_TIMEOUT = java.time.Duration.ofMinutes(15);

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

    /**
     * A package (tens of MB): in parts sent side by side when it is larger than one part, so its copy is not held to
     * one connection's speed, and S3 never shows it before every part is in. Each part is signed over its whole body,
     * so S3 refuses a part that arrives other than it was read; a part S3 refused past the SDK's attempts aborts the
     * upload (no parts left behind) and its failure is rethrown as it was.
     *
     * @return the ETag S3 gave the object
     */
    public String putPackage(String bucket, String key, Path file, String contentType, Map<String, String> metadata) throws IOException {
        return putPackage(bucket, key, file, contentType, metadata, false);
    }

    /**
     * {@link #putPackage}, only where no object is under the key (If-None-Match on the PUT, or on the completion of the
     * parts): S3 answers 412 (PreconditionFailed) when one is there, another copy that landed since the key was found
     * free, or this very one whose first answer was lost. A store that ignores the condition writes over.
     */
    public String createPackage(String bucket, String key, Path file, String contentType, Map<String, String> metadata) throws IOException {
        return putPackage(bucket, key, file, contentType, metadata, true);
    }

    private String putPackage(String bucket, String key, Path file, String contentType, Map<String, String> metadata, boolean onlyIfAbsent)
            throws IOException {
        String ifNoneMatch = onlyIfAbsent ? "*" : null;
        long size = Files.size(file);
        if (parts == null || size <= parts.size()) {
            return s3.putObject(PutObjectRequest.builder().bucket(bucket).key(key).contentType(contentType).metadata(metadata)
                    .ifNoneMatch(ifNoneMatch).overrideConfiguration(o -> o.apiCallTimeout(PACKAGE_CALL_TIMEOUT)).build(),
                    RequestBody.fromFile(file)).eTag();
        }
        long parted = (size + parts.size() - 1) / parts.size();
        if (parted > Parts.MAX_COUNT) {
            // a setting to change, not a failure to retry
            throw new IllegalStateException("s3://" + bucket + "/" + key + ": " + size + " bytes would be " + parted + " parts of " + parts.size()
                    + ", more than S3's " + Parts.MAX_COUNT + "; raise difusor.history.part-size");
        }
        int count = (int) parted;
        ChecksumAlgorithm checksum = parts.crc32() ? ChecksumAlgorithm.CRC32 : null;
        String uploadId = s3.createMultipartUpload(b -> b.bucket(bucket).key(key).contentType(contentType).metadata(metadata)
                .checksumAlgorithm(checksum)).uploadId();
        CompletedPart[] sent = new CompletedPart[count];
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<CompletableFuture<Void>> uploads = new ArrayList<>(count);
        // each part is claimed once: by its thread as it starts, or by this one, interrupted, for a part that never started
        AtomicBoolean[] claimed = new AtomicBoolean[count];
        for (int i = 0; i < count && failure.get() == null; i++) {
            int number = i + 1;
            long offset = i * parts.size();
            long length = Math.min(parts.size(), size - offset);
            AtomicBoolean claim = claimed[i] = new AtomicBoolean();
            Runnable upload = () -> {
                if (!claim.compareAndSet(false, true) || failure.get() != null) {
                    return; // let go by the interrupted copy, or another part failed: the upload is aborted, this one need not go
                }
                try (FileSlice slice = new FileSlice(file, offset, length)) {
                    var answer = s3.uploadPart(b -> b.bucket(bucket).key(key).uploadId(uploadId).partNumber(number)
                            .contentLength(length).checksumAlgorithm(checksum)
                            .overrideConfiguration(o -> o.apiCallTimeout(PACKAGE_CALL_TIMEOUT)),
                            RequestBody.fromContentProvider(slice, length, contentType));
                    sent[number - 1] = CompletedPart.builder().partNumber(number).eTag(answer.eTag())
                            .checksumCRC32(answer.checksumCRC32()).build();
                } catch (IOException | RuntimeException | Error e) {
                    failure.compareAndSet(null, e);
                }
            };
            try {
                uploads.add(CompletableFuture.runAsync(upload, parts.executor()));
            } catch (RejectedExecutionException stopping) {
                // the process is stopping: a transient failure, the package stays in the spool for the next one
                failure.compareAndSet(null, new IOException("s3://" + bucket + "/" + key + ": part uploads are stopping", stopping));
            }
        }
        // every part submitted ends before the upload is completed or aborted, even when this thread is interrupted:
        // an abort while a part still runs would leave that part behind; parts not started yet skip once failure is set
        boolean interrupted = false;
        CompletableFuture<Void> all = CompletableFuture.allOf(uploads.toArray(CompletableFuture[]::new));
        while (!all.isDone()) {
            try {
                all.get();
            } catch (InterruptedException e) {
                interrupted = true;
                failure.compareAndSet(null, new InterruptedIOException("interrupted while uploading the parts of s3://" + bucket + "/" + key));
                // a stop: the pool may have dropped the parts still queued (shutdownNow), whose futures would never end
                for (int i = 0; i < uploads.size(); i++) {
                    if (claimed[i].compareAndSet(false, true)) {
                        uploads.get(i).complete(null);
                    }
                }
            } catch (ExecutionException e) {
                failure.compareAndSet(null, e.getCause());
            }
        }
        try {
            if (failure.get() == null) {
                try {
                    // S3 may take minutes over a large one (AWS sends its 200 early, then whitespace): the package's bound
                    s3.completeMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId).multipartUpload(m -> m.parts(sent))
                            .ifNoneMatch(ifNoneMatch).overrideConfiguration(o -> o.apiCallTimeout(PACKAGE_CALL_TIMEOUT)));
                } catch (RuntimeException e) {
                    // S3 may have completed it with its answer lost: cut short, or late, and the SDK's retry found the
                    // upload gone (NoSuchUpload). The object tells.
                    if (!completedAsSent(bucket, key, size, count, metadata)) {
                        failure.set(e);
                    } else if (e instanceof software.amazon.awssdk.awscore.exception.AwsServiceException refused && refused.statusCode() == 412) {
                        // the same bytes were there already (another copy of the package; or this completion, whose answer
                        // was lost, retried): this upload's parts would stay until the bucket's lifecycle rule took them
                        abortIfOpen(bucket, key, uploadId);
                    }
                }
            }
            if (failure.get() != null) {
                abort(bucket, key, uploadId); // with the interrupt flag cleared, or the SDK would not send it
                throw rethrown(failure.get());
            }
            HeadObjectResponse written = s3.headObject(b -> b.bucket(bucket).key(key));
            if (written.contentLength() != size) {
                throw new IOException("s3://" + bucket + "/" + key + " holds " + written.contentLength() + " bytes after its " + count
                        + " parts, not the file's " + size);
            }
            return written.eTag();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The object is the one this upload made: its size, its metadata and a multipart ETag of as many parts. */
    private boolean completedAsSent(String bucket, String key, long size, int count, Map<String, String> metadata) {
        try {
            return head(bucket, key).filter(h -> h.contentLength() == size && h.metadata().equals(metadata)
                    && h.eTag() != null && h.eTag().replace("\"", "").endsWith("-" + count)).isPresent();
        } catch (SdkException unknown) {
            return false; // not known to be done: aborted, and the completion's own failure goes to the retry channel
        }
    }

    /** As {@link #abort}, quiet when the upload is gone already (completed by an attempt whose answer was lost). */
    private void abortIfOpen(String bucket, String key, String uploadId) {
        try {
            s3.abortMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId));
        } catch (software.amazon.awssdk.services.s3.model.NoSuchUploadException gone) {
            // completed: nothing left to abort
        } catch (SdkException e) {
            LOG.warn("s3://{}/{}: the upload {} could not be aborted: {}", bucket, key, uploadId, e.toString());
        }
    }

    private void abort(String bucket, String key, String uploadId) {
        try {
            s3.abortMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId));
        } catch (SdkException e) {
            // its parts stay until the bucket's lifecycle rule for incomplete uploads removes them (docs/kubernetes.md)
            LOG.warn("s3://{}/{}: the failed upload {} could not be aborted: {}", bucket, key, uploadId, e.toString());
        }
    }

    private static IOException rethrown(Throwable failure) {
        if (failure instanceof RuntimeException runtime) {
            throw runtime; // as the single PUT throws it: the retry channel tells transient from permanent by it
        }
        if (failure instanceof Error error) {
            throw error;
        }
        return failure instanceof IOException io ? io : new IOException(failure);
    }

    /**
     * Bytes {@code offset} to {@code offset + length} of a file, read from disk each time the SDK asks (once for the
     * signature, once to send, again on a retry); the SDK leaves closing its streams to the provider.
     */
    private static final class FileSlice implements ContentStreamProvider, AutoCloseable {
        private final Path file;
        private final long offset;
        private final long length;
        private InputStream open;

        FileSlice(Path file, long offset, long length) {
            this.file = file;
            this.offset = offset;
            this.length = length;
        }

        @Override
        public synchronized InputStream newStream() {
            try {
                close();
                InputStream in = Files.newInputStream(file);
                try {
                    in.skipNBytes(offset);
                } catch (IOException e) {
                    in.close();
                    throw e;
                }
                open = new BoundedStream(in, length);
                return open;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public synchronized void close() throws IOException {
            if (open != null) {
                open.close();
                open = null;
            }
        }
    }

    private static final class BoundedStream extends FilterInputStream {
        private long left;

        BoundedStream(InputStream in, long length) {
            super(in);
            this.left = length;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int b = super.read();
            if (b >= 0) {
                left--;
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int from, int max) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = super.read(buffer, from, (int) Math.min(max, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(Math.min(n, left));
            left -= skipped;
            return skipped;
        }

        @Override
        public int available() throws IOException {
            return (int) Math.min(super.available(), left);
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }
}
