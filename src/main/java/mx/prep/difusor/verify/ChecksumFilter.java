package mx.prep.difusor.verify;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Pattern;

import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.PackageRejectedException;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.RejectReason;
import mx.prep.difusor.state.Corte;

/**
 * The checksum filter: the SHA-256 of the spooled bytes must equal the one the institute announced. An announced size
 * that differs refuses bytes whose SHA-256 differs too (a cut-off download), and is only reported otherwise. Nothing
 * that fails here is ever published or archived as history.
 */
public final class ChecksumFilter {

    private static final Logger LOG = LoggerFactory.getLogger(ChecksumFilter.class);
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

    private final Function<String, Optional<Corte>> corteOf;

    /** @param corteOf the corte a package's name tells (the source's corte pattern) */
    public ChecksumFilter(Function<String, Optional<Corte>> corteOf) {
        this.corteOf = corteOf;
    }

    public void verify(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws IOException, PackageRejectedException {
        String announced = pkg.expectedSha256();
        if (announced == null || announced.isEmpty()) {
            throw new PackageRejectedException(RejectReason.CHECKSUM_INVALID, pkg + ": the institute announced no SHA-256");
        }
        if (!SHA256_HEX.matcher(announced).matches()) {
            throw new PackageRejectedException(RejectReason.CHECKSUM_INVALID,
                    pkg + ": the announced SHA-256 is not 64 hex characters: '" + abbreviate(announced) + "'");
        }
        requireTheSameCorte(pkg);
        // hashed before the size is compared: a refusal is known by its bytes, so a second zip of the same wrong size
        // is not taken for the copy already in quarantine
        long started = System.nanoTime();
        String actual = sha256(pkg.spoolFile());
        pkg.hashed(actual);
        pkg.stageTook("verify", (System.nanoTime() - started) / 1_000_000);
        boolean sizeDiffers = pkg.expectedSize() != null && pkg.expectedSize() != pkg.size();
        if (sizeDiffers && !actual.equals(announced)) {
            throw new PackageRejectedException(RejectReason.SIZE_MISMATCH,
                    pkg + ": announced " + pkg.expectedSize() + " bytes, received " + pkg.size() + " (SHA-256 " + actual + ")");
        }
        if (sizeDiffers) {
            // the SHA-256 vouches for every byte; a size written by hand or in another unit does not refuse them
            LOG.warn("{}: announced with {} bytes, received {} whose SHA-256 is the one announced: the announced size is wrong",
                    pkg, pkg.expectedSize(), pkg.size());
        }
        String sidecar = pkg.sidecarSha256();
        if (!actual.equals(announced)) {
            throw new PackageRejectedException(RejectReason.CHECKSUM_MISMATCH,
                    pkg + ": SHA-256 of the bytes received is " + actual + ", the institute announced " + announced
                            + (actual.equals(sidecar) ? " (the checksum file beside the package announces these bytes: the manifest is behind?)" : ""));
        }
        if (sidecar != null && !sidecar.equals(announced)) {
            // the bytes are the ones the manifest announced: a checksum file updated later (or earlier) does not
            // hold the corte back, it is reported
            LOG.warn("{}: the checksum file beside the package announces SHA-256 {}, the manifest and the bytes {}: the checksum file is "
                    + "not up to date", pkg, sidecar, actual);
        }
        pkg.verified(actual);
        LOG.info("{}: SHA-256 verified ({})", pkg, actual);
    }

    /**
     * The checksum file's line may name the package otherwise than its source does: {@code sha256sum paquete.zip}
     * before the zip was renamed for publication, another case ({@code .ZIP}). Such a name tells no other corte, and the
     * SHA-256 still vouches for every byte: refused, every corte of the night was. A name telling another corte than
     * the package's is a contradiction a person must look at.
     */
    private void requireTheSameCorte(PrepPackage pkg) throws PackageRejectedException {
        String named = pkg.checksumNames();
        if (named == null || named.equals(pkg.name())) {
            return;
        }
        Optional<Corte> namedCorte = corteOf.apply(named);
        Optional<Corte> ownCorte = pkg.corte() != null ? Optional.of(pkg.corte()) : corteOf.apply(pkg.name());
        if (namedCorte.isPresent() && !namedCorte.equals(ownCorte)) {
            throw new PackageRejectedException(RejectReason.CHECKSUM_INVALID,
                    pkg + ": the checksum file names another corte's file, '" + named + "'");
        }
        LOG.warn("{}: the checksum file names it '{}', {}; its SHA-256 alone decides", pkg, named,
                namedCorte.isPresent() ? "of the same corte" : "a name telling no corte");
    }

    public static String sha256(Path file) throws IOException {
        MessageDigest digest = newSha256();
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buffer)) > 0;) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static String abbreviate(String s) {
        String oneLine = s.replaceAll("\\s+", " ");
        return oneLine.length() > 80 ? oneLine.substring(0, 80) + "…" : oneLine;
    }
}
