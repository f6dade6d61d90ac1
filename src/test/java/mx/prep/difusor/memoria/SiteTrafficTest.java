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
import mx.prep.difusor.probe.ProbeSignature;

/**
 * The memoria técnica's figures from CloudFront access logs: the days are Tiempo del Centro's (UTC-6), a visit ends
 * after 30 minutes without an access and counts on the day it starts, and the logs' order does not change a figure.
 */
class SiteTrafficTest {

    /** Jalisco's time, difusor.corte-zone: UTC-6 all year since 2022. */
    static final ZoneId MEXICO_CITY = ZoneId.of("America/Mexico_City");
    static final String FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0";
    static final String CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36";
    static final String CURL = "curl/8.5.0";

    /**
     * Three log files of the night of 2-3 June 2024 (times UTC). Expected, by hand:
     * <ul>
     * <li>2 June (local): A makes 4 accesses in two visits (a 35-minute pause), 2 of them pages (text/html, and a 304
     * of index.html without a Content-Type); A with another browser is another visitor (1 visit); B's visit starts at
     * 23:50 and runs past midnight: 6 requests, 6 accesses, 4 pages, 4 visits, 3 visitors;</li>
     * <li>3 June: B's access after midnight (no new visit), C's three accesses logged out of order (11:00, 12:00,
     * then 11:30 in a later file: one visit, since 11:30 is within 30 minutes of both) and a 404: 5 requests, 4
     * accesses, 1 page, 1 visit, 2 visitors, 1 error, which came from a program (curl);</li>
     * <li>outside the period (1 June 23:59:59 and 4 June 00:00 local) nothing; one garbled line; the difusor's own
     * probe counted apart.</li>
     * </ul>
     */
    static List<CloudFrontLogs> night() {
        CloudFrontLogs first = new CloudFrontLogs()
                .request("2024-06-02T05:59:59Z", "201.141.0.9", FIREFOX, "/", 200, "text/html")
                .request("2024-06-03T02:00:00Z", "201.141.0.7", FIREFOX, "/", 200, "text/html; charset=utf-8")
                .request("2024-06-03T02:00:01Z", "201.141.0.7", FIREFOX, "/assets/app.3f9a1c.js", 200, "application/javascript")
                .request("2024-06-03T02:10:00Z", "201.141.0.7", CHROME, "/", 200, "text/html")
                .request("2024-06-03T02:25:00Z", "201.141.0.7", FIREFOX, "/index.html", 304, null)
                .request("2024-06-03T03:00:00Z", "201.141.0.7", FIREFOX, "/data/gubernatura/entidad.json", 200, "application/json")
                .request("2024-06-03T11:00:00Z", "187.190.3.3", FIREFOX, "/", 200, "text/html")
                .request("2024-06-03T11:00:30Z", "10.0.1.17", ProbeSignature.USER_AGENT, "/", 200, "text/html");
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
                new Day(LocalDate.parse("2024-06-02"), 6, 6, 4, 4, 3, 0, 0),
                new Day(LocalDate.parse("2024-06-03"), 5, 4, 1, 1, 2, 1, 1));
        assertThat(figures.total()).isEqualTo(new Day(null, 11, 10, 5, 5, 4, 1, 1));
        assertThat(figures.peakHour()).isEqualTo(LocalDateTime.parse("2024-06-02T20:00"));
        assertThat(figures.peakHourAccesses()).isEqualTo(4);
        assertThat(figures.unreadableLines()).isEqualTo(1);
        assertThat(figures.probeRequests()).isEqualTo(1);
        // 48 hours in the period, one of them with the probe's request in the logs
        assertThat(figures.unprobedHours()).hasSize(47).doesNotContain(java.time.Instant.parse("2024-06-03T11:00:00Z"))
                .contains(java.time.Instant.parse("2024-06-03T10:00:00Z"), java.time.Instant.parse("2024-06-03T12:00:00Z"));
        // requests of anyone (a program's 404 at 13:00 too) in 7 hours (UTC 02, 03, 05, 06, 11, 12 and 13 on the 3rd): the
        // other 41 have no log at all
        assertThat(figures.unloggedHours()).hasSize(41).doesNotContain(java.time.Instant.parse("2024-06-03T13:00:00Z"),
                java.time.Instant.parse("2024-06-03T02:00:00Z")).contains(java.time.Instant.parse("2024-06-03T04:00:00Z"),
                java.time.Instant.parse("2024-06-02T06:00:00Z"), java.time.Instant.parse("2024-06-04T05:00:00Z"));
    }

    /**
     * A log with a request in every hour of the period, however few: no hour without logs, and the report says nothing
     * of missing logs; the first hour without any request is named.
     */
    @Test
    void logsWithARequestInEveryHourMissNoHourAndTheReportSaysNothingOfIt() throws Exception {
        CloudFrontLogs all = new CloudFrontLogs();
        java.time.Instant start = java.time.Instant.parse("2024-06-02T06:00:00Z");
        for (int h = 0; h < 24; h++) {
            all.request(start.plusSeconds(3600L * h + 1799).toString(), "187.190.3.3", CURL, "/", 200, "text/html");
        }
        SiteTraffic traffic = new SiteTraffic(LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-02"), MEXICO_CITY);
        AccessLog.read(new ByteArrayInputStream(all.gzip()), traffic::add);
        Figures figures = traffic.figures();
        assertThat(figures.unloggedHours()).isEmpty();
        String html = MemoriaReport.html("https://prep.example.mx/", LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-02"),
                LocalDateTime.parse("2024-06-02T20:00"), figures, new OperationRecords.Night(List.of(), List.of(), List.of(), List.of()),
                java.time.Instant.parse("2024-06-12T18:00:00Z"), "pruebas");
        assertThat(html).doesNotContain("horas-sin-registros").doesNotContain("ningún registro de acceso");

        SiteTraffic lacking = new SiteTraffic(LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-02"), MEXICO_CITY);
        AccessLog.read(new ByteArrayInputStream(all.gzip()), hit -> {
            if (!hit.at().equals(start.plusSeconds(3600L * 14 + 1799))) {
                lacking.add(hit);
            }
        });
        assertThat(lacking.figures().unloggedHours()).containsExactly(start.plusSeconds(3600L * 14));

        // logs with no line in the period at all (another week's, a wrong prefix): every hour is said to lack its logs
        SiteTraffic otherWeek = new SiteTraffic(LocalDate.parse("2024-06-09"), LocalDate.parse("2024-06-09"), MEXICO_CITY);
        AccessLog.read(new ByteArrayInputStream(all.gzip()), otherWeek::add);
        assertThat(otherWeek.figures().unloggedHours()).hasSize(24);
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

    /**
     * Another site's scraper polls the results' JSON every 30 seconds all night, a search engine and a link preview
     * fetch the page, an uptime monitor checks it, a client sends no User-Agent (all on the evening of 2 June, local):
     * their requests are counted, apart,
     * and none of them is a visit or a visitor; one person reading the results on a phone is one visit.
     */
    @Test
    void programsAreCountedApartFromThePeopleWhoConsultedTheResults() throws Exception {
        CloudFrontLogs night = new CloudFrontLogs();
        long scraped = 0;
        for (java.time.Instant t = java.time.Instant.parse("2024-06-03T02:00:00Z"); t.isBefore(java.time.Instant.parse("2024-06-03T05:00:00Z"));
                t = t.plusSeconds(30)) {
            night.request(t.toString(), "34.123.0.5", "python-requests/2.31.0", "/data/gubernatura/entidad.json", 200, "application/json");
            scraped++;
        }
        night.request("2024-06-03T03:00:00Z", "66.249.66.1", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                        "/", 200, "text/html")
                .request("2024-06-03T03:01:00Z", "69.171.250.1", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
                        "/", 200, "text/html")
                .request("2024-06-03T03:02:00Z", "216.144.250.150", "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
                        "/", 200, "text/html")
                .request("2024-06-03T03:03:00Z", "45.1.2.3", "-", "/", 200, "text/html")
                .request("2024-06-03T03:04:00Z", "2806:2f0:9021::1", PHONE, "/", 200, "text/html")
                .request("2024-06-03T03:04:01Z", "2806:2f0:9021::1", PHONE, "/data/gubernatura/entidad.json", 200, "application/json");

        Figures figures = figures(List.of(night));

        assertThat(figures.days().get(0)).isEqualTo(new Day(LocalDate.parse("2024-06-02"), scraped + 6, 2, 1, 1, 1, 0, scraped + 4));
    }

    /**
     * With a signing key, only the probe's signed requests are the probe's: the bare User-Agent is public, and a program
     * sending it (or an old signature replayed) is an automated request that vouches for no hour of monitoring.
     */
    @Test
    void onlyTheProbesSignedRequestsAreTheProbesWhenItHasAKey() throws Exception {
        ProbeSignature key = ProbeSignature.of("clave-de-la-sonda");
        java.time.Instant at = java.time.Instant.parse("2024-06-03T11:00:30Z");
        String signed = key.userAgent(at);
        CloudFrontLogs night = new CloudFrontLogs()
                .request(at.toString(), "10.0.1.17", signed, "/", 200, "text/html")
                // someone else's program under the probe's name, hours later: the bare name, then the signature replayed
                .request("2024-06-03T14:00:00Z", "45.1.2.3", ProbeSignature.USER_AGENT, "/", 200, "text/html")
                .request("2024-06-03T15:00:00Z", "45.1.2.3", signed, "/", 200, "text/html")
                .request("2024-06-03T15:00:01Z", "45.1.2.3", ProbeSignature.of("otra-clave").userAgent(java.time.Instant.parse("2024-06-03T15:00:01Z")),
                        "/", 200, "text/html");
        SiteTraffic traffic = new SiteTraffic(LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), MEXICO_CITY, key);
        traffic.unreadable(AccessLog.read(new ByteArrayInputStream(night.gzip()), traffic::add));
        Figures figures = traffic.figures();

        assertThat(figures.probeRequests()).isEqualTo(1);
        assertThat(traffic.unsignedProbeRequests()).isEqualTo(3);
        assertThat(figures.unprobedHours()).contains(java.time.Instant.parse("2024-06-03T14:00:00Z"), java.time.Instant.parse("2024-06-03T15:00:00Z"))
                .doesNotContain(java.time.Instant.parse("2024-06-03T11:00:00Z"));
        // 3 requests, all automated: no access, page, visit or visitor
        assertThat(figures.days().get(1)).isEqualTo(new Day(LocalDate.parse("2024-06-03"), 3, 0, 0, 0, 0, 0, 3));
        // the window: 5 minutes either side of the signed second
        assertThat(key.isProbe(signed, at.plusSeconds(300))).isTrue();
        assertThat(key.isProbe(signed, at.plusSeconds(301))).isFalse();
        assertThat(key.isProbe(signed, at.minusSeconds(300))).isTrue();
        assertThat(key.isProbe(signed, at.minusSeconds(301))).isFalse();
        // without a key, the bare name is the probe's, as before
        assertThat(ProbeSignature.of("").isProbe(ProbeSignature.USER_AGENT, at)).isTrue();
        assertThat(ProbeSignature.of("").userAgent(at)).isEqualTo(ProbeSignature.USER_AGENT);
    }

    /**
     * A key changed during the period (it leaked): the old one, given as previous with the time it stopped signing,
     * verifies what it signed until then, and nothing after, when whoever it leaked to may be sending it. It never signs.
     */
    @Test
    void aPreviousKeyVerifiesWhatItSignedUntilItWasChangedAndSignsNothing() {
        java.time.Instant at = java.time.Instant.parse("2024-06-03T11:00:30Z");
        ProbeSignature rotated = ProbeSignature.of("clave-nueva", List.of("clave-filtrada @ 2024-06-03T06:00:00-06:00", ""));
        assertThat(rotated.isProbe(ProbeSignature.of("clave-filtrada").userAgent(at), at)).isTrue();
        assertThat(rotated.isProbe(ProbeSignature.of("clave-nueva").userAgent(at), at)).isTrue();
        assertThat(rotated.isProbe(ProbeSignature.of("otra-clave").userAgent(at), at)).isFalse();
        assertThat(rotated.userAgent(at)).isEqualTo(ProbeSignature.of("clave-nueva").userAgent(at));
        // the old key's window is the same 5 minutes
        assertThat(rotated.isProbe(ProbeSignature.of("clave-filtrada").userAgent(at), at.plusSeconds(301))).isFalse();
        // changed at 12:00 UTC: within the 5 minutes' skew after, still; later, whatever time the signature claims, not
        java.time.Instant changed = java.time.Instant.parse("2024-06-03T12:00:00Z");
        assertThat(rotated.isProbe(ProbeSignature.of("clave-filtrada").userAgent(changed.plusSeconds(300)), changed.plusSeconds(300))).isTrue();
        assertThat(rotated.isProbe(ProbeSignature.of("clave-filtrada").userAgent(changed.plusSeconds(301)), changed.plusSeconds(301))).isFalse();
        assertThat(rotated.isProbe(ProbeSignature.of("clave-filtrada").userAgent(changed), changed.plusSeconds(301))).isFalse();
        // previous keys without a signing key: refused, not silently unsigned
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ProbeSignature.of("", List.of("clave-filtrada@2024-06-03T12:00:00Z")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("difusor.probe.signing-key");
        // without the time it stopped signing: refused, and the key is not in the message
        for (String entry : List.of("clave-filtrada", "clave-filtrada@ayer", "@2024-06-03T12:00:00Z", " @2024-06-03T12:00:00Z")) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> ProbeSignature.of("clave-nueva", List.of(entry)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("<key>@<the time")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("clave-filtrada"));
        }
    }

    static final String PHONE = "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.113 "
            + "Mobile Safari/537.36";

    @Test
    void browsersArePeopleAndProgramsSayWhatTheyAre() {
        assertThat(List.of(FIREFOX, CHROME, PHONE,
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0",
                "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
                "Mozilla/5.0%20(Macintosh;%20Intel%20Mac%20OS%20X%2014_5)%20AppleWebKit/605.1.15%20(KHTML,%20like%20Gecko)%20Version/17.5%20Safari/605.1.15",
                "Mozilla/5.0 (Linux; Android 12; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36",
                "Mozilla/5.0 (Linux; Android 10; CUBOT_P40 Build/QP1A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 HealthApp/3.2"))
                .noneMatch(SiteTraffic::isAutomated);
        assertThat(List.of(CURL, "Wget/1.21.3", "python-requests/2.31.0", "Python-urllib/3.11", "Go-http-client/2.0", "Java/17.0.11",
                "okhttp/4.12.0", "Apache-HttpClient/5.3 (Java/17)", "axios/1.7.2", "node-fetch", "undici",
                "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
                "Mozilla/5.0%20(compatible;%20Googlebot/2.1;%20+http://www.google.com/bot.html)",
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/125.0.0.0 Safari/537.36",
                "Twitterbot/1.0", "WhatsApp/2.23.20.0", "Mozilla/5.0 (compatible; YandexBot/3.0)", "Scrapy/2.11 (+https://scrapy.org)",
                "Pingdom.com_bot_version_1.4", "Slackbot 1.0 (+https://api.slack.com/robots)", "Googlebot-Image/1.0",
                "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "-", "",
                "Amazon-Route53-Health-Check-Service%20(ref%20a1b2c3d4;%20report%20http://amzn.to/1vsZADi)",
                "check_http/v2.3.3 (nagios-plugins 2.3.3)", "Datadog/Synthetics", "Zabbix", "Prometheus/blackbox_exporter",
                "Mozilla/4.0 (compatible; ms-office; MSOffice 16)", "ELB-HealthChecker/2.0", "GoogleHC/1.0", "kube-probe/1.30",
                // the JDK's own client, PHP's, Postman's, Dart's and Google's, counted as people until they were named
                "Java-http-client/17.0.11", "GuzzleHttp/7", "PostmanRuntime/7.39.0", "Dart/3.3%20(dart:io)",
                "Mozilla/5.0 (compatible; Google-InspectionTool/1.0;)", "Mediapartners-Google"))
                .allMatch(SiteTraffic::isAutomated);
    }

    /**
     * A shared distribution (a newspaper's pages beside the PREP under /prep2024) and programs checking the page: only
     * people's GETs of the PREP are accesses, pages and visitors. A HEAD, a health checker's GET and the newspaper's
     * own pages were all counted as the PREP's visitors.
     */
    @Test
    void onlyPeopleReadingThePrepCountNotHeadRequestsHealthChecksOrTheRestOfASharedDistribution() throws Exception {
        CloudFrontLogs log = new CloudFrontLogs()
                .request("2024-06-03T02:00:00Z", "201.141.0.7", FIREFOX, "/prep2024/", 200, "text/html")
                .request("2024-06-03T02:00:01Z", "201.141.0.7", FIREFOX, "/prep2024/data/entidad.json", 200, "application/json")
                .request("2024-06-03T02:01:00Z", "201.141.0.8", FIREFOX, "/prep2024/", 200, "text/html", "HEAD")
                .request("2024-06-03T02:02:00Z", "15.177.2.10", "Amazon-Route53-Health-Check-Service (ref a1b2c3d4; report http://amzn.to/1vsZADi)",
                        "/prep2024/", 200, "text/html")
                .request("2024-06-03T02:03:00Z", "201.141.0.9", FIREFOX, "/noticias/elecciones.html", 200, "text/html")
                .request("2024-06-03T02:04:00Z", "201.141.0.9", FIREFOX, "/prep2024-anterior/", 200, "text/html");
        SiteTraffic traffic = new SiteTraffic(LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), MEXICO_CITY).onlyUnder("prep2024/");
        traffic.unreadable(AccessLog.read(new ByteArrayInputStream(log.gzip()), traffic::add));
        Figures figures = traffic.figures();

        // requests 4 (the PREP's), accesses 2, pages 1, visits 1, visitors 1, errors 0, automated 2
        assertThat(figures.total()).isEqualTo(new SiteTraffic.Day(null, 4, 2, 1, 1, 1, 0, 2));
        assertThat(traffic.otherSiteRequests()).isEqualTo(2);
    }

    /**
     * The institute checks the portal all night (the call, V.b) with a User-Agent nobody knows beforehand: from its
     * addresses, its GETs are in no figure, whatever they look like; from elsewhere the same browser is a person.
     */
    @Test
    void theInstitutesChecksFromItsAddressesAreInNoFigure() throws Exception {
        CloudFrontLogs log = new CloudFrontLogs()
                .request("2024-06-03T02:00:00Z", "200.23.8.14", FIREFOX, "/", 200, "text/html")
                .request("2024-06-03T02:01:00Z", "200.23.8.200", FIREFOX, "/", 200, "text/html")
                .request("2024-06-03T02:02:00Z", "2001:db8:40::9", CHROME, "/", 503, "text/html")
                .request("2024-06-03T02:03:00Z", "200.23.9.14", FIREFOX, "/", 200, "text/html");
        SiteTraffic traffic = new SiteTraffic(LocalDate.parse("2024-06-02"), LocalDate.parse("2024-06-03"), MEXICO_CITY)
                .excluding(MonitorAddresses.of(List.of("200.23.8.0/24", " 2001:db8::/32", "")));
        traffic.unreadable(AccessLog.read(new ByteArrayInputStream(log.gzip()), traffic::add));
        Figures figures = traffic.figures();

        // only 200.23.9.14, outside the /24: requests 1, accesses 1, pages 1, visits 1, visitors 1
        assertThat(figures.total()).isEqualTo(new SiteTraffic.Day(null, 1, 1, 1, 1, 1, 0, 0));
        assertThat(figures.monitorRequests()).isEqualTo(3);
        assertThat(figures.monitorAddresses()).containsExactly("200.23.8.0/24", "2001:db8::/32");
        // a host name is never looked up; a prefix too long for its address family is a typo; an IPv4 address short of
        // its four parts is another address to Java (200.23.8 is 200.23.0.8)
        for (String wrong : List.of("monitor.iepcjalisco.mx", "200.23.8.0/33", "2001:db8::/129", "200.23.8.0/x", "200.23.8/24", "3359836174")) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> MonitorAddresses.of(List.of(wrong)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("difusor.memoria.monitor-addresses").hasMessageContaining(wrong);
        }
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
