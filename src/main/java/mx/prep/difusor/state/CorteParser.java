package mx.prep.difusor.state;

import java.time.ZoneId;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the corte from a package name with a configurable regex that has the named groups {@code date}
 * (yyyyMMdd) and {@code time} (HHmm), e.g. {@code PREP2024_JAL_20240602_2000.zip}; and as a source announces it, in
 * the institute's zone (difusor.corte-zone).
 */
public final class CorteParser {

    private final Pattern pattern;
    private final ZoneId zone;

    public CorteParser(String regex, ZoneId zone) {
        this.pattern = Pattern.compile(regex);
        this.zone = zone;
        if (!regex.contains("(?<date>") || !regex.contains("(?<time>")) {
            throw new IllegalArgumentException("difusor.source.corte-pattern needs the named groups 'date' and 'time': " + regex);
        }
    }

    public Optional<Corte> fromPackageName(String packageName) {
        Matcher m = pattern.matcher(packageName);
        if (!m.matches()) {
            return Optional.empty();
        }
        return Corte.of(m.group("date"), m.group("time"));
    }

    /** The institute's zone (difusor.corte-zone). */
    public ZoneId zone() {
        return zone;
    }

    /** A corte a manifest announces: a local time, or one with its offset, taken to the institute's zone. */
    public Corte announced(String text) {
        return Corte.parse(text, zone);
    }
}
