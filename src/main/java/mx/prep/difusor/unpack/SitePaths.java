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
        for (int i = 0; i < entryName.length(); i++) {
            char c = entryName.charAt(i);
            if (c < 0x20 || c == 0x7f) {
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
        String path = String.join("/", segments);
        if ((sitePrefix + path).getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
            throw unsafe(entryName, "longer than an S3 key allows");
        }
        return path;
    }

    private static PackageRejectedException unsafe(String name, String why) {
        String shown = name == null ? "null" : name.replaceAll("\\p{Cntrl}", "?");
        if (shown.length() > 200) {
            shown = shown.substring(0, 200) + "…";
        }
        return new PackageRejectedException(RejectReason.UNSAFE_ENTRY_NAME, "unsafe entry name '" + shown + "': " + why);
    }
}
