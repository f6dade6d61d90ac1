package mx.prep.difusor.unpack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import mx.prep.difusor.PackageRejectedException;
import mx.prep.difusor.RejectReason;

class SitePathsTest {

    @Test
    void harmlessNamesAreNormalised() throws Exception {
        assertThat(SitePaths.normalise("index.html", "")).isEqualTo("index.html");
        assertThat(SitePaths.normalise("./data//gubernatura/entidad.json", "")).isEqualTo("data/gubernatura/entidad.json");
        assertThat(SitePaths.normalise("assets/./app.js", "site/")).isEqualTo("assets/app.js");
        assertThat(SitePaths.normalise("data/entidad.json/", "")).isEqualTo("data/entidad.json");
        // dots that are part of a name are names, not "." or ".." segments
        assertThat(SitePaths.normalise(".well-known/..security.txt", "")).isEqualTo(".well-known/..security.txt");
        assertThat(SitePaths.normalise("a/.../b", "")).isEqualTo("a/.../b");
    }

    @ParameterizedTest
    @ValueSource(strings = { "../index.html", "data/../../etc/passwd", "a/..", "/index.html", "C:/x.html", "c:x", "a\\b.html",
            "a\u0000b", "tab\there", "bell\u0007", "del\u007f", "", "./", "//",
            "datos/x\uFFFF.json", "datos/x\uFFFE.json" })
    void namesThatEscapeTheSiteRootOrCannotBeKeysAreRefused(String name) {
        assertThatThrownBy(() -> SitePaths.normalise(name, ""))
                .isInstanceOfSatisfying(PackageRejectedException.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.UNSAFE_ENTRY_NAME));
    }

    /** The refusal names the entry as a person must read it in the report: no raw control, bidi override or quote. */
    @Test
    void aRefusedNameIsShownWithItsControlsBidiOverridesAndQuotesEscaped() {
        assertThatThrownBy(() -> SitePaths.normalise("datos/\u202Enosj.exe'\u0085/../../x", ""))
                .isInstanceOf(PackageRejectedException.class)
                .hasMessageContaining("unsafe entry name 'datos/\\u202enosj.exe\\u0027\\u0085/../../x'")
                .hasMessageNotContaining("\u202E").hasMessageNotContaining("\u0085");
    }

    @Test
    void aNameLongerThanAnS3KeyIsRefusedCountingThePrefixAndUtf8Bytes() throws Exception {
        String longest = "a".repeat(1019) + ".html";
        assertThat(SitePaths.normalise(longest, "")).isEqualTo(longest);
        assertThatThrownBy(() -> SitePaths.normalise(longest, "p/")).isInstanceOf(PackageRejectedException.class);
        assertThatThrownBy(() -> SitePaths.normalise("ñ".repeat(513), "")).isInstanceOf(PackageRejectedException.class);
        // the prefix counts in UTF-8 bytes too: "ñ/" is three
        assertThat(SitePaths.normalise("x".repeat(1021), "ñ/")).hasSize(1021);
        assertThatThrownBy(() -> SitePaths.normalise("x".repeat(1022), "ñ/")).isInstanceOf(PackageRejectedException.class);
    }
}
