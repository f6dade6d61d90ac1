package mx.prep.difusor.source;

import java.text.Normalizer;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A package's name, made safe once where a source reads it, so the ledger, the history, the quarantine and the
 * published state all key the package alike. A name the downloader had to replace later (a space, an accent,
 * {@code ./} in a sha256sum line) was known by one name to "is it new?" and by another to everything that settles
 * it: fetched again at every poll, or every corte after the first refused as a reused name.
 */
public final class PackageNames {

    /**
     * Letters, digits, '.', '_' and '-', never two dots in a row: an S3 key, a file name and a log field as they are
     * (the quarantine refuses to send anything named with "..").
     */
    public static final Pattern SAFE = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9_-]|\\.(?!\\.)){0,200}\\.zip");

    /** The name of a package whose own name leaves nothing safe ("..zip"): it has no corte, and is refused as such. */
    public static final String UNNAMED = "unnamed-package.zip";

    private PackageNames() {
    }

    /**
     * @return the name as it is when already safe; else its last path segment, accents dropped, every other unsafe
     *         character as '_', and a lower-case {@code .zip}; null when nothing is left
     */
    public static String safe(String raw) {
        if (raw == null) {
            return null;
        }
        String base = raw.strip();
        base = base.substring(Math.max(base.lastIndexOf('/'), base.lastIndexOf('\\')) + 1);
        if (SAFE.matcher(base).matches()) {
            return base;
        }
        String s = Normalizer.normalize(base, Normalizer.Form.NFKD).replaceAll("\\p{M}", "").replaceAll("[^A-Za-z0-9._-]", "_");
        if (s.toLowerCase(Locale.ROOT).endsWith(".zip")) {
            s = s.substring(0, s.length() - 4);
        }
        s = s.replaceAll("\\.{2,}", "_").replaceAll("^[._-]+", "");
        if (s.isEmpty()) {
            return null;
        }
        s = s.length() > 200 ? s.substring(0, 200) : s;
        return s.replaceAll("\\.$", "_") + ".zip";
    }

    /** @return {@link #safe}, or {@link #UNNAMED} when nothing is left of the name */
    public static String named(String raw) {
        String safe = safe(raw);
        return safe != null ? safe : UNNAMED;
    }
}
