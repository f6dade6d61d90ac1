package mx.prep.difusor.testing;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import mx.prep.difusor.testing.FaultProxy.RequestHead;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class FaultProxyTest {

    private static final String SLOW_DOWN = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            + "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
    private static final byte[] PAYLOAD = pattern(10_000);

    private final ExecutorService upstreamThreads = Executors.newCachedThreadPool(task -> {
        Thread thread = new Thread(task, "fault-proxy-test-upstream");
        thread.setDaemon(true);
        return thread;
    });
    /** "METHOD target bodyBytes expect=..." for every exchange the HTTP upstream completed reading. */
    private final List<String> upstreamLog = new CopyOnWriteArrayList<>();
    private final AtomicLong brokenUploadBytes = new AtomicLong(-1);
    private HttpServer httpUpstream;
    private ServerSocket tcpUpstream;
    private FaultProxy proxy;

    @BeforeEach
    void startUpstreams() throws IOException {
        httpUpstream = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        httpUpstream.setExecutor(upstreamThreads);
        httpUpstream.createContext("/", this::handle);
        httpUpstream.start();

        tcpUpstream = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        upstreamThreads.execute(this::serveTcpUpstream);
    }

    @AfterEach
    void stopEverything() throws IOException {
        if (proxy != null) {
            proxy.close();
        }
        httpUpstream.stop(0);
        tcpUpstream.close();
        upstreamThreads.shutdownNow();
    }

    // ---- HTTP mode -------------------------------------------------------------------------------

    @Test
    void relaysSeveralExchangesOnOneKeepAliveConnection() throws IOException {
        proxy = FaultProxy.http("127.0.0.1", httpPort());

        try (RawClient client = new RawClient(proxy.uri())) {
            client.send("GET /plain?x=1 HTTP/1.1\r\nHost: test\r\n\r\n");
            assertThat(client.read(false).body()).isEqualTo("GET /plain?x=1 0");

            client.send("PUT /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            assertThat(client.read(false).status()).as("interim answer relayed before the body").isEqualTo(100);
            client.send("hello");
            assertThat(client.read(false).body()).isEqualTo("PUT /upload 5");

            client.send("POST /chunked HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
            Response chunked = client.read(false);
            assertThat(chunked.headers()).containsEntry("Transfer-encoding", "chunked");
            assertThat(chunked.body()).isEqualTo("part-1;part-2");

            client.send("HEAD /plain HTTP/1.1\r\nHost: test\r\n\r\n");
            assertThat(client.read(true).status()).isEqualTo(200);

            client.send("DELETE /empty HTTP/1.1\r\nHost: test\r\n\r\n");
            assertThat(client.read(false).status()).isEqualTo(204);

            client.send("GET /last HTTP/1.1\r\nHost: test\r\n\r\n");
            assertThat(client.read(false).body()).as("still in step after HEAD and 204").isEqualTo("GET /last 0");
        }

        assertThat(proxy.connections()).isEqualTo(1);
        assertThat(upstreamLog).containsExactly(
                "GET /plain?x=1 0 expect=null",
                "PUT /upload 5 expect=100-continue",
                "POST /chunked 7 expect=null",
                "HEAD /plain 0 expect=null",
                "DELETE /empty 0 expect=null",
                "GET /last 0 expect=null");
        assertThat(proxy.requests()).extracting(RequestHead::method)
                .containsExactly("GET", "PUT", "POST", "HEAD", "DELETE", "GET");
        RequestHead put = proxy.requests().get(1);
        assertThat(put.header("expect")).isEqualTo("100-continue");
        assertThat(put.header("CONTENT-LENGTH")).isEqualTo("5");
        assertThat(proxy.requests().get(0).path()).isEqualTo("/plain");
        assertThat(proxy.faultsInjected()).isZero();
    }

    @Test
    void opensAFreshUpstreamConnectionWhenTheServerClosedAnIdleOne() throws Exception {
        // a server with an idle timeout (S3Proxy's Jetty: 30 s) closes a persistent connection between two requests;
        // a client talking to it directly would notice and connect again, so the proxy must not answer the next
        // request on that connection with nothing (seen as "the target server failed to respond", attempt after attempt)
        try (ServerSocket closesWhenIdle = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            java.util.concurrent.BlockingQueue<String> served = new java.util.concurrent.LinkedBlockingQueue<>();
            upstreamThreads.execute(() -> {
                while (!closesWhenIdle.isClosed()) {
                    String target = null;
                    try (Socket socket = closesWhenIdle.accept()) {
                        String head = new String(readHead(socket.getInputStream()), ISO_8859_1);
                        target = head.split(" ")[1];
                        socket.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Length: " + target.length() + "\r\n\r\n"
                                + target).getBytes(ISO_8859_1));
                        socket.getOutputStream().flush();
                    } catch (IOException e) {
                        return;
                    } finally {
                        if (target != null) {
                            served.add(target); // after the close: the connection is gone once this is seen
                        }
                    }
                }
            });
            proxy = FaultProxy.http("127.0.0.1", closesWhenIdle.getLocalPort());

            try (RawClient client = new RawClient(proxy.uri())) {
                client.send("GET /first HTTP/1.1\r\nHost: test\r\n\r\n");
                assertThat(client.read(false).body()).isEqualTo("/first");
                assertThat(served.poll(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("/first");

                client.send("GET /second HTTP/1.1\r\nHost: test\r\n\r\n");
                assertThat(client.read(false).body()).as("answered on the same client connection").isEqualTo("/second");
            }
            assertThat(proxy.connections()).isEqualTo(1);
        }
    }

    /** The bytes of one request head, up to and including the empty line. */
    private static byte[] readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        for (int b = in.read(); b >= 0; b = in.read()) {
            head.write(b);
            matched = b == "\r\n\r\n".charAt(matched) ? matched + 1 : (b == '\r' ? 1 : 0);
            if (matched == 4) {
                return head.toByteArray();
            }
        }
        throw new EOFException("connection closed inside a request head");
    }

    @Test
    void answersOnlyTheFirstMatchingPutWith503() throws Exception {
        proxy = FaultProxy.http("127.0.0.1", httpPort())
                .respond(FaultProxy.request("PUT", "/bucket/"), 1, 503, "application/xml", SLOW_DOWN);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

        assertThat(http.send(get("/bucket/a"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        HttpResponse<String> refused = http.send(put("/bucket/a", "data"), HttpResponse.BodyHandlers.ofString());
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.body()).contains("<Code>SlowDown</Code>");
        HttpResponse<String> accepted = http.send(put("/bucket/a", "data"), HttpResponse.BodyHandlers.ofString());
        assertThat(accepted.statusCode()).isEqualTo(200);
        assertThat(accepted.body()).isEqualTo("PUT /bucket/a 4");

        assertThat(upstreamLog).containsExactly("GET /bucket/a 0 expect=null", "PUT /bucket/a 4 expect=null");
        assertThat(proxy.requests(FaultProxy.request("PUT", "/bucket/"))).isEqualTo(2);
        assertThat(proxy.faultsInjected()).isEqualTo(1);
        assertThat(proxy.connections()).as("the 503 closed the pooled connection").isEqualTo(2);
    }

    @Test
    void answersAnExpectContinuePutWithoutReadingItsBody() throws IOException {
        proxy = FaultProxy.http("127.0.0.1", httpPort())
                .respond(FaultProxy.anyRequest(), FaultProxy.ALWAYS, 503, "application/xml", SLOW_DOWN);

        try (RawClient client = new RawClient(proxy.uri())) {
            client.send("PUT /bucket/k HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            Response refused = client.read(false);
            assertThat(refused.status()).isEqualTo(503);
            assertThat(refused.headers()).containsEntry("Connection", "close");
            assertThat(client.in.read()).as("then the proxy closes gracefully").isEqualTo(-1);
        }
        assertThat(upstreamLog).isEmpty();
    }

    @Test
    void answersALargePlainPutSoThatTheClientStillReadsTheAnswer() throws IOException {
        proxy = FaultProxy.http("127.0.0.1", httpPort())
                .respond(FaultProxy.anyRequest(), FaultProxy.ALWAYS, 503, "application/xml", SLOW_DOWN);

        try (RawClient client = new RawClient(proxy.uri())) {
            client.send("PUT /bucket/big HTTP/1.1\r\nHost: test\r\nContent-Length: 4000000\r\n\r\n");
            client.send(new byte[4_000_000]); // more than socket buffers hold: the proxy must read it, not reset
            assertThat(client.read(false).status()).isEqualTo(503);
            assertThat(client.in.read()).isEqualTo(-1);
        }
        assertThat(upstreamLog).isEmpty();
    }

    @Test
    void resetsBeforeForwardingAndOnlyOnce() throws IOException {
        proxy = FaultProxy.http("127.0.0.1", httpPort()).reset(request -> request.path().equals("/doomed"), 1);

        try (RawClient client = new RawClient(proxy.uri())) {
            client.send("GET /doomed HTTP/1.1\r\nHost: test\r\n\r\n");
            assertThatThrownBy(() -> client.read(false))
                    .isInstanceOf(SocketException.class)
                    .hasMessageContaining("reset");
        }
        try (RawClient client = new RawClient(proxy.uri())) {
            client.send("GET /doomed HTTP/1.1\r\nHost: test\r\n\r\n");
            assertThat(client.read(false).status()).isEqualTo(200);
        }
        assertThat(upstreamLog).containsExactly("GET /doomed 0 expect=null");
        assertThat(proxy.faultsInjected()).isEqualTo(1);
    }

    @Test
    void resetsInTheMiddleOfAnUpload() throws IOException {
        proxy = FaultProxy.http("127.0.0.1", httpPort()).resetMidUpload(FaultProxy.request("PUT", "/"), 1, 10_000);

        try (RawClient client = new RawClient(proxy.uri())) {
            client.send("PUT /big HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n\r\n");
            assertThatThrownBy(() -> {
                client.send(new byte[1_000_000]);
                client.read(false);
            }).isInstanceOf(SocketException.class);
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(brokenUploadBytes).hasValue(10_000));
        assertThat(upstreamLog).isEmpty();
        assertThat(proxy.faultsInjected()).isEqualTo(1);
    }

    @Test
    void delaysTheResponse() throws Exception {
        Duration delay = Duration.ofMillis(400);
        proxy = FaultProxy.http("127.0.0.1", httpPort()).delayResponse(FaultProxy.request("GET", "/slow"), 1, delay);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        // warm up client, proxy and upstream so that only the fault can make the next exchange slow
        assertThat(http.send(get("/fast"), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);

        long start = System.nanoTime();
        HttpResponse<String> response = http.send(get("/slow"), HttpResponse.BodyHandlers.ofString());
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(response.body()).isEqualTo("GET /slow 0");
        assertThat(took).isGreaterThanOrEqualTo(delay);
        assertThat(proxy.faultsInjected()).isEqualTo(1);
    }

    @Test
    void stalledBodyRunsIntoTheClientReadTimeout() throws IOException {
        proxy = FaultProxy.http("127.0.0.1", httpPort()).stallResponseBody(FaultProxy.request("GET", "/stuck"), 1);

        HttpURLConnection connection =
                (HttpURLConnection) proxy.uri().resolve("/stuck").toURL().openConnection(Proxy.NO_PROXY);
        connection.setReadTimeout(2000);
        try {
            assertThat(connection.getResponseCode()).as("the head still arrives").isEqualTo(200);
            assertThatThrownBy(() -> connection.getInputStream().readAllBytes())
                    .isInstanceOf(SocketTimeoutException.class);
        } finally {
            connection.disconnect();
        }
        assertThat(proxy.faultsInjected()).isEqualTo(1);
    }

    @Test
    void closeReleasesStalledConnectionsAndEndsAllThreads() throws IOException {
        proxy = FaultProxy.http("127.0.0.1", httpPort()).stallResponseBody(FaultProxy.anyRequest(), FaultProxy.ALWAYS);
        String threadPrefix = "fault-proxy-" + proxy.port() + "-";

        try (RawClient client = new RawClient(proxy.uri())) {
            client.send("GET /stuck HTTP/1.1\r\nHost: test\r\n\r\n");
            assertThat(client.readLine()).startsWith("HTTP/1.1 200");
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.faultsInjected() == 1);

            proxy.close();

            client.readHeaders();
            assertThat(client.in.read()).as("the proxy hung up").isEqualTo(-1);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(thread -> thread.isAlive() && thread.getName().startsWith(threadPrefix)));
    }

    @Test
    void rejectsRulesOfTheOtherMode() {
        proxy = FaultProxy.tcp("127.0.0.1", tcpPort());
        assertThatThrownBy(() -> proxy.reset(FaultProxy.anyRequest(), 1)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> proxy.closeAfterBytes(1, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    // ---- TCP mode --------------------------------------------------------------------------------

    @Test
    void tcpModeRelaysUntouchedWithoutFaults() {
        proxy = FaultProxy.tcp("127.0.0.1", tcpPort());

        Download download = download(5_000);

        assertThat(download.failure()).isNull();
        assertThat(download.bytes()).isEqualTo(PAYLOAD);
        assertThat(proxy.connections()).isEqualTo(1);
    }

    @Test
    void tcpModeClosesEarlyButGracefullyOnlyOnce() {
        proxy = FaultProxy.tcp("127.0.0.1", tcpPort()).closeAfterBytes(4_000, 1);

        Download first = download(5_000);
        Download second = download(5_000);

        assertThat(first.failure()).isNull();
        assertThat(first.bytes()).isEqualTo(Arrays.copyOf(PAYLOAD, 4_000));
        assertThat(second.failure()).isNull();
        assertThat(second.bytes()).isEqualTo(PAYLOAD);
        assertThat(proxy.connections()).isEqualTo(2);
        assertThat(proxy.faultsInjected()).isEqualTo(1);
    }

    @Test
    void tcpModeResetsAfterBytes() {
        proxy = FaultProxy.tcp("127.0.0.1", tcpPort()).resetAfterBytes(4_000, 1);

        Download download = download(5_000);

        assertThat(download.failure()).isInstanceOf(SocketException.class).hasMessageContaining("reset");
        assertThat(download.bytes()).isEqualTo(Arrays.copyOf(PAYLOAD, 4_000));
    }

    @Test
    void tcpModeStallsAfterBytes() {
        proxy = FaultProxy.tcp("127.0.0.1", tcpPort()).stallAfterBytes(4_000, 1);

        Download download = download(2000);

        assertThat(download.failure()).isInstanceOf(SocketTimeoutException.class);
        assertThat(download.bytes()).isEqualTo(Arrays.copyOf(PAYLOAD, 4_000));
    }

    @Test
    void tcpModeDripsTheRest() {
        Duration interval = Duration.ofMillis(20);
        proxy = FaultProxy.tcp("127.0.0.1", tcpPort()).dripAfterBytes(9_000, 100, interval, 1);

        Download download = download(5_000);

        assertThat(download.failure()).isNull();
        assertThat(download.bytes()).isEqualTo(PAYLOAD);
        assertThat(download.took()).as("1000 bytes in 100-byte drips").isGreaterThanOrEqualTo(interval.multipliedBy(10));
        assertThat(proxy.faultsInjected()).isEqualTo(1);
    }

    @Test
    void tcpModeSilencesOpenConnectionsWhileNewOnesGetThrough() throws Exception {
        proxy = FaultProxy.tcp("127.0.0.1", tcpPort());
        try (Socket open = new Socket("127.0.0.1", proxy.port())) {
            open.setSoTimeout(1000);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> proxy.connections() == 1);
            proxy.silenceOpenConnections();
            // its request is lost on the way, and no answer comes: nothing closed, nothing reset
            open.getOutputStream().write("GO\n".getBytes(ISO_8859_1));
            assertThatThrownBy(() -> open.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);

            Download fresh = download(5_000);
            assertThat(fresh.failure()).isNull();
            assertThat(fresh.bytes()).isEqualTo(PAYLOAD);
        }
    }

    // ---- upstreams and clients -------------------------------------------------------------------

    /** Echoes "METHOD target bodyBytes"; /chunked answers chunked, /empty answers 204. */
    private void handle(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        String target = exchange.getRequestURI().toString();
        long received = 0;
        try (InputStream body = exchange.getRequestBody()) {
            byte[] buffer = new byte[8192];
            for (int read; (read = body.read(buffer)) != -1; ) {
                received += read;
            }
        } catch (IOException e) {
            brokenUploadBytes.set(received);
            throw e;
        }
        upstreamLog.add(method + " " + target + " " + received + " expect="
                + exchange.getRequestHeaders().getFirst("Expect"));
        try (OutputStream out = exchange.getResponseBody()) {
            if (target.startsWith("/chunked")) {
                exchange.sendResponseHeaders(200, 0);
                out.write("part-1;".getBytes(UTF_8));
                out.flush();
                out.write("part-2".getBytes(UTF_8));
            } else if (target.startsWith("/empty")) {
                exchange.sendResponseHeaders(204, -1);
            } else {
                byte[] answer = (method + " " + target + " " + received).getBytes(UTF_8);
                exchange.sendResponseHeaders(200, method.equals("HEAD") ? -1 : answer.length);
                if (!method.equals("HEAD")) {
                    out.write(answer);
                }
            }
        }
    }

    /** Per connection: waits for one line, sends PAYLOAD, closes. */
    private void serveTcpUpstream() {
        while (!tcpUpstream.isClosed()) {
            try {
                Socket socket = tcpUpstream.accept();
                upstreamThreads.execute(() -> {
                    try (socket) {
                        InputStream in = socket.getInputStream();
                        for (int b = in.read(); b != -1 && b != '\n'; b = in.read()) {
                            // the request line only says "go"
                        }
                        socket.getOutputStream().write(PAYLOAD);
                    } catch (IOException e) {
                        // the proxy cut the connection: that is what these tests do
                    }
                });
            } catch (IOException e) {
                return;
            }
        }
    }

    private record Download(byte[] bytes, IOException failure, Duration took) {
    }

    /** Asks the TCP upstream for PAYLOAD through the proxy and reads until EOF, recording how it ended. */
    private Download download(int readTimeoutMillis) {
        long start = System.nanoTime();
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        IOException failure = null;
        try (Socket socket = new Socket("127.0.0.1", proxy.port())) {
            socket.setSoTimeout(readTimeoutMillis);
            socket.getOutputStream().write("GO\n".getBytes(ISO_8859_1));
            byte[] buffer = new byte[1024];
            for (int read; (read = socket.getInputStream().read(buffer)) != -1; ) {
                received.write(buffer, 0, read);
            }
        } catch (IOException e) {
            failure = e;
        }
        return new Download(received.toByteArray(), failure, Duration.ofNanos(System.nanoTime() - start));
    }

    private int httpPort() {
        return httpUpstream.getAddress().getPort();
    }

    private int tcpPort() {
        return tcpUpstream.getLocalPort();
    }

    private HttpRequest get(String path) {
        return HttpRequest.newBuilder(proxy.uri().resolve(path)).timeout(Duration.ofSeconds(5)).GET().build();
    }

    private HttpRequest put(String path, String body) {
        return HttpRequest.newBuilder(proxy.uri().resolve(path)).timeout(Duration.ofSeconds(5))
                .PUT(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static byte[] pattern(int size) {
        byte[] bytes = new byte[size];
        for (int i = 0; i < size; i++) {
            bytes[i] = (byte) (i * 31 + i / 256);
        }
        return bytes;
    }

    private record Response(int status, Map<String, String> headers, String body) {
    }

    /** A bare HTTP/1.1 client, so the tests decide exactly what goes on the wire and when. */
    private static final class RawClient implements Closeable {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        RawClient(URI uri) throws IOException {
            socket = new Socket(uri.getHost(), uri.getPort());
            socket.setSoTimeout(5_000);
            in = new BufferedInputStream(socket.getInputStream());
            out = socket.getOutputStream();
        }

        void send(String text) throws IOException {
            send(text.getBytes(ISO_8859_1));
        }

        void send(byte[] bytes) throws IOException {
            out.write(bytes);
            out.flush();
        }

        Response read(boolean toHead) throws IOException {
            String statusLine = readLine();
            if (statusLine == null) {
                throw new EOFException("connection closed instead of a response");
            }
            int status = Integer.parseInt(statusLine.split(" ")[1]);
            Map<String, String> headers = readHeaders();
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            if (toHead || status < 200 || status == 204 || status == 304) {
                return new Response(status, headers, "");
            }
            if ("chunked".equalsIgnoreCase(headers.get("Transfer-Encoding"))) {
                for (int size; (size = Integer.parseInt(readLine().trim(), 16)) > 0; readLine()) {
                    body.write(in.readNBytes(size));
                }
                readLine(); // empty trailer section
            } else {
                body.write(in.readNBytes(Integer.parseInt(headers.get("Content-Length"))));
            }
            return new Response(status, headers, body.toString(UTF_8));
        }

        Map<String, String> readHeaders() throws IOException {
            Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            for (String line = readLine(); line != null && !line.isEmpty(); line = readLine()) {
                int colon = line.indexOf(':');
                headers.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
            }
            return headers;
        }

        String readLine() throws IOException {
            StringBuilder line = new StringBuilder();
            for (int b; (b = in.read()) != -1; ) {
                if (b == '\n') {
                    return line.toString().stripTrailing();
                }
                line.append((char) b);
            }
            return line.length() == 0 ? null : line.toString();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
