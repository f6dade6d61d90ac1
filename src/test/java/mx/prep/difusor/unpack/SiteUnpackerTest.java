package mx.prep.difusor.unpack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import mx.prep.difusor.PackageRejectedException;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.RejectReason;

/** What the unzip step refuses before anything is published, on packages built for the purpose. */
class SiteUnpackerTest {

    static final String INDEX = "<!doctype html><html><head><base href=\"/\"><title>PREP</title></head><body></body></html>";

    @TempDir
    Path tmp;

    private final SiteUnpacker unpacker = new SiteUnpacker("", new CacheControlRules("**/*.html=no-cache"), limits(1000, 10_000_000));

    static ZipStructure.Limits limits(int entries, long total) {
        return new ZipStructure.Limits(entries, total, total, 200);
    }

    private PrepPackage pkg(Path zip) throws IOException {
        PrepPackage pkg = new PrepPackage("PREP2024_JAL_20240602_2000.zip", "x", null, null, "test", Instant.now());
        pkg.spooled(zip, Files.size(zip));
        return pkg;
    }

    private Path zip(Map<String, String> entries, boolean stored) throws IOException {
        Map<String, byte[]> bytes = new LinkedHashMap<>();
        entries.forEach((name, text) -> bytes.put(name, text.getBytes(StandardCharsets.UTF_8)));
        return zipOf(bytes, stored);
    }

    private Path zipOf(Map<String, byte[]> entries, boolean stored) throws IOException {
        Path file = Files.createTempFile(tmp, "package", ".zip");
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                byte[] bytes = e.getValue();
                ZipEntry entry = new ZipEntry(e.getKey());
                if (stored) {
                    CRC32 crc = new CRC32();
                    crc.update(bytes);
                    entry.setMethod(ZipEntry.STORED);
                    entry.setSize(bytes.length);
                    entry.setCrc(crc.getValue());
                }
                z.putNextEntry(entry);
                z.write(bytes);
                z.closeEntry();
            }
        }
        return file;
    }

    private static Map<String, String> site(String... more) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("index.html", INDEX);
        for (int i = 0; i < more.length; i += 2) {
            m.put(more[i], more[i + 1]);
        }
        return m;
    }

    private void assertRejected(Path zip, RejectReason reason) {
        assertThatThrownBy(() -> unpacker.unpack(pkg(zip)))
                .isInstanceOfSatisfying(PackageRejectedException.class, e -> assertThat(e.reason()).isEqualTo(reason))
                .hasMessageContaining("PREP2024_JAL_20240602_2000.zip");
    }

    @Test
    void aSoundPackageListsItsFilesWithHashesTypesAndCacheControl() throws Exception {
        PrepPackage pkg = pkg(zip(site("data/corte.json", "{\"actas\":1}", "./assets//app.js", "x()"), false));
        unpacker.unpack(pkg);
        assertThat(pkg.site().files()).extracting(SiteFile::path).containsExactly("index.html", "data/corte.json", "assets/app.js");
        assertThat(pkg.site().files().get(0).cacheControl()).isEqualTo("no-cache");
        assertThat(pkg.site().files().get(1).contentType()).isEqualTo("application/json");
        assertThat(pkg.site().files().get(1).sha256()).hasSize(64);
        pkg.site().close();
    }

    /** A '+' in a path is published as it is, and the operator told that S3 would read it as a space in a visitor's URL. */
    @Test
    void aPlusInAPathIsPublishedAndWarnedAbout() throws Exception {
        PrepPackage pkg = pkg(zip(site("data/municipios/1+1.json", "{}", "data/corte.json", "{}"), false));
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = mx.prep.difusor.testing.CapturedLogs.capture(logged)) {
            unpacker.unpack(pkg);
        }
        assertThat(pkg.site().files()).extracting(SiteFile::path).contains("data/municipios/1+1.json");
        assertThat(logged).filteredOn(line -> line.contains("'+'")).singleElement().asString()
                .contains("1 site files have a '+' in their path ([data/municipios/1+1.json])");
        pkg.site().close();
    }

    /** A name in decomposed Unicode is published as it is, and the operator told its composed form would not find it. */
    @Test
    void aPathInDecomposedUnicodeIsPublishedAndWarnedAbout() throws Exception {
        String decomposed = java.text.Normalizer.normalize("data/municipios/Querétaro.json", java.text.Normalizer.Form.NFD);
        PrepPackage pkg = pkg(zip(site(decomposed, "{}", "data/municipios/Jalisco.json", "{}"), false));
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable capture = mx.prep.difusor.testing.CapturedLogs.capture(logged)) {
            unpacker.unpack(pkg);
        }
        assertThat(pkg.site().files()).extracting(SiteFile::path).contains(decomposed);
        assertThat(logged).filteredOn(line -> line.contains("decomposed Unicode")).singleElement().asString()
                .contains("1 site files have a path in decomposed Unicode");
        pkg.site().close();
    }

    @Test
    void withoutIndexHtmlTheProbeWouldFail() throws Exception {
        Map<String, String> noIndex = new LinkedHashMap<>(Map.of("data/corte.json", "{}"));
        assertRejected(zip(noIndex, false), RejectReason.NO_INDEX_HTML);
    }

    @Test
    void anIndexWithoutBaseTagIsRefused() throws Exception {
        assertRejected(zip(Map.of("index.html", "<html><head><title>x</title></head></html>"), false), RejectReason.NO_BASE_TAG);
    }

    @ParameterizedTest
    @ValueSource(strings = { "https://otro-sitio.example/", "//otro-sitio.example/", "javascript:alert(1)", "HTTP://x/" })
    void aBaseThatSendsVisitorsElsewhereIsRefused(String href) throws Exception {
        assertRejected(zip(Map.of("index.html", "<html><head><BASE target=_top href='" + href + "'></head></html>"), false),
                RejectReason.BASE_OUTSIDE_SITE);
    }

    /**
     * Which {@code <base>} a browser takes is an HTML parser's call (comments closed early, end tags with a slash,
     * attributes named like href): the first {@code <base} in the text let a staging base through behind a
     * commented-out one. Every base in the text must stay on the site, and character references count as the
     * browser decodes them.
     */
    @ParameterizedTest
    @ValueSource(strings = {
            "<!-- <base href=\"/\"> --><base href=\"https://staging.example/\">",
            "<script>var plantilla = '<base href=\"/\">';</script><base href=\"//otro-sitio.example/\">",
            "<base href=\"&#47;&#47;otro-sitio.example/\">",
            "<!--><base href=\"//otro-sitio.example/\">--><base href=\"/\">",
            "<script>x</script/><base href=//otro-sitio.example/><script></script><base href=/>",
            "<base data-href=\"/\" href=\"//otro-sitio.example/\">",
            "<title><base href=\"//otro-sitio.example/\"></title><base href=\"/\">",
            // a textarea's text is no comment to a browser: its base is real, and a comment-stripping check missed it
            "<textarea><!--</textarea><base href=\"//otro-sitio.example/\"><!-- --></textarea><base href=\"/\">",
            // a browser's tokenizer: a quoted ">" does not end the tag, an attribute may follow "/" or a closing quote
            "<base title=\">\" href=\"https://otro-sitio.example/\"><base href=\"/\">",
            "<base/href=\"//otro-sitio.example/\"><base href=\"/\">",
            "<base target=\"x\"href=\"//otro-sitio.example/\"><base href=\"/\">",
            // a URL parser drops leading control characters
            "<base href=\"\u0001//otro-sitio.example/\">",
            // a fake "<base x='" no browser reads as a tag (in a comment, in another attribute's value) opens a quote that
            // swallowed the real base after it from the tokenizer's reading; the suspicious one skipped "<base/" and an
            // href right after a quote
            "<!-- <base x=' --><base/href=//otro-sitio.example/>",
            "<meta name=a content=\"<base x='\"><base/href=//otro-sitio.example/><meta name=b content=\"'\"><base href=\"/\">",
            "<base x=\"\"href=//otro-sitio.example/><base href=\"/\">" })
    void aBaseThatSendsVisitorsElsewhereBehindMarkupIsRefused(String head) throws Exception {
        assertRejected(zip(Map.of("index.html", "<html><head>" + head + "</head></html>"), false), RejectReason.BASE_OUTSIDE_SITE);
    }

    /**
     * An index.html of 1 MiB (what the check reads) built to make a pattern matcher backtrack: the check reads it in one
     * pass. Regular expressions took minutes to hours over such a page, on the thread that polls the institute, while
     * the pod stayed ready and kept the lead.
     */
    @ParameterizedTest
    @ValueSource(strings = { "<base x", "<base ", "<base href", "<base hrefhref ", "<!--", "<script</script", "<style x</style",
            "<base a=\" href='", " " })
    void anIndexBuiltToMakeAMatcherBacktrackIsReadInOnePass(String repeated) throws Exception {
        StringBuilder html = new StringBuilder("<html><head><base href=\"/\"><title>PREP</title></head><body>");
        while (html.length() < (1 << 20) - repeated.length()) {
            html.append(repeated);
        }
        Path zip = zip(Map.of("index.html", html.toString()), true);
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20), () -> {
            PrepPackage pkg = pkg(zip);
            try {
                unpacker.unpack(pkg);
                assertThat(pkg.site().files()).extracting(SiteFile::path).containsExactly("index.html");
            } catch (PackageRejectedException e) {
                // one whose repeated text holds hrefs may be refused for them, never for lack of a base
                assertThat(e.reason()).isEqualTo(RejectReason.BASE_OUTSIDE_SITE);
            } finally {
                if (pkg.site() != null) {
                    pkg.site().close();
                }
            }
        });
    }

    /** Names are ASCII to HTML: "scr\u0131pt" opens no script, and U+2003 is no space between a tag's name and its attributes. */
    @ParameterizedTest
    @ValueSource(strings = {
            "<scr\u0131pt><!--</script><base href=\"/\">-->",
            "<script></scr\u0130pt><base href=\"/\"></script>",
            "<script\u00e1><!--</script><base href=\"/\">-->",
            "<base\u2003href=\"/\">",
            "<base x\u001Chref=\"/\">" })
    void aBaseOnlyAnotherReadingOfTheNamesWouldSeeIsNoBase(String head) throws Exception {
        assertRejected(zip(Map.of("index.html", "<html><head>" + head + "</head></html>"), false), RejectReason.NO_BASE_TAG);
    }

    /** A browser follows a UTF-16 byte-order mark over anything the page says: it would read another text than the check. */
    @Test
    void anIndexInUtf16IsRefused() throws Exception {
        byte[] utf16 = "\uFEFF<html><head><base href=\"https://otro-sitio.example/\"></head><!--".getBytes(StandardCharsets.UTF_16LE);
        byte[] tail = "<base href=\"/\">".getBytes(StandardCharsets.US_ASCII);
        byte[] page = java.util.Arrays.copyOf(utf16, utf16.length + tail.length);
        System.arraycopy(tail, 0, page, utf16.length, tail.length);
        assertRejected(zipOf(Map.of("index.html", page), false), RejectReason.NO_BASE_TAG);
    }

    /**
     * A title's or a textarea's text is text to a browser, and so is what a noscript (where scripts run), a noembed, a
     * noframes, an xmp or an iframe holds: a base there is none, though a text search finds it.
     */
    @ParameterizedTest
    @ValueSource(strings = { "<title><base href=\"/\"></title>", "<textarea><base href=\"/\"></textarea>",
            "<noscript><base href=\"/\"></noscript>", "<noembed><base href=\"/\"></noembed>", "<noframes><base href=\"/\"></noframes>",
            "<xmp><base href=\"/\"></xmp>", "<iframe><base href=\"/\"></iframe>" })
    void aBaseOnlyInATitleOrATextareaIsNoBase(String head) throws Exception {
        assertRejected(zip(Map.of("index.html", "<html><head>" + head + "</head></html>"), false), RejectReason.NO_BASE_TAG);
    }

    /**
     * The check reads the first MiB of index.html: a base after it, to another site, went unread behind a good one
     * in the part read.
     */
    @ParameterizedTest
    @ValueSource(ints = { 100, 64 * 1024 - 3, 64 * 1024 + 2 })
    void aBaseBeyondWhatTheCheckReadsIsRefused(int beyond) throws Exception {
        // at 64 KiB - 3 the tag is split between two of the check's reads of the rest
        assertRejected(zip(Map.of("index.html", bigIndex((1 << 20) + beyond, "<BaSe href=\"https://otro-sitio.example/\">")), true),
                RejectReason.BASE_OUTSIDE_SITE);
    }

    /** A base tag that opens within the first MiB and has its href after it: the part read holds no href to check. */
    @Test
    void aBaseTagThatRunsPastWhatTheCheckReadsIsRefused() throws Exception {
        String html = bigIndex((1 << 20) - 20, "<base data-x=\"" + "x".repeat(40) + "\" href=\"https://otro-sitio.example/\">");
        assertRejected(zip(Map.of("index.html", html), true), RejectReason.BASE_OUTSIDE_SITE);
    }

    /**
     * The same with a {@code >} in a quoted value before the end of the first MiB: it ends nothing for a browser, whose
     * one base is the href after the MiB; a base inside another attribute's value is all the part read shows.
     */
    @Test
    void aBaseTagWhoseQuotedValueHoldsAGreaterThanAndRunsPastWhatTheCheckReadsIsRefused() throws Exception {
        String html = bigIndex("<html><head><meta name=\"x\" content=\"<base href=/>\"><title>PREP</title></head><body>", (1 << 20) - 20,
                "<base data-x=\">\"" + " ".repeat(100) + " href=\"https://otro-sitio.example/\">");
        assertRejected(zip(Map.of("index.html", html), true), RejectReason.BASE_OUTSIDE_SITE);
    }

    /**
     * The same past a "<script" inside an attribute's value, which a filter of scripts and comments took for markup
     * and read the rest of the MiB as script text: still refused. (A large page whose script text holds such a quote
     * is refused too: which text is markup is a parser's call.)
     */
    @Test
    void aBaseTagRunningPastTheFirstMibBehindAScriptInAnAttributeIsRefused() throws Exception {
        String html = bigIndex("<html><head><noscript><base href=\"/\"></noscript><p title=\"<script>\"></p></head><body>", (1 << 20) - 20,
                "<base x=\"a>b" + " ".repeat(100) + "\" href=\"https://otro-sitio.example/\">");
        assertRejected(zip(Map.of("index.html", html), true), RejectReason.BASE_OUTSIDE_SITE);
    }

    /** A large page whose inline script says "<baseLen" after the first MiB opens no base tag: published. */
    @Test
    void aLargePageWithNoBaseTagAfterTheFirstMibIsPublished() throws Exception {
        assertPublishedAlone(bigIndex((1 << 20) + 100, "<script>for(;i<baseLen;i++){}</script><basefont>"));
    }

    /** A package of this index.html alone passes the unzip step. */
    private void assertPublishedAlone(String index) throws Exception {
        PrepPackage pkg = pkg(zip(Map.of("index.html", index), true));
        try {
            unpacker.unpack(pkg);
            assertThat(pkg.site().files()).extracting(SiteFile::path).containsExactly("index.html");
        } finally {
            pkg.site().close();
        }
    }

    /** A page with a good base at the top, filler up to {@code at} characters, then {@code tail}. */
    private static String bigIndex(int at, String tail) {
        return bigIndex("<html><head><base href=\"/\"><title>PREP</title></head><body>", at, tail);
    }

    /** A page that starts with {@code top}, filler up to {@code at} characters, then {@code tail}. */
    private static String bigIndex(String top, int at, String tail) {
        StringBuilder html = new StringBuilder(top);
        while (html.length() < at) {
            html.append('x');
        }
        html.setLength(at);
        return html.append(tail).append("</body></html>").toString();
    }

    @Test
    void aBaseOnlyInACommentOrATemplateIsNoBase() throws Exception {
        assertRejected(zip(Map.of("index.html", "<html><head><!-- <base href=\"/\"> --><template><base href=\"/\"></template></head></html>"),
                false), RejectReason.NO_BASE_TAG);
    }

    /** What a closed noscript or iframe holds is skipped, not the page after it: a base before or after one is found. */
    @ParameterizedTest
    @ValueSource(strings = { "<noscript><p>Active JavaScript</p></noscript><base href=\"/\">",
            "<base href=\"/\"><noscript><base href=\"/otro/\"></noscript>", "<iframe src=\"x.html\"></iframe><base href=\"/\">" })
    void aBaseBesideAClosedNoscriptOrIframeIsFound(String head) throws Exception {
        PrepPackage pkg = pkg(zip(Map.of("index.html", "<html><head>" + head + "</head></html>"), false));
        unpacker.unpack(pkg);
        assertThat(pkg.site().files()).extracting(SiteFile::path).containsExactly("index.html");
        pkg.site().close();
    }

    @Test
    void aRealBaseAfterAnOldPathCommentedOutIsAccepted() throws Exception {
        PrepPackage pkg = pkg(zip(Map.of("index.html", "<html><head><!-- <base href=\"/prep/2021/\"> --><base href=\"/\"></head></html>"),
                false));
        unpacker.unpack(pkg);
        assertThat(pkg.site().files()).extracting(SiteFile::path).containsExactly("index.html");
        pkg.site().close();
    }

    @Test
    void aBaseThatIsAPathIsAccepted() throws Exception {
        PrepPackage pkg = pkg(zip(Map.of("index.html", "<html><head><base href=/prep/2024/></head></html>"), false));
        unpacker.unpack(pkg);
        assertThat(pkg.site().files()).extracting(SiteFile::path).containsExactly("index.html");
        pkg.site().close();
    }

    @Test
    void aSpooledZipThePodsDiskCannotReadIsATransientFailureNotABadZip() throws Exception {
        Path zip = zip(site("data/a.json", "{}"), true);
        PrepPackage pkg = pkg(zip);
        Files.delete(zip); // gone from under the pipeline after its checksum: the pod's disk, not the package
        assertThatThrownBy(() -> unpacker.unpack(pkg)).isInstanceOf(java.io.UncheckedIOException.class)
                .satisfies(e -> assertThat(new mx.prep.difusor.Failures().isTransient(e)).isTrue())
                .hasMessageContaining("pod's disk");
    }

    /**
     * A read cut short by an interrupt (Camel stopping a pod past its shutdown timeout) fails with an IOException that
     * is neither a missing file nor the zip's own fault: it was refused as BAD_ZIP, for good, a good corte never published.
     */
    @Test
    void aReadInterruptedOnThePodIsATransientFailureNotABadZip() throws Exception {
        PrepPackage pkg = pkg(zip(site("data/a.json", "{}"), true));
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(() -> unpacker.unpack(pkg)).isInstanceOf(java.io.UncheckedIOException.class)
                    .satisfies(e -> assertThat(new mx.prep.difusor.Failures().isTransient(e)).isTrue())
                    .hasMessageContaining("pod's disk").hasRootCauseInstanceOf(java.nio.channels.ClosedByInterruptException.class);
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void anEntryWhoseBytesDoNotMatchItsCrcIsRefused() throws Exception {
        Path zip = zip(site("data/a.json", "{\"votos\":12345}"), true);
        byte[] bytes = Files.readAllBytes(zip);
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        int at = text.indexOf("12345");
        bytes[at] = '9';
        Files.write(zip, bytes);
        assertRejected(zip, RejectReason.ENTRY_CRC_MISMATCH);
    }

    /** A bidi override in the entry's name would show the report's cause reordered: escaped, as in the log. */
    @Test
    void anEntryRefusedForItsBytesIsNamedWithItsControlsEscaped() throws Exception {
        Path zip = zip(site("data/a\u202Enosj.json", "{\"votos\":12345}"), true);
        byte[] bytes = Files.readAllBytes(zip);
        bytes[new String(bytes, StandardCharsets.ISO_8859_1).indexOf("12345")] = '9';
        Files.write(zip, bytes);
        assertThatThrownBy(() -> unpacker.unpack(pkg(zip))).isInstanceOfSatisfying(PackageRejectedException.class,
                e -> assertThat(e.reason()).isEqualTo(RejectReason.ENTRY_CRC_MISMATCH))
                .hasMessageContaining("entry 'data/a\\u202enosj.json' does not match its CRC-32").hasMessageNotContaining("\u202E");
    }

    @Test
    void twoEntriesThatAreTheSameSitePathAreRefused() throws Exception {
        assertRejected(zip(site("data/a.json", "1", "data//a.json", "2"), false), RejectReason.DUPLICATE_ENTRY);
    }

    /**
     * A zip made on Windows (PowerShell 5.1's Compress-Archive) names its entries with '\\' between folders, and says
     * so by its host, MS-DOS (0: what the JDK's ZipOutputStream writes too): they are the site's folders, as unzip reads
     * them, and the entries are read back by their own names. Refused as "backslash", every corte was.
     */
    @Test
    void aZipMadeOnWindowsSeparatesFoldersWithBackslashes() throws Exception {
        PrepPackage pkg = pkg(zip(site("data\\corte.json", "{\"actas\":1}", "assets\\js\\app.js", "x()"), false));
        unpacker.unpack(pkg);
        assertThat(pkg.site().files()).extracting(SiteFile::path).containsExactly("index.html", "data/corte.json", "assets/js/app.js");
        assertThat(pkg.site().files().get(1).sha256()).isEqualTo(HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest("{\"actas\":1}".getBytes(StandardCharsets.UTF_8))));
        pkg.site().close();
        // read as folders, they are checked as folders: out of the site, or the same file twice, as with '/'
        assertRejected(zip(site("..\\..\\etc\\cron.d\\x", "boom"), false), RejectReason.UNSAFE_ENTRY_NAME);
        assertRejected(zip(site("data\\a.json", "1", "data/a.json", "2"), false), RejectReason.DUPLICATE_ENTRY);
    }

    /** From any other host (Unix: 3) a '\\' is a character of the name, and no site path holds one. */
    @Test
    void aBackslashInAZipMadeElsewhereIsRefused() throws Exception {
        Path zip = zip(site("data\\corte.json", "{}"), false);
        byte[] bytes = Files.readAllBytes(zip);
        for (int i = 0; i + 6 <= bytes.length; i++) {
            // each central directory record: "version made by", its high byte the host
            if (bytes[i] == 'P' && bytes[i + 1] == 'K' && bytes[i + 2] == 1 && bytes[i + 3] == 2) {
                bytes[i + 5] = 3;
            }
        }
        Files.write(zip, bytes);
        assertRejected(zip, RejectReason.UNSAFE_ENTRY_NAME);
    }

    @Test
    void anEntryEscapingTheSiteRootIsRefused() throws Exception {
        assertRejected(zip(site("../../etc/cron.d/x", "boom"), false), RejectReason.UNSAFE_ENTRY_NAME);
    }

    @Test
    void aSymlinkOrANestedArchiveIsRefusedByPolicy() throws Exception {
        assertRejected(zip(site("data/otro-paquete.zip", "PK"), false), RejectReason.NESTED_ARCHIVE);
    }

    /** The structure pass leaves content to the readers; they look at the first bytes of every entry they inflate. */
    @ParameterizedTest
    @ValueSource(booleans = { true, false })
    void anArchiveUnderAnInnocentNameIsRefused(boolean stored) throws Exception {
        java.io.ByteArrayOutputStream gzip = new java.io.ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream out = new java.util.zip.GZIPOutputStream(gzip)) {
            out.write(new byte[100_000]);
        }
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("index.html", INDEX.getBytes(StandardCharsets.UTF_8));
        entries.put("data/casillas.csv", gzip.toByteArray());
        assertThatThrownBy(() -> unpacker.unpack(pkg(zipOf(entries, stored))))
                .isInstanceOfSatisfying(PackageRejectedException.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.NESTED_ARCHIVE))
                .hasMessageContaining("data/casillas.csv").hasMessageContaining("gzip");

        entries.put("data/casillas.csv", Files.readAllBytes(zip(site("data/a.json", "{}"), false)));
        assertThatThrownBy(() -> unpacker.unpack(pkg(zipOf(entries, stored))))
                .isInstanceOfSatisfying(PackageRejectedException.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.NESTED_ARCHIVE))
                .hasMessageContaining("zip");
    }

    /**
     * A zip with a byte (or a self-extractor's stub) in front still opens in every zip reader, which finds it by its end
     * record; and archive formats beyond the usual few. Each passed as a CSV or a JSON file.
     */
    @ParameterizedTest
    @ValueSource(strings = { "zip behind a newline", "zip behind a newline, with a comment", "zip behind and before a byte", "zstd",
        "lz4", "cab" })
    void anArchiveThatDoesNotStartWithTheUsualMagicIsRefusedToo(String kind) throws Exception {
        byte[] inner = Files.readAllBytes(zip(site("data/a.json", "{}"), false));
        java.io.ByteArrayOutputStream commented = new java.io.ByteArrayOutputStream();
        try (java.util.zip.ZipOutputStream out = new java.util.zip.ZipOutputStream(commented)) {
            out.putNextEntry(new java.util.zip.ZipEntry("a.json"));
            out.write("{}".getBytes(StandardCharsets.UTF_8));
            out.setComment("casillas");
        }
        byte[] content = switch (kind) {
            case "zip behind a newline" -> concat(new byte[] { '\n' }, inner);
            case "zip behind a newline, with a comment" -> concat(new byte[] { '\n' }, commented.toByteArray());
            case "zip behind and before a byte" -> concat(concat(new byte[] { '\n' }, inner), new byte[] { '\n' });
            case "zstd" -> concat(new byte[] { 0x28, (byte) 0xB5, 0x2F, (byte) 0xFD, 0x20, 0x02, 0x11, 0x00 }, "{}".getBytes(StandardCharsets.UTF_8));
            case "lz4" -> concat(new byte[] { 0x04, 0x22, 0x4D, 0x18, 0x64, 0x40, (byte) 0xA7 }, new byte[16]);
            default -> concat("MSCF".getBytes(StandardCharsets.US_ASCII), new byte[32]);
        };
        for (boolean stored : new boolean[] { true, false }) {
            Map<String, byte[]> entries = new LinkedHashMap<>();
            entries.put("index.html", INDEX.getBytes(StandardCharsets.UTF_8));
            entries.put("data/casillas.csv", content);
            assertThatThrownBy(() -> unpacker.unpack(pkg(zipOf(entries, stored)))).as("%s, stored %s", kind, stored)
                    .isInstanceOfSatisfying(PackageRejectedException.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.NESTED_ARCHIVE))
                    .hasMessageContaining("data/casillas.csv");
        }
    }

    /** Random bytes hold a zip's end signature now and then: alone it does not make an archive of an image or a font. */
    @Test
    void aBinaryFileHoldingAZipEndSignatureIsNoArchive() throws Exception {
        byte[] image = new byte[200_000];
        new java.util.Random(2024).nextBytes(image);
        byte[] signature = { 0x50, 0x4B, 0x05, 0x06 };
        System.arraycopy(signature, 0, image, image.length - 40, 4);   // its disk numbers random, its comment past the end
        System.arraycopy(signature, 0, image, image.length - 30_000, 4);
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("index.html", INDEX.getBytes(StandardCharsets.UTF_8));
        entries.put("img/mapa.png", image);
        var pkg = pkg(zipOf(entries, false));
        unpacker.unpack(pkg);
        assertThat(pkg.site().files()).extracting(SiteFile::path).contains("img/mapa.png");
        pkg.site().close();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] both = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }

    /** Both headers and the data descriptor of a deflated entry say it is smaller than it inflates to. */
    @Test
    void anEntryThatUnderstatesItsSizeInEveryHeaderIsRefused() throws Exception {
        String big = "{\"votos\":\"" + "1234567890".repeat(2000) + "\"}";
        Path zip = zip(site("data/grande.json", big), false);
        byte[] bytes = Files.readAllBytes(zip);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int real = big.length();
        int understated = 100;
        int patched = 0;
        for (int i = 0; i + 16 <= bytes.length; i++) {
            int signature = b.getInt(i);
            if (signature == 0x08074b50 && b.getInt(i + 12) == real) {          // data descriptor: crc, csize, size
                b.putInt(i + 12, understated);
                patched++;
            } else if (signature == 0x02014b50 && b.getInt(i + 24) == real) {   // central directory: size at +24
                b.putInt(i + 24, understated);
                patched++;
            }
        }
        assertThat(patched).isEqualTo(2);
        Files.write(zip, bytes);
        assertRejected(zip, RejectReason.ZIP_BOMB);
    }

    @Test
    void anHtmlPageIsNotAZip() throws Exception {
        Path page = Files.writeString(tmp.resolve("page.zip"), "<html><body>Servicio en mantenimiento</body></html>");
        assertRejected(page, RejectReason.BAD_ZIP);
    }

    @Test
    void tooManyEntriesOrTooManyBytesAreRefused() throws Exception {
        SiteUnpacker strict = new SiteUnpacker("", new CacheControlRules(""), limits(2, 10_000_000));
        assertThatThrownBy(() -> strict.unpack(pkg(zip(site("a.json", "1", "b.json", "2"), false))))
                .isInstanceOfSatisfying(PackageRejectedException.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.ZIP_BOMB));
        SiteUnpacker small = new SiteUnpacker("", new CacheControlRules(""), limits(100, 1000));
        assertThatThrownBy(() -> small.unpack(pkg(zip(site("big.csv", "x".repeat(5000)), false))))
                .isInstanceOfSatisfying(PackageRejectedException.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.ZIP_BOMB));
    }

    // ---- entries already published: known by the fingerprint of their compressed bytes, not inflated again

    private static Map<String, SiteFile> byPath(PrepPackage pkg) {
        Map<String, SiteFile> m = new LinkedHashMap<>();
        pkg.site().files().forEach(f -> m.put(f.path(), f));
        return m;
    }

    /** The files of a package as its publication would record them. */
    private Map<String, SiteFile> published(Path zip) throws Exception {
        PrepPackage first = pkg(zip);
        unpacker.unpack(first);
        Map<String, SiteFile> files = byPath(first);
        first.site().close();
        return files;
    }

    /** What a last publication recorded, with a marker for a hash: a file that carries it was not inflated and hashed. */
    private SiteUnpacker recording(Map<String, SiteFile> published, long sizeDelta) {
        KnownContent known = (path, fingerprint) -> {
            SiteFile f = published.get(path);
            return f != null && f.zip().equals(fingerprint) ? new KnownContent.Known("recorded:" + path, f.md5(), f.size() + sizeDelta, fingerprint) : null;
        };
        return new SiteUnpacker("", new CacheControlRules("**/*.html=no-cache"), limits(1000, 10_000_000), p -> known);
    }

    private static String sha256(String text) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void anEntryWithTheCompressedBytesOfThePublishedFileIsNotInflatedAgain() throws Exception {
        Map<String, SiteFile> published = published(zip(site("data/a.json", "{\"votos\":1}", "data/b.json", "{\"votos\":2}"), false));

        PrepPackage second = pkg(zip(site("data/a.json", "{\"votos\":1}", "data/b.json", "{\"votos\":3}"), false));
        recording(published, 0).unpack(second);
        Map<String, SiteFile> files = byPath(second);
        assertThat(files.get("data/a.json").sha256()).isEqualTo("recorded:data/a.json");
        assertThat(files.get("index.html").sha256()).isEqualTo("recorded:index.html");
        assertThat(files.get("data/b.json").sha256()).isEqualTo(sha256("{\"votos\":3}"));
        assertThat(files.get("data/a.json").zip()).isEqualTo(published.get("data/a.json").zip());
        second.site().close();
    }

    /**
     * An entry already published is not inflated, so its first bytes are not looked at again: they were when it was
     * first published. Here the "published" record vouches for a gzip that the rule would refuse, to show the skip.
     */
    @Test
    void anEntryAlreadyPublishedIsNotLookedAtAgainForANestedArchive() throws Exception {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("index.html", INDEX.getBytes(StandardCharsets.UTF_8));
        entries.put("data/casillas.csv", new byte[] { 0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0 });
        Path zip = zipOf(entries, false);
        Map<String, SiteFile> published = new LinkedHashMap<>();
        for (ZipStructure.Entry e : ZipStructure.inspect(zip, limits(1000, 10_000_000), true, false)) {
            published.put(e.name(), new SiteFile(e.name(), null, e.uncompressedSize(), "x", "y", "text/csv", null, e.fingerprint()));
        }
        assertRejected(zip, RejectReason.NESTED_ARCHIVE);

        PrepPackage again = pkg(zip);
        recording(published, 0).unpack(again);
        assertThat(byPath(again).get("data/casillas.csv").sha256()).isEqualTo("recorded:data/casillas.csv");
        again.site().close();
    }

    @Test
    void theSameContentCompressedOtherwiseIsInflatedAndHashed() throws Exception {
        Map<String, SiteFile> published = published(zip(site("data/a.json", "{\"votos\":1}"), false));

        PrepPackage stored = pkg(zip(site("data/a.json", "{\"votos\":1}"), true));
        recording(published, 0).unpack(stored);
        SiteFile a = byPath(stored).get("data/a.json");
        assertThat(a.zip()).isNotEqualTo(published.get("data/a.json").zip());
        assertThat(a.sha256()).isEqualTo(published.get("data/a.json").sha256()).isEqualTo(sha256("{\"votos\":1}"));
        stored.site().close();
    }

    @Test
    void aKnownFingerprintWithAnotherSizeIsNotTrusted() throws Exception {
        Map<String, SiteFile> published = published(zip(site("data/a.json", "{\"votos\":1}"), false));

        PrepPackage again = pkg(zip(site("data/a.json", "{\"votos\":1}"), false));
        recording(published, 1).unpack(again);
        assertThat(byPath(again).get("data/a.json").sha256()).isEqualTo(sha256("{\"votos\":1}"));
        again.site().close();
    }

    @Test
    void aDamagedEntryIsNeverTakenForThePublishedOne() throws Exception {
        Path good = zip(site("data/a.json", "{\"votos\":12345}"), true);
        Map<String, SiteFile> published = published(good);

        byte[] bytes = Files.readAllBytes(good);
        bytes[new String(bytes, StandardCharsets.ISO_8859_1).indexOf("12345")] = '9';
        Path damaged = Files.write(tmp.resolve("damaged.zip"), bytes);
        assertThatThrownBy(() -> recording(published, 0).unpack(pkg(damaged)))
                .isInstanceOfSatisfying(PackageRejectedException.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.ENTRY_CRC_MISMATCH));
    }

    // ---- several readers: the same files in the same order, and the same refusals

    @Test
    void threeReadersListTheSameFilesInTheSameOrderAsOne() throws Exception {
        Map<String, String> many = site();
        for (int i = 0; i < 200; i++) {
            many.put("data/casilla-" + i + ".json", "{\"casilla\":" + i + ",\"votos\":" + (i * 7919 % 1000) + "}");
        }
        Path zip = zip(many, false);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            SiteUnpacker three = new SiteUnpacker("", new CacheControlRules("**/*.html=no-cache"), limits(1000, 10_000_000),
                    p -> KnownContent.NONE, pool, 3);
            PrepPackage alone = pkg(zip);
            unpacker.unpack(alone);
            PrepPackage together = pkg(zip);
            three.unpack(together);
            assertThat(together.site().files()).extracting(SiteFile::path, SiteFile::sha256, SiteFile::md5, SiteFile::zip)
                    .containsExactlyElementsOf(alone.site().files().stream()
                            .map(f -> org.assertj.core.groups.Tuple.tuple(f.path(), f.sha256(), f.md5(), f.zip())).toList());
            alone.site().close();
            together.site().close();

            Map<String, String> bad = new LinkedHashMap<>(many);
            bad.put("data/z.json", "{\"votos\":12345}");
            Path damaged = zip(bad, true);
            byte[] bytes = Files.readAllBytes(damaged);
            bytes[new String(bytes, StandardCharsets.ISO_8859_1).indexOf("12345")] = '9';
            Files.write(damaged, bytes);
            assertThatThrownBy(() -> three.unpack(pkg(damaged)))
                    .isInstanceOfSatisfying(PackageRejectedException.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.ENTRY_CRC_MISMATCH))
                    .hasMessageContaining("data/z.json");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aPoolThatIsStoppingNeitherHangsNorFailsTheUnzip() throws Exception {
        Path zip = zip(site("data/a.json", "{\"votos\":1}", "data/b.json", "{\"votos\":2}"), false);
        // one pool refuses new work, the other drops it silently (as a caller-runs pool does once shut down)
        java.util.concurrent.ThreadPoolExecutor refusing = new java.util.concurrent.ThreadPoolExecutor(1, 1, 0,
                java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>());
        java.util.concurrent.ThreadPoolExecutor dropping = new java.util.concurrent.ThreadPoolExecutor(1, 1, 0,
                java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(),
                new java.util.concurrent.ThreadPoolExecutor.DiscardPolicy());
        refusing.shutdown();
        dropping.shutdown();
        for (java.util.concurrent.ExecutorService pool : List.of(refusing, dropping)) {
            SiteUnpacker unpacker = new SiteUnpacker("", new CacheControlRules(""), limits(1000, 10_000_000), p -> KnownContent.NONE, pool, 2);
            PrepPackage pkg = pkg(zip);
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20), () -> unpacker.unpack(pkg));
            assertThat(pkg.site().files()).extracting(SiteFile::path).containsExactly("index.html", "data/a.json", "data/b.json");
            pkg.site().close();
        }
    }

    /** Deflated bytes the inflater cannot read: refused, naming which of the package's entries it was. */
    @Test
    void aDeflatedEntryTheInflaterChokesOnIsRefusedNamingTheEntry() throws Exception {
        Path zip = zip(site("data/a.json", "{\"votos\":1}", "data/x.json", "{\"votos\":\"" + "7".repeat(500) + "\"}"), false);
        ZipStructure.Entry x = ZipStructure.inspect(zip, limits(1000, 10_000_000)).stream().filter(e -> e.name().equals("data/x.json"))
                .findFirst().orElseThrow();
        byte[] bytes = Files.readAllBytes(zip);
        bytes[(int) x.dataOffset()] = 0x07;   // a final block of the reserved type 11: "invalid block type"
        Files.write(zip, bytes);
        assertThatThrownBy(() -> unpacker.unpack(pkg(zip)))
                .isInstanceOfSatisfying(PackageRejectedException.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.BAD_ZIP))
                .hasMessageContaining("PREP2024_JAL_20240602_2000.zip").hasMessageContaining("(entry 'data/x.json')");
    }

    /**
     * Out of memory on one of the readers, the pool's or the caller's: the unzip fails naming the package and the step.
     * On the pool's thread it left its entry without a file, and the caller failed on a
     * NullPointerException with no message.
     */
    @ParameterizedTest(name = "on the pool's reader: {0}")
    @ValueSource(booleans = { true, false })
    void anOutOfMemoryOnAReaderIsSaidWithThePackageAndTheStep(boolean onThePool) throws Exception {
        Map<String, String> many = site();
        for (int i = 0; i < 200; i++) {
            many.put("data/casilla-" + i + ".json", "{\"casilla\":" + i + "}");
        }
        Path zip = zip(many, false);
        Thread caller = Thread.currentThread();
        java.util.concurrent.CountDownLatch thrown = new java.util.concurrent.CountDownLatch(1);
        KnownContent failing = (path, fingerprint) -> {
            if ((Thread.currentThread() == caller) != onThePool) {
                thrown.countDown();
                throw new OutOfMemoryError("simulated");
            }
            try {
                // the other reader waits until the failure, so both readers are at work when it comes
                assertThat(thrown.await(10, java.util.concurrent.TimeUnit.SECONDS)).as("the other reader failed").isTrue();
            } catch (InterruptedException e) {
                throw new AssertionError("the reader waiting for the other one's failure was interrupted", e);
            }
            return null;
        };
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(1);
        try {
            SiteUnpacker two = new SiteUnpacker("", new CacheControlRules(""), limits(1000, 10_000_000), p -> failing, pool, 2);
            assertThatThrownBy(() -> two.unpack(pkg(zip))).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("PREP2024_JAL_20240602_2000.zip").hasMessageContaining("step unzip")
                    .hasMessageContaining("OutOfMemoryError: simulated");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void anEntryCommentThatIsNotUtf8IsABadZipNamingThePackage() throws Exception {
        Path file = Files.createTempFile(tmp, "package", ".zip");
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(out)) {
            ZipEntry index = new ZipEntry("index.html");
            index.setComment("COMENTARIO");
            z.putNextEntry(index);
            z.write(INDEX.getBytes(StandardCharsets.UTF_8));
            z.closeEntry();
        }
        byte[] bytes = Files.readAllBytes(file);
        bytes[new String(bytes, StandardCharsets.ISO_8859_1).indexOf("COMENTARIO")] = (byte) 0xFF;
        Files.write(file, bytes);
        assertRejected(file, RejectReason.BAD_ZIP);
    }
}
