package mx.prep.difusor.probe;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

class ServedBodyTest {

    /** 64 MiB in 64 KiB buffers, as the HTTP client hands them over: the first MiB kept, all of it hashed. */
    @Test
    void aLargeBodyIsHashedWholeAndOnlyItsHeadIsKept() throws Exception {
        HttpResponse.BodySubscriber<ServedBody> body = subscribed();
        MessageDigest expected = MessageDigest.getInstance("SHA-256");
        byte[] chunk = new byte[64 * 1024];
        for (int i = 0; i < 1024; i++) {
            Arrays.fill(chunk, (byte) i);
            chunk[0] = (byte) (i >> 8);
            expected.update(chunk);
            body.onNext(List.of(ByteBuffer.wrap(chunk.clone())));
        }
        body.onComplete();

        ServedBody served = body.getBody().toCompletableFuture().get(1, TimeUnit.SECONDS);
        assertThat(served.sha256()).isEqualTo(HexFormat.of().formatHex(expected.digest()));
        assertThat(served.head()).hasSize(1 << 20);
        assertThat(served.head()[0]).isZero();
        assertThat(served.head()[(1 << 20) - 1]).isEqualTo((byte) 15);
    }

    /** A subscriber as the HTTP client holds it once subscribed, keeping 1 MiB. */
    private static HttpResponse.BodySubscriber<ServedBody> subscribed() {
        HttpResponse.BodySubscriber<ServedBody> body = ServedBody.keeping(1 << 20).apply(null);
        body.onSubscribe(new Flow.Subscription() {
            @Override
            public void request(long n) {
            }

            @Override
            public void cancel() {
            }
        });
        return body;
    }

    @Test
    void aSmallBodyIsKeptWhole() throws Exception {
        HttpResponse.BodySubscriber<ServedBody> body = subscribed();
        body.onNext(List.of(ByteBuffer.wrap("<base ".getBytes()), ByteBuffer.wrap("href=\"/\">".getBytes())));
        body.onComplete();
        ServedBody served = body.getBody().toCompletableFuture().get(1, TimeUnit.SECONDS);
        assertThat(new String(served.head())).isEqualTo("<base href=\"/\">");
        assertThat(served.sha256()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest("<base href=\"/\">".getBytes())));
    }
}
