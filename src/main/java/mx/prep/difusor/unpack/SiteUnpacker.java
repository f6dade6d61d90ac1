package mx.prep.difusor.unpack;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.PackageRejectedException;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.RejectReason;
import mx.prep.difusor.verify.ChecksumFilter;

/**
 * Opens the verified package and reads every entry once, before anything is published: names are normalised and
 * refused if unsafe, each entry's bytes are checked against its CRC-32 (the JDK's ZipFile does not) and hashed,
 * and limits on entry count and unpacked size are enforced on the bytes actually read, not on the headers' claims.
 * An entry whose compressed bytes are exactly those of the file already published at its path is not inflated again:
 * its content is known ({@link KnownContent}). Camel's ZipSplitter is not used: it buffers each entry in memory and
 * passes raw entry names on.
 */
public final class SiteUnpacker {

    private static final Logger LOG = LoggerFactory.getLogger(SiteUnpacker.class);

    private static final int MAX_INDEX_BYTES = 1 << 20;
    private static final Pattern BASE_TAG = Pattern.compile("<base\\s[^>]*?href\\s*=\\s*(\"([^\"]*)\"|'([^']*)'|([^\\s>]+))",
            Pattern.CASE_INSENSITIVE);
    /** A path, absolute or relative: no scheme, no "//host", no backslash. */
    private static final Pattern SAFE_BASE_HREF = Pattern.compile("(?!//)(?![A-Za-z][A-Za-z0-9+.-]*:)[^\\\\\\s]*");

    private final String sitePrefix;
    private final CacheControlRules cacheControl;
    private final int maxEntries;
    private final long maxTotalBytes;
    private final ZipStructure.Limits limits;
    private final Supplier<KnownContent> known;

    public SiteUnpacker(String sitePrefix, CacheControlRules cacheControl, ZipStructure.Limits limits) {
        this(sitePrefix, cacheControl, limits, () -> KnownContent.NONE);
    }

    /** @param known asked once per package: what the last publication learnt about its entries */
    public SiteUnpacker(String sitePrefix, CacheControlRules cacheControl, ZipStructure.Limits limits, Supplier<KnownContent> known) {
        this.known = known;
        this.sitePrefix = sitePrefix;
        this.cacheControl = cacheControl;
        this.limits = limits;
        this.maxEntries = limits.maxEntries();
        this.maxTotalBytes = limits.maxTotalUncompressed();
    }

    public void unpack(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws PackageRejectedException {
        long started = System.nanoTime();
        Map<String, ZipStructure.Entry> structure = new HashMap<>();
        try {
            // the zip's structure first, from its own bytes: what the JDK's reader does not check or cannot see
            for (ZipStructure.Entry e : ZipStructure.inspect(pkg.spoolFile(), limits)) {
                structure.put(e.name(), e);
            }
        } catch (ZipStructure.Violation v) {
            throw new PackageRejectedException(reasonFor(v.reason()), pkg + ": " + v.getMessage());
        } catch (IOException e) {
            throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": cannot read the zip: " + e.getMessage(), e);
        }
        ZipFile zip;
        try {
            zip = new ZipFile(pkg.spoolFile().toFile(), StandardCharsets.UTF_8);
        } catch (IOException | IllegalArgumentException e) {
            throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": not a readable zip: " + e.getMessage(), e);
        }
        try (FileChannel raw = FileChannel.open(pkg.spoolFile(), StandardOpenOption.READ)) {
            Unpacked unpacked = inspect(pkg, zip, structure, raw, known.get());
            pkg.site(new SitePackage(zip, unpacked.files()));
            pkg.stageTook("unpack", (System.nanoTime() - started) / 1_000_000);
            LOG.info("{}: {} site files checked (names, sizes); {} inflated and checked (CRC-32, SHA-256), {} byte for byte as already published",
                    pkg, unpacked.files().size(), unpacked.inflated(), unpacked.files().size() - unpacked.inflated());
        } catch (IOException e) {
            closeQuietly(zip);
            throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": cannot read the zip: " + e.getMessage(), e);
        } catch (PackageRejectedException | RuntimeException e) {
            closeQuietly(zip);
            throw e;
        }
    }

    private record Unpacked(List<SiteFile> files, int inflated) {
    }

    private Unpacked inspect(PrepPackage pkg, ZipFile zip, Map<String, ZipStructure.Entry> structure, FileChannel raw, KnownContent known)
            throws PackageRejectedException {
        List<SiteFile> files = new ArrayList<>();
        Set<String> paths = new HashSet<>();
        long total = 0;
        int entries = 0;
        int inflated = 0;
        byte[] buffer = new byte[1 << 16];
        ByteBuffer rawBuffer = ByteBuffer.wrap(buffer);
        try {
            Enumeration<? extends ZipEntry> all = zip.entries();
            while (all.hasMoreElements()) {
                ZipEntry entry = all.nextElement();
                if (++entries > maxEntries) {
                    throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": more than " + maxEntries + " entries");
                }
                if (entry.isDirectory()) {
                    continue;
                }
                String path;
                try {
                    path = SitePaths.normalise(entry.getName(), sitePrefix);
                } catch (PackageRejectedException e) {
                    throw new PackageRejectedException(e.reason(), pkg + ": " + e.getMessage());
                }
                if (!paths.add(path)) {
                    throw new PackageRejectedException(RejectReason.DUPLICATE_ENTRY, pkg + ": two entries are the site file '" + path + "'");
                }
                ZipStructure.Entry declared = structure.get(entry.getName());
                String fingerprint = declared == null ? null : fingerprint(raw, declared, rawBuffer);
                KnownContent.Known same = fingerprint == null ? null : known.lookup(path, fingerprint);
                if (same != null && same.size() == entry.getSize()) {
                    if (total + same.size() > maxTotalBytes) {
                        throw new PackageRejectedException(RejectReason.BAD_ZIP,
                                pkg + ": unpacks to more than " + maxTotalBytes + " bytes (limit difusor.unpack.max-total-bytes)");
                    }
                    total += same.size();
                    files.add(new SiteFile(path, entry, same.size(), same.sha256(), same.md5(), ContentTypes.of(path), cacheControl.forPath(path),
                            fingerprint));
                    continue;
                }
                inflated++;
                MessageDigest sha = ChecksumFilter.newSha256();
                // MD5 too: it is the ETag of a single-part object, so a bucket listing can be compared without a HEAD per object
                MessageDigest md5 = newMd5();
                CRC32 crc = new CRC32();
                long size = 0;
                try (InputStream in = zip.getInputStream(entry)) {
                    for (int n; (n = in.read(buffer)) > 0;) {
                        sha.update(buffer, 0, n);
                        md5.update(buffer, 0, n);
                        crc.update(buffer, 0, n);
                        size += n;
                        if (entry.getSize() >= 0 && size > entry.getSize()) {
                            // a bomb that understates its sizes in both headers: stop at the first byte too many
                            throw new PackageRejectedException(RejectReason.ZIP_BOMB, pkg + ": entry '" + entry.getName()
                                    + "' inflates to more than the " + entry.getSize() + " bytes its headers declare");
                        }
                        if (total + size > maxTotalBytes) {
                            throw new PackageRejectedException(RejectReason.BAD_ZIP,
                                    pkg + ": unpacks to more than " + maxTotalBytes + " bytes (limit difusor.unpack.max-total-bytes)");
                        }
                    }
                }
                if (entry.getSize() >= 0 && size != entry.getSize()) {
                    throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": entry '" + entry.getName() + "' has " + size
                            + " bytes, its headers declare " + entry.getSize());
                }
                if (entry.getCrc() != -1 && crc.getValue() != entry.getCrc()) {
                    throw new PackageRejectedException(RejectReason.ENTRY_CRC_MISMATCH, pkg + ": entry '" + entry.getName()
                            + "' does not match its CRC-32");
                }
                total += size;
                files.add(new SiteFile(path, entry, size, HexFormat.of().formatHex(sha.digest()), HexFormat.of().formatHex(md5.digest()),
                        ContentTypes.of(path), cacheControl.forPath(path), fingerprint));
            }
        } catch (ZipException e) {
            throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": damaged zip: " + e.getMessage(), e);
        } catch (IOException | IllegalArgumentException e) {
            throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": cannot read the zip: " + e.getMessage(), e);
        }
        SiteFile index = files.stream().filter(f -> f.path().equals("index.html")).findFirst().orElseThrow(() ->
                new PackageRejectedException(RejectReason.NO_INDEX_HTML, pkg + ": no index.html at the site root; the institute's probe would fail"));
        checkBaseTag(pkg, zip, index);
        return new Unpacked(files, inflated);
    }

    /**
     * SHA-256 (first 128 bits) of an entry's method, CRC-32, sizes and compressed bytes, read straight from the zip:
     * equal fingerprints mean equal content without inflating anything.
     */
    static String fingerprint(FileChannel raw, ZipStructure.Entry entry, ByteBuffer buffer) throws IOException {
        MessageDigest sha = ChecksumFilter.newSha256();
        ByteBuffer header = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(entry.method()).putLong(entry.crc()).putLong(entry.compressedSize()).putLong(entry.uncompressedSize());
        sha.update(header.array());
        long position = entry.dataOffset();
        long end = position + entry.compressedSize();
        while (position < end) {
            buffer.clear().limit((int) Math.min(buffer.capacity(), end - position));
            int n = raw.read(buffer, position);
            if (n < 0) {
                throw new EOFException("the zip ends inside " + entry.name());
            }
            sha.update(buffer.array(), 0, n);
            position += n;
        }
        return HexFormat.of().formatHex(sha.digest(), 0, 16);
    }

    /**
     * The institute's probe looks for the SPA's {@code <base>} tag in index.html; a base that points to another site
     * would send every visitor elsewhere. Only a path (relative or from the root) is accepted.
     */
    private void checkBaseTag(PrepPackage pkg, ZipFile zip, SiteFile index) throws PackageRejectedException {
        String html;
        try (InputStream in = zip.getInputStream(index.entry())) {
            html = new String(in.readNBytes(MAX_INDEX_BYTES), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": cannot read index.html: " + e.getMessage(), e);
        }
        Matcher base = BASE_TAG.matcher(html);
        if (!base.find()) {
            throw new PackageRejectedException(RejectReason.NO_BASE_TAG, pkg + ": index.html has no <base> tag; the institute's probe would fail");
        }
        String href = base.group(2) != null ? base.group(2) : base.group(3) != null ? base.group(3) : base.group(4);
        if (href == null || !SAFE_BASE_HREF.matcher(href.strip()).matches()) {
            throw new PackageRejectedException(RejectReason.BASE_OUTSIDE_SITE, pkg + ": index.html's <base href=\"" + href
                    + "\"> points outside the site");
        }
    }

    static RejectReason reasonFor(ZipStructure.Reason reason) {
        return switch (reason) {
            case NOT_A_ZIP, EMPTY, TRUNCATED, MULTI_DISK -> RejectReason.BAD_ZIP;
            case HEADER_MISMATCH -> RejectReason.ZIP_HEADER_MISMATCH;
            case ENCRYPTED -> RejectReason.ENCRYPTED_ENTRY;
            case UNSUPPORTED_METHOD -> RejectReason.UNSUPPORTED_COMPRESSION;
            case SYMLINK -> RejectReason.SYMLINK_ENTRY;
            case NESTED_ARCHIVE -> RejectReason.NESTED_ARCHIVE;
            case OVERLAPPING_ENTRIES, TOO_MANY_ENTRIES, TOO_LARGE, HIGH_RATIO -> RejectReason.ZIP_BOMB;
            case INVALID_NAME_ENCODING -> RejectReason.UNSAFE_ENTRY_NAME;
        };
    }

    private static MessageDigest newMd5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has MD5", e);
        }
    }

    private static void closeQuietly(ZipFile zip) {
        try {
            zip.close();
        } catch (IOException ignored) {
            // nothing to save
        }
    }
}
