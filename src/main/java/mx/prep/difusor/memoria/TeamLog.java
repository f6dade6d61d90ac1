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
 * <p>A CSV in UTF-8: the header {@code inicio,fin,descripcion}, then one incident per line, times in the institute's
 * zone ({@code difusor.corte-zone}, Tiempo del Centro: {@code 2024-06-02 21:15}, with seconds, or as Excel writes them,
 * {@code 02/06/2024 21:15}), the description everything after the second comma (commas allowed, no quotes needed;
 * a quoted field as Excel writes it is read as CSV). Blank lines, lines of empty cells and lines starting with
 * {@code #} are skipped. A line that cannot be read stops the report, naming it: a memoria without an incident the
 * team wrote down would be wrong.
 */
public final class TeamLog {

    static final String HEADER = "inicio,fin,descripcion";
    private static final List<DateTimeFormatter> TIMES = List.of(time("yyyy-MM-dd HH:mm"), time("dd/MM/yyyy HH:mm"));

    private static DateTimeFormatter time(String pattern) {
        return new DateTimeFormatterBuilder().appendPattern(pattern).optionalStart().appendPattern(":ss").optionalEnd()
                .parseDefaulting(ChronoField.SECOND_OF_MINUTE, 0).toFormatter();
    }

    /** One incident as the team wrote it down, and the line it is on. */
    public record TeamIncident(Instant start, Instant end, String description, int line) {

        public TeamIncident(Instant start, Instant end, String description) {
            this(start, end, description, 0);
        }

        /** Its part inside [from, to). */
        Duration within(Instant from, Instant to) {
            Instant s = start.isBefore(from) ? from : start;
            Instant e = end.isAfter(to) ? to : end;
            return e.isAfter(s) ? Duration.between(s, e) : Duration.ZERO;
        }

        /** Whether it touches [from, to): some time inside, or a moment (start = end) inside. */
        boolean touches(Instant from, Instant to) {
            return within(from, to).compareTo(Duration.ZERO) > 0 || (!start.isBefore(from) && start.isBefore(to));
        }
    }

    private TeamLog() {
    }

    /** Reads {@code location}: a local file or {@code s3://bucket/key}; empty: no log, no incident. */
    public static List<TeamIncident> read(String location, ObjectStore store, ZoneId zone) throws IOException {
        if (location == null || location.isBlank()) {
            return List.of();
        }
        byte[] bytes;
        if (location.startsWith("s3://")) {
            String rest = location.substring("s3://".length());
            int slash = rest.indexOf('/');
            if (slash <= 0 || slash == rest.length() - 1) {
                throw new IOException("difusor.memoria.team-log " + location + " names no object (s3://bucket/key)");
            }
            try {
                bytes = store.client().getObjectAsBytes(b -> b.bucket(rest.substring(0, slash)).key(rest.substring(slash + 1))).asByteArray();
            } catch (software.amazon.awssdk.core.exception.SdkException e) {
                throw new IOException("cannot read the team's log " + location + ": " + e.getMessage(), e);
            }
        } else {
            bytes = Files.readAllBytes(Path.of(location));
        }
        return parse(utf8(bytes, location), location, zone);
    }

    /** Strictly: Excel's plain "CSV" is Windows-1252, whose accents would come out as U+FFFD in the report. */
    static String utf8(byte[] bytes, String source) {
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(bytes);
        java.nio.CharBuffer out = java.nio.CharBuffer.allocate(bytes.length);
        java.nio.charset.CoderResult result = StandardCharsets.UTF_8.newDecoder().onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT).decode(in, out, true);
        if (result.isError()) {
            int line = 1;
            for (int i = 0; i < in.position(); i++) {
                line += bytes[i] == '\n' ? 1 : 0;
            }
            throw new IllegalArgumentException(source + ", line " + line + ": not UTF-8 text (Excel: save as \"CSV UTF-8\")");
        }
        return out.flip().toString();
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
            List<Cell> cells = cells(line);
            List<String> fields = cells.stream().map(Cell::text).toList();
            if (fields.isEmpty()) {
                continue;   // a row Excel left with empty cells
            }
            if (!header) {
                String named = String.join(",", fields).replace(" ", "").replace('ó', 'o').replace('Ó', 'O');
                if (!named.equalsIgnoreCase(HEADER)) {
                    throw new IllegalArgumentException(source + ", line " + n + ": the first line is the header '" + HEADER + "', not '" + line + "'");
                }
                header = true;
                continue;
            }
            if (fields.size() < 3) {
                throw new IllegalArgumentException(source + ", line " + n + ": inicio,fin,descripcion expected: '" + line + "'");
            }
            Instant start = time(fields.get(0), source, n, zone);
            Instant end = time(fields.get(1), source, n, zone);
            if (end.isBefore(start)) {
                throw new IllegalArgumentException(source + ", line " + n + ": it ends (" + fields.get(1) + ") before it starts ("
                        + fields.get(0) + ")");
            }
            // a quoted cell as written; else the rest of the line, commas and spaces as typed, less Excel's empty cells
            String description = cells.size() == 3 && cells.get(2).quoted() ? cells.get(2).text()
                    : line.substring(cells.get(2).start()).replaceFirst("[,\\s]+$", "").strip();
            incidents.add(new TeamIncident(start, end, description, n));
        }
        incidents.sort(Comparator.comparing(TeamIncident::start));
        return incidents;
    }

    /**
     * The line's cells, stripped, trailing empty ones dropped (Excel pads rows to the widest): CSV quoting where a cell
     * starts with a quote, as Excel writes one holding a comma; an unquoted cell is taken as it is.
     */
    record Cell(String text, int start, boolean quoted) {
    }

    static List<Cell> cells(String line) {
        List<Cell> fields = new ArrayList<>();
        int i = 0;
        while (i <= line.length()) {
            StringBuilder cell = new StringBuilder();
            int j = i;
            while (j < line.length() && line.charAt(j) == ' ') {
                j++;
            }
            boolean quoted = j < line.length() && line.charAt(j) == '"';
            if (quoted) {
                j++;
                while (j < line.length()) {
                    char c = line.charAt(j);
                    if (c == '"' && j + 1 < line.length() && line.charAt(j + 1) == '"') {
                        cell.append('"');
                        j += 2;
                    } else if (c == '"') {
                        j++;
                        break;
                    } else {
                        cell.append(c);
                        j++;
                    }
                }
            }
            int comma = line.indexOf(',', j);
            cell.append(line, j, comma < 0 ? line.length() : comma);
            fields.add(new Cell(cell.toString().strip(), i, quoted));
            i = comma < 0 ? line.length() + 1 : comma + 1;
        }
        while (!fields.isEmpty() && fields.get(fields.size() - 1).text().isEmpty()) {
            fields.remove(fields.size() - 1);
        }
        return fields;
    }

    private static Instant time(String field, String source, int line, ZoneId zone) {
        for (DateTimeFormatter format : TIMES) {
            try {
                return LocalDateTime.parse(field.strip(), format).atZone(zone).toInstant();
            } catch (DateTimeParseException e) {
                // the next form
            }
        }
        throw new IllegalArgumentException(source + ", line " + line + ": '" + field.strip() + "' is no time as 2024-06-02 21:15 ("
                + zone.getId() + ")");
    }
}
