package mx.prep.difusor.unpack;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import mx.prep.difusor.PackageRejectedException;
import mx.prep.difusor.RejectReason;

/**
 * Turns a zip entry name into a site path, or refuses it. A site path is relative to the site root, uses '/',
 * has no empty, "." or ".." segment, and fits in an S3 key with the site prefix in front.
 */
public final class SitePaths {

    /** S3's limit on a key, in UTF-8 bytes. */
    static final int MAX_KEY_BYTES = 1024;

    private SitePaths() {
    }

    public static String normalise(String entryName, String sitePrefix) throws PackageRejectedException {
        if (entryName == null || entryName.isEmpty()) {
            throw unsafe(entryName, "empty name");
        }
        boolean ascii = true;
        for (int i = 0; i < entryName.length(); i++) {
            char c = entryName.charAt(i);
            ascii &= c < 0x80;
            if (isControl(c)) {
                throw unsafe(entryName, "control character");
            }
            if (c == '\\') {
                throw unsafe(entryName, "backslash");
            }
        }
        if (entryName.startsWith("/")) {
            throw unsafe(entryName, "absolute path");
        }
        if (entryName.length() >= 2 && entryName.charAt(1) == ':' && Character.isLetter(entryName.charAt(0))) {
            throw unsafe(entryName, "drive letter");
        }
        String path = canonical(entryName) ? entryName : joinSegments(entryName);
        int keyBytes = ascii && isAscii(sitePrefix) ? sitePrefix.length() + path.length()
                : (sitePrefix + path).getBytes(StandardCharsets.UTF_8).length;
        if (keyBytes > MAX_KEY_BYTES) {
            throw unsafe(entryName, "longer than an S3 key allows");
        }
        return path;
    }

    /**
     * A name with a control character (or U+FFFE, U+FFFF) is no site path (nor can S3 list it in XML 1.0 unless
     * URL-encoded).
     */
    public static boolean hasControlCharacter(String name) {
        return name.chars().anyMatch(c -> isControl((char) c));
    }

    /**
     * A control character, or a noncharacter XML 1.0 cannot carry (U+FFFE, U+FFFF): valid UTF-8 in a zip name, but the
     * XML body of a DeleteObjects could not name the key, and once published it failed every later prune.
     */
    private static boolean isControl(char c) {
        return c < 0x20 || c == 0x7f || c == 0xFFFE || c == 0xFFFF;
    }

    /** Already a site path: no empty, "." or ".." segment (the common case, taken as it is). */
    private static boolean canonical(String name) {
        int start = 0;
        for (int i = 0; i <= name.length(); i++) {
            if (i == name.length() || name.charAt(i) == '/') {
                int length = i - start;
                if (length == 0 || (name.charAt(start) == '.' && (length == 1 || (length == 2 && name.charAt(start + 1) == '.')))) {
                    return false;
                }
                start = i + 1;
            }
        }
        return true;
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    private static String joinSegments(String entryName) throws PackageRejectedException {
        List<String> segments = new ArrayList<>();
        for (String segment : entryName.split("/", -1)) {
            if (segment.equals("..")) {
                throw unsafe(entryName, "'..' segment");
            }
            if (!segment.isEmpty() && !segment.equals(".")) {
                segments.add(segment);
            }
        }
        if (segments.isEmpty()) {
            throw unsafe(entryName, "no file name");
        }
        return String.join("/", segments);
    }

    private static PackageRejectedException unsafe(String name, String why) {
        // as a person reads it in the report and the log: controls, bidi overrides and quotes escaped, length capped
        String shown = name == null ? "null" : ZipStructure.label(name);
        return new PackageRejectedException(RejectReason.UNSAFE_ENTRY_NAME, "unsafe entry name '" + shown + "': " + why);
    }
}
