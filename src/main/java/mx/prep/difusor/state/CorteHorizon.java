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
}
