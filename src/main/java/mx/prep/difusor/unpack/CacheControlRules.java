package mx.prep.difusor.unpack;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Cache-Control chosen by path rules: {@code glob=value;glob=value;...}, first match wins. In a glob, {@code **}
 * matches across directories ({@code **}{@code /} also matches no directory), {@code *} and {@code ?} stay within
 * one. A path no rule matches gets no Cache-Control.
 */
public final class CacheControlRules {

    /**
     * A rule; {@code head} and {@code tail} are the glob's literal text before its first and after its last wildcard.
     * Every path the pattern matches starts with the one and ends with the other, so most paths are ruled out
     * without running the pattern (tens of thousands of paths per package).
     */
    private record Rule(String glob, Pattern pattern, String value, String head, String tail) {

        boolean matches(String path) {
            return path.startsWith(head) && path.endsWith(tail) && pattern.matcher(path).matches();
        }
    }

    private final List<Rule> rules = new ArrayList<>();

    public CacheControlRules(String spec) {
        if (spec == null) {
            return;
        }
        for (String part : spec.split(";")) {
            if (part.isBlank()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("a Cache-Control rule is glob=value, not '" + part.strip() + "'");
            }
            String glob = part.substring(0, eq).strip();
            int first = firstWildcard(glob);
            int last = lastWildcard(glob);
            rules.add(new Rule(glob, Pattern.compile(toRegex(glob)), part.substring(eq + 1).strip(),
                    first < 0 ? glob : glob.substring(0, first), last < 0 ? glob : glob.substring(last + 1)));
        }
    }

    /** @return the Cache-Control for a site path, or null */
    public String forPath(String path) {
        for (Rule r : rules) {
            if (r.matches(path)) {
                return r.value();
            }
        }
        return null;
    }

    private static int firstWildcard(String glob) {
        for (int i = 0; i < glob.length(); i++) {
            if (glob.charAt(i) == '*' || glob.charAt(i) == '?') {
                return i;
            }
        }
        return -1;
    }

    private static int lastWildcard(String glob) {
        for (int i = glob.length() - 1; i >= 0; i--) {
            if (glob.charAt(i) == '*' || glob.charAt(i) == '?') {
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
            } else {
                re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return re.toString();
    }
}
