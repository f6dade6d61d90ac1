package mx.prep.difusor.memoria;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneId;

import org.junit.jupiter.api.Test;

/** The incidents the team wrote down, as a person writes a CSV on election night. */
class TeamLogTest {

    private static final ZoneId MEXICO_CITY = ZoneId.of("America/Mexico_City");

    @Test
    void timesAreTiempoDelCentroAndTheDescriptionIsTheRestOfTheLine() {
        var incidents = TeamLog.parse("""
                \uFEFFinicio, fin, descripcion
                # Héctor, turno de noche
                2024-06-02 23:05:30,2024-06-02 23:20,"El paquete de las 23:00 llegó tarde; confirmado por teléfono, \"\"sin cambios\"\"\"

                2024-06-02 21:15,2024-06-02 21:40,Lectores reportan lentitud en Guadalajara, Zapopan y Tlaquepaque
                """, "bitacora.csv", MEXICO_CITY);
        assertThat(incidents).containsExactly(
                new TeamLog.TeamIncident(Instant.parse("2024-06-03T03:15:00Z"), Instant.parse("2024-06-03T03:40:00Z"),
                        "Lectores reportan lentitud en Guadalajara, Zapopan y Tlaquepaque", 5),
                new TeamLog.TeamIncident(Instant.parse("2024-06-03T05:05:30Z"), Instant.parse("2024-06-03T05:20:00Z"),
                        "El paquete de las 23:00 llegó tarde; confirmado por teléfono, \"sin cambios\"", 3));
    }

    /** Saved from Excel (es-MX): its own date format, rows padded with empty cells, a quoted cell, the header's accent. */
    @Test
    void aLogSavedFromExcelIsReadAsWritten() {
        var incidents = TeamLog.parse("inicio,fin,descripción,,\r\n02/06/2024 21:15,02/06/2024 21:40,\"Lentitud en Zapopan, Tlaquepaque\",,\r\n,,,,\r\n"
                + "03/06/2024 01:00:00,03/06/2024 01:00:00,Un lector reporta cifras viejas,,\r\n", "bitacora.csv", MEXICO_CITY);
        assertThat(incidents).extracting(TeamLog.TeamIncident::description, TeamLog.TeamIncident::line).containsExactly(
                org.assertj.core.groups.Tuple.tuple("Lentitud en Zapopan, Tlaquepaque", 2),
                org.assertj.core.groups.Tuple.tuple("Un lector reporta cifras viejas", 4));
        assertThat(incidents.get(1).start()).isEqualTo(Instant.parse("2024-06-03T07:00:00Z")).isEqualTo(incidents.get(1).end());
    }

    /** Excel's plain "CSV" is Windows-1252: its accents would be U+FFFD in the report. */
    @Test
    void aLogNotInUtf8IsRefusedNamingItsLine() {
        byte[] cp1252 = "inicio,fin,descripcion\n2024-06-02 21:15,2024-06-02 21:40,Ca\u00edda del portal\n".getBytes(java.nio.charset.Charset.forName("windows-1252"));
        assertThatThrownBy(() -> TeamLog.utf8(cp1252, "bitacora.csv")).hasMessage("bitacora.csv, line 2: not UTF-8 text (Excel: save as \"CSV UTF-8\")");
    }

    @Test
    void aLineThatCannotBeReadStopsTheReportNamingIt() {
        assertThatThrownBy(() -> TeamLog.parse("inicio,fin,descripcion\n2024-06-02 21:15,2024-06-02 21:40,ok\n2/6/2024 22:00,2024-06-02 22:10,x\n",
                "bitacora.csv", MEXICO_CITY)).hasMessage("bitacora.csv, line 3: '2/6/2024 22:00' is no time as 2024-06-02 21:15 (America/Mexico_City)");
        assertThatThrownBy(() -> TeamLog.parse("inicio,fin,descripcion\n2024-06-02 22:15,2024-06-02 21:40,backwards\n", "b.csv", MEXICO_CITY))
                .hasMessageContaining("line 2: it ends (2024-06-02 21:40) before it starts (2024-06-02 22:15)");
        assertThatThrownBy(() -> TeamLog.parse("inicio,fin,descripcion\n2024-06-02 21:15,2024-06-02 21:40\n", "b.csv", MEXICO_CITY))
                .hasMessageContaining("line 2: inicio,fin,descripcion expected");
        assertThatThrownBy(() -> TeamLog.parse("2024-06-02 21:15,2024-06-02 21:40,no header\n", "b.csv", MEXICO_CITY))
                .hasMessageContaining("line 1: the first line is the header 'inicio,fin,descripcion'");
    }

    @Test
    void noLogIsNoIncident() throws Exception {
        assertThat(TeamLog.read("", null, MEXICO_CITY)).isEmpty();
    }
}
