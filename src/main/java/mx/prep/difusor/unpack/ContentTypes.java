package mx.prep.difusor.unpack;

import java.util.Locale;
import java.util.Map;

/** Content-Type by file extension, for what a PREP site holds; text types say UTF-8 explicitly. */
public final class ContentTypes {

    static final String DEFAULT = "application/octet-stream";

    private static final Map<String, String> BY_EXTENSION = Map.ofEntries(
            Map.entry("html", "text/html; charset=utf-8"),
            Map.entry("htm", "text/html; charset=utf-8"),
            Map.entry("js", "text/javascript; charset=utf-8"),
            Map.entry("mjs", "text/javascript; charset=utf-8"),
            Map.entry("css", "text/css; charset=utf-8"),
            Map.entry("json", "application/json"),
            Map.entry("map", "application/json"),
            Map.entry("webmanifest", "application/manifest+json"),
            Map.entry("csv", "text/csv; charset=utf-8"),
            Map.entry("txt", "text/plain; charset=utf-8"),
            Map.entry("xml", "application/xml"),
            Map.entry("svg", "image/svg+xml"),
            Map.entry("png", "image/png"),
            Map.entry("jpg", "image/jpeg"),
            Map.entry("jpeg", "image/jpeg"),
            Map.entry("gif", "image/gif"),
            Map.entry("webp", "image/webp"),
            Map.entry("ico", "image/x-icon"),
            Map.entry("woff", "font/woff"),
            Map.entry("woff2", "font/woff2"),
            Map.entry("ttf", "font/ttf"),
            Map.entry("otf", "font/otf"),
            Map.entry("pdf", "application/pdf"),
            Map.entry("zip", "application/zip"),
            // maps and media a results site may carry: as octet-stream a browser offers them as downloads and
            // WebAssembly's streaming compile refuses the module (topojson as JSON: CloudFront compresses that type)
            Map.entry("geojson", "application/geo+json"),
            Map.entry("topojson", "application/json"),
            Map.entry("wasm", "application/wasm"),
            Map.entry("avif", "image/avif"),
            Map.entry("mp4", "video/mp4"),
            Map.entry("webm", "video/webm"));

    private ContentTypes() {
    }

    /** Every extension with its type, in order: part of {@link CacheControlRules#fingerprint()}. */
    static String asApplied() {
        return new java.util.TreeMap<>(BY_EXTENSION).toString();
    }

    public static String of(String path) {
        String file = path.substring(path.lastIndexOf('/') + 1);
        int dot = file.lastIndexOf('.');
        if (dot < 0) {
            return DEFAULT;
        }
        return BY_EXTENSION.getOrDefault(file.substring(dot + 1).toLowerCase(Locale.ROOT), DEFAULT);
    }

    public static boolean isHtml(String path) {
        return of(path).startsWith("text/html");
    }
}
