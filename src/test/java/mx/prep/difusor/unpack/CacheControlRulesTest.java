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
    void aRuleWithoutValueIsAConfigurationError() {
        assertThatThrownBy(() -> new CacheControlRules("**/*.html")).isInstanceOf(IllegalArgumentException.class);
    }
}
