package mx.prep.difusor.unpack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import mx.prep.difusor.unpack.ZipStructure.Entry;
import mx.prep.difusor.unpack.ZipStructure.Limits;
import mx.prep.difusor.unpack.ZipStructure.Reason;
import mx.prep.difusor.unpack.ZipStructure.Violation;

class ZipStructureTest {

    private static final Limits LIMITS = new Limits(100_000, 1L << 30, 256L << 20, 200);

    @TempDir
    static Path dir;

    /** Shared by the entry-count and ZIP64 tests: writing 100,001 entries once is enough. */
    private static Path manyEntries;

    // ---- accepted ------------------------------------------------------------------------------------------------

    @Test
    void aNormalZipPassesWithItsEntries() throws Exception {
        byte[] html = "<!DOCTYPE html><title>PREP</title>".repeat(50).getBytes(StandardCharsets.UTF_8);
        byte[] png = random(5000, 1);
        byte[] json = "{\"año\": 2024}".getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry("index.html"));
            zip.write(html);
            zip.putNextEntry(new ZipEntry("assets/"));
            zip.putNextEntry(storedEntry("assets/logo.png", png));
            zip.write(png);
            zip.putNextEntry(new ZipEntry("datos/año.json"));
            zip.write(json);
            zip.putNextEntry(new ZipEntry("vacío.txt"));
            zip.setComment("Paquete de Difusión");
        }
        Path file = write(bytes.toByteArray());

        List<Entry> entries = ZipStructure.inspect(file, LIMITS);

        assertThat(entries).extracting(Entry::name)
                .containsExactly("index.html", "assets/", "assets/logo.png", "datos/año.json", "vacío.txt");
        assertThat(entries).extracting(Entry::directory).containsExactly(false, true, false, false, false);
        assertThat(entries).extracting(Entry::method).containsExactly(8, 8, 0, 8, 8);
        assertThat(entries).allSatisfy(e -> assertThat(e.symlink() || e.encrypted()).isFalse());
        Entry index = entries.get(0);
        assertThat(index.uncompressedSize()).isEqualTo(html.length);
        assertThat(index.compressedSize()).isLessThan(html.length);
        assertThat(index.crc()).isEqualTo(crc(html));
        assertThat(index.localHeaderOffset()).isZero();
        Entry logo = entries.get(2);
        assertThat(logo.compressedSize()).isEqualTo(png.length);
        byte[] all = Files.readAllBytes(file);
        assertThat(Arrays.copyOfRange(all, (int) logo.dataOffset(), (int) logo.dataOffset() + png.length)).isEqualTo(png);
        assertThat(ByteBuffer.wrap(all, (int) logo.localHeaderOffset(), 4).order(ByteOrder.LITTLE_ENDIAN).getInt()).isEqualTo(0x04034b50);
    }

    @Test
    void aForgedZipWithDataDescriptorsAndZip64FieldsPasses() throws Exception {
        Forge forge = new Forge();
        forge.add(Spec.deflated("index.html", "<html>hola</html>".repeat(100).getBytes(StandardCharsets.UTF_8)).descriptor());
        forge.add(Spec.stored("grande.bin", random(3000, 2)).zip64());
        forge.add(Spec.stored("unix.txt", new byte[] {'x'}).unix(0100644));

        List<Entry> entries = ZipStructure.inspect(write(forge.bytes()), LIMITS);

        assertThat(entries).extracting(Entry::name).containsExactly("index.html", "grande.bin", "unix.txt");
        assertThat(entries.get(1).uncompressedSize()).isEqualTo(3000);
    }

    @Test
    void zip64DataDescriptorsAndMissingDescriptorsAreAccepted() throws Exception {
        Forge forge = new Forge();
        forge.add(Spec.deflated("index.html", "<p>uno</p>".repeat(300).getBytes(StandardCharsets.UTF_8)).descriptor().descriptor64());
        // bit 3 set but no descriptor written: tolerated, the unpacker's CRC check still vouches for the bytes
        forge.add(Spec.deflated("dos.html", "<p>dos</p>".repeat(300).getBytes(StandardCharsets.UTF_8)).descriptor().omitDescriptor());
        forge.add(Spec.stored("tres.txt", random(100, 3)).descriptor());
        // an empty entry's ZIP64 descriptor also reads as a 32-bit one (python's zipfile, a streaming zip): taken whole,
        // between two entries and before the central directory, not as bytes that belong to no entry
        forge.add(Spec.stored("vacio.txt", new byte[0]).descriptor().descriptor64());
        forge.add(Spec.deflated("cuatro.html", "<p>cuatro</p>".getBytes(StandardCharsets.UTF_8)));
        forge.add(Spec.stored("vacio-al-final.txt", new byte[0]).descriptor().descriptor64());

        List<Entry> entries = ZipStructure.inspect(write(forge.bytes()), LIMITS);

        assertThat(entries).extracting(Entry::name).containsExactly("index.html", "dos.html", "tres.txt", "vacio.txt", "cuatro.html",
                "vacio-al-final.txt");
    }

    @Test
    void aZip64ArchiveWithMoreThan65535EntriesParses() throws Exception {
        List<Entry> entries = ZipStructure.inspect(manyEntries(), new Limits(200_000, 1L << 30, 1L << 20, 200));

        assertThat(entries).hasSize(100_001);
        assertThat(entries.get(100_000).name()).isEqualTo("e/100000.json");
    }

    // ---- not a zip, empty, truncated, inconsistent -----------------------------------------------------------------

    @Test
    void anHtmlPageIsNotAZip() throws Exception {
        byte[] html = "<!DOCTYPE html><html><body><h1>503 Service Unavailable</h1></body></html>\n".repeat(20)
                .getBytes(StandardCharsets.UTF_8);

        assertRefused(write(html), Reason.NOT_A_ZIP);
    }

    @Test
    void anEmptyFileIsNotAZip() throws Exception {
        assertRefused(write(new byte[0]), Reason.NOT_A_ZIP);
    }

    @Test
    void aZipWithoutEntriesIsEmpty() throws Exception {
        assertRefused(write(new Forge().bytes()), Reason.EMPTY);
    }

    @Test
    void aZipCutInHalfIsTruncated() throws Exception {
        byte[] whole = normalZip();

        assertRefused(write(Arrays.copyOf(whole, whole.length / 2)), Reason.TRUNCATED);
    }

    @Test
    void aCentralDirectoryOffsetBeyondTheFileIsTruncated() throws Exception {
        byte[] zip = simpleForge().bytes();
        eocd(zip).putInt(16, zip.length + 1000);

        assertRefused(write(zip), Reason.TRUNCATED);
    }

    @Test
    void entryDataRunningPastTheFileEndIsTruncated() throws Exception {
        Forge forge = new Forge();
        forge.add(Spec.stored("index.html", random(100, 3)).claimedSize(1_000_000));

        assertRefused(write(forge.bytes()), Reason.TRUNCATED, "index.html");
    }

    @Test
    void bytesAppendedAfterTheEndRecordAreRefused() throws Exception {
        byte[] zip = normalZip();
        byte[] longer = Arrays.copyOf(zip, zip.length + 100);

        assertRefused(write(longer), Reason.TRUNCATED);
    }

    /**
     * A second end record hidden in the zip comment, pointing at a second central directory also in the comment, and
     * one byte after it: this check took the outer record (its comment reaches the end of the file), the JDK's reader,
     * which publishes the entries, takes the inner one (its directory starts where it says). Two readers, two sets of
     * entries: the names and bytes published were never the ones checked.
     */
    @Test
    void aSecondEndRecordHiddenInTheCommentIsRefused() throws Exception {
        byte[] zip = normalZip();
        ByteBuffer end = eocd(zip);
        int cenSize = end.getInt(12);
        int cenOffset = end.getInt(16);
        byte[] otherDirectory = Arrays.copyOfRange(zip, cenOffset, cenOffset + cenSize);
        // the first entry renamed, same length: datos/0.json becomes datos/X.json
        int nameAt = 46 + "datos/".length();
        assertThat(otherDirectory[nameAt]).isEqualTo((byte) '0');
        otherDirectory[nameAt] = 'X';
        ByteBuffer innerEnd = ByteBuffer.allocate(22).order(ByteOrder.LITTLE_ENDIAN);
        innerEnd.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort(end.getShort(8)).putShort(end.getShort(10))
                .putInt(cenSize).putInt(zip.length).putShort((short) 0);
        ByteArrayOutputStream hostile = new ByteArrayOutputStream();
        hostile.write(zip);
        hostile.write(otherDirectory);
        hostile.write(innerEnd.array());
        hostile.write(0);
        byte[] bytes = hostile.toByteArray();
        ByteBuffer.wrap(bytes, zip.length - 2, 2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) (bytes.length - zip.length));
        Path file = write(bytes);
        try (java.util.zip.ZipFile jdk = new java.util.zip.ZipFile(file.toFile())) {
            assertThat(jdk.getEntry("datos/X.json")).as("the JDK reads the hidden directory").isNotNull();
        }

        assertRefused(file, Reason.TRUNCATED, "end of central directory record", "comment");
    }

    /**
     * The end record's own bytes can read like a signature: 19,280 entries (0x4b50) and a directory whose size ends in
     * 0x0605 put "PK\5\6" across its count and size fields, inside the part of the file the backwards scan reads before
     * the record (a comment of 24 bytes). No hidden record: the zip is accepted.
     */
    @Test
    void bytesOfTheEndRecordItselfThatReadLikeASignatureAreNoHiddenRecord() throws Exception {
        int entries = 0x4b50;
        int cenSize = endRecord(withEmptyEntries(entries, 0)).getInt(12);
        byte[] zip = withEmptyEntries(entries, Math.floorMod(0x0605 - cenSize, 0x10000));
        assertThat(endRecord(zip).getInt(10)).as("the count and the size read as a signature").isEqualTo(0x06054b50);

        assertThat(ZipStructure.inspect(write(zip), LIMITS)).hasSize(entries);
    }

    /**
     * A comment of 19,280 bytes (0x4b50, "PK" in the record's comment-length field) that starts with 05 06: a second
     * end record, 20 bytes into the first, whose fields are the comment's. The JDK's backwards scan meets it first and
     * takes it when its directory and first entry start with their signatures: here they are the real ones, in a
     * crafted zip anything in the file, and the entries published would not be the ones checked here. Refused.
     */
    @Test
    void anEndRecordOverlappingTheRealOneThatTheJdkWouldTakeIsRefused() throws Exception {
        byte[] zip = normalZip();
        ByteBuffer real = ByteBuffer.wrap(zip, zip.length - 22, 22).slice().order(ByteOrder.LITTLE_ENDIAN);
        assertThat(real.getShort(20)).as("no comment yet").isZero();
        long directory = real.getInt(16) & 0xFFFFFFFFL;
        int entries = real.getShort(10);
        int overlap = zip.length - 22 + 20;
        ByteBuffer crafted = ByteBuffer.allocate(zip.length + 0x4b50).order(ByteOrder.LITTLE_ENDIAN);
        crafted.put(zip);
        crafted.putShort(zip.length - 22 + 20, (short) 0x4b50);
        crafted.position(zip.length);
        crafted.put((byte) 5).put((byte) 6).putShort((short) 0).putShort((short) 0).putShort((short) entries).putShort((short) entries)
                .putInt((int) (overlap - directory)).putInt((int) directory).putShort((short) 0);
        byte[] bytes = crafted.array();
        assertThat(ByteBuffer.wrap(bytes, overlap, 4).order(ByteOrder.LITTLE_ENDIAN).getInt()).as("a signature 20 bytes in").isEqualTo(0x06054b50);

        assertRefused(write(bytes), Reason.TRUNCATED);
        // the same comment with one byte changed (no signature where the JDK looks) is an ordinary comment
        bytes[zip.length] = 0;
        assertThat(ZipStructure.inspect(write(bytes), LIMITS)).hasSize(entries);
    }

    /** {@code count} empty stored entries, their names {@code extra} characters longer in all, and a comment. */
    private static byte[] withEmptyEntries(int count, int extra) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.setComment(PACKAGE_COMMENT);
            for (int i = 0; i < count; i++) {
                int pad = extra / count + (i < extra % count ? 1 : 0);
                zip.putNextEntry(storedEntry("e/" + i + "x".repeat(pad) + ".json", new byte[0]));
            }
        }
        return bytes.toByteArray();
    }

    private static final String PACKAGE_COMMENT = "Paquete de Difusion PREP";

    /** The end record of a zip whose comment is {@link #PACKAGE_COMMENT}. */
    private static ByteBuffer endRecord(byte[] zip) {
        return ByteBuffer.wrap(zip, zip.length - 22 - PACKAGE_COMMENT.length(), 22).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void bytesPrependedBeforeTheArchiveAreRefused() throws Exception {
        byte[] zip = normalZip();
        byte[] prefixed = new byte[zip.length + 64];
        System.arraycopy(zip, 0, prefixed, 64, zip.length);

        assertRefused(write(prefixed), Reason.TRUNCATED);
    }

    /**
     * Bytes that belong to no entry, with every offset shifted over them so the central directory still adds up: a
     * self-extractor's prefix, a gap between two entries, a gap before the central directory. A reader walking the
     * local headers (ZipInputStream) reads entries there that the checks never saw.
     */
    @ParameterizedTest(name = "junk {0}")
    @ValueSource(strings = { "before the first entry", "between two entries", "before the central directory" })
    void bytesThatBelongToNoEntryAreRefusedEvenWithTheOffsetsShifted(String where) throws Exception {
        byte[] zip = normalZip();
        ByteBuffer end = eocd(zip);
        int directory = end.getInt(16);
        int at = switch (where) {
            case "before the first entry" -> 0;
            case "between two entries" -> localOffsets(zip, directory).get(5);
            default -> directory;
        };
        byte[] junk = new byte[64];
        java.util.Arrays.fill(junk, (byte) 'x');
        assertRefused(write(inserted(zip, at, junk, directory)), Reason.TRUNCATED, "belong to no entry");
    }

    /** The entries' local header offsets, in central directory order. */
    private static List<Integer> localOffsets(byte[] zip, int directory) {
        ByteBuffer b = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        List<Integer> offsets = new ArrayList<>();
        for (int p = directory; b.getInt(p) == 0x02014b50; p += 46 + b.getShort(p + 28) + b.getShort(p + 30) + b.getShort(p + 32)) {
            offsets.add(b.getInt(p + 42));
        }
        return offsets;
    }

    /** {@code junk} inserted at {@code at}, and every offset at or after it (local headers, the directory's) moved past it. */
    private static byte[] inserted(byte[] zip, int at, byte[] junk, int directory) {
        byte[] out = new byte[zip.length + junk.length];
        System.arraycopy(zip, 0, out, 0, at);
        System.arraycopy(junk, 0, out, at, junk.length);
        System.arraycopy(zip, at, out, at + junk.length, zip.length - at);
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        int moved = directory + junk.length;
        for (int p = moved; b.getInt(p) == 0x02014b50; p += 46 + b.getShort(p + 28) + b.getShort(p + 30) + b.getShort(p + 32)) {
            if (b.getInt(p + 42) >= at) {
                b.putInt(p + 42, b.getInt(p + 42) + junk.length);
            }
        }
        eocd(out).putInt(16, moved);
        return out;
    }

    /** A symbolic link made on macOS (host 19) carries its Unix mode as Info-ZIP's does: refused as well. */
    @Test
    void aSymbolicLinkMadeOnAnotherHostThanUnixIsRefused() throws Exception {
        byte[] zip = normalZip();
        int directory = eocd(zip).getInt(16);
        ByteBuffer b = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(directory + 4, (short) ((19 << 8) | 20));
        b.putInt(directory + 38, 0120777 << 16);
        assertRefused(write(zip), Reason.SYMLINK);
    }

    @Test
    void aMultiDiskArchiveIsRefused() throws Exception {
        byte[] zip = simpleForge().bytes();
        eocd(zip).putShort(4, (short) 1).putShort(6, (short) 1);

        assertRefused(write(zip), Reason.MULTI_DISK);
    }

    @Test
    void zip64AndClassicEndRecordsThatDisagreeAreRefused() throws Exception {
        byte[] zip = Files.readAllBytes(manyEntries());
        eocd(zip).putShort(10, (short) 1234); // the classic count now contradicts the ZIP64 one

        assertRefused(write(zip), Reason.TRUNCATED);
    }

    // ---- local headers against the central directory ------------------------------------------------------------

    @Test
    void aLocalNameDifferentFromTheCentralNameIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("datos/corte.json", "{}".getBytes(StandardCharsets.UTF_8)).localName("../../etc/cron.d/x"));

        assertRefused(write(forge.bytes()), Reason.HEADER_MISMATCH, "datos/corte.json");
    }

    @Test
    void aLocalMethodDifferentFromTheCentralMethodIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("a.txt", random(50, 4)).localMethod(8));

        assertRefused(write(forge.bytes()), Reason.HEADER_MISMATCH, "a.txt");
    }

    @Test
    void aLocalCrcDifferentFromTheCentralCrcIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("a.txt", random(50, 5)).localCrc(0x12345678L));

        assertRefused(write(forge.bytes()), Reason.HEADER_MISMATCH, "a.txt");
    }

    @Test
    void aLocalSizeDifferentFromTheCentralSizeIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.deflated("a.txt", new byte[5000]).localSize(10));

        assertRefused(write(forge.bytes()), Reason.HEADER_MISMATCH, "a.txt");
    }

    @Test
    void anEncryptionFlagOnlyInTheLocalHeaderIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("a.txt", random(50, 6)).localFlags(0x0001));

        assertRefused(write(forge.bytes()), Reason.HEADER_MISMATCH, "a.txt");
    }

    @Test
    void aDataDescriptorThatDisagreesIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.deflated("a.txt", new byte[5000]).descriptor().descriptorCrc(0xCAFEBABEL));

        assertRefused(write(forge.bytes()), Reason.HEADER_MISMATCH, "a.txt");
    }

    @Test
    void aCentralOffsetThatPointsAtNoLocalHeaderIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("a.txt", random(50, 7)).localOffsetShift(1));

        assertRefused(write(forge.bytes()), Reason.HEADER_MISMATCH, "a.txt");
    }

    @Test
    void aStoredEntryWithDifferentSizesIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("a.txt", random(50, 8)).uncompressedSize(5000));

        assertRefused(write(forge.bytes()), Reason.HEADER_MISMATCH, "a.txt");
    }

    // ---- entry kinds ----------------------------------------------------------------------------------------------

    @Test
    void anEncryptedEntryIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("secreto.json", random(62, 9)).flags(0x0001));

        assertRefused(write(forge.bytes()), Reason.ENCRYPTED, "secreto.json");
    }

    @Test
    void aStronglyEncryptedEntryIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("secreto.json", random(62, 10)).flags(0x0041));

        assertRefused(write(forge.bytes()), Reason.ENCRYPTED, "secreto.json");
    }

    @Test
    void aBzip2EntryIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("datos.csv", random(80, 11)).method(12).uncompressedSize(100));

        assertRefused(write(forge.bytes()), Reason.UNSUPPORTED_METHOD, "datos.csv");
    }

    @Test
    void aUnixSymlinkIsRefused() throws Exception {
        Forge forge = simpleForge();
        // what `zip -y` writes: made by Unix, mode lrwxrwxrwx, the link target as content
        forge.add(Spec.stored("assets/passwd", "../../../../etc/passwd".getBytes(StandardCharsets.US_ASCII)).unix(0120777));

        assertRefused(write(forge.bytes()), Reason.SYMLINK, "assets/passwd");
    }

    @Test
    void anEntryNamedLikeAnArchiveIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("inner.zip", random(40, 12)));

        assertRefused(write(forge.bytes()), Reason.NESTED_ARCHIVE, "inner.zip");
    }

    @Test
    void archiveSuffixesAreCaseInsensitive() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("respaldo/Base.TAR.GZ", random(40, 13)));

        assertRefused(write(forge.bytes()), Reason.NESTED_ARCHIVE, "Base.TAR.GZ");
    }

    @Test
    void aZipHiddenUnderAnInnocentNameIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("datos.json", normalZip()));

        assertRefused(write(forge.bytes()), Reason.NESTED_ARCHIVE, "datos.json");
    }

    /** An archive the operators named (difusor.unpack.archives-allowed) passes, by name and by content; under no archive's name it does not. */
    @Test
    void anAllowedArchiveIsAcceptedOnlyUnderAnArchivesName() throws Exception {
        Limits allowing = new Limits(100_000, 1L << 30, 256L << 20, 200, List.of(new SiteGlob("datos/**")));
        Forge forge = simpleForge();
        forge.add(Spec.stored("datos/PREP_JAL_2024.zip", normalZip()));
        assertThat(ZipStructure.inspect(write(forge.bytes()), allowing)).extracting(Entry::name).contains("datos/PREP_JAL_2024.zip");

        Forge disguised = simpleForge();
        disguised.add(Spec.stored("datos/resultados.json", normalZip()));
        assertRefused(write(disguised.bytes()), allowing, Reason.NESTED_ARCHIVE, "datos/resultados.json");
    }

    /**
     * The globs match the site path an entry is published under, and a setting may start with "/" as the other site
     * globs may: "./datos/base.zip" under "/datos/*.zip" is allowed. Matched against the raw name and the raw setting,
     * it was refused, and with it every corte of the night.
     */
    @Test
    void anAllowedArchiveIsMatchedByItsSitePathAndASettingFromTheRoot() throws Exception {
        Limits allowing = new Limits(100_000, 1L << 30, 256L << 20, 200, SiteGlob.ofSetting(List.of("/datos/*.zip")));
        Forge forge = simpleForge();
        forge.add(Spec.stored("datos/base.zip", normalZip()));
        forge.add(Spec.stored("./datos/otra.zip", normalZip()));
        assertThat(ZipStructure.inspect(write(forge.bytes()), allowing)).extracting(Entry::name).contains("datos/base.zip", "./datos/otra.zip");
        assertThat(allowing.mayBeArchive("datos//tercera.zip")).isTrue();
        assertThat(allowing.mayBeArchive("../datos/base.zip")).isFalse();
    }

    /**
     * An office file, an e-book, a KMZ are zips inside: a site that offers one for download is refused unless the
     * operators name it, and then it passes. Only the short archive suffixes counted, so no setting could let a
     * spreadsheet through, and the corte was refused for good.
     */
    @Test
    void aSpreadsheetTheOperatorsAllowIsAcceptedThoughItIsAZipInside() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("datos/resultados.xlsx", normalZip()));
        forge.add(Spec.stored("mapas/distritos.KMZ", normalZip()));
        Path zip = write(forge.bytes());
        assertRefused(zip, Reason.NESTED_ARCHIVE, "datos/resultados.xlsx");

        Limits allowing = new Limits(100_000, 1L << 30, 256L << 20, 200, SiteGlob.ofSetting(List.of("datos/*.xlsx", "mapas/**")));
        assertThat(ZipStructure.inspect(zip, allowing)).extracting(Entry::name).contains("datos/resultados.xlsx", "mapas/distritos.KMZ");
        assertThat(allowing.mayBeArchive("mapas/distritos.json")).isFalse();
    }

    @Test
    void aDeflatedGzipHiddenUnderAnInnocentNameIsRefused() throws Exception {
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(new byte[100_000]);
        }
        Forge forge = simpleForge();
        forge.add(Spec.deflated("datos.csv", gz.toByteArray()));

        assertRefused(write(forge.bytes()), Reason.NESTED_ARCHIVE, "datos.csv");
    }

    // ---- bombs ----------------------------------------------------------------------------------------------------

    @Test
    void moreEntriesThanAllowedAreRefused() throws Exception {
        assertRefused(manyEntries(), LIMITS, Reason.TOO_MANY_ENTRIES);
    }

    @Test
    void aDeclaredTotalOverTheLimitIsRefused() throws Exception {
        Forge forge = new Forge();
        for (int i = 0; i < 3; i++) {
            forge.add(Spec.stored("parte" + i + ".bin", random(40_000, 20 + i)));
        }

        assertRefused(write(forge.bytes()), new Limits(100, 100_000, 50_000, 200), Reason.TOO_LARGE);
    }

    @Test
    void anEntryOverTheLimitIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("grande.bin", random(40_000, 30)));

        assertRefused(write(forge.bytes()), new Limits(100, 1_000_000, 30_000, 200), Reason.TOO_LARGE, "grande.bin");
    }

    @Test
    void anEntryWithRatio1000IsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.deflated("ceros.json", new byte[10_000_000]));

        assertRefused(write(forge.bytes()), Reason.HIGH_RATIO, "ceros.json");
    }

    @Test
    void manyTinyEntriesWithAHighRatioTogetherAreRefused() throws Exception {
        Forge forge = new Forge();
        Spec zeros = Spec.deflated("0.json", new byte[100_000]);
        for (int i = 0; i < 60; i++) {
            forge.add(zeros.copy(i + ".json"));
        }
        // each entry alone passes: under 1 KiB compressed and under 1 KiB x 200 uncompressed
        assertThat(zeros.data.length).isLessThan(1024);

        Violation v = assertRefused(write(forge.bytes()), Reason.HIGH_RATIO);
        assertThat(v).hasMessageContaining("archive as a whole");
    }

    @Test
    void twoCentralEntriesSharingOneLocalHeaderAreRefused() throws Exception {
        Forge forge = new Forge();
        forge.add(Spec.deflated("index.html", new byte[50_000]));
        forge.add(Spec.deflated("otra.html", new byte[50_000]).sharesLocalHeaderOf(0));

        assertRefused(write(forge.bytes()), Reason.OVERLAPPING_ENTRIES, "otra.html");
    }

    @Test
    void aLocalHeaderQuotedInsideAnotherEntrysDataIsRefused() throws Exception {
        assertRefused(write(quotedLocalHeader().bytes()), Reason.OVERLAPPING_ENTRIES, "b.txt");
    }

    /** Fifield's construction: the second entry's header and data are the tail of the first entry's data. */
    private static Forge quotedLocalHeader() {
        Spec inner = Spec.stored("b.txt", random(2000, 40));
        byte[] quoted = Forge.concat(random(10, 41), Forge.localHeader(inner), inner.data);
        Forge forge = new Forge();
        forge.add(Spec.stored("a.txt", quoted));
        forge.add(inner.copy("b.txt").sharesLocalHeaderOf(0).localOffsetShift(30 + 5 + 10));
        return forge;
    }

    @Test
    void fingerprintsAreTheSha256OfTheCompressedEntryAndOnlyWhenAskedFor() throws Exception {
        byte[] page = random(70_000, 48); // more than one read window
        Forge forge = new Forge();
        forge.add(Spec.stored("index.html", random(3000, 49)));
        forge.add(Spec.stored("datos.json", page));
        forge.add(Spec.deflated("app.js", random(5000, 50)));
        Path file = write(forge.bytes());

        assertThat(ZipStructure.inspect(file, LIMITS)).extracting(Entry::fingerprint).containsOnlyNulls();
        List<Entry> entries = ZipStructure.inspect(file, LIMITS, true);
        // the definition the site manifests hold: a change here only costs one full unzip, but must be deliberate. The
        // version of the content checks first: an entry published before they changed is inflated and checked again
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        sha.update("content checks 2".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        sha.update(ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN).putInt(0).putLong(crc(page)).putLong(page.length)
                .putLong(page.length).array());
        sha.update(page);
        assertThat(entries.get(1).fingerprint()).isEqualTo(java.util.HexFormat.of().formatHex(sha.digest(), 0, 16));

        // the same entry elsewhere in another zip has the same fingerprint; other bytes another one
        Forge other = new Forge();
        other.add(Spec.stored("otro.txt", random(100, 51)));
        other.add(Spec.stored("datos.json", page));
        other.add(Spec.deflated("app.js", random(5000, 52)));
        List<Entry> moved = ZipStructure.inspect(write(other.bytes()), LIMITS, true);
        assertThat(moved.get(1).dataOffset()).isNotEqualTo(entries.get(1).dataOffset());
        assertThat(moved.get(1).fingerprint()).isEqualTo(entries.get(1).fingerprint());
        assertThat(moved.get(2).fingerprint()).isNotEqualTo(entries.get(2).fingerprint()).hasSize(32);
    }

    @Test
    void aCentralDirectoryInAnotherOrderThanTheFileIsReadInFileOrder() throws Exception {
        Forge forge = new Forge();
        forge.add(Spec.deflated("index.html", random(3000, 43)));
        forge.add(Spec.stored("datos.json", random(2000, 44)));
        forge.add(Spec.deflated("app.js", random(4000, 45)));
        forge.listed(2, 0, 1);

        List<ZipStructure.Entry> entries = ZipStructure.inspect(write(forge.bytes()), LIMITS);

        // central directory order, as the JDK lists them; none taken for an overlap of its neighbour in the directory
        assertThat(entries).extracting(ZipStructure.Entry::name).containsExactly("app.js", "index.html", "datos.json");
        assertThat(entries.get(0).localHeaderOffset()).isGreaterThan(entries.get(2).localHeaderOffset());
    }

    @Test
    void anOverlapIsFoundWhateverOrderTheCentralDirectoryListsTheEntriesIn() throws Exception {
        assertRefused(write(quotedLocalHeader().listed(1, 0).bytes()), Reason.OVERLAPPING_ENTRIES, "b.txt");
    }

    @Test
    void anEntryReachingIntoTheCentralDirectoryIsRefused() throws Exception {
        Forge forge = new Forge();
        forge.add(Spec.stored("index.html", random(10, 42)).claimedSize(60));

        assertRefused(write(forge.bytes()), Reason.OVERLAPPING_ENTRIES, "index.html");
    }

    // ---- names -----------------------------------------------------------------------------------------------------

    @Test
    void aNameFlaggedUtf8ThatIsNotUtf8IsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("x", random(10, 50)).rawName(new byte[] {'a', (byte) 0xC3, 0x28, '.', 'j', 's'}).flags(0x0800));

        assertRefused(write(forge.bytes()), Reason.INVALID_NAME_ENCODING);
    }

    @Test
    void anOverlongUtf8SlashIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("x", random(10, 51)).rawName(new byte[] {'.', '.', (byte) 0xC0, (byte) 0xAF, 'x'}).flags(0x0800));

        assertRefused(write(forge.bytes()), Reason.INVALID_NAME_ENCODING);
    }

    @Test
    void aLatin1NameWithoutTheUtf8FlagIsRefused() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("x", random(10, 52)).rawName("caf\u00e9.json".getBytes(StandardCharsets.ISO_8859_1)));

        assertRefused(write(forge.bytes()), Reason.INVALID_NAME_ENCODING);
    }

    @Test
    void aNameLongerThanAnS3KeyIsRefusedBeforeTheNextEntryIsRead() throws Exception {
        Forge forge = simpleForge();
        forge.add(Spec.stored("datos/" + "x".repeat(1_024 - "datos/".length()) + ".json", random(10, 54)));

        assertRefused(write(forge.bytes()), Reason.NAME_TOO_LONG, "1029 bytes");
    }

    @Test
    void aNameOfExactlyAnS3KeysLengthIsRead() throws Exception {
        Forge forge = simpleForge();
        String name = "datos/" + "x".repeat(1_024 - "datos/".length() - ".json".length()) + ".json";
        forge.add(Spec.stored(name, random(10, 55)));

        assertThat(ZipStructure.inspect(write(forge.bytes()), LIMITS)).extracting(ZipStructure.Entry::name).contains(name);
    }

    /**
     * 40,000 entries of 1,000-byte names: within the entry count and each name within an S3 key, but 40 MB of central
     * directory, read whole here and again by the JDK's ZipFile. 200,000 of them ran a 640 MB heap out of memory.
     */
    @Test
    void aCentralDirectoryLargerThanAnyPrepSiteNeedsIsRefused() throws Exception {
        assertRefused(write(withEmptyEntries(40_000, 40_000 * 1_000)), LIMITS, Reason.TOO_LARGE, "central directory");
    }

    @Test
    void aUtf8NameWithoutTheFlagIsReadAsTheJdkReadsIt() throws Exception {
        // Info-ZIP on Linux writes accented names as UTF-8 without setting bit 11
        Forge forge = simpleForge();
        forge.add(Spec.stored("x", random(10, 53)).rawName("municipios/tlaquepaque-\u00f1and\u00fa.json".getBytes(StandardCharsets.UTF_8)));

        assertThat(ZipStructure.inspect(write(forge.bytes()), LIMITS)).extracting(ZipStructure.Entry::name)
                .contains("municipios/tlaquepaque-\u00f1and\u00fa.json");
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    private static Violation assertRefused(Path zip, Reason reason, String... messageParts) throws IOException {
        return assertRefused(zip, LIMITS, reason, messageParts);
    }

    private static Violation assertRefused(Path zip, Limits limits, Reason reason, String... messageParts) throws IOException {
        Violation v = catchThrowableOfType(Violation.class, () -> ZipStructure.inspect(zip, limits));
        assertThat(v).as("expected a %s violation", reason).isNotNull();
        assertThat(v.reason()).as(v.getMessage()).isEqualTo(reason);
        for (String part : messageParts) {
            assertThat(v).hasMessageContaining(part);
        }
        return v;
    }

    private static Path write(byte[] bytes) throws IOException {
        Path file = Files.createTempFile(dir, "zs-", ".zip");
        Files.write(file, bytes);
        return file;
    }

    private static synchronized Path manyEntries() throws IOException {
        if (manyEntries == null) {
            Path file = dir.resolve("many.zip");
            try (ZipOutputStream zip = new ZipOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16))) {
                // empty stored entries: no data, no descriptors, just headers
                for (int i = 0; i <= 100_000; i++) {
                    zip.putNextEntry(storedEntry("e/" + i + ".json", new byte[0]));
                }
            }
            manyEntries = file;
        }
        return manyEntries;
    }

    private static byte[] normalZip() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (int i = 0; i < 20; i++) {
                zip.putNextEntry(new ZipEntry("datos/" + i + ".json"));
                zip.write(random(500, 100 + i));
            }
        }
        return bytes.toByteArray();
    }

    /** A valid one-entry forge that tests add their hostile entry to. */
    private static Forge simpleForge() {
        Forge forge = new Forge();
        forge.add(Spec.deflated("index.html", "<html>PREP</html>".getBytes(StandardCharsets.UTF_8)));
        return forge;
    }

    private static ZipEntry storedEntry(String name, byte[] content) {
        ZipEntry entry = new ZipEntry(name);
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(content.length);
        entry.setCompressedSize(content.length);
        entry.setCrc(crc(content));
        return entry;
    }

    private static ByteBuffer eocd(byte[] zip) {
        return ByteBuffer.wrap(zip, zip.length - 22, 22).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] random(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static long crc(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return crc.getValue();
    }

    /**
     * One entry to forge: what the central directory declares and, where a test says so, what the local header
     * declares instead. Defaults describe a consistent entry.
     */
    static final class Spec {
        byte[] name;
        byte[] localName;
        int method;
        Integer localMethod;
        int flags;
        Integer localFlags;
        int madeBy = 20; // MS-DOS host, version 2.0
        long external;
        byte[] data; // as stored in the zip (compressed for method 8)
        long crc;
        long uncompressedSize;
        long compressedSize;
        Long localCrc;
        Long localUncompressedSize;
        Long descriptorCrc;
        boolean descriptor64;
        boolean omitDescriptor;
        boolean zip64;
        int sharesLocalHeaderOf = -1;
        int localOffsetShift;

        static Spec stored(String name, byte[] content) {
            Spec s = new Spec();
            s.name = name.getBytes(StandardCharsets.UTF_8);
            s.data = content;
            s.crc = crc(content);
            s.uncompressedSize = content.length;
            s.compressedSize = content.length;
            return s;
        }

        static Spec deflated(String name, byte[] content) {
            Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION, true);
            deflater.setInput(content);
            deflater.finish();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buffer = new byte[1 << 16];
            while (!deflater.finished()) {
                out.write(buffer, 0, deflater.deflate(buffer));
            }
            deflater.end();
            Spec s = stored(name, content);
            s.method = 8;
            s.data = out.toByteArray();
            s.compressedSize = s.data.length;
            return s;
        }

        Spec copy(String newName) {
            Spec s = new Spec();
            s.name = newName.getBytes(StandardCharsets.UTF_8);
            s.method = method;
            s.flags = flags;
            s.madeBy = madeBy;
            s.external = external;
            s.data = data;
            s.crc = crc;
            s.uncompressedSize = uncompressedSize;
            s.compressedSize = compressedSize;
            return s;
        }

        Spec rawName(byte[] raw) {
            name = raw;
            return this;
        }

        Spec localName(String local) {
            localName = local.getBytes(StandardCharsets.UTF_8);
            return this;
        }

        Spec method(int m) {
            method = m;
            return this;
        }

        Spec localMethod(int m) {
            localMethod = m;
            return this;
        }

        Spec flags(int f) {
            flags = f;
            return this;
        }

        Spec localFlags(int f) {
            localFlags = f;
            return this;
        }

        Spec localCrc(long c) {
            localCrc = c;
            return this;
        }

        Spec localSize(long s) {
            localUncompressedSize = s;
            return this;
        }

        Spec uncompressedSize(long s) {
            uncompressedSize = s;
            return this;
        }

        /** Both sizes, in both headers, claim more than the data actually written. */
        Spec claimedSize(long s) {
            uncompressedSize = s;
            compressedSize = s;
            return this;
        }

        Spec unix(int mode) {
            madeBy = (3 << 8) | 30;
            external = (long) mode << 16;
            return this;
        }

        Spec descriptor() {
            flags |= 0x0008;
            return this;
        }

        Spec descriptor64() {
            descriptor64 = true;
            return this;
        }

        Spec omitDescriptor() {
            omitDescriptor = true;
            return this;
        }

        Spec descriptorCrc(long c) {
            descriptorCrc = c;
            return this;
        }

        Spec zip64() {
            zip64 = true;
            return this;
        }

        /** No local header of its own: the central entry points at entry {@code index}'s. */
        Spec sharesLocalHeaderOf(int index) {
            sharesLocalHeaderOf = index;
            return this;
        }

        Spec localOffsetShift(int shift) {
            localOffsetShift = shift;
            return this;
        }
    }

    /** Assembles local headers, data, descriptors, the central directory and its end record from specs. */
    static final class Forge {
        private final List<Spec> specs = new ArrayList<>();

        private int[] listed;

        Forge add(Spec spec) {
            specs.add(spec);
            return this;
        }

        /** The central directory lists the entries in this order (indexes into the added specs) instead of file order. */
        Forge listed(int... order) {
            listed = order;
            return this;
        }

        byte[] bytes() {
            Le out = new Le();
            long[] offsets = new long[specs.size()];
            for (int i = 0; i < specs.size(); i++) {
                Spec s = specs.get(i);
                if (s.sharesLocalHeaderOf >= 0) {
                    continue;
                }
                offsets[i] = out.size();
                out.bytes(localHeader(s));
                out.bytes(s.data);
                if ((s.flags & 0x0008) != 0 && !s.omitDescriptor) {
                    out.i32(0x08074b50).i32(s.descriptorCrc != null ? s.descriptorCrc : s.crc);
                    if (s.descriptor64) {
                        out.i64(s.compressedSize).i64(s.uncompressedSize);
                    } else {
                        out.i32(s.compressedSize).i32(s.uncompressedSize);
                    }
                }
            }
            long directory = out.size();
            for (int k = 0; k < specs.size(); k++) {
                int i = listed == null ? k : listed[k];
                Spec s = specs.get(i);
                long offset = (s.sharesLocalHeaderOf >= 0 ? offsets[s.sharesLocalHeaderOf] : offsets[i]) + s.localOffsetShift;
                byte[] extra = s.zip64
                        ? new Le().i16(1).i16(24).i64(s.uncompressedSize).i64(s.compressedSize).i64(offset).toByteArray()
                        : new byte[0];
                out.i32(0x02014b50).i16(s.madeBy).i16(s.zip64 ? 45 : 20).i16(s.flags).i16(s.method)
                        .i16(0).i16(0x21) // 1980-01-01 00:00
                        .i32(s.crc)
                        .i32(s.zip64 ? 0xFFFFFFFFL : s.compressedSize)
                        .i32(s.zip64 ? 0xFFFFFFFFL : s.uncompressedSize)
                        .i16(s.name.length).i16(extra.length).i16(0) // name, extra, comment lengths
                        .i16(0).i16(0).i32(s.external) // disk, internal and external attributes
                        .i32(s.zip64 ? 0xFFFFFFFFL : offset)
                        .bytes(s.name).bytes(extra);
            }
            long size = out.size() - directory;
            out.i32(0x06054b50).i16(0).i16(0).i16(specs.size()).i16(specs.size()).i32(size).i32(directory).i16(0);
            return out.toByteArray();
        }

        static byte[] localHeader(Spec s) {
            boolean descriptor = (s.flags & 0x0008) != 0;
            long crc = s.localCrc != null ? s.localCrc : descriptor ? 0 : s.crc;
            long compressed = descriptor ? 0 : s.compressedSize;
            long uncompressed = s.localUncompressedSize != null ? s.localUncompressedSize : descriptor ? 0 : s.uncompressedSize;
            byte[] name = s.localName != null ? s.localName : s.name;
            byte[] extra = s.zip64 ? new Le().i16(1).i16(16).i64(uncompressed).i64(compressed).toByteArray() : new byte[0];
            return new Le().i32(0x04034b50).i16(s.zip64 ? 45 : 20)
                    .i16(s.localFlags != null ? s.localFlags : s.flags)
                    .i16(s.localMethod != null ? s.localMethod : s.method)
                    .i16(0).i16(0x21)
                    .i32(crc)
                    .i32(s.zip64 ? 0xFFFFFFFFL : compressed)
                    .i32(s.zip64 ? 0xFFFFFFFFL : uncompressed)
                    .i16(name.length).i16(extra.length)
                    .bytes(name).bytes(extra)
                    .toByteArray();
        }

        static byte[] concat(byte[]... parts) {
            Le out = new Le();
            for (byte[] part : parts) {
                out.bytes(part);
            }
            return out.toByteArray();
        }
    }

    /** Little-endian writer. */
    static final class Le extends ByteArrayOutputStream {
        Le i16(int v) {
            write(v);
            write(v >>> 8);
            return this;
        }

        Le i32(long v) {
            return i16((int) v & 0xFFFF).i16((int) (v >>> 16) & 0xFFFF);
        }

        Le i64(long v) {
            return i32(v & 0xFFFFFFFFL).i32(v >>> 32);
        }

        Le bytes(byte[] b) {
            write(b, 0, b.length);
            return this;
        }
    }
}
