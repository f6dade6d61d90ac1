package mx.prep.difusor.state;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the corte from a package name with a configurable regex that has the named groups {@code date}
 * (yyyyMMdd) and {@code time} (HHmm), e.g. {@code PREP2024_JAL_20240602_2000.zip}.
 */
public final class CorteParser {

    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("yyyyMMdd");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HHmm");

    private final Pattern pattern;

    public CorteParser(String regex) {
        this.pattern = Pattern.compile(regex);
        if (!regex.contains("(?<date>") || !regex.contains("(?<time>")) {
            throw new IllegalArgumentException("difusor.source.corte-pattern needs the named groups 'date' and 'time': " + regex);
        }
    }

    public Optional<Corte> fromPackageName(String packageName) {
        Matcher m = pattern.matcher(packageName);
        if (!m.matches()) {
            return Optional.empty();
        }
        try {
            LocalDate date = LocalDate.parse(m.group("date"), DATE);
            LocalTime time = LocalTime.parse(m.group("time"), TIME);
            return Optional.of(new Corte(LocalDateTime.of(date, time)));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }
}
