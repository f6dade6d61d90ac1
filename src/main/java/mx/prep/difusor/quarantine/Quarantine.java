package mx.prep.difusor.quarantine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.stream.Stream;

import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.Failures;
import mx.prep.difusor.Json;
import mx.prep.difusor.ObjectStore;
import mx.prep.difusor.PackageRejectedException;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.RejectReason;
import mx.prep.difusor.source.HeldBackPackages;
import mx.prep.difusor.source.PackageOffer;
import mx.prep.difusor.source.SecureHttp;
import mx.prep.difusor.state.PackageJournal;
import mx.prep.difusor.state.PackageLedger;

/**
 * The dead-letter channel's end: an error report (package, corte, step, reason code, cause, time) under the
 * quarantine prefix, and the package itself beside it unless the history already holds it. If S3 cannot take them,
 * both go to a local quarantine folder: a received package is never lost.
 */
public final class Quarantine {

    private static final Logger LOG = LoggerFactory.getLogger(Quarantine.class);
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);
    public static final String STEP = "difusorStep";

    /** Beside a package waiting among the spool's leftovers: the report of the refusal that sent it there. */
    public static final String REPORT_SUFFIX = ".report.json";
    /** Exchange property: the quarantine could not keep the package anywhere; its spool file must not be deleted. */
    public static final String UNSETTLED = "difusorPackageUnsettled";
    /**
     * Exchange property: the refused package is safe without its spool file (kept in quarantine here or before, in the
     * history, or never received). A refusal without it is set aside by the spool's cleanup: the dead-letter channel
     * swallows a failure of its own (the quarantine's route stopped under a stop past its timeout, a bug here), so the
     * exchange does not end failed.
     */
    public static final String SETTLED = "difusorPackageSettled";
    /**
     * Exchange property: the failure the dead-letter channel took past its retries, noted before the quarantine (or a
     * handled clause) ran ({@link RefusalNote}).
     */
    public static final String REFUSAL = "difusorRefusal";

    /** Exchange property: the package comes from the spool's leftovers. */
    public static final String LEFTOVER = "difusorLeftover";
    /**
     * Set on a package refused for good after its publication started (the state's marker written, or a resume of one):
     * the resume must not take it back again, only to meet the same refusal.
     */
    public static final String REFUSED_PAST_THE_MARKER = "difusorRefusedPastTheMarker";
    /**
     * Set on a leftover whose refusal was counted when it happened (S3 and the local disk both refused its quarantine):
     * sent now, not counted again, however many sweeps it takes.
     */
    public static final String COUNTED = "difusorRefusalCounted";
    /** Set on a leftover refused before it was set aside: when that was (its report's time), not when it is sent. */
    public static final String REFUSED_AT = "difusorRefusedAt";

    private final ObjectStore store;
    /** For the background send: its parts go on threads of their own, never ahead of the next package's history copy. */
    private final ObjectStore keptStore;
    private final String bucket;
    private final String prefix;
    private final Path localFallback;
    private final Path leftovers;
    private final Failures failures;
    private final PackageLedger ledger;
    private final Clock clock;
    private final DifusorMetrics metrics;
    private final PackageJournal journal;
    private final HeldBackPackages heldBack;
    /** Where the package copy of each name and content quarantined lately is (the first copy of those bytes). */
    private final Map<String, String> keptCopies = java.util.Collections.synchronizedMap(new java.util.LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > 100;
        }
    });
    /** Sends what waited on local disk, off the package's turn (a thread of its own). */
    private final Executor sender;
    /**
     * Held while the kept folder changes on disk (a refusal written, a cut-short report renamed, sent copies tidied),
     * never during an S3 call: a refusal inside a package's turn must not wait for a send to a slow S3.
     */
    private final Object disk = new Object();
    /** One send at a time: callers meanwhile ask the one under way for another pass ({@link #sendAgain}). */
    private final java.util.concurrent.locks.ReentrantLock sending = new java.util.concurrent.locks.ReentrantLock();
    private final java.util.concurrent.atomic.AtomicBoolean sendAgain = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * @param leftovers where a package goes when neither S3 nor the local disk take it: the spool's leftovers, which a
     *                  timer sends to the history's check or to quarantine once S3 answers
     */
    public Quarantine(ObjectStore store, ObjectStore keptStore, String bucket, String prefix, Path localFallback, Path leftovers, Failures failures,
            PackageLedger ledger, Clock clock, DifusorMetrics metrics, PackageJournal journal, HeldBackPackages heldBack, Executor sender) {
        this.heldBack = heldBack;
        this.sender = sender;
        this.leftovers = leftovers;
        this.metrics = metrics;
        this.journal = journal;
        this.store = store;
        this.keptStore = keptStore;
        this.bucket = bucket;
        this.prefix = prefix;
        this.localFallback = localFallback;
        this.failures = failures;
        this.ledger = ledger;
        this.clock = clock;
    }

    /**
     * Where this process put a copy of these bytes of this package into quarantine in S3, for any reason; empty when
     * it did not (or not lately: the last 100 copies are remembered).
     */
    public Optional<String> keptCopyOf(String packageName, String sha256) {
        String of = packageName + "@" + sha256.toLowerCase(java.util.Locale.ROOT) + "@";
        synchronized (keptCopies) {
            return keptCopies.entrySet().stream().filter(e -> e.getKey().startsWith(of)).map(Map.Entry::getValue).findFirst();
        }
    }

    public void report(Exchange exchange) throws IOException {
        Throwable cause = Failures.whatFailed(exchange);
        PrepPackage pkg = exchange.getProperty(PrepPackage.PROPERTY, PrepPackage.class);
        PackageOffer offer = exchange.getProperty(PackageOffer.PROPERTY, PackageOffer.class);
        String step = exchange.getProperty(STEP, "unknown", String.class);
        RejectReason reason = failures.reasonOf(cause);
        if (!exchange.getProperty(COUNTED, false, Boolean.class)) {
            metrics.rejected(reason);
        }
        // a leftover's refusal happened when it was set aside: the memoria técnica counts it in its period, not the sweep's
        Instant now = exchange.getProperty(REFUSED_AT, clock.instant(), Instant.class);
        String name = pkg != null ? pkg.name() : offer != null && offer.packageName() != null ? offer.packageName() : "unnamed-package";
        String folder = prefix + stem(name) + "/" + STAMP.format(now) + "-" + reason.name().toLowerCase().replace('_', '-') + "/";
        if (pkg != null) {
            // a copy into the history still under way decides whether the quarantine must keep the package itself
            try {
                pkg.settleArchiving();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // a leftover's refusal was counted when it happened: sent now, never taken for "the same bytes again"
        boolean mismatch = pkg != null && reason.isMismatch()
                && !exchange.getProperty(LEFTOVER, false, Boolean.class);
        boolean sameBytesAgain = mismatch && ledger.mismatched(pkg, now);
        boolean keepsPackage = pkg != null && !pkg.isArchived() && pkg.spoolFile() != null && Files.exists(pkg.spoolFile());
        if (keepsPackage && pkg.receivedSha256() == null) {
            // refused before its checksum (the history could not be asked, say): named by its content all the same, so
            // the same bytes failing again are kept once. Never at the package's cost: unread, it is kept as it is
            try {
                pkg.hashed(mx.prep.difusor.verify.ChecksumFilter.sha256(pkg.spoolFile()));
            } catch (IOException | RuntimeException unread) {
                LOG.warn("{}: cannot hash it for the quarantine ({}); kept all the same", pkg, unread.toString());
            }
        }
        // the same bytes failing again for the same reason (S3 down for long: the source offers the package again after
        // each pause) point at the copy their first failure put into S3: a copy each time filled the pod's disk in a few
        // hours of an outage. A first copy only on the pod's disk is no copy to point at (the pod may go first).
        String copyKey = keepsPackage && pkg.receivedSha256() != null ? pkg.name() + "@" + pkg.receivedSha256().toLowerCase() + "@" + reason : null;
        String keptBefore = copyKey != null ? keptCopies.get(copyKey) : null;
        if (keptBefore != null) {
            keepsPackage = false;
        }
        if (!keepsPackage) {
            exchange.setProperty(SETTLED, true);
        }
        if (sameBytesAgain && (keptBefore != null || !keepsPackage)) {
            journal.add(new PackageJournal.Entry(name, pkg.corte() == null ? null : pkg.corte().toString(), "rejected", reason.name(), step,
                    Failures.describe(cause), now.toString(), pkg.stageMillis()));
            LOG.error("{} rejected again at step {}: {}: {}; the same bytes as the copy already in quarantine; a polled source fetches"
                    + " it again after a longer pause while it offers it (its zip may not be replaced yet)", pkg, step, reason, Failures.describe(cause));
            return;
        }

        QuarantineReport report = new QuarantineReport(name, pkg != null && pkg.corte() != null ? pkg.corte().toString() : null,
                step, reason.name(), Failures.describe(cause), now.toString(),
                pkg != null ? pkg.expectedSha256() : offer != null ? offer.announcedSha256() : null,
                pkg != null ? pkg.receivedSha256() : null,
                pkg != null && pkg.size() >= 0 ? pkg.size() : null,
                pkg != null ? pkg.source() : offer != null ? SecureHttp.shown(offer.packageUri()) : null,
                keepsPackage ? "s3://" + bucket + "/" + folder + name : keptBefore != null ? keptBefore
                        : pkg != null && pkg.isArchived() ? "history" : "not received");
        String where;
        try {
            if (keepsPackage) {
                store.putPackage(bucket, folder + name, pkg.spoolFile(), "application/zip", Map.of());
            }
            store.putJson(bucket, folder + "report.json", report);
            where = "s3://" + bucket + "/" + folder;
            exchange.setProperty(SETTLED, true);
        } catch (RuntimeException | IOException s3Down) {
            try {
                where = keepLocally(folder, report, keepsPackage ? pkg.spoolFile() : null, s3Down);
                exchange.setProperty(SETTLED, true);
            } catch (IOException | RuntimeException diskToo) {
                if (!keepsPackage) {
                    // the package itself is in the history (or was never received): only the report is lost, not why
                    LOG.error("{} rejected at step {}: {}: {}; neither S3 ({}) nor the local disk ({}) took the report", pkg != null ? pkg
                            : "package " + name, step, reason, report.cause(), s3Down, diskToo);
                    throw diskToo;
                }
                // the spool would be deleted once the exchange is done: a package once received is never lost. Marked
                // first: should the move fail, the spool's cleanup sets the package aside instead of deleting it (the
                // dead-letter channel handles this failure, so the exchange does not end failed)
                exchange.setProperty(UNSETTLED, true);
                // under the package's name: a copy taken back from the history is spooled under another. Counted by now:
                // the sweep that sends it does not count it again
                Path waiting = mx.prep.difusor.source.SpoolLeftovers.setAside(pkg.spoolFile(), leftovers, pkg.name(), report.asCounted());
                LOG.error("{} rejected at step {}: {}: {}; neither S3 ({}) nor the local disk ({}) took the quarantine: the package waits at {}"
                        + " and goes to quarantine once S3 answers", pkg, step, reason, report.cause(), s3Down, diskToo, waiting);
                throw new IOException(pkg + ": neither S3 nor the local disk took the quarantine; the package waits at " + waiting, diskToo);
            }
        }
        if (copyKey != null && where.startsWith("s3://")) {
            keptCopies.put(copyKey, report.packageKeptAt());
        }
        Instant offeredAgainAt = null;
        // past the state's "publishing" marker (or a resume of one): the site may show part or all of this corte, and the
        // resume finishes it from the history; no refusal before anything was published, as the log and the status page
        // said it was. A lasting reason (an older corte found on a stage's retry) is a refusal all the same
        boolean pastTheMarker = exchange.getProperty(mx.prep.difusor.state.PublicationRecorder.MARKED, false, Boolean.class)
                || exchange.getProperty(mx.prep.difusor.state.CorteGate.RESUMED, false, Boolean.class);
        boolean cutShort = pastTheMarker && !reason.isLasting();
        // refused for good once part of it may be public: a resume after a rollout that changed a limit (a lower
        // difusor.publish.max-deletions) or a check. Not finished, and not taken back again (a newer corte, found
        // stale, is another matter: it is on line; bytes other than the history's sha256 may be a read gone wrong, read
        // again at the next check)
        boolean partlyPublic = pastTheMarker && reason.isLasting() && !reason.isMismatch() && reason != RejectReason.STALE_CORTE
                && reason != RejectReason.CORTE_AHEAD;   // a clock behind: it passes once the clock is right
        if (partlyPublic) {
            exchange.setProperty(REFUSED_PAST_THE_MARKER, true);
        }
        if (exchange.getProperty(LEFTOVER, false, Boolean.class)) {
            LOG.debug("{}: sent from the spool's leftovers; its refusal told the ledger when it happened", pkg);
        } else if (sameBytesAgain) {
            // the first copy of these bytes was only on the pod's disk: kept in S3 now
            LOG.info("{}: the same bytes as its first refusal, whose copy is only on the pod; a polled source fetches it again after a"
                    + " longer pause while it offers it", pkg);
        } else if (mismatch) {
            LOG.info("{}: a polled source fetches it again after a pause while it offers it: it may have been changing under the download", pkg);
        } else if (pkg != null && reason.isLasting()) {
            // a bad package stays bad: do not fetch it again on every poll, nor after a restart (a stale one is
            // recorded as such by the corte gate already)
            if (reason == RejectReason.STALE_CORTE) {
                ledger.settled(pkg.name(), pkg.expectedSha256());
            } else {
                ledger.rejected(pkg, now);
            }
        } else if (pkg != null || offer != null) {
            // paused as any failure (a polled source offering it again meanwhile fetched it at every poll)
            offeredAgainAt = ledger.failed(name, pkg != null ? pkg.expectedSha256() : offer.announcedSha256());
        }
        journal.add(new PackageJournal.Entry(name, report.corte(), cutShort ? "cut short" : "rejected", reason.name(), step, report.cause(),
                now.toString(), pkg == null ? java.util.Map.of() : pkg.stageMillis()));
        if (cutShort) {
            LOG.error("{}: publication cut short at step {}: {}: {}; the site may already show part or all of this corte; it is in the"
                    + " history and the resume finishes it (difusor.resume.check-every-ms); report at {}", pkg, step, reason,
                    report.cause(), where);
        } else if (partlyPublic) {
            LOG.error("{} rejected at step {}: {}: {}; its publication had started (the state marks it): the site may show part of this"
                    + " corte until a newer one is published, and it is not taken back again. Put the published corte back (runbook:"
                    + " republish) or undo what refuses it and republish this one; quarantined at {}", pkg, step, reason, report.cause(), where);
        } else {
            LOG.error("{} rejected at step {}: {}: {}; quarantined at {}", pkg != null ? pkg : "package " + name, step, reason,
                    report.cause(), where);
        }
        if (offeredAgainAt != null && pkg != null && !cutShort) {
            // taken from the incoming folder, whose consumer deletes it now: nothing else would offer it again (one cut
            // short is the resume's)
            heldBack.holdBack(pkg, offeredAgainAt);
        }
    }

    private String keepLocally(String folder, QuarantineReport report, Path spool, Exception s3Down) throws IOException {
        synchronized (disk) {
            return keptLocally(folder, report, spool, s3Down);
        }
    }

    /** As {@link PrepPackage#toString()} names a package in the log: with its corte, which a grep by corte finds. */
    static String shown(QuarantineReport report) {
        return PrepPackage.shown(report.packageName(), report.corte());
    }

    private String keptLocally(String folder, QuarantineReport report, Path spool, Exception s3Down) throws IOException {
        String name = report.packageName();
        Path dir = localFallback.resolve(folder);
        Files.createDirectories(dir);
        Path kept = localCopy(dir, report);
        // a copy cut short by a killed pod is not the package: copied whole to a temporary name, then renamed
        boolean copiedNow = false;
        boolean keptBefore = Files.exists(kept);   // another report's, perhaps: never removed here
        if (spool != null && (!keptBefore || Files.size(kept) != Files.size(spool))) {
            Path copying = kept.resolveSibling(kept.getFileName() + ".partial");
            try {
                Files.copy(spool, copying, StandardCopyOption.REPLACE_EXISTING);
                Files.move(copying, kept, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                copiedNow = true;
            } catch (IOException | RuntimeException diskFull) {
                // the package goes to the spool's leftovers instead: a part of it here only takes room from that disk
                deleteAfter(diskFull, copying);
                throw diskFull;
            }
        }
        // written whole or not at all: a pod killed mid-write must not leave a report that cannot be read
        Path partial = dir.resolve("report.json.partial");
        try {
            Files.writeString(partial, Json.MAPPER.writeValueAsString(report), StandardCharsets.UTF_8);
            Files.move(partial, dir.resolve("report.json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException diskFull) {
            // the package goes to the spool's leftovers with its report: a copy left here without one is never sent
            deleteAfter(diskFull, partial);
            if (copiedNow && !keptBefore) {
                deleteAfter(diskFull, kept);
            }
            throw diskFull;
        }
        LOG.error("{}: S3 refused the quarantine ({}); kept on local disk at {}", shown(report), s3Down.toString(), dir);
        return dir.toString();
    }

    /** Removes what a failed local keep left, the failure keeping any trouble removing it. */
    private static void deleteAfter(Exception failure, Path left) {
        try {
            Files.deleteIfExists(left);
        } catch (IOException notEvenThat) {
            failure.addSuppressed(notEvenThat);
        }
    }

    /**
     * After a recorded publication (S3 answers again): sends what waited on local disk in the background. A backlog of
     * 100 MB packages takes minutes, and the next corte waits for this package's turn. Never fails the package: it is
     * public and recorded already (a process stopping refuses the task; the timer or the next start sends them).
     */
    public void sendKeptReportsSoon() {
        try {
            sender.execute(this::sendKeptReports);
        } catch (RejectedExecutionException stopping) {
            LOG.debug("quarantine reports kept on local disk not sent now: stopping");
        }
    }

    /**
     * Sends the reports (and package copies) that S3 refused at quarantine time, now that it answers: on the pod's
     * disk they would be lost with it. Run after a recorded publication, and on a timer; never fails the caller.
     */
    public void sendKeptReports() {
        // a send under way passes once more for reports kept after it listed them, instead of this caller waiting
        sendAgain.set(true);
        while (sendAgain.get() && sending.tryLock()) {
            try {
                while (sendAgain.getAndSet(false)) {
                    sendKept();
                }
            } finally {
                sending.unlock();
            }
        }
    }

    private void sendKept() {
        if (!Files.isDirectory(localFallback)) {
            return;
        }
        List<Path> reports;
        synchronized (disk) {
            try (Stream<Path> files = Files.walk(localFallback)) {
                files.filter(f -> f.getFileName().toString().equals("report.json.partial")).toList().forEach(this::finishCutShort);
            } catch (IOException | UncheckedIOException e) {
                LOG.warn("cannot read the quarantine kept on local disk at {} ({})", localFallback, e.toString());
                return;
            }
            try (Stream<Path> files = Files.walk(localFallback)) {
                reports = files.filter(f -> f.getFileName().toString().equals("report.json")).sorted().toList();
            } catch (IOException | UncheckedIOException e) {
                LOG.warn("cannot read the quarantine kept on local disk at {} ({})", localFallback, e.toString());
                return;
            }
        }
        for (Path report : reports) {
            String folder = localFallback.relativize(report.getParent()).toString().replace('\\', '/') + "/";
            QuarantineReport kept;
            try {
                kept = Json.MAPPER.readValue(report.toFile(), QuarantineReport.class);
                if (kept.packageName() == null || kept.packageName().isBlank() || kept.packageName().contains("/")
                        || kept.packageName().contains("\\") || kept.packageName().contains("..")) {
                    throw new IOException("it names no package file");
                }
            } catch (IOException | RuntimeException unreadable) {
                // edited or damaged by hand: it must not hold back the others; it stays (and keeps every package copy)
                LOG.warn("the quarantine report kept at {} cannot be read ({}); it stays there for a person to look at", report,
                        unreadable.toString());
                continue;
            }
            try {
                Path copy = localCopy(report.getParent(), kept);
                String sentTo = "s3://" + bucket + "/" + folder + kept.packageName();
                // the package first, then the report that names it, as at quarantine time
                boolean sent = false;
                if (travelsWithItsReport(kept, folder)) {
                    if (Files.exists(copy)) {
                        keptStore.putPackage(bucket, folder + kept.packageName(), copy, "application/zip", Map.of());
                        sent = true;
                    } else {
                        LOG.error("{}: its copy kept on local disk is gone ({}); the quarantine report kept at {} is sent all the"
                                + " same, but names a package S3 does not hold", shown(kept), copy, report);
                    }
                }
                if (sent && !sentTo.equals(kept.packageKeptAt())) {
                    // kept under another history bucket (changed since, the pod's disk kept) or an unnormalised prefix:
                    // the report says where the package is now
                    keptStore.putJson(bucket, folder + "report.json", kept.keptAt(sentTo));
                } else {
                    keptStore.putFile(bucket, folder + "report.json", report, "application/json", Map.of());
                }
                // outside the disk lock: a refusal kept meanwhile goes into a folder of its own (its time in the name)
                Files.delete(report);
                if (copy.getParent().equals(report.getParent())) {
                    Files.deleteIfExists(copy);
                }
                LOG.info("{}: quarantine report kept on local disk sent to s3://{}/{}", shown(kept), bucket, folder);
            } catch (RuntimeException | IOException e) {
                if (s3Unreachable(e)) {
                    LOG.warn("cannot send the quarantine report kept at {} yet ({}); it stays there, and so do the others", report,
                            e.toString());
                    return;
                }
                // this report's own trouble (its copy unreadable, a key S3 refuses): it must not hold back the others
                LOG.warn("cannot send the quarantine report kept at {} ({}); it stays there, the others are sent", report, e.toString());
            }
        }
        synchronized (disk) {
            forgetSentCopies();
        }
    }

    /** S3 as a whole not answering (no connection, a timeout, its 5xx or throttling): no use trying the next report. */
    private static boolean s3Unreachable(Exception e) {
        if (e instanceof software.amazon.awssdk.core.exception.SdkClientException) {
            return true;
        }
        if (e instanceof software.amazon.awssdk.awscore.exception.AwsServiceException refused) {
            int status = refused.statusCode();
            return status >= 500 || status == 408 || status == 429 || refused.isThrottlingException();
        }
        return false;
    }

    /** A report whose write was cut short by a killed pod: sent like the others when it was written whole. */
    private void finishCutShort(Path partial) {
        Path report = partial.resolveSibling("report.json");
        try {
            QuarantineReport written = Json.MAPPER.readValue(partial.toFile(), QuarantineReport.class);
            if (written.packageName() != null && !Files.exists(report)) {
                Files.move(partial, report, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException | RuntimeException cutShort) {
            LOG.warn("the quarantine report kept at {} was cut short ({}); it stays there for a person to look at", partial, cutShort.toString());
        }
    }

    /**
     * Whether the report's package was kept on the pod with it (S3 refused both): its report names it in S3 beside
     * itself, under this folder, whatever the history bucket was then. A report naming the history or an earlier copy
     * in S3 has no copy of its own to send. Decided by the key, not the whole address: with the bucket changed since,
     * the copy was deleted unsent, the only one.
     */
    private static boolean travelsWithItsReport(QuarantineReport kept, String folder) {
        String at = kept.packageKeptAt();
        if (at == null || !at.startsWith("s3://") || at.indexOf('/', "s3://".length()) < 0) {
            return false;
        }
        String key = at.substring(at.indexOf('/', "s3://".length()) + 1);
        String normalised = java.nio.file.Path.of(key).normalize().toString().replace('\\', '/');
        return normalised.equals(folder + kept.packageName());
    }

    /**
     * Where the package a report names is kept on local disk: one copy per content, however many times it failed (a
     * package re-issued under the same name is another copy); in the report's own folder when its content is unknown.
     */
    private Path localCopy(Path reportFolder, QuarantineReport report) {
        String sha = report.receivedSha256();
        return sha == null || sha.length() < 16 ? reportFolder.resolve(report.packageName())
                : localFallback.resolve(stem(report.packageName()) + "-" + sha.substring(0, 16) + ".zip");
    }

    /**
     * Package copies no report on local disk still needs, and the emptied report folders. A report that cannot be read
     * (cut short, edited by hand) may name any copy of its package: those of its folder's package stay with it, the
     * others go (they kept difusor_packages_only_on_pod, and its alert, up for copies S3 already held).
     */
    private void forgetSentCopies() {
        try (Stream<Path> files = Files.walk(localFallback)) {
            List<Path> all = files.sorted(java.util.Comparator.reverseOrder()).toList();
            java.util.Set<Path> needed = new java.util.HashSet<>();
            java.util.Set<String> unreadStems = new java.util.HashSet<>();
            for (Path f : all) {
                if (f.getFileName().toString().startsWith("report.json") && Files.isRegularFile(f)) {
                    try {
                        QuarantineReport left = Json.MAPPER.readValue(f.toFile(), QuarantineReport.class);
                        if (left.packageName() == null || left.packageName().isBlank()) {
                            throw new IOException("it names no package file");
                        }
                        needed.add(localCopy(f.getParent(), left));
                    } catch (IOException | RuntimeException unread) {
                        // <prefix><stem>/<time>-<reason>/report.json: the package's stem is its folder's parent's name
                        Path stem = f.getParent().getParent();
                        unreadStems.add(stem == null || stem.getFileName() == null ? "" : stem.getFileName().toString());
                    }
                }
            }
            for (Path f : all) {
                if (f.equals(localFallback)) {
                    continue;
                }
                boolean emptyFolder = Files.isDirectory(f) && isEmpty(f);
                String name = f.getFileName().toString();
                boolean sentCopy = Files.isRegularFile(f) && f.getParent().equals(localFallback) && !needed.contains(f)
                        && unreadStems.stream().noneMatch(stem -> name.startsWith(stem + "-"));
                if (emptyFolder || sentCopy) {
                    Files.delete(f);
                }
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("cannot tidy the quarantine kept on local disk at {} ({})", localFallback, e.toString());
        }
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        }
    }

    private static String stem(String name) {
        return name.toLowerCase().endsWith(".zip") ? name.substring(0, name.length() - 4) : name;
    }
}
