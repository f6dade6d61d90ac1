package mx.prep.difusor.memoria;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import mx.prep.difusor.ObjectStore;
import mx.prep.difusor.archive.HistoryArchiver.HistoryRecord;
import mx.prep.difusor.embedded.EmbeddedS3;
import mx.prep.difusor.probe.InstituteProbe.Incident;
import mx.prep.difusor.probe.InstituteProbe.Light;
import mx.prep.difusor.quarantine.QuarantineReport;
import mx.prep.difusor.testing.Chromium;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The memoria técnica from a real S3 endpoint (S3Proxy): CloudFront's access logs in a log bucket, the probe's
 * incidents, the quarantine's reports and the history's records in the history bucket, as the difusor leaves them.
 * The report is read as the institute will, in a browser.
 */
class MemoriaTecnicaTest {

    /** The call, I.a: the results online from 20:00 on 2 June. */
    static final LocalDateTime PUBLICATION_FROM = LocalDateTime.parse("2024-06-02T20:00");

    static EmbeddedS3 s3;
    static S3Client client;
    static ObjectStore store;

    @BeforeAll
    static void s3() throws Exception {
        s3 = EmbeddedS3.inMemory();
        s3.createBucket("cdn-logs");
        s3.createBucket("prep-history");
        client = s3.client();
        store = new ObjectStore(client);
        List<CloudFrontLogs> night = SiteTrafficTest.night();
        String[] hours = {"2024-06-03-02", "2024-06-03-05", "2024-06-03-11"};
        for (int i = 0; i < night.size(); i++) {
            String key = "cloudfront/E2QWRUHAPOMQZL." + hours[i] + "." + Integer.toHexString(i * 7919 + 4096) + ".gz";
            client.putObject(b -> b.bucket("cdn-logs").key(key),
                    RequestBody.fromBytes(night.get(i).gzip()));
        }
        // a week later and outside any period asked for: never read (the name says its hour)
        client.putObject(b -> b.bucket("cdn-logs").key("cloudfront/E2QWRUHAPOMQZL.2024-06-20-10.0a1b2c3d.gz"), RequestBody.fromString("not gzip"));

        // the probe's incidents: a minute without the page, 90 s behind, one in another week
        store.putJson("prep-history", "incidents/2024-06-03T04-00-00Z.json",
                new Incident("2024-06-03T04:00:00Z", "2024-06-03T04:01:00Z", Light.RED, "https://prep.example.mx/ answered HTTP 503 (the institute expects 200)"));
        // the other replica saw the same outage a second later: one incident, not two minutes
        store.putJson("prep-history", "incidents/2024-06-03T04-00-01Z.json",
                new Incident("2024-06-03T04:00:01Z", "2024-06-03T04:01:00Z", Light.RED, "https://prep.example.mx/ answered HTTP 503 (the institute expects 200)"));
        // before 20:00, when nothing had to be online yet (the bucket empty until the first corte): not reported
        store.putJson("prep-history", "incidents/2024-06-03T01-00-00Z.json",
                new Incident("2024-06-03T01:00:00Z", "2024-06-03T01:55:00Z", Light.RED, "https://prep.example.mx/ answered HTTP 404 (the institute expects 200)"));
        store.putJson("prep-history", "incidents/2024-06-03T07-00-00Z.json",
                new Incident("2024-06-03T07:00:00Z", "2024-06-03T07:01:30Z", Light.YELLOW, "the page shows corte 2024-06-02 23:40, published 00:00"));
        store.putJson("prep-history", "incidents/2024-06-10T12-00-00Z.json",
                new Incident("2024-06-10T12:00:00Z", "2024-06-10T12:10:00Z", Light.RED, "connection refused"));
        // one package refused to quarantine, three cortes published and one older corte
        store.putJson("prep-history", "quarantine/PREP2024_JAL_20240602_2120/2024-06-03T03-30-00Z-CHECKSUM_MISMATCH/report.json",
                new QuarantineReport("PREP2024_JAL_20240602_2120.zip", "2024-06-02T21:20", "checksum-filter", "CHECKSUM_MISMATCH",
                        "SHA-256 differs", "2024-06-03T03:30:00Z", "ab", "cd", 1000L, "https://prep.iepcjalisco.mx/paquete", "s3://prep-history/q"));
        // the same package reported again by a restarted process: one refusal in the memoria
        store.putJson("prep-history", "quarantine/PREP2024_JAL_20240602_2120/2024-06-03T03-45-10Z-CHECKSUM_MISMATCH/report.json",
                new QuarantineReport("PREP2024_JAL_20240602_2120.zip", "2024-06-02T21:20", "checksum-filter", "CHECKSUM_MISMATCH",
                        "SHA-256 differs", "2024-06-03T03:45:10Z", "ab", "cd", 1000L, "https://prep.iepcjalisco.mx/paquete", "s3://prep-history/q2"));
        // S3 failing past every retry while corte 22:00 was published: quarantined, then published by a later attempt
        store.putJson("prep-history", "quarantine/PREP2024_JAL_20240602_2200/2024-06-03T03-58-00Z-RETRIES_EXHAUSTED/report.json",
                new QuarantineReport("PREP2024_JAL_20240602_2200.zip", "2024-06-02T22:00", "publish", "RETRIES_EXHAUSTED",
                        "SlowDown", "2024-06-03T03:58:00Z", "ab", "ab", 1000L, "https://prep.iepcjalisco.mx/paquete", "history"));
        // an operator's republish of corte 21:00, refused because a newer corte was published while it waited: neither
        // "not published" nor "published late" (it was published before the refusal)
        store.putJson("prep-history", "quarantine/PREP2024_JAL_20240602_2100/2024-06-03T04-10-00Z-STALE_CORTE/report.json",
                new QuarantineReport("PREP2024_JAL_20240602_2100.zip", "2024-06-02T21:00", "corte-gate", "STALE_CORTE",
                        "republish asked over PREP2024_JAL_20240602_2140.zip@ab, but PREP2024_JAL_20240602_2200.zip@ab was published since",
                        "2024-06-03T04:10:00Z", "ab", "ab", 1000L, "file:///work/republish/PREP2024_JAL_20240602_2100.zip", "history"));
        String[][] outcomes = {{"2100", "published", "2024-06-03T03:01:00Z"}, {"2140", "published", "2024-06-03T03:41:00Z"},
                {"2200", "published", "2024-06-03T04:02:00Z"}, {"2120", "rejected", "2024-06-03T03:30:00Z"}};
        for (String[] o : outcomes) {
            String name = "PREP2024_JAL_20240602_" + o[0] + ".zip";
            store.putJson("prep-history", "history/" + name + ".json", new HistoryRecord(name, "2024-06-02T" + o[0].substring(0, 2) + ":" + o[0].substring(2),
                    "ab", 1000, o[2], o[1], o[2], "https://prep.iepcjalisco.mx/paquete"));
        }
    }

    @AfterAll
    static void stop() throws Exception {
        client.close();
        s3.close();
    }

    static MemoriaTecnica memoria() {
        return new MemoriaTecnica(store, new OperationRecords(store, "prep-history", "history/", "quarantine/", "incidents/"),
                Clock.fixed(Instant.parse("2024-06-12T18:00:00Z"), ZoneOffset.UTC));
    }

    @Test
    void theReportOfIncidentsAndTheDailyFiguresFromTheLogBucketAndTheHistory(@TempDir Path out) throws Exception {
        var written = memoria().write("https://prep.example.mx/", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), PUBLICATION_FROM,
                SiteTrafficTest.MEXICO_CITY, "s3://cdn-logs/cloudfront/", out);

        assertThat(written.logFiles()).isEqualTo(3);
        // with a byte-order mark, for Excel on Windows
        assertThat(Files.readAllBytes(written.dailyCsv())).startsWith(0xEF, 0xBB, 0xBF);
        assertThat(Files.readAllBytes(written.incidentsCsv())).startsWith(0xEF, 0xBB, 0xBF);
        assertThat(Files.readString(written.dailyCsv()).substring(1)).isEqualTo("""
                fecha (UTC-06:00),visitas,visitantes,paginas,accesos,solicitudes,errores,solicitudes_automaticas
                2024-06-02,4,3,4,6,6,0,0
                2024-06-03,1,2,1,4,5,1,1
                total,5,4,5,10,11,1,1
                """);
        assertThat(Files.readString(written.incidentsCsv()).substring(1)).isEqualTo("""
                tipo,inicio (UTC-06:00),fin (UTC-06:00),duracion_segundos,detalle
                corte_desactualizado_en_linea,2024-06-02 20:40:00,2024-06-02 21:01:00,1260,"sin corte publicado; siguiente: PREP2024_JAL_20240602_2100.zip (corte 2024-06-02 21:00)"
                paquete_no_publicado,2024-06-02 21:30:00,,,"PREP2024_JAL_20240602_2120.zip: no coincide con la suma de verificación (SHA-256) proporcionada por el Instituto (CHECKSUM_MISMATCH; etapa: comprobación de la suma de verificación (SHA-256))"
                corte_desactualizado_en_linea,2024-06-02 21:40:00,2024-06-02 21:41:00,60,"se mostraba PREP2024_JAL_20240602_2100.zip (corte 2024-06-02 21:00); siguiente: PREP2024_JAL_20240602_2140.zip (corte 2024-06-02 21:40)"
                paquete_publicado_con_retraso,2024-06-02 21:58:00,,,"PREP2024_JAL_20240602_2200.zip: se agotaron los reintentos ante fallas transitorias (RETRIES_EXHAUSTED; etapa: publicación)"
                portal_no_disponible,2024-06-02 22:00:00,2024-06-02 22:01:00,60,"https://prep.example.mx/ respondió HTTP 503 (el Instituto espera 200)"
                corte_anterior,2024-06-03 01:00:00,2024-06-03 01:01:30,90,"the page shows corte 2024-06-02 23:40, published 00:00"
                """);

        String dom = Chromium.dom(written.html().toUri(), out.resolve("chromium"));
        assertThat(dom).contains("<html lang=\"es-MX\">").contains("Memoria técnica del Difusor PREP")
                .contains("del 2 de junio de 2024 al 3 de junio de 2024").contains("Tiempo del Centro (UTC−6)")
                // 60 s without the page (seen by both replicas) in the 100,800 s from 20:00 on 2 June to the end of the 3rd
                .contains("del 2024-06-02 20:00:00 al 2024-06-03 23:59:59").contains("<b id=\"disponibilidad\">99.940 %</b>").contains("se cumplió")
                // the probe's one request in the logs is at 05:00 on the 3rd, and it saw an outage start and end at 22:00: the
                // other 26 hours are not vouched for
                .contains("salvo las que caen dentro de una incidencia registrada): <span id=\"sin-monitoreo\">26</span> (2024-06-02 20:00:00 a 2024-06-02 21:59:59; "
                        + "2024-06-02 23:00:00 a 2024-06-03 04:59:59; 2024-06-03 06:00:00 a 2024-06-03 23:59:59)")
                .contains("Tiempo con el portal no disponible: 0 h 01 min 00 s").contains("(por ejemplo, la caché del CDN sin actualizar): 0 h 01 min 30 s")
                .contains("Cortes publicados: <span id=\"publicados\">3</span> (del corte 2024-06-02 21:00 al 2024-06-02 22:00)")
                .contains("Paquetes de Difusión PREP no publicados: <span id=\"rechazados\">1</span>").contains("<span id=\"con-retraso\">1</span>")
                .contains("Cortes publicados más de 40 minutos después de su hora de corte: <span id=\"cortes-con-demora\">0</span>")
                // nothing on line until 21:01 (the results were due at 20:00), and the 21:00 corte still at 21:41 (21:20 refused)
                .contains("(o aún ningún corte), hasta la publicación del siguiente: <span id=\"tiempo-desactualizado\">0 h 22 min 00 s</span>")
                .contains("<td>2024-06-02 21:40:00</td><td>2024-06-02 21:41:00</td><td class=\"n\">0 h 01 min 00 s</td>"
                        + "<td>2024-06-02 21:00 (PREP2024_JAL_20240602_2100.zip)</td><td>2024-06-02 21:40 (PREP2024_JAL_20240602_2140.zip)</td>")
                .contains("Las solicitudes del monitoreo del propio Difusor (1) no se cuentan")
                .contains("No se configuraron las direcciones IP desde las que el Instituto verifica la disponibilidad")
                .contains("Portal no disponible").contains("https://prep.example.mx/ respondió HTTP 503 (el Instituto espera 200)")
                .doesNotContain("connection refused").doesNotContain("HTTP 404")
                .contains("Incidencias del portal registradas antes del 2024-06-02 20:00:00, cuando los resultados aún no debían estar "
                        + "publicados (no afectaron la publicación y no se detallan): 1")
                .contains("PREP2024_JAL_20240602_2120.zip").contains("no coincide con la suma de verificación")
                .contains("<td>domingo 2 de junio</td><td class=\"n\">4</td><td class=\"n\">3</td><td class=\"n\">4</td><td class=\"n\">6</td>")
                .contains("<td>Total del periodo</td><td class=\"n\">5</td><td class=\"n\">4</td><td class=\"n\">5</td><td class=\"n\">10</td><td class=\"n\">11</td>"
                        + "<td class=\"n\">1</td><td class=\"n\">1</td></tr>")
                .contains("<th>Solicitudes automáticas</th>")
                .contains("Hora de mayor tráfico: <span id=\"hora-pico\">2 de junio de 2024, de 20:00 a 20:59</span>, con 4 accesos");
    }

    /**
     * The incidents the team wrote down, from a CSV in the history bucket, are in the report and its CSV beside the
     * probe's, with their part of the publication span, and leave the measured availability as it was; one before the
     * results had to be online affected nothing and is not listed.
     */
    @Test
    void theIncidentsTheTeamWroteDownAreReportedApartFromTheMeasuredAvailability(@TempDir Path out) throws Exception {
        store.client().putObject(b -> b.bucket("prep-history").key("bitacora/incidencias.csv"), software.amazon.awssdk.core.sync.RequestBody.fromString("""
                inicio,fin,descripcion
                2024-06-02 19:00,2024-06-02 19:30,Prueba de la consola antes de la apertura
                2024-06-02 19:50,2024-06-02 20:10,El Instituto publicó el primer paquete 10 minutos tarde, confirmado por teléfono
                2024-06-02 23:05,2024-06-02 23:20,"Lectores reportan <lentitud> en Zapopan"
                2024-06-03 09:30,2024-06-03 09:30,Un lector reporta cifras viejas en su navegador
                2024-06-03 10:00,2024-06-03 10:05,"=HYPERLINK(""http://x.example"",""-5 votos"")"
                """));
        var written = memoria().write("https://prep.example.mx/", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), PUBLICATION_FROM,
                SiteTrafficTest.MEXICO_CITY, "s3://cdn-logs/cloudfront/", "s3://prep-history/bitacora/incidencias.csv", out);

        assertThat(Files.readAllLines(written.incidentsCsv())).contains(
                "anotada_por_el_equipo,2024-06-02 19:50:00,2024-06-02 20:10:00,600,\"El Instituto publicó el primer paquete 10 minutos tarde, confirmado por teléfono\"",
                "anotada_por_el_equipo,2024-06-02 23:05:00,2024-06-02 23:20:00,900,\"Lectores reportan <lentitud> en Zapopan\"",
                // a moment, not a span: listed all the same
                "anotada_por_el_equipo,2024-06-03 09:30:00,2024-06-03 09:30:00,0,\"Un lector reporta cifras viejas en su navegador\"",
                // text to a spreadsheet, not a formula to run
                "anotada_por_el_equipo,2024-06-03 10:00:00,2024-06-03 10:05:00,300,\"'=HYPERLINK(\"\"http://x.example\"\",\"\"-5 votos\"\")\"")
                .noneMatch(l -> l.contains("Prueba de la consola"));
        String dom = Chromium.dom(written.html().toUri(), out.resolve("chromium"));
        assertThat(dom).contains("Incidencias anotadas por el equipo del Difusor")
                .contains("<td>2024-06-02 23:05:00</td><td>2024-06-02 23:20:00</td><td class=\"n\">0 h 15 min 00 s</td><td>Lectores reportan &lt;lentitud&gt; en Zapopan</td>")
                .contains("<td>2024-06-02 19:50:00</td><td>2024-06-02 20:10:00</td><td class=\"n\">0 h 10 min 00 s</td>")
                .doesNotContain("Prueba de la consola")
                .contains("mientras los resultados debían estar publicados: <span id=\"anotadas\">4</span>")
                .contains("<td>=HYPERLINK(\"http://x.example\",\"-5 votos\")</td>")
                .contains("<p id=\"anotadas-antes\">Incidencias anotadas por el equipo antes del 2024-06-02 20:00:00, cuando los resultados aún no "
                        + "debían estar publicados (no se detallan): 1</p>")
                .contains("incidencias anotadas por el equipo en s3://prep-history/bitacora/incidencias.csv")
                // the probe's measure, as without the team's log
                .contains("<b id=\"disponibilidad\">99.940 %</b>");
    }

    /** A note dated outside the report's period is a typo: the report stops before reading the logs, naming its line. */
    @Test
    void aNoteTheTeamDatedOutsideThePeriodStopsTheReportNamingItsLine(@TempDir Path out) throws Exception {
        Path log = Files.writeString(out.resolve("bitacora.csv"), "inicio,fin,descripcion\n2024-06-02 21:00,2024-06-02 21:10,ok\n"
                + "2023-06-02 22:00,2023-06-02 22:10,el año de la elección anterior\n");
        assertThatThrownBy(() -> memoria().write("https://prep.example.mx/", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"),
                PUBLICATION_FROM, SiteTrafficTest.MEXICO_CITY, "s3://no-such-log-bucket/", log.toString(), out.resolve("report")))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(log + ", line 3: 2023-06-02T22:00 is outside the period 2024-06-02 to 2024-06-03"
                        + " (a mistyped date?)");
    }

    /**
     * An outage that began after the last simulacro (the site bucket emptied on 26 May) and one still open when the
     * report is written (12 June) count only their time from 20:00 on 2 June (when the results had to be online, as
     * for the availability) to the end of the period: the report used to show 337 h for the first. One over before
     * 20:00 did not affect the publication and is not listed (it was, with its hours from midnight, while the
     * availability left them out).
     */
    @Test
    void anIncidentCountsOnlyItsPartWhileTheResultsHadToBeOnline() {
        var night = new OperationRecords.Night(List.of(
                new Incident("2024-05-26T20:00:00Z", "2024-06-03T03:00:00Z", Light.RED, "HTTP 404"),
                new Incident("2024-06-02T06:00:00Z", "2024-06-03T01:59:00Z", Light.RED, "HTTP 404"),
                new Incident("2024-06-03T23:00:00Z", null, Light.YELLOW, "corte anterior")), List.of(), List.of(), List.of());
        assertThat(incidentsCsv(night, "2024-06-03")).isEqualTo("""
                tipo,inicio (UTC-06:00),fin (UTC-06:00),duracion_segundos,detalle
                portal_no_disponible,2024-05-26 14:00:00,2024-06-02 21:00:00,3600,"HTTP 404"
                corte_anterior,2024-06-03 17:00:00,en curso,25200,"corte anterior"
                """);
    }

    /**
     * A package of a corte before the results had to be on line (an early test package of the institute, corte 12:00)
     * affected no publication: counted apart, not listed among the incidents nor in the CSV. The 20:00 corte refused at
     * 19:50 (early, as the corte gate allows) did: listed. So did a package of an earlier corte refused during the night
     * (a day mistyped in its name, 1 June for 2 June): its results never went on line.
     */
    @Test
    void packagesRefusedBeforeThePublicationStartedAreNotIncidentsOfIt() throws Exception {
        QuarantineReport early = new QuarantineReport("PREP2024_JAL_20240602_1200.zip", "2024-06-02T12:00", "unzip", "NO_INDEX_HTML",
                "no index.html", "2024-06-02T18:00:00Z", "ab", "ab", 1000L, "https://prep.iepcjalisco.mx/paquete", "history");
        QuarantineReport during = new QuarantineReport("PREP2024_JAL_20240602_2120.zip", "2024-06-02T21:20", "checksum-filter", "CHECKSUM_MISMATCH",
                "SHA-256 differs", "2024-06-03T03:30:00Z", "ab", "cd", 1000L, "https://prep.iepcjalisco.mx/paquete", "history");
        QuarantineReport firstCorte = new QuarantineReport("PREP2024_JAL_20240602_2000.zip", "2024-06-02T20:00", "unzip", "NO_BASE_TAG",
                "no base", "2024-06-03T01:50:00Z", "ab", "ab", 1000L, "https://prep.iepcjalisco.mx/paquete", "history");
        QuarantineReport mistyped = new QuarantineReport("PREP2024_JAL_20240601_2100.zip", "2024-06-01T21:00", "corte-gate", "STALE_CORTE",
                "not newer than the published corte", "2024-06-03T03:05:00Z", "ab", "ab", 1000L, "https://prep.iepcjalisco.mx/paquete", "history");
        // and packages published before the opening: a test package of the afternoon, and the 20:00 corte offered early
        var night = new OperationRecords.Night(List.of(), List.of(early, firstCorte, during, mistyped), List.of(), List.of(
                published("PREP2024_JAL_20240602_1500.zip", "2024-06-02 15:00", "2024-06-02T21:01:00Z"),
                published("PREP2024_JAL_20240602_2000.zip", "2024-06-02 20:00", "2024-06-03T01:59:00Z"),
                published("PREP2024_JAL_20240602_2020.zip", "2024-06-02 20:20", "2024-06-03T02:21:00Z")));

        String html = MemoriaReport.html("https://prep.example.mx/", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), PUBLICATION_FROM,
                SiteTrafficTest.figures(SiteTrafficTest.night()), night, Instant.parse("2024-06-12T18:00:00Z"), "pruebas");

        // the cortes of the night, from the opening, as every other line counts; the test package apart
        assertThat(html).contains("Cortes publicados: <span id=\"publicados\">2</span> (del corte 2024-06-02 20:00 al 2024-06-02 20:20)")
                .contains("<span id=\"publicados-antes\">1</span>");
        assertThat(html).contains("Paquetes de Difusión PREP no publicados: <span id=\"rechazados\">3</span>").contains("<span id=\"paquetes-antes\">1</span>")
                .contains("PREP2024_JAL_20240602_2120.zip").contains("PREP2024_JAL_20240602_2000.zip").contains("PREP2024_JAL_20240601_2100.zip")
                .doesNotContain("PREP2024_JAL_20240602_1200.zip");
        assertThat(incidentsCsv(night, "2024-06-03")).contains("PREP2024_JAL_20240602_2120.zip").contains("PREP2024_JAL_20240602_2000.zip")
                .contains("paquete_no_publicado,2024-06-02 21:05:00,,,\"PREP2024_JAL_20240601_2100.zip: ")
                .doesNotContain("PREP2024_JAL_20240602_1200.zip");
    }

    /**
     * One package, one line among the packages not published or published late. A zip replaced at the institute before
     * its manifest (announced A, received B, then B announced and published under the same name) is published late,
     * not "no publicado": only A was looked for. And a package the source failed for two reasons (an HTML page, then
     * timeouts) before it was published counted as two packages published late; one never published, as two refused
     * (one now, since its first failure, for its last reason).
     */
    @Test
    void eachPackageIsOneLineAndAZipAheadOfItsManifestIsPublishedLateNotRefused() throws Exception {
        String bucket = "prep-history-lines";
        s3.createBucket(bucket);
        String url = "https://prep.iepcjalisco.mx/paquete";
        String a = "a".repeat(64);
        String b = "b".repeat(64);
        String c = "c".repeat(64);
        String d = "d".repeat(64);
        java.util.function.BiConsumer<String, QuarantineReport> report = (key, r) -> {
            try {
                store.putJson(bucket, "quarantine/" + key + "/report.json", r);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        report.accept("2120/1", new QuarantineReport("PREP2024_JAL_20240602_2120.zip", "2024-06-02T21:20", "checksum-filter", "CHECKSUM_MISMATCH",
                "SHA-256 differs", "2024-06-03T03:21:00Z", a, b, 1000L, url, "s3://" + bucket + "/q1"));
        report.accept("2140/1", new QuarantineReport("PREP2024_JAL_20240602_2140.zip", "2024-06-02T21:40", "download", "BAD_SOURCE_RESPONSE",
                "an HTML page", "2024-06-03T03:41:00Z", c, null, null, url, null));
        report.accept("2140/2", new QuarantineReport("PREP2024_JAL_20240602_2140.zip", "2024-06-02T21:40", "download", "RETRIES_EXHAUSTED",
                "timed out", "2024-06-03T03:43:00Z", c.toUpperCase(java.util.Locale.ROOT), null, null, url, null));
        report.accept("2200/1", new QuarantineReport("PREP2024_JAL_20240602_2200.zip", "2024-06-02T22:00", "download", "BAD_SOURCE_RESPONSE",
                "an HTML page", "2024-06-03T04:01:00Z", d, null, null, url, null));
        report.accept("2200/2", new QuarantineReport("PREP2024_JAL_20240602_2200.zip", "2024-06-02T22:00", "download", "RETRIES_EXHAUSTED",
                "timed out", "2024-06-03T04:03:00Z", d, null, null, url, null));
        // another package under the name of 22:00, received whole and refused for what it is: a package of its own
        report.accept("2200/3", new QuarantineReport("PREP2024_JAL_20240602_2200.zip", "2024-06-02T22:00", "unzip", "NO_BASE_TAG",
                "no base", "2024-06-03T04:05:00Z", a, a, 1000L, url, "s3://" + bucket + "/q3"));
        store.putJson(bucket, "history/PREP2024_JAL_20240602_2120.zip.json", new HistoryRecord("PREP2024_JAL_20240602_2120.zip", "2024-06-02T21:20",
                b, 1000, "2024-06-03T03:24:00Z", "published", "2024-06-03T03:25:00Z", url));
        store.putJson(bucket, "history/PREP2024_JAL_20240602_2140.zip.json", new HistoryRecord("PREP2024_JAL_20240602_2140.zip", "2024-06-02T21:40",
                c, 1000, "2024-06-03T03:44:00Z", "published", "2024-06-03T03:45:00Z", url));

        var night = new OperationRecords(store, bucket, "history/", "quarantine/", "incidents/")
                .read(Instant.parse("2024-06-03T00:00:00Z"), Instant.parse("2024-06-04T00:00:00Z"));

        assertThat(night.publishedLater()).extracting(r -> r.packageName() + " " + r.reason())
                .containsExactly("PREP2024_JAL_20240602_2120.zip CHECKSUM_MISMATCH", "PREP2024_JAL_20240602_2140.zip BAD_SOURCE_RESPONSE");
        assertThat(night.refused()).extracting(r -> r.packageName() + " " + r.reason())
                .containsExactly("PREP2024_JAL_20240602_2200.zip RETRIES_EXHAUSTED", "PREP2024_JAL_20240602_2200.zip NO_BASE_TAG");
        // not published: since its first failure, for its last reason
        assertThat(night.refused().get(0).time()).isEqualTo("2024-06-03T04:01:00Z");
    }

    /**
     * The incidents CSV is one list in the order things began: it was written kind by kind, so an outage at 23:00 came
     * before the team's note at 21:00. The report lists each package published late as the CSV does (it gave only
     * their count), and a quarantine report without its reason (edited by hand) is shown as such: the report's HTML
     * stopped on it with a NullPointerException, after every log had been read.
     */
    @Test
    void theIncidentsAreListedInTheOrderTheyBeganAndEveryPackageOfTheCsvIsInTheReport() throws Exception {
        QuarantineReport noReason = new QuarantineReport("PREP2024_JAL_20240602_2220.zip", "2024-06-02T22:20", "unzip", null,
                null, "2024-06-03T04:22:00Z", "ab", "ab", 1000L, "https://prep.iepcjalisco.mx/paquete", "history");
        QuarantineReport late = new QuarantineReport("PREP2024_JAL_20240602_2100.zip", "2024-06-02T21:00", "download", "RETRIES_EXHAUSTED",
                "HTTP 503", "2024-06-03T03:02:00Z", "ab", "ab", 1000L, "https://prep.iepcjalisco.mx/paquete", "history");
        var night = new OperationRecords.Night(List.of(new Incident("2024-06-03T05:00:00Z", "2024-06-03T05:04:00Z", Light.RED, "HTTP 503")),
                List.of(noReason), List.of(late), List.of())
                .withTeam(List.of(new mx.prep.difusor.memoria.TeamLog.TeamIncident(Instant.parse("2024-06-03T03:00:00Z"),
                        Instant.parse("2024-06-03T03:10:00Z"), "Llamada del Instituto")));

        assertThat(incidentsCsv(night, "2024-06-03").lines().skip(1).map(l -> l.substring(0, l.indexOf(','))).toList())
                .containsExactly("anotada_por_el_equipo", "paquete_publicado_con_retraso", "paquete_no_publicado", "portal_no_disponible");
        String html = MemoriaReport.html("https://prep.example.mx/", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), PUBLICATION_FROM,
                SiteTrafficTest.figures(SiteTrafficTest.night()), night, Instant.parse("2024-06-12T18:00:00Z"), "pruebas");
        // the time a report holds is when the package was refused or failed, not when it arrived
        assertThat(html).contains("<table id=\"paquetes-con-retraso\">").contains("<th>Fecha y hora de la falla o del rechazo</th>").contains("<td>PREP2024_JAL_20240602_2100.zip</td>")
                .contains("<td>PREP2024_JAL_20240602_2220.zip</td><td>motivo no registrado</td><td>descompresión</td>");
    }

    /**
     * A data file of the site failing while the page is up is no older corte: its own type, its own total, not the time
     * behind. And the availability is cut, not rounded, to the decimals shown: 101 s down in 28 hours is 99.8998 %,
     * which read "99.900 %" beside "no se cumplió".
     */
    @Test
    void aPageWithoutItsDataIsNoOlderCorteAndTheAvailabilityShownAgreesWithItsVerdict() throws Exception {
        var night = new OperationRecords.Night(List.of(
                new Incident("2024-06-03T04:00:00Z", "2024-06-03T04:01:41Z", Light.RED, "https://prep.example.mx/ unreachable: java.net.ConnectException: Connection refused"),
                new Incident("2024-06-03T05:00:00Z", "2024-06-03T05:10:00Z", Light.YELLOW, "up, but data/corte.json answered HTTP 404 (published corte 2024-06-02 22:40)"),
                new Incident("2024-06-03T06:00:00Z", "2024-06-03T06:05:00Z", Light.YELLOW,
                        "up, but not the index.html of the published corte 2024-06-02 23:40 (a stale cache?)")), List.of(), List.of(), List.of());

        String html = MemoriaReport.html("https://prep.example.mx/", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), PUBLICATION_FROM,
                SiteTrafficTest.figures(SiteTrafficTest.night()), night, Instant.parse("2024-06-12T18:00:00Z"), "pruebas");

        assertThat(html).contains("<b id=\"disponibilidad\">99.899 %</b>").contains("no se cumplió")
                .contains("(por ejemplo, la caché del CDN sin actualizar): 0 h 05 min 00 s")
                .contains("<span id=\"sin-datos\">0 h 10 min 00 s</span>")
                .contains("<td>El portal no entregaba sus datos</td>")
                // the probe's one request in the logs is at 05:00; of the other 27 hours, the one of the outage it saw start and
                // end (22:00) was watched: in the availability, not listed as unmonitored; the yellows' hours stay listed
                .contains("<span id=\"sin-monitoreo\">26</span> (2024-06-02 20:00:00 a 2024-06-02 21:59:59; 2024-06-02 23:00:00 a 2024-06-03 04:59:59;"
                        + " 2024-06-03 06:00:00 a 2024-06-03 23:59:59)")
                // of those 26, 20 hold no request of anyone (requests at 20, 21, 23, 0, 6 and 7 h): the logs are what is
                // missing there, said up front, with every hour of the period without a log
                .contains("; 20 de ellas no tienen ningún registro de acceso (véase «Horas sin registros de acceso»)</li>")
                .contains("<b>Horas sin registros de acceso:</b> <span id=\"sin-registros\">41</span> del periodo no tienen ninguna solicitud"
                        + " en los registros de CloudFront, ni siquiera del monitoreo del Difusor (2024-06-02 00:00:00 a 2024-06-02 19:59:59; "
                        + "2024-06-02 22:00:00 a 2024-06-02 22:59:59; 2024-06-03 01:00:00 a 2024-06-03 04:59:59; 2024-06-03 08:00:00 a 2024-06-03 23:59:59)");
        assertThat(incidentsCsv(night, "2024-06-03").lines().map(l -> l.substring(0, l.indexOf(','))))
                .containsExactly("tipo", "portal_no_disponible", "datos_no_disponibles", "corte_anterior");
    }

    /**
     * One outage both replicas recorded is one incident; a yellow that changed kind is two, the first ending where the
     * second begins, each its own type in the report (merged, the second's time counted as the first's kind).
     */
    @Test
    void aYellowThatChangedKindStaysTwoIncidentsWhileOneOutageTwoReplicasRecordedIsOne() {
        List<Incident> merged = OperationRecords.merged(new java.util.ArrayList<>(List.of(
                new Incident("2024-06-03T05:00:00Z", "2024-06-03T05:10:00Z", Light.YELLOW, "up, but data/corte.json answered HTTP 404 (published corte 2024-06-02 22:40)"),
                new Incident("2024-06-03T05:10:00Z", "2024-06-03T05:40:00Z", Light.YELLOW,
                        "up, but not the index.html of the published corte 2024-06-02 22:40 (a stale cache?)"),
                new Incident("2024-06-03T06:00:00Z", "2024-06-03T06:05:00Z", Light.RED, "https://prep.example.mx/ unreachable: timeout"),
                new Incident("2024-06-03T06:00:01Z", "2024-06-03T06:05:30Z", Light.RED, "https://prep.example.mx/ unreachable: timeout"))));

        assertThat(merged).extracting(Incident::start, Incident::end).containsExactly(
                org.assertj.core.groups.Tuple.tuple("2024-06-03T05:00:00Z", "2024-06-03T05:10:00Z"),
                org.assertj.core.groups.Tuple.tuple("2024-06-03T05:10:00Z", "2024-06-03T05:40:00Z"),
                org.assertj.core.groups.Tuple.tuple("2024-06-03T06:00:00Z", "2024-06-03T06:05:30Z"));
        assertThat(merged.get(1).dataMissing()).isFalse();
        // a start with a fraction of a second sorts after the whole second as text, not in time
        assertThat(OperationRecords.merged(new java.util.ArrayList<>(List.of(
                new Incident("2024-06-03T03:00:12.5Z", "2024-06-03T03:00:20Z", Light.RED, "https://prep.example.mx/ unreachable: timeout"),
                new Incident("2024-06-03T03:00:12Z", "2024-06-03T03:00:13Z", Light.RED, "https://prep.example.mx/ unreachable: timeout")))))
                .extracting(Incident::start, Incident::end)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("2024-06-03T03:00:12Z", "2024-06-03T03:00:20Z"));
    }

    /**
     * Pod A saw an outage from 06:00 to 06:05; pod B from 06:00:30, stopped, and its replacement's first probe ended it
     * at 06:09: merged, the outage runs to 06:09 on pod B's record, which nobody watched to its end. It kept pod A's
     * detail alone and read as seen throughout: its hours were not listed as unmonitored. A later end from a watched
     * record leaves it watched.
     */
    @Test
    void anOutageMergedWithARecordNobodyWatchedToItsEndIsNotWatchedThroughout() {
        String timeout = "https://prep.example.mx/ unreachable: timeout";
        List<Incident> merged = OperationRecords.merged(new java.util.ArrayList<>(List.of(
                new Incident("2024-06-03T06:00:00Z", "2024-06-03T06:05:00Z", Light.RED, timeout),
                new Incident("2024-06-03T06:00:30Z", "2024-06-03T06:09:00Z", Light.RED, timeout + mx.prep.difusor.probe.InstituteProbe.ENDED_AFTER_RESTART),
                new Incident("2024-06-03T08:00:00Z", "2024-06-03T08:05:00Z", Light.RED, timeout),
                new Incident("2024-06-03T08:00:30Z", "2024-06-03T08:04:00Z", Light.RED, timeout + mx.prep.difusor.probe.InstituteProbe.ENDED_AFTER_RESTART))));
        assertThat(merged).extracting(Incident::start, Incident::end, Incident::detail).containsExactly(
                org.assertj.core.groups.Tuple.tuple("2024-06-03T06:00:00Z", "2024-06-03T06:09:00Z", timeout + mx.prep.difusor.probe.InstituteProbe.ENDED_AFTER_RESTART),
                org.assertj.core.groups.Tuple.tuple("2024-06-03T08:00:00Z", "2024-06-03T08:05:00Z", timeout));
    }

    /**
     * Only an outage the probe saw start and end vouches for its hours: one left open when the pods stopped and ended by
     * the first probe after they came back, one carried on by the restarted process, or one still open, spans time
     * nobody watched.
     */
    @Test
    void anOutageNobodyWatchedToItsEndLeavesItsHoursUnmonitored() throws Exception {
        var figures = SiteTrafficTest.figures(SiteTrafficTest.night());
        Instant from = PUBLICATION_FROM.atZone(SiteTrafficTest.MEXICO_CITY).toInstant();
        Instant to = Instant.parse("2024-06-04T06:00:00Z");
        var time = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(SiteTrafficTest.MEXICO_CITY);
        List<Incident> incidents = List.of(
                new Incident("2024-06-03T04:00:00Z", "2024-06-03T04:30:00Z", Light.RED, "https://prep.example.mx/ unreachable: timeout"),
                new Incident("2024-06-03T12:00:00Z", "2024-06-03T15:00:00Z", Light.RED, "https://prep.example.mx/ unreachable: timeout"
                        + mx.prep.difusor.probe.InstituteProbe.ENDED_AFTER_RESTART),
                new Incident("2024-06-04T04:30:00Z", null, Light.RED, "https://prep.example.mx/ unreachable: timeout"),
                // one a restarted process carried on to its end: the restart's gap was not watched either
                new Incident("2024-06-03T16:00:00Z", "2024-06-03T17:30:00Z", Light.RED, "https://prep.example.mx/ unreachable: timeout"
                        + mx.prep.difusor.probe.InstituteProbe.CARRIED_AFTER_RESTART));

        assertThat(MemoriaReport.unmonitored(figures, incidents, from, to, Instant.parse("2024-06-12T18:00:00Z"), time))
                // of the 27 hours without the probe's request, only 22:00 on the 2nd is vouched for
                .contains("<span id=\"sin-monitoreo\">26</span> (2024-06-02 20:00:00 a 2024-06-02 21:59:59; 2024-06-02 23:00:00 a 2024-06-03 04:59:59;"
                        + " 2024-06-03 06:00:00 a 2024-06-03 23:59:59)");
    }

    /**
     * A corte on line more than 40 minutes after its own time (nobody leading, a download that never ended): the
     * probe saw nothing wrong, since it compares the site with what the difusor published, and the memoria said the
     * night had no incident. An operator's republish of an older corte is no delay.
     */
    @Test
    void aCortePublishedLongAfterItsTimeIsReported() {
        var night = new OperationRecords.Night(List.of(), List.of(), List.of(), List.of(
                published("PREP2024_JAL_20240602_2000.zip", "2024-06-02 20:00", "2024-06-03T02:10:00Z"),
                published("PREP2024_JAL_20240602_2020.zip", "2024-06-02 20:20", "2024-06-03T03:25:00Z"),
                published("PREP2024_JAL_20240602_2100.zip", "2024-06-02 21:00", "2024-06-03T03:30:00Z"),
                published("PREP2024_JAL_20240602_2000.zip", "2024-06-02 20:00", "2024-06-03T04:00:00Z")));
        assertThat(incidentsCsv(night, "2024-06-03")).isEqualTo("""
                tipo,inicio (UTC-06:00),fin (UTC-06:00),duracion_segundos,detalle
                corte_publicado_con_demora,2024-06-02 20:20:00,2024-06-02 21:25:00,3900,"PREP2024_JAL_20240602_2020.zip: corte 2024-06-02 20:20"
                corte_desactualizado_en_linea,2024-06-02 20:40:00,2024-06-02 21:25:00,2700,"se mostraba PREP2024_JAL_20240602_2000.zip (corte 2024-06-02 20:00); siguiente: PREP2024_JAL_20240602_2020.zip (corte 2024-06-02 20:20)"
                corte_desactualizado_en_linea,2024-06-02 21:25:00,2024-06-02 21:30:00,300,"se mostraba PREP2024_JAL_20240602_2020.zip (corte 2024-06-02 20:20); siguiente: PREP2024_JAL_20240602_2100.zip (corte 2024-06-02 21:00)"
                """);
    }

    /**
     * Nobody led from 20:15 to 21:05, and with a manifest only the newest corte is on offer: 20:20 and 20:40 were never
     * fetched, and 21:00 went on line at 21:05, on time. The public saw the 20:00 corte for an hour; the probe, comparing
     * with what was published, saw nothing, and no corte was late: the memoria said nothing. Likewise a first corte on
     * line at 21:00, when the results had to be there from 20:00. The last corte of the night stays on line for days,
     * and counts for nothing.
     */
    @Test
    void aCorteOnLineLongAfterItsTimeWhileNewerOnesCameIsReportedThoughTheNextWasOnTime() {
        var skipped = new OperationRecords.Night(List.of(), List.of(), List.of(), List.of(
                published("PREP2024_JAL_20240602_2000.zip", "2024-06-02 20:00", "2024-06-03T02:05:00Z"),
                published("PREP2024_JAL_20240602_2100.zip", "2024-06-02 21:00", "2024-06-03T03:05:00Z")));
        assertThat(incidentsCsv(skipped, "2024-06-09")).isEqualTo("""
                tipo,inicio (UTC-06:00),fin (UTC-06:00),duracion_segundos,detalle
                corte_desactualizado_en_linea,2024-06-02 20:40:00,2024-06-02 21:05:00,1500,"se mostraba PREP2024_JAL_20240602_2000.zip (corte 2024-06-02 20:00); siguiente: PREP2024_JAL_20240602_2100.zip (corte 2024-06-02 21:00)"
                """);

        var lateFirst = new OperationRecords.Night(List.of(), List.of(), List.of(), List.of(
                published("PREP2024_JAL_20240602_2100.zip", "2024-06-02 21:00", "2024-06-03T03:00:00Z")));
        assertThat(incidentsCsv(lateFirst, "2024-06-09")).isEqualTo("""
                tipo,inicio (UTC-06:00),fin (UTC-06:00),duracion_segundos,detalle
                corte_desactualizado_en_linea,2024-06-02 20:40:00,2024-06-02 21:00:00,1200,"sin corte publicado; siguiente: PREP2024_JAL_20240602_2100.zip (corte 2024-06-02 21:00)"
                """);
    }

    /** The incidents' CSV of a night whose period ends on {@code to}, written on 12 June. */
    private static String incidentsCsv(OperationRecords.Night night, String to) {
        return MemoriaReport.incidentsCsv(night, Instant.parse("2024-06-12T18:00:00Z"), SiteTrafficTest.MEXICO_CITY, PUBLICATION_FROM,
                LocalDate.parse(to));
    }

    private static HistoryRecord published(String name, String corte, String at) {
        return new HistoryRecord(name, corte, "ab".repeat(32), 1000, at, "published", at, "https://prep.example.mx/" + name);
    }

    /** The report is in Spanish: the probe's details, written for the log in English, are put into Spanish. */
    @Test
    void theProbesDetailsAreReportedInSpanish() {
        assertThat(MemoriaReport.detalle("https://prep.example.mx/ unreachable: java.net.ConnectException: Connection refused"))
                .isEqualTo("https://prep.example.mx/ no respondió: java.net.ConnectException: Connection refused");
        assertThat(MemoriaReport.detalle("https://prep.example.mx/ unreachable: no whole answer within 10000 ms"))
                .isEqualTo("https://prep.example.mx/ no entregó la respuesta completa en 10000 ms");
        assertThat(MemoriaReport.detalle("https://prep.example.mx/ answered HTTP 301 to https://otro.example/ (the institute expects 200)"))
                .isEqualTo("https://prep.example.mx/ respondió HTTP 301 con redirección a https://otro.example/ (el Instituto espera 200)");
        assertThat(MemoriaReport.detalle("https://prep.example.mx/ has no <base> tag (ended by the first probe after a restart)"))
                .isEqualTo("https://prep.example.mx/ no tiene la etiqueta <base> (terminada por la primera verificación tras un reinicio)");
        assertThat(MemoriaReport.detalle("up, but not the index.html of the published corte 2024-06-02T23:40 (a stale cache?)"))
                .isEqualTo("en línea, pero sin el index.html del corte publicado 2024-06-02T23:40 (¿caché desactualizada?)");
        assertThat(MemoriaReport.detalle("up, but not the index.html of the published corte 2024-06-02T23:40 (a stale cache?) (seen by pod "
                + "prep-difusor-7c9f-b; this pod: https://prep.example.mx/ unreachable: java.net.http.HttpTimeoutException: request timed out)"))
                .isEqualTo("en línea, pero sin el index.html del corte publicado 2024-06-02T23:40 (¿caché desactualizada?) (registrado por la réplica"
                        + " del monitoreo prep-difusor-7c9f-b; esta réplica: https://prep.example.mx/ no respondió: java.net.http.HttpTimeoutException: request timed out)");
        // its times in the report's zone, as every other time of the report
        assertThat(MemoriaReport.detalle("https://prep.example.mx/ answered HTTP 503 (the institute expects 200) (ended by pod pod-b: pod pod-a"
                + " stopped probing, its last probe at 2024-06-03T04:00:00Z; this pod saw the page up at 2024-06-03T04:11:00.250Z)",
                java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(SiteTrafficTest.MEXICO_CITY)))
                .isEqualTo("https://prep.example.mx/ respondió HTTP 503 (el Instituto espera 200) (terminada por la réplica del monitoreo pod-b: la réplica"
                        + " pod-a dejó de verificar, su última verificación a las 2024-06-02 22:00:00; esta réplica vio la página en línea a las 2024-06-02 22:11:00)");
        // the files of difusor.probe.also-compare
        assertThat(MemoriaReport.detalle("up, but not the data/corte.json of the published corte 2024-06-02 23:40 (a stale cache?)"))
                .isEqualTo("en línea, pero sin el data/corte.json del corte publicado 2024-06-02 23:40 (¿caché desactualizada?)");
        assertThat(MemoriaReport.detalle("up, but data/corte.json answered HTTP 404 (published corte 2024-06-02 23:40)"))
                .isEqualTo("en línea, pero data/corte.json respondió HTTP 404 (corte publicado 2024-06-02 23:40)");
        assertThat(MemoriaReport.detalle("HTTP 503 from the CDN")).isEqualTo("HTTP 503 from the CDN");
    }

    /** A JDK still applying Mexico's abolished summer time would shift every hour of the report: it stops instead. */
    @Test
    void aJdkWithOldTimeZoneRulesForMexicoStopsTheReport() {
        MemoriaTecnica.requireCurrentRules("America/Mexico_City", java.time.ZoneOffset.ofHours(-6), LocalDate.parse("2024-06-02"));
        MemoriaTecnica.requireCurrentRules("America/Mexico_City", java.time.ZoneOffset.ofHours(-5), LocalDate.parse("2021-06-06"));
        assertThatThrownBy(() -> MemoriaTecnica.requireCurrentRules("America/Mexico_City", java.time.ZoneOffset.ofHours(-5),
                LocalDate.parse("2024-06-02"))).isInstanceOf(IllegalStateException.class).hasMessageContaining("17.0.6");
        // this JDK's own rules pass
        MemoriaTecnica.requireCurrentRules("America/Mexico_City", SiteTrafficTest.MEXICO_CITY.getRules().getOffset(
                LocalDate.parse("2024-06-02").atTime(12, 0)), LocalDate.parse("2024-06-02"));
    }

    @Test
    void logsDownloadedToAFolderGiveTheSameFigures(@TempDir Path logs, @TempDir Path out) throws Exception {
        List<CloudFrontLogs> night = SiteTrafficTest.night();
        for (int i = 0; i < night.size(); i++) {
            Files.write(logs.resolve("E2QWRUHAPOMQZL.2024-06-03-0" + i + ".abc" + i + ".gz"), night.get(i).gzip());
        }
        // copies an operator left behind: one unzipped beside its .gz (gunzip -k), one synced into a second folder, one
        // under a logging prefix without a slash
        Files.write(logs.resolve("E2QWRUHAPOMQZL.2024-06-03-00.abc0"), new java.util.zip.GZIPInputStream(
                new java.io.ByteArrayInputStream(night.get(0).gzip())).readAllBytes());
        Files.write(Files.createDirectories(logs.resolve("otra-copia")).resolve("E2QWRUHAPOMQZL.2024-06-03-01.abc1.gz"), night.get(1).gzip());
        Files.write(logs.resolve("prep-E2QWRUHAPOMQZL.2024-06-03-02.abc2.gz"), night.get(2).gzip());
        // another site's distribution logging to the same place: not the PREP's traffic
        Files.write(logs.resolve("E9OTROSITIO0001.2024-06-03-02.xyz9.gz"), night.get(0).gzip());

        var written = memoria().site(List.of("E2QWRUHAPOMQZL"), "").write("", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), PUBLICATION_FROM, SiteTrafficTest.MEXICO_CITY, logs.toString(), out);

        // each file once: the copies add nothing
        assertThat(written.logFiles()).isEqualTo(3);
        // the .gz read, not its unzipped copy (which may be cut short); a name CloudFront does not give is no copy
        assertThat(MemoriaTecnica.readOnce(List.of(logFile("logs/E2QWRUHAPOMQZL.2024-06-03-00.abc0"), logFile("logs/E2QWRUHAPOMQZL.2024-06-03-00.abc0.gz"),
                logFile("logs/06-02/access.log.gz"), logFile("logs/06-03/access.log.gz"))).stream().map(MemoriaTecnica.LogFile::name))
                .containsExactly("logs/E2QWRUHAPOMQZL.2024-06-03-00.abc0.gz", "logs/06-02/access.log.gz", "logs/06-03/access.log.gz");
        // a logging prefix ending in digits or capitals runs into the distribution's id: still that distribution's file
        assertThat(MemoriaTecnica.readOnce(List.of(logFile("logs/prep2024E2QWRUHAPOMQZL.2024-06-03-00.abc0.gz"),
                logFile("logs/E2QWRUHAPOMQZL.2024-06-03-00.abc0.gz")), java.util.Set.of("E2QWRUHAPOMQZL")))
                .extracting(MemoriaTecnica.LogFile::name).hasSize(1);
        assertThat(written.figures().total()).isEqualTo(new SiteTraffic.Day(null, 11, 10, 5, 5, 4, 1, 1));
        // no probe configured: the incidents on record are no measure of the time the page was up
        assertThat(Files.readString(written.html())).contains("<b id=\"disponibilidad\">no medida</b>").doesNotContain("99.940")
                .doesNotContain("Borrador")
                // the other distribution is said, not silently dropped: it may be the one the night was served from
                .contains("registros de otras distribuciones de CloudFront, no contados: E9OTROSITIO0001")
                // and what a page counts before the first corte
                .contains("la página de espera se recarga automáticamente cada minuto");
    }

    /**
     * A log file cut short (its gzip trailer missing): fetched again it reads the same, so the report is still written,
     * with what it held before the fault (its requests and its unreadable lines), and says at its top and in its notes that its figures lack a part of it. A
     * file that is no log at all (an error page saved under a log's name) is left out and named in the sources, with no
     * claim that anything is missing; when no file is a log, the command still stops.
     */
    @Test
    void aDamagedLogFileIsNamedInTheReportWhichStillCountsEveryOtherFile(@TempDir Path logs, @TempDir Path alone, @TempDir Path out) throws Exception {
        List<CloudFrontLogs> night = SiteTrafficTest.night();
        Files.write(logs.resolve("E2QWRUHAPOMQZL.2024-06-03-00.abc0.gz"), night.get(0).gzip());
        var good = memoria().write("", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), PUBLICATION_FROM, SiteTrafficTest.MEXICO_CITY,
                logs.toString(), alone);
        // with a line no request can be read from, before the fault
        byte[] third = night.get(2).line("2024-06-03\tgarbled").gzip();
        Files.write(logs.resolve("E2QWRUHAPOMQZL.2024-06-03-05.cut5.gz"), java.util.Arrays.copyOf(third, third.length - 8));
        Files.writeString(logs.resolve("E2QWRUHAPOMQZL.2024-06-03-06.bad6.gz"), "<html><body>503 Service Unavailable</body></html>\n");

        var written = memoria().write("", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), PUBLICATION_FROM, SiteTrafficTest.MEXICO_CITY,
                logs.toString(), out);

        assertThat(written.logFiles()).isEqualTo(2);
        assertThat(written.figures().unreadableFiles()).containsExactly(logs.resolve("E2QWRUHAPOMQZL.2024-06-03-05.cut5.gz") + ": cortado antes de su fin");
        // the whole of the good file, and no more than the cut file held
        assertThat(written.figures().total().requests()).isBetween(good.figures().total().requests(),
                good.figures().total().requests() + 3);
        assertThat(written.figures().unreadableLines()).as("the cut file's bad line is counted").isEqualTo(good.figures().unreadableLines() + 1);
        String html = Files.readString(written.html());
        assertThat(html).contains("<p id=\"incompleta\"><b>Cifras incompletas:</b> 1 archivo de registro de acceso no pudo leerse en su totalidad")
                .contains("<span id=\"archivos-ilegibles\">1</span>").contains("E2QWRUHAPOMQZL.2024-06-03-05.cut5.gz: cortado antes de su fin")
                .contains("no son registros de acceso de CloudFront, no se leyeron: " + logs.resolve("E2QWRUHAPOMQZL.2024-06-03-06.bad6.gz"));
        assertThat(Files.readString(good.html())).doesNotContain("incompleta").doesNotContain("archivos-ilegibles");

        // only files that are no logs: no report
        Path strays = Files.createDirectories(alone.resolve("strays"));
        Files.writeString(strays.resolve("E2QWRUHAPOMQZL.2024-06-03-06.bad6.gz"), "<html><body>503 Service Unavailable</body></html>\n");
        assertThatThrownBy(() -> memoria().write("", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), PUBLICATION_FROM,
                SiteTrafficTest.MEXICO_CITY, strays.toString(), alone.resolve("out2"))).isInstanceOf(IOException.class)
                .hasMessageContaining("no CloudFront access log").hasMessageContaining("bad6.gz");
    }

    private static MemoriaTecnica.LogFile logFile(String name) {
        return new MemoriaTecnica.LogFile(name, () -> new java.io.ByteArrayInputStream(new byte[0]));
    }

    /** Written on 4 June for 2 to 3 June: CloudFront's last logs of the 3rd may still come, so the report says it is a draft. */
    @Test
    void aReportWrittenBeforeTheLastLogsCanHaveComeIsADraft(@TempDir Path logs, @TempDir Path out) throws Exception {
        Files.write(logs.resolve("E2QWRUHAPOMQZL.2024-06-03-00.abc0.gz"), SiteTrafficTest.night().get(0).gzip());
        var early = new MemoriaTecnica(store, new OperationRecords(store, "prep-history", "history/", "quarantine/", "incidents/"),
                Clock.fixed(Instant.parse("2024-06-04T12:00:00Z"), ZoneOffset.UTC));

        var written = early.write("", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), PUBLICATION_FROM, SiteTrafficTest.MEXICO_CITY,
                logs.toString(), out);

        assertThat(Files.readString(written.html())).contains("<p id=\"borrador\"><b>Borrador:</b> elaborada antes del 2024-06-05 00:00:00");
        // the CSVs, which go into the institute's format, say it in their names
        assertThat(written.dailyCsv().getFileName()).hasToString("estadisticas-diarias-borrador.csv");
        assertThat(written.incidentsCsv().getFileName()).hasToString("incidencias-borrador.csv");
        assertThat(out.resolve("estadisticas-diarias.csv")).doesNotExist();

        // written again once the logs are in: the final files, and the draft's gone
        var late = new MemoriaTecnica(store, new OperationRecords(store, "prep-history", "history/", "quarantine/", "incidents/"),
                Clock.fixed(Instant.parse("2024-06-05T06:00:00Z"), ZoneOffset.UTC));
        var final_ = late.write("", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), PUBLICATION_FROM, SiteTrafficTest.MEXICO_CITY,
                logs.toString(), out);
        assertThat(final_.dailyCsv().getFileName()).hasToString("estadisticas-diarias.csv");
        assertThat(out.resolve("estadisticas-diarias-borrador.csv")).doesNotExist();
        assertThat(out.resolve("incidencias-borrador.csv")).doesNotExist();
        assertThat(Files.readString(final_.html())).doesNotContain("Borrador");
    }

    /**
     * The memoria given the pods' signing key: the logs' probe line has the probe's name and no signature (someone
     * else's program, or pods that signed with another key), so it is an automated request, and the report says why no
     * hour can be vouched for instead of saying the logs hold no probe request.
     */
    @Test
    void withASigningKeyAProbeLineWithoutItsSignatureIsAnAutomatedRequest(@TempDir Path logs, @TempDir Path out) throws Exception {
        List<CloudFrontLogs> night = SiteTrafficTest.night();
        for (int i = 0; i < night.size(); i++) {
            Files.write(logs.resolve("E2QWRUHAPOMQZL.2024-06-03-0" + i + ".abc" + i + ".gz"), night.get(i).gzip());
        }
        var signing = new MemoriaTecnica(store, new OperationRecords(store, "prep-history", "history/", "quarantine/", "incidents/"),
                mx.prep.difusor.probe.ProbeSignature.of("clave-de-la-sonda"), Clock.fixed(Instant.parse("2024-06-12T18:00:00Z"), ZoneOffset.UTC));

        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        MemoriaTecnica.Written written;
        try (AutoCloseable capture = mx.prep.difusor.testing.CapturedLogs.capture(logged)) {
            written = signing.write("https://prep.example.mx/", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), PUBLICATION_FROM,
                    SiteTrafficTest.MEXICO_CITY, logs.toString(), out);
        }

        // as logsDownloadedToAFolderGiveTheSameFigures, and the probe's line one more automated request
        assertThat(written.figures().total()).isEqualTo(new SiteTraffic.Day(null, 12, 10, 5, 5, 4, 1, 2));
        assertThat(written.figures().probeRequests()).isZero();
        assertThat(Files.readString(written.html())).contains("<span id=\"sin-firma\">1</span>) se cuentan como solicitudes automáticas")
                .contains("ninguna solicitud con el nombre del monitoreo del Difusor lleva una firma válida");
        // and the operator is told at once that the key may be the wrong one
        assertThat(logged).anySatisfy(line -> assertThat(line).startsWith("none of the 1 requests with the probe's name verifies"));
    }

    /**
     * Logs whose probe requests are signed, read without a key: the bare name would let anyone's copy pass for the probe,
     * so the command says the pods' key is missing.
     */
    @Test
    void signedProbeRequestsReadWithoutAKeyAreWarnedAbout(@TempDir Path logs, @TempDir Path out) throws Exception {
        Instant at = Instant.parse("2024-06-02T18:00:00Z");
        Files.write(logs.resolve("E2QWRUHAPOMQZL.2024-06-02-18.s1.gz"), new CloudFrontLogs()
                .request(at.toString(), "10.0.1.17", mx.prep.difusor.probe.ProbeSignature.of("clave-de-la-sonda").userAgent(at), "/", 200, "text/html")
                .gzip());
        List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        MemoriaTecnica.Written written;
        try (AutoCloseable capture = mx.prep.difusor.testing.CapturedLogs.capture(logged)) {
            written = memoria().write("https://prep.example.mx/", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), PUBLICATION_FROM,
                    SiteTrafficTest.MEXICO_CITY, logs.toString(), out);
        }

        assertThat(written.figures().probeRequests()).isEqualTo(1);
        assertThat(logged).anySatisfy(line -> assertThat(line)
                .startsWith("1 probe requests are signed, and difusor.probe.signing-key is empty here"));
    }

    @Test
    void theCommandRunsOnTheServicesOwnConfiguration(@TempDir Path out) throws Exception {
        // application.properties from the working directory, overridden as in the pod (here by -D, there by environment)
        Map<String, String> overrides = new HashMap<>(Map.of("difusor.s3.endpoint", s3.endpoint().toString(), "difusor.s3.path-style", "true",
                "difusor.history.bucket", "prep-history", "difusor.memoria.logs", "s3://cdn-logs/cloudfront/",
                "difusor.memoria.to", "2024-06-03", "difusor.memoria.out", out.toString(), "difusor.probe.url", "https://prep.example.mx/",
                "aws.accessKeyId", EmbeddedS3.ACCESS_KEY, "aws.secretAccessKey", EmbeddedS3.SECRET_KEY));
        // the institute's checks (here the night's one curl request, a 404) are in no figure
        overrides.put("difusor.memoria.monitor-addresses", "189.203.1.0/24");
        runCommand(overrides);

        // from difusor.memoria.from in application.properties, 2 June, to the 3rd, in difusor.corte-zone
        assertThat(Files.readAllLines(out.resolve("estadisticas-diarias.csv"))).containsExactly(
                "\uFEFFfecha (UTC-06:00),visitas,visitantes,paginas,accesos,solicitudes,errores,solicitudes_automaticas", "2024-06-02,4,3,4,6,6,0,0",
                "2024-06-03,1,2,1,4,4,0,0", "total,5,4,5,10,10,0,0");
        assertThat(Files.readString(out.resolve("memoria-tecnica.html"))).contains("https://prep.example.mx/").contains("99.940 %")
                .contains("verificaciones de disponibilidad del Instituto (desde 189.203.1.0/24: <span id=\"monitoreo-instituto\">1</span>)");
        assertThat(out.resolve("incidencias.csv")).exists();
    }

    /** The memoria command, as in the pod: -D here, environment variables there, over application.properties. */
    private static void runCommand(Map<String, String> overrides) throws Exception {
        Map<String, String> before = new HashMap<>();
        overrides.forEach((k, v) -> before.put(k, System.setProperty(k, v)));
        try {
            MemoriaTecnica.main(new String[0]);
        } finally {
            before.forEach((k, v) -> {
                if (v == null) {
                    System.clearProperty(k);
                } else {
                    System.setProperty(k, v);
                }
            });
        }
    }

    /**
     * The probe's key changed on 3 June at 06:00 (it leaked): the command given the new key and the old one as a previous
     * key, with that time, still takes the requests signed with the old one before it for the probe's; the bare name,
     * and the old key used after the change, are someone else's.
     */
    @Test
    void aKeyChangedDuringThePeriodStillVerifiesTheRequestsSignedBeforeTheChange(@TempDir Path logs, @TempDir Path out) throws Exception {
        Instant before = Instant.parse("2024-06-02T18:00:00Z");
        Instant after = Instant.parse("2024-06-03T18:00:00Z");
        Files.write(logs.resolve("E2QWRUHAPOMQZL.2024-06-03-18.k1.gz"), new CloudFrontLogs()
                .request(before.toString(), "10.0.1.17", mx.prep.difusor.probe.ProbeSignature.of("clave-filtrada").userAgent(before), "/", 200, "text/html")
                .request(after.toString(), "10.0.1.17", mx.prep.difusor.probe.ProbeSignature.of("clave-nueva").userAgent(after), "/", 200, "text/html")
                .request("2024-06-03T19:00:00Z", "45.1.2.3", mx.prep.difusor.probe.ProbeSignature.USER_AGENT, "/", 200, "text/html")
                .request("2024-06-03T20:00:00Z", "45.1.2.3", mx.prep.difusor.probe.ProbeSignature.of("clave-filtrada")
                        .userAgent(Instant.parse("2024-06-03T20:00:00Z")), "/", 200, "text/html").gzip());

        Map<String, String> overrides = new HashMap<>(Map.of("difusor.s3.endpoint", s3.endpoint().toString(), "difusor.s3.path-style", "true",
                "difusor.history.bucket", "prep-history", "difusor.memoria.logs", logs.toString(), "difusor.memoria.to", "2024-06-03",
                "difusor.memoria.out", out.toString(), "aws.accessKeyId", EmbeddedS3.ACCESS_KEY, "aws.secretAccessKey", EmbeddedS3.SECRET_KEY));
        overrides.put("difusor.probe.signing-key", "clave-nueva");
        overrides.put("difusor.probe.previous-signing-keys", " clave-filtrada@2024-06-03T06:00:00-06:00, ");
        runCommand(overrides);

        // two probe requests, one with each key; the bare name and the leaked key after the change two automated requests
        assertThat(Files.readString(out.resolve("memoria-tecnica.html"))).contains("<span id=\"sin-firma\">2</span>");
        assertThat(Files.readAllLines(out.resolve("estadisticas-diarias.csv"))).contains("total,0,0,0,0,2,0,2");
    }

    @Test
    void aLogBucketWhoseNameHasDotsAndDigits(@TempDir Path out) throws Exception {
        s3.createBucket("cdn.logs.2024");
        client.putObject(b -> b.bucket("cdn.logs.2024").key("cf/E2QWRUHAPOMQZL.2024-06-03-02.1f.gz"),
                RequestBody.fromBytes(SiteTrafficTest.night().get(0).gzip()));

        var written = memoria().write("", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), PUBLICATION_FROM,
                SiteTrafficTest.MEXICO_CITY, "s3://cdn.logs.2024/cf/", out);

        assertThat(written.logFiles()).isEqualTo(1);
        assertThat(written.figures().total().requests()).isEqualTo(6);
    }

    @Test
    void aPeriodWithoutAnyAccessLogIsAnErrorThatSaysWhereItLooked(@TempDir Path out) {
        assertThatThrownBy(() -> memoria().write("", LocalDate.parse("2024-07-01"), LocalDate.parse("2024-07-02"), PUBLICATION_FROM, SiteTrafficTest.MEXICO_CITY, "s3://cdn-logs/cloudfront/", out))
                .isInstanceOf(IOException.class).hasMessageContaining("s3://cdn-logs/cloudfront/").hasMessageContaining("standard logging");
        assertThat(out.resolve("memoria-tecnica.html")).doesNotExist();
    }
}
