package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.junit.jupiter.api.Test;

import mx.prep.difusor.testing.PackageEdits;

/**
 * The call lists HTML, JSON, CSV, JS and CSS: an archive in a package is refused (NESTED_ARCHIVE). If the institute's
 * site does offer one for download (the results database as a zip), the simulacro shows it and the operators name it in
 * difusor.unpack.archives-allowed: published as a file, never opened, while any other archive is still refused. (Refused
 * by default: BadPackagesTest, "an archive inside".)
 */
class ArchivesAllowedTest extends PipelineTestBase {

    private static byte[] databaseZip() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            ZipEntry csv = new ZipEntry("PREP_JAL_2024.csv");
            csv.setTimeLocal(java.time.LocalDateTime.of(2024, 6, 2, 22, 0));   // the same bytes at every call
            zip.putNextEntry(csv);
            zip.write("CLAVE_CASILLA,PAN,PRI,MORENA\n14-0001-B,120,85,210\n".getBytes(StandardCharsets.UTF_8));
        }
        return bytes.toByteArray();
    }

    @Test
    void anArchiveTheOperatorsAllowedIsPublishedAsAFileAndAnyOtherIsStillRefused() throws Exception {
        var settings = settings();
        // written from the site root, as difusor.site.keep and difusor.publish.last may be
        settings.put("difusor.unpack.archives-allowed", "/datos/*.zip");
        Path first = startWithFirstCortePublished(settings);

        Path withDatabase = PackageEdits.rewrite(corte(1), Files.createDirectories(tmp.resolve("db")).resolve(corte(1).getFileName()),
                n -> true, Map.of(), Map.of("datos/PREP_JAL_2024.zip", databaseZip()));
        institute.release(withDatabase);
        awaitPublished(withDatabase);
        assertSiteEquals(withDatabase);
        var served = bucket.getObject(b -> b.bucket(SITE).key("datos/PREP_JAL_2024.zip"));
        assertThat(served.readAllBytes()).isEqualTo(databaseZip());
        // a fixed name whose content changes every corte: kept as briefly as the results
        assertThat(served.response().cacheControl()).isEqualTo("public, max-age=30");

        // the same bytes under a name nobody allowed: refused as before
        Path elsewhere = PackageEdits.rewrite(corte(2), Files.createDirectories(tmp.resolve("other")).resolve(corte(2).getFileName()),
                n -> true, Map.of(), Map.of("respaldo/PREP_JAL_2024.zip", databaseZip()));
        institute.release(elsewhere);
        var report = awaitReport(elsewhere.getFileName().toString());
        assertThat(report.path("reason").asText()).isEqualTo("NESTED_ARCHIVE");
        assertSiteEquals(withDatabase);
        assertThat(publishedState().orElseThrow().packageName()).isEqualTo(withDatabase.getFileName().toString()).isNotEqualTo(first.getFileName().toString());
    }
}
