package mx.prep.difusor.unpack;

import java.util.ArrayList;
import java.util.List;

/**
 * Cache-Control chosen by path rules: {@code glob=value;glob=value;...}, first match wins ({@link SiteGlob}). A path
 * no rule matches gets no Cache-Control.
 */
public final class CacheControlRules {

    private record Rule(SiteGlob glob, String value) {
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
            rules.add(new Rule(new SiteGlob(part.substring(0, eq).strip()), part.substring(eq + 1).strip()));
        }
    }

    /** @return the Cache-Control for a site path, or null */
    public String forPath(String path) {
        for (Rule r : rules) {
            if (r.glob().matches(path)) {
                return r.value();
            }
        }
        return null;
    }
}
