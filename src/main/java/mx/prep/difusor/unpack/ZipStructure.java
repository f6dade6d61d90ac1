package mx.prep.difusor.unpack;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

import mx.prep.difusor.verify.ChecksumFilter;

/**
 * Structural inspection of an untrusted zip, run before any entry is inflated.
 *
 * <p>{@link java.util.zip.ZipFile} trusts the central directory alone; a hostile zip can make the central directory
 * and the local headers tell different stories, point many entries at the same bytes (the "better zip bomb"), or
 * hide symlinks and encrypted entries. This class parses the records itself (PKWARE APPNOTE 6.3: end of central
 * directory, ZIP64 locator and record, central directory file headers, local file headers, data descriptors) with
 * bounded memory: the central directory is streamed record by record through a fixed window, and local headers
 * are read in file order. Nothing is decompressed except, optionally, the first few hundred bytes of an entry to
 * recognise an archive hidden under an innocent name.
 *
 * <p>It does not verify entry data (CRC-32, real sizes) nor normalise paths: the unpacker does both while reading.
 */
public final class ZipStructure {

    /**
     * Policy limits, all on declared (header) values.
     *
     * @param maxEntries           most central directory entries (directories included)
     * @param maxTotalUncompressed most declared uncompressed bytes summed over all entries
     * @param maxEntryUncompressed most declared uncompressed bytes of one entry
     * @param maxRatio             most uncompressed/compressed ratio of one entry and of the whole archive
     */
    public record Limits(int maxEntries, long maxTotalUncompressed, long maxEntryUncompressed, int maxRatio, List<SiteGlob> archivesAllowed) {
        public Limits {
            if (maxEntries <= 0 || maxTotalUncompressed <= 0 || maxEntryUncompressed <= 0 || maxRatio <= 0) {
                throw new IllegalArgumentException("zip limits must be positive: " + maxEntries + ", " + maxTotalUncompressed
                        + ", " + maxEntryUncompressed + ", " + maxRatio);
            }
            archivesAllowed = List.copyOf(archivesAllowed);
        }

        public Limits(int maxEntries, long maxTotalUncompressed, long maxEntryUncompressed, int maxRatio) {
            this(maxEntries, maxTotalUncompressed, maxEntryUncompressed, maxRatio, List.of());
        }

        /**
         * An entry the operators allowed to be an archive (difusor.unpack.archives-allowed: the institute's site offers
         * one for download): published as a file like any other, never opened. Only under an archive's name: a glob as
         * broad as datos/** lets no zip through as resultados.json.
         */
        public boolean mayBeArchive(String entryName) {
            if (!hasArchiveSuffix(entryName)) {
                return false;
            }
            // matched as the site path it is published under: "./datos/base.zip" is datos/base.zip
            String path;
            try {
                path = SitePaths.normalise(entryName, "");
            } catch (mx.prep.difusor.PackageRejectedException unsafe) {
                return false; // refused for its name anyway
            }
            return SiteGlob.any(archivesAllowed, path);
        }
    }

    /**
     * One central directory entry as declared, after its local header was found consistent with it; its {@code name}
     * with '/' for each '\' of a zip made on Windows ({@code windowsSeparators}). Its
     * {@code fingerprint}, when asked for, is the first 128 bits (hex) of the SHA-256 of its method, CRC-32, sizes
     * and compressed bytes: two entries with the same fingerprint inflate to the same content; else null.
     * {@code symlink} and {@code encrypted} are always false in a list returned by {@link #inspect}: such entries are
     * refused; they are kept so the record describes the entry completely.
     */
    public record Entry(String name, int method, long compressedSize, long uncompressedSize, long crc, long localHeaderOffset,
                        long dataOffset, boolean directory, boolean symlink, boolean encrypted, String fingerprint,
                        boolean windowsSeparators) {

        /** The name as this entry's site path is made of: the zip's own, each '\' a '/' when {@link #windowsSeparators}. */
        public String siteName(String zipName) {
            return windowsSeparators ? zipName.replace('\\', '/') : zipName;
        }
    }

    /** The zip's "version made by" names the host: MS-DOS/FAT (0), NTFS (11) or VFAT (14), where '\' separates folders. */
    static boolean madeOnWindows(int madeBy) {
        int host = madeBy >>> 8;
        return host == 0 || host == 11 || host == 14;
    }

    /** Why a zip was refused; the message names the entry. */
    public enum Reason {
        /** No end of central directory record: not a zip at all (an HTML page, an empty file). */
        NOT_A_ZIP,
        /** A well-formed zip without entries. */
        EMPTY,
        /** Cut short, or its records, lengths and offsets do not add up (including bytes after the end record). */
        TRUNCATED,
        /** The archive claims to span several disks. */
        MULTI_DISK,
        /** A local header (or data descriptor) disagrees with its central directory entry, or is missing. */
        HEADER_MISMATCH,
        /** An entry is encrypted (traditional or strong encryption). */
        ENCRYPTED,
        /** An entry's compression method is neither STORED (0) nor DEFLATED (8). */
        UNSUPPORTED_METHOD,
        /** A Unix symbolic link entry. */
        SYMLINK,
        /** An archive inside the archive, by name or by its first bytes. */
        NESTED_ARCHIVE,
        /** Two entries share bytes, or an entry reaches into the central directory. */
        OVERLAPPING_ENTRIES,
        /** More entries than allowed. */
        TOO_MANY_ENTRIES,
        /** An entry or the sum of all entries declares more bytes than allowed. */
        TOO_LARGE,
        /** An entry or the whole archive declares an implausible compression ratio. */
        HIGH_RATIO,
        /** A name that is not valid UTF-8 (language encoding flag set) or not printable ASCII (flag not set). */
        INVALID_NAME_ENCODING,
        /** A name longer than any S3 key. */
        NAME_TOO_LONG
    }

    /** The first structural problem found. */
    public static final class Violation extends Exception {
        private static final long serialVersionUID = 1L;
        private final Reason reason;

        public Violation(Reason reason, String message) {
            super(message);
            this.reason = reason;
        }

        public Reason reason() {
            return reason;
        }
    }

    /**
     * Checks the structure of the zip at {@code zip} against the format and {@code limits}, reading headers only.
     *
     * @return the entries in central directory order
     * @throws Violation   on the first structural problem or limit exceeded
     * @throws IOException if the file cannot be read
     */
    public static List<Entry> inspect(Path zip, Limits limits) throws IOException, Violation {
        return inspect(zip, limits, false);
    }

    /**
     * As {@link #inspect(Path, Limits)}, and with {@code fingerprints} each file entry's fingerprint too: this pass
     * reads the whole file in order anyway, so the compressed bytes are hashed where they already are in memory.
     */
    public static List<Entry> inspect(Path zip, Limits limits, boolean fingerprints) throws IOException, Violation {
        return inspect(zip, limits, fingerprints, true);
    }

    /**
     * As {@link #inspect(Path, Limits, boolean)}; without {@code sniffContent} the first bytes of each entry are not
     * inflated to look for an archive under an innocent name (its name is still checked): for a caller that inflates
     * every entry it has not already checked anyway, and looks at those bytes there with {@link #archiveMagic}.
     */
    public static List<Entry> inspect(Path zip, Limits limits, boolean fingerprints, boolean sniffContent) throws IOException, Violation {
        try (FileChannel channel = FileChannel.open(zip, StandardOpenOption.READ)) {
            return new Inspector(channel, limits, fingerprints ? ChecksumFilter.newSha256() : null, sniffContent).run();
        }
    }

    // ---------------------------------------------------------------------------------------------------------------

    private static final int EOCD_SIG = 0x06054b50;
    private static final int EOCD_LEN = 22;
    private static final int MAX_COMMENT = 0xFFFF;
    private static final int ZIP64_LOCATOR_SIG = 0x07064b50;
    private static final int ZIP64_LOCATOR_LEN = 20;
    private static final int ZIP64_EOCD_SIG = 0x06064b50;
    private static final int ZIP64_EOCD_LEN = 56;
    private static final int CEN_SIG = 0x02014b50;
    private static final int CEN_LEN = 46;
    /** Most bytes of a central directory: 32 MiB, twice what a PREP site of 180,000 files needs. */
    static final long MAX_DIRECTORY_BYTES = 32L << 20;
    /** Most bytes of an entry's name: S3's limit on a key. */
    static final int MAX_NAME_BYTES = 1024;
    private static final int LOC_SIG = 0x04034b50;
    private static final int LOC_LEN = 30;
    private static final int DESCRIPTOR_SIG = 0x08074b50;
    private static final int ZIP64_EXTRA = 0x0001;
    private static final long MAGIC32 = 0xFFFFFFFFL;
    private static final int MAGIC16 = 0xFFFF;

    private static final int FLAG_ENCRYPTED = 0x0001;
    private static final int FLAG_DESCRIPTOR = 0x0008;
    private static final int FLAG_STRONG_ENCRYPTION = 0x0040;
    private static final int FLAG_UTF8 = 0x0800;
    private static final int FLAG_MASKED_HEADERS = 0x2000;
    /** Flag bits that change how an entry is read; they must be the same in both headers. */
    private static final int FLAGS_COMPARED = FLAG_ENCRYPTED | FLAG_DESCRIPTOR | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS;

    private static final int STORED = 0;
    private static final int DEFLATED = 8;
    private static final int S_IFMT = 0170000;
    private static final int S_IFLNK = 0120000;

    /** Below this many compressed bytes a ratio says nothing (deflate's own overhead dominates). */
    private static final long TINY_COMPRESSED = 1024;
    /** How much of an entry is looked at to recognise a nested archive: tar's "ustar" sits at offset 257. */
    static final int SNIFF_BYTES = 265;
    /** Compressed bytes fed to the inflater for the sniff: enough for a dynamic Huffman header plus the prefix. */
    private static final int SNIFF_INPUT = 2048;
    private static final int WINDOW = 1 << 16;

    /**
     * Names an archive goes by, and the documents that are zips inside (office files, e-books, Google Earth's KMZ): an
     * operator may let a site offer one for download (difusor.unpack.archives-allowed), only under such a name.
     */
    private static final String[] ARCHIVE_SUFFIXES = {".zip", ".jar", ".war", ".tar", ".tgz", ".tbz2", ".txz", ".gz", ".bz2", ".xz",
        ".zst", ".lz", ".lz4", ".7z", ".rar", ".cab", ".xlsx", ".xlsm", ".docx", ".pptx", ".ods", ".odt", ".odp", ".epub", ".kmz", ".svgz"};
    /** The longest of those suffixes, with its dot. */
    private static final int LONGEST_SUFFIX = java.util.Arrays.stream(ARCHIVE_SUFFIXES).mapToInt(String::length).max().orElseThrow();
    /** A zip's end-of-central-directory record, without its comment. */
    static final int END_RECORD = 22;
    /** The version of the checks on entries' content (the archives looked for): part of every fingerprint. */
    private static final byte[] CONTENT_CHECKS = "content checks 2".getBytes(StandardCharsets.US_ASCII);

    /** The state of one inspection: the channel, a read window, and the entries found so far. */
    private static final class Inspector {
        private final FileChannel channel;
        private final Limits limits;
        private final long fileSize;
        private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        private ByteBuffer window = ByteBuffer.allocate(WINDOW).order(ByteOrder.LITTLE_ENDIAN);
        private long windowStart = -1;
        private int windowLength;
        private final byte[] sniffed = new byte[SNIFF_BYTES];

        private final MessageDigest fingerprints;
        private final boolean sniffContent;
        private final ByteBuffer fingerprintHeader = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);

        Inspector(FileChannel channel, Limits limits, MessageDigest fingerprints, boolean sniffContent) throws IOException {
            this.channel = channel;
            this.limits = limits;
            this.fileSize = channel.size();
            this.fingerprints = fingerprints;
            this.sniffContent = sniffContent;
        }

        List<Entry> run() throws IOException, Violation {
            Directory dir = findDirectory();
            Central[] central = readCentralDirectory(dir);
            return checkLocalHeaders(dir, central);
        }

        // ---- end of central directory ------------------------------------------------------------------------------

        /** Where the central directory is and how many entries it declares, from the end record(s). */
        private record Directory(long offset, long size, long entries) {
            long end() {
                return offset + size;
            }
        }

        private Directory findDirectory() throws IOException, Violation {
            if (fileSize < EOCD_LEN) {
                throw fileSize >= 4 && startsWithLocalHeader()
                        ? violation(Reason.TRUNCATED, "the file starts like a zip but is only " + fileSize + " bytes long")
                        : violation(Reason.NOT_A_ZIP, "no end of central directory record: " + fileSize + " bytes, not a zip");
            }
            int tailLength = (int) Math.min(fileSize, EOCD_LEN + MAX_COMMENT);
            long tailStart = fileSize - tailLength;
            ByteBuffer tail = read(tailStart, tailLength);
            long eocd = -1;
            boolean sawSignature = false;
            // Backwards, like the JDK, so both pick the same record; the comment must reach exactly the end of the
            // file: bytes appended after the zip are a parser-differential trick (and a sign of a damaged download)
            int lastSignature = -1;
            for (int i = tailLength - EOCD_LEN; i >= 0; i--) {
                if (tail.getInt(i) == EOCD_SIG) {
                    if (i + EOCD_LEN + u16(tail, i + 20) == tailLength) {
                        if (lastSignature >= i + EOCD_LEN) {
                            // the JDK's reader takes a record inside the comment whose directory starts where it says:
                            // the entries published would not be the ones checked here. (Bytes of this record's own
                            // fields that look like a signature are no record.)
                            throw violation(Reason.TRUNCATED, "the zip comment holds another end of central directory record: "
                                    + "readers would disagree on the entries");
                        }
                        // a signature across this record's last fields and the comment's first bytes is looked at first
                        // by the JDK's backwards scan, and taken if its directory and first entry start with their signatures
                        for (int j = i + 1; j <= Math.min(i + EOCD_LEN - 1, tailLength - EOCD_LEN); j++) {
                            if (tail.getInt(j) == EOCD_SIG && jdkTakes(tail, j, tailStart + j)) {
                                throw violation(Reason.TRUNCATED, "the end of central directory record overlaps another one that readers"
                                        + " would take instead: they would disagree on the entries");
                            }
                        }
                        eocd = tailStart + i;
                        break;
                    }
                    sawSignature = true;
                    lastSignature = Math.max(lastSignature, i);
                }
            }
            if (eocd < 0) {
                if (sawSignature) {
                    throw violation(Reason.TRUNCATED, "the end of central directory record does not end the file (cut short or bytes appended)");
                }
                throw startsWithLocalHeader()
                        ? violation(Reason.TRUNCATED, "the file starts like a zip but has no end of central directory record: cut short")
                        : violation(Reason.NOT_A_ZIP, "no end of central directory record in the last " + tailLength + " bytes: not a zip");
            }
            ByteBuffer end = read(eocd, EOCD_LEN);
            int disk = u16(end, 4);
            int directoryDisk = u16(end, 6);
            long diskEntries = u16(end, 8);
            long entries = u16(end, 10);
            long size = u32(end, 12);
            long offset = u32(end, 16);
            long directoryEnd = eocd;

            if (eocd >= ZIP64_LOCATOR_LEN && read(eocd - ZIP64_LOCATOR_LEN, 4).getInt(0) == ZIP64_LOCATOR_SIG) {
                long locator = eocd - ZIP64_LOCATOR_LEN;
                ByteBuffer loc = read(locator, ZIP64_LOCATOR_LEN);
                long recordDisk = u32(loc, 4);
                long record = loc.getLong(8);
                long disks = u32(loc, 16);
                if (recordDisk != 0 || disks > 1) {
                    throw violation(Reason.MULTI_DISK, "the ZIP64 locator names " + disks + " disks");
                }
                if (record < 0 || record > locator - ZIP64_EOCD_LEN) {
                    throw violation(Reason.TRUNCATED, "the ZIP64 end of central directory record lies outside the file (offset " + record + ")");
                }
                ByteBuffer z = read(record, ZIP64_EOCD_LEN);
                // the record's own size field excludes its first 12 bytes; it must end where the locator starts
                if (z.getInt(0) != ZIP64_EOCD_SIG || z.getLong(4) != locator - record - 12) {
                    throw violation(Reason.TRUNCATED, "no ZIP64 end of central directory record where the locator points");
                }
                long disk64 = u32(z, 16);
                long directoryDisk64 = u32(z, 20);
                long diskEntries64 = z.getLong(24);
                long entries64 = z.getLong(32);
                long size64 = z.getLong(40);
                long offset64 = z.getLong(48);
                if (disk64 != 0 || directoryDisk64 != 0 || diskEntries64 != entries64) {
                    throw violation(Reason.MULTI_DISK, "the ZIP64 end record spans disks");
                }
                if (entries64 < 0 || size64 < 0 || offset64 < 0) {
                    throw violation(Reason.TRUNCATED, "the ZIP64 end record declares impossible sizes");
                }
                // a 16/32-bit field either says "see ZIP64" or must agree with it: two answers are a differential trick
                if (!agrees(entries, MAGIC16, entries64) || !agrees(diskEntries, MAGIC16, diskEntries64)
                        || !agrees(size, MAGIC32, size64) || !agrees(offset, MAGIC32, offset64)
                        || (disk != MAGIC16 && disk != 0) || (directoryDisk != MAGIC16 && directoryDisk != 0)) {
                    throw violation(Reason.TRUNCATED, "the end record and the ZIP64 end record disagree");
                }
                disk = 0;
                directoryDisk = 0;
                diskEntries = diskEntries64;
                entries = entries64;
                size = size64;
                offset = offset64;
                directoryEnd = record;
            }
            if (disk != 0 || directoryDisk != 0 || diskEntries != entries) {
                throw violation(Reason.MULTI_DISK, "the archive spans disks (disk " + disk + ", central directory on disk " + directoryDisk + ")");
            }
            if (entries == 0) {
                throw violation(Reason.EMPTY, "the zip has no entries");
            }
            if (entries > limits.maxEntries()) {
                throw violation(Reason.TOO_MANY_ENTRIES, "the zip declares " + entries + " entries, more than " + limits.maxEntries());
            }
            if (offset > directoryEnd || size > directoryEnd - offset) {
                throw violation(Reason.TRUNCATED, "the central directory (offset " + offset + ", " + size
                        + " bytes) runs past its end record at " + directoryEnd + ": cut short or damaged");
            }
            if (offset + size != directoryEnd) {
                throw violation(Reason.TRUNCATED, (directoryEnd - offset - size)
                        + " unexplained bytes between the central directory and its end record (prefixed or damaged zip)");
            }
            if (size > MAX_DIRECTORY_BYTES) {
                // read whole, and by the JDK's ZipFile again: within the heap whatever the names and extra fields say
                throw violation(Reason.TOO_LARGE, "the central directory is " + size + " bytes, more than " + MAX_DIRECTORY_BYTES
                        + " (a PREP site of 180,000 files needs about 16 MiB)");
            }
            if (size < entries * CEN_LEN) {
                throw violation(Reason.TRUNCATED, "the central directory is " + size + " bytes, too short for " + entries + " entries");
            }
            return new Directory(offset, size, entries);
        }

        /**
         * Whether the JDK's ZipFile takes the end record read at {@code at} (its backwards scan takes the first one whose
         * comment reaches the end of the file, or whose directory and first entry start with their signatures).
         */
        private boolean jdkTakes(ByteBuffer tail, int i, long at) throws IOException {
            if (at + EOCD_LEN + u16(tail, i + 20) == fileSize) {
                return true;
            }
            long directory = at - u32(tail, i + 12);
            long firstEntry = directory - u32(tail, i + 16);
            return directory >= 0 && firstEntry >= 0 && directory + 4 <= fileSize && firstEntry + 4 <= fileSize
                    && read(directory, 4).getInt(0) == CEN_SIG && read(firstEntry, 4).getInt(0) == LOC_SIG;
        }

        private boolean startsWithLocalHeader() throws IOException {
            return fileSize >= 4 && read(0, 4).getInt(0) == LOC_SIG;
        }

        // ---- central directory -------------------------------------------------------------------------------------

        /** What the central directory says about an entry, plus what the local pass needs. */
        private static final class Central {
            int index;
            String name;
            boolean windowsSeparators;
            byte[] nameBytes;
            int flags;
            int method;
            long crc;
            long compressedSize;
            long uncompressedSize;
            long localOffset;
            boolean directory;
        }

        private Central[] readCentralDirectory(Directory dir) throws IOException, Violation {
            Central[] central = new Central[(int) dir.entries()];
            long position = dir.offset();
            long totalUncompressed = 0;
            long totalCompressed = 0;
            for (int i = 0; i < central.length; i++) {
                if (dir.end() - position < CEN_LEN) {
                    throw violation(Reason.TRUNCATED, "the central directory ends after " + i + " of its " + central.length + " entries");
                }
                ByteBuffer h = window(position, CEN_LEN);
                if (h.getInt(0) != CEN_SIG) {
                    throw violation(Reason.TRUNCATED, "central directory entry " + (i + 1) + " at offset " + position + " is damaged");
                }
                int madeBy = u16(h, 4);
                int flags = u16(h, 8);
                int method = u16(h, 10);
                long crc = u32(h, 16);
                long compressed = u32(h, 20);
                long uncompressed = u32(h, 24);
                int nameLength = u16(h, 28);
                int extraLength = u16(h, 30);
                int commentLength = u16(h, 32);
                long diskStart = u16(h, 34);
                long external = u32(h, 38);
                long localOffset = u32(h, 42);
                long recordLength = (long) CEN_LEN + nameLength + extraLength + commentLength;
                if (dir.end() - position < recordLength) {
                    throw violation(Reason.TRUNCATED, "central directory entry " + (i + 1) + " runs past the central directory");
                }
                if (nameLength > MAX_NAME_BYTES) {
                    // never a site path, and 200,000 of them would fill the heap before any other check
                    throw violation(Reason.NAME_TOO_LONG, "central directory entry " + (i + 1) + "'s name is " + nameLength
                            + " bytes, longer than an S3 key allows (" + MAX_NAME_BYTES + ")");
                }
                ByteBuffer r = window(position, (int) recordLength);
                byte[] nameBytes = new byte[nameLength];
                r.get(CEN_LEN, nameBytes);
                String name = decodeName(nameBytes, flags, i + 1);
                // a zip made on Windows (PowerShell 5.1's Compress-Archive, .NET Framework's ZipFile) may separate folders
                // with '\': a separator there, as unzip and libarchive read it; refused, every corte of such an institute
                // was. The name is then checked as any other ('..\' is '../')
                boolean windowsSeparators = madeOnWindows(madeBy) && name.indexOf('\\') >= 0;
                if (windowsSeparators) {
                    name = name.replace('\\', '/');
                }

                // ZIP64: each field that holds the magic value is in the 0x0001 extra field, in this fixed order
                if (uncompressed == MAGIC32 || compressed == MAGIC32 || localOffset == MAGIC32 || diskStart == MAGIC16) {
                    ByteBuffer zip64 = extraField(r, CEN_LEN + nameLength, extraLength, ZIP64_EXTRA);
                    int needed = (uncompressed == MAGIC32 ? 8 : 0) + (compressed == MAGIC32 ? 8 : 0)
                            + (localOffset == MAGIC32 ? 8 : 0) + (diskStart == MAGIC16 ? 4 : 0);
                    if (zip64 == null || zip64.limit() < needed) {
                        throw violation(Reason.TRUNCATED, "entry '" + label(name) + "' lacks the ZIP64 sizes its header announces");
                    }
                    int at = 0;
                    if (uncompressed == MAGIC32) {
                        uncompressed = zip64.getLong(at);
                        at += 8;
                    }
                    if (compressed == MAGIC32) {
                        compressed = zip64.getLong(at);
                        at += 8;
                    }
                    if (localOffset == MAGIC32) {
                        localOffset = zip64.getLong(at);
                        at += 8;
                    }
                    if (diskStart == MAGIC16) {
                        diskStart = u32(zip64, at);
                    }
                    if (uncompressed < 0 || compressed < 0 || localOffset < 0) {
                        throw violation(Reason.TRUNCATED, "entry '" + label(name) + "' declares impossible ZIP64 sizes");
                    }
                }
                if (diskStart != 0) {
                    throw violation(Reason.MULTI_DISK, "entry '" + label(name) + "' starts on disk " + diskStart);
                }
                if ((flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS)) != 0) {
                    throw violation(Reason.ENCRYPTED, "entry '" + label(name) + "' is encrypted (flags 0x" + Integer.toHexString(flags) + ")");
                }
                if (method != STORED && method != DEFLATED) {
                    throw violation(Reason.UNSUPPORTED_METHOD, "entry '" + label(name) + "' uses compression method " + method
                            + "; only 0 (stored) and 8 (deflated) are accepted");
                }
                // by its Unix mode (the attributes' high half) whatever host made it: macOS's (19) and others carry the mode
                // too, and readers honour it; DOS and Windows hosts leave that half 0
                if (((external >>> 16) & S_IFMT) == S_IFLNK) {
                    throw violation(Reason.SYMLINK, "entry '" + label(name) + "' is a symbolic link");
                }
                boolean directory = name.endsWith("/");
                if (!directory && hasArchiveSuffix(name) && !limits.mayBeArchive(name)) {
                    throw violation(Reason.NESTED_ARCHIVE, "entry '" + label(name) + "' is an archive inside the archive (difusor.unpack.archives-allowed does not name it)");
                }
                if (method == STORED && compressed != uncompressed) {
                    throw violation(Reason.HEADER_MISMATCH, "stored entry '" + label(name) + "' declares " + compressed
                            + " compressed and " + uncompressed + " uncompressed bytes");
                }
                if (compressed > fileSize) {
                    throw violation(Reason.TRUNCATED, "entry '" + label(name) + "' declares " + compressed
                            + " compressed bytes, more than the whole file");
                }
                if (uncompressed > limits.maxEntryUncompressed()) {
                    throw violation(Reason.TOO_LARGE, "entry '" + label(name) + "' declares " + uncompressed + " bytes, more than "
                            + limits.maxEntryUncompressed());
                }
                if (tooHighRatio(uncompressed, compressed)) {
                    throw violation(Reason.HIGH_RATIO, "entry '" + label(name) + "' declares " + uncompressed + " bytes from "
                            + compressed + ", a ratio over " + limits.maxRatio());
                }
                // no overflow: each term is capped by maxEntryUncompressed or the file size
                totalUncompressed += uncompressed;
                totalCompressed += compressed;
                if (totalUncompressed > limits.maxTotalUncompressed()) {
                    throw violation(Reason.TOO_LARGE, "the entries up to '" + label(name) + "' declare " + totalUncompressed
                            + " bytes, more than " + limits.maxTotalUncompressed());
                }
                Central c = new Central();
                c.index = i;
                c.name = name;
                c.nameBytes = nameBytes;
                c.flags = flags;
                c.method = method;
                c.crc = crc;
                c.compressedSize = compressed;
                c.uncompressedSize = uncompressed;
                c.localOffset = localOffset;
                c.directory = directory;
                c.windowsSeparators = windowsSeparators;
                central[i] = c;
                position += recordLength;
            }
            if (position != dir.end()) {
                throw violation(Reason.TRUNCATED, (dir.end() - position) + " bytes in the central directory after its "
                        + central.length + " declared entries");
            }
            if (tooHighRatio(totalUncompressed, totalCompressed)) {
                throw violation(Reason.HIGH_RATIO, "the archive as a whole declares " + totalUncompressed + " bytes from "
                        + totalCompressed + ", a ratio over " + limits.maxRatio());
            }
            return central;
        }

        private boolean tooHighRatio(long uncompressed, long compressed) {
            // a tiny entry counts as TINY_COMPRESSED bytes: it can still not declare megabytes
            return (double) uncompressed / Math.max(compressed, TINY_COMPRESSED) > limits.maxRatio();
        }

        private String decodeName(byte[] bytes, int flags, int number) throws Violation {
            // the JDK reads every name as UTF-8, flagged or not (Info-ZIP on Linux writes UTF-8 without the flag):
            // a name that is not valid UTF-8 would be read as something else than what the zip says
            if (ascii(bytes)) {
                return new String(bytes, StandardCharsets.US_ASCII); // valid UTF-8 as it is: most names, no decoder
            }
            try {
                return utf8.reset().decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw violation(Reason.INVALID_NAME_ENCODING, "entry " + number + " '" + rawLabel(bytes) + "' has a name that is not valid UTF-8"
                        + ((flags & FLAG_UTF8) != 0 ? " though flagged UTF-8" : ""));
            }
        }

        // ---- local headers ---------------------------------------------------------------------------------------

        private List<Entry> checkLocalHeaders(Directory dir, Central[] central) throws IOException, Violation {
            Central[] byOffset = central.clone();
            // file order: reads go forward through the file, and neighbours are the only overlap candidates (a zip
            // written in one go lists its entries in file order already: then there is nothing to sort)
            if (!inFileOrder(byOffset)) {
                Arrays.sort(byOffset, Comparator.comparingLong((Central c) -> c.localOffset).thenComparingInt(c -> c.index));
            }
            Entry[] entries = new Entry[central.length];
            long limit = dir.offset();
            long previousEnd = 0;
            String previous = null;
            Inflater inflater = new Inflater(true);
            try {
                for (int k = 0; k < byOffset.length; k++) {
                    Central c = byOffset[k];
                    // where the next record starts: the next entry's local header, or the central directory
                    long next = k + 1 < byOffset.length ? byOffset[k + 1].localOffset : limit;
                    long offset = c.localOffset;
                    if (offset < previousEnd) {
                        throw violation(Reason.OVERLAPPING_ENTRIES, "entry '" + label(c.name) + "' at offset " + offset
                                + " overlaps entry '" + label(previous) + "' (bytes shared between entries: a zip bomb construction)");
                    }
                    checkWithin(offset, LOC_LEN, limit, c.name, "local header");
                    ByteBuffer h = window(offset, LOC_LEN);
                    if (h.getInt(0) != LOC_SIG) {
                        throw violation(Reason.HEADER_MISMATCH, "entry '" + label(c.name) + "' has no local header at offset " + offset);
                    }
                    if (offset > previousEnd) {
                        // a prefix with shifted offsets (a self-extractor's) or a gap: a reader that walks the local
                        // headers (ZipInputStream, unzip -j on a stream) reads entries there that this one never checked
                        throw violation(Reason.TRUNCATED, "bytes " + previousEnd + " to " + offset + " before entry '" + label(c.name)
                                + "' belong to no entry (a prefix or a gap another reader would take for entries)");
                    }
                    int flags = u16(h, 6);
                    int method = u16(h, 8);
                    long crc = u32(h, 14);
                    long compressed = u32(h, 18);
                    long uncompressed = u32(h, 22);
                    int nameLength = u16(h, 26);
                    int extraLength = u16(h, 28);
                    long dataOffset = offset + LOC_LEN + nameLength + extraLength;
                    checkWithin(offset, dataOffset - offset, limit, c.name, "local header");
                    ByteBuffer r = window(offset, (int) (dataOffset - offset));
                    if (nameLength != c.nameBytes.length || r.slice(LOC_LEN, nameLength).mismatch(ByteBuffer.wrap(c.nameBytes)) >= 0) {
                        byte[] localName = new byte[nameLength];
                        r.get(LOC_LEN, localName);
                        throw violation(Reason.HEADER_MISMATCH, "entry '" + label(c.name) + "' is named '" + rawLabel(localName)
                                + "' in its local header");
                    }
                    if (method != c.method) {
                        throw violation(Reason.HEADER_MISMATCH, "entry '" + label(c.name) + "' has method " + method
                                + " in its local header but " + c.method + " in the central directory");
                    }
                    if ((flags & FLAGS_COMPARED) != (c.flags & FLAGS_COMPARED)) {
                        throw violation(Reason.HEADER_MISMATCH, "entry '" + label(c.name) + "' has flags 0x" + Integer.toHexString(flags)
                                + " in its local header but 0x" + Integer.toHexString(c.flags) + " in the central directory");
                    }
                    checkWithin(dataOffset, c.compressedSize, limit, c.name, "data");
                    long dataEnd = dataOffset + c.compressedSize;
                    int descriptorLength = 0;
                    if ((flags & FLAG_DESCRIPTOR) == 0) {
                        if (compressed == MAGIC32 || uncompressed == MAGIC32) {
                            // in a local header the ZIP64 field holds both sizes, uncompressed first
                            ByteBuffer zip64 = extraField(r, LOC_LEN + nameLength, extraLength, ZIP64_EXTRA);
                            if (zip64 == null || zip64.limit() < 16) {
                                throw violation(Reason.HEADER_MISMATCH, "entry '" + label(c.name) + "' lacks the ZIP64 sizes its local header announces");
                            }
                            uncompressed = zip64.getLong(0);
                            compressed = zip64.getLong(8);
                        }
                        if (crc != c.crc || compressed != c.compressedSize || uncompressed != c.uncompressedSize) {
                            throw violation(Reason.HEADER_MISMATCH, "entry '" + label(c.name) + "' declares CRC " + hex(crc) + ", "
                                    + compressed + "/" + uncompressed + " bytes in its local header but CRC " + hex(c.crc) + ", "
                                    + c.compressedSize + "/" + c.uncompressedSize + " in the central directory");
                        }
                    } else {
                        // with a data descriptor the local fields are normally zero; if filled in they must still agree
                        if ((crc != 0 && crc != c.crc) || !unsetOr(compressed, c.compressedSize) || !unsetOr(uncompressed, c.uncompressedSize)) {
                            throw violation(Reason.HEADER_MISMATCH, "entry '" + label(c.name) + "' has local CRC/sizes that disagree with the central directory");
                        }
                        descriptorLength = descriptor(c, dataEnd, limit, next);
                    }
                    if (sniffContent && !c.directory && c.compressedSize > 0 && !limits.mayBeArchive(c.name)) {
                        sniffNestedArchive(c, dataOffset, inflater);
                    }
                    previousEnd = dataEnd + descriptorLength;
                    previous = c.name;
                    String fingerprint = fingerprints == null || c.directory ? null : fingerprint(c, dataOffset);
                    entries[c.index] = new Entry(c.name, c.method, c.compressedSize, c.uncompressedSize, c.crc, offset,
                            dataOffset, c.directory, false, false, fingerprint, c.windowsSeparators);
                }
            } finally {
                inflater.end();
            }
            if (previousEnd != limit) {
                throw violation(Reason.TRUNCATED, "bytes " + previousEnd + " to " + limit + ", between the last entry and the central"
                        + " directory, belong to no entry (another reader would take them for entries)");
            }
            return List.of(entries);
        }

        private static boolean inFileOrder(Central[] entries) {
            for (int i = 1; i < entries.length; i++) {
                if (entries[i].localOffset < entries[i - 1].localOffset) {
                    return false;
                }
            }
            return true;
        }

        /** A range of an entry must lie before the central directory; past the file end it is a truncation. */
        private void checkWithin(long start, long length, long directoryOffset, String name, String what) throws Violation {
            long end = start + length;
            if (end < start || end > fileSize) {
                throw violation(Reason.TRUNCATED, "the " + what + " of entry '" + label(name) + "' (offset " + start + ", "
                        + length + " bytes) runs past the end of the file");
            }
            if (end > directoryOffset) {
                throw violation(Reason.OVERLAPPING_ENTRIES, "the " + what + " of entry '" + label(name) + "' (offset " + start + ", "
                        + length + " bytes) reaches into the central directory at " + directoryOffset);
            }
        }

        private static boolean unsetOr(long local, long central) {
            return local == 0 || local == MAGIC32 || local == central;
        }

        /**
         * Compares the data descriptor after the data, if one is there, and returns its length (0 if none is
         * recognised: then only the caller's CRC check vouches for the sizes). With its signature it must agree; the
         * sizes are 4 or 8 bytes each (ZIP64), whichever layout matches.
         */
        private int descriptor(Central c, long at, long limit, long next) throws IOException, Violation {
            int available = (int) Math.min(24, limit - at);
            if (available < 12) {
                return 0;
            }
            ByteBuffer d = window(at, available);
            boolean signed = d.getInt(0) == DESCRIPTOR_SIG;
            int base = signed ? 4 : 0;
            boolean short32 = available >= base + 12 && u32(d, base) == c.crc
                    && u32(d, base + 4) == c.compressedSize && u32(d, base + 8) == c.uncompressedSize;
            boolean long64 = available >= base + 20 && u32(d, base) == c.crc
                    && d.getLong(base + 4) == c.compressedSize && d.getLong(base + 12) == c.uncompressedSize;
            // an empty entry's ZIP64 descriptor reads as a 32-bit one too (the sizes' high halves are 0): the layout is
            // the one that ends where the next record starts (python's zipfile and a streaming zip write such entries)
            if (short32 && long64) {
                return at + base + 20 == next ? base + 20 : base + 12;
            }
            if (short32) {
                return base + 12;
            }
            if (long64) {
                return base + 20;
            }
            if (signed) {
                throw violation(Reason.HEADER_MISMATCH, "entry '" + label(c.name) + "' has a data descriptor that disagrees with the central directory");
            }
            return 0;
        }

        private String fingerprint(Central c, long dataOffset) throws IOException {
            MessageDigest sha = fingerprints;
            sha.reset();
            // the content checks it passed: an entry skipped as published before is inflated and checked again once
            // they change (an archive they now find, published under the former ones)
            sha.update(CONTENT_CHECKS);
            fingerprintHeader.clear();
            fingerprintHeader.putInt(c.method).putLong(c.crc).putLong(c.compressedSize).putLong(c.uncompressedSize).flip();
            sha.update(fingerprintHeader);
            for (long at = dataOffset, left = c.compressedSize; left > 0;) {
                int n = (int) Math.min(left, WINDOW);
                sha.update(window(at, n));
                at += n;
                left -= n;
            }
            return HexFormat.of().formatHex(sha.digest(), 0, 16);
        }

        /** Looks at the first bytes of the entry's content for the magic numbers of common archive formats. */
        private void sniffNestedArchive(Central c, long dataOffset, Inflater inflater) throws IOException, Violation {
            int got;
            if (c.method == STORED) {
                got = (int) Math.min(SNIFF_BYTES, c.compressedSize);
                window(dataOffset, got).get(0, sniffed, 0, got);
            } else {
                inflater.reset();
                inflater.setInput(window(dataOffset, (int) Math.min(SNIFF_INPUT, c.compressedSize)));
                got = 0;
                try {
                    // output is capped at SNIFF_BYTES, so this cannot be a bomb; bounded rounds because zlib may
                    // consume a block header without producing output
                    for (int round = 0; got < SNIFF_BYTES && round < 64; round++) {
                        int k = inflater.inflate(sniffed, got, SNIFF_BYTES - got);
                        got += k;
                        if (k == 0 && (inflater.needsInput() || inflater.finished() || inflater.needsDictionary())) {
                            break;
                        }
                    }
                } catch (DataFormatException e) {
                    return; // corrupt data is the unpacker's CRC check to report
                }
            }
            String format = archiveMagic(sniffed, got);
            if (format != null) {
                throw violation(Reason.NESTED_ARCHIVE, "entry '" + label(c.name) + "' holds a " + format + " archive");
            }
        }

        // ---- reading -----------------------------------------------------------------------------------------------

        /**
         * Returns {@code length} bytes at {@code position} from the shared window, refilling it from there when they
         * are not already in it; reads thus move forward through the file a window at a time.
         */
        private ByteBuffer window(long position, int length) throws IOException {
            if (position < windowStart || position + length > windowStart + windowLength) {
                if (window.capacity() < length) {
                    window = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
                }
                int want = (int) Math.min(window.capacity(), fileSize - position);
                if (want < length) {
                    throw new EOFException("read past the end of the file at " + position);
                }
                window.clear().limit(want);
                readFully(position, window);
                windowStart = position;
                windowLength = want;
            }
            int at = (int) (position - windowStart);
            return window.slice(at, length).order(ByteOrder.LITTLE_ENDIAN);
        }

        /** A fresh buffer, for the few reads at the end of the file. */
        private ByteBuffer read(long position, int length) throws IOException {
            ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
            readFully(position, buffer);
            return buffer;
        }

        private void readFully(long position, ByteBuffer buffer) throws IOException {
            long at = position;
            while (buffer.hasRemaining()) {
                int n = channel.read(buffer, at);
                if (n < 0) {
                    throw new EOFException("the file ended at " + at + " while reading");
                }
                at += n;
            }
            buffer.flip();
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------------------

    private static Violation violation(Reason reason, String message) {
        return new Violation(reason, message);
    }

    private static boolean agrees(long field, long magic, long zip64) {
        return field == magic || field == zip64;
    }

    /** The data of the extra field with this id within [from, from+length) of the record, or null if absent. */
    private static ByteBuffer extraField(ByteBuffer record, int from, int length, int id) {
        int at = from;
        int end = from + length;
        while (end - at >= 4) {
            int header = u16(record, at);
            int size = u16(record, at + 2);
            if (at + 4 + size > end) {
                return null; // malformed extra block: treated as absent, the caller decides whether that matters
            }
            if (header == id) {
                return record.slice(at + 4, size).order(ByteOrder.LITTLE_ENDIAN);
            }
            at += 4 + size;
        }
        return null;
    }

    private static boolean ascii(byte[] bytes) {
        for (byte b : bytes) {
            if (b < 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean hasArchiveSuffix(String name) {
        // only a short extension needs comparing
        int dot = name.lastIndexOf('.');
        if (dot < 0 || name.length() - dot > LONGEST_SUFFIX) {
            return false;
        }
        for (String suffix : ARCHIVE_SUFFIXES) {
            if (name.regionMatches(true, dot, suffix, 0, suffix.length()) && dot + suffix.length() == name.length()) {
                return true;
            }
        }
        return false;
    }

    /** The archive format whose magic number the first {@code length} bytes of {@code p} start with, or null. */
    static String archiveMagic(byte[] p, int length) {
        if (startsWith(p, length, 0, 0x50, 0x4B, 0x03, 0x04) || startsWith(p, length, 0, 0x50, 0x4B, 0x05, 0x06)
                || startsWith(p, length, 0, 0x50, 0x4B, 0x07, 0x08)) {
            return "zip";
        }
        if (startsWith(p, length, 0, 0x1F, 0x8B, 0x08)) {
            return "gzip";
        }
        if (length >= 8 && startsWith(p, length, 0, 'B', 'Z', 'h') && p[3] >= '1' && p[3] <= '9' && startsWith(p, length, 4, 0x31, 0x41, 0x59, 0x26)) {
            return "bzip2";
        }
        if (startsWith(p, length, 0, 0xFD, '7', 'z', 'X', 'Z', 0x00)) {
            return "xz";
        }
        if (startsWith(p, length, 0, '7', 'z', 0xBC, 0xAF, 0x27, 0x1C)) {
            return "7z";
        }
        if (startsWith(p, length, 0, 'R', 'a', 'r', '!', 0x1A, 0x07)) {
            return "rar";
        }
        if (startsWith(p, length, 0, 0x28, 0xB5, 0x2F, 0xFD)) {
            return "zstd";
        }
        if (startsWith(p, length, 0, 0x04, 0x22, 0x4D, 0x18)) {
            return "lz4";
        }
        // and its version byte: a text may well start with the four letters
        if (length >= 5 && startsWith(p, length, 0, 'L', 'Z', 'I', 'P') && (p[4] == 0 || p[4] == 1)) {
            return "lzip";
        }
        if (startsWith(p, length, 0, 'M', 'S', 'C', 'F', 0, 0, 0, 0)) {
            return "cab";
        }
        if (startsWith(p, length, 257, 'u', 's', 't', 'a', 'r')) {
            return "tar";
        }
        return null;
    }

    /**
     * The last bytes of an entry as it is read: where zip readers look for a zip's end record (the last 64 KiB and its
     * 22 bytes), whatever comes before the zip's first entry (a self-extractor's stub, a byte put in front to get past
     * the magic numbers) or after the record (a comment, stray bytes the JDK's reader accepts).
     */
    static final class Tail {
        static final int CAPACITY = END_RECORD + 0xFFFF;
        private final byte[] bytes = new byte[CAPACITY];
        private int length;

        void reset() {
            length = 0;
        }

        void add(byte[] read, int n) {
            if (n >= CAPACITY) {
                System.arraycopy(read, n - CAPACITY, bytes, 0, CAPACITY);
                length = CAPACITY;
                return;
            }
            int keep = Math.min(length, CAPACITY - n);
            System.arraycopy(bytes, length - keep, bytes, 0, keep);
            System.arraycopy(read, 0, bytes, keep, n);
            length = keep + n;
        }

        /** Whether these last bytes of an entry of {@code size} bytes hold an end record a zip reader would take. */
        boolean holdsZipEnd(long size) {
            for (int at = length - END_RECORD; at >= 0; at--) {
                if (bytes[at] == 0x50 && bytes[at + 1] == 0x4B && bytes[at + 2] == 0x05 && bytes[at + 3] == 0x06
                        && plausibleEnd(at, size - length + at)) {
                    return true;
                }
            }
            return false;
        }

        /**
         * One disk, its entries all on it, a comment that fits, and a central directory that fits before the record:
         * random bytes (an image, a font) that happen to hold the signature do not pass all of that.
         */
        private boolean plausibleEnd(int at, long positionInEntry) {
            ByteBuffer end = ByteBuffer.wrap(bytes, at, END_RECORD).slice().order(ByteOrder.LITTLE_ENDIAN);
            int disk = end.getShort(4) & 0xFFFF;
            int directoryDisk = end.getShort(6) & 0xFFFF;
            int onThisDisk = end.getShort(8) & 0xFFFF;
            int total = end.getShort(10) & 0xFFFF;
            long directorySize = end.getInt(12) & 0xFFFFFFFFL;
            long directoryOffset = end.getInt(16) & 0xFFFFFFFFL;
            int comment = end.getShort(20) & 0xFFFF;
            boolean zip64 = total == 0xFFFF || directorySize == 0xFFFFFFFFL || directoryOffset == 0xFFFFFFFFL;
            return at + END_RECORD + comment <= length && (disk == 0 || zip64 && disk == 0xFFFF)
                    && (directoryDisk == 0 || zip64 && directoryDisk == 0xFFFF) && onThisDisk == total
                    && (zip64 || directoryOffset + directorySize <= positionInEntry);
        }
    }

    private static boolean startsWith(byte[] bytes, int length, int from, int... magic) {
        if (length < from + magic.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if ((bytes[from + i] & 0xFF) != magic[i]) {
                return false;
            }
        }
        return true;
    }

    private static int u16(ByteBuffer b, int at) {
        return b.getShort(at) & 0xFFFF;
    }

    private static long u32(ByteBuffer b, int at) {
        return b.getInt(at) & MAGIC32;
    }

    private static String hex(long crc) {
        return String.format(Locale.ROOT, "%08x", crc);
    }

    /** An entry name made safe for a log line: control and format characters escaped, length capped. */
    static String label(String name) {
        StringBuilder out = new StringBuilder(Math.min(name.length(), 200) + 8);
        int i = 0;
        for (; i < name.length() && out.length() < 200; i++) {
            char ch = name.charAt(i);
            int type = Character.getType(ch);
            if (type == Character.CONTROL || type == Character.FORMAT || type == Character.LINE_SEPARATOR
                    || type == Character.PARAGRAPH_SEPARATOR || type == Character.SURROGATE || ch == '\'' || ch == '\\') {
                out.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
            } else {
                out.append(ch);
            }
        }
        if (i < name.length()) {
            out.append("...");
        }
        return out.toString();
    }

    /** Raw name bytes made safe for a log line: printable ASCII kept, everything else as \xNN. */
    private static String rawLabel(byte[] bytes) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < bytes.length && out.length() < 200; i++) {
            int b = bytes[i] & 0xFF;
            if (b >= 0x20 && b < 0x7F && b != '\'' && b != '\\') {
                out.append((char) b);
            } else {
                out.append(String.format(Locale.ROOT, "\\x%02x", b));
            }
        }
        return out.toString();
    }

    private ZipStructure() {
    }
}
