package mx.prep.difusor.memoria;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import mx.prep.difusor.ObjectStore;

/**
 * The incidents the difusor's team wrote down during the operation (runbook, "Who to tell, what to write down"):
 * what only a person saw (the institute's package late, a reader's report, a console refusing access). The call asks
 * for every incident that affected the publication (IX.a.1); the probe records only what it can see.
 *
 * <p>A CSV in UTF-8: the header {@code inicio,fin,descripcion}, then one incident per line, times in Tiempo del
 * Centro ({@code 2024-06-02 21:15} or with seconds), the description everything after the second comma (commas
 * allowed, no quotes needed). Blank lines and lines starting with {@code #} are skipped. A line that cannot be read
 * stops the report, naming it: a memoria without an incident the team wrote down would be wrong.
 */
public final class TeamLog {

    static final String HEADER = "inicio,fin,descripcion";
    private static final DateTimeFormatter TIME = new DateTimeFormatterBuilder().appendPattern("yyyy-MM-dd HH:mm")
            .optionalStart().appendPattern(":ss").optionalEnd().parseDefaulting(ChronoField.SECOND_OF_MINUTE, 0).toFormatter();

    /** One incident as the team wrote it down. */
    public record TeamIncident(Instant start, Instant end, String description) {

        /** Its part inside [from, to). */
        Duration within(Instant from, Instant to) {
            Instant s = start.isBefore(from) ? from : start;
            Instant e = end.isAfter(to) ? to : end;
            return e.isAfter(s) ? Duration.between(s, e) : Duration.ZERO;
        }
    }

    private TeamLog() {
    }

    /** Reads {@code location}: a local file or {@code s3://bucket/key}; empty: no log, no incident. */
    public static List<TeamIncident> read(String location, ObjectStore store, ZoneId zone) throws IOException {
        if (location == null || location.isBlank()) {
            return List.of();
        }
        String text;
        if (location.startsWith("s3://")) {
            String rest = location.substring("s3://".length());
            int slash = rest.indexOf('/');
            if (slash <= 0 || slash == rest.length() - 1) {
                throw new IOException("difusor.memoria.team-log " + location + " names no object (s3://bucket/key)");
            }
            try {
                text = store.client().getObjectAsBytes(b -> b.bucket(rest.substring(0, slash)).key(rest.substring(slash + 1))).asUtf8String();
            } catch (software.amazon.awssdk.core.exception.SdkException e) {
                throw new IOException("cannot read the team's log " + location + ": " + e.getMessage(), e);
            }
        } else {
            text = Files.readString(Path.of(location), StandardCharsets.UTF_8);
        }
        return parse(text, location, zone);
    }

    static List<TeamIncident> parse(String text, String source, ZoneId zone) {
        List<String> lines = (text.startsWith("\uFEFF") ? text.substring(1) : text).lines().toList();
        List<TeamIncident> incidents = new ArrayList<>();
        boolean header = false;
        for (int n = 1; n <= lines.size(); n++) {
            String line = lines.get(n - 1).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (!header) {
                if (!line.replace(" ", "").equalsIgnoreCase(HEADER)) {
                    throw new IllegalArgumentException(source + ", line " + n + ": the first line is the header '" + HEADER + "', not '" + line + "'");
                }
                header = true;
                continue;
            }
            String[] fields = line.split(",", 3);
            if (fields.length < 3 || fields[2].strip().isEmpty()) {
                throw new IllegalArgumentException(source + ", line " + n + ": inicio,fin,descripcion expected: '" + line + "'");
            }
            Instant start = time(fields[0], source, n, zone);
            Instant end = time(fields[1], source, n, zone);
            if (end.isBefore(start)) {
                throw new IllegalArgumentException(source + ", line " + n + ": it ends (" + fields[1].strip() + ") before it starts ("
                        + fields[0].strip() + ")");
            }
            String description = fields[2].strip();
            if (description.length() > 1 && description.startsWith("\"") && description.endsWith("\"")) {
                description = description.substring(1, description.length() - 1).replace("\"\"", "\"");
            }
            incidents.add(new TeamIncident(start, end, description));
        }
        incidents.sort(Comparator.comparing(TeamIncident::start));
        return incidents;
    }

    private static Instant time(String field, String source, int line, ZoneId zone) {
        try {
            return LocalDateTime.parse(field.strip(), TIME).atZone(zone).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(source + ", line " + line + ": '" + field.strip() + "' is no time as 2024-06-02 21:15 (Tiempo del Centro)");
        }
    }
}
