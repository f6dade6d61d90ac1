package mx.prep.difusor.state;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.format.ResolverStyle;
import java.time.temporal.ChronoUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One cut-off of results, to the minute, in the institute's local time. Cortes are totally ordered. */
public record Corte(LocalDateTime at) implements Comparable<Corte> {

    // strict: the default resolver reads 31 June as 30 June and 2024-02-30 as the 29th, another corte than the one named
    private static final DateTimeFormatter COMPACT = DateTimeFormatter.ofPattern("uuuuMMdd_HHmm").withResolverStyle(ResolverStyle.STRICT);
    private static final DateTimeFormatter SHOWN = DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm").withResolverStyle(ResolverStyle.STRICT);
    private static final DateTimeFormatter SHOWN_SECONDS = DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm:ss").withResolverStyle(ResolverStyle.STRICT);
    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("uuuuMMdd").withResolverStyle(ResolverStyle.STRICT);
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HHmm").withResolverStyle(ResolverStyle.STRICT);
    /** A day's last corte may be named after its end, 24:00: the next day's 00:00. */
    private static final Pattern END_OF_DAY = Pattern.compile("(\\d{4}-?\\d{2}-?\\d{2})[_ T]24:?00(?::00)?");
    /** The same with its offset ({@code 2024-06-02T24:00-06:00}): ISO-8601 allows it, java.time does not read it. */
    private static final Pattern END_OF_DAY_WITH_OFFSET = Pattern.compile("(\\d{4}-\\d{2}-\\d{2})[ T]24:00(?::00)?(Z|[+-]\\d{2}:\\d{2})");

    public Corte {
        at = at.truncatedTo(ChronoUnit.MINUTES);
    }

    /** Parses {@code yyyyMMdd_HHmm}, {@code yyyy-MM-dd HH:mm(:ss)} or ISO-8601 local date-time. */
    public static Corte parse(String text) {
        String t = text.trim();
        Matcher endOfDay = END_OF_DAY.matcher(t);
        if (endOfDay.matches()) {
            try {
                return new Corte(LocalDate.parse(endOfDay.group(1).replace("-", ""), DATE).plusDays(1).atStartOfDay());
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException("not a corte: '" + text + "'", e);
            }
        }
        for (DateTimeFormatter f : new DateTimeFormatter[] { COMPACT, SHOWN, SHOWN_SECONDS, DateTimeFormatter.ISO_LOCAL_DATE_TIME }) {
            try {
                return new Corte(LocalDateTime.parse(t, f));
            } catch (DateTimeParseException ignored) {
                // try the next accepted form
            }
        }
        throw new IllegalArgumentException("not a corte: '" + text + "'");
    }

    /**
     * A corte as a source announces it: a local time as {@link #parse(String)} reads it, or a time with its offset
     * ({@code 2024-06-02T22:20:00-06:00}, {@code ...Z}), the one form that cannot be misread, in {@code zone}.
     */
    public static Corte parse(String text, java.time.ZoneId zone) {
        try {
            return parse(text);
        } catch (IllegalArgumentException local) {
            try {
                String t = text.trim();
                Matcher endOfDay = END_OF_DAY_WITH_OFFSET.matcher(t);
                java.time.OffsetDateTime at = endOfDay.matches()
                        ? LocalDate.parse(endOfDay.group(1), DateTimeFormatter.ISO_LOCAL_DATE.withResolverStyle(ResolverStyle.STRICT))
                                .plusDays(1).atStartOfDay().atOffset(java.time.ZoneOffset.of(endOfDay.group(2)))
                        : java.time.OffsetDateTime.parse(t.replace(' ', 'T'));
                return new Corte(at.atZoneSameInstant(zone).toLocalDateTime());
            } catch (java.time.DateTimeException notWithAnOffset) {   // an offset out of range (+19:00) too
                throw local;
            }
        }
    }

    /**
     * The clock time a corte written with its offset shows, the offset left out ({@code 2024-06-02T22:20:00Z}: 22:20):
     * empty for a form without one.
     */
    public static java.util.Optional<Corte> asWritten(String text) {
        String t = text.trim();
        try {
            parse(t);
            return java.util.Optional.empty();
        } catch (IllegalArgumentException withAnOffset) {
            try {
                Matcher endOfDay = END_OF_DAY_WITH_OFFSET.matcher(t);
                if (endOfDay.matches()) {
                    return java.util.Optional.of(parse(endOfDay.group(1) + " 24:00"));
                }
                return java.util.Optional.of(new Corte(java.time.OffsetDateTime.parse(t.replace(' ', 'T')).toLocalDateTime()));
            } catch (RuntimeException unreadable) {
                return java.util.Optional.empty();
            }
        }
    }

    /**
     * A corte from its date ({@code yyyyMMdd}) and time ({@code HHmm}) as a package name writes them, strictly: a date
     * that does not exist is none; {@code 2400} is the next day's 00:00.
     */
    static java.util.Optional<Corte> of(String date, String time) {
        try {
            LocalDate day = LocalDate.parse(date, DATE);
            if (time.equals("2400")) {
                return java.util.Optional.of(new Corte(day.plusDays(1).atStartOfDay()));
            }
            return java.util.Optional.of(new Corte(LocalDateTime.of(day, LocalTime.parse(time, TIME))));
        } catch (DateTimeParseException e) {
            return java.util.Optional.empty();
        }
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
