package mx.prep.difusor.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import mx.prep.difusor.PackageRejectedException;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.RejectReason;
import mx.prep.difusor.state.CorteParser;

class ChecksumFilterTest {

    @TempDir
    Path tmp;

    private static ChecksumFilter filter() {
        return new ChecksumFilter(new CorteParser(".*_(?<date>\\d{8})_(?<time>\\d{4})\\.zip", ZoneId.of("America/Mexico_City"))::fromPackageName);
    }

    private PrepPackage spooled(String announced, Long size, String names) throws Exception {
        Path zip = Files.write(tmp.resolve("PREP2024_JAL_20240602_2000.zip"), "the bytes of a package".getBytes());
        PrepPackage pkg = new PrepPackage(zip.getFileName().toString(), announced, size, null, "test", Instant.now());
        pkg.spooled(zip, Files.size(zip));
        pkg.checksumNames(names);
        return pkg;
    }

    private static void assertReason(ThrowingRunnable r, RejectReason reason) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(PackageRejectedException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void theRightChecksumVerifiesThePackage() throws Exception {
        Path zip = Files.write(tmp.resolve("p.zip"), "the bytes of a package".getBytes());
        String sha = ChecksumFilter.sha256(zip);
        PrepPackage pkg = spooled(sha, 22L, "PREP2024_JAL_20240602_2000.zip");
        filter().verify(pkg);
        assertThat(pkg.sha256()).isEqualTo(sha);
    }

    @Test
    void aMismatchIsRefused() throws Exception {
        assertReason(() -> filter().verify(spooled("ab".repeat(32), null, null)), RejectReason.CHECKSUM_MISMATCH);
    }

    @ParameterizedTest
    @ValueSource(strings = { "", "not-hex-at-all-not-hex-at-all-not-hex-at-all-not-hex-at-all-0000",
            "d41d8cd98f00b204e9800998ecf8427e", "<!doctype html><html><body>error</body></html>", "abc" })
    void aMissingOrMalformedChecksumIsRefused(String announced) throws Exception {
        assertReason(() -> filter().verify(spooled(announced.isEmpty() ? null : announced, null, null)), RejectReason.CHECKSUM_INVALID);
    }

    @Test
    void aChecksumFileNamingAnotherCortesFileIsRefused() throws Exception {
        Path zip = Files.write(tmp.resolve("p.zip"), "the bytes of a package".getBytes());
        assertReason(() -> filter().verify(spooled(ChecksumFilter.sha256(zip), null, "PREP2024_JAL_20240602_1940.zip")),
                RejectReason.CHECKSUM_INVALID);
    }

    /**
     * {@code sha256sum paquete.zip} before the zip was renamed, or the name in other letters: no other corte, and the
     * SHA-256 vouches for the bytes. Refused as "names another file", every corte of the night was; wrong bytes still
     * are, by their SHA-256.
     */
    @ParameterizedTest
    @ValueSource(strings = { "paquete.zip", "prep2024_jal_20240602_2000.zip", "PREP2024_JAL_20240602_2000_v2.zip" })
    void aChecksumFileNamingTheSameCorteOrNoneDecidesByTheSha256(String named) throws Exception {
        Path zip = Files.write(tmp.resolve("p.zip"), "the bytes of a package".getBytes());
        PrepPackage pkg = spooled(ChecksumFilter.sha256(zip), null, named);
        filter().verify(pkg);
        assertThat(pkg.sha256()).isEqualTo(ChecksumFilter.sha256(zip));
        assertReason(() -> filter().verify(spooled("ab".repeat(32), null, named)), RejectReason.CHECKSUM_MISMATCH);
    }

    /**
     * The manifest is the announcement, the checksum file beside the zip a second opinion that may lag behind it:
     * bytes equal to the manifest's checksum pass however the checksum file disagrees; bytes equal to the checksum
     * file's but not the manifest's do not.
     */
    @Test
    void theBytesMustMatchTheManifestAChecksumFileThatDisagreesOnlyWarns() throws Exception {
        Path zip = Files.write(tmp.resolve("p.zip"), "the bytes of a package".getBytes());
        PrepPackage behind = spooled(ChecksumFilter.sha256(zip), null, null);
        behind.sidecarSha256("cd".repeat(32));
        filter().verify(behind);
        assertThat(behind.sha256()).isEqualTo(ChecksumFilter.sha256(zip));

        PrepPackage manifestBehind = spooled("cd".repeat(32), null, null);
        manifestBehind.sidecarSha256(ChecksumFilter.sha256(zip));
        assertReason(() -> filter().verify(manifestBehind), RejectReason.CHECKSUM_MISMATCH);
    }

    /**
     * A size other than announced refuses bytes whose SHA-256 is not the announced one either (a download cut off);
     * with the announced SHA-256 the size announced was wrong (stale, in KB): refused, the package was fetched again
     * at every poll and never published.
     */
    @Test
    void aSizeOtherThanAnnouncedRefusesOnlyBytesOtherThanAnnounced() throws Exception {
        Path zip = Files.write(tmp.resolve("p.zip"), "the bytes of a package".getBytes());
        assertReason(() -> filter().verify(spooled("ab".repeat(32), 999L, null)), RejectReason.SIZE_MISMATCH);
        PrepPackage wrongSize = spooled(ChecksumFilter.sha256(zip), 999L, null);
        filter().verify(wrongSize);
        assertThat(wrongSize.sha256()).isEqualTo(ChecksumFilter.sha256(zip));
    }
}
