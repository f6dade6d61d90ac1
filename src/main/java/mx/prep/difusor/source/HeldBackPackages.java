package mx.prep.difusor.source;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.quarantine.Quarantine;
import mx.prep.difusor.state.Corte;
import mx.prep.difusor.state.CorteGate;
import mx.prep.difusor.state.CorteParser;
import mx.prep.difusor.state.PublicationRecorder;
import mx.prep.difusor.state.PublishedState;
import mx.prep.difusor.state.StateStore;

/**
 * Source kind "directory": a package taken from the incoming folder that failed for a reason not its own (S3 down
 * past every retry, an unexpected error) is offered again after the ledger's pause, as the HTTP sources fetch such a
 * package again. Its folder's consumer deletes the zip and its {@code .sha256} once the exchange is handled, so both
 * are kept first in {@code <folder>/.held-back/} (a hard link: no copy of 100 MB) and dropped into the folder again
 * when the pause is over and the folder has nothing else waiting, the newest corte first, the zip before its checksum
 * file, as an operator drops them; one a newer published corte has passed is let go. The operators' republish folder
 * is left out on purpose: an older corte put back on its own, minutes later, could go online over a newer one.
 */
public final class HeldBackPackages {

    private static final Logger LOG = LoggerFactory.getLogger(HeldBackPackages.class);
    static final String FOLDER = ".held-back";
    /**
     * The folder's consumer deletes the zip, then its checksum file, just after the exchange: dropped again in between,
     * the zip would wait for a checksum file that the consumer has just deleted.
     */
    private static final java.time.Duration AFTER_THE_CONSUMER = java.time.Duration.ofSeconds(10);
    private static final String PARTIAL = ".partial";
    /** Beside a package being dropped again: a pod killed between its zip and its checksum file finishes it at start. */
    private static final String DROPPING = ".dropping";

    private final Path incoming;
    private final Path heldBack;
    private final Clock clock;
    private final StateStore state;
    private final CorteParser corteParser;
    /** When each held-back zip is due again; one found on disk without an entry (a restart) is due at once. */
    private final Map<String, Instant> due = new ConcurrentHashMap<>();
    private final java.util.Set<String> warnedSidecar = ConcurrentHashMap.newKeySet();
    private volatile boolean stateUnreadable;

    /** @param incoming the directory source's folder, or null when the source is another kind */
    public HeldBackPackages(Path incoming, StateStore state, CorteParser corteParser, Clock clock) {
        this.state = state;
        this.corteParser = corteParser;
        this.incoming = incoming == null ? null : incoming.toAbsolutePath().normalize();
        this.heldBack = this.incoming == null ? null : this.incoming.resolve(FOLDER);
        this.clock = clock;
    }

    /**
     * Keeps a package that failed for a reason not its own (retries exhausted, an unexpected error) for another attempt
     * at {@code dueAt}, if it was taken from the incoming folder and is still there with its checksum file (the
     * consumer deletes both after this exchange).
     *
     * @return true when it is held back
     */
    public synchronized boolean holdBack(PrepPackage pkg, Instant dueAt) {
        Path zip = pkg.takenFrom() != null ? pkg.takenFrom() : pkg.spoolFile();
        if (heldBack == null || zip == null || !incoming.equals(zip.toAbsolutePath().normalize().getParent())) {
            return false;
        }
        Path sidecar = zip.resolveSibling(zip.getFileName() + ".sha256");
        if (!Files.exists(zip) || !Files.exists(sidecar)) {
            return false;
        }
        String file = zip.getFileName().toString();
        try {
            Files.createDirectories(heldBack);
            Path keptZip = heldBack.resolve(file);
            Files.deleteIfExists(keptZip);
            try {
                Files.createLink(keptZip, zip);
            } catch (UnsupportedOperationException | IOException noLinks) {
                Path copying = heldBack.resolve(file + PARTIAL);
                Files.copy(zip, copying, StandardCopyOption.REPLACE_EXISTING);
                Files.move(copying, keptZip, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            // the checksum file last: a zip held back without it (a pod killed in between) is swept, never offered
            Path copying = heldBack.resolve(file + ".sha256" + PARTIAL);
            Files.copy(sidecar, copying, StandardCopyOption.REPLACE_EXISTING);
            Files.move(copying, heldBack.resolve(file + ".sha256"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            due.put(file, dueAt);
            LOG.warn("{}: held back in {} and dropped into {} again at {}, unless a newer corte is published by then", pkg, heldBack,
                    incoming, dueAt);
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.error("{}: cannot be held back in {} ({}); it is in quarantine: drop it into {} again with its .sha256 if it is still wanted",
                    pkg, heldBack, e.toString(), incoming);
            return false;
        }
    }

    /**
     * The pipeline's end for a lost lead (errors.yaml): the package is in the history and not at fault, so neither a
     * retry nor the quarantine. Once the state marks its publication, whoever leads next finishes it; before that,
     * nobody would: a manifest's package is fetched again by the next leader, but one of a folder is deleted with its
     * exchange. One of the incoming folder is held back, and offered again once this pod (or a leader sharing the
     * folder) leads. An operator's republish is not put back on its own (hours later it could go on line over newer
     * cortes): an ERROR says it was not done.
     */
    public void lostTheLead(Exchange exchange) {
        PrepPackage pkg = exchange.getProperty(PrepPackage.PROPERTY, PrepPackage.class);
        String step = exchange.getProperty(Quarantine.STEP, "unknown", String.class);
        boolean marked = exchange.getProperty(PublicationRecorder.MARKED, false, Boolean.class);
        boolean fromAFolder = exchange.getMessage().getHeader(Exchange.FILE_PATH) != null;
        // stopped while it waited for its turn, before its history copy: a package received is never lost, so its spool
        // file is set aside (SpoolCleanup) for the sweep, which drops it once the history holds it, else quarantines it;
        // one of a folder held back too: the held-back copy is let go once a newer corte is published, and a quarantine
        // after the leftovers' grace of a package published later is a false alarm, not a package lost
        boolean inHistory = pkg == null || pkg.isArchived();
        if (!inHistory) {
            exchange.setProperty(SpoolCleanup.NOT_IN_HISTORY, true);
        }
        String where = inHistory ? "it is in the history" : "not in the history yet: set aside with the spool's leftovers";
        if (pkg == null || marked || !fromAFolder) {
            // why it stopped: the lead gone, or the state written by another process since this one read it
            Exception cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class);
            LOG.warn("{}: this process lost the lead at step {}{}; left to the new leader, which publishes the newest corte ({})", pkg, step,
                    cause == null ? "" : " (" + cause.getMessage() + ")", where);
        } else if (exchange.getProperty(CorteGate.REPUBLISH, false, Boolean.class)) {
            LOG.error("{}: this process lost the lead at step {}, before the republish started: NOT REPUBLISHED. It is in the history: copy"
                    + " it into the leader's republish folder again (runbook)", pkg, step);
        } else if (holdBack(pkg, clock.instant().plus(AFTER_THE_CONSUMER))) {
            // an ERROR all the same: only a pod with this folder offers it again, and a folder on the pod's own volume
            // goes with the pod (a rollout)
            LOG.error("{}: this process lost the lead at step {}, before its publication started; held back in {}, offered again only by"
                    + " a pod that leads with that folder: if it is this pod's own, drop it into the leader's folder ({})",
                    pkg, step, incoming, where);
        } else {
            LOG.error("{}: this process lost the lead at step {}, before its publication started, and it cannot be held back: drop it into"
                    + " {} again with its .sha256 ({})", pkg, step, incoming, where);
        }
    }

    /**
     * On a timer, on the leader (which alone takes the folder): drops the newest held-back corte into the incoming
     * folder again once its pause is over and the folder has nothing else waiting. Older ones wait: once it is published
     * they are let go, as the HTTP sources publish the newest corte on offer, not each one missed.
     */
    public void offerAgain() {
        if (heldBack == null || !Files.isDirectory(heldBack)) {
            return;
        }
        Optional<PublishedState> published;
        try {
            // after a restart nothing is known yet: older cortes dropped again would only be refused as stale. Read
            // outside the lock: an S3 call must not hold back a package being held back
            published = state.lastKnown().isPresent() ? state.lastKnown() : state.load();
            stateUnreadable = false;
        } catch (IOException | RuntimeException e) {
            if (!stateUnreadable) {
                LOG.warn("held-back packages in {} wait: the published state cannot be read ({}); they are dropped again once it can",
                        heldBack, e.toString());
            }
            stateUnreadable = true;
            return;
        }
        synchronized (this) {
            offerAgain(published);
        }
    }

    private void offerAgain(Optional<PublishedState> published) {
        finishCutShort(list(heldBack));
        if (list(incoming).stream().anyMatch(f -> isTaken(f) && Files.exists(f.resolveSibling(f.getFileName() + ".sha256")))) {
            // a package in the folder not yet taken (dropped, or dropped again): once it is published, what it passed
            // is known; dropped now, an older corte would follow it only to be refused as stale. (A zip without its
            // checksum file is never taken: it holds nothing back; one with an empty checksum file waits a minute at most,
            // SidecarWritten.)
            return;
        }
        String newest = null;
        Corte newestCorte = null;
        for (Path f : list(heldBack)) {
            String name = f.getFileName().toString();
            if (!name.endsWith(".zip.sha256")) {
                continue;
            }
            String file = name.substring(0, name.length() - ".sha256".length());
            Optional<Corte> corte = corteParser.fromPackageName(file);
            try {
                if (!Files.exists(heldBack.resolve(file))) {
                    // a pod killed while it held the package back: the folder still had it, and took it again
                    forget(file);
                    continue;
                }
                Optional<String> newer = published.filter(PublishedState::hasPublished)
                        .filter(p -> corte.isPresent() && !corte.get().isNewerThan(p.corteValue())).map(PublishedState::corte);
                if (newer.isPresent()) {
                    // offered again it would only be refused as stale: it is in quarantine with the report of its failure
                    forget(file);
                    LOG.info("held-back package {}: not dropped again, the published corte {} is newer", file, newer.get());
                    continue;
                }
            } catch (IOException e) {
                LOG.warn("held-back package {}: cannot tidy it ({})", file, e.toString());
                continue;
            }
            if (newest == null || corte.isPresent() && (newestCorte == null || corte.get().isNewerThan(newestCorte))) {
                newest = file;
                newestCorte = corte.orElse(null);
            }
        }
        // the newest waits out its own pause: an older one dropped meanwhile would go on line only to be passed
        if (newest != null && !clock.instant().isBefore(due.getOrDefault(newest, Instant.MIN))) {
            dropAgain(newest);
        }
    }

    /** What the folder's consumer takes: a zip, not a hidden file (Camel's file consumer skips those). */
    private static boolean isTaken(Path f) {
        String name = f.getFileName().toString();
        return name.endsWith(".zip") && !name.startsWith(".");
    }

    private List<Path> list(Path dir) {
        try (Stream<Path> listed = Files.list(dir)) {
            return listed.sorted().toList();
        } catch (IOException e) {
            LOG.warn("cannot read {} ({})", dir, e.toString());
            return List.of();
        }
    }

    private void dropAgain(String file) {
        Path dropping = heldBack.resolve(file + DROPPING);
        Path sidecarHeld = heldBack.resolve(file + ".sha256");
        Path sidecarIn = incoming.resolve(file + ".sha256");
        try {
            // a checksum file of that name already in the folder: one left when a pod was killed between its consumer's
            // two deletions (the same as ours: the zip alone completes it), or an operator's (left alone)
            boolean sidecarThere = Files.exists(sidecarIn);
            if (sidecarThere && Files.mismatch(sidecarIn, sidecarHeld) != -1) {
                if (warnedSidecar.add(file)) {
                    LOG.warn("held-back package {}: not dropped again while {} holds another checksum file of its name", file, incoming);
                }
                return;
            }
            Files.write(dropping, new byte[0]);
            // the zip first, its checksum file last: the consumer takes a zip only once its checksum file is there.
            // Linked, then unlinked here: a file of that name dropped meanwhile is never replaced
            moveWithoutReplacing(heldBack.resolve(file), incoming.resolve(file));
            if (sidecarThere) {
                Files.delete(sidecarHeld);
            } else {
                moveWithoutReplacing(sidecarHeld, sidecarIn);
            }
            Files.delete(dropping);
            due.remove(file);
            LOG.info("held-back package {}: dropped into {} again", file, incoming);
        } catch (IOException e) {
            LOG.warn("held-back package {}: cannot drop it into {} again yet ({})", file, incoming, e.toString());
        }
    }

    private static void moveWithoutReplacing(Path from, Path to) throws IOException {
        try {
            Files.createLink(to, from);
        } catch (UnsupportedOperationException noLinks) {
            Files.move(from, to);
            return;
        } catch (java.nio.file.FileAlreadyExistsException there) {
            if (!Files.isSameFile(from, to)) {
                throw there;
            }
            // linked before, not unlinked yet (a pod killed in between, a delete that failed): only the unlink is left
        }
        Files.delete(from);
    }

    /**
     * What a pod killed part way left: a drop with its zip in the folder and its checksum file still here is finished;
     * a zip held back without its checksum file, and copies cut short, are removed (the folder kept the package then).
     */
    private void finishCutShort(List<Path> files) {
        for (Path f : files) {
            String name = f.getFileName().toString();
            try {
                if (name.endsWith(DROPPING)) {
                    String file = name.substring(0, name.length() - DROPPING.length());
                    Path zipHeld = heldBack.resolve(file);
                    Path zipIn = incoming.resolve(file);
                    Path sidecarHeld = heldBack.resolve(file + ".sha256");
                    Path sidecarIn = incoming.resolve(file + ".sha256");
                    // linked into the folder, not unlinked here yet
                    if (Files.exists(zipHeld) && Files.exists(zipIn) && Files.isSameFile(zipHeld, zipIn)) {
                        Files.delete(zipHeld);
                    }
                    if (Files.exists(sidecarHeld) && Files.exists(sidecarIn) && Files.isSameFile(sidecarHeld, sidecarIn)) {
                        Files.delete(sidecarHeld);
                    }
                    if (!Files.exists(zipHeld) && Files.exists(zipIn) && Files.exists(sidecarHeld) && !Files.exists(sidecarIn)) {
                        moveWithoutReplacing(sidecarHeld, sidecarIn);
                        LOG.info("held-back package {}: its drop, cut short, finished", file);
                    }
                    Files.delete(f);
                } else if (name.endsWith(PARTIAL)
                        || name.endsWith(".zip") && !files.contains(heldBack.resolve(name + ".sha256")) && !files.contains(heldBack.resolve(name + DROPPING))) {
                    Files.delete(f);
                }
            } catch (IOException e) {
                LOG.warn("held-back package file {}: cannot tidy it ({})", f, e.toString());
            }
        }
    }

    private void forget(String file) throws IOException {
        Files.deleteIfExists(heldBack.resolve(file + ".sha256"));
        Files.deleteIfExists(heldBack.resolve(file));
        due.remove(file);
    }
}
