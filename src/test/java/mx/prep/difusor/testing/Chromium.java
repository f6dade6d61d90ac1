package mx.prep.difusor.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
}
