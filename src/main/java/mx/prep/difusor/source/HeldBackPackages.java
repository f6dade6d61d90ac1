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

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.state.Corte;
import mx.prep.difusor.state.CorteParser;
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
        Path zip = pkg.spoolFile();
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
     * On a timer, on the leader (which alone takes the folder): drops the newest held-back corte whose pause is over
     * into the incoming folder again. Older ones wait: once it is published they are passed over, as the HTTP sources
     * publish the newest corte on offer, not each one missed.
     */
    public synchronized void offerAgain() {
        if (heldBack == null || !Files.isDirectory(heldBack)) {
            return;
        }
        List<Path> files;
        try (Stream<Path> listed = Files.list(heldBack)) {
            files = listed.sorted().toList();
        } catch (IOException e) {
            LOG.warn("cannot read the held-back packages in {} ({})", heldBack, e.toString());
            return;
        }
        finishCutShort(files);
        try (Stream<Path> waiting = Files.list(incoming)) {
            if (waiting.anyMatch(f -> f.getFileName().toString().endsWith(".zip") && Files.exists(f.resolveSibling(f.getFileName() + ".sha256")))) {
                // a package in the folder not yet taken (dropped, or dropped again): once it is published, what it
                // passed is known; dropped now, an older corte would follow it only to be refused as stale. (A zip
                // without its checksum file is never taken: it holds nothing back.)
                return;
            }
        } catch (IOException e) {
            LOG.warn("cannot read the incoming folder {} ({})", incoming, e.toString());
            return;
        }
        Optional<PublishedState> published;
        try {
            // after a restart nothing is known yet: older cortes dropped again would only be refused as stale
            published = state.lastKnown().isPresent() ? state.lastKnown() : state.load();
        } catch (IOException | RuntimeException e) {
            LOG.debug("held-back packages wait: the published state cannot be read ({})", e.toString());
            return;
        }
        Instant now = clock.instant();
        String newest = null;
        Corte newestCorte = null;
        for (Path f : files) {
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
            if (now.isBefore(due.getOrDefault(file, Instant.MIN)) || Files.exists(incoming.resolve(name))) {
                // its pause not over (or a checksum file of its name dropped by an operator, the zip to come)
                continue;
            }
            if (newest == null || corte.isPresent() && (newestCorte == null || corte.get().isNewerThan(newestCorte))) {
                newest = file;
                newestCorte = corte.orElse(null);
            }
        }
        if (newest != null) {
            dropAgain(newest);
        }
    }

    private void dropAgain(String file) {
        Path dropping = heldBack.resolve(file + DROPPING);
        try {
            Files.write(dropping, new byte[0]);
            // the zip first, its checksum file last: the consumer takes a zip only once its checksum file is there.
            // Linked, then unlinked here: a file of that name dropped meanwhile is never replaced
            moveWithoutReplacing(heldBack.resolve(file), incoming.resolve(file));
            moveWithoutReplacing(heldBack.resolve(file + ".sha256"), incoming.resolve(file + ".sha256"));
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
                    Path sidecar = heldBack.resolve(file + ".sha256");
                    if (!Files.exists(heldBack.resolve(file)) && Files.exists(incoming.resolve(file)) && Files.exists(sidecar)
                            && !Files.exists(incoming.resolve(file + ".sha256"))) {
                        moveWithoutReplacing(sidecar, incoming.resolve(file + ".sha256"));
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
