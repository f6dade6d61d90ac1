package mx.prep.difusor.unpack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CacheControlRulesTest {

    private final CacheControlRules rules = new CacheControlRules(
            "**/*.html=no-cache;data/**=public, max-age=30;assets/*.js=public, max-age=31536000, immutable;**=public, max-age=300");

    @Test
    void theFirstMatchingRuleWins() {
        assertThat(rules.forPath("index.html")).isEqualTo("no-cache");
        assertThat(rules.forPath("gubernatura/index.html")).isEqualTo("no-cache");
        assertThat(rules.forPath("data/gubernatura/distritos/01.json")).isEqualTo("public, max-age=30");
        assertThat(rules.forPath("assets/app.1a2b3c4d.js")).isEqualTo("public, max-age=31536000, immutable");
        assertThat(rules.forPath("assets/img/logo.png")).isEqualTo("public, max-age=300");
    }

    /** The service's own default rules, on names a package may write in capitals: the extension decides, whatever its case. */
    @Test
    void anExtensionInCapitalsIsMatchedAsItsContentTypeIs() throws Exception {
        java.util.Properties defaults = new java.util.Properties();
        try (var in = java.nio.file.Files.newBufferedReader(java.nio.file.Path.of("application.properties"))) {
            defaults.load(in);
        }
        CacheControlRules service = new CacheControlRules(defaults.getProperty("difusor.site.cache-control"));
        assertThat(service.forPath("data/casillas/casilla-0a1b2c3d.JSON")).isEqualTo("public, max-age=30");
        assertThat(service.forPath("presidencia/INDEX.HTML")).isEqualTo("no-cache");
        assertThat(service.forPath("PREP_PRES_2024.Csv")).isEqualTo("public, max-age=30");
        // the hash keeps its case: base32 in capitals, with its extension in capitals too
        assertThat(service.forPath("assets/main-2YQ6UXQK.JS")).isEqualTo("public, max-age=31536000, immutable");
        assertThat(service.forPath("assets/app.0f3a9c1d.js")).isEqualTo("public, max-age=31536000, immutable");
        // a rule written with its extension in capitals means the same files
        assertThat(new CacheControlRules("**/*.JSON=no-store;**=public, max-age=300").forPath("data/x.json")).isEqualTo("no-store");
        // a dot in a folder's name is no extension
        assertThat(CacheControlRules.withLowerCaseExtension("v1.X/README")).isEqualTo("v1.X/README");
        service.requireFreshPagesAndResults();
    }

    /**
     * A line separator is no control character, so it may be in a site path; the globs' "." did not match it, and a page
     * under such a name went out with no Cache-Control at all, not even the last rule's.
     */
    @Test
    void aPathWithALineSeparatorInItIsMatchedLikeAnyOther() {
        CacheControlRules mixed = new CacheControlRules("**/*.html=no-cache;**=max-age=60");
        for (String odd : new String[] { "\u2028", "\u2029", "\u0085" }) {
            assertThat(mixed.forPath("a" + odd + "/index.html")).as("U+%04X", (int) odd.charAt(0)).isEqualTo("no-cache");
            assertThat(mixed.forPath("a" + odd + ".json")).as("U+%04X", (int) odd.charAt(0)).isEqualTo("max-age=60");
        }
    }

    @Test
    void aSingleStarStaysInOneDirectory() {
        CacheControlRules only = new CacheControlRules("assets/*.js=immutable");
        assertThat(only.forPath("assets/app.js")).isEqualTo("immutable");
        assertThat(only.forPath("assets/deep/app.js")).isNull();
        assertThat(only.forPath("assets/app.js.map")).isNull();
    }

    @Test
    void theLiteralHeadAndTailOfAGlobOnlyRuleOutPathsThePatternWouldRefuseToo() {
        String[] globs = { "**/*.html", "assets/**", "a*a", "data/*/resultados.json", "**", "*.csv", "index.html", "x?y/**/z.js",
                "**/*.{hash}.*", "main-{hash}.js", "{hash}", "a{hash}", "**/robots.txt", "**/index.html", "a/**/b.json", "**/" };
        String[] paths = { "index.html", "a", "aa", "aba", "a/a", "assets", "assets/", "assets/x/y.png", "data/gob/resultados.json",
                "data/gob/x/resultados.json", "tabla.csv", "d/tabla.csv", "xay/z.js", "xay/1/2/z.js", "xy/z.js", "index.htm",
                "app.0f3a9c1d.js", "x/app.0f3a9c1d.js", "main-2YQ6UXQK.js", "0f3a9c1d", "a0f3a9c1d", "app.20240602.js", "robots.txt",
                "x/robots.txt", "xrobots.txt", "gubernatura/index.html", "a/b.json", "a/x/b.json", "ab.json" };
        for (String glob : globs) {
            java.util.regex.Pattern pattern = java.util.regex.Pattern.compile(SiteGlob.toRegex(glob));
            CacheControlRules one = new CacheControlRules(glob + "=v");
            for (String path : paths) {
                assertThat(one.forPath(path)).as(glob + " on " + path).isEqualTo(pattern.matcher(path).matches() ? "v" : null);
            }
        }
    }

    /** The repo's default rules, as application.properties ships them. */
    private static CacheControlRules defaults() throws Exception {
        java.util.Properties p = new java.util.Properties();
        try (var in = java.nio.file.Files.newInputStream(java.nio.file.Path.of("application.properties"))) {
            p.load(in);
        }
        return new CacheControlRules(p.getProperty("difusor.site.cache-control"));
    }

    @Test
    void byDefaultOnlyAFileNamedByItsContentIsKeptForAYear() throws Exception {
        CacheControlRules rules = defaults();
        String year = "public, max-age=31536000, immutable";
        for (String hashed : new String[] { "assets/app.0f3a9c1d.js", "main.0f3a9c1d2b4e6f80.js", "styles.9b1e44c0a7d3f215.css",
                "main-2YQ6UXQK.js", "chunk-ABCD2345.js", "media/fondo.3e4f5a6b7c8d9e0f.mp4" }) {
            assertThat(rules.forPath(hashed)).as(hashed).isEqualTo(year);
        }
        // fixed names the institute may replace during the night (a wrong logo, a candidate's photo): five minutes at most
        for (String fixed : new String[] { "assets/img/logo-iepc.png", "assets/fonts/source-sans-regular.woff2", "assets/app.js",
                "assets/img/corte-20240602.png", "assets/img/mapa-DISTRITO.png", "assets/img/deadbeef.png", "assets/img/foto.12345678.png",
                "favicon.ico" }) {
            assertThat(rules.forPath(fixed)).as(fixed).isEqualTo("public, max-age=300");
        }
        assertThat(rules.forPath("data/casillas/casilla.0a1b2c3d.json")).isEqualTo("public, max-age=30");
        assertThat(rules.forPath("gubernatura/index.html")).isEqualTo("no-cache");
        // a page named .htm (or .HTM) is a page: it fell through to the five minutes of the fixed-name assets
        assertThat(rules.forPath("gubernatura/index.htm")).isEqualTo("no-cache");
        assertThat(rules.forPath("INDEX.HTM")).isEqualTo("no-cache");
        rules.requireFreshPagesAndResults();
    }

    @Test
    void rulesUnderWhichBrowsersWouldKeepPagesOrResultsAreRefused() {
        String[][] refused = {
                { "*.html=no-cache;**=public, max-age=31536000, immutable", "gubernatura/index.html" },
                { "**=public, max-age=3600", "index.html" },
                { "**/*.html=no-cache", "resultados.json" },
                { "**/*.html=no-cache;**/*.json=public;**=no-cache", "resultados.json" },
                { "**/*{hash}*=immutable;**=no-cache", "data/casillas/0a1b2c3d.json" },
                { "**/*.html=no-cache;**=public, max-age=\"600\"", "resultados.json" },
                { "**/*.csv=no-cache;**/*.json=no-cache;**/*.html=public, MAX-AGE=86400", "index.html" },
                { "**/*.html=no-cache;**=public, max-age=30, stale-while-revalidate=86400", "resultados.json" },
                // CloudFront keeps it a day, and a corte whose invalidation failed is published all the same
                { "**/*.html=no-cache;**=public, max-age=30, s-maxage=86400", "resultados.json" },
                { "**=public, max-age=30, s-maxage=290, stale-while-revalidate=30", "index.html" },
                // a page named .htm is a page: it was kept for a year under the pages' rule for .html alone
                { "**/*.html=no-cache;**/*.json=public, max-age=30;**/*.csv=public, max-age=30;**=public, max-age=31536000, immutable",
                        "gubernatura/index.htm" } };
        for (String[] r : refused) {
            assertThatThrownBy(() -> new CacheControlRules(r[0]).requireFreshPagesAndResults()).as(r[0])
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("difusor.site.cache-control").hasMessageContaining(r[1]);
        }
        for (String accepted : new String[] { "**=no-store", "**=public, max-age=30, s-maxage=300", "**=max-age=0",
                "**=public, max-age=30, stale-while-revalidate=30, stale-if-error=86400",
                "**/*.htm*=no-cache;**/*.json=public, max-age=30;**/*.csv=public, max-age=30;**=public, max-age=31536000, immutable" }) {
            new CacheControlRules(accepted).requireFreshPagesAndResults();
        }
    }

    /** "**" followed by a slash also matches no directory: a file at the site's root, as the glob's documentation says. */
    @Test
    void aDoubleStarAndSlashAlsoMatchesTheRoot() {
        CacheControlRules rules = new CacheControlRules("**/robots.txt=r;**/index.html=i");
        assertThat(rules.forPath("robots.txt")).isEqualTo("r");
        assertThat(rules.forPath("a/b/robots.txt")).isEqualTo("r");
        assertThat(rules.forPath("index.html")).isEqualTo("i");
        assertThat(rules.forPath("xrobots.txt")).isNull();
    }

    @Test
    void aRuleWithoutValueIsAConfigurationError() {
        assertThatThrownBy(() -> new CacheControlRules("**/*.html")).isInstanceOf(IllegalArgumentException.class);
    }
}
