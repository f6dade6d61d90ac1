package mx.prep.difusor.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Debian's chromium, headless: a page meant for people is checked as a browser renders it, scripts run. */
public final class Chromium {

    private Chromium() {
    }

    /** The DOM after the page loaded, with a profile of its own under {@code profile}. */
    public static String dom(URI page, Path profile) throws Exception {
        return dom(page, profile, 5000);
    }

    /** As {@link #dom(URI, Path)}, after {@code virtualMillis} of the page's time (its timers run that long). */
    public static String dom(URI page, Path profile, int virtualMillis) throws Exception {
        ExternalTool.require("chromium");
        Process chromium = new ProcessBuilder("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile,
                "--virtual-time-budget=" + virtualMillis, "--dump-dom", page.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String dom = new String(chromium.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(chromium.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return dom;
    }

    /**
     * The page open in a headless Chromium that runs in real time, read through its DevTools protocol whenever the test
     * asks: {@link #dom} waits on virtual time, which stands still while a request is pending, so a page that must
     * give up on a request that never ends cannot be seen doing it there.
     */
    public static LivePage live(URI page, Path profile) throws Exception {
        ExternalTool.require("chromium");
        Process chromium = new ProcessBuilder("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile,
                "--remote-debugging-port=0", page.toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/…" on its error stream
            var lines = new java.io.BufferedReader(new java.io.InputStreamReader(chromium.getErrorStream(), StandardCharsets.UTF_8));
            String port = null;
            for (String line = lines.readLine(); line != null && port == null; line = lines.readLine()) {
                var listening = java.util.regex.Pattern.compile("DevTools listening on ws://127\\.0\\.0\\.1:(\\d+)/").matcher(line);
                port = listening.find() ? listening.group(1) : null;
            }
            assertThat(port).as("chromium's DevTools port").isNotNull();
            // the rest of its error stream drained, so it never blocks on a full pipe
            Thread drain = new Thread(() -> {
                try {
                    lines.transferTo(java.io.Writer.nullWriter());
                } catch (java.io.IOException gone) {
                    // chromium stopped
                }
            }, "chromium-stderr");
            drain.setDaemon(true);
            drain.start();
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            var targets = com.fasterxml.jackson.databind.json.JsonMapper.builder().build().readTree(http.send(java.net.http.HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/json/list")).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body());
            String socket = null;
            for (var target : targets) {
                if ("page".equals(target.path("type").asText()) && target.path("url").asText().startsWith(page.toString())) {
                    socket = target.path("webSocketDebuggerUrl").asText();
                }
            }
            assertThat(socket).as("the page's DevTools socket").isNotNull();
            return new LivePage(chromium, http, URI.create(socket));
        } catch (Exception | AssertionError e) {
            chromium.destroyForcibly();
            throw e;
        }
    }

    /** A page open in a real-time Chromium; closing it stops the browser. */
    public static final class LivePage implements AutoCloseable {

        private final Process chromium;
        private final java.net.http.WebSocket socket;
        private final java.util.concurrent.BlockingQueue<String> answers = new java.util.concurrent.LinkedBlockingQueue<>();
        private int nextId;

        private LivePage(Process chromium, java.net.http.HttpClient http, URI socketUri) throws Exception {
            this.chromium = chromium;
            this.socket = http.newWebSocketBuilder().buildAsync(socketUri, new java.net.http.WebSocket.Listener() {
                private final StringBuilder message = new StringBuilder();

                @Override
                public java.util.concurrent.CompletionStage<?> onText(java.net.http.WebSocket ws, CharSequence data, boolean last) {
                    message.append(data);
                    if (last) {
                        answers.add(message.toString());
                        message.setLength(0);
                    }
                    ws.request(1);
                    return null;
                }
            }).get(30, TimeUnit.SECONDS);
        }

        /** The page's DOM as it is now. */
        public synchronized String dom() throws Exception {
            int id = ++nextId;
            var mapper = com.fasterxml.jackson.databind.json.JsonMapper.builder().build();
            var call = mapper.createObjectNode().put("id", id).put("method", "Runtime.evaluate");
            call.putObject("params").put("expression", "document.documentElement.outerHTML").put("returnByValue", true);
            socket.sendText(call.toString(), true).get(30, TimeUnit.SECONDS);
            for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); System.nanoTime() < until;) {
                String answer = answers.poll(1, TimeUnit.SECONDS);
                var read = answer == null ? null : mapper.readTree(answer);
                if (read != null && read.path("id").asInt() == id) {
                    return read.path("result").path("result").path("value").asText();
                }
            }
            throw new AssertionError("chromium did not answer within 30 s");
        }

        /**
         * Stops the browser and every process it started: its renderer and helpers outlive it by a moment, writing into
         * the profile, and the test's temporary folder then failed to delete ("chromium/Default" not empty). Taken
         * before the browser stops: once it has, they are no longer its descendants.
         */
        @Override
        public void close() throws Exception {
            socket.abort();
            List<ProcessHandle> helpers = chromium.descendants().toList();
            chromium.destroy();
            if (!chromium.waitFor(10, TimeUnit.SECONDS)) {
                chromium.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            for (ProcessHandle helper : helpers) {
                helper.destroy();
                try {
                    helper.onExit().get(10, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException stillThere) {
                    helper.destroyForcibly();
                    helper.onExit().get(10, TimeUnit.SECONDS);
                }
            }
        }
    }
}
