package mx.prep.difusor.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import mx.prep.difusor.PackageRejectedException;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.RejectReason;

class ChecksumFilterTest {

    @TempDir
    Path tmp;

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
        new ChecksumFilter().verify(pkg);
        assertThat(pkg.sha256()).isEqualTo(sha);
    }

    @Test
    void aMismatchIsRefused() throws Exception {
        assertReason(() -> new ChecksumFilter().verify(spooled("ab".repeat(32), null, null)), RejectReason.CHECKSUM_MISMATCH);
    }

    @ParameterizedTest
    @ValueSource(strings = { "", "not-hex-at-all-not-hex-at-all-not-hex-at-all-not-hex-at-all-0000",
            "d41d8cd98f00b204e9800998ecf8427e", "<!doctype html><html><body>error</body></html>", "abc" })
    void aMissingOrMalformedChecksumIsRefused(String announced) throws Exception {
        assertReason(() -> new ChecksumFilter().verify(spooled(announced.isEmpty() ? null : announced, null, null)), RejectReason.CHECKSUM_INVALID);
    }

    @Test
    void aChecksumFileNamingAnotherFileIsRefused() throws Exception {
        Path zip = Files.write(tmp.resolve("p.zip"), "the bytes of a package".getBytes());
        assertReason(() -> new ChecksumFilter().verify(spooled(ChecksumFilter.sha256(zip), null, "PREP2024_JAL_20240602_1940.zip")),
                RejectReason.CHECKSUM_INVALID);
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
        new ChecksumFilter().verify(behind);
        assertThat(behind.sha256()).isEqualTo(ChecksumFilter.sha256(zip));

        PrepPackage manifestBehind = spooled("cd".repeat(32), null, null);
        manifestBehind.sidecarSha256(ChecksumFilter.sha256(zip));
        assertReason(() -> new ChecksumFilter().verify(manifestBehind), RejectReason.CHECKSUM_MISMATCH);
    }

    @Test
    void aSizeOtherThanAnnouncedIsRefused() throws Exception {
        Path zip = Files.write(tmp.resolve("p.zip"), "the bytes of a package".getBytes());
        assertReason(() -> new ChecksumFilter().verify(spooled(ChecksumFilter.sha256(zip), 999L, null)), RejectReason.SIZE_MISMATCH);
    }
}
