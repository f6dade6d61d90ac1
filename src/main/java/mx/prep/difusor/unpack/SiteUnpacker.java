package mx.prep.difusor.unpack;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
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
    /** A path, absolute or relative: no scheme, no "//host", no backslash. */
    private static final Pattern SAFE_BASE_HREF = Pattern.compile("(?!//)(?![A-Za-z][A-Za-z0-9+.-]*:)[^\\\\\\s]*");

    private final String sitePrefix;
    private final CacheControlRules cacheControl;
    private final int maxEntries;
    private final long maxTotalBytes;
    private final ZipStructure.Limits limits;
    private final Function<PrepPackage, KnownContent> known;
    private final ExecutorService readers;
    private final int threads;

    public SiteUnpacker(String sitePrefix, CacheControlRules cacheControl, ZipStructure.Limits limits) {
        this(sitePrefix, cacheControl, limits, pkg -> KnownContent.NONE, null, 1);
    }

    public SiteUnpacker(String sitePrefix, CacheControlRules cacheControl, ZipStructure.Limits limits, Function<PrepPackage, KnownContent> known) {
        this(sitePrefix, cacheControl, limits, known, null, 1);
    }

    /**
     * @param known   asked once per package: what the last publication learnt about its entries
     * @param readers runs {@code threads - 1} readers beside the calling thread (null: the calling thread alone)
     */
    public SiteUnpacker(String sitePrefix, CacheControlRules cacheControl, ZipStructure.Limits limits, Function<PrepPackage, KnownContent> known,
            ExecutorService readers, int threads) {
        this.known = known;
        this.readers = readers;
        this.threads = Math.max(1, threads);
        this.sitePrefix = sitePrefix;
        this.cacheControl = cacheControl;
        this.limits = limits;
        this.maxEntries = limits.maxEntries();
        this.maxTotalBytes = limits.maxTotalUncompressed();
    }

    public void unpack(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws PackageRejectedException {
        long started = System.nanoTime();
        List<ZipStructure.Entry> structure;
        try {
            // the zip's structure first, from its own bytes: what the JDK's reader does not check or cannot see
            // a copy that inspect() empties once it has taken what it needs: a large site's records are not kept
            // an archive under an innocent name is looked for where an entry is inflated anyway (readEntry): an entry
            // that is not inflated holds content already published, which was looked at then
            structure = new ArrayList<>(ZipStructure.inspect(pkg.spoolFile(), limits, true, false));
        } catch (ZipStructure.Violation v) {
            throw new PackageRejectedException(reasonFor(v.reason()), pkg + ": " + v.getMessage());
        } catch (IOException e) {
            throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": cannot read the zip: " + e.getMessage(), notTheDisk(pkg, e));
        }
        ZipFile zip;
        try {
            zip = new ZipFile(pkg.spoolFile().toFile(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": not a readable zip: " + e.getMessage(), notTheDisk(pkg, e));
        } catch (IllegalArgumentException e) {
            throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": not a readable zip: " + e.getMessage(), e);
        }
        try {
            Unpacked unpacked = inspect(pkg, zip, structure, known.apply(pkg));
            pkg.site(new SitePackage(zip, unpacked.files()));
            pkg.stageTook("unpack", (System.nanoTime() - started) / 1_000_000);
            LOG.info("{}: {} site files checked (names, sizes); {} inflated and checked (CRC-32, SHA-256), {} byte for byte as already published",
                    pkg, unpacked.files().size(), unpacked.inflated(), unpacked.files().size() - unpacked.inflated());
            warnOfPlusSigns(pkg, unpacked.files());
            warnOfDecomposedNames(pkg, unpacked.files());
        } catch (PackageRejectedException | RuntimeException e) {
            closeQuietly(zip);
            throw e;
        }
    }

    private record Unpacked(List<SiteFile> files, int inflated) {
    }

    /**
     * S3 reads a '+' in a request's path as a space (an old form-encoding rule), and browsers send it as it is: a
     * file named {@code 1+1.json} is published whole, yet a visitor asking for it through CloudFront gets a 403/404.
     * The package is the institute's, so it is published as it is; the operator is told, to tell the institute.
     */
    private static void warnOfPlusSigns(PrepPackage pkg, List<SiteFile> files) {
        // shown escaped: a site path may hold a bidi override or a line separator
        List<String> plus = files.stream().map(SiteFile::path).filter(p -> p.indexOf('+') >= 0).map(ZipStructure::label).toList();
        if (!plus.isEmpty()) {
            LOG.warn("{}: {} site files have a '+' in their path ({}): S3 reads a '+' in a visitor's URL as a space, so through"
                    + " CloudFront they answer 403/404 unless asked for as %2B", pkg, plus.size(), plus.size() <= 3 ? plus : plus.subList(0, 3) + "...");
        }
    }

    /**
     * A name in decomposed Unicode ("Quere" + U+0301 "taro", as some macOS tools write a zip) is another S3 key than the
     * composed one the site's links and a visitor's browser ask for: published whole, yet answered 403/404 through
     * CloudFront. Published as it is, like the '+'; the operator is told, to tell the institute.
     */
    private static void warnOfDecomposedNames(PrepPackage pkg, List<SiteFile> files) {
        List<String> decomposed = files.stream().map(SiteFile::path)
                .filter(p -> !java.text.Normalizer.isNormalized(p, java.text.Normalizer.Form.NFC)).map(ZipStructure::label).toList();
        if (!decomposed.isEmpty()) {
            LOG.warn("{}: {} site files have a path in decomposed Unicode (NFD: an accent as a letter of its own; {}): a link or a visitor"
                    + " asking for the usual composed form gets 403/404 through CloudFront", pkg, decomposed.size(),
                    decomposed.size() <= 3 ? decomposed : decomposed.subList(0, 3) + "...");
        }
    }

    /**
     * The pod failing under the spooled zip (the file gone or refused, too many open files, an I/O error, a read cut
     * short by an interrupt), not its bytes: these passed the checksum moments ago. The zip's own faults are its format
     * (ZipException) and its end coming early (EOFException); anything else is retried as a transient failure. Refused
     * as BAD_ZIP, a good corte would be settled for good and never published, and the institute told its zip is damaged.
     */
    private static boolean disk(IOException e) {
        return !(e instanceof java.util.zip.ZipException || e instanceof java.io.EOFException);
    }

    private static java.io.UncheckedIOException onTheDisk(PrepPackage pkg, IOException e) {
        return new java.io.UncheckedIOException(pkg + ": the spooled zip cannot be read from the pod's disk (retried, not the package's fault): "
                + e, e);
    }

    /** The cause of a BAD_ZIP, after making sure it is not the disk's failure (thrown as such instead). */
    private static IOException notTheDisk(PrepPackage pkg, IOException e) {
        if (disk(e)) {
            throw onTheDisk(pkg, e);
        }
        return e;
    }

    /** One site file to read: its zip entry, where it goes, and the fingerprint of its compressed bytes (null: unknown). */
    private record Item(ZipEntry entry, String path, String fingerprint) {
    }

    /** What the threads reading entries share: the running total, the count inflated, and the first failures. */
    private static final class Progress {
        final AtomicLong total = new AtomicLong();
        final AtomicInteger inflated = new AtomicInteger();
        final AtomicInteger next = new AtomicInteger();
        final AtomicBoolean stop = new AtomicBoolean();
        final SiteFile[] files;
        final Throwable[] failures;

        Progress(int size) {
            files = new SiteFile[size];
            failures = new Throwable[size];
        }
    }

    private Unpacked inspect(PrepPackage pkg, ZipFile zip, List<ZipStructure.Entry> structure, KnownContent known)
            throws PackageRejectedException {
        // names first, in zip order: cheap, and a bad one rejects the package before any byte is inflated
        List<Item> items = new ArrayList<>(structure.size());
        Set<String> paths = new HashSet<>(structure.size() * 4 / 3 + 1);
        int entries = 0;
        Enumeration<? extends ZipEntry> all = zip.entries();
        for (ZipEntry entry; (entry = next(pkg, all)) != null;) {
            // the JDK lists entries in central directory order, as ZipStructure does
            // the structure pass fingerprinted the entry's compressed bytes as it read the file
            ZipStructure.Entry declared = entries < structure.size() ? structure.get(entries) : null;
            // named as the structure pass read it (a Windows zip's '\' as '/'), when it is the same entry
            String name = declared != null ? declared.siteName(entry.getName()) : entry.getName();
            if (declared == null || !declared.name().equals(name)) {
                declared = null;
                name = entry.getName();
            }
            String fingerprint = declared != null ? declared.fingerprint() : null;
            if (++entries > maxEntries) {
                throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": more than " + maxEntries + " entries");
            }
            if (entry.isDirectory() || name.endsWith("/")) {
                continue;
            }
            String path;
            try {
                path = SitePaths.normalise(name, sitePrefix);
            } catch (PackageRejectedException e) {
                throw new PackageRejectedException(e.reason(), pkg + ": " + e.getMessage());
            }
            if (!paths.add(path)) {
                throw new PackageRejectedException(RejectReason.DUPLICATE_ENTRY, pkg + ": two entries are the site file '" + ZipStructure.label(path) + "'");
            }
            items.add(new Item(entry, path, fingerprint));
        }
        structure.clear();
        // then the bytes, on every reader thread: entries are independent, and the package waits on this step
        Progress progress = new Progress(items.size());
        List<Helper> helpers = new ArrayList<>();
        for (int i = 1; i < threads && readers != null; i++) {
            Helper helper = new Helper(() -> readEntries(pkg, zip, known, items, progress));
            try {
                readers.execute(helper);
                helpers.add(helper);
            } catch (RejectedExecutionException e) {
                break; // the pool is stopping: this thread reads alone
            }
        }
        readEntries(pkg, zip, known, items, progress);
        for (Helper helper : helpers) {
            try {
                helper.awaitIfStarted();
            } catch (InterruptedException e) {
                progress.stop.set(true);
                Thread.currentThread().interrupt();
                throw new IllegalStateException(pkg + ": step unzip interrupted while reading the zip (the service is stopping?)", e);
            }
        }
        for (Throwable failure : progress.failures) {
            if (failure instanceof PackageRejectedException rejected) {
                throw rejected;
            }
            if (failure instanceof RuntimeException unexpected) {
                throw unexpected;
            }
            if (failure instanceof Error error) {
                // out of memory on a reader: said with the package and the step, never an entry left without its file
                throw new IllegalStateException(pkg + ": step unzip: " + error, error);
            }
        }
        List<SiteFile> files = List.of(progress.files);
        SiteFile index = files.stream().filter(f -> f.path().equals("index.html")).findFirst().orElseThrow(() ->
                new PackageRejectedException(RejectReason.NO_INDEX_HTML, pkg + ": no index.html at the site root; the institute's probe would fail"));
        checkBaseTag(pkg, zip, index);
        return new Unpacked(files, progress.inflated.get());
    }

    /** The next entry, or null; the JDK's reader refuses some malformed records (a comment that is not UTF-8) only there. */
    private static ZipEntry next(PrepPackage pkg, Enumeration<? extends ZipEntry> all) throws PackageRejectedException {
        try {
            return all.hasMoreElements() ? all.nextElement() : null;
        } catch (IllegalArgumentException e) {
            throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": cannot read the zip: " + e.getMessage(), e);
        }
    }

    /**
     * A reader run on the pool. Whoever claims it first runs it: the pool's thread, or the caller, which then skips it.
     * A task the pool never starts (dropped while stopping) is never waited for.
     */
    private static final class Helper implements Runnable {
        private final Runnable work;
        private final AtomicBoolean claimed = new AtomicBoolean();
        private final CountDownLatch done = new CountDownLatch(1);

        Helper(Runnable work) {
            this.work = work;
        }

        @Override
        public void run() {
            if (claimed.compareAndSet(false, true)) {
                try {
                    work.run();
                } finally {
                    done.countDown();
                }
            }
        }

        void awaitIfStarted() throws InterruptedException {
            if (!claimed.compareAndSet(false, true)) {
                done.await();
            }
        }
    }

    /** Takes entries off the shared list until none is left or one is refused. */
    private void readEntries(PrepPackage pkg, ZipFile zip, KnownContent known, List<Item> items, Progress progress) {
        byte[] buffer = new byte[1 << 16];
        // one set of digests per reader, reset for each entry: tens of thousands of entries, no lookup or garbage each
        Digests digests = new Digests(ChecksumFilter.newSha256(), newMd5(), new byte[ZipStructure.SNIFF_BYTES], new ZipStructure.Tail());
        for (int i; !progress.stop.get() && (i = progress.next.getAndIncrement()) < items.size();) {
            try {
                progress.files[i] = readEntry(pkg, zip, known, items.get(i), progress, buffer, digests);
            } catch (ZipException e) {
                progress.failures[i] = new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": damaged zip: " + e.getMessage() + entryShown(items.get(i)), e);
                progress.stop.set(true);
            } catch (IOException e) {
                progress.failures[i] = disk(e) ? onTheDisk(pkg, e)
                        : new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": cannot read the zip: " + e.getMessage() + entryShown(items.get(i)), e);
                progress.stop.set(true);
            } catch (IllegalArgumentException e) {
                progress.failures[i] = new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": cannot read the zip: " + e.getMessage() + entryShown(items.get(i)), e);
                progress.stop.set(true);
            } catch (PackageRejectedException | RuntimeException | Error e) {
                // an Error too (out of memory): the other readers stop, and the caller says it
                progress.failures[i] = e;
                progress.stop.set(true);
            }
        }
    }

    /** Which of tens of thousands of entries the inflater choked on, as a person reads it (escaped, capped). */
    private static String entryShown(Item item) {
        return " (entry '" + ZipStructure.label(item.entry().getName()) + "')";
    }

    /** A reader's digests (the content's SHA-256 and MD5) and room for the first and the last bytes of the entry it reads. */
    private record Digests(MessageDigest sha256, MessageDigest md5, byte[] head, ZipStructure.Tail tail) {
    }

    private SiteFile readEntry(PrepPackage pkg, ZipFile zip, KnownContent known, Item item, Progress progress,
            byte[] buffer, Digests digests) throws IOException, PackageRejectedException {
        ZipEntry entry = item.entry();
        String path = item.path();
        String fingerprint = item.fingerprint();
        KnownContent.Known same = fingerprint == null ? null : known.lookup(path, fingerprint);
        if (same != null && same.size() == entry.getSize()) {
            if (progress.total.addAndGet(same.size()) > maxTotalBytes) {
                throw new PackageRejectedException(RejectReason.BAD_ZIP,
                        pkg + ": unpacks to more than " + maxTotalBytes + " bytes (limit difusor.unpack.max-total-bytes)");
            }
            // the manifest's own strings: a large site's hashes are not held twice
            return new SiteFile(path, entry.getName(), same.size(), same.sha256(), same.md5(), ContentTypes.of(path), cacheControl.forPath(path),
                    same.fingerprint());
        }
        progress.inflated.incrementAndGet();
        MessageDigest sha = digests.sha256();
        // MD5 too: it is the ETag of a single-part object, so a bucket listing can be compared without a HEAD per object
        MessageDigest md5 = digests.md5();
        sha.reset();
        md5.reset();
        CRC32 crc = new CRC32();
        long size = 0;
        byte[] head = digests.head();
        int headLength = 0;
        ZipStructure.Tail tail = digests.tail();
        tail.reset();
        try (InputStream in = zip.getInputStream(entry)) {
            for (int n; (n = in.read(buffer)) > 0;) {
                if (headLength < head.length) {
                    int k = Math.min(n, head.length - headLength);
                    System.arraycopy(buffer, 0, head, headLength, k);
                    headLength += k;
                }
                tail.add(buffer, n);
                sha.update(buffer, 0, n);
                md5.update(buffer, 0, n);
                crc.update(buffer, 0, n);
                size += n;
                if (entry.getSize() >= 0 && size > entry.getSize()) {
                    // a bomb that understates its sizes in both headers: stop at the first byte too many
                    throw new PackageRejectedException(RejectReason.ZIP_BOMB, pkg + ": entry '" + ZipStructure.label(entry.getName())
                            + "' inflates to more than the " + entry.getSize() + " bytes its headers declare");
                }
                if (progress.total.get() + size > maxTotalBytes) {
                    throw new PackageRejectedException(RejectReason.BAD_ZIP,
                            pkg + ": unpacks to more than " + maxTotalBytes + " bytes (limit difusor.unpack.max-total-bytes)");
                }
            }
        }
        if (entry.getSize() >= 0 && size != entry.getSize()) {
            throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": entry '" + ZipStructure.label(entry.getName()) + "' has " + size
                    + " bytes, its headers declare " + entry.getSize());
        }
        if (entry.getCrc() != -1 && crc.getValue() != entry.getCrc()) {
            throw new PackageRejectedException(RejectReason.ENTRY_CRC_MISMATCH, pkg + ": entry '" + ZipStructure.label(entry.getName())
                    + "' does not match its CRC-32");
        }
        String archive = ZipStructure.archiveMagic(head, headLength);
        if (archive == null && tail.holdsZipEnd(size)) {
            archive = "zip";
        }
        if (archive != null && !limits.mayBeArchive(path)) {
            throw new PackageRejectedException(RejectReason.NESTED_ARCHIVE, pkg + ": entry '" + ZipStructure.label(entry.getName()) + "' holds a "
                    + archive + " archive (difusor.unpack.archives-allowed does not name it, under an archive's name)");
        }
        if (progress.total.addAndGet(size) > maxTotalBytes) {
            throw new PackageRejectedException(RejectReason.BAD_ZIP,
                    pkg + ": unpacks to more than " + maxTotalBytes + " bytes (limit difusor.unpack.max-total-bytes)");
        }
        return new SiteFile(path, entry.getName(), size, HexFormat.of().formatHex(sha.digest()), HexFormat.of().formatHex(md5.digest()),
                ContentTypes.of(path), cacheControl.forPath(path), fingerprint);
    }

    /**
     * The institute's probe looks for the SPA's {@code <base>} tag in index.html; a base that points to another site
     * would send every visitor elsewhere. Only a path (relative or from the root) is accepted.
     */
    private void checkBaseTag(PrepPackage pkg, ZipFile zip, SiteFile index) throws PackageRejectedException {
        byte[] head;
        boolean baseBeyondHead;
        try (InputStream in = zip.getInputStream(zip.getEntry(index.entryName()))) {
            head = in.readNBytes(MAX_INDEX_BYTES);
            // a tag open at the end of the part read: by the bytes (no ">" after it) or as a browser reads it (a ">" in a
            // quoted value ends nothing). Wherever it stands, a script's text too: which text is markup is a parser's
            // call (a "<script" inside an attribute's value hid the rest from a filter), and a page this large with
            // such text is refused rather than guessed at
            baseBeyondHead = head.length == MAX_INDEX_BYTES && (tagOpenAtEnd(head)
                    || BaseTags.tagRunsPastTheEnd(new String(head, StandardCharsets.UTF_8)) || holdsBaseTag(in, head));
        } catch (IOException e) {
            throw new PackageRejectedException(RejectReason.BAD_ZIP, pkg + ": cannot read index.html: " + e.getMessage(), notTheDisk(pkg, e));
        }
        // a browser follows a UTF-16 byte-order mark whatever the page says, and would read another text than this check
        if (head.length >= 2 && ((head[0] & 0xFF) == 0xFE && (head[1] & 0xFF) == 0xFF || (head[0] & 0xFF) == 0xFF && (head[1] & 0xFF) == 0xFE)
                || indexOfNul(head) >= 0) {
            throw new PackageRejectedException(RejectReason.NO_BASE_TAG, pkg + ": index.html is not UTF-8 text (a UTF-16 byte-order mark or"
                    + " NUL bytes): its <base> cannot be checked, and the institute's probe would not find it");
        }
        if (baseBeyondHead) {
            // the text read is bounded; a base after it would be one nobody checked
            throw new PackageRejectedException(RejectReason.BASE_OUTSIDE_SITE, pkg + ": index.html has a <base beyond its first "
                    + MAX_INDEX_BYTES / (1 << 20) + " MiB, which is not read to check where it points");
        }
        String html = new String(head, StandardCharsets.UTF_8);
        if (BaseTags.hidesAnother(html)) {
            throw new PackageRejectedException(RejectReason.BASE_OUTSIDE_SITE, pkg + ": index.html has a <base tag inside the attributes"
                    + " of another (a quote left open, in a comment or a value): which base a browser takes cannot be told, and is not"
                    + " guessed at");
        }
        String real = BaseTags.outsideCommentsAndScripts(html);
        List<String> realHrefs = BaseTags.asTheBrowserReadsThem(real);
        // every <base> in the text must stay on the site, also one a browser would not take (in a comment, a script, an
        // attribute): which one counts is an HTML parser's call, and a wrong call sends every visitor elsewhere
        List<String> hrefs = new ArrayList<>(BaseTags.everyHref(html));
        hrefs.addAll(realHrefs);
        for (String href : hrefs) {
            // a character reference is decoded by the browser: "&#47;&#47;host/" is "//host/"; a plain path needs none.
            // Control characters: a URL parser drops them: U+0001 then "//host/" is "//host/"
            if (href.indexOf('&') >= 0 || href.chars().anyMatch(c -> c < 0x20 || c == 0x7F) || !SAFE_BASE_HREF.matcher(href.strip()).matches()) {
                throw new PackageRejectedException(RejectReason.BASE_OUTSIDE_SITE, pkg + ": index.html's <base href=\"" + href
                        + "\"> points outside the site");
            }
        }
        // and one must be real: not only in a comment, a script, a style or a template
        if (realHrefs.isEmpty()) {
            throw new PackageRejectedException(RejectReason.NO_BASE_TAG, pkg + ": index.html has no <base> tag; the institute's probe would fail");
        }
    }

    private static final byte[] BASE_TAG = "<base".getBytes(StandardCharsets.US_ASCII);

    /**
     * Whether a base tag opens at {@code at}: "<base" in any case, then white space, "/" or ">" (BaseTags' rule:
     * "<basefont", "a<baseLength" in a script open none). Needs the byte after it.
     */
    private static boolean opensBaseTag(byte[] bytes, int at) {
        for (int j = 0; j < BASE_TAG.length; j++) {
            if (Character.toLowerCase((char) (bytes[at + j] & 0xFF)) != BASE_TAG[j]) {
                return false;
            }
        }
        byte after = bytes[at + BASE_TAG.length];
        return after == ' ' || after == '\t' || after == '\n' || after == 0x0B || after == '\f' || after == '\r' || after == '/' || after == '>';
    }

    /** Whether the last base tag of the part read is still open at its end: its attributes go on past what is checked. */
    private static boolean tagOpenAtEnd(byte[] head) {
        for (int at = head.length - BASE_TAG.length - 1; at >= 0; at--) {
            if (opensBaseTag(head, at)) {
                for (int i = at + BASE_TAG.length; i < head.length; i++) {
                    if (head[i] == '>') {
                        return false;
                    }
                }
                return true;
            }
        }
        return false;
    }

    /** Whether the rest of the page, after {@code head}, opens a base tag (read in chunks, never whole). */
    private static boolean holdsBaseTag(InputStream rest, byte[] head) throws IOException {
        // the last bytes of the part before, so a tag split between two reads is seen: "<base" and the byte after it
        int carried = BASE_TAG.length;
        byte[] buffer = new byte[64 * 1024 + carried];
        System.arraycopy(head, head.length - carried, buffer, 0, carried);
        for (int n; (n = rest.read(buffer, carried, buffer.length - carried)) != -1;) {
            int end = carried + n;
            for (int at = 0; at + BASE_TAG.length < end; at++) {
                if (opensBaseTag(buffer, at)) {
                    return true;
                }
            }
            System.arraycopy(buffer, end - carried, buffer, 0, carried);
        }
        return false;
    }

    private static int indexOfNul(byte[] bytes) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                return i;
            }
        }
        return -1;
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
            case INVALID_NAME_ENCODING, NAME_TOO_LONG -> RejectReason.UNSAFE_ENTRY_NAME;
        };
    }

    private static MessageDigest newMd5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has MD5", e);
        }
    }

    private static void closeQuietly(java.io.Closeable file) {
        try {
            if (file != null) {
                file.close();
            }
        } catch (IOException ignored) {
            // nothing to save
        }
    }
}
