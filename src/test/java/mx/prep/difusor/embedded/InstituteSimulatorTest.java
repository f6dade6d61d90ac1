package mx.prep.difusor.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InstituteSimulatorTest {

    private static final LocalDateTime FIRST_CORTE = LocalDateTime.of(2024, 6, 2, 23, 0);
    private static final LocalDateTime SECOND_CORTE = FIRST_CORTE.plusMinutes(20);

    @TempDir
    static Path work;

    private static InstituteSimulator institute;
    private static Path first;
    private static Path second;
    private static SSLContext trusting;
    private static HttpClient client;

    @BeforeAll
    static void startInstitute() throws Exception {
        PrepPackageGenerator generator = new PrepPackageGenerator(PrepPackageGenerator.Scale.SMALL, 2024L);
        first = generator.write(work.resolve("out"), FIRST_CORTE, 1);
        second = generator.write(work.resolve("out"), SECOND_CORTE, 2);
        institute = InstituteSimulator.start(work.resolve("institute"), 0);
        institute.release(first);
        institute.release(second);

        // trust exactly the institute's certificate; hostname verification stays on
        KeyStore trustStore = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(institute.truststore())) {
            trustStore.load(in, institute.truststorePassword().toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trustStore);
        trusting = SSLContext.getInstance("TLS");
        trusting.init(null, tmf.getTrustManagers(), null);
        client = HttpClient.newBuilder().sslContext(trusting).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stopInstitute() {
        if (institute != null) {
            institute.stop();
        }
    }

    @Test
    void packageNameCarriesTheCorte() {
        assertThat(first.getFileName()).hasToString("PREP2024_JAL_20240602_2300.zip");
        assertThat(second.getFileName()).hasToString("PREP2024_JAL_20240602_2320.zip");
        assertThat(institute.manifestUri().getHost()).isEqualTo("localhost");
    }

    @Test
    void manifestLatestZipAndSidecarAgreeWithTheBytes() throws Exception {
        HttpResponse<String> manifest = client.send(get(institute.manifestUri()), HttpResponse.BodyHandlers.ofString());
        assertThat(manifest.statusCode()).isEqualTo(200);
        assertThat(manifest.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode json = new ObjectMapper().readTree(manifest.body());
        assertThat(json.get("package").asText()).isEqualTo(second.getFileName().toString());

        HttpResponse<byte[]> zip = client.send(get(institute.latestZipUri()), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(zip.statusCode()).isEqualTo(200);
        assertThat(zip.headers().firstValue("Content-Type")).hasValue("application/zip");
        assertThat(zip.headers().firstValue("Content-Disposition"))
                .hasValue("attachment; filename=\"" + second.getFileName() + "\"");
        assertThat(zip.headers().firstValue("ETag")).isPresent();
        assertThat(zip.headers().firstValue("Last-Modified")).isPresent();
        String actualSha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(zip.body()));
        assertThat(actualSha).isEqualTo(json.get("sha256").asText()).isEqualTo(PrepPackageGenerator.sha256Hex(second));
        assertThat(json.get("size").asLong()).isEqualTo(zip.body().length).isEqualTo(Files.size(second));

        HttpResponse<String> sidecar = client.send(get(institute.baseUri().resolve("latest.zip.sha256")),
                HttpResponse.BodyHandlers.ofString());
        assertThat(sidecar.statusCode()).isEqualTo(200);
        assertThat(sidecar.body()).isEqualTo(actualSha + "  " + second.getFileName() + "\n");

        // the older corte stays downloadable by name
        HttpResponse<byte[]> older = client.send(get(institute.packageUri(first.getFileName().toString())),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(older.statusCode()).isEqualTo(200);
        assertThat(older.body()).isEqualTo(Files.readAllBytes(first));
    }

    @Test
    void conditionalRequestsGet304WithoutBody() throws Exception {
        HttpResponse<String> firstGet = client.send(get(institute.manifestUri()), HttpResponse.BodyHandlers.ofString());
        String etag = firstGet.headers().firstValue("ETag").orElseThrow();
        String lastModified = firstGet.headers().firstValue("Last-Modified").orElseThrow();
        assertThat(etag).startsWith("\"").endsWith("\"");
        int before = institute.notModifiedCount("/prep/manifest.json");

        HttpResponse<String> byEtag = client.send(HttpRequest.newBuilder(institute.manifestUri())
                .header("If-None-Match", etag).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(byEtag.statusCode()).isEqualTo(304);
        assertThat(byEtag.body()).isEmpty();
        assertThat(byEtag.headers().firstValue("ETag")).hasValue(etag);

        HttpResponse<String> byDate = client.send(HttpRequest.newBuilder(institute.manifestUri())
                .header("If-Modified-Since", lastModified).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(byDate.statusCode()).isEqualTo(304);

        HttpResponse<String> staleEtag = client.send(HttpRequest.newBuilder(institute.manifestUri())
                .header("If-None-Match", "\"something-else\"").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(staleEtag.statusCode()).isEqualTo(200);

        assertThat(institute.notModifiedCount("/prep/manifest.json") - before).isEqualTo(2);
        assertThat(institute.requestCount("manifest.json")).isGreaterThanOrEqualTo(4);
    }

    @Test
    void headAndUnknownPaths() throws Exception {
        HttpResponse<Void> head = client.send(HttpRequest.newBuilder(institute.latestZipUri())
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValueAsLong("Content-Length")).hasValue(Files.size(second));

        HttpResponse<String> missing = client.send(get(institute.baseUri().resolve("PREP2024_JAL_20990101_0000.zip")),
                HttpResponse.BodyHandlers.ofString());
        assertThat(missing.statusCode()).isEqualTo(404);
        HttpResponse<String> outside = client.send(get(institute.baseUri().resolve("/other")), HttpResponse.BodyHandlers.ofString());
        assertThat(outside.statusCode()).isEqualTo(404);
    }

    @Test
    void tls11IsRefusedByTheServer() throws Exception {
        // the JDK client cannot even offer TLS 1.1 any more, so speak the ClientHello by hand
        assertThat(firstRecordAfterHello(0x02)).as("answer to a TLS 1.1 ClientHello")
                .isIn(-1, 0x15); // EOF or alert, never a ServerHello
        assertThat(firstRecordAfterHello(0x03)).as("control: TLS 1.2 ClientHello gets a ServerHello")
                .isEqualTo(0x16);

        try (SSLSocket socket = (SSLSocket) trusting.getSocketFactory()
                .createSocket(InetAddress.getLoopbackAddress(), institute.port())) {
            socket.startHandshake();
            assertThat(socket.getSession().getProtocol()).isEqualTo("TLSv1.3");
        }
    }

    @Test
    void packageIsAnSpaAndConsecutiveCortesShareSameSizeChanges() throws Exception {
        Map<String, byte[]> a = unzip(first);
        Map<String, byte[]> b = unzip(second);
        String index = new String(b.get("index.html"), StandardCharsets.UTF_8);
        assertThat(index).contains("<base href=\"/\">").contains("23:20").containsPattern("assets/app\\.[0-9a-f]{8}\\.js");
        assertThat(b).containsKeys("gubernatura/index.html", "data/corte.json", "assets/img/logo-iepc.png",
                "csv/gubernatura/PREP_GUBERNATURA_JAL_2024.csv", "csv/LEEME.txt");
        assertThat(b.keySet()).allMatch(name -> !name.startsWith("/") && !name.contains("\\"));

        long changed = b.keySet().stream().filter(a::containsKey)
                .filter(n -> !MessageDigest.isEqual(a.get(n), b.get(n))).count();
        long changedSameSize = b.keySet().stream().filter(a::containsKey)
                .filter(n -> !MessageDigest.isEqual(a.get(n), b.get(n)))
                .filter(n -> a.get(n).length == b.get(n).length).count();
        assertThat(changed).isPositive().isLessThan(b.size() / 2);
        assertThat(changedSameSize).isPositive();
    }

    private static HttpRequest get(URI uri) {
        return HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build();
    }

    private static Map<String, byte[]> unzip(Path zip) throws IOException {
        Map<String, byte[]> files = new HashMap<>();
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                if (!e.isDirectory()) {
                    files.put(e.getName(), in.readAllBytes());
                }
            }
        }
        return files;
    }

    /** Sends a minimal ClientHello for TLS 1.minor and returns the content type of the reply (-1 on EOF). */
    private static int firstRecordAfterHello(int minor) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(new byte[] {0x03, (byte) minor});
        body.write(new byte[32]); // client random; zeros are fine for a refusal probe
        body.write(0); // no session id
        int[] suites = {0xC02B, 0xC02F, 0xC013, 0xC009};
        body.write(new byte[] {0, (byte) (suites.length * 2)});
        for (int s : suites) {
            body.write(new byte[] {(byte) (s >> 8), (byte) s});
        }
        body.write(new byte[] {1, 0}); // compression: null only
        byte[] extensions = {
            0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17,                   // supported_groups: secp256r1
            0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,                               // ec_point_formats: uncompressed
            0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01}; // signature_algorithms
        body.write(new byte[] {0, (byte) extensions.length});
        body.write(extensions);
        byte[] hello = body.toByteArray();
        ByteArrayOutputStream record = new ByteArrayOutputStream();
        record.write(new byte[] {0x16, 0x03, 0x01, (byte) ((hello.length + 4) >> 8), (byte) (hello.length + 4)});
        record.write(new byte[] {0x01, 0, (byte) (hello.length >> 8), (byte) hello.length});
        record.write(hello);

        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), institute.port())) {
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            out.write(record.toByteArray());
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            try {
                int type = in.readUnsignedByte();
                if (type == 0x15) {
                    in.skipBytes(4);
                    in.readUnsignedByte(); // level
                    assertThat(in.readUnsignedByte()).as("alert description").isIn(70, 40); // protocol_version or handshake_failure
                }
                return type;
            } catch (EOFException | java.net.SocketException closed) {
                return -1;
            }
        }
    }
}
