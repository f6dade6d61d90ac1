package mx.prep.difusor.source;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.TransientFailureException;
import mx.prep.difusor.state.Corte;
import mx.prep.difusor.state.CorteParser;

/**
 * Downloads a package to a spool file, streaming, never holding the zip in memory. The JDK client's own timeout
 * covers only the response headers, so this also enforces a read timeout (no bytes for too long) and a total
 * deadline, and logs progress for long downloads.
 */
public final class PackageDownloader {

    private static final Logger LOG = LoggerFactory.getLogger(PackageDownloader.class);
    private static final Pattern SAFE_NAME = PackageNames.SAFE;
    /** Exchange property: when the offer's download, all attempts together, must be done (System.nanoTime()). */
    static final String DOWNLOAD_UNTIL = "difusorDownloadUntil";
    private static final Pattern DISPOSITION_NAME = Pattern.compile("(?<![*\\w])filename\\s*=\\s*\"?([^\";]+)\"?", Pattern.CASE_INSENSITIVE);
    /** filename*=charset'language'percent-encoded (RFC 5987) */
    private static final Pattern DISPOSITION_EXTENDED_NAME = Pattern.compile("filename\\*\\s*=\\s*\"?([^';\"]+)'[^']*'([^;\"]+)\"?", Pattern.CASE_INSENSITIVE);

    private final SecureHttp http;
    /** Offers whose zip answered 404/403, since when: "not there yet" for a while, then a failure to report. */
    private final java.util.Map<String, Instant> missingSince = new java.util.concurrent.ConcurrentHashMap<>();
    private final CorteParser corteParser;
    private final Path spoolDir;
    private final Duration readTimeout;
    private final Duration deadline;
    private final Duration progressInterval;
    private final long maxBytes;
    private final Clock clock;
    private final DifusorMetrics metrics;
    /** The longest wait a Retry-After may ask of the next attempt (difusor.source.max-retry-after-ms). */
    private final Duration mostRetryAfter;
    /** The retry channel's backoff (difusor.retry.initial-delay-ms, max-delay-ms): a Retry-After never shortens it. */
    private final Duration retryFirstDelay;
    private final Duration retryMostDelay;

    public PackageDownloader(SecureHttp http, CorteParser corteParser, Path spoolDir, Duration readTimeout,
            Duration deadline, Duration progressInterval, long maxBytes, Duration mostRetryAfter, Duration retryFirstDelay,
            Duration retryMostDelay, Clock clock, DifusorMetrics metrics) {
        this.metrics = metrics;
        this.mostRetryAfter = mostRetryAfter;
        this.retryFirstDelay = retryFirstDelay;
        this.retryMostDelay = retryMostDelay;
        this.http = http;
        this.corteParser = corteParser;
        this.spoolDir = spoolDir;
        this.readTimeout = readTimeout;
        this.deadline = deadline;
        this.progressInterval = progressInterval;
        this.maxBytes = maxBytes;
        this.clock = clock;
        forgetPartialDownloads();
    }

    /**
     * Downloads cut short by a killed container: one process downloads one package at a time, so at its start any
     * {@code .part} file is an earlier one's, never to be finished; the work volume outlives the container.
     */
    private void forgetPartialDownloads() {
        if (!Files.isDirectory(spoolDir)) {
            return;
        }
        try (var parts = Files.newDirectoryStream(spoolDir, "download-*.part")) {
            for (Path part : parts) {
                LOG.info("a download cut short by an earlier process removed: {} ({} bytes)", part, Files.size(part));
                Files.delete(part);
            }
        } catch (IOException e) {
            LOG.warn("cannot remove the downloads cut short in {} ({})", spoolDir, e.toString());
        }
    }

    /** Camel entry point: the body is a {@link PackageOffer}; the spooled package becomes an exchange property. */
    public PrepPackage download(PackageOffer offer, Exchange exchange) throws IOException, InterruptedException {
        exchange.setProperty(PackageOffer.PROPERTY, offer);
        // one deadline for the offer, not for each attempt: six attempts that each trickle until the deadline held the
        // poll, and any newer corte, for an hour and a half
        Long until = exchange.getProperty(DOWNLOAD_UNTIL, Long.class);
        if (until == null) {
            until = System.nanoTime() + deadline.toNanos();
            exchange.setProperty(DOWNLOAD_UNTIL, until);
        }
        // an earlier attempt's Retry-After: the retry channel has waited it out, and it must not hold the later steps' retries
        exchange.getIn().removeHeader(Exchange.REDELIVERY_DELAY);
        PrepPackage pkg;
        try {
            pkg = download(offer, until);
        } catch (AskedToWait e) {
            // the retry channel's next wait is the one the institute asked for (Camel reads it from this header) when longer
            // than its own backoff: 2 s after a 503 that asked for a minute added to the load of a server already overloaded,
            // and a WAF's "Retry-After: 1" at every answer would spend every retry in seconds
            int done = exchange.getIn().getHeader(Exchange.REDELIVERY_COUNTER, 0, Integer.class);
            long backoff = Math.min(retryMostDelay.toMillis(), retryFirstDelay.toMillis() << Math.min(done, 20));
            long waitMillis = Math.max(e.wait.toMillis(), backoff);
            if (System.nanoTime() + waitMillis * 1_000_000 >= until) {
                // waited out, the next attempt would only find the deadline passed: said now, with the institute's answer
                throw new DownloadOutOfTimeException(e.getMessage() + "; waiting " + waitMillis / 1000 + " s more ends past the download"
                        + " deadline of " + deadline.toSeconds() + " s, all attempts together");
            }
            exchange.getIn().setHeader(Exchange.REDELIVERY_DELAY, waitMillis);
            throw new AskedToWait(e.getMessage() + ": the next attempt waits " + waitMillis / 1000 + " s", e.wait);
        }
        exchange.setProperty(PrepPackage.PROPERTY, pkg);
        // the spool file is only a working copy: the package lives on in the history or the quarantine
        exchange.getExchangeExtension().addOnCompletion(new SpoolCleanup(pkg, SpoolCleanup.Spool.DELETE_ONCE_SAFE));
        return pkg;
    }

    public PrepPackage download(PackageOffer offer) throws IOException, InterruptedException {
        return download(offer, System.nanoTime() + deadline.toNanos());
    }

    private PrepPackage download(PackageOffer offer, long until) throws IOException, InterruptedException {
        if (System.nanoTime() >= until) {
            throw new DownloadOutOfTimeException(offer + ": download not finished within the deadline of " + deadline.toSeconds()
                    + " s, all attempts together");
        }
        if (offer.announcedSize() != null && offer.announcedSize() > maxBytes) {
            // as large again at every attempt: refused before a byte is fetched
            throw new PackageTooLargeException(offer + ": announced with " + offer.announcedSize() + " bytes, more than " + maxBytes
                    + " (difusor.source.max-package-bytes)");
        }
        URI uri = http.checked(offer.packageUri());
        // before the spool file: a request that cannot be made leaves no file open behind it
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(readTimeout).GET().build();
        Files.createDirectories(spoolDir);
        Path part = Files.createTempFile(spoolDir, "download-", ".part");
        long started = System.nanoTime();
        Spooler spooler = new Spooler(FileChannel.open(part, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING), maxBytes);
        java.util.concurrent.atomic.AtomicLong declaredTooLarge = new java.util.concurrent.atomic.AtomicLong(-1);
        CompletableFuture<HttpResponse<Long>> pending = http.send(request, info -> {
            if (info.statusCode() != 200) {
                spooler.discard();
                // the status is all we need: awaiting an error page's body let a stalled one hold the poll until the deadline
                return new SecureHttp.Unread<Long>();
            }
            long declared = info.headers().firstValueAsLong("Content-Length").orElse(-1);
            if (declared > maxBytes) {
                // said by its length before its body: not fetched up to the limit at every attempt and after every pause
                declaredTooLarge.set(declared);
                spooler.discard();
                return new SecureHttp.Unread<Long>();
            }
            return spooler;
        });
        HttpResponse<Long> response;
        try {
            response = await(offer, pending, spooler, started, until);
        } catch (IOException | InterruptedException | RuntimeException e) {
            // whatever ended the wait (a refused redirect, an interrupt, a stall): no more bytes go to the spool file,
            // and its channel is closed
            abort(pending, spooler);
            Files.deleteIfExists(part);
            throw e;
        }
        int status = response.statusCode();
        if (declaredTooLarge.get() > maxBytes) {
            Files.deleteIfExists(part);
            throw new PackageTooLargeException(offer + ": GET " + SecureHttp.shown(uri) + " announces " + declaredTooLarge.get() + " bytes"
                    + " (Content-Length), more than " + maxBytes + " (difusor.source.max-package-bytes)");
        }
        if (status != 404 && status != 403) {
            // there now: a later 404 of the same offer (paused, fetched again) starts its own "not there yet"
            missingSince.remove(offer.key());
        }
        if (status != 200) {
            Files.deleteIfExists(part);
            String what = offer + ": GET " + SecureHttp.shown(uri) + " answered HTTP " + status;
            if (status == 404 || status == 403) {
                Instant since = missingSince.computeIfAbsent(offer.key(), k -> clock.instant());
                if (Duration.between(since, clock.instant()).compareTo(deadline) < 0) {
                    throw new NotYetOnOfferException(what + ": the zip is not there yet; asked again at the next poll");
                }
                // announced and still missing after the download deadline: a wrong URL, an expired signature, a WAF
                throw new DownloadOutOfTimeException(what + ": the zip has not been there since " + since + ", for longer than the download "
                        + "deadline of " + deadline.toSeconds() + " s");
            }
            if (status == 429 || status == 503) {
                Optional<Duration> wait = ConditionalGet.retryAfter(response.headers().firstValue("Retry-After").orElse(null), clock, mostRetryAfter);
                if (wait.isPresent()) {
                    throw new AskedToWait(what + " with Retry-After " + wait.get().toSeconds() + " s", wait.get());
                }
            }
            throw status >= 500 || status == 429 || status == 408 ? new TransientFailureException(what) : new NotAPackageException(what);
        }
        String contentType = response.headers().firstValue("Content-Type").orElse("");
        if (contentType.toLowerCase(Locale.ROOT).startsWith("text/html")) {
            Files.deleteIfExists(part);
            // typically a maintenance or error page served with 200: the institute may fix it, so retry
            throw new NotAPackageException(offer + ": GET " + SecureHttp.shown(uri) + " returned an HTML page (Content-Type " + contentType + "), not a zip");
        }
        String name = packageName(offer, response.headers().firstValue("Content-Disposition"), uri, response.uri(),
                n -> corteParser.fromPackageName(n).isPresent());

        Path spooled = spoolUnder(part, spoolDir.resolve(name));
        long bytes = spooler.bytes();
        double seconds = Math.max(1e-3, (System.nanoTime() - started) / 1e9);
        Corte corte = corte(offer, name);
        Corte named = corteParser.fromPackageName(name).orElse(null);
        if (corte != null && named != null && !corte.equals(named)) {
            // the manifest's field decides (a name need not hold the corte), but a field copied from the entry before
            // makes this corte stale or ahead, and such a refusal is remembered: said, so a person can tell which is wrong
            // the name's clock time under another offset: a local time labelled Z (or UTC-5) is read hours off, and the
            // name may be the right one; the offset form is the one that cannot be misread, so it still decides
            boolean sameClock = Corte.asWritten(offer.announcedCorte() == null ? "" : offer.announcedCorte()).filter(named::equals).isPresent();
            LOG.warn("{}: the manifest announces corte {}, its name says {}; published as corte {} (the manifest's){}", offer, corte, named,
                    corte, sameClock ? "; the manifest's '" + offer.announcedCorte().trim() + "' is the name's clock time under an offset that is not "
                            + corteParser.zone() + "'s: if it labels the institute's local time, whoever writes the manifest must fix the offset" : "");
        }
        PrepPackage pkg = new PrepPackage(name, normalisedChecksum(offer.announcedSha256()), offer.announcedSize(), corte,
                SecureHttp.shown(uri), clock.instant());
        pkg.spooled(spooled, bytes);
        pkg.namedByItsDownload(offer.packageName() == null);
        pkg.checksumNames(offer.checksumNames());
        pkg.sidecarSha256(normalisedChecksum(offer.sidecarSha256()));
        pkg.stageTook("download", Math.round(seconds * 1000));
        metrics.received();
        metrics.announced(corte);
        LOG.info("{}: downloaded {} bytes from {} in {} s ({} MB/s)", pkg, bytes, SecureHttp.shown(uri), String.format(Locale.ROOT, "%.2f", seconds),
                String.format(Locale.ROOT, "%.1f", bytes / 1e6 / seconds));
        return pkg;
    }

    private HttpResponse<Long> await(PackageOffer offer, CompletableFuture<HttpResponse<Long>> pending, Spooler spooler, long started,
            long deadlineAt) throws IOException, InterruptedException {
        long nextProgress = started + progressInterval.toNanos();
        while (true) {
            try {
                return pending.get(200, TimeUnit.MILLISECONDS);
            } catch (TimeoutException still) {
                long now = System.nanoTime();
                if (now > deadlineAt) {
                    abort(pending, spooler);
                    throw new DownloadOutOfTimeException(offer + ": download not finished within the deadline of "
                            + deadline.toSeconds() + " s, all attempts together (" + spooler.bytes() + " bytes received in this one)");
                }
                if (spooler.started() && now - spooler.lastBytesAt() > readTimeout.toNanos()) {
                    abort(pending, spooler);
                    throw new TransientFailureException(offer + ": download stalled, no bytes for " + readTimeout.toSeconds()
                            + " s (" + spooler.bytes() + " bytes received)");
                }
                if (now >= nextProgress) {
                    double seconds = (now - started) / 1e9;
                    LOG.info("{}: downloading, {} bytes so far ({} MB/s)", offer, spooler.bytes(),
                            String.format(Locale.ROOT, "%.1f", spooler.bytes() / 1e6 / seconds));
                    nextProgress = now + progressInterval.toNanos();
                }
            } catch (ExecutionException failed) {
                Throwable cause = failed.getCause();
                if (cause instanceof SecureHttp.RedirectRefusedException refused) {
                    throw new NotAPackageException(offer + ": " + refused.getMessage());
                }
                if (cause instanceof TooLargeException tooLarge) {
                    throw new PackageTooLargeException(offer + ": " + tooLarge.getMessage() + " (difusor.source.max-package-bytes)");
                }
                throw new TransientFailureException(offer + ": download failed: " + cause, cause);
            }
        }
    }

    private static void abort(CompletableFuture<?> pending, Spooler spooler) {
        spooler.discard();
        pending.cancel(true);
    }

    /**
     * An offer's corte counts as announced before its download, at every poll: a package that cannot be fetched (a host
     * refusing TLS, a deadline too short) still makes the publication lag grow, and its alert fire; so does, after a
     * restart, one refused for good that the ledger does not fetch again.
     */
    public void announce(@org.apache.camel.Body PackageOffer offer) {
        // the same offer again (an unchanged manifest) changes nothing, and would repeat a warning at every poll
        if (offer == null || offer.key().equals(lastAnnounced)) {
            return;
        }
        lastAnnounced = offer.key();
        metrics.announced(corte(offer, offer.packageName()));
    }

    /** The offer announced last (only the poll routes announce, one poll at a time). */
    private volatile String lastAnnounced;

    private Corte corte(PackageOffer offer, String name) {
        if (offer.announcedCorte() != null && !offer.announcedCorte().isBlank()) {
            try {
                return corteParser.announced(offer.announcedCorte());
            } catch (IllegalArgumentException e) {
                LOG.warn("{}: the announced corte '{}' is not readable; using the package name", offer, offer.announcedCorte());
            }
        }
        return name == null ? null : corteParser.fromPackageName(name).orElse(null);
    }

    /**
     * The whole download becomes the spool file of its package's name: linked, never renamed over one that is there. A
     * file of that name is another exchange's (an operator's republish of the same package going through; one an earlier
     * process left, which the sweep settles): replaced, the other one went on with bytes nobody checked, and its
     * cleanup deleted this one. Then it takes {@code <n>~<name>}, as the spool's leftovers do: the package keeps its
     * name, only its working copy's differs.
     */
    static Path spoolUnder(Path part, Path spooled) throws IOException {
        try {
            Path target = spooled;
            for (int n = 2;; n++) {
                try {
                    try {
                        Files.createLink(target, part);
                    } catch (UnsupportedOperationException | java.nio.file.FileSystemException noLinks) {
                        if (noLinks instanceof java.nio.file.FileAlreadyExistsException taken) {
                            throw taken;
                        }
                        Files.move(part, target); // a volume without hard links: refuses an existing name too
                    }
                    if (!target.equals(spooled)) {
                        LOG.info("package {}: the spool holds a file of its name for another exchange; spooled as {}", spooled.getFileName(),
                                target.getFileName());
                    }
                    return target;
                } catch (java.nio.file.FileAlreadyExistsException taken) {
                    target = spooled.resolveSibling(n + "~" + spooled.getFileName());
                }
            }
        } finally {
            Files.deleteIfExists(part);
        }
    }

    static String normalisedChecksum(String announced) {
        return announced == null ? null : announced.strip().toLowerCase(Locale.ROOT);
    }

    /**
     * The name given by the source if it is a plain file name; else, from the Content-Disposition, the URL that answered
     * after redirects and the URL asked, the first that names a corte, as it is or made safe as the sources make theirs
     * ({@link PackageNames#safe}: a space in it is a '_', not a package without a name, and so without a corte); else
     * the first plain name of those; else the first made safe. The URL that answered comes before the URL asked: it
     * served the bytes, while a URL configured once may name a corte long gone and redirect to the newest.
     */
    static String packageName(PackageOffer offer, Optional<String> contentDisposition, URI asked, URI answered,
            java.util.function.Predicate<String> namesACorte) {
        if (offer.packageName() != null && SAFE_NAME.matcher(offer.packageName()).matches()) {
            return offer.packageName();
        }
        List<String> raw = new java.util.ArrayList<>();
        contentDisposition.map(PackageDownloader::dispositionNames).ifPresent(raw::addAll);
        raw.add(lastSegment(answered));
        raw.add(lastSegment(asked));
        List<String> safe = raw.stream().map(PackageNames::safe).filter(java.util.Objects::nonNull).toList();
        String name = safe.stream().filter(namesACorte).findFirst()
                .or(() -> raw.stream().filter(n -> SAFE_NAME.matcher(n).matches()).findFirst())
                .or(() -> safe.stream().findFirst())
                .orElse(PackageNames.UNNAMED);
        if (!raw.contains(name)) {
            LOG.warn("{}: named {} here, from {} (letters, digits, '.', '_', '-' and .zip only)", offer, name, raw);
        }
        return name;
    }

    private static String lastSegment(URI uri) {
        String path = uri == null || uri.getPath() == null ? "" : uri.getPath();
        return path.substring(path.lastIndexOf('/') + 1);
    }

    /** Both names a Content-Disposition may give, {@code filename*} decoded first: a broken one must not hide the other. */
    static List<String> dispositionNames(String header) {
        List<String> names = new java.util.ArrayList<>(2);
        Matcher extended = DISPOSITION_EXTENDED_NAME.matcher(header);
        if (extended.find()) {
            try {
                java.nio.charset.Charset charset = java.nio.charset.Charset.forName(extended.group(1).strip());
                String decoded = java.net.URLDecoder.decode(extended.group(2).strip().replace("+", "%2B"), charset).strip();
                if (!decoded.isEmpty()) {
                    names.add(decoded);
                }
            } catch (IllegalArgumentException unreadable) {
                // an unknown charset or a broken escape: the plain filename, if any, says it too
            }
        }
        Matcher plain = DISPOSITION_NAME.matcher(header);
        if (plain.find() && !plain.group(1).isBlank()) {
            names.add(plain.group(1).strip());
        }
        return names;
    }

    /** A 429 or 503 with a Retry-After: transient, and the next attempt comes no sooner than asked. */
    static final class AskedToWait extends TransientFailureException {

        private final transient Duration wait;

        AskedToWait(String message, Duration wait) {
            super(message);
            this.wait = wait;
        }
    }

    private static final class TooLargeException extends IOException {
        TooLargeException(String message) {
            super(message);
        }
    }

    /** Writes the body to the spool file as it arrives, one buffer list at a time (bounded memory). */
    private static final class Spooler implements HttpResponse.BodySubscriber<Long> {
        private final CompletableFuture<Long> result = new CompletableFuture<>();
        private final FileChannel channel;
        private final long maxBytes;
        private volatile Flow.Subscription subscription;
        private volatile long bytes;
        private volatile long lastBytesAt;
        private volatile boolean started;

        Spooler(FileChannel channel, long maxBytes) {
            this.channel = channel;
            this.maxBytes = maxBytes;
            this.lastBytesAt = System.nanoTime();
        }

        long bytes() {
            return bytes;
        }

        long lastBytesAt() {
            return lastBytesAt;
        }

        boolean started() {
            return started;
        }

        @Override
        public CompletableFuture<Long> getBody() {
            return result;
        }

        void discard() {
            Flow.Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
            closeQuietly();
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            started = true;
            lastBytesAt = System.nanoTime();
            s.request(1);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            try {
                for (ByteBuffer b : buffers) {
                    int n = b.remaining();
                    while (b.hasRemaining()) {
                        channel.write(b);
                    }
                    bytes += n;
                }
                lastBytesAt = System.nanoTime();
                if (bytes > maxBytes) {
                    throw new TooLargeException("more than " + maxBytes + " bytes: larger than any Paquete de Difusión should be");
                }
                subscription.request(1);
            } catch (IOException e) {
                subscription.cancel();
                onError(e);
            }
        }

        @Override
        public void onError(Throwable t) {
            closeQuietly();
            result.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            try {
                channel.force(true);
            } catch (IOException e) {
                result.completeExceptionally(e);
            }
            closeQuietly();
            result.complete(bytes);
        }

        private void closeQuietly() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing left to save
            }
        }
    }
}
