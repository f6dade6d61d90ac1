package mx.prep.difusor.publish;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/**
 * The CloudFront paths for a set of changed site paths: each path as {@code /path}, an {@code index.html} also as its
 * directory ({@code /} or {@code /dir/}), and, when that is more than the limit, the same collapsed into directory
 * wildcards as deep as the limit allows, {@code /*} as the last resort. A night of 72 cortes at 10 paths each stays
 * within CloudFront's 1,000 free paths a month. Never more than {@link #MAX_WILDCARDS} wildcards, whatever the limit:
 * CloudFront refuses a batch beyond its wildcard paths in progress, and it would be refused on every retry.
 */
public final class InvalidationPaths {

    /** CloudFront's limit of wildcard paths in progress per distribution: a batch with more can never be created. */
    public static final int MAX_WILDCARDS = 15;

    private InvalidationPaths() {
    }

    public static List<String> of(Collection<String> changedSitePaths, int maxPaths) {
        return of(changedSitePaths, maxPaths, "");
    }

    /**
     * @param pathPrefix where the distribution serves the site ({@code prep2024/}, or empty at its root): every path
     *                   starts with it, the last resort too ({@code /prep2024/*}: never the rest of a shared
     *                   distribution)
     */
    public static List<String> of(Collection<String> changedSitePaths, int maxPaths, String pathPrefix) {
        String under = "/" + encoded(pathPrefix);
        return relative(changedSitePaths, maxPaths).stream().map(p -> under + p.substring(1)).toList();
    }

    /** The last resort: every file the distribution serves of the site, and nothing outside it. */
    public static List<String> wholeSite(String pathPrefix) {
        return List.of("/" + encoded(pathPrefix) + "*");
    }

    private static List<String> relative(Collection<String> changedSitePaths, int maxPaths) {
        TreeSet<String> exact = new TreeSet<>();
        for (String raw : changedSitePaths) {
            int unmatchable = firstUnmatchable(raw);
            if (unmatchable >= 0) {
                // no path form of it matches what viewers request: its name up to there, as a wildcard
                exact.add("/" + encoded(raw.substring(0, unmatchable)) + "*");
                continue;
            }
            String path = encoded(raw);
            exact.add("/" + path);
            if (path.equals("index.html")) {
                exact.add("/");
            } else if (path.endsWith("/index.html")) {
                exact.add("/" + path.substring(0, path.length() - "index.html".length()));
            }
        }
        if (exact.size() <= maxPaths && wildcards(exact) <= MAX_WILDCARDS) {
            return new ArrayList<>(exact);
        }
        int deepest = exact.stream().mapToInt(p -> p.split("/", -1).length - 2).max().orElse(0);
        for (int depth = deepest; depth >= 1; depth--) {
            TreeSet<String> collapsed = collapse(exact, depth);
            // shallower wildcards are fewer: go up until both limits hold
            if (collapsed.size() <= maxPaths && wildcards(collapsed) <= MAX_WILDCARDS) {
                return new ArrayList<>(collapsed);
            }
        }
        return List.of("/*");
    }

    private static long wildcards(Collection<String> paths) {
        return paths.stream().filter(p -> p.endsWith("*")).count();
    }

    /**
     * Where a site path holds a character no invalidation path can name as viewers request it, or -1. Browsers send
     * {@code ~} and {@code *} as they are: CloudFront refuses a raw {@code ~} (the whole batch with it), takes
     * {@code %7E} without purging the file (aws/aws-sdk#525), and reads {@code *} as a wildcard, only at the end.
     */
    static int firstUnmatchable(String sitePath) {
        for (int i = 0; i < sitePath.length(); i++) {
            char c = sitePath.charAt(i);
            if (c == '~' || c == '*') {
                return i;
            }
        }
        return -1;
    }

    /**
     * CloudFront takes a path URL-encoded where it holds non-ASCII or RFC 1738 unsafe characters, and nothing else
     * encoded (or it does not match what viewers requested); a literal {@code ?} is encoded too, as browsers send it, so
     * it is no query. UTF-8, upper-case hex. (A {@code *} or {@code ~} of a site path never gets here: {@link #firstUnmatchable}.)
     */
    static String encoded(String sitePath) {
        StringBuilder out = new StringBuilder(sitePath.length() + 8);
        for (byte b : sitePath.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c > 0x20 && c < 0x7f && UNSAFE.indexOf(c) < 0) {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }

    /** RFC 1738's unsafe characters, plus the two CloudFront gives a meaning to in a path. */
    private static final String UNSAFE = "<>\"#%{}|\\^~[]`" + "*?";

    /** Paths inside a directory at least {@code depth} deep become that directory's wildcard. */
    static TreeSet<String> collapse(TreeSet<String> exact, int depth) {
        TreeSet<String> out = new TreeSet<>();
        for (String path : exact) {
            String[] segments = path.substring(1).split("/", -1);
            int directoryDepth = segments.length - 1;
            if (directoryDepth >= depth) {
                out.add("/" + String.join("/", java.util.Arrays.copyOf(segments, depth)) + "/*");
            } else {
                out.add(path);
            }
        }
        return out;
    }
}
