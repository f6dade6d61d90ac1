package mx.prep.difusor.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;

import org.junit.jupiter.api.Test;

/** A corte later than now in the institute's zone, by more than the clock skew, is not believable. */
class CorteHorizonTest {

    /** 2024-06-02 20:30 in Mexico City (UTC-6, no daylight saving since 2022): election night. */
    private static final Clock NIGHT = Clock.fixed(Instant.parse("2024-06-03T02:30:00Z"), ZoneOffset.UTC);

    private final CorteHorizon horizon = new CorteHorizon(NIGHT, ZoneId.of("America/Mexico_City"), Duration.ofMinutes(30));

    @Test
    void cortesUpToTheToleranceAheadOfTheInstitutesClockAreBelievable() {
        assertThat(horizon.ahead(corte(2024, 6, 2, 20, 0))).isNull();
        assertThat(horizon.ahead(corte(2024, 6, 2, 20, 30))).isNull();
        assertThat(horizon.ahead(corte(2024, 6, 2, 21, 0))).isNull();
    }

    @Test
    void aCorteBeyondTheToleranceIsAheadByWhatItIs() {
        assertThat(horizon.ahead(corte(2024, 6, 2, 21, 1))).isEqualTo(Duration.ofMinutes(31));
    }

    /** The likeliest mistake: the institute's UTC time in the name. It is now in UTC, six hours ahead in Mexico City. */
    @Test
    void aCorteTypedInUtcIsAheadInTheInstitutesZone() {
        assertThat(horizon.ahead(corte(2024, 6, 3, 2, 30))).isEqualTo(Duration.ofHours(6));
    }

    /** The horizon follows the zone it is given: the same corte in UTC is now. */
    @Test
    void theHorizonIsTheClockInTheZoneNotTheClocksOwnZone() {
        CorteHorizon utc = new CorteHorizon(NIGHT, ZoneOffset.UTC, Duration.ofMinutes(30));
        assertThat(utc.ahead(corte(2024, 6, 3, 2, 30))).isNull();
        assertThat(new CorteHorizon(NIGHT.withZone(ZoneId.of("Asia/Tokyo")), ZoneId.of("America/Mexico_City"), Duration.ofMinutes(30))
                .ahead(corte(2024, 6, 2, 21, 1))).isEqualTo(Duration.ofMinutes(31));
    }

    private static Corte corte(int year, int month, int day, int hour, int minute) {
        return new Corte(LocalDateTime.of(year, month, day, hour, minute));
    }

    /**
     * A package made at 22:20 (its S3 object's Last-Modified) named 04:20 the next morning: ahead of the clock at 22:20,
     * and still ahead of itself at 04:00, when the clock has caught up with its name. A bucket keeps it all night, and a
     * restarted process read it then: it published 22:20's results as corte 04:20.
     */
    @Test
    void aPackageWhoseCorteIsLaterThanWhenItWasMadeIsAheadWhateverTheClockSays() throws Exception {
        Clock fourAm = Clock.fixed(Instant.parse("2024-06-03T10:00:00Z"), ZoneOffset.UTC);
        CorteHorizon morning = new CorteHorizon(fourAm, ZoneId.of("America/Mexico_City"), Duration.ofMinutes(30));
        Corte typedInUtc = corte(2024, 6, 3, 4, 20);
        Instant made = Instant.parse("2024-06-03T04:20:00Z");   // 22:20 on 2 June in Mexico City
        assertThat(morning.ahead(typedInUtc)).isNull();
        assertThat(morning.aheadOf(typedInUtc, made)).isEqualTo(Duration.ofHours(6));
        assertThat(morning.aheadOf(corte(2024, 6, 2, 22, 20), made)).isNull();

        mx.prep.difusor.PrepPackage pkg = new mx.prep.difusor.PrepPackage("PREP2024_JAL_20240603_0420.zip", null, null, typedInUtc,
                "s3://prep-incoming/paquetes/PREP2024_JAL_20240603_0420.zip", Instant.parse("2024-06-03T10:00:00Z"));
        CorteGate gate = new CorteGate(null, null, null, fourAm, morning);
        gate.requireCorte(pkg);   // nothing tells when it was made: the clock alone
        pkg.madeAt(made);
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> gate.requireCorte(pkg)))
                .isInstanceOf(mx.prep.difusor.PackageRejectedException.class)
                // its Last-Modified also in the corte's zone, side by side with the corte: 04:20 UTC is 22:20 there
                .hasMessageContaining("is 360 min later than when its source made it (2024-06-02 22:20:00 in America/Mexico_City, its Last-Modified"
                        + " 2024-06-03T04:20:00Z)");
    }

    /** 30 min and 0.4 s ahead with a tolerance of 30 min is refused, and the refusal says 31 min, not "30 min ahead". */
    @Test
    void theRefusalRoundsTheMinutesAheadUp() {
        Clock night = Clock.fixed(Instant.parse("2024-06-03T03:00:00Z"), ZoneOffset.UTC);   // 21:00 in Mexico City
        CorteGate gate = new CorteGate(null, null, null, night, new CorteHorizon(Clock.offset(night, Duration.ofMillis(-400)),
                ZoneId.of("America/Mexico_City"), Duration.ofMinutes(30)));
        mx.prep.difusor.PrepPackage pkg = new mx.prep.difusor.PrepPackage("PREP2024_JAL_20240602_2130.zip", null, null, corte(2024, 6, 2, 21, 30),
                "https://prep.iepcjalisco.mx/paquete", Instant.parse("2024-06-03T03:00:00Z"));
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> gate.requireCorte(pkg)))
                .isInstanceOf(mx.prep.difusor.PackageRejectedException.class).hasMessageContaining("is 31 min ahead of the clock");
    }

    /** A JDK still applying Mexico's abolished summer time would read every corte an hour off the clock: no start. */
    @Test
    void aJdkWithOldTimeZoneRulesForMexicoDoesNotStart() {
        CorteHorizon.requireCurrentRules("America/Mexico_City", ZoneOffset.ofHours(-6), java.time.LocalDate.parse("2024-06-02"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CorteHorizon.requireCurrentRules("America/Mexico_City", ZoneOffset.ofHours(-5),
                java.time.LocalDate.parse("2024-06-02"))).isInstanceOf(IllegalStateException.class).hasMessageContaining("17.0.6");
        CorteHorizon.requireCurrentRules("America/Tijuana", ZoneOffset.ofHours(-7), java.time.LocalDate.parse("2024-06-02"));
        // the zone's old name, and the other zones the law changed (Sinaloa keeps UTC-7)
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CorteHorizon.requireCurrentRules("Mexico/General", ZoneOffset.ofHours(-5),
                java.time.LocalDate.parse("2024-06-02"))).isInstanceOf(IllegalStateException.class).hasMessageContaining("UTC-06:00 all year");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CorteHorizon.requireCurrentRules("America/Mazatlan", ZoneOffset.ofHours(-6),
                java.time.LocalDate.parse("2024-06-02"))).isInstanceOf(IllegalStateException.class).hasMessageContaining("UTC-07:00 all year");
        // this JDK's own rules pass, this year and on the 2024 election's day, for every zone of the law
        for (String zone : java.util.List.of("America/Mexico_City", "Mexico/General", "America/Monterrey", "America/Merida",
                "America/Bahia_Banderas", "America/Chihuahua", "America/Mazatlan", "Mexico/BajaSur", "America/Tijuana", "America/Cancun")) {
            CorteHorizon.requireCurrentRules(ZoneId.of(zone), java.time.LocalDate.now().getYear());
            CorteHorizon.requireCurrentRules(ZoneId.of(zone), 2024);
        }
    }
}
