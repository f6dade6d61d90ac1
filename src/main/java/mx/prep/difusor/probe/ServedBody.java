package mx.prep.difusor.probe;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

import mx.prep.difusor.verify.ChecksumFilter;

/**
 * What the probe keeps of a public file: its SHA-256, hashed as it streams in, and only its first bytes. Read whole
 * into memory, a published index.html of hundreds of MB (the unpacker reads 1 MiB of it) ran every pod out of heap
 * within a probe or two of each start.
 *
 * @param head   the first bytes of the body, at most the handler's limit
 * @param sha256 of the whole body, lower-case hex
 */
record ServedBody(byte[] head, String sha256) {

    /** A body handler that keeps {@code headBytes} of the body and hashes all of it. */
    static HttpResponse.BodyHandler<ServedBody> keeping(int headBytes) {
        return info -> new Subscriber(headBytes);
    }

    private static final class Subscriber implements HttpResponse.BodySubscriber<ServedBody> {

        private final int headBytes;
        private final ByteArrayOutputStream head = new ByteArrayOutputStream();
        private final MessageDigest sha256 = ChecksumFilter.newSha256();
        private final CompletableFuture<ServedBody> result = new CompletableFuture<>();

        Subscriber(int headBytes) {
            this.headBytes = headBytes;
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            subscription.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            for (ByteBuffer b : buffers) {
                int room = headBytes - head.size();
                if (room > 0) {
                    byte[] start = new byte[Math.min(room, b.remaining())];
                    b.duplicate().get(start);
                    head.writeBytes(start);
                }
                sha256.update(b);
            }
        }

        @Override
        public void onError(Throwable throwable) {
            result.completeExceptionally(throwable);
        }

        @Override
        public void onComplete() {
            result.complete(new ServedBody(head.toByteArray(), HexFormat.of().formatHex(sha256.digest())));
        }

        @Override
        public CompletionStage<ServedBody> getBody() {
            return result;
        }
    }
}
