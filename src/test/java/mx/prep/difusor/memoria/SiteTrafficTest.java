package mx.prep.difusor.memoria;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import mx.prep.difusor.memoria.AccessLog.Hit;
import mx.prep.difusor.memoria.SiteTraffic.Day;
import mx.prep.difusor.memoria.SiteTraffic.Figures;
import mx.prep.difusor.probe.InstituteProbe;

/**
 * The memoria técnica's figures from CloudFront access logs: the days are Tiempo del Centro's (UTC-6), a visit ends
 * after 30 minutes without an access and counts on the day it starts, and the logs' order does not change a figure.
 */
class SiteTrafficTest {

    /** Jalisco's time, difusor.corte-zone: UTC-6 all year since 2022. */
    static final ZoneId MEXICO_CITY = ZoneId.of("America/Mexico_City");
    static final String FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0";
    static final String CURL = "curl/8.5.0";

    /**
     * Three log files of the night of 2-3 June 2024 (times UTC). Expected, by hand:
     * <ul>
     * <li>2 June (local): A makes 4 accesses in two visits (a 35-minute pause), 2 of them pages (text/html, and a 304
     * of index.html without a Content-Type); A with another browser is another visitor (1 visit); B's visit starts at
     * 23:50 and runs past midnight: 6 requests, 6 accesses, 4 pages, 4 visits, 3 visitors;</li>
     * <li>3 June: B's access after midnight (no new visit), C's three accesses logged out of order (11:00, 12:00,
     * then 11:30 in a later file: one visit, since 11:30 is within 30 minutes of both) and a 404: 5 requests, 4
     * accesses, 1 page, 1 visit, 2 visitors, 1 error;</li>
     * <li>outside the period (1 June 23:59:59 and 4 June 00:00 local) nothing; one garbled line; the difusor's own
     * probe counted apart.</li>
     * </ul>
     */
    static List<CloudFrontLogs> night() {
        CloudFrontLogs first = new CloudFrontLogs()
                .request("2024-06-02T05:59:59Z", "201.141.0.9", FIREFOX, "/", 200, "text/html")
                .request("2024-06-03T02:00:00Z", "201.141.0.7", FIREFOX, "/", 200, "text/html; charset=utf-8")
                .request("2024-06-03T02:00:01Z", "201.141.0.7", FIREFOX, "/assets/app.3f9a1c.js", 200, "application/javascript")
                .request("2024-06-03T02:10:00Z", "201.141.0.7", CURL, "/", 200, "text/html")
                .request("2024-06-03T02:25:00Z", "201.141.0.7", FIREFOX, "/index.html", 304, null)
                .request("2024-06-03T03:00:00Z", "201.141.0.7", FIREFOX, "/data/gubernatura/entidad.json", 200, "application/json")
                .request("2024-06-03T11:00:00Z", "187.190.3.3", FIREFOX, "/", 200, "text/html")
                .request("2024-06-03T11:00:30Z", "10.0.1.17", InstituteProbe.USER_AGENT, "/", 200, "text/html");
        CloudFrontLogs second = new CloudFrontLogs()
                .request("2024-06-03T05:50:00Z", "2806:2f0:9021::1", FIREFOX, "/", 200, "text/html")
                .request("2024-06-03T06:10:00Z", "2806:2f0:9021::1", FIREFOX, "/data/ayuntamientos/039.json", 200, "application/json")
                .request("2024-06-03T12:00:00Z", "187.190.3.3", FIREFOX, "/assets/app.7c1e.css", 200, "text/css")
                .line("2024-06-03\t13:10:00\tQRO51-P1\tcut short");
        CloudFrontLogs third = new CloudFrontLogs()
                .request("2024-06-03T11:30:00Z", "187.190.3.3", FIREFOX, "/data/diputaciones/distrito-07.json", 200, "application/json")
                .request("2024-06-03T13:00:00Z", "189.203.1.1", CURL, "/wp-login.php", 404, "text/html")
                .request("2024-06-04T06:00:00Z", "187.190.3.3", FIREFOX, "/", 200, "text/html");
        return List.of(first, second, third);
    }

    static Figures figures(List<CloudFrontLogs> files) throws IOException {
        SiteTraffic traffic = new SiteTraffic(LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), MEXICO_CITY);
        for (CloudFrontLogs f : files) {
            traffic.unreadable(AccessLog.read(new ByteArrayInputStream(f.gzip()), traffic::add));
        }
        return traffic.figures();
    }

    @Test
    void visitsPagesAndAccessesPerDayOfTiempoDelCentro() throws Exception {
        Figures figures = figures(night());

        assertThat(figures.days()).containsExactly(
                new Day(LocalDate.parse("2024-06-02"), 6, 6, 4, 4, 3, 0),
                new Day(LocalDate.parse("2024-06-03"), 5, 4, 1, 1, 2, 1));
        assertThat(figures.total()).isEqualTo(new Day(null, 11, 10, 5, 5, 4, 1));
        assertThat(figures.peakHour()).isEqualTo(LocalDateTime.parse("2024-06-02T20:00"));
        assertThat(figures.peakHourAccesses()).isEqualTo(4);
        assertThat(figures.unreadableLines()).isEqualTo(1);
        assertThat(figures.probeRequests()).isEqualTo(1);
    }

    @Test
    void aPauseOfExactlyThirtyMinutesKeepsTheVisitOneSecondMoreStartsAnother() {
        SiteTraffic.Visits visits = new SiteTraffic.Visits();
        visits.add(0, 0);
        visits.add(1_800, 0);
        assertThat(visits.count).isEqualTo(1);

        visits.add(3_601, 0);

        assertThat(visits.count).isEqualTo(2);
    }

    @Test
    void theOrderTheLogFilesAreReadInChangesNoFigure() throws Exception {
        List<CloudFrontLogs> reversed = new ArrayList<>(night());
        java.util.Collections.reverse(reversed);

        assertThat(figures(reversed)).isEqualTo(figures(night()));
    }

    @Test
    void anAccessBetweenTwoVisitsWithinHalfAnHourOfBothJoinsThemIntoOne() {
        SiteTraffic.Visits visits = new SiteTraffic.Visits();
        visits.add(0, 0);
        visits.add(3_600, 0);
        assertThat(visits.count).isEqualTo(2);

        visits.add(1_800, 0);

        assertThat(visits.count).isEqualTo(1);
        assertThat(visits.spans[0]).isZero();
        assertThat(visits.spans[1]).isEqualTo(3_600);
    }

    @Test
    void anOlderLogWithoutContentTypesTellsPagesByTheirPath() throws Exception {
        String old = "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status "
                + "cs(Referer) cs(User-Agent) cs-uri-query\n"
                + "2024-06-03\t02:00:00\tQRO51-P1\t512\t201.141.0.7\tGET\td1.cloudfront.net\t/resultados/\t200\t-\tMozilla/5.0\t-\n"
                + "2024-06-03\t02:00:01\tQRO51-P1\t512\t201.141.0.7\tGET\td1.cloudfront.net\t/data/x.json\t200\t-\tMozilla/5.0\t-\n";
        List<Hit> hits = new ArrayList<>();

        assertThat(AccessLog.read(new ByteArrayInputStream(old.getBytes(StandardCharsets.UTF_8)), hits::add)).isZero();

        assertThat(hits).extracting(SiteTraffic::isPage).containsExactly(true, false);
        assertThat(hits.get(0).contentType()).isNull();
    }

    @Test
    void aFileThatIsNotACloudFrontLogIsRefusedByName() {
        String apache = "#Fields: date time c-ip sc-status\n2024-06-03\t02:00:00\t1.2.3.4\t200\n";

        assertThatThrownBy(() -> AccessLog.read(new ByteArrayInputStream(apache.getBytes(StandardCharsets.UTF_8)), h -> { }))
                .isInstanceOf(IOException.class).hasMessageContaining("cs-uri-stem");
    }
}
