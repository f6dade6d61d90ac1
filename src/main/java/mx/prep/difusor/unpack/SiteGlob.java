package mx.prep.difusor.unpack;

import java.util.regex.Pattern;

/**
 * A glob on site paths, as the settings write them: {@code **} matches across directories ({@code **}{@code /} also
 * matches no directory), {@code *} and {@code ?} stay within one, and {@code {hash}} matches a bundler's content hash
 * (see {@link #HASH}). The glob's literal text before its first and after its last wildcard rules out most paths
 * without running the pattern (tens of thousands of paths per package).
 */
public final class SiteGlob {

    /** The token that stands for a content hash in a file name. */
    public static final String HASH = "{hash}";

    /**
     * A content hash as bundlers write it into file names: 8 or more lowercase hex digits (webpack, Angular's webpack
     * builds: {@code main.0f3a9c1d2b4e6f80.js}) or 8 characters of uppercase base32 (esbuild, Angular 17 and later:
     * {@code main-2YQ6UXQK.js}), with at least one letter and one digit, so a date ({@code 20240602}) or a word
     * ({@code DISTRITO}) is not taken for one. A hash that happens to be all digits is missed: its file is then cached
     * briefly, never too long.
     */
    private static final String HASH_REGEX = "(?:(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{8,}"
            + "|(?=[A-Z2-7]*[A-Z])(?=[A-Z2-7]*[2-7])[A-Z2-7]{8})";

    private final String glob;
    private final Pattern pattern;
    private final String head;
    private final String tail;

    public SiteGlob(String glob) {
        this.glob = glob;
        // DOTALL: a line separator (U+2028, U+0085) is no control character, so it can be in a site path
        this.pattern = Pattern.compile(toRegex(glob), Pattern.DOTALL);
        int first = firstWildcard(glob);
        int last = lastWildcard(glob);
        this.head = first < 0 ? glob : glob.substring(0, first);
        String after = last < 0 ? glob : glob.substring(last + 1);
        // the slash of "**/" is part of the wildcard: "**/robots.txt" matches "robots.txt" too
        this.tail = last > 0 && glob.startsWith("**/", last - 1) ? after.substring(1) : after;
    }

    public boolean matches(String path) {
        return path.startsWith(head) && path.endsWith(tail) && pattern.matcher(path).matches();
    }

    /** The globs of a setting's list, site paths as an operator writes them ({@code /robots.txt}: site paths have no '/' first). */
    public static java.util.List<SiteGlob> ofSetting(java.util.List<String> globs) {
        return globs.stream().map(g -> g.startsWith("/") ? g.substring(1) : g).map(SiteGlob::new).toList();
    }

    /** Whether one of {@code globs} matches {@code path}. */
    public static boolean any(java.util.List<SiteGlob> globs, String path) {
        for (SiteGlob glob : globs) {
            if (glob.matches(path)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return glob;
    }

    private static int firstWildcard(String glob) {
        for (int i = 0; i < glob.length(); i++) {
            if (glob.charAt(i) == '*' || glob.charAt(i) == '?' || glob.startsWith(HASH, i)) {
                return i;
            }
        }
        return -1;
    }

    private static int lastWildcard(String glob) {
        for (int i = glob.length() - 1; i >= 0; i--) {
            if (glob.charAt(i) == '*' || glob.charAt(i) == '?' || (i >= HASH.length() - 1 && glob.startsWith(HASH, i - HASH.length() + 1))) {
                return i;
            }
        }
        return -1;
    }

    static String toRegex(String glob) {
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            if (c == '*' && i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
                boolean slash = i + 2 < glob.length() && glob.charAt(i + 2) == '/';
                re.append(slash ? "(?:.*/)?" : ".*");
                i += slash ? 2 : 1;
            } else if (c == '*') {
                re.append("[^/]*");
            } else if (c == '?') {
                re.append("[^/]");
            } else if (glob.startsWith(HASH, i)) {
                re.append(HASH_REGEX);
                i += HASH.length() - 1;
            } else {
                re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return re.toString();
    }
}
