package mx.prep.difusor.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.LocalDateTime;

import org.junit.jupiter.api.Test;

class CorteParserTest {

    private final CorteParser defaults = new CorteParser(".*_(?<date>\\d{8})_(?<time>\\d{4})\\.zip");

    @Test
    void theCorteComesFromThePackageName() {
        assertThat(defaults.fromPackageName("PREP2024_JAL_20240602_2040.zip"))
                .contains(new Corte(LocalDateTime.of(2024, 6, 2, 20, 40)));
    }

    @Test
    void namesWithoutAValidCorteHaveNone() {
        assertThat(defaults.fromPackageName("latest.zip")).isEmpty();
        assertThat(defaults.fromPackageName("PREP_20241302_2040.zip")).isEmpty();
        assertThat(defaults.fromPackageName("PREP_20240602_2561.zip")).isEmpty();
    }

    @Test
    void aPatternWithoutTheNamedGroupsIsRefusedAtStartUp() {
        assertThatThrownBy(() -> new CorteParser(".*_(\\d{8})_(\\d{4})\\.zip")).hasMessageContaining("named groups");
    }

    @Test
    void cortesAreOrderedAndParsedFromTheAcceptedForms() {
        Corte a = Corte.parse("20240602_2000");
        Corte b = Corte.parse("2024-06-02 20:20");
        assertThat(b.isNewerThan(a)).isTrue();
        assertThat(a.isNewerThan(a)).isFalse();
        assertThat(Corte.parse("2024-06-02T20:20:00")).isEqualTo(b);
        assertThat(a.isNewerThan(null)).isTrue();
    }
}
