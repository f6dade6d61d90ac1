package mx.prep.difusor.state;

import java.time.Clock;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneId;

/**
 * How far ahead of the clock a corte may be: a corte is a cut-off already taken when its package is released, so one
 * later than now (in the institute's zone) is a typo or a time in another zone. Published, it would make every real
 * corte after it look stale for the rest of the night; announced, it would hold the lag alert up for good.
 *
 * @param tolerance clock skew between the institute and this pod, and nothing more
 */
public record CorteHorizon(Clock clock, ZoneId zone, Duration tolerance) {

    /** @return how far beyond the horizon the corte lies, or null when it is believable */
    public Duration ahead(Corte corte) {
        return aheadOf(corte, clock.instant());
    }

    /**
     * @return how far beyond {@code at} (and the tolerance) the corte lies, or null: a package made at {@code at} cannot
     *         hold a later corte, whatever the clock says by the time it is read
     */
    public Duration aheadOf(Corte corte, java.time.Instant at) {
        LocalDateTime then = LocalDateTime.ofInstant(at, zone);
        Duration ahead = Duration.between(then, corte.at());
        return ahead.compareTo(tolerance) > 0 ? ahead : null;
    }

    /**
     * Mexico ended daylight saving time in October 2022. A JDK whose time-zone data predates that (17.0.5 and older)
     * puts Mexico City at UTC-5 each summer: this horizon, the lag and the logs' times would be an hour off the corte
     * names all night. Checked at start, on election day's date of this year.
     */
    public static void requireCurrentRules(ZoneId zone, int year) {
        java.time.LocalDate electionDay = java.time.LocalDate.of(year, 6, 2);
        requireCurrentRules(zone.getId(), zone.getRules().getOffset(electionDay.atTime(12, 0)), electionDay);
    }

    /**
     * The zones (and their old names, still accepted by the JDK) whose summer time the 2022 law ended, with the offset
     * they keep all year since: the border zones that follow the United States' summer time, and Quintana Roo and
     * Sonora, which had none, are not among them.
     */
    private static final java.util.Map<String, Integer> WITHOUT_SUMMER_TIME_SINCE_2022 = java.util.Map.of(
            "America/Mexico_City", -6, "Mexico/General", -6, "America/Monterrey", -6, "America/Merida", -6,
            "America/Bahia_Banderas", -6, "America/Chihuahua", -6, "America/Mazatlan", -7, "Mexico/BajaSur", -7);

    /** As {@link #requireCurrentRules(ZoneId, int)}, with the zone's offset on {@code day} as this JDK reads it. */
    public static void requireCurrentRules(String zoneId, java.time.ZoneOffset offset, java.time.LocalDate day) {
        Integer hours = WITHOUT_SUMMER_TIME_SINCE_2022.get(zoneId);
        if (hours != null && day.getYear() >= 2023 && offset.getTotalSeconds() != hours * 3600) {
            throw new IllegalStateException("this JDK's time-zone data puts " + zoneId + " at UTC" + offset + " on " + day
                    + ", but it keeps UTC" + java.time.ZoneOffset.ofHours(hours) + " all year since 2022: cortes, the lag and the"
                    + " logs' times would be an hour off; update the JDK (17.0.6 or newer)");
        }
    }
}
