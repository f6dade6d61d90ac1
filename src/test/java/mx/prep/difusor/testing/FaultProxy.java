package mx.prep.difusor.testing;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Fault-injecting TCP proxy for tests. It listens on 127.0.0.1 in front of a real upstream, so faults happen
 * on the wire, where the connection pools, retries and timeouts of the code under test meet them.
 *
 * <p>{@link #http} parses HTTP/1.1 exchanges on persistent connections and sabotages single requests;
 * {@link #tcp} parses nothing (use it for TLS) and sabotages the upstream-to-client bytes of new connections.
 * A rule applies to the next {@code times} matches, or to all of them with {@link #ALWAYS}; the first
 * registered rule that matches wins, and rules may change while traffic flows. Heads are relayed verbatim
 * (Host is not rewritten), so AWS SigV4 signatures stay valid. Each client connection gets its own upstream
 * connection; when upstream closes it between two requests (a server's idle timeout), the next request goes on a new
 * one, as a client talking to the server directly would connect again.
 */
public final class FaultProxy implements AutoCloseable {

    /** Pass as {@code times} to keep a rule active until {@link #clearFaults()}. */
    public static final int ALWAYS = -1;

    private static final long CHUNKED = -1;
    private static final long UNTIL_CLOSE = -2;
    private static final int MAX_HEAD = 64 * 1024;
    private static final int POLL_MILLIS = 50;
    private static final int LINGER_MILLIS = 2_000;

    private enum Fault {
        RESPOND, RESET, RESET_MID_UPLOAD, DELAY, HOLD_ANSWER, HOLD_REQUEST, STALL_BODY, TCP_RESET, TCP_STALL, TCP_DRIP, TCP_CLOSE;

        boolean tcp() {
            return name().startsWith("TCP_");
        }
    }

    /** A request as seen on the wire; header names are case-insensitive. */
    public record RequestHead(String method, String target, Map<String, List<String>> headers) {
        /** The target without its query string. */
        public String path() {
            int query = target.indexOf('?');
            return query < 0 ? target : target.substring(0, query);
        }

        /** First value of the header, or null. */
        public String header(String name) {
            List<String> values = headers.get(name);
            return values == null || values.isEmpty() ? null : values.get(0);
        }
    }

    /** Matches every request. */
    public static Predicate<RequestHead> anyRequest() {
        return request -> true;
    }

    /** Matches requests with this method (any case) whose path starts with {@code pathPrefix}. */
    public static Predicate<RequestHead> request(String method, String pathPrefix) {
        return request -> request.method().equalsIgnoreCase(method) && request.path().startsWith(pathPrefix);
    }

    private record Rule(Fault fault, Predicate<RequestHead> when, AtomicInteger remaining, long bytes, int chunkSize,
            Duration duration, byte[] response) {

        /** Claims one use of the rule if it matches; ALWAYS (-1) is never used up. */
        boolean tryConsume(RequestHead head) {
            return (when == null || when.test(head)) && remaining.getAndUpdate(n -> n > 0 ? n - 1 : n) != 0;
        }
    }

    private final boolean httpMode;
    private final InetSocketAddress upstreamAddress;
    private final ServerSocket server;
    private final ExecutorService threads;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final List<Rule> rules = new CopyOnWriteArrayList<>();
    private final List<RequestHead> seen = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger faults = new AtomicInteger();
    private final AtomicInteger releasedHolds = new AtomicInteger();
    private final List<Integer> delayedAnswersRelayedAt = new CopyOnWriteArrayList<>();
    private volatile CountDownLatch holdGate = new CountDownLatch(1);
    private volatile CountDownLatch answerGate = new CountDownLatch(1);
    private final AtomicInteger answersTimedOut = new AtomicInteger();
    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile Predicate<RequestHead> disguisedETags;
    private volatile java.util.function.Function<RequestHead, Integer> preconditions;
    private volatile boolean cut;
    /** Client connections whose path is gone without a word: nothing relayed either way, nothing closed. */
    private final Set<Socket> silenced = ConcurrentHashMap.newKeySet();

    private FaultProxy(boolean httpMode, String upstreamHost, int upstreamPort) {
        this.httpMode = httpMode;
        this.upstreamAddress = new InetSocketAddress(upstreamHost, upstreamPort);
        try {
            server = new ServerSocket(0, 50, InetAddress.getByAddress(new byte[] {127, 0, 0, 1}));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on 127.0.0.1", e);
        }
        String prefix = "fault-proxy-" + server.getLocalPort() + "-"; // by port, so tests can see them end
        AtomicInteger count = new AtomicInteger();
        threads = Executors.newCachedThreadPool(task -> {
            Thread thread = new Thread(task, prefix + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        threads.execute(this::acceptLoop);
    }

    /** A proxy that understands HTTP/1.1 and can sabotage individual requests. */
    public static FaultProxy http(String upstreamHost, int upstreamPort) {
        return new FaultProxy(true, upstreamHost, upstreamPort);
    }

    /** A proxy that relays opaque bytes (e.g. TLS) and can sabotage whole connections. */
    public static FaultProxy tcp(String upstreamHost, int upstreamPort) {
        return new FaultProxy(false, upstreamHost, upstreamPort);
    }

    public int port() {
        return server.getLocalPort();
    }

    /** {@code http://127.0.0.1:port} (in front of TLS, use https with the same port). */
    public URI uri() {
        return URI.create("http://127.0.0.1:" + port());
    }

    /** HTTP: answers matching requests itself, nothing reaching upstream, with Connection: close, then closes. */
    public FaultProxy respond(Predicate<RequestHead> when, int times, int status, String contentType, String body) {
        return add(Fault.RESPOND, when, times, 0, 0, null, answer(status, contentType, body));
    }

    /** HTTP: as {@link #respond}, after {@code delay}: a refusal that comes while other requests are on their way. */
    public FaultProxy respondAfter(Duration delay, Predicate<RequestHead> when, int times, int status, String contentType, String body) {
        return add(Fault.RESPOND, when, times, 0, 0, Objects.requireNonNull(delay), answer(status, contentType, body));
    }

    private static byte[] answer(int status, String contentType, String body) {
        byte[] payload = body.getBytes(UTF_8);
        ByteArrayOutputStream response = new ByteArrayOutputStream();
        response.writeBytes(("HTTP/1.1 " + status + " Fault Injected\r\nContent-Type: " + contentType
                + "\r\nContent-Length: " + payload.length + "\r\nConnection: close\r\n\r\n").getBytes(ISO_8859_1));
        response.writeBytes(payload);
        return response.toByteArray();
    }

    /** HTTP: resets the client connection (RST) once a matching head arrives; nothing is forwarded. */
    public FaultProxy reset(Predicate<RequestHead> when, int times) {
        return add(Fault.RESET, when, times, 0, 0, null, null);
    }

    /** HTTP: forwards the head and the first {@code afterBodyBytes} body bytes as framed on the wire, then resets. */
    public FaultProxy resetMidUpload(Predicate<RequestHead> when, int times, long afterBodyBytes) {
        return add(Fault.RESET_MID_UPLOAD, when, times, afterBodyBytes, 0, null, null);
    }

    /** HTTP: forwards normally but holds upstream's final response for {@code delay} before relaying it. */
    public FaultProxy delayResponse(Predicate<RequestHead> when, int times, Duration delay) {
        return add(Fault.DELAY, when, times, 0, 0, Objects.requireNonNull(delay), null);
    }

    /**
     * HTTP: forwards normally but holds upstream's final response until {@link #releaseAnswers()}, for at most
     * {@code atMost}: the test says when the answer comes (after a step that takes however long the machine takes),
     * where a fixed delay may run out before it on a slow machine.
     */
    public FaultProxy holdAnswer(Predicate<RequestHead> when, int times, Duration atMost) {
        return add(Fault.HOLD_ANSWER, when, times, 0, 0, Objects.requireNonNull(atMost), null);
    }

    /** Answers {@link #holdAnswer} let go because its time ran out before {@link #releaseAnswers()}. */
    public int answersTimedOut() {
        return answersTimedOut.get();
    }

    /** Lets every answer held now by {@link #holdAnswer} go to its client at once. */
    public void releaseAnswers() {
        CountDownLatch released = answerGate;
        answerGate = new CountDownLatch(1);
        released.countDown();
    }

    /**
     * HTTP: holds a matching request for {@code delay} before anything of it reaches upstream: an upload still on its
     * way, which lands late. {@link #releasedHolds()} counts those answered since.
     */
    public FaultProxy holdRequest(Predicate<RequestHead> when, int times, Duration delay) {
        return add(Fault.HOLD_REQUEST, when, times, 0, 0, Objects.requireNonNull(delay), null);
    }

    /** Lets every request held now by {@link #holdRequest} go on at once. */
    public void releaseHolds() {
        CountDownLatch released = holdGate;
        holdGate = new CountDownLatch(1);
        released.countDown();
    }

    /** Requests held by {@link #holdRequest} that have since been forwarded and answered. */
    public int releasedHolds() {
        return releasedHolds.get();
    }

    /** HTTP: relays the response head, then nothing, until the client gives up or the proxy closes. */
    public FaultProxy stallResponseBody(Predicate<RequestHead> when, int times) {
        return add(Fault.STALL_BODY, when, times, 0, 0, null, null);
    }

    /** TCP: resets a new connection once upstream has sent it more than {@code downstreamBytes}. */
    public FaultProxy resetAfterBytes(long downstreamBytes, int times) {
        return add(Fault.TCP_RESET, null, times, downstreamBytes, 0, null, null);
    }

    /** TCP: stops relaying after {@code downstreamBytes}, keeping the connection open until the client leaves. */
    public FaultProxy stallAfterBytes(long downstreamBytes, int times) {
        return add(Fault.TCP_STALL, null, times, downstreamBytes, 0, null, null);
    }

    /** TCP: after {@code downstreamBytes}, relays the rest in {@code chunkSize} pieces, pausing before each. */
    public FaultProxy dripAfterBytes(long downstreamBytes, int chunkSize, Duration interval, int times) {
        if (chunkSize <= 0) {
            throw new IllegalArgumentException("chunkSize must be positive");
        }
        return add(Fault.TCP_DRIP, null, times, downstreamBytes, chunkSize, Objects.requireNonNull(interval), null);
    }

    /** TCP: closes gracefully (FIN) once upstream has sent more than {@code downstreamBytes}. */
    public FaultProxy closeAfterBytes(long downstreamBytes, int times) {
        return add(Fault.TCP_CLOSE, null, times, downstreamBytes, 0, null, null);
    }

    /**
     * HTTP: from now on, answers to matching requests carry ETags that are not the content's MD5, as S3 gives objects
     * encrypted with SSE-KMS: every single-part ETag (32 hex digits) in a response head or an XML body (a listing) is
     * replaced by the MD5 of itself and a salt, the same for the same object. Multipart ETags ({@code -N}) are left.
     */
    public FaultProxy disguiseETags(Predicate<RequestHead> when) {
        if (!httpMode) {
            throw new IllegalStateException("ETags are disguised by a proxy made by FaultProxy.http");
        }
        disguisedETags = Objects.requireNonNull(when);
        return this;
    }

    private static final java.util.regex.Pattern SINGLE_PART_ETAG =
            java.util.regex.Pattern.compile("(\"|&quot;|&#34;)([0-9a-f]{32})(\"|&quot;|&#34;)");

    /** Every single-part ETag in the text replaced by the disguised one. */
    static String disguised(String text) {
        return SINGLE_PART_ETAG.matcher(text).replaceAll(m -> java.util.regex.Matcher.quoteReplacement(
                m.group(1) + disguisedETag(m.group(2)) + m.group(3)));
    }

    private static String disguisedETag(String md5) {
        try {
            byte[] digest = java.security.MessageDigest.getInstance("MD5").digest((md5 + "/sse-kms").getBytes(ISO_8859_1));
            return java.util.HexFormat.of().formatHex(digest);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * HTTP: S3's conditional writes in front of an endpoint that ignores them (S3Proxy 2.7 does on PUT). {@code verdict}
     * is asked about each request at the moment it would be relayed, after any hold: null relays it; 412 or 404 answers
     * it as S3 does (PreconditionFailed, NoSuchKey) without relaying it. The server's behaviour, not a fault: kept
     * through {@link #clearFaults()} and not counted in {@link #faultsInjected()}.
     */
    public FaultProxy preconditions(java.util.function.Function<RequestHead, Integer> verdict) {
        if (!httpMode) {
            throw new IllegalStateException("preconditions are read by a proxy made by FaultProxy.http");
        }
        preconditions = Objects.requireNonNull(verdict);
        return this;
    }

    /** Drops every rule and ends a cut; faults already under way carry on, counters are kept. */
    public void clearFaults() {
        rules.clear();
        cut = false;
    }

    /**
     * The network between the two sides gone, in either mode: every open connection reset, every new one reset as it
     * comes, until {@link #clearFaults()}. For a client that keeps its connections (HTTP/2, keep-alive) and would
     * never open the new one a per-connection fault waits for.
     */
    public FaultProxy cutOff() {
        cut = true;
        faults.incrementAndGet();
        sockets.forEach(this::abort);
        return this;
    }

    /**
     * TCP: the path of every connection open now gone without a word (the server's address moved behind its name, a
     * NAT entry dropped): whatever either side sends is lost, nothing is closed or reset, and only the client's own
     * timeouts end them. New connections are relayed as usual. Not undone by {@link #clearFaults()}: such a connection
     * never comes back.
     */
    public FaultProxy silenceOpenConnections() {
        if (httpMode) {
            throw new IllegalStateException("connections are silenced by a proxy made by FaultProxy.tcp");
        }
        faults.incrementAndGet();
        silenced.addAll(sockets);
        return this;
    }

    /** Heads of all requests seen (HTTP mode), in arrival order, sabotaged ones included. */
    public List<RequestHead> requests() {
        synchronized (seen) {
            return List.copyOf(seen);
        }
    }

    /**
     * For each response {@link #delayResponse} held, once relayed: how many requests had arrived when it was. A request
     * the client sent only after that answer is at this index of {@link #requests()} or later.
     */
    public List<Integer> delayedAnswersRelayedAt() {
        return List.copyOf(delayedAnswersRelayedAt);
    }

    /** How many requests seen so far match. */
    public int requests(Predicate<RequestHead> matching) {
        return (int) requests().stream().filter(matching).count();
    }

    /** Faults that actually fired (a TCP rule whose connection never reached its byte count did not). */
    public int faultsInjected() {
        return faults.get();
    }

    /** Client connections accepted so far. */
    public int connections() {
        return connections.get();
    }

    /** Closes the listener and every connection, and waits for the proxy's threads to end. */
    @Override
    public void close() {
        closed.countDown();
        holdGate.countDown();
        answerGate.countDown();
        closeQuietly(server);
        sockets.forEach(this::closeQuietly);
        threads.shutdownNow();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private FaultProxy add(Fault fault, Predicate<RequestHead> when, int times, long bytes, int chunkSize,
            Duration duration, byte[] response) {
        if (fault.tcp() == httpMode) {
            throw new IllegalStateException(fault + " needs a proxy made by FaultProxy." + (httpMode ? "tcp" : "http"));
        }
        if ((times <= 0 && times != ALWAYS) || bytes < 0) {
            throw new IllegalArgumentException("times must be positive or ALWAYS, byte counts not negative");
        }
        if (httpMode) {
            Objects.requireNonNull(when, "predicate");
        }
        rules.add(new Rule(fault, when, new AtomicInteger(times), bytes, chunkSize, duration, response));
        return this;
    }

    /** The first rule that matches, with one of its uses consumed; null when none does. */
    private Rule match(RequestHead head) {
        for (Rule rule : rules) {
            if (rule.tryConsume(head)) {
                return rule;
            }
        }
        return null;
    }

    // ---- plumbing --------------------------------------------------------------------------------

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = track(server.accept());
                connections.incrementAndGet();
                if (cut) {
                    abort(client);
                    continue;
                }
                threads.execute(() -> serve(client));
            } catch (IOException | RejectedExecutionException e) {
                // the proxy is closing (the loop ends) or one accept failed (the next may not)
            }
        }
    }

    private void serve(Socket client) {
        try {
            if (httpMode) {
                new HttpSession(client).run();
            } else {
                serveTcp(client);
            }
        } catch (IOException | RejectedExecutionException e) {
            // a peer hung up or the proxy is closing: nothing left to relay
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeQuietly(client);
        }
    }

    private Socket openUpstream() throws IOException {
        Socket socket = track(new Socket());
        try {
            socket.connect(upstreamAddress, 5_000);
            socket.setTcpNoDelay(true);
            return socket;
        } catch (IOException e) {
            closeQuietly(socket);
            throw e;
        }
    }

    private Socket track(Socket socket) throws SocketException {
        sockets.add(socket);
        if (closed.getCount() == 0) {
            closeQuietly(socket); // raced with close(): must not outlive the proxy
        } else if (socket.isConnected()) {
            socket.setTcpNoDelay(true); // tiny writes (drips, 100 Continue) must leave at once
        }
        return socket;
    }

    private void closeQuietly(AutoCloseable closeable) {
        if (closeable == null) {
            return; // e.g. a session that never needed its upstream connection
        }
        try {
            closeable.close();
        } catch (Exception ignored) {
            // already gone
        }
        sockets.remove(closeable);
        silenced.remove(closeable);
    }

    /** Closes with SO_LINGER 0, so the peer gets an RST instead of a FIN. */
    private void abort(Socket socket) {
        try {
            socket.setSoLinger(true, 0);
        } catch (IOException ignored) {
            // closing anyway
        }
        closeQuietly(socket);
    }

    private void injected() {
        faults.incrementAndGet();
    }

    /** Holds a request for {@code duration}, or until {@link #releaseHolds()}; cut short when the proxy closes. */
    private void hold(Duration duration) throws IOException {
        hold(holdGate, duration);
    }

    /** Waits until the gate opens, for at most {@code duration}; cut short when the proxy closes. @return false: timed out */
    private boolean hold(CountDownLatch gate, Duration duration) throws IOException {
        boolean opened;
        try {
            opened = gate.await(duration.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("proxy closed");
        }
        if (closed.getCount() == 0) {
            throw new SocketException("proxy closed");
        }
        return opened;
    }

    /** Waits as the fault itself, never as synchronisation; cut short when the proxy closes. */
    private void pause(Duration duration) throws IOException {
        try {
            if (closed.await(duration.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new SocketException("proxy closed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("proxy closed");
        }
    }

    // ---- TCP mode --------------------------------------------------------------------------------

    private void serveTcp(Socket client) throws IOException, InterruptedException {
        Rule rule = match(null);
        Socket upstream = openUpstream();
        CountDownLatch clientDone = new CountDownLatch(1);
        try {
            threads.execute(() -> {
                try {
                    InputStream in = client.getInputStream();
                    OutputStream out = upstream.getOutputStream();
                    byte[] buffer = new byte[8192];
                    for (int read; (read = in.read(buffer)) != -1; ) {
                        if (!silenced.contains(client)) {
                            out.write(buffer, 0, read);
                        }
                    }
                    upstream.shutdownOutput(); // pass the client's FIN on
                } catch (IOException e) {
                    closeQuietly(client);
                    closeQuietly(upstream);
                } finally {
                    clientDone.countDown();
                }
            });
            if (relayDownstream(upstream.getInputStream(), client, rule, clientDone)) {
                client.shutdownOutput(); // pass upstream's FIN on, then let the client finish its side
                clientDone.await();
            }
        } finally {
            closeQuietly(upstream);
        }
    }

    /** Relays upstream-to-client bytes, applying the connection's fault; true if upstream simply ended. */
    private boolean relayDownstream(InputStream in, Socket client, Rule rule, CountDownLatch clientDone)
            throws IOException, InterruptedException {
        OutputStream out = client.getOutputStream();
        long budget = rule == null ? Long.MAX_VALUE : rule.bytes();
        boolean fired = false;
        byte[] buffer = new byte[8192];
        for (int read; (read = in.read(buffer)) != -1; ) {
            if (silenced.contains(client)) {
                continue;   // lost on the way
            }
            int clean = (int) Math.min(read, budget);
            out.write(buffer, 0, clean);
            budget -= clean;
            if (clean == read) {
                continue;
            }
            if (!fired) {
                fired = true;
                injected();
            }
            switch (rule.fault()) {
                case TCP_DRIP -> {
                    drip(out, buffer, clean, read - clean, rule);
                    continue;
                }
                case TCP_RESET -> abort(client);
                case TCP_CLOSE -> client.shutdownOutput();
                default -> clientDone.await(); // stalled until the client leaves or the proxy closes
            }
            return false;
        }
        return true;
    }

    private void drip(OutputStream out, byte[] buffer, int from, int length, Rule rule) throws IOException {
        for (int offset = from, end = from + length; offset < end; offset += rule.chunkSize()) {
            pause(rule.duration());
            out.write(buffer, offset, Math.min(rule.chunkSize(), end - offset));
        }
    }

    // ---- HTTP mode -------------------------------------------------------------------------------

    /** One client connection, relayed exchange by exchange over its own upstream connection. */
    private final class HttpSession {
        private final Socket client;
        private final InputStream clientIn;
        private final OutputStream clientOut;
        private Socket upstream;
        private InputStream upIn;
        private OutputStream upOut;

        HttpSession(Socket client) throws IOException {
            this.client = client;
            this.clientIn = new BufferedInputStream(client.getInputStream());
            this.clientOut = new BufferedOutputStream(client.getOutputStream());
        }

        void run() throws IOException {
            try {
                while (exchange()) {
                    // the next request on the same persistent connection
                }
            } finally {
                closeQuietly(upstream);
            }
        }

        /** Relays, or sabotages, one exchange; false when the connection must end. */
        private boolean exchange() throws IOException {
            Head request = Head.read(clientIn);
            if (request == null) {
                return false;
            }
            RequestHead head = request.toRequestHead();
            seen.add(head);
            Rule rule = match(head);
            Fault fault = rule == null ? null : rule.fault();
            if (fault == Fault.RESPOND) {
                if (rule.duration() != null) {
                    pause(rule.duration());
                }
                answerLocally(request, rule.response(), true);
                return false;
            }
            if (fault == Fault.RESET) {
                injected();
                abort(client);
                return false;
            }
            if (fault == Fault.HOLD_REQUEST) {
                injected();
                hold(rule.duration());
            }
            Integer refused = preconditions == null ? null : preconditions.apply(head);
            if (refused != null) {
                answerLocally(request, refused == 404
                        ? answer(404, "application/xml", "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>")
                        : answer(refused, "application/xml", "<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions"
                                + " you specified did not hold</Message></Error>"), false);
                return false;
            }
            if (upstream != null && upstreamHungUp()) {
                closeQuietly(upstream); // nothing of this request was sent on it yet
                upstream = null;
            }
            if (upstream == null) {
                upstream = openUpstream();
                upIn = new BufferedInputStream(upstream.getInputStream());
                upOut = new BufferedOutputStream(upstream.getOutputStream());
            }
            upOut.write(request.raw());
            long body = request.requestBody();
            if (body != 0 && request.expectsContinue()) {
                upOut.flush();
                Head refusal = awaitContinue();
                if (refusal != null) { // the client may still send the body or not: this connection is done
                    relayResponse(head, refusal, rule);
                    return false;
                }
            }
            try {
                copyBody(clientIn, fault == Fault.RESET_MID_UPLOAD ? new Cutoff(upOut, rule.bytes()) : upOut, body);
            } catch (Cutoff.Reached e) {
                // the upload stops right here
            }
            if (fault == Fault.RESET_MID_UPLOAD) {
                injected();
                abort(client);
                return false;
            }
            upOut.flush();
            boolean goesOn = relayResponse(head, readFinalResponse(), rule) && request.keepAlive();
            if (fault == Fault.HOLD_REQUEST) {
                releasedHolds.incrementAndGet();
            }
            return goesOn;
        }

        /** Answers without upstream, then closes the way a server that sent Connection: close would. */
        private void answerLocally(Head request, byte[] response, boolean fault) throws IOException {
            if (fault) {
                injected();
            }
            if (!request.expectsContinue()) {
                // unread request bytes would turn our close into an RST that can destroy the answer
                copyBody(clientIn, OutputStream.nullOutputStream(), request.requestBody());
            }
            clientOut.write(response);
            clientOut.flush();
            client.shutdownOutput();
            client.setSoTimeout(LINGER_MILLIS);
            awaitHangUp(); // lingering close: the client reads the answer and leaves first
        }

        /**
         * Waits for upstream's verdict on {@code Expect: 100-continue}, relaying interim responses. Returns null
         * when the body may go (100 relayed, or the client stopped waiting and started sending it), otherwise
         * the final response upstream sent instead.
         */
        private Head awaitContinue() throws IOException {
            while (true) {
                if (!upstreamHasBytes()) {
                    if (clientIn.available() > 0) {
                        return null; // upstream may never send 100: do not deadlock waiting for it
                    }
                    continue;
                }
                Head answer = Head.read(upIn);
                if (answer == null) {
                    throw new EOFException("upstream closed before answering");
                }
                if (answer.status() >= 200) {
                    return answer;
                }
                clientOut.write(answer.raw());
                clientOut.flush();
                if (answer.status() == 100) {
                    return null;
                }
            }
        }

        /** Waits briefly for upstream bytes (or its EOF) without consuming them. */
        /** True when upstream closed the idle connection since the last exchange (end of stream or a reset). */
        private boolean upstreamHungUp() throws IOException {
            upstream.setSoTimeout(1);
            try {
                upIn.mark(1);
                int next = upIn.read();
                upIn.reset();
                return next < 0;
            } catch (SocketTimeoutException e) {
                return false; // open and quiet, as it should be between exchanges
            } catch (SocketException e) {
                return true;
            } finally {
                if (!upstream.isClosed()) {
                    upstream.setSoTimeout(0);
                }
            }
        }

        private boolean upstreamHasBytes() throws IOException {
            upstream.setSoTimeout(POLL_MILLIS);
            try {
                upIn.mark(1);
                upIn.read();
                upIn.reset();
                return true;
            } catch (SocketTimeoutException e) {
                return false;
            } finally {
                upstream.setSoTimeout(0);
            }
        }

        /** Reads upstream's final response, relaying interim (1xx) ones as they come. */
        private Head readFinalResponse() throws IOException {
            Head answer = Head.read(upIn);
            while (answer != null && answer.status() < 200) {
                clientOut.write(answer.raw());
                clientOut.flush();
                answer = Head.read(upIn);
            }
            return answer;
        }

        /** Relays a final response, applying response-side faults; false when the connection must end. */
        private boolean relayResponse(RequestHead request, Head response, Rule rule) throws IOException {
            if (response == null) {
                return false; // upstream hung up without answering: so does the proxy
            }
            Fault fault = rule == null ? null : rule.fault();
            if (fault == Fault.DELAY || fault == Fault.HOLD_ANSWER) {
                CountDownLatch gate = answerGate;   // taken before the test can see the fault and release it
                injected();
                if (fault == Fault.DELAY) {
                    pause(rule.duration());
                } else if (!hold(gate, rule.duration())) {
                    answersTimedOut.incrementAndGet();
                }
                // before the client can have it: a request it sends once answered arrives at this index or later
                delayedAnswersRelayedAt.add(seen.size());
            }
            Predicate<RequestHead> disguise = disguisedETags;
            if (disguise != null && fault == null && disguise.test(request)) {
                return relayDisguised(request, response);
            }
            clientOut.write(response.raw());
            if (fault == Fault.STALL_BODY) {
                injected();
                clientOut.flush();
                awaitHangUp();
                return false;
            }
            long body = response.responseBody(request.method());
            copyBody(upIn, clientOut, body);
            clientOut.flush();
            return body != UNTIL_CLOSE && response.keepAlive();
        }

        /** Relays a response with its ETags disguised: the head's, and those of an XML body, which is re-framed whole. */
        private boolean relayDisguised(RequestHead request, Head response) throws IOException {
            long framing = response.responseBody(request.method());
            String head = disguisedHeadLines(response, null);
            boolean xml = response.headers().getOrDefault("Content-Type", List.of()).stream().anyMatch(t -> t.contains("xml"));
            if (framing == 0 || framing == UNTIL_CLOSE || !xml) {
                clientOut.write(head.getBytes(ISO_8859_1));
                copyBody(upIn, clientOut, framing);
                clientOut.flush();
                return framing != UNTIL_CLOSE && response.keepAlive();
            }
            ByteArrayOutputStream raw = new ByteArrayOutputStream();
            copyBody(upIn, raw, framing);
            byte[] body = disguised(new String(framing == CHUNKED ? dechunked(raw.toByteArray()) : raw.toByteArray(), UTF_8)).getBytes(UTF_8);
            clientOut.write(disguisedHeadLines(response, body.length).getBytes(ISO_8859_1));
            clientOut.write(body);
            clientOut.flush();
            return response.keepAlive();
        }

        /** The head again, its ETag disguised; with a body length, framed by Content-Length instead of chunks. */
        private static String disguisedHeadLines(Head response, Integer bodyLength) {
            StringBuilder head = new StringBuilder(response.startLine()).append("\r\n");
            response.headers().forEach((name, values) -> {
                if (bodyLength != null && (name.equalsIgnoreCase("Transfer-Encoding") || name.equalsIgnoreCase("Content-Length"))) {
                    return;
                }
                for (String value : values) {
                    head.append(name).append(": ").append(name.equalsIgnoreCase("ETag") ? disguised(value) : value).append("\r\n");
                }
            });
            if (bodyLength != null) {
                head.append("Content-Length: ").append(bodyLength).append("\r\n");
            }
            return head.append("\r\n").toString();
        }

        private static byte[] dechunked(byte[] chunked) throws IOException {
            InputStream in = new java.io.ByteArrayInputStream(chunked);
            ByteArrayOutputStream plain = new ByteArrayOutputStream();
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            for (long size = -1; size != 0; ) {
                line.reset();
                size = Long.parseLong(readLine(in, line).split(";", 2)[0].trim(), 16);
                copyExactly(in, plain, size);
                line.reset();
                readLine(in, line); // the chunk's CRLF (or the trailer's end)
            }
            return plain.toByteArray();
        }

        /** Discards client input until the client leaves, its read times out, or the proxy closes. */
        private void awaitHangUp() {
            try {
                clientIn.transferTo(OutputStream.nullOutputStream());
            } catch (IOException e) {
                // any of the three ends the wait
            }
        }
    }

    /** A request or response head, kept byte for byte so it can be relayed verbatim. */
    private record Head(byte[] raw, String startLine, Map<String, List<String>> headers) {

        /** Reads a head; null if the stream ends cleanly before one starts. */
        static Head read(InputStream in) throws IOException {
            ByteArrayOutputStream raw = new ByteArrayOutputStream(512);
            String start;
            do {
                raw.reset(); // empty lines between messages are dropped
                start = readLine(in, raw);
                if (start == null) {
                    return null;
                }
            } while (start.isEmpty());
            Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            for (String line = readLine(in, raw); !line.isEmpty(); line = readLine(in, raw)) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    headers.computeIfAbsent(line.substring(0, colon).trim(), name -> new ArrayList<>())
                            .add(line.substring(colon + 1).trim());
                }
            }
            return new Head(raw.toByteArray(), start, headers);
        }

        RequestHead toRequestHead() {
            String[] parts = startLine.split(" ");
            Map<String, List<String>> copy = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            headers.forEach((name, values) -> copy.put(name, List.copyOf(values)));
            return new RequestHead(parts[0], parts.length > 1 ? parts[1] : "", Collections.unmodifiableMap(copy));
        }

        boolean hasToken(String name, String token) {
            return headers.getOrDefault(name, List.of()).stream()
                    .flatMap(value -> Arrays.stream(value.split(",")))
                    .anyMatch(item -> item.trim().equalsIgnoreCase(token));
        }

        int status() {
            return Integer.parseInt(startLine.split(" ", 3)[1]);
        }

        boolean expectsContinue() {
            return hasToken("Expect", "100-continue");
        }

        boolean keepAlive() {
            boolean http10 = startLine.startsWith("HTTP/1.0") || startLine.endsWith("HTTP/1.0");
            return http10 ? hasToken("Connection", "keep-alive") : !hasToken("Connection", "close");
        }

        /** Request body: CHUNKED or a byte count (0 for none). */
        long requestBody() {
            return headers.containsKey("Transfer-Encoding") ? CHUNKED : contentLength(0);
        }

        /** Response body: none for HEAD, 1xx, 204 and 304; else CHUNKED, a byte count, or UNTIL_CLOSE. */
        long responseBody(String requestMethod) {
            int status = status();
            if ("HEAD".equalsIgnoreCase(requestMethod) || status < 200 || status == 204 || status == 304) {
                return 0;
            }
            if (headers.containsKey("Transfer-Encoding")) {
                return hasToken("Transfer-Encoding", "chunked") ? CHUNKED : UNTIL_CLOSE;
            }
            return contentLength(UNTIL_CLOSE);
        }

        private long contentLength(long otherwise) {
            List<String> values = headers.get("Content-Length");
            return values == null ? otherwise : Long.parseLong(values.get(0));
        }
    }

    // ---- byte shovelling -------------------------------------------------------------------------

    private static void copyBody(InputStream in, OutputStream out, long framing) throws IOException {
        if (framing == CHUNKED) {
            copyChunked(in, out);
        } else if (framing == UNTIL_CLOSE) {
            byte[] buffer = new byte[8192];
            for (int read; (read = in.read(buffer)) != -1; ) {
                out.write(buffer, 0, read);
                out.flush();
            }
        } else {
            copyExactly(in, out, framing);
        }
    }

    private static void copyExactly(InputStream in, OutputStream out, long count) throws IOException {
        byte[] buffer = new byte[8192];
        while (count > 0) {
            int read = in.read(buffer, 0, (int) Math.min(buffer.length, count));
            if (read < 0) {
                throw new EOFException("connection closed inside a body");
            }
            out.write(buffer, 0, read);
            count -= read;
        }
    }

    /** Relays a chunked body verbatim, flushing after each chunk so that streaming stays streaming. */
    private static void copyChunked(InputStream in, OutputStream out) throws IOException {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        for (long size = -1; size != 0; ) {
            raw.reset();
            String sizeLine = readLine(in, raw);
            if (sizeLine == null) {
                throw new EOFException("connection closed inside a chunked body");
            }
            raw.writeTo(out);
            size = Long.parseLong(sizeLine.split(";", 2)[0].trim(), 16);
            copyExactly(in, out, size == 0 ? 0 : size + 2); // chunk data and its CRLF
            out.flush();
        }
        raw.reset();
        while (!readLine(in, raw).isEmpty()) {
            // trailer fields, up to the closing empty line
        }
        raw.writeTo(out);
        out.flush();
    }

    /**
     * Reads one LF- or CRLF-terminated line as ISO-8859-1, appending its raw bytes to {@code raw}. Returns null
     * at a clean end of stream; an end inside a line, or inside a head or trailer begun in {@code raw}, is an error.
     */
    private static String readLine(InputStream in, ByteArrayOutputStream raw) throws IOException {
        // a line's bytes gathered here and handed to raw once, not raw's lock and size per byte (every S3 request of every
        // test goes through here)
        byte[] line = new byte[128];
        int length = 0;
        int before = raw.size();
        for (int b; (b = in.read()) != -1; ) {
            if (length == line.length) {
                line = java.util.Arrays.copyOf(line, length * 2);
            }
            line[length++] = (byte) b;
            if (b == '\n') {
                raw.write(line, 0, length);
                int end = length - 1;
                return new String(line, 0, end > 0 && line[end - 1] == '\r' ? end - 1 : end, java.nio.charset.StandardCharsets.ISO_8859_1);
            }
            if (before + length > MAX_HEAD) {
                throw new IOException("head or line too large");
            }
        }
        raw.write(line, 0, length);
        if (raw.size() > 0) {
            throw new EOFException("connection closed inside a message head");
        }
        return null;
    }

    /** Lets the first {@code limit} bytes through, then flushes and throws {@link Reached}. */
    private static final class Cutoff extends FilterOutputStream {
        private long left;

        Cutoff(OutputStream out, long limit) {
            super(out);
            this.left = limit;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            int allowed = (int) Math.min(length, left);
            out.write(bytes, offset, allowed);
            left -= allowed;
            if (allowed < length) {
                out.flush();
                throw new Reached();
            }
        }

        private static final class Reached extends IOException {
            private static final long serialVersionUID = 1L;
        }
    }
}
