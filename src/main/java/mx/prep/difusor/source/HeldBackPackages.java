package mx.prep.difusor.source;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
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
 * Source kind "directory": a package taken from the incoming folder that failed past every retry (S3 down for long)
 * is offered again after the ledger's pause, as the HTTP sources fetch such a package again. Its folder's consumer
 * deletes the zip and its {@code .sha256} once the exchange is handled, so both are kept first in
 * {@code <folder>/.held-back/} (a hard link: no copy of 100 MB) and dropped into the folder again when the pause is
 * over, the zip first and its checksum file last, as an operator drops them. The operators' republish folder is left
 * out on purpose: an older corte put back on its own, minutes later, could go online over a newer one.
 */
public final class HeldBackPackages {

    private static final Logger LOG = LoggerFactory.getLogger(HeldBackPackages.class);
    static final String FOLDER = ".held-back";

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
     * Keeps a package that failed past every retry for another attempt at {@code dueAt}, if it was taken from the
     * incoming folder and is still there with its checksum file (the consumer deletes both after this exchange).
     *
     * @return true when it is held back
     */
    public boolean holdBack(PrepPackage pkg, Instant dueAt) {
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
                Path copying = heldBack.resolve(file + ".partial");
                Files.copy(zip, copying, StandardCopyOption.REPLACE_EXISTING);
                Files.move(copying, keptZip, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            // the checksum file last: a zip held back without it (a pod killed in between) is never offered
            Path copying = heldBack.resolve(file + ".sha256.partial");
            Files.copy(sidecar, copying, StandardCopyOption.REPLACE_EXISTING);
            Files.move(copying, heldBack.resolve(file + ".sha256"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            due.put(file, dueAt);
            LOG.warn("{}: failed past every retry; held back in {} and dropped into {} again at {}", pkg, heldBack, incoming, dueAt);
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.error("{}: cannot be held back in {} ({}); it is in quarantine: drop it into {} again with its .sha256 if it is still wanted",
                    pkg, heldBack, e.toString(), incoming);
            return false;
        }
    }

    /** The published corte, when it is newer than the held-back package's (the corte in its name). */
    private Optional<String> supersededBy(String file) {
        Optional<Corte> corte = corteParser.fromPackageName(file);
        return state.lastKnown().filter(PublishedState::hasPublished)
                .filter(p -> corte.isPresent() && !corte.get().isNewerThan(p.corteValue())).map(PublishedState::corte);
    }

    /** On a timer: drops the held-back packages whose pause is over into the incoming folder again. */
    public void offerAgain() {
        if (heldBack == null || !Files.isDirectory(heldBack)) {
            return;
        }
        List<Path> sidecars;
        try (Stream<Path> files = Files.list(heldBack)) {
            sidecars = files.filter(f -> f.getFileName().toString().endsWith(".zip.sha256")).sorted().toList();
        } catch (IOException e) {
            LOG.warn("cannot read the held-back packages in {} ({})", heldBack, e.toString());
            return;
        }
        Instant now = clock.instant();
        for (Path sidecar : sidecars) {
            String sidecarName = sidecar.getFileName().toString();
            String file = sidecarName.substring(0, sidecarName.length() - ".sha256".length());
            if (now.isBefore(due.getOrDefault(file, Instant.MIN))) {
                continue;
            }
            Path zip = heldBack.resolve(file);
            try {
                if (Files.exists(incoming.resolve(file)) || Files.exists(incoming.resolve(sidecarName))) {
                    // still there until its consumer is done with it, or dropped again by an operator: after that
                    continue;
                }
                if (!Files.exists(zip)) {
                    // a pod killed while it held the package back: the folder still had it, and took it again
                    Files.deleteIfExists(sidecar);
                    due.remove(file);
                    continue;
                }
                Optional<String> newer = supersededBy(file);
                if (newer.isPresent()) {
                    // offered again it would only be refused as stale: it is in quarantine with the report of its failure
                    Files.delete(sidecar);
                    Files.delete(zip);
                    due.remove(file);
                    LOG.info("held-back package {}: not dropped again, the published corte {} is newer", file, newer.get());
                    continue;
                }
                // the zip first, its checksum file last: the consumer takes a zip only once its checksum file is there
                Files.move(zip, incoming.resolve(file), StandardCopyOption.ATOMIC_MOVE);
                try {
                    Files.move(sidecar, incoming.resolve(sidecarName), StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException raced) {
                    Files.deleteIfExists(sidecar);
                }
                due.remove(file);
                LOG.info("held-back package {}: dropped into {} again", file, incoming);
            } catch (IOException e) {
                LOG.warn("held-back package {}: cannot drop it into {} again yet ({})", file, incoming, e.toString());
            }
        }
    }
}
