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

    @Test
    void aSingleStarStaysInOneDirectory() {
        CacheControlRules only = new CacheControlRules("assets/*.js=immutable");
        assertThat(only.forPath("assets/app.js")).isEqualTo("immutable");
        assertThat(only.forPath("assets/deep/app.js")).isNull();
        assertThat(only.forPath("assets/app.js.map")).isNull();
    }

    @Test
    void theLiteralHeadAndTailOfAGlobOnlyRuleOutPathsThePatternWouldRefuseToo() {
        String[] globs = { "**/*.html", "assets/**", "a*a", "data/*/resultados.json", "**", "*.csv", "index.html", "x?y/**/z.js" };
        String[] paths = { "index.html", "a", "aa", "aba", "a/a", "assets", "assets/", "assets/x/y.png", "data/gob/resultados.json",
                "data/gob/x/resultados.json", "tabla.csv", "d/tabla.csv", "xay/z.js", "xay/1/2/z.js", "xy/z.js", "index.htm" };
        for (String glob : globs) {
            java.util.regex.Pattern pattern = java.util.regex.Pattern.compile(SiteGlob.toRegex(glob));
            CacheControlRules one = new CacheControlRules(glob + "=v");
            for (String path : paths) {
                assertThat(one.forPath(path)).as(glob + " on " + path).isEqualTo(pattern.matcher(path).matches() ? "v" : null);
            }
        }
    }

    @Test
    void aRuleWithoutValueIsAConfigurationError() {
        assertThatThrownBy(() -> new CacheControlRules("**/*.html")).isInstanceOf(IllegalArgumentException.class);
    }
}
