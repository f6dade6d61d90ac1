package mx.prep.difusor.state;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;

/** One cut-off of results, to the minute, in the institute's local time. Cortes are totally ordered. */
public record Corte(LocalDateTime at) implements Comparable<Corte> {

    private static final DateTimeFormatter COMPACT = DateTimeFormatter.ofPattern("yyyyMMdd_HHmm");
    private static final DateTimeFormatter SHOWN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm");

    public Corte {
        at = at.truncatedTo(ChronoUnit.MINUTES);
    }

    /** Parses {@code yyyyMMdd_HHmm}, {@code yyyy-MM-dd HH:mm} or ISO-8601 local date-time. */
    public static Corte parse(String text) {
        String t = text.trim();
        for (DateTimeFormatter f : new DateTimeFormatter[] { COMPACT, SHOWN, DateTimeFormatter.ISO_LOCAL_DATE_TIME }) {
            try {
                return new Corte(LocalDateTime.parse(t, f));
            } catch (DateTimeParseException ignored) {
                // try the next accepted form
            }
        }
        throw new IllegalArgumentException("not a corte: '" + text + "'");
    }

    public boolean isNewerThan(Corte other) {
        return other == null || at.isAfter(other.at);
    }

    public String compact() {
        return COMPACT.format(at);
    }

    @Override
    public int compareTo(Corte o) {
        return at.compareTo(o.at);
    }

    @Override
    public String toString() {
        return SHOWN.format(at);
    }
}
