package mx.prep.difusor.source;

import java.io.IOException;
import java.net.URI;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.state.Corte;

/**
 * Source kind "package-url": a zip at a fixed URL (e.g. {@code .../latest.zip}) with a sidecar
 * {@code <zip URL>.sha256} in sha256sum format ({@code <hex>  <file name>}). The sidecar is what we poll: it is
 * tiny, and its file name field names the package (otherwise the zip's Content-Disposition does).
 */
public final class PackageUrlSource {

    private static final Logger LOG = LoggerFactory.getLogger(PackageUrlSource.class);
    /** "SHA256 (name) = hex": sha256sum --tag, BSD's sha256, openssl dgst ("SHA2-256(name)= hex"). */
    private static final java.util.regex.Pattern SHA256_HEX = java.util.regex.Pattern.compile("[0-9a-fA-F]{64}");
    /** 64 hex digits on their own, or as 32 pairs with a space between (certutil before Windows 8). */
    private static final java.util.regex.Pattern LONE_SHA256 = java.util.regex.Pattern.compile(
            "(?<![0-9A-Za-z])(?:[0-9a-fA-F]{64}|(?:[0-9a-fA-F]{2} ){31}[0-9a-fA-F]{2})(?![0-9A-Za-z])");
    private static final java.util.regex.Pattern TAGGED_LINE = java.util.regex.Pattern.compile(
            "SHA(?:2-|-)?256\\s*\\((.*)\\)\\s*=\\s*(\\S+)", java.util.regex.Pattern.CASE_INSENSITIVE);
    private static final java.util.regex.Pattern STDIN_LINE = java.util.regex.Pattern.compile("\\(stdin\\)\\s*=\\s*(\\S+)",
            java.util.regex.Pattern.CASE_INSENSITIVE);

    private final URI packageUri;
    private final URI sidecarUri;
    private final ConditionalGet get;
    private final LastOffer lastOffer;
    /** The corte a file name holds (difusor.source.corte-pattern); null: any name is the package's. */
    private final java.util.function.Function<String, Optional<Corte>> corteOf;
    private volatile boolean emptySaid;
    private static final java.util.regex.Pattern HEX = java.util.regex.Pattern.compile("[0-9a-f]+");

    public PackageUrlSource(URI packageUri, ConditionalGet get) {
        this(packageUri, null, get, null);
    }

    /**
     * @param sidecarUri the checksum file (difusor.source.package-checksum-url); null: beside the zip ({@link #sidecarOf})
     * @param corteOf the corte a file name holds: a checksum file naming a file without one names no package
     */
    public PackageUrlSource(URI packageUri, URI sidecarUri, ConditionalGet get, java.util.function.Function<String, Optional<Corte>> corteOf) {
        this.corteOf = corteOf;
        this.packageUri = packageUri;
        // without a client only parse() is used (a folder's checksum file): there is nothing to poll
        this.sidecarUri = sidecarUri != null || get == null ? sidecarUri : sidecarOf(packageUri);
        this.get = get;
        this.lastOffer = new LastOffer("the checksum file " + SecureHttp.shown(this.sidecarUri));
        if (get != null) {
            LOG.info("package-url source: the zip {}, its checksum file {}", SecureHttp.shown(packageUri), SecureHttp.shown(this.sidecarUri));
        }
    }

    /**
     * {@code <zip path>.sha256} beside the zip, with the zip's query (a token the institute gave the difusores is theirs
     * for both files): appended to the whole URL, ".sha256" landed in the token, and the checksum file was never found.
     */
    static URI sidecarOf(URI zip) {
        if (zip.getRawAuthority() == null || zip.getRawPath() == null || zip.getRawPath().isEmpty()) {
            throw new IllegalArgumentException("difusor.source.package-url " + SecureHttp.shown(zip) + " has no host or no path: "
                    + "https://host/path/latest.zip");
        }
        // the raw parts, as they came: a decoded token re-encoded may no longer be the token
        return URI.create(zip.getScheme() + "://" + zip.getRawAuthority() + zip.getRawPath() + ".sha256"
                + (zip.getRawQuery() == null ? "" : "?" + zip.getRawQuery()));
    }

    /** @return the package on offer now, or null when the institute offers none yet */
    public PackageOffer poll() throws IOException, InterruptedException {
        Optional<String> sidecar = get.fetch(sidecarUri);
        if (sidecar.isEmpty()) {
            return lastOffer.unchangedOrGone(get.absent(sidecarUri));
        }
        PackageOffer offer = parse(sidecar.get());
        if (offer.announcedSha256() == null) {
            // an empty file (sha256sum failed on the institute's side): nothing to compare a download with, and nothing
            // to know it by, so every poll downloaded and refused the zip again. Nothing on offer (the source answers:
            // no failed poll, whose alert says the institute is unreachable), read whole again next time
            get.forget(sidecarUri);
            if (!emptySaid) {
                LOG.warn("the checksum file {} is empty: nothing on offer until it holds the package's SHA-256", SecureHttp.shown(sidecarUri));
                emptySaid = true;
            }
            return null;
        }
        emptySaid = false;
        String checksum = PackageDownloader.normalisedChecksum(offer.announcedSha256());
        if (!HEX.matcher(checksum).matches()) {
            // a page where the checksum file should be (a CDN or a web server answering a missing path with its site's
            // page, 200): no package is on offer. Taken for a checksum, it downloaded the zip at once and refused it for
            // good as CHECKSUM_INVALID under a name made of the page's words. A failed poll, as a page where the
            // manifest should be: read whole again next time, and every poll failing raises PrepInstituteUnreachable.
            // (Hex of another length, an MD5, is a checksum file all the same: its zip is refused as CHECKSUM_INVALID,
            // with a report that says what the institute published)
            get.forget(sidecarUri);
            throw new java.io.IOException(SecureHttp.shown(sidecarUri) + " is not a checksum file (it starts '" + start(offer.announcedSha256())
                    + "'): no package is on offer until it holds the package's SHA-256");
        }
        if (lastOffer.announces(offer)) {
            LOG.info("{}: announced by the checksum file {} (sha256 {})", offer, SecureHttp.shown(sidecarUri), offer.announcedSha256());
        }
        return offer;
    }

    /** The start of what came instead of a checksum, printable, for the log. */
    private static String start(String text) {
        String printable = text.replaceAll("[^\\x20-\\x7E]", "?");
        return printable.length() > 40 ? printable.substring(0, 40) + "…" : printable;
    }

    PackageOffer parse(String sidecar) {
        List<String> own = ownNames();
        ChecksumLine line = packagesLine(checksumLines(sidecar), own);
        String checksum = line.checksum();
        String named = line.name();
        if (named != null) {
            // "sha256sum ./dir/PREP….zip" names the file as the institute's shell saw it: its last segment is the name
            String raw = named;
            named = PackageNames.safe(raw);
            if (named != null && own.contains(named)) {
                // "sha256sum latest.zip": it names the fixed URL's own file, which is no corte's name: as a checksum
                // file that names no file, the download names the package (its Content-Disposition, where it redirected).
                // Taken for the package's name, every corte was refused without a corte
                named = null;
            } else if (named != null && corteOf != null && corteOf.apply(named).isEmpty()) {
                // "sha256sum paquete.zip" at a fixed URL (/descargar?archivo=latest.zip): a fixed name too, telling no corte
                // from another; taken for the package's name, every corte was refused without a corte all night
                named = null;
            } else if (named != null && !named.equals(raw)) {
                LOG.warn("package '{}' of the checksum file is named {} here (letters, digits, '.', '_', '-' and .zip only)", raw, named);
            }
        }
        return new PackageOffer(named, checksum, null, packageUri, null, named);
    }

    /**
     * The names the institute's shell may give the fixed URL's file, made safe: the last segment of its path, and a
     * zip its query names ({@code /descargar?archivo=latest.zip}).
     */
    private List<String> ownNames() {
        String path = packageUri.getPath() == null ? "" : packageUri.getPath();
        List<String> names = new java.util.ArrayList<>();
        names.add(PackageNames.safe(path.substring(path.lastIndexOf('/') + 1)));
        if (packageUri.getQuery() != null) {
            for (String parameter : packageUri.getQuery().split("&")) {
                String value = parameter.substring(parameter.indexOf('=') + 1);
                if (value.toLowerCase(java.util.Locale.ROOT).endsWith(".zip")) {
                    names.add(PackageNames.safe(value));
                }
            }
        }
        names.removeIf(java.util.Objects::isNull);
        return names;
    }

    /**
     * Of a checksum file listing several files ({@code sha256sum *.zip *.pdf > SHA256SUMS}, or a line per corte in any
     * order), the package's line: the URL's own file's; else, of the cortes it names, the newest's; else its only zip's;
     * else the first line. Only the first was read: a list starting with another file's line announced that file's
     * checksum for the package at every poll.
     */
    private ChecksumLine packagesLine(List<ChecksumLine> lines, List<String> own) {
        if (lines.isEmpty()) {
            return lineOf("");
        }
        java.util.function.Function<ChecksumLine, String> safe = l -> l.name() == null ? null : PackageNames.safe(l.name());
        Optional<ChecksumLine> ownLine = lines.stream().filter(l -> own.contains(safe.apply(l))).findFirst();
        if (ownLine.isPresent()) {
            return ownLine.get();
        }
        if (corteOf != null) {
            ChecksumLine newest = null;
            Corte newestCorte = null;
            for (ChecksumLine l : lines) {
                Optional<Corte> corte = safe.apply(l) == null ? Optional.empty() : corteOf.apply(safe.apply(l));
                if (corte.isPresent() && (newestCorte == null || !newestCorte.isNewerThan(corte.get()))) {
                    newest = l;
                    newestCorte = corte.get();
                }
            }
            if (newest != null) {
                return newest;
            }
        }
        List<ChecksumLine> zips = lines.stream().filter(l -> l.name() != null && l.name().toLowerCase(java.util.Locale.ROOT).endsWith(".zip")).toList();
        return zips.size() == 1 ? zips.get(0) : lines.get(0);
    }

    /** A checksum file's first line: the checksum, and the file it names as written (null when it names none). */
    record ChecksumLine(String checksum, String name) {
    }

    /**
     * Reads sha256sum's format (with or without '*', escaped or not), and the tagged one of sha256sum --tag, BSD and
     * openssl. A checksum made from standard input names no file ("-", "stdin", "(stdin)= …"): it names none here
     * either, instead of a file "-" or "stdin.zip" that every corte was then refused for.
     */
    static ChecksumLine checksumLine(String sidecar) {
        return checksumLine(sidecar, name -> false);
    }

    /**
     * Of a checksum file listing several files ({@code sha256sum *.zip *.pdf > SHA256SUMS}), the line naming the file
     * {@code wanted} takes; else the first line. Only the first was read: a list starting with another file's line
     * refused the package.
     */
    static ChecksumLine checksumLine(String sidecar, java.util.function.Predicate<String> wanted) {
        List<ChecksumLine> lines = checksumLines(sidecar);
        return lines.stream().filter(l -> l.name() != null && wanted.test(l.name())).findFirst()
                .orElse(lines.isEmpty() ? lineOf("") : lines.get(0));
    }

    /** A checksum file's lines, comment lines ({@code #}) skipped as {@code sha256sum -c} does. */
    private static List<ChecksumLine> checksumLines(String sidecar) {
        // a byte-order mark (Notepad, PowerShell's UTF8) is no part of the checksum
        String text = sidecar.startsWith("\uFEFF") ? sidecar.substring(1) : sidecar;
        List<ChecksumLine> lines = text.strip().lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#"))
                .map(PackageUrlSource::lineOf).toList();
        // the lines that are a checksum, when some are: words around them (a title, certutil's "SHA256 hash of X.zip:"
        // and "CertUtil: … completed successfully", a signature's "Hash: SHA256") are no file's line. Taken for the first
        // line, certutil's words were the checksum "SHA256", and the package was refused every corte
        List<ChecksumLine> checksums = lines.stream().filter(l -> l.checksum() != null && SHA256_HEX.matcher(l.checksum()).matches()).toList();
        boolean severalUnnamed = checksums.stream().map(l -> l.checksum().toLowerCase(java.util.Locale.ROOT)).distinct().count() > 1
                && checksums.stream().allMatch(l -> l.name() == null);
        if (severalUnnamed) {
            return lines;   // two files' checksums and no names (certutil run twice): none is known to be the package's
        }
        if (!checksums.isEmpty()) {
            return checksums;
        }
        // none: Get-FileHash writes the hash after a label ("Hash : …", or a table's column), certutil before Windows 8
        // as byte pairs: one SHA-256 in the file is the checksum, naming no file. Never in a page: an HTML answer served
        // for every path is no checksum file, whatever hex it holds
        if (text.contains("<")) {
            return lines;
        }
        java.util.Set<String> found = new java.util.LinkedHashSet<>();
        java.util.regex.Matcher hex = LONE_SHA256.matcher(text);
        while (hex.find()) {
            found.add(hex.group().replaceAll("\\s", "").toLowerCase(java.util.Locale.ROOT));
        }
        return found.size() == 1 ? List.of(new ChecksumLine(found.iterator().next(), null)) : lines;
    }

    /** One line of a checksum file, as GNU, BSD and openssl write it. */
    private static ChecksumLine lineOf(String line) {
        // GNU sha256sum starts a line with a backslash when it escaped the name (a backslash, a newline in it), tagged or not
        boolean escaped = line.startsWith("\\");
        if (escaped) {
            line = line.substring(1);
        }
        java.util.regex.Matcher tagged = TAGGED_LINE.matcher(line);
        if (tagged.matches()) {
            String named = escaped ? unescaped(tagged.group(1).strip()) : tagged.group(1).strip();
            return new ChecksumLine(tagged.group(2), fromStdin(named) ? null : named);
        }
        java.util.regex.Matcher stdin = STDIN_LINE.matcher(line);
        if (stdin.matches()) {
            return new ChecksumLine(stdin.group(1), null);   // openssl 1.1's "(stdin)= <hex>"
        }
        String[] fields = line.split("\\s+", 2);
        String checksum = fields[0].isEmpty() ? null : fields[0];
        if (fields.length < 2) {
            return new ChecksumLine(checksum, null);
        }
        String named = fields[1].strip();
        // sha256sum marks binary mode with a leading '*'
        named = named.startsWith("*") ? named.substring(1) : named;
        if (escaped) {
            named = unescaped(named);
        }
        return new ChecksumLine(checksum, fromStdin(named) ? null : named);
    }

    /** A name without GNU's escapes: a doubled backslash, backslash-n, backslash-r. */
    private static String unescaped(String name) {
        StringBuilder plain = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '\\' && i + 1 < name.length()) {
                char next = name.charAt(++i);
                plain.append(next == 'n' ? '\n' : next == 'r' ? '\r' : next);
            } else {
                plain.append(c);
            }
        }
        return plain.toString();
    }

    private static boolean fromStdin(String name) {
        return name.equals("-") || name.equalsIgnoreCase("stdin") || name.equalsIgnoreCase("(stdin)");
    }
}
