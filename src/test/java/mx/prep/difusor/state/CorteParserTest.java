package mx.prep.difusor.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.LocalDateTime;

import org.junit.jupiter.api.Test;

class CorteParserTest {

    private final CorteParser defaults = new CorteParser(".*_(?<date>\\d{8})_(?<time>\\d{4})\\.zip", java.time.ZoneId.of("America/Mexico_City"));

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
        // days that do not exist are no corte (the lenient reading made them 30 June and 29 February: other cortes)
        assertThat(defaults.fromPackageName("PREP_20240631_2040.zip")).isEmpty();
        assertThat(defaults.fromPackageName("PREP_20240230_2040.zip")).isEmpty();
        assertThat(defaults.fromPackageName("PREP_20240602_2401.zip")).isEmpty();
    }

    /** A day's last corte named after its end, 24:00, is the next day's 00:00, as the manifest's form reads it too. */
    @Test
    void midnightNamedAsTheEndOfTheDayIsTheNextDaysFirstMinute() {
        Corte midnight = new Corte(LocalDateTime.of(2024, 6, 3, 0, 0));
        assertThat(defaults.fromPackageName("PREP2024_JAL_20240602_2400.zip")).contains(midnight);
        assertThat(defaults.fromPackageName("PREP2024_JAL_20240602_2400.zip").get().isNewerThan(Corte.parse("20240602_2340"))).isTrue();
        assertThat(Corte.parse("20240602_2400")).isEqualTo(midnight);
        assertThat(Corte.parse("2024-06-02 24:00")).isEqualTo(midnight);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Corte.parse("20240631_2040")).isInstanceOf(IllegalArgumentException.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Corte.parse("2024-06-31 20:40")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aPatternWithoutTheNamedGroupsIsRefusedAtStartUp() {
        assertThatThrownBy(() -> new CorteParser(".*_(\\d{8})_(\\d{4})\\.zip", java.time.ZoneId.of("America/Mexico_City"))).hasMessageContaining("named groups");
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

    /**
     * A manifest may write its corte with seconds, or with its offset: the one form that cannot be misread, from a
     * source whose clock is in UTC. Both used to be unreadable: a package named without a corte was refused NO_CORTE.
     */
    @Test
    void aCorteAnnouncedWithSecondsOrWithItsOffsetIsReadInTheInstitutesZone() {
        Corte corte = new Corte(LocalDateTime.of(2024, 6, 2, 22, 20));
        assertThat(defaults.announced("2024-06-02 22:20:00")).isEqualTo(corte);
        assertThat(defaults.announced("2024-06-02T22:20:00-06:00")).isEqualTo(corte);
        assertThat(defaults.announced("2024-06-02 22:20-06:00")).isEqualTo(corte);
        assertThat(defaults.announced("2024-06-03T04:20:00Z")).isEqualTo(corte);
        assertThat(defaults.announced("20240602_2220")).isEqualTo(corte);
        assertThatThrownBy(() -> defaults.announced("2024-06-02 22:20:00 CST")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> defaults.announced("2024-06-31T22:20:00-06:00")).isInstanceOf(IllegalArgumentException.class);
        // the day's last corte named after its end, with its offset, as ISO-8601 allows
        Corte midnight = new Corte(LocalDateTime.of(2024, 6, 3, 0, 0));
        assertThat(defaults.announced("2024-06-02T24:00-06:00")).isEqualTo(midnight);
        assertThat(defaults.announced("2024-06-02T24:00:00-06:00")).isEqualTo(midnight);
        assertThat(defaults.announced("2024-06-02 24:00:00Z")).isEqualTo(new Corte(LocalDateTime.of(2024, 6, 2, 18, 0)));
        assertThatThrownBy(() -> defaults.announced("2024-06-31T24:00-06:00")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> defaults.announced("2024-06-02T24:01-06:00")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> defaults.announced("2024-06-02T24:00+19:00")).isInstanceOf(IllegalArgumentException.class);
    }
}
