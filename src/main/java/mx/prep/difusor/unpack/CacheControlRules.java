package mx.prep.difusor.unpack;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Cache-Control chosen by path rules: {@code glob=value;glob=value;...}, first match wins ({@link SiteGlob}). A path
 * no rule matches gets no Cache-Control. A file's extension, and a rule's, are matched in lower case, as its
 * Content-Type is chosen: {@code casilla-0a1b2c3d.JSON} is a result (30 s), not a hashed asset kept for a year.
 */
public final class CacheControlRules {

    private record Rule(SiteGlob glob, String value) {
    }

    private final List<Rule> rules = new ArrayList<>();
    private final StringBuilder asApplied = new StringBuilder();

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
            // the rule's extension in lower case too, as paths are matched: **/*.JSON still means the results
            String glob = withLowerCaseExtension(part.substring(0, eq).strip());
            rules.add(new Rule(new SiteGlob(glob), part.substring(eq + 1).strip()));
            asApplied.append(glob).append('=').append(part.substring(eq + 1).strip()).append('\n');
        }
    }

    /**
     * Which headers this difusor puts on site files: a digest of its Cache-Control rules and of the Content-Types by
     * extension. A publication cut short under other rules left files whose headers no listing shows (the state keeps
     * this beside its "publishing" marker, and the next plan then uploads every file again).
     */
    public String fingerprint() {
        try {
            java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            sha.update(asApplied.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            sha.update(ContentTypes.asApplied().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(sha.digest(), 0, 16);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The longest a browser may keep a page or a result: CloudFront can be purged at each corte, browsers cannot. */
    public static final int MOST_SECONDS_FOR_PAGES_AND_RESULTS = 300;

    /**
     * Pages and results as a PREP site names them, at the root, one level down, deeper, and under hash-like names; a
     * page named .htm too (served as HTML and uploaded last like any page).
     */
    private static final List<String> PAGES_AND_RESULTS = List.of("index.html", "gubernatura/index.html",
            "diputaciones/distrito/01/seccion.html", "resultados.json", "data/gubernatura/distritos/01.json",
            "data/casillas/0a1b2c3d.json", "data/casillas/casilla-0a1b2c3d.json", "data/main-2YQ6UXQ4.json",
            "PREP_GUB_2024.csv", "csv/diputaciones/PREP_DIP_MR_2024.csv", "INDEX.HTML", "data/casillas/casilla-0a1b2c3d.JSON",
            "PREP_PRES_2024.CSV", "gubernatura/index.htm");

    private static final Pattern MAX_AGE = Pattern.compile("(?:^|[,\\s])max-age\\s*=\\s*\"?(\\d+)");
    private static final Pattern S_MAXAGE = Pattern.compile("(?:^|[,\\s])s-maxage\\s*=\\s*\"?(\\d+)");
    private static final Pattern STALE_WHILE_REVALIDATE = Pattern.compile("(?:^|[,\\s])stale-while-revalidate\\s*=\\s*\"?(\\d+)");

    /**
     * Refuses rules under which a browser would keep a page or a result (HTML, JSON, CSV) longer than
     * {@value #MOST_SECONDS_FOR_PAGES_AND_RESULTS} s (max-age plus stale-while-revalidate), marked immutable, or for as long as it likes (no Cache-Control:
     * browsers then guess from Last-Modified, CloudFront keeps it a day). Every corte changes them, and a visitor would
     * go on seeing the numbers of an earlier one. The same bound holds for an s-maxage (CloudFront's): a corte whose
     * invalidation failed is published all the same. A start-time check on typical paths: it catches a rule that comes
     * before the pages' own ({@code **=immutable} first) or that covers the root page alone ({@code *.html}).
     */
    public void requireFreshPagesAndResults() {
        for (String path : PAGES_AND_RESULTS) {
            String value = forPath(path);
            String problem = problem(value);
            if (problem != null) {
                throw new IllegalArgumentException("difusor.site.cache-control: a page or result such as " + path + " would get "
                        + (value == null ? "no Cache-Control" : "'" + value + "'") + " (" + problem + "); pages and results change "
                        + "at every corte, browsers cannot be purged and the CDN's purge may fail: give them no-cache or a max-age "
                        + "(and any s-maxage) of at most " + MOST_SECONDS_FOR_PAGES_AND_RESULTS + " s, in a rule before any longer one");
            }
        }
    }

    private static String problem(String value) {
        if (value == null) {
            return "browsers and CloudFront would choose how long to keep it";
        }
        String v = value.toLowerCase(Locale.ROOT);
        if (v.contains("no-cache") || v.contains("no-store")) {
            return null;
        }
        if (v.contains("immutable")) {
            return "immutable";
        }
        Matcher m = MAX_AGE.matcher(v);
        if (!m.find()) {
            return "no max-age";
        }
        // a browser shows a copy stale by up to stale-while-revalidate once more before it fetches the new one
        Matcher swr = STALE_WHILE_REVALIDATE.matcher(v);
        long stale = swr.find() ? seconds(swr.group(1)) : 0;
        long seconds = seconds(m.group(1)) + stale;
        if (seconds > MOST_SECONDS_FOR_PAGES_AND_RESULTS) {
            return "kept up to " + seconds + " s";
        }
        // CloudFront keeps it for s-maxage instead: purged by each corte's invalidation, but a corte whose invalidation
        // CloudFront refused or never took (after every retry) is recorded all the same, and reaches the public only
        // as the edge's copy expires
        Matcher shared = S_MAXAGE.matcher(v);
        long atTheEdge = shared.find() ? seconds(shared.group(1)) + stale : 0;
        return atTheEdge > MOST_SECONDS_FOR_PAGES_AND_RESULTS ? "kept at the CDN's edge up to " + atTheEdge + " s" : null;
    }

    private static long seconds(String digits) {
        return Long.parseLong(digits.length() > 12 ? "999999999999" : digits);
    }

    /** @return the Cache-Control for a site path, or null */
    public String forPath(String path) {
        String matched = withLowerCaseExtension(path);
        for (Rule r : rules) {
            if (r.glob().matches(matched)) {
                return r.value();
            }
        }
        return null;
    }

    /** Only the extension: the name keeps its case, which tells a bundler's base32 hash from hex ({@link SiteGlob#HASH}). */
    static String withLowerCaseExtension(String path) {
        int dot = path.lastIndexOf('.');
        if (dot < 0 || dot < path.lastIndexOf('/')) {
            return path;
        }
        return path.substring(0, dot) + path.substring(dot).toLowerCase(Locale.ROOT);
    }
}
