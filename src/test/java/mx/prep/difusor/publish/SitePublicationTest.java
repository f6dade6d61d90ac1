package mx.prep.difusor.publish;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.apache.camel.component.aws2.s3.AWS2S3Constants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.cluster.LeaderCheck;
import mx.prep.difusor.unpack.CacheControlRules;
import mx.prep.difusor.unpack.SiteFile;
import mx.prep.difusor.unpack.SiteUnpacker;
import mx.prep.difusor.unpack.ZipStructure;

/** The put request the S3 producer gets for each site file: key, headers, and a body held in memory only when small. */
class SitePublicationTest {

    private static final String INDEX = "<!doctype html><html><head><base href=\"/\"></head><body></body></html>";

    @TempDir
    Path tmp;

    @Test
    void aSmallFileIsSentFromMemoryALargeOneStreamsFromTheZip() throws Exception {
        byte[] json = "{\"votos\":[1,2,3]}".getBytes(StandardCharsets.UTF_8);
        // just over the in-memory limit, and not compressible to nothing: a bundle or an image
        byte[] bundle = new byte[SitePublication.IN_MEMORY_MAX_BYTES + 1];
        new Random(7).nextBytes(bundle);
        PrepPackage pkg = unpacked(Map.of("index.html", INDEX.getBytes(StandardCharsets.UTF_8), "data/corte.json", json,
                "assets/app.0f3a.js", bundle));
        try (DefaultCamelContext camel = new DefaultCamelContext()) {
            SitePublication publication = new SitePublication("sitio/", new LeaderCheck(camel, java.time.Duration.ZERO),
                    java.time.Duration.ofSeconds(1));
            Exchange small = putRequest(camel, publication, pkg, "data/corte.json");
            assertThat(small.getMessage().getHeader(AWS2S3Constants.KEY)).isEqualTo("sitio/data/corte.json");
            assertThat(small.getMessage().getHeader(AWS2S3Constants.CONTENT_LENGTH)).isEqualTo((long) json.length);
            assertThat(small.getMessage().getHeader(AWS2S3Constants.CONTENT_TYPE)).isEqualTo("application/json");
            assertThat(small.getMessage().getHeader(AWS2S3Constants.METADATA, Map.class)).containsOnlyKeys("sha256");
            // the MD5 of the bytes checked at the unzip: S3 refuses any others
            assertThat(small.getMessage().getHeader(AWS2S3Constants.CONTENT_MD5)).isEqualTo(java.util.Base64.getEncoder()
                    .encodeToString(java.security.MessageDigest.getInstance("MD5").digest(json)));
            assertThat(small.getMessage().getBody()).isInstanceOf(byte[].class).isEqualTo(json);

            Exchange large = putRequest(camel, publication, pkg, "assets/app.0f3a.js");
            assertThat(large.getMessage().getHeader(AWS2S3Constants.CONTENT_LENGTH)).isEqualTo((long) bundle.length);
            assertThat(large.getMessage().getBody()).isInstanceOf(InputStream.class);
            try (InputStream in = large.getMessage().getBody(InputStream.class)) {
                // the S3 client reads a body to sign it, resets it and reads it again to send it
                in.mark(Integer.MAX_VALUE);
                assertThat(in.readAllBytes()).isEqualTo(bundle);
                in.reset();
                assertThat(in.readAllBytes()).isEqualTo(bundle);
            }
        } finally {
            pkg.site().close();
        }
    }

    private static Exchange putRequest(DefaultCamelContext camel, SitePublication publication, PrepPackage pkg, String path) throws Exception {
        SiteFile file = pkg.site().files().stream().filter(f -> f.path().equals(path)).findFirst().orElseThrow();
        Exchange exchange = new DefaultExchange(camel);
        exchange.setProperty(PrepPackage.PROPERTY, pkg);
        exchange.getMessage().setBody(file);
        publication.toPutRequest(exchange);
        return exchange;
    }

    private PrepPackage unpacked(Map<String, byte[]> entries) throws Exception {
        Path zip = tmp.resolve("PREP2024_JAL_20240602_2000.zip");
        try (OutputStream out = Files.newOutputStream(zip); ZipOutputStream z = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        PrepPackage pkg = new PrepPackage(zip.getFileName().toString(), "x", null, null, "test", Instant.now());
        pkg.spooled(zip, Files.size(zip));
        new SiteUnpacker("sitio/", new CacheControlRules("**/*.html=no-cache"),
                new ZipStructure.Limits(100, 10_000_000, 10_000_000, 200)).unpack(pkg);
        return pkg;
    }
}
