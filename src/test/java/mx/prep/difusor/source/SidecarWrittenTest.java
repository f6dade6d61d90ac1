package mx.prep.difusor.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.camel.component.file.GenericFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import mx.prep.difusor.testing.CapturedLogs;

class SidecarWrittenTest {

    @TempDir
    Path folder;

    private static GenericFile<Object> file(Path path) {
        GenericFile<Object> file = new GenericFile<>();
        file.setAbsoluteFilePath(path.toString());
        file.setFileName(path.getFileName().toString());
        return file;
    }

    /**
     * A zip without its checksum file is not taken, as the done-file rule says. Past the time a copy takes, it is said
     * once at WARN (not at every poll, several a second), naming the file beside it that looks like its checksum under
     * another name; a zip just copied is not.
     */
    @Test
    void aZipLongWithoutItsChecksumFileIsNamedOnceWithTheFileThatLooksLikeIt() throws Exception {
        Instant now = Instant.parse("2024-06-03T04:00:00Z");
        SidecarWritten filter = new SidecarWritten(Clock.fixed(now, ZoneOffset.UTC));
        Path waiting = Files.writeString(folder.resolve("PREP2024_JAL_20240602_2000.zip"), "PK");
        Files.setLastModifiedTime(waiting, FileTime.from(now.minus(Duration.ofMinutes(3))));
        Files.writeString(folder.resolve("PREP2024_JAL_20240602_2000.SHA256"), "ab".repeat(32));
        Path fresh = Files.writeString(folder.resolve("PREP2024_JAL_20240602_2020.zip"), "PK");
        Files.setLastModifiedTime(fresh, FileTime.from(now.minus(Duration.ofSeconds(30))));
        // the filter sees every file before the include pattern: none but a zip is said to wait
        List<Path> others = List.of(folder.resolve("PREP2024_JAL_20240602_2000.SHA256"), Files.writeString(folder.resolve("LEEME.txt"), "x"),
                Files.writeString(folder.resolve("a.b"), "x"));
        for (Path other : others) {
            Files.setLastModifiedTime(other, FileTime.from(now.minus(Duration.ofMinutes(3))));
        }
        List<String> logged = new CopyOnWriteArrayList<>();
        try (AutoCloseable capture = CapturedLogs.capture(logged)) {
            for (int poll = 0; poll < 3; poll++) {
                assertThat(filter.accept(file(waiting))).isFalse();
                assertThat(filter.accept(file(fresh))).isFalse();
                for (Path other : others) {
                    assertThat(filter.accept(file(other))).as(other.toString()).isTrue();
                }
            }
        }
        assertThat(logged).filteredOn(l -> l.contains("waits") || l.contains("waited")).hasSize(1);
        assertThat(logged).filteredOn(l -> l.contains("has waited")).singleElement().satisfies(l -> assertThat(l)
                .contains("PREP2024_JAL_20240602_2000.zip", "PREP2024_JAL_20240602_2000.SHA256", "PREP2024_JAL_20240602_2000.zip.sha256"));
    }

    /** A checksum file begun with a byte-order mark or a line end holds no SHA-256 yet: the zip waits, as for an empty one. */
    @Test
    void aChecksumFileWithNoRoomForASha256YetIsNotTakenWhileBeingWritten() throws Exception {
        Instant now = Instant.now();
        SidecarWritten filter = new SidecarWritten(Clock.fixed(now, ZoneOffset.UTC));
        Path zip = Files.writeString(folder.resolve("PREP2024_JAL_20240602_2000.zip"), "PK");
        Path sidecar = Files.write(folder.resolve("PREP2024_JAL_20240602_2000.zip.sha256"), new byte[] { (byte) 0xFF, (byte) 0xFE });
        assertThat(filter.accept(file(zip))).isFalse();
        Files.writeString(sidecar, "ab".repeat(32) + "  PREP2024_JAL_20240602_2000.zip\n");
        assertThat(filter.accept(file(zip))).isTrue();
    }
}
