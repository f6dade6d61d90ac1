package mx.prep.difusor.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import mx.prep.difusor.state.CorteParser;

class SourceParsingTest {

    private final ManifestSource manifest = new ManifestSource(URI.create("https://prep.example.mx/difusores/manifest.json"), null);
    private final PackageUrlSource sidecar = new PackageUrlSource(URI.create("https://prep.example.mx/difusores/latest.zip"), null);

    @Test
    void withoutUrlTheZipSitsNextToTheManifest() throws Exception {
        PackageOffer offer = manifest.parse("{\"package\":\"PREP2024_JAL_20240602_2000.zip\",\"sha256\":\"AB\",\"size\":12,\"extra\":1}");
        assertThat(offer.packageUri()).isEqualTo(URI.create("https://prep.example.mx/difusores/PREP2024_JAL_20240602_2000.zip"));
        assertThat(offer.announcedSha256()).isEqualTo("AB");
        assertThat(offer.announcedSize()).isEqualTo(12L);
    }

    @Test
    void aUrlInTheManifestIsResolvedAgainstIt() throws Exception {
        assertThat(manifest.parse("{\"package\":\"p_20240602_2000.zip\",\"sha256\":\"x\",\"url\":\"../zips/p.zip\"}").packageUri())
                .isEqualTo(URI.create("https://prep.example.mx/zips/p.zip"));
        assertThat(manifest.parse("{\"package\":\"p_20240602_2000.zip\",\"sha256\":\"x\",\"url\":\"https://cdn.example.mx/p.zip\"}").packageUri())
                .isEqualTo(URI.create("https://cdn.example.mx/p.zip"));
    }

    @Test
    void aRedirectedManifestsZipsAreBesideWhereItAnsweredUnlessThatIsASignedUrl() {
        URI configured = URI.create("https://prep.example.mx/difusores/manifest.json");
        assertThat(ManifestSource.zipBase(configured, URI.create("https://cdn.example.mx/2024/manifest.json")).resolve("p.zip"))
                .isEqualTo(URI.create("https://cdn.example.mx/2024/p.zip"));
        assertThat(ManifestSource.zipBase(configured, URI.create("https://bucket.s3.amazonaws.com/m.json?X-Amz-Signature=ab")).resolve("p.zip"))
                .isEqualTo(URI.create("https://prep.example.mx/difusores/p.zip"));
    }

    @Test
    void aManifestWithAByteOrderMarkIsRead() throws Exception {
        assertThat(manifest.parse("\uFEFF{\"package\":\"PREP2024_JAL_20240602_2000.zip\",\"sha256\":\"ab\"}").packageName())
                .isEqualTo("PREP2024_JAL_20240602_2000.zip");
    }

    @Test
    void theChecksumFileOfAZipWithATokenIsBesideItWithTheSameToken() {
        assertThat(PackageUrlSource.sidecarOf(URI.create("https://prep.example.mx/difusores/latest.zip")))
                .isEqualTo(URI.create("https://prep.example.mx/difusores/latest.zip.sha256"));
        assertThat(PackageUrlSource.sidecarOf(URI.create("https://prep.example.mx:8443/d/latest.zip?token=a%2Bb%26c&v=2#x")))
                .hasToString("https://prep.example.mx:8443/d/latest.zip.sha256?token=a%2Bb%26c&v=2");
        // no host or no path: said at start, not polled as https://null...
        assertThatThrownBy(() -> PackageUrlSource.sidecarOf(URI.create("https:prep.example.mx/latest.zip?token=x")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("difusor.source.package-url").hasMessageNotContaining("token=x");
    }

    @Test
    void aManifestThatNamesNoPackageIsRefused() {
        assertThatThrownBy(() -> manifest.parse("<html>maintenance</html>")).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> manifest.parse("{\"sha256\":\"x\"}")).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> manifest.parse("{\"package\":\"../x.zip\"}")).isInstanceOf(IOException.class);
    }

    @Test
    void theSidecarIsReadInSha256sumFormat() {
        PackageOffer text = sidecar.parse("0123abcd  PREP2024_JAL_20240602_2000.zip\n");
        assertThat(text.announcedSha256()).isEqualTo("0123abcd");
        assertThat(text.packageName()).isEqualTo("PREP2024_JAL_20240602_2000.zip");
        assertThat(sidecar.parse("0123abcd *PREP2024_JAL_20240602_2000.zip").packageName()).isEqualTo("PREP2024_JAL_20240602_2000.zip");
        PackageOffer bare = sidecar.parse("0123abcd\n");
        assertThat(bare.packageName()).isNull();
        assertThat(bare.packageUri()).isEqualTo(URI.create("https://prep.example.mx/difusores/latest.zip"));
    }

    /**
     * A checksum file saved by Notepad or PowerShell starts with a byte-order mark, and one written by
     * {@code sha256sum --tag}, BSD's {@code sha256} or {@code openssl dgst} is tagged: each corte was read as the
     * checksum "\uFEFF0123…" or "SHA256", downloaded, refused as CHECKSUM_INVALID and never published.
     */
    @Test
    void aChecksumFileWithAByteOrderMarkOrTaggedIsReadToo() {
        String hex = "ab".repeat(32);
        String name = "PREP2024_JAL_20240602_2000.zip";
        for (String file : java.util.List.of("\uFEFF" + hex + "  " + name + "\r\n", "SHA256 (" + name + ") = " + hex + "\n",
                "SHA2-256(" + name + ")= " + hex, "\uFEFFsha256 (./" + name + ") = " + hex.toUpperCase(java.util.Locale.ROOT))) {
            PackageOffer offer = sidecar.parse(file);
            assertThat(offer.announcedSha256()).as(file).isEqualToIgnoringCase(hex);
            assertThat(offer.packageName()).as(file).isEqualTo(name);
        }
    }

    /**
     * Windows' own tools write the SHA-256 among their words: {@code certutil -hashfile X SHA256} (in capitals, or as
     * byte pairs before Windows 8), {@code Get-FileHash X | Format-List} and its table. Read as sha256sum's lines, the
     * checksum was "SHA256" or "Algorithm", and every corte was refused (or every poll failed). One SHA-256 in the file
     * is the checksum, naming no file; none in a page, and none when the file holds two.
     */
    @Test
    void aChecksumFileFromWindowsToolsIsReadForItsOneSha256() {
        String hex = "0123456789abcdef".repeat(4);
        String upper = hex.toUpperCase(java.util.Locale.ROOT);
        String pairs = String.join(" ", hex.split("(?<=\\G..)"));
        String name = "PREP2024_JAL_20240602_2000.zip";
        for (String file : java.util.List.of(
                "SHA256 hash of " + name + ":\r\n" + upper + "\r\nCertUtil: -hashfile command completed successfully.\r\n",
                "SHA256 hash of file " + name + ":\r\n" + pairs + "\r\nCertUtil: -hashfile command completed successfully.\r\n",
                "\r\nAlgorithm : SHA256\r\nHash      : " + upper + "\r\nPath      : C:\\PREP\\" + name + "\r\n\r\n",
                "\r\nAlgorithm       Hash                                                                   Path\r\n"
                        + "---------       ----                                                                   ----\r\n"
                        + "SHA256          " + upper + "       C:\\PREP\\" + name + "\r\n")) {
            PackageUrlSource.ChecksumLine line = PackageUrlSource.checksumLine(file);
            // in capitals as written: the checksum is compared in lower case wherever it is read
            assertThat(line.checksum()).as(file).isEqualToIgnoringCase(hex);
            assertThat(line.name()).as(file).isNull();
        }
        // words around sha256sum's line (a title, a signature's) leave the line as it is, with the file it names
        PackageUrlSource.ChecksumLine titled = PackageUrlSource.checksumLine("Sumas SHA-256 del corte\n" + hex + "  " + name + "\n");
        assertThat(titled.checksum()).isEqualTo(hex);
        assertThat(titled.name()).isEqualTo(name);
        PackageUrlSource.ChecksumLine signed = PackageUrlSource.checksumLine("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
                + "ab".repeat(32) + "  PREP2024_JAL_20240602_1940.zip\n" + hex + "  " + name + "\n-----BEGIN PGP SIGNATURE-----\n",
                n -> n.equals(name));
        assertThat(signed.checksum()).isEqualTo(hex);
        assertThat(signed.name()).isEqualTo(name);
        for (String notOne : java.util.List.of("<html><body><pre>" + hex + "</pre></body></html>", "SHA512: " + hex + hex,
                "SHA256 hash of a.zip:\n" + hex + "\nSHA256 hash of b.zip:\n" + "ab".repeat(32) + "\n",
                "Hash : " + hex + "\nHash : " + "ab".repeat(32) + "\n")) {
            assertThat(PackageUrlSource.checksumLine(notOne).checksum()).as(notOne).isNotEqualTo(hex);
        }
    }

    /** The byte-order mark names the encoding (PowerShell 5.1 writes UTF-16LE); without one, only UTF-8 is text. */
    @Test
    void aChecksumFileIsTextByItsByteOrderMarkOrUtf8() throws Exception {
        String line = "ab".repeat(32) + "  PREP2024_JAL_20240602_2000.zip\r\n";
        for (java.nio.charset.Charset charset : java.util.List.of(java.nio.charset.StandardCharsets.UTF_16LE,
                java.nio.charset.StandardCharsets.UTF_16BE, java.nio.charset.StandardCharsets.UTF_8)) {
            assertThat(InstituteText.decode(("\uFEFF" + line).getBytes(charset))).as(charset.name()).isEqualTo(line);
        }
        assertThat(InstituteText.decode(line.getBytes(java.nio.charset.StandardCharsets.US_ASCII))).isEqualTo(line);
        assertThatThrownBy(() -> InstituteText.decode("ab  paquete-elección.zip".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)))
                .isInstanceOf(java.nio.charset.CharacterCodingException.class);
        // UTF-16 without its mark reads as UTF-8 with a NUL in every other character: no checksum in it
        String unmarked = InstituteText.decode(line.getBytes(java.nio.charset.StandardCharsets.UTF_16LE));
        assertThat(sidecar.parse(unmarked).announcedSha256()).isNotEqualTo("ab".repeat(32));
    }

    /**
     * A checksum made from standard input ({@code sha256sum < pkg.zip}, {@code openssl dgst -sha256 < pkg.zip}) names no
     * file: it was read as a file "-", "stdin.zip" or a checksum "(stdin)=", and every corte was refused (in the
     * incoming bucket as naming another file). GNU's escaped line (a leading backslash) gave a checksum "\ab…".
     */
    @Test
    void aChecksumMadeFromStandardInputNamesNoFile() {
        String hex = "ab".repeat(32);
        for (String file : java.util.List.of(hex + "  -\n", hex + " *-", "SHA2-256(stdin)= " + hex + "\n", "(stdin)= " + hex + "\n",
                "SHA256 (-) = " + hex)) {
            PackageUrlSource.ChecksumLine line = PackageUrlSource.checksumLine(file);
            // in capitals as written: the checksum is compared in lower case wherever it is read
            assertThat(line.checksum()).as(file).isEqualToIgnoringCase(hex);
            assertThat(line.name()).as(file).isNull();
            assertThat(sidecar.parse(file).packageName()).as(file).isNull();
        }
        PackageUrlSource.ChecksumLine escaped = PackageUrlSource.checksumLine("\\" + hex + "  PREP\\\\JAL_20240602_2000.zip\n");
        assertThat(escaped.checksum()).isEqualTo(hex);
        assertThat(escaped.name()).isEqualTo("PREP\\JAL_20240602_2000.zip");
        // sha256sum --tag escapes the same way
        PackageUrlSource.ChecksumLine tagged = PackageUrlSource.checksumLine("\\SHA256 (PREP\\\\JAL_20240602_2000.zip) = " + hex);
        assertThat(tagged.checksum()).isEqualTo(hex);
        assertThat(tagged.name()).isEqualTo("PREP\\JAL_20240602_2000.zip");
    }

    /**
     * A checksum file made with {@code sha256sum latest.zip} names the fixed URL's own file, no corte's name: taken for the
     * package's name, every corte was refused without a corte; it names no file, and the download names the package.
     */
    @Test
    void aChecksumFileNamingTheFixedUrlsOwnFileNamesNoPackage() {
        String hex = "ab".repeat(32);
        for (String file : java.util.List.of(hex + "  latest.zip\n", hex + " *./latest.zip", "SHA256 (latest.zip) = " + hex)) {
            PackageOffer offer = sidecar.parse(file);
            assertThat(offer.packageName()).as(file).isNull();
            assertThat(offer.checksumNames()).as(file).isNull();
            assertThat(offer.announcedSha256()).as(file).isEqualTo(hex);
        }
        assertThat(sidecar.parse(hex + "  PREP2024_JAL_20240602_2000.zip").packageName()).isEqualTo("PREP2024_JAL_20240602_2000.zip");
    }

    /**
     * A name is made safe where it is read, once: the downloader used to replace it later (a constant
     * "unnamed-package.zip" for a space or an accent), so the ledger asked about one name and settled another.
     */
    @Test
    void aPackageNameIsMadeSafeWhereTheSourceReadsIt() throws Exception {
        assertThat(sidecar.parse("0123abcd  ./PREP2024_JAL_20240602_2000.zip").packageName()).isEqualTo("PREP2024_JAL_20240602_2000.zip");
        assertThat(sidecar.parse("0123abcd *./paquetes/PREP2024_JAL_20240602_2000.zip").checksumNames()).isEqualTo("PREP2024_JAL_20240602_2000.zip");
        PackageOffer spaced = manifest.parse("{\"package\":\"PREP 2024 Elección_JAL_20240602_2000.ZIP\",\"sha256\":\"x\"}");
        assertThat(spaced.packageName()).isEqualTo("PREP_2024_Eleccion_JAL_20240602_2000.zip");
        // the zip is still asked for under the institute's own name
        assertThat(spaced.packageUri()).isEqualTo(URI.create("https://prep.example.mx/difusores/PREP%202024%20Elecci%C3%B3n_JAL_20240602_2000.ZIP"));
        assertThat(manifest.parse("{\"package\":\"PREP2024_JAL_20240602_2020.zip\",\"sha256\":\"x\"}").packageName())
                .isEqualTo("PREP2024_JAL_20240602_2020.zip");
        assertThatThrownBy(() -> manifest.parse("{\"package\":\"...\",\"sha256\":\"x\"}")).isInstanceOf(IOException.class);
        assertThat(PackageNames.safe("_x.zip")).isEqualTo("x.zip");
        // two dots in a row: the quarantine would keep such a package on the pod's disk for good, refusing to send it
        assertThat(PackageNames.safe("PREP..JAL_20240602_2000.zip")).isEqualTo("PREP_JAL_20240602_2000.zip");
        assertThat(PackageNames.safe("PREP.JAL_20240602_2000..zip")).isEqualTo("PREP.JAL_20240602_2000_.zip");
        assertThat(PackageNames.safe("PREP.JAL_20240602_2000.zip")).isEqualTo("PREP.JAL_20240602_2000.zip");
        // nothing left: a name of its own, never the raw one (a folder's or a bucket's "..zip")
        assertThat(PackageNames.safe("..zip")).isNull();
        assertThat(PackageNames.named("..zip")).isEqualTo(PackageNames.named("~.zip")).isEqualTo("unnamed-package.zip");
    }

    @Test
    void theContentDispositionNamesAPackageTheSidecarDoesNot() {
        assertThat(PackageDownloader.dispositionNames("attachment; filename=\"PREP2024_JAL_20240602_2000.zip\""))
                .containsExactly("PREP2024_JAL_20240602_2000.zip");
        assertThat(PackageDownloader.dispositionNames("attachment; filename=p_20240602_2000.zip")).containsExactly("p_20240602_2000.zip");
    }

    /**
     * A checksum file listing several files: the line of the package, wherever it stands, not the first. A folder's
     * (or a bucket's) zip is known by its name; a fixed URL's by its own name or, of several cortes (a line appended
     * per corte, or a sorted list), the last; a comment line is skipped; without any such line, the first.
     */
    @Test
    void ofAChecksumFileListingSeveralFilesThePackagesLineIsRead() {
        String a = "a".repeat(64);
        String b = "b".repeat(64);
        String c = "c".repeat(64);
        PackageUrlSource folder = new PackageUrlSource(URI.create("file:/entrada/PREP2024_JAL_20240602_2000.zip"), null);
        PackageOffer listed = folder.parse("# PREP 2024\n" + a + "  leeme.pdf\n" + b + " *PREP2024_JAL_20240602_2000.zip\n" + c + "  PREP2024_JAL.csv\n");
        assertThat(listed.announcedSha256()).isEqualTo(b);
        assertThat(listed.checksumNames()).isNull();   // the zip's own line

        CorteParser corte = new CorteParser(".*_(?<date>\\d{8})_(?<time>\\d{4})\\.zip", java.time.ZoneId.of("America/Mexico_City"));
        PackageUrlSource fixed = new PackageUrlSource(URI.create("https://prep.example.mx/descargar?archivo=latest.zip"), null, null,
                corte::fromPackageName);
        PackageOffer newest = fixed.parse(a + "  PREP2024_JAL_20240602_1940.zip\n" + b + "  PREP2024_JAL_20240602_2000.zip\n" + c + "  leeme.pdf\n");
        assertThat(newest.packageName()).isEqualTo("PREP2024_JAL_20240602_2000.zip");
        assertThat(newest.announcedSha256()).isEqualTo(b);
        // newest first (prepended, or listed by time): still the newest, never an older corte already handled
        PackageOffer newestFirst = fixed.parse(b + "  PREP2024_JAL_20240602_2000.zip\n" + a + "  PREP2024_JAL_20240602_1940.zip\n");
        assertThat(newestFirst.packageName()).isEqualTo("PREP2024_JAL_20240602_2000.zip");
        assertThat(newestFirst.announcedSha256()).isEqualTo(b);
        // the URL's own file (its query's zip too) before any corte the list keeps
        assertThat(fixed.parse(b + "  latest.zip\n" + a + "  PREP2024_JAL_20240602_1940.zip\n").announcedSha256()).as("the query's zip").isEqualTo(b);
        assertThat(fixed.parse(a + "  leeme.pdf\n" + b + "  descargar\n").announcedSha256()).as("the URL's own file").isEqualTo(b);
        // no own file, no corte: its only zip
        assertThat(fixed.parse(a + "  leeme.pdf\n" + b + "  paquete.zip\n").announcedSha256()).as("the only zip").isEqualTo(b);
        // a list without the zip's line: its only zip's line, whose name the checksum filter then refuses as another file's
        assertThat(folder.parse(a + "  leeme.pdf\n" + b + "  otro.zip\n").checksumNames()).isEqualTo("otro.zip");
        assertThat(folder.parse(a + "  uno.zip\n" + b + "  dos.zip\n").announcedSha256()).as("none of them: the first").isEqualTo(a);
        assertThat(PackageUrlSource.checksumLine("\uFEFF" + a + "  x.zip\n").checksum()).isEqualTo(a);
    }

    /**
     * A checksum file at a fixed URL naming a file without a corte ({@code sha256sum paquete.zip} behind
     * {@code /descargar?archivo=latest.zip}) names no package, as one naming the URL's own file: the download names it
     * (its Content-Disposition), and the ledger knows it by checksum. A name with a corte stays the package's; a
     * folder's checksum file (no corte pattern given) keeps its name, which the checksum filter compares.
     */
    @Test
    void aFixedUrlsChecksumFileNamingAFileWithoutACorteNamesNoPackage() {
        CorteParser corte = new CorteParser(".*_(?<date>\\d{8})_(?<time>\\d{4})\\.zip", java.time.ZoneId.of("America/Mexico_City"));
        PackageUrlSource fixed = new PackageUrlSource(URI.create("https://prep.example.mx/descargar?archivo=latest.zip"), null, null,
                corte::fromPackageName);
        String hex = "0123456789abcdef".repeat(4);
        PackageOffer unnamed = fixed.parse(hex + "  paquete.zip\n");
        assertThat(unnamed.packageName()).isNull();
        assertThat(unnamed.checksumNames()).isNull();
        assertThat(unnamed.announcedSha256()).isEqualTo(hex);
        assertThat(fixed.parse(hex + "  PREP2024_JAL_20240602_2000.zip\n").packageName()).isEqualTo("PREP2024_JAL_20240602_2000.zip");
        assertThat(sidecar.parse(hex + "  paquete.zip\n").packageName()).isEqualTo("paquete.zip");
    }

    /**
     * A sidecar without a name: of the Content-Disposition, the URL that answered and the URL asked, the first that names
     * a corte, made safe as the sources make theirs, never dropped for a space.
     */
    @Test
    void aNameFromTheAnswerIsTheFirstThatNamesACorteMadeSafeNotDropped() {
        PackageOffer unnamed = new PackageOffer(null, "x", null, URI.create("https://prep.example/latest.zip"), null, null);
        CorteParser corte = new CorteParser(".*_(?<date>\\d{8})_(?<time>\\d{4})\\.zip", java.time.ZoneId.of("America/Mexico_City"));
        java.util.function.Predicate<String> namesACorte = n -> corte.fromPackageName(n).isPresent();
        URI latest = URI.create("https://prep.example/latest.zip");
        assertThat(PackageDownloader.packageName(unnamed, Optional.of("attachment; filename=\"PREP JAL 20240602_2000.zip\""), latest, latest,
                namesACorte)).isEqualTo("PREP_JAL_20240602_2000.zip");
        assertThat(PackageDownloader.packageName(unnamed, Optional.empty(), URI.create("https://prep.example/PREP%20JAL_20240602_2000.zip"),
                URI.create("https://prep.example/PREP%20JAL_20240602_2000.zip"), namesACorte)).isEqualTo("PREP_JAL_20240602_2000.zip");
        // the URL's own name tells the corte, a Content-Disposition without one does not take its place
        URI named = URI.create("https://prep.example/PREP_20240602_2000.zip");
        assertThat(PackageDownloader.packageName(unnamed, Optional.of("attachment; filename=\"paquete de difusión.zip\""), named, named,
                namesACorte)).isEqualTo("PREP_20240602_2000.zip");
        // latest.zip redirected to the corte's own name
        assertThat(PackageDownloader.packageName(unnamed, Optional.empty(), latest, URI.create("https://cdn.example/prep/PREP_20240602_2020.zip"),
                namesACorte)).isEqualTo("PREP_20240602_2020.zip");
        // a URL configured once, named after an old corte, redirected to the newest corte's name: the bytes are the newest
        assertThat(PackageDownloader.packageName(unnamed, Optional.empty(), URI.create("https://prep.example/PREP_20240602_2000.zip"),
                URI.create("https://cdn.example/prep/PREP_20240602_2240.zip"), namesACorte)).isEqualTo("PREP_20240602_2240.zip");
        // ... and redirected to a name without a corte: the name asked still tells it
        assertThat(PackageDownloader.packageName(unnamed, Optional.empty(), URI.create("https://prep.example/PREP_20240602_2000.zip"),
                URI.create("https://cdn.example/blob/8f3a91"), namesACorte)).isEqualTo("PREP_20240602_2000.zip");
        // RFC 5987's filename*, decoded, before the plain filename
        assertThat(PackageDownloader.packageName(unnamed, Optional.of("attachment; filename=\"latest.zip\"; filename*=UTF-8''PREP%20JAL_20240602_2040.zip"),
                latest, latest, namesACorte)).isEqualTo("PREP_JAL_20240602_2040.zip");
        // a quoted filename*, and a broken one that does not hide the plain filename
        assertThat(PackageDownloader.packageName(unnamed, Optional.of("attachment; filename*=\"UTF-8''PREP+JAL_20240602_2100.zip\""),
                latest, latest, namesACorte)).isEqualTo("PREP_JAL_20240602_2100.zip");
        assertThat(PackageDownloader.packageName(unnamed, Optional.of("attachment; filename*=UTF-8''%20; filename=\"PREP_20240602_2120.zip\""),
                latest, latest, namesACorte)).isEqualTo("PREP_20240602_2120.zip");
        assertThat(PackageDownloader.packageName(unnamed, Optional.of("attachment; filename*=x-unknown''PREP_20240602_2140.zip; filename=PREP_20240602_2140.zip"),
                latest, latest, namesACorte)).isEqualTo("PREP_20240602_2140.zip");
        // no corte anywhere: the first plain name, else the first made safe, else a name of its own
        assertThat(PackageDownloader.packageName(unnamed, Optional.of("attachment; filename=\"..zip\""), latest, latest, namesACorte))
                .isEqualTo("latest.zip");
        assertThat(PackageDownloader.packageName(unnamed, Optional.empty(), URI.create("https://prep.example/"), URI.create("https://prep.example/"),
                namesACorte)).isEqualTo(PackageNames.UNNAMED);
    }

    /** A URL as logs and reports show it: never its query (a presigned signature) nor its user info, parsed or not. */
    @Test
    void aUrlIsShownWithoutItsQueryOrUserInfo() {
        assertThat(SecureHttp.shown(URI.create("https://prep.example/p.zip?X-Amz-Signature=s3cr3t"))).isEqualTo("https://prep.example/p.zip?…");
        assertThat(SecureHttp.shown(URI.create("https://user:pw@prep.example:8443/p.zip"))).isEqualTo("https://prep.example:8443/p.zip");
        assertThat(SecureHttp.shown(URI.create("https:prep.example/p.zip?X-Amz-Signature=s3cr3t"))).isEqualTo("https:prep.example/p.zip?…");
        assertThat(SecureHttp.shown(URI.create("https://prep.example/p.zip"))).isEqualTo("https://prep.example/p.zip");
        // a host the URI class cannot read (an underscore): its user info is no more shown
        assertThat(SecureHttp.shown(URI.create("https://user:pw@prep_jal.example.org/x.zip"))).isEqualTo("https://prep_jal.example.org/x.zip");
        // nor a URL that does not parse, as a manifest's refusal names it: the user info was in the poll's WARN
        assertThat(SecureHttp.shown("https://u:p@ss@cdn.example.mx/x y.zip?sig=s3cr3t")).isEqualTo("https://cdn.example.mx/x y.zip?…");
        assertThat(SecureHttp.shown("x y.zip")).isEqualTo("x y.zip");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> manifest.parse(
                "{\"package\":\"p_20240602_2000.zip\",\"sha256\":\"x\",\"url\":\"https://u:s3cr3t@cdn.example.mx/x y.zip?sig=s3cr3t\"}"))
                .hasMessageContaining("is not a valid URL: https://cdn.example.mx/x y.zip?…").hasMessageNotContaining("s3cr3t");
    }

    @Test
    void onlyForwardSecretStrongSuitesAreOffered() {
        assertThat(SecureHttp.isStrong("TLS_AES_128_GCM_SHA256")).isTrue();
        assertThat(SecureHttp.isStrong("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")).isTrue();
        assertThat(SecureHttp.isStrong("TLS_RSA_WITH_AES_256_GCM_SHA384")).isFalse();
        // static ECDH and DH: the server's certificate key agrees the keys, so recorded traffic opens with it later
        assertThat(SecureHttp.isStrong("TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384")).isFalse();
        assertThat(SecureHttp.isStrong("TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256")).isFalse();
        assertThat(SecureHttp.isStrong("TLS_DH_RSA_WITH_AES_128_GCM_SHA256")).isFalse();
        assertThat(SecureHttp.isStrong("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384")).isTrue();
        assertThat(SecureHttp.isStrong("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256")).isTrue();
        assertThat(SecureHttp.isStrong("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA")).isFalse();
        assertThat(SecureHttp.isStrong("TLS_ECDH_anon_WITH_AES_128_CBC_SHA")).isFalse();
        assertThat(SecureHttp.isStrong("TLS_ECDHE_ECDSA_WITH_NULL_SHA")).isFalse();
        assertThat(SecureHttp.isStrong("SSL_RSA_EXPORT_WITH_RC4_40_MD5")).isFalse();
    }
}
