package mx.prep.difusor.source;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.camel.component.file.GenericFile;
import org.apache.camel.component.file.GenericFileFilter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The folders' file filter: a zip is taken only once its {@code <zip>.sha256} holds something. The file consumer's
 * done file is there as soon as it exists, and {@code sha256sum X.zip > X.zip.sha256} in the folder creates it empty,
 * then writes it once the zip is read (a second for 100 MB): a poll in between took the package with no checksum and
 * refused it for good (CHECKSUM_INVALID), and the folder's consumer deleted both files. One still empty a minute after
 * it was last written is no checksum still being written (a sha256sum that failed): taken, and refused as before, so
 * the quarantine's alert calls a person, and held-back packages, which wait for the folder to be clear, are not held.
 */
public final class SidecarWritten implements GenericFileFilter<Object> {

    private static final Logger LOG = LoggerFactory.getLogger(SidecarWritten.class);
    private static final java.time.Duration WRITING = java.time.Duration.ofMinutes(1);
    /** Longer than a copy of a package into the folder takes. */
    private static final java.time.Duration WAITED = java.time.Duration.ofMinutes(2);

    private final java.time.Clock clock;
    /** Zips already said to wait, so an empty checksum file left for long is one WARN, not one per poll. */
    private final Set<String> said = ConcurrentHashMap.newKeySet();
    /** Zips said to wait without any checksum file: one WARN each. */
    private final Set<String> waitingSaid = ConcurrentHashMap.newKeySet();

    public SidecarWritten(java.time.Clock clock) {
        this.clock = clock;
    }

    @Override
    public boolean accept(GenericFile<Object> file) {
        if (file.isDirectory()) {
            return true;
        }
        Path zip = Path.of(file.getAbsoluteFilePath());
        if (!zip.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".zip")) {
            return true;   // called before the include pattern: the checksum files and anything else are the consumer's
        }
        Path sidecar = zip.resolveSibling(zip.getFileName() + ".sha256");
        try {
            // no SHA-256 fits in fewer bytes: a byte-order mark or a line end alone is a file still being written
            if (Files.size(sidecar) >= 64
                    || Files.getLastModifiedTime(sidecar).toInstant().plus(WRITING).isBefore(clock.instant())) {
                said.remove(zip.toString());
                return true;
            }
        } catch (NoSuchFileException notYet) {
            // the done file's own rule; said once when the zip has waited longer than a copy takes, naming the files
            // beside it that look like its checksum under another name: the zip waited silently all night
            waitsForItsChecksumFile(zip, sidecar);
            return false;
        } catch (IOException unreadable) {
            return true;    // the receive step reads it, and reports why it cannot
        }
        if (said.add(zip.toString())) {
            LOG.warn("package {} waits in {}: its checksum file {} is empty or holds no SHA-256 yet (still being written?); taken once it holds the SHA-256,"
                    + " or refused if it is still empty a minute after it was last written", zip.getFileName(), zip.getParent(), sidecar.getFileName());
        }
        return false;
    }

    private void waitsForItsChecksumFile(Path zip, Path sidecar) {
        try {
            if (Files.getLastModifiedTime(zip).toInstant().plus(WAITED).isAfter(clock.instant()) || !waitingSaid.add(zip.toString())) {
                return;
            }
            String zipName = zip.getFileName().toString();
            String stem = zipName.substring(0, zipName.length() - 4).toLowerCase(java.util.Locale.ROOT);
            java.util.List<String> alike;
            try (java.util.stream.Stream<Path> beside = Files.list(zip.getParent())) {
                alike = beside.map(p -> p.getFileName().toString())
                        .filter(n -> n.toLowerCase(java.util.Locale.ROOT).startsWith(stem) && !n.equals(zipName)
                                && n.toLowerCase(java.util.Locale.ROOT).contains("sha"))
                        .sorted().toList();
            }
            LOG.warn("package {} has waited in {} since {} without its checksum file {}: not taken until it comes{}", zipName, zip.getParent(),
                    Files.getLastModifiedTime(zip), sidecar.getFileName(),
                    alike.isEmpty() ? "" : " (beside it: " + String.join(", ", alike) + "; the name must be exactly " + sidecar.getFileName() + ")");
        } catch (IOException gone) {
            // taken or removed meanwhile: nothing to say
        }
    }
}
