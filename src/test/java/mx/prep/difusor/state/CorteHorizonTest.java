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
}
