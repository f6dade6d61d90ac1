package mx.prep.difusor.embedded;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Writes synthetic "Paquete de Difusión" zips shaped like the PREP Jalisco 2024 site.
 *
 * <p>The electoral geography is always the whole state (20 distritos locales, 125 municipios,
 * 3,500 secciones, about 11,000 casillas); the {@link Scale} decides how many secciones are
 * published. Every distrito and municipio file is written (at the tests' scale, only the municipios of the published
 * secciones), but all totals (entidad,
 * distrito, municipio, corte.json, CSV) add up over the published secciones only, so a SMALL
 * package is a coherent sample territory and its churn stays realistic.
 *
 * <p>Every acta has fixed, seed-derived event times (acopio/captura, verificación, cotejo and
 * sometimes a correction). A corte shows the events up to its time, so packages are
 * deterministic for (seed, corte, sequence) and consecutive cortes differ the way a real night
 * does: actas move from "sin acta" to captured, aggregates move, CSVs grow. Most numeric fields
 * are zero padded to a fixed width, so many changed files keep exactly the same byte size.
 *
 * <p>The data is synthetic and says so in the site; it is not an official result.
 */
public final class PrepPackageGenerator {

    /** How many secciones the package covers (evenly spread over the state). */
    public enum Scale {
        /**
         * The pipeline tests' packages: about 380 files, the municipio files only of municipios that hold a published
         * sección. Every test publishes a first corte before what it is about, and SMALL's 829 PUTs were a third of a
         * test's time.
         */
        TESTS(24, 48, false),
        /** A few hundred files, well under 1 MB: the default local run and the soak test. */
        SMALL(30, 48, true),
        /** A few thousand files. */
        MEDIUM(400, 200, true),
        /** Every sección and casilla: about 44,000 files. */
        FULL(Integer.MAX_VALUE, 6000, true);

        private final int publishedSecciones;
        private final int vendorFunctions;
        private final boolean everyMunicipio;

        Scale(int publishedSecciones, int vendorFunctions, boolean everyMunicipio) {
            this.publishedSecciones = publishedSecciones;
            this.vendorFunctions = vendorFunctions;
            this.everyMunicipio = everyMunicipio;
        }

        public int publishedSecciones() {
            return Math.min(publishedSecciones, SECCIONES);
        }

        public static Scale parse(String text) {
            return valueOf(text.trim().toUpperCase(Locale.ROOT));
        }
    }

    /** PREP Jalisco 2024 started publishing at 20:00 (hora del Centro) on election day. */
    public static final LocalDateTime PREP_START = LocalDateTime.of(2024, 6, 2, 20, 0);
    public static final String[] ELECTIONS = {"gubernatura", "diputaciones", "ayuntamientos"};
    /** Vote columns in the order every file uses. */
    public static final String[] VOTE_COLUMNS = {
        "PAN", "PRI", "PRD", "PVEM", "PT", "MC", "MORENA", "HAGAMOS", "FUTURO",
        "PAN_PRI_PRD", "PAN_PRI", "PAN_PRD", "PRI_PRD",
        "PVEM_PT_MORENA_HAGAMOS_FUTURO", "PT_MORENA", "PVEM_MORENA", "MORENA_HAGAMOS_FUTURO",
        "NO_REGISTRADOS", "NULOS"};

    static final int DISTRITOS = 20;
    static final int MUNICIPIOS = 125;
    static final int SECCIONES = 3500;
    private static final int NEVER = Integer.MAX_VALUE;
    private static final int COLS = VOTE_COLUMNS.length;
    private static final int PAN = 0, PRI = 1, PRD = 2, PVEM = 3, PT = 4, MC = 5, MORENA = 6, HAGAMOS = 7, FUTURO = 8;
    private static final int FIRST_FXC_COMBO = 9, FIRST_SHH_COMBO = 13, NO_REG = 17, NULOS = 18;
    private static final double[] BASE_SHARES = {
        0.105, 0.048, 0.012, 0.030, 0.026, 0.405, 0.270, 0.022, 0.016,
        0.006, 0.003, 0.002, 0.002,
        0.008, 0.004, 0.004, 0.003,
        0.0006, 0.034};
    private static final String[] ELECTION_CODES = {"GUB", "DIP", "AYU"};
    private static final DateTimeFormatter FILE_STAMP = DateTimeFormatter.ofPattern("yyyyMMdd_HHmm");
    private static final DateTimeFormatter ISO_MINUTE = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss");
    private static final DateTimeFormatter HUMAN = DateTimeFormatter.ofPattern("dd/MM/yyyy HH:mm");
    /** Jalisco has used UTC-6 all year since 2022. */
    private static final String OFFSET = "-06:00";
    private static final int CORTES_PER_DEPLOY = 10;
    private static final int COTEJO_ROUND_MINUTES = 120;

    /** Read only once built, and the same for a seed: built once per seed (every test makes a generator). */
    private static final java.util.Map<Long, Geography> GEOGRAPHIES = new java.util.concurrent.ConcurrentHashMap<>();

    private final Scale scale;
    private final long seed;
    private final Geography geo;
    private final boolean[] published; // by sección index

    public PrepPackageGenerator(Scale scale, long seed) {
        this.scale = scale;
        this.seed = seed;
        this.geo = GEOGRAPHIES.computeIfAbsent(seed, Geography::new);
        this.published = new boolean[geo.secciones];
        int count = scale.publishedSecciones();
        // evenly spread sample, so metro and rural secciones both show up
        for (int i = 0; i < count; i++) {
            published[(int) ((long) i * geo.secciones / count)] = true;
        }
    }

    public Scale scale() {
        return scale;
    }

    public long seed() {
        return seed;
    }

    /** File name for a corte, e.g. {@code PREP2024_JAL_20240602_2220.zip}. */
    public static String packageName(LocalDateTime corte) {
        return "PREP2024_JAL_" + corte.format(FILE_STAMP) + ".zip";
    }

    /**
     * Writes the package for this corte into dir and returns its path. The zip is written to a
     * hidden temporary file and moved into place, so a watcher never sees a partial package.
     */
    public Path write(Path dir, LocalDateTime corte, int sequence) throws IOException {
        Files.createDirectories(dir);
        Path target = dir.resolve(packageName(corte));
        Path tmp = Files.createTempFile(dir, ".PREP2024_JAL_", ".zip.part");
        try {
            try (ZipOutputStream zip = new ZipOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16))) {
                new CorteWriter(zip, corte, sequence).writeAll();
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
    }

    public static String sha256Hex(Path file) throws IOException {
        MessageDigest digest = sha256();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /**
     * Writes cortes for benchmarks: {@code dir scale count [yyyyMMdd_HHmm] [stepMinutes] [seed]}.
     * Prints one tab-separated line per package: name, entries, bytes, milliseconds, sha256.
     */
    public static void main(String[] args) throws IOException {
        if (args.length < 3) {
            System.err.println("usage: PrepPackageGenerator <dir> <SMALL|MEDIUM|FULL> <count>"
                    + " [start yyyyMMdd_HHmm, default 20240602_2000] [step minutes, default 20] [seed, default 2024]");
            System.exit(2);
        }
        Path dir = Paths.get(args[0]);
        Scale scale = Scale.parse(args[1]);
        int count = Integer.parseInt(args[2]);
        LocalDateTime start = args.length > 3 ? LocalDateTime.parse(args[3], FILE_STAMP) : PREP_START;
        int step = args.length > 4 ? Integer.parseInt(args[4]) : 20;
        long seed = args.length > 5 ? Long.parseLong(args[5]) : 2024L;
        PrepPackageGenerator generator = new PrepPackageGenerator(scale, seed);
        for (int i = 0; i < count; i++) {
            long began = System.nanoTime();
            Path zip = generator.write(dir, start.plusMinutes((long) step * i), i);
            long millis = Duration.ofNanos(System.nanoTime() - began).toMillis();
            int entries;
            try (ZipFile zf = new ZipFile(zip.toFile())) {
                entries = zf.size();
            }
            System.out.printf(Locale.ROOT, "%s\t%d\t%d\t%d\t%s%n",
                    zip.getFileName(), entries, Files.size(zip), millis, sha256Hex(zip));
        }
    }

    // ------------------------------------------------------------------------------------------
    // One package

    private final class CorteWriter {
        private final ZipOutputStream zip;
        private final LocalDateTime corte;
        private final int sequence;
        private final int minute; // minutes since PREP_START; events at or before it are visible
        private final Tally tally;
        private final MessageDigest digest = sha256();

        CorteWriter(ZipOutputStream zip, LocalDateTime corte, int sequence) {
            this.zip = zip;
            this.corte = corte;
            this.sequence = sequence;
            this.minute = (int) Math.max(-1, Math.min(100_000, Duration.between(PREP_START, corte).toMinutes()));
            this.tally = new Tally(geo, minute, published);
        }

        void writeAll() throws IOException {
            Bundles bundles = new Bundles(seed, sequence / CORTES_PER_DEPLOY, scale.vendorFunctions);
            text("index.html", pageHtml(bundles, null));
            binary("favicon.ico", Binaries.favicon(), true);
            for (String election : ELECTIONS) {
                text(election + "/index.html", pageHtml(bundles, election));
            }
            text("assets/app." + bundles.appHash + ".js", bundles.app);
            text("assets/vendor." + bundles.vendorHash + ".js", bundles.vendor);
            text("assets/styles." + bundles.stylesHash + ".css", bundles.styles);
            binary("assets/img/logo-iepc.png", Binaries.logoPng(), true);
            binary("assets/fonts/source-sans-regular.woff2", Binaries.woff2(seed), true);
            text("data/corte.json", corteJson());
            writeGeo();
            for (int e = 0; e < ELECTIONS.length; e++) {
                writeElection(e);
            }
            for (int e = 0; e < ELECTIONS.length; e++) {
                writeCsv(e);
            }
            text("csv/LEEME.txt", leeme());
        }

        private boolean hasPublished(int[] secciones) {
            for (int s : secciones) {
                if (published[s]) {
                    return true;
                }
            }
            return false;
        }

        private void writeElection(int e) throws IOException {
            String base = "data/" + ELECTIONS[e] + "/";
            text(base + "entidad.json", entidadJson(e));
            for (int d = 0; d < DISTRITOS; d++) {
                text(base + "distritos/" + pad(d + 1, 2) + ".json",
                        areaJson(e, "distrito", pad(d + 1, 2), Geography.DISTRITO_CABECERAS[d], tally.distrito[e][d], geo.seccionesOfDistrito(d)));
            }
            for (int m = 0; m < MUNICIPIOS; m++) {
                if (!scale.everyMunicipio && !hasPublished(geo.seccionesOfMunicipio(m))) {
                    continue;
                }
                text(base + "municipios/" + pad(m + 1, 3) + ".json",
                        areaJson(e, "municipio", pad(m + 1, 3), Geography.MUNICIPIO_NAMES[m], tally.municipio[e][m], geo.seccionesOfMunicipio(m)));
            }
            for (int s = 0; s < geo.secciones; s++) {
                if (published[s]) {
                    text(base + "secciones/" + pad(geo.seccionNumber[s], 4) + ".json", seccionJson(e, s));
                }
            }
            for (int s = 0; s < geo.secciones; s++) {
                if (!published[s]) {
                    continue;
                }
                for (int c = geo.firstCasilla[s]; c < geo.firstCasilla[s + 1]; c++) {
                    text(base + "casillas/" + pad(geo.seccionNumber[s], 4) + "-" + geo.casillaLabel(c) + ".json", casillaJson(e, c));
                }
            }
        }

        // ---- HTML

        private String pageHtml(Bundles bundles, String election) {
            Totals entidad = tally.entidad[0];
            String title = election == null ? "PREP Jalisco 2024" : "PREP Jalisco 2024 · " + capitalize(election);
            StringBuilder h = new StringBuilder(4096);
            h.append("<!doctype html>\n<html lang=\"es-MX\">\n<head>\n")
             .append("  <meta charset=\"utf-8\">\n")
             .append("  <base href=\"/\">\n")
             .append("  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
             .append("  <title>").append(title).append("</title>\n")
             .append("  <link rel=\"icon\" href=\"favicon.ico\">\n")
             .append("  <link rel=\"preload\" href=\"assets/fonts/source-sans-regular.woff2\" as=\"font\" type=\"font/woff2\" crossorigin>\n")
             .append("  <link rel=\"stylesheet\" href=\"assets/styles.").append(bundles.stylesHash).append(".css\">\n")
             .append("  <script defer src=\"assets/vendor.").append(bundles.vendorHash).append(".js\"></script>\n")
             .append("  <script defer src=\"assets/app.").append(bundles.appHash).append(".js\"></script>\n")
             .append("</head>\n<body>\n")
             .append("  <header class=\"prep-header\">\n")
             .append("    <img src=\"assets/img/logo-iepc.png\" alt=\"IEPC Jalisco\" width=\"64\" height=\"64\">\n")
             .append("    <h1>Programa de Resultados Electorales Preliminares · Jalisco 2024</h1>\n")
             .append("    <p class=\"corte\">Corte: <time datetime=\"").append(iso(corte)).append("\">")
             .append(corte.format(HUMAN)).append(" (hora del Centro)</time></p>\n")
             .append("    <p class=\"avance\">Actas capturadas: <strong id=\"porcentaje-actas\">")
             .append(String.format(Locale.ROOT, "%.2f", entidad.esperadas == 0 ? 0.0 : 100.0 * entidad.capturadas / entidad.esperadas))
             .append(" %</strong> (")
             .append(entidad.capturadas).append(" de ").append(entidad.esperadas).append(", gubernatura)</p>\n")
             .append("    <nav><a href=\"/\">Inicio</a> · <a href=\"gubernatura/\">Gubernatura</a> · ")
             .append("<a href=\"diputaciones/\">Diputaciones</a> · <a href=\"ayuntamientos/\">Ayuntamientos</a> · ")
             .append("<a href=\"csv/LEEME.txt\">Base de datos</a></nav>\n")
             .append("  </header>\n")
             .append("  <main id=\"app\" data-eleccion=\"").append(election == null ? "inicio" : election).append("\">\n")
             .append("    <section><h2>Gubernatura: votos por candidatura</h2>\n")
             .append("      <div id=\"totales-gubernatura\">Cargando totales…</div>\n")
             .append("    </section>\n")
             .append("  </main>\n")
             .append("  <footer>Datos sintéticos generados para pruebas: no son resultados oficiales.</footer>\n")
             // plain JS, same origin only: it must work with no network beyond this site
             .append("  <script>\n")
             .append("  (function () {\n")
             .append("    var box = document.getElementById('totales-gubernatura');\n")
             .append("    fetch('data/corte.json', {cache: 'no-store'})\n")
             .append("      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })\n")
             .append("      .then(function (c) {\n")
             .append("        var g = c.elecciones.gubernatura;\n")
             .append("        var rows = g.candidaturas.map(function (x) {\n")
             .append("          return '<li>' + x.nombre + ': <b>' + Number(x.votos).toLocaleString('es-MX') + '</b> (' + x.porcentaje + ' %)</li>';\n")
             .append("        }).join('');\n")
             .append("        box.innerHTML = '<ul>' + rows + '</ul><p>Corte ' + c.corte + ' · actas computadas ' + Number(g.actasComputadas) + '</p>';\n")
             .append("      })\n")
             .append("      .catch(function () { box.textContent = 'Totales no disponibles por el momento.'; });\n")
             .append("  })();\n")
             .append("  </script>\n")
             .append("</body>\n</html>\n");
            return h.toString();
        }

        // ---- JSON

        private String corteJson() {
            StringBuilder j = new StringBuilder(2048);
            Totals gub = tally.entidad[0];
            j.append("{\n")
             .append("  \"corte\": \"").append(iso(corte)).append("\",\n")
             .append("  \"secuencia\": ").append(sequence).append(",\n")
             .append("  \"entidad\": \"JALISCO\",\n")
             .append("  \"actasEsperadas\": \"").append(pad(gub.esperadas, 5)).append("\",\n")
             .append("  \"actasCapturadas\": \"").append(pad(gub.capturadas, 5)).append("\",\n")
             .append("  \"actasComputadas\": \"").append(pad(gub.contabilizadas, 5)).append("\",\n")
             .append("  \"porcentajeActasCapturadas\": \"").append(percent(gub.capturadas, gub.esperadas)).append("\",\n")
             .append("  \"participacionCiudadana\": \"").append(percent(gub.votosTotales(), gub.listaNominal)).append("\",\n")
             .append("  \"aviso\": \"Datos sintéticos para pruebas; no son resultados oficiales.\",\n")
             .append("  \"elecciones\": {\n");
            for (int e = 0; e < ELECTIONS.length; e++) {
                Totals t = tally.entidad[e];
                long total = t.votosTotales();
                j.append("    \"").append(ELECTIONS[e]).append("\": {\n")
                 .append("      \"actasEsperadas\": \"").append(pad(t.esperadas, 5)).append("\",\n")
                 .append("      \"actasCapturadas\": \"").append(pad(t.capturadas, 5)).append("\",\n")
                 .append("      \"actasComputadas\": \"").append(pad(t.contabilizadas, 5)).append("\",\n")
                 .append("      \"porcentajeActasCapturadas\": \"").append(percent(t.capturadas, t.esperadas)).append("\",\n")
                 .append("      \"participacionCiudadana\": \"").append(percent(total, t.listaNominal)).append("\",\n")
                 .append("      \"candidaturas\": [\n");
                long[] blocks = {t.blockFuerza(), t.votos[MC], t.blockSigamos(), t.votos[NO_REG], t.votos[NULOS]};
                String[] names = {"Fuerza y Corazón por Jalisco (PAN-PRI-PRD)", "Movimiento Ciudadano",
                    "Sigamos Haciendo Historia (MORENA-PT-PVEM-HAGAMOS-FUTURO)", "Candidaturas no registradas", "Votos nulos"};
                for (int b = 0; b < blocks.length; b++) {
                    j.append("        {\"nombre\": \"").append(names[b]).append("\", \"votos\": \"").append(pad(blocks[b], 8))
                     .append("\", \"porcentaje\": \"").append(percent(blocks[b], total)).append("\"}")
                     .append(b + 1 < blocks.length ? ",\n" : "\n");
                }
                j.append("      ]\n    }").append(e + 1 < ELECTIONS.length ? ",\n" : "\n");
            }
            j.append("  }\n}\n");
            return j.toString();
        }

        private String entidadJson(int e) {
            Totals t = tally.entidad[e];
            StringBuilder j = new StringBuilder(32 * 1024);
            j.append("{\n");
            header(j, e, "entidad", "14", "JALISCO", t, 8, 5);
            j.append(",\n  \"distritos\": [\n");
            for (int d = 0; d < DISTRITOS; d++) {
                row(j, "distrito", pad(d + 1, 2), tally.distrito[e][d], 7, 5);
                j.append(d + 1 < DISTRITOS ? ",\n" : "\n");
            }
            j.append("  ],\n  \"municipios\": [\n");
            for (int m = 0; m < MUNICIPIOS; m++) {
                row(j, "municipio", pad(m + 1, 3), tally.municipio[e][m], 7, 5);
                j.append(m + 1 < MUNICIPIOS ? ",\n" : "\n");
            }
            j.append("  ]\n}\n");
            return j.toString();
        }

        private String areaJson(int e, String level, String id, String name, Totals t, int[] secciones) {
            StringBuilder j = new StringBuilder(4096);
            j.append("{\n");
            header(j, e, level, id, name, t, 7, 5);
            j.append(",\n  \"secciones\": [\n");
            boolean first = true;
            for (int s : secciones) {
                if (!published[s]) {
                    continue; // only link secciones that have their own file in this package
                }
                if (!first) {
                    j.append(",\n");
                }
                first = false;
                Totals st = tally.seccion[e][s];
                long total = st.votosTotales();
                j.append("    {\"seccion\": \"").append(pad(geo.seccionNumber[s], 4))
                 .append("\", \"actasEsperadas\": \"").append(pad(st.esperadas, 2))
                 .append("\", \"actasCapturadas\": \"").append(pad(st.capturadas, 2))
                 .append("\", \"actasComputadas\": \"").append(pad(st.contabilizadas, 2))
                 .append("\", \"votos\": [");
                for (int k = 0; k < COLS; k++) {
                    j.append(k == 0 ? "\"" : ", \"").append(pad(st.votos[k], 4)).append('"');
                }
                j.append("], \"totalVotos\": \"").append(pad(total, 5))
                 .append("\", \"primerLugar\": ").append(total == 0 ? "null" : "\"" + VOTE_COLUMNS[st.leader()] + "\"")
                 .append("}");
            }
            j.append(first ? "" : "\n").append("  ]\n}\n");
            return j.toString();
        }

        private String seccionJson(int e, int s) {
            Totals t = tally.seccion[e][s];
            StringBuilder j = new StringBuilder(2048);
            j.append("{\n");
            header(j, e, "seccion", pad(geo.seccionNumber[s], 4), null, t, 4, 2);
            j.append(",\n  \"distrito\": \"").append(pad(geo.seccionDistrito[s] + 1, 2))
             .append("\",\n  \"municipio\": \"").append(pad(geo.seccionMunicipio[s] + 1, 3))
             .append("\",\n  \"casillas\": [\n");
            for (int c = geo.firstCasilla[s]; c < geo.firstCasilla[s + 1]; c++) {
                Acta a = tally.acta(e, c);
                j.append("    {\"clave\": \"").append(geo.claveCasilla(c))
                 .append("\", \"casilla\": \"").append(geo.casillaLabel(c))
                 .append("\", \"estatusActa\": \"").append(a.estatus())
                 .append("\", \"contabilizada\": \"").append(a.contabilizada ? 1 : 0)
                 .append("\", \"votos\": [");
                for (int k = 0; k < COLS; k++) {
                    j.append(k == 0 ? "\"" : ", \"").append(pad(a.captured ? a.votos[k] : 0, 3)).append('"');
                }
                j.append("], \"totalVotos\": \"").append(pad(a.total(), 3)).append("\"}")
                 .append(c + 1 < geo.firstCasilla[s + 1] ? ",\n" : "\n");
            }
            j.append("  ]\n}\n");
            return j.toString();
        }

        private String casillaJson(int e, int c) {
            Acta a = tally.acta(e, c);
            int s = geo.casillaSeccion[c];
            StringBuilder j = new StringBuilder(2048);
            j.append("{\n")
             .append("  \"eleccion\": \"").append(ELECTIONS[e].toUpperCase(Locale.ROOT)).append("\",\n")
             .append("  \"claveCasilla\": \"").append(geo.claveCasilla(c)).append("\",\n")
             .append("  \"claveActa\": \"").append(geo.claveCasilla(c)).append('-').append(ELECTION_CODES[e]).append("\",\n")
             .append("  \"entidad\": \"14\",\n")
             .append("  \"distrito\": \"").append(pad(geo.seccionDistrito[s] + 1, 2)).append("\",\n")
             .append("  \"municipio\": \"").append(pad(geo.seccionMunicipio[s] + 1, 3)).append("\",\n")
             .append("  \"nombreMunicipio\": \"").append(Geography.MUNICIPIO_NAMES[geo.seccionMunicipio[s]]).append("\",\n")
             .append("  \"seccion\": \"").append(pad(geo.seccionNumber[s], 4)).append("\",\n")
             .append("  \"tipoCasilla\": \"").append(geo.casillaType[c]).append("\",\n")
             .append("  \"idCasilla\": \"").append(pad(geo.casillaOrdinal[c], 2)).append("\",\n")
             .append("  \"ubicacion\": \"").append(geo.urban[geo.seccionMunicipio[s]] ? "URBANA" : "NO URBANA").append("\",\n")
             .append("  \"listaNominal\": \"").append(pad(geo.listaNominal[c], 3)).append("\",\n")
             .append("  \"estatusActa\": \"").append(a.estatus()).append("\",\n")
             .append("  \"contabilizada\": \"").append(a.contabilizada ? 1 : 0).append("\",\n")
             .append("  \"cotejada\": \"").append(a.cotejada ? 1 : 0).append("\",\n")
             .append("  \"votos\": {");
            for (int k = 0; k < COLS; k++) {
                j.append(k == 0 ? "\n" : ",\n").append("    \"").append(VOTE_COLUMNS[k]).append("\": \"")
                 .append(pad(a.captured ? a.votos[k] : 0, 3)).append('"');
            }
            j.append("\n  },\n  \"candidaturas\": [");
            candidaturas(j, e, s);
            j.append("],\n")
             .append("  \"totalVotosCalculados\": \"").append(pad(a.total(), 3)).append("\",\n")
             .append("  \"totalVotosAsentado\": \"").append(pad(a.total(), 3)).append("\",\n")
             .append("  \"personasVotaron\": \"").append(pad(a.captured ? a.total() - a.votos[NULOS] / 4 : 0, 3)).append("\",\n")
             .append("  \"representantesVotaron\": \"").append(pad(a.captured ? a.representantes : 0, 2)).append("\",\n")
             .append("  \"boletasSobrantes\": \"").append(pad(a.captured ? Math.max(0, geo.listaNominal[c] - a.total()) : 0, 3)).append("\",\n")
             .append("  \"observaciones\": \"").append(a.captured ? a.observaciones : "SIN ACTA").append("\",\n")
             .append("  \"fechaHoraAcopio\": ").append(quotedTime(a.acopio)).append(",\n")
             .append("  \"fechaHoraCaptura\": ").append(quotedTime(a.captura)).append(",\n")
             .append("  \"fechaHoraVerificacion\": ").append(quotedTime(a.verificacion)).append(",\n")
             .append("  \"origen\": ").append(a.captured ? "\"" + a.origen + "\"" : "null").append(",\n")
             .append("  \"digitalizacion\": ").append(a.captured ? "\"" + a.digitalizacion + "\"" : "null").append(",\n")
             .append("  \"codigoIntegridad\": ").append(a.captured ? "\"" + a.codigoIntegridad + "\"" : "null").append(",\n")
             .append("  \"imagenActa\": ").append(a.captured
                     ? "\"actas/" + ELECTIONS[e] + "/" + geo.claveCasilla(c) + ".jpg\"" : "null").append(",\n")
             .append("  \"imagenActaBytes\": ").append(a.captured ? String.valueOf(180_000 + (a.codigoIntegridad.hashCode() & 0x3FFFF)) : "null").append(",\n")
             .append("  \"ultimaActualizacion\": ").append(quotedTime(a.lastEvent)).append(",\n")
             .append("  \"bitacora\": [");
            bitacora(j, e, c, a);
            j.append("]\n}\n");
            return j.toString();
        }

        /** Who is on the ballot: gubernatura is statewide, diputaciones per distrito, ayuntamientos per municipio. */
        private void candidaturas(StringBuilder j, int e, int s) {
            int territory = e == 0 ? 0 : e == 1 ? geo.seccionDistrito[s] + 1 : geo.seccionMunicipio[s] + 1;
            for (int k = 0; k <= FUTURO; k++) {
                SplittableRandom r = new SplittableRandom(seed ^ (e * 1_000_003L + territory * 1_009L + k) * 0x9E3779B97F4A7C15L);
                String coalition = k == MC ? "MC" : (k <= PRD ? "FUERZA Y CORAZÓN POR JALISCO" : "SIGAMOS HACIENDO HISTORIA");
                j.append(k == 0 ? "\n" : ",\n").append("    {\"partido\": \"").append(VOTE_COLUMNS[k])
                 .append("\", \"coalicion\": \"").append(coalition)
                 .append("\", \"candidatura\": \"").append(Names.person(r)).append("\"}");
            }
            j.append("\n  ");
        }

        /** Audit trail of the acta: one entry per step already visible at this corte. */
        private void bitacora(StringBuilder j, int e, int c, Acta a) {
            if (!a.captured) {
                return;
            }
            Geography.Events ev = geo.events[e][c];
            String catd = "CATD-" + pad(geo.seccionDistrito[geo.casillaSeccion[c]] + 1, 2);
            int[] times = {ev.acopio, ev.captura, ev.verificacion, ev.cotejo, ev.correccion};
            String[] names = {"ACOPIO", "CAPTURA", "VERIFICACION", "COTEJO", "RECAPTURA"};
            boolean first = true;
            for (int k = 0; k < times.length; k++) {
                if (times[k] > minute) {
                    continue;
                }
                digest.reset();
                digest.update(ByteBuffer.allocate(24).putLong(seed).putInt(c).putInt(e).putInt(k).putInt(times[k]).array());
                j.append(first ? "\n" : ",\n")
                 .append("    {\"evento\": \"").append(names[k]).append("\", \"fechaHora\": ").append(quotedTime(times[k]))
                 .append(", \"catd\": \"").append(catd).append("\", \"usuario\": \"")
                 .append(k == 0 ? "ACO" : "CAP").append(pad((c * 7 + k * 13 + e) % 400 + 1, 3))
                 .append("\", \"hash\": \"").append(HexFormat.of().formatHex(digest.digest())).append("\"}");
                first = false;
            }
            j.append(first ? "" : "\n  ");
        }

        /** Fields shared by every aggregate level; widths keep equal-size rewrites common. */
        private void header(StringBuilder j, int e, String level, String id, String name, Totals t, int voteWidth, int actaWidth) {
            long total = t.votosTotales();
            j.append("  \"eleccion\": \"").append(ELECTIONS[e].toUpperCase(Locale.ROOT)).append("\",\n")
             .append("  \"nivel\": \"").append(level).append("\",\n")
             .append("  \"id\": \"").append(id).append("\",\n");
            if (name != null) {
                j.append("  \"nombre\": \"").append(name).append("\",\n");
            }
            j.append("  \"actasEsperadas\": \"").append(pad(t.esperadas, actaWidth)).append("\",\n")
             .append("  \"actasCapturadas\": \"").append(pad(t.capturadas, actaWidth)).append("\",\n")
             .append("  \"actasComputadas\": \"").append(pad(t.contabilizadas, actaWidth)).append("\",\n")
             .append("  \"actasCotejadas\": \"").append(pad(t.cotejadas, actaWidth)).append("\",\n")
             .append("  \"porcentajeActasCapturadas\": \"").append(percent(t.capturadas, t.esperadas)).append("\",\n")
             .append("  \"listaNominal\": \"").append(pad(t.listaNominal, voteWidth)).append("\",\n")
             .append("  \"participacionCiudadana\": \"").append(percent(total, t.listaNominal)).append("\",\n")
             .append("  \"ultimaActualizacion\": ").append(quotedTime(t.lastEvent)).append(",\n")
             .append("  \"votos\": {");
            for (int k = 0; k < COLS; k++) {
                j.append(k == 0 ? "\n" : ",\n").append("    \"").append(VOTE_COLUMNS[k]).append("\": \"")
                 .append(pad(t.votos[k], voteWidth)).append('"');
            }
            j.append("\n  },\n")
             .append("  \"totalVotos\": \"").append(pad(total, voteWidth)).append('"');
        }

        private void row(StringBuilder j, String key, String id, Totals t, int voteWidth, int actaWidth) {
            j.append("    {\"").append(key).append("\": \"").append(id)
             .append("\", \"actasCapturadas\": \"").append(pad(t.capturadas, actaWidth))
             .append("\", \"actasComputadas\": \"").append(pad(t.contabilizadas, actaWidth))
             .append("\", \"votos\": [");
            for (int k = 0; k < COLS; k++) {
                j.append(k == 0 ? "\"" : ", \"").append(pad(t.votos[k], voteWidth)).append('"');
            }
            j.append("], \"totalVotos\": \"").append(pad(t.votosTotales(), voteWidth)).append("\"}");
        }

        /** Map outlines of the published secciones: big, and identical in every corte. */
        private void writeGeo() throws IOException {
            startEntry("data/geo/secciones.json", false);
            Writer w = new OutputStreamWriter(new NonClosing(zip), StandardCharsets.UTF_8);
            w.write("{\"type\":\"FeatureCollection\",\"features\":[");
            StringBuilder f = new StringBuilder(4096);
            boolean first = true;
            for (int s = 0; s < geo.secciones; s++) {
                if (!published[s]) {
                    continue;
                }
                SplittableRandom r = new SplittableRandom(seed * 0x2545F4914F6CDD1DL + s);
                double lon = -105.2 + 3.4 * r.nextDouble();
                double lat = 19.2 + 2.9 * r.nextDouble();
                double radius = geo.urban[geo.seccionMunicipio[s]] ? 0.004 : 0.04;
                int vertices = 24 + r.nextInt(40);
                f.setLength(0);
                f.append(first ? "\n" : ",\n").append("{\"type\":\"Feature\",\"properties\":{\"seccion\":\"")
                 .append(pad(geo.seccionNumber[s], 4)).append("\",\"distrito\":\"").append(pad(geo.seccionDistrito[s] + 1, 2))
                 .append("\",\"municipio\":\"").append(pad(geo.seccionMunicipio[s] + 1, 3))
                 .append("\"},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[");
                String firstPoint = null;
                for (int v = 0; v < vertices; v++) {
                    double angle = 2 * Math.PI * v / vertices;
                    double rr = radius * (0.7 + 0.6 * r.nextDouble());
                    String point = String.format(Locale.ROOT, "[%.6f,%.6f]", lon + rr * Math.cos(angle), lat + rr * Math.sin(angle));
                    if (firstPoint == null) {
                        firstPoint = point;
                    }
                    f.append(point).append(',');
                }
                f.append(firstPoint).append("]]}}");
                w.append(f);
                first = false;
            }
            w.write("\n]}\n");
            w.flush();
            zip.closeEntry();
        }

        // ---- CSV (streamed row by row: FULL has ~11,000 rows per election)

        private void writeCsv(int e) throws IOException {
            String upper = ELECTIONS[e].toUpperCase(Locale.ROOT);
            startEntry("csv/" + ELECTIONS[e] + "/PREP_" + upper + "_JAL_2024.csv", false);
            Writer w = new OutputStreamWriter(new NonClosing(zip), StandardCharsets.UTF_8);
            w.write("CLAVE_CASILLA,CLAVE_ACTA,ID_ENTIDAD,ENTIDAD,ID_DISTRITO_LOCAL,DISTRITO_LOCAL,ID_MUNICIPIO,MUNICIPIO,"
                    + "SECCION,ID_CASILLA,TIPO_CASILLA,EXT_CONTIGUA,UBICACION_CASILLA,TIPO_ACTA,"
                    + String.join(",", VOTE_COLUMNS)
                    + ",TOTAL_VOTOS_CALCULADOS,LISTA_NOMINAL,OBSERVACIONES,CONTABILIZADA,MECANISMOS_TRASLADO,CODIGO_INTEGRIDAD,"
                    + "FECHA_HORA_ACOPIO,FECHA_HORA_CAPTURA,FECHA_HORA_VERIFICACION,ORIGEN,DIGITALIZACION,TIPO_DOCUMENTO,COTEJADA\r\n");
            StringBuilder r = new StringBuilder(512);
            for (int s = 0; s < geo.secciones; s++) {
                if (!published[s]) {
                    continue;
                }
                int d = geo.seccionDistrito[s];
                int m = geo.seccionMunicipio[s];
                for (int c = geo.firstCasilla[s]; c < geo.firstCasilla[s + 1]; c++) {
                    Acta a = tally.acta(e, c);
                    if (!a.captured) {
                        continue;
                    }
                    r.setLength(0);
                    r.append(geo.claveCasilla(c)).append(',').append(geo.claveCasilla(c)).append('-').append(ELECTION_CODES[e])
                     .append(",14,JALISCO,").append(d + 1).append(",\"").append(Geography.DISTRITO_CABECERAS[d]).append("\",")
                     .append(m + 1).append(",\"").append(Geography.MUNICIPIO_NAMES[m]).append("\",")
                     .append(geo.seccionNumber[s]).append(',').append(geo.casillaOrdinal[c]).append(',')
                     .append(geo.casillaType[c]).append(',').append(geo.casillaType[c] == 'C' ? geo.casillaOrdinal[c] : 0).append(',')
                     .append(geo.urban[m] ? 1 : 2).append(',').append(e + 1);
                    for (int k = 0; k < COLS; k++) {
                        r.append(',').append(a.votos[k]);
                    }
                    r.append(',').append(a.total()).append(',').append(geo.listaNominal[c])
                     .append(",\"").append(a.observaciones).append("\",").append(a.contabilizada ? 1 : 0)
                     .append(',').append(a.origen.equals("CASILLA") ? "N/A" : "F").append(',').append(a.codigoIntegridad)
                     .append(',').append(time(a.acopio)).append(',').append(time(a.captura)).append(',')
                     .append(a.verificacion == NEVER ? "" : time(a.verificacion)).append(',').append(a.origen)
                     .append(',').append(a.digitalizacion).append(",ACTA PREP,").append(a.cotejada ? 1 : 0).append("\r\n");
                    w.append(r);
                }
            }
            w.flush();
            zip.closeEntry();
        }

        private String leeme() {
            return "PREP Jalisco 2024 - Base de datos (datos sintéticos para pruebas)\r\n"
                    + "Corte: " + corte.format(HUMAN) + " (hora del Centro, UTC" + OFFSET + ")\r\n\r\n"
                    + "Un archivo CSV por elección, codificado en UTF-8, separado por comas, con una fila por\r\n"
                    + "acta capturada hasta el corte. Las casillas sin acta no aparecen.\r\n\r\n"
                    + "  csv/gubernatura/PREP_GUBERNATURA_JAL_2024.csv\r\n"
                    + "  csv/diputaciones/PREP_DIPUTACIONES_JAL_2024.csv\r\n"
                    + "  csv/ayuntamientos/PREP_AYUNTAMIENTOS_JAL_2024.csv\r\n\r\n"
                    + "CONTABILIZADA: 1 si el acta se suma a los totales, 0 si no.\r\n"
                    + "CODIGO_INTEGRIDAD: SHA-256 de la imagen del acta.\r\n"
                    + "TIPO_ACTA: 1 gubernatura, 2 diputaciones, 3 ayuntamientos.\r\n"
                    + "UBICACION_CASILLA: 1 urbana, 2 no urbana.\r\n";
        }

        // ---- zip plumbing

        private void text(String name, String content) throws IOException {
            startEntry(name, false);
            zip.write(content.getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
        }

        private void binary(String name, byte[] content, boolean stored) throws IOException {
            if (!stored) {
                startEntry(name, false);
            } else {
                ZipEntry entry = new ZipEntry(name);
                entry.setTimeLocal(corte);
                entry.setMethod(ZipEntry.STORED);
                CRC32 crc = new CRC32();
                crc.update(content);
                entry.setCrc(crc.getValue());
                entry.setSize(content.length);
                entry.setCompressedSize(content.length);
                zip.putNextEntry(entry);
            }
            zip.write(content);
            zip.closeEntry();
        }

        private void startEntry(String name, boolean stored) throws IOException {
            ZipEntry entry = new ZipEntry(name);
            // setTimeLocal keeps the bytes independent of the machine's time zone
            entry.setTimeLocal(corte);
            entry.setMethod(stored ? ZipEntry.STORED : ZipEntry.DEFLATED);
            zip.putNextEntry(entry);
        }
    }

    // ------------------------------------------------------------------------------------------
    // State of every acta at one corte, and the sums per level

    /** The visible state of one acta at the corte. */
    private static final class Acta {
        boolean captured;
        boolean contabilizada;
        boolean cotejada;
        int[] votos;
        String observaciones;
        String origen;
        String digitalizacion;
        String codigoIntegridad;
        int representantes;
        int acopio = NEVER, captura = NEVER, verificacion = NEVER, lastEvent = NEVER;

        int total() {
            if (!captured) {
                return 0;
            }
            int sum = 0;
            for (int v : votos) {
                sum += v;
            }
            return sum;
        }

        /** 0 sin acta, 1 capturada, 2 contabilizada, 3 cotejada: one digit, so flips keep the size. */
        char estatus() {
            return !captured ? '0' : cotejada ? '3' : contabilizada ? '2' : '1';
        }
    }

    private static final class Totals {
        final long[] votos = new long[COLS];
        int esperadas, capturadas, contabilizadas, cotejadas;
        long listaNominal;
        int lastEvent = NEVER;

        long votosTotales() {
            long sum = 0;
            for (long v : votos) {
                sum += v;
            }
            return sum;
        }

        long blockFuerza() {
            return votos[PAN] + votos[PRI] + votos[PRD] + votos[FIRST_FXC_COMBO] + votos[FIRST_FXC_COMBO + 1]
                    + votos[FIRST_FXC_COMBO + 2] + votos[FIRST_FXC_COMBO + 3];
        }

        long blockSigamos() {
            long sum = votos[PVEM] + votos[PT] + votos[MORENA] + votos[HAGAMOS] + votos[FUTURO];
            for (int k = FIRST_SHH_COMBO; k < NO_REG; k++) {
                sum += votos[k];
            }
            return sum;
        }

        int leader() {
            int best = 0;
            for (int k = 1; k < NO_REG; k++) {
                if (votos[k] > votos[best]) {
                    best = k;
                }
            }
            return best;
        }

        void add(Acta a, int listaNominalCasilla) {
            esperadas++;
            if (a.lastEvent != NEVER && (lastEvent == NEVER || a.lastEvent > lastEvent)) {
                lastEvent = a.lastEvent;
            }
            if (!a.captured) {
                return;
            }
            capturadas++;
            if (a.cotejada) {
                cotejadas++;
            }
            if (a.contabilizada) {
                contabilizadas++;
                listaNominal += listaNominalCasilla;
                for (int k = 0; k < COLS; k++) {
                    votos[k] += a.votos[k];
                }
            }
        }
    }

    private static final class Tally {
        private final Geography geo;
        private final int minute;
        final Totals[] entidad = new Totals[ELECTIONS.length];
        final Totals[][] distrito = new Totals[ELECTIONS.length][DISTRITOS];
        final Totals[][] municipio = new Totals[ELECTIONS.length][MUNICIPIOS];
        final Totals[][] seccion;

        Tally(Geography geo, int minute, boolean[] published) {
            this.geo = geo;
            this.minute = minute;
            this.seccion = new Totals[ELECTIONS.length][geo.secciones];
            for (int e = 0; e < ELECTIONS.length; e++) {
                entidad[e] = new Totals();
                for (int d = 0; d < DISTRITOS; d++) {
                    distrito[e][d] = new Totals();
                }
                for (int m = 0; m < MUNICIPIOS; m++) {
                    municipio[e][m] = new Totals();
                }
                for (int s = 0; s < geo.secciones; s++) {
                    Totals st = new Totals();
                    seccion[e][s] = st;
                    if (!published[s]) {
                        continue; // totals must add up to the files in the package
                    }
                    for (int c = geo.firstCasilla[s]; c < geo.firstCasilla[s + 1]; c++) {
                        Acta a = acta(e, c);
                        int ln = geo.listaNominal[c];
                        st.add(a, ln);
                        entidad[e].add(a, ln);
                        distrito[e][geo.seccionDistrito[s]].add(a, ln);
                        municipio[e][geo.seccionMunicipio[s]].add(a, ln);
                    }
                }
            }
        }

        /** Recomputed on demand: cheap, and keeps memory flat for FULL. */
        Acta acta(int e, int c) {
            Geography.Events ev = geo.events[e][c];
            Acta a = new Acta();
            a.captured = ev.captura <= minute;
            if (!a.captured) {
                return a;
            }
            a.contabilizada = ev.verificacion <= minute;
            a.cotejada = ev.cotejo <= minute;
            boolean corrected = ev.correccion <= minute;
            a.votos = ev.votos.clone();
            if (ev.correccion != NEVER && !corrected) {
                // the first capture carried a typo that a later re-capture fixes
                a.votos[ev.correccionCampo] = Math.max(0, a.votos[ev.correccionCampo] + ev.correccionDelta);
            }
            a.observaciones = ev.verificacion == NEVER ? "ILEGIBLE" : corrected ? "RECAPTURADA" : "SIN OBSERVACIONES";
            a.origen = ev.origen;
            a.digitalizacion = ev.digitalizacion;
            a.codigoIntegridad = ev.codigoIntegridad;
            a.representantes = ev.representantes;
            a.acopio = ev.acopio;
            a.captura = ev.captura;
            a.verificacion = a.contabilizada ? ev.verificacion : NEVER;
            int last = ev.captura;
            for (int t : new int[] {ev.verificacion, ev.cotejo, ev.correccion}) {
                if (t <= minute && t > last) {
                    last = t;
                }
            }
            a.lastEvent = last;
            return a;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Geography and the night's timeline, both fixed by the seed

    private static final class Geography {
        static final String[] DISTRITO_CABECERAS = {
            "Colotlán", "Lagos de Moreno", "Tepatitlán de Morelos", "Zapopan", "Puerto Vallarta",
            "Zapopan", "Tlajomulco de Zúñiga", "Guadalajara", "Guadalajara", "Zapopan",
            "Guadalajara", "Guadalajara", "Guadalajara", "Guadalajara", "La Barca",
            "San Pedro Tlaquepaque", "Jocotepec", "Autlán de Navarro", "Zapotlán el Grande", "Tonalá"};
        static final String[] MUNICIPIO_NAMES = {
            "Acatic", "Acatlán de Juárez", "Ahualulco de Mercado", "Amacueca", "Amatitán", "Ameca",
            "San Juanito de Escobedo", "Arandas", "El Arenal", "Atemajac de Brizuela", "Atengo", "Atenguillo",
            "Atotonilco el Alto", "Atoyac", "Autlán de Navarro", "Ayotlán", "Ayutla", "La Barca", "Bolaños",
            "Cabo Corrientes", "Casimiro Castillo", "Cihuatlán", "Zapotlán el Grande", "Cocula", "Colotlán",
            "Concepción de Buenos Aires", "Cuautitlán de García Barragán", "Cuautla", "Cuquío", "Chapala",
            "Chimaltitán", "Chiquilistlán", "Degollado", "Ejutla", "Encarnación de Díaz", "Etzatlán", "El Grullo",
            "Guachinango", "Guadalajara", "Hostotipaquillo", "Huejúcar", "Huejuquilla el Alto", "La Huerta",
            "Ixtlahuacán de los Membrillos", "Ixtlahuacán del Río", "Jalostotitlán", "Jamay", "Jesús María",
            "Jilotlán de los Dolores", "Jocotepec", "Juanacatlán", "Juchitlán", "Lagos de Moreno", "El Limón",
            "Magdalena", "Santa María del Oro", "La Manzanilla de la Paz", "Mascota", "Mazamitla", "Mexticacán",
            "Mezquitic", "Mixtlán", "Ocotlán", "Ojuelos de Jalisco", "Pihuamo", "Poncitlán", "Puerto Vallarta",
            "Villa Purificación", "Quitupan", "El Salto", "San Cristóbal de la Barranca", "San Diego de Alejandría",
            "San Juan de los Lagos", "San Julián", "San Marcos", "San Martín de Bolaños", "San Martín Hidalgo",
            "San Miguel el Alto", "Gómez Farías", "San Sebastián del Oeste", "Santa María de los Ángeles", "Sayula",
            "Tala", "Talpa de Allende", "Tamazula de Gordiano", "Tapalpa", "Tecalitlán", "Tecolotlán",
            "Techaluta de Montenegro", "Tenamaxtlán", "Teocaltiche", "Teocuitatlán de Corona", "Tepatitlán de Morelos",
            "Tequila", "Teuchitlán", "Tizapán el Alto", "Tlajomulco de Zúñiga", "San Pedro Tlaquepaque", "Tolimán",
            "Tomatlán", "Tonalá", "Tonaya", "Tonila", "Totatiche", "Tototlán", "Tuxcacuesco", "Tuxcueca", "Tuxpan",
            "Unión de San Antonio", "Unión de Tula", "Valle de Guadalupe", "Valle de Juárez", "San Gabriel",
            "Villa Corona", "Villa Guerrero", "Villa Hidalgo", "Cañadas de Obregón", "Yahualica de González Gallo",
            "Zacoalco de Torres", "Zapopan", "Zapotiltic", "Zapotitlán de Vadillo", "Zapotlán del Rey", "Zapotlanejo",
            "San Ignacio Cerro Gordo"};
        /** Big municipios (1-based id), their weight and the distritos (1-based) they span. */
        private static final int[][] METRO = {
            {39, 2300, 8, 9, 11, 12, 13, 14}, {120, 2000, 4, 6, 10}, {97, 1100, 7}, {98, 900, 16}, {101, 800, 20},
            {67, 450, 5}, {70, 300, 20}, {53, 250, 2}, {93, 220, 3}, {23, 180, 19}, {63, 160, 15}, {15, 110, 18},
            {50, 90, 17}, {30, 90, 17}, {25, 30, 1}};
        private static final int[] RURAL_DISTRITOS = {1, 2, 3, 5, 15, 17, 18, 19};

        final int secciones = SECCIONES;
        final int[] seccionNumber = new int[SECCIONES];
        final int[] seccionMunicipio = new int[SECCIONES];
        final int[] seccionDistrito = new int[SECCIONES];
        final int[] firstCasilla = new int[SECCIONES + 1];
        final boolean[] urban = new boolean[MUNICIPIOS];
        final int[] casillaSeccion;
        final char[] casillaType;
        final int[] casillaOrdinal;
        final int[] listaNominal;
        final Events[][] events;
        private final int[][] byDistrito = new int[DISTRITOS][];
        private final int[][] byMunicipio = new int[MUNICIPIOS][];

        Geography(long seed) {
            SplittableRandom rnd = new SplittableRandom(seed);
            int[] weight = new int[MUNICIPIOS];
            int[][] distritosOf = new int[MUNICIPIOS][];
            int rural = 0;
            for (int m = 0; m < MUNICIPIOS; m++) {
                int[] metro = metro(m + 1);
                if (metro != null) {
                    weight[m] = metro[1];
                    distritosOf[m] = Arrays.copyOfRange(metro, 2, metro.length);
                    urban[m] = metro[1] >= 150;
                } else {
                    // heavy-tailed small towns: most have a handful of secciones
                    weight[m] = 8 + (int) (40 * Math.pow(rnd.nextDouble(), 2.5));
                    distritosOf[m] = new int[] {RURAL_DISTRITOS[rural++ * RURAL_DISTRITOS.length / 110]};
                }
            }
            int totalWeight = Arrays.stream(weight).sum();
            int[] seccionesOf = new int[MUNICIPIOS];
            int assigned = 0;
            for (int m = 0; m < MUNICIPIOS; m++) {
                seccionesOf[m] = Math.max(2, weight[m] * SECCIONES / totalWeight);
                assigned += seccionesOf[m];
            }
            seccionesOf[38] += SECCIONES - assigned; // Guadalajara absorbs the rounding

            List<Integer> casillaSeccionList = new ArrayList<>();
            StringBuilder types = new StringBuilder();
            List<Integer> ordinals = new ArrayList<>();
            List<Integer> listas = new ArrayList<>();
            int s = 0;
            for (int m = 0; m < MUNICIPIOS; m++) {
                for (int i = 0; i < seccionesOf[m]; i++, s++) {
                    seccionNumber[s] = s + 1 + (s / 250) * 3; // real numbering has gaps
                    seccionMunicipio[s] = m;
                    int[] ds = distritosOf[m];
                    seccionDistrito[s] = ds[i * ds.length / seccionesOf[m]] - 1;
                    firstCasilla[s] = casillaSeccionList.size();
                    int contiguas = pickContiguas(rnd, urban[m]);
                    addCasilla(casillaSeccionList, types, ordinals, listas, s, 'B', 1, 450 + rnd.nextInt(300));
                    for (int k = 1; k <= contiguas; k++) {
                        addCasilla(casillaSeccionList, types, ordinals, listas, s, 'C', k, 420 + rnd.nextInt(330));
                    }
                    if (!urban[m] && rnd.nextInt(14) == 0) {
                        addCasilla(casillaSeccionList, types, ordinals, listas, s, 'E', 1, 80 + rnd.nextInt(400));
                    }
                    if (rnd.nextInt(55) == 0) {
                        addCasilla(casillaSeccionList, types, ordinals, listas, s, 'S', 1, 0); // especial: no lista nominal
                    }
                }
            }
            firstCasilla[SECCIONES] = casillaSeccionList.size();
            int casillas = casillaSeccionList.size();
            casillaSeccion = casillaSeccionList.stream().mapToInt(Integer::intValue).toArray();
            casillaType = types.toString().toCharArray();
            casillaOrdinal = ordinals.stream().mapToInt(Integer::intValue).toArray();
            listaNominal = listas.stream().mapToInt(Integer::intValue).toArray();

            for (int d = 0; d < DISTRITOS; d++) {
                final int dd = d;
                byDistrito[d] = java.util.stream.IntStream.range(0, SECCIONES).filter(x -> seccionDistrito[x] == dd).toArray();
            }
            for (int m = 0; m < MUNICIPIOS; m++) {
                final int mm = m;
                byMunicipio[m] = java.util.stream.IntStream.range(0, SECCIONES).filter(x -> seccionMunicipio[x] == mm).toArray();
            }

            double[] municipioLean = new double[MUNICIPIOS * COLS];
            for (int i = 0; i < municipioLean.length; i++) {
                municipioLean[i] = Math.exp(0.3 * rnd.nextGaussian());
            }
            events = new Events[ELECTIONS.length][casillas];
            MessageDigest digest = sha256();
            int[] seccionArrival = new int[SECCIONES];
            for (int x = 0; x < SECCIONES; x++) {
                // casillas of one sección sit in the same school and finish counting at about the same time
                SplittableRandom sr = new SplittableRandom(seed * 0xD1B54A32D192ED03L + x * 0x94D049BB133111EBL);
                double hours = Math.exp(Math.log(urban[seccionMunicipio[x]] ? 3.6 : 5.2) + 0.75 * sr.nextGaussian());
                seccionArrival[x] = 20 + (int) Math.min(22 * 60, hours * 60);
            }
            for (int c = 0; c < casillas; c++) {
                int m = seccionMunicipio[casillaSeccion[c]];
                // the three actas of a casilla travel together in the paquete electoral
                SplittableRandom cr = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + c * 0xBF58476D1CE4E5B9L);
                int arrival = seccionArrival[casillaSeccion[c]] + cr.nextInt(35);
                double turnout = clamp(0.61 + 0.07 * cr.nextGaussian(), 0.32, 0.86);
                for (int e = 0; e < ELECTIONS.length; e++) {
                    events[e][c] = new Events(cr, arrival + e * (1 + cr.nextInt(8)), listaNominal[c], casillaType[c],
                            turnout, municipioLean, m, digest, seed, c, e);
                }
            }
        }

        private static int pickContiguas(SplittableRandom rnd, boolean urban) {
            int r = rnd.nextInt(100);
            int base = r < 6 ? 0 : r < 28 ? 1 : r < 60 ? 2 : r < 83 ? 3 : r < 94 ? 4 : 5 + rnd.nextInt(4);
            return urban ? base : Math.max(0, base - 1);
        }

        private static void addCasilla(List<Integer> sec, StringBuilder types, List<Integer> ordinals, List<Integer> listas,
                                       int s, char type, int ordinal, int lista) {
            sec.add(s);
            types.append(type);
            ordinals.add(ordinal);
            listas.add(Math.min(750, lista));
        }

        private static int[] metro(int id) {
            for (int[] row : METRO) {
                if (row[0] == id) {
                    return row;
                }
            }
            return null;
        }

        int[] seccionesOfDistrito(int d) {
            return byDistrito[d];
        }

        int[] seccionesOfMunicipio(int m) {
            return byMunicipio[m];
        }

        String casillaLabel(int c) {
            return String.valueOf(casillaType[c]) + casillaOrdinal[c];
        }

        /** Entidad + sección + tipo + número + extensión, like the INE's CLAVE_CASILLA. */
        String claveCasilla(int c) {
            return "14" + pad(seccionNumber[casillaSeccion[c]], 4) + casillaType[c] + pad(casillaOrdinal[c], 2) + "00";
        }

        /** Fixed facts about one acta: when each step happens during the night and the final votes. */
        static final class Events {
            final int acopio, captura, verificacion, cotejo, correccion;
            final int correccionCampo, correccionDelta, representantes;
            final int[] votos = new int[COLS];
            final String origen, digitalizacion, codigoIntegridad;

            Events(SplittableRandom r, int arrival, int listaNominal, char type, double turnout,
                   double[] lean, int municipio, MessageDigest digest, long seed, int casilla, int election) {
                boolean never = r.nextInt(1000) < 22; // paquetes that never reach a CATD during the PREP
                acopio = never ? NEVER : arrival;
                captura = never ? NEVER : arrival + 1 + r.nextInt(12);
                boolean illegible = r.nextInt(1000) < 18;
                // most actas are verified within minutes; a backlog pushes some into the next corte
                verificacion = never || illegible ? NEVER
                        : captura + (r.nextInt(100) < 85 ? 1 + r.nextInt(12) : 15 + r.nextInt(75));
                // cotejo (comparing a sample against the image) runs in rounds at even hours
                boolean sampled = !never && !illegible && r.nextInt(100) < 35;
                cotejo = sampled ? ((captura + 30) / COTEJO_ROUND_MINUTES + 1) * COTEJO_ROUND_MINUTES : NEVER;
                boolean typo = !never && !illegible && r.nextInt(100) < 3;
                correccion = typo ? captura + 60 + r.nextInt(300) : NEVER;
                correccionCampo = r.nextInt(NO_REG);
                correccionDelta = 1 + r.nextInt(9);
                representantes = r.nextInt(12);
                boolean movil = r.nextInt(100) < 35;
                origen = movil ? "CASILLA" : "CATD";
                digitalizacion = movil ? "MOVIL" : "ESCANER";

                int voters = type == 'S' ? 150 + r.nextInt(450) : (int) Math.round(listaNominal * turnout);
                double[] share = new double[COLS];
                double sum = 0;
                for (int k = 0; k < COLS; k++) {
                    share[k] = BASE_SHARES[k] * lean[municipio * COLS + k] * Math.exp(0.18 * r.nextGaussian());
                    sum += share[k];
                }
                int given = 0;
                for (int k = 0; k < COLS; k++) {
                    votos[k] = (int) Math.floor(voters * share[k] / sum);
                    given += votos[k];
                }
                votos[MC] += voters - given;
                digest.reset();
                digest.update(ByteBuffer.allocate(20).putLong(seed).putInt(casilla).putInt(election).putInt(captura).array());
                codigoIntegridad = HexFormat.of().formatHex(digest.digest());
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Front-end bundles: content derives from (seed, deploy) and the file name from the content

    private static final class Bundles {
        final String app, vendor, styles;
        final String appHash, vendorHash, stylesHash;

        Bundles(long seed, int deploy, int vendorFunctions) {
            SplittableRandom r = new SplittableRandom(seed ^ (0x5DEECE66DL * (deploy + 1)));
            String build = "build-" + deploy + "-" + Long.toHexString(r.nextLong() & 0xFFFFFFFFL);
            this.vendor = vendorJs(r, vendorFunctions, build);
            this.app = appJs(r, build);
            this.styles = stylesCss(r, build);
            this.vendorHash = shortHash(vendor);
            this.appHash = shortHash(app);
            this.stylesHash = shortHash(styles);
        }

        private static String shortHash(String content) {
            return HexFormat.of().formatHex(sha256().digest(content.getBytes(StandardCharsets.UTF_8))).substring(0, 8);
        }

        private static String vendorJs(SplittableRandom r, int functions, String build) {
            StringBuilder js = new StringBuilder(functions * 700);
            js.append("/*! prep-vendor ").append(build).append(" | bundled third-party code (synthetic) */\n");
            js.append("var __prep_modules={};");
            for (int i = 0; i < functions; i++) {
                String n = ident(r, 2 + r.nextInt(3));
                js.append("__prep_modules[").append(i).append("]=function(e,t,n){\"use strict\";var ")
                  .append(n).append("=").append(r.nextInt(1 << 20)).append(",o=function(e){return e&&e.__esModule?e:{default:e}};")
                  .append("function ").append(ident(r, 3)).append("(e,t){for(var r=0;r<t.length;r++){var ")
                  .append(ident(r, 1)).append("=t[r];e[r]=(e[r]|0)+").append(ident(r, 1)).append("*").append(r.nextInt(97) + 3)
                  .append("}return e}")
                  .append("t.").append(ident(r, 4)).append("=function(e){return ").append(n).append("^(e<<")
                  .append(r.nextInt(16)).append(")};")
                  .append("t.").append(ident(r, 5)).append("=\"").append(ident(r, 12 + r.nextInt(20))).append("\";};\n");
            }
            return js.toString();
        }

        private static String appJs(SplittableRandom r, String build) {
            StringBuilder js = new StringBuilder(16 * 1024);
            js.append("/* prep-jalisco-2024 ").append(build).append(" */\n")
              .append("(function(){\"use strict\";var routes={\"/\":\"inicio\",\"/gubernatura/\":\"gubernatura\",")
              .append("\"/diputaciones/\":\"diputaciones\",\"/ayuntamientos/\":\"ayuntamientos\"};\n")
              .append("function load(p){return fetch(p,{cache:\"no-store\"}).then(function(r){return r.json()})}\n")
              .append("function fmt(n){return Number(n).toLocaleString(\"es-MX\")}\n")
              .append("var levels=[\"entidad\",\"distritos\",\"municipios\",\"secciones\",\"casillas\"];\n");
            for (int i = 0; i < 60; i++) {
                js.append("function v").append(ident(r, 4)).append("(e){var t=document.createElement(\"div\");")
                  .append("t.className=\"card card-").append(i).append("\";t.textContent=e.nombre+\": \"+fmt(e.totalVotos);return t}\n");
            }
            js.append("var el=document.getElementById(\"app\");if(el){var k=routes[location.pathname]||\"inicio\";")
              .append("if(k!==\"inicio\"){load(\"data/\"+k+\"/entidad.json\").then(function(d){el.dataset.total=d.totalVotos})}}\n")
              .append("})();\n");
            return js.toString();
        }

        private static String stylesCss(SplittableRandom r, String build) {
            StringBuilder css = new StringBuilder(8 * 1024);
            css.append("/* ").append(build).append(" */\n")
               .append("@font-face{font-family:\"Source Sans\";src:url(fonts/source-sans-regular.woff2) format(\"woff2\");font-display:swap}\n")
               .append("body{font-family:\"Source Sans\",system-ui,sans-serif;margin:0;color:#222;background:#fafafa}\n")
               .append(".prep-header{background:#8a1c5c;color:#fff;padding:1rem}.prep-header img{float:left;margin-right:1rem}\n")
               .append(".corte,.avance{font-size:1.2rem;margin:.25rem 0}#porcentaje-actas{font-size:1.6rem}\n")
               .append("nav a{color:#fff}footer{font-size:.8rem;padding:1rem;color:#666}\n");
            for (int i = 0; i < 80; i++) {
                css.append(".card-").append(i).append("{border-left:4px solid #")
                   .append(String.format(Locale.ROOT, "%06x", r.nextInt(1 << 24))).append(";padding:.5rem;margin:.25rem}\n");
            }
            return css.toString();
        }

        private static String ident(SplittableRandom r, int length) {
            StringBuilder s = new StringBuilder(length);
            for (int i = 0; i < length; i++) {
                s.append((char) ('a' + r.nextInt(26)));
            }
            return s.toString();
        }
    }

    /** Invented candidate names; they do not refer to real candidates. */
    private static final class Names {
        private static final String[] GIVEN = {
            "Ana", "María", "Laura", "Sofía", "Guadalupe", "Verónica", "Claudia", "Patricia", "Alejandra", "Rocío",
            "Mariana", "Fernanda", "Lucía", "Teresa", "Elena", "Irma", "José", "Juan", "Luis", "Carlos", "Jorge",
            "Miguel", "Ricardo", "Alberto", "Raúl", "Javier", "Arturo", "Héctor", "Eduardo", "Sergio", "Rubén",
            "Francisco", "Alfonso", "Salvador", "Ignacio", "Andrés"};
        private static final String[] SURNAMES = {
            "García", "Hernández", "López", "Martínez", "González", "Pérez", "Rodríguez", "Sánchez", "Ramírez",
            "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes", "Jiménez", "Torres", "Díaz", "Gutiérrez",
            "Ruiz", "Mendoza", "Aguilar", "Ortiz", "Moreno", "Castillo", "Romero", "Álvarez", "Méndez", "Chávez",
            "Rivera", "Juárez", "Ramos", "Domínguez", "Herrera", "Medina", "Castro", "Vargas", "Guzmán", "Velázquez",
            "Orozco", "Íñiguez", "Navarro", "Camarena", "Partida", "Padilla", "Zúñiga", "Arias", "Villaseñor"};

        static String person(SplittableRandom r) {
            String given = GIVEN[r.nextInt(GIVEN.length)];
            if (r.nextInt(3) == 0) {
                given = given + " " + GIVEN[r.nextInt(GIVEN.length)];
            }
            return given + " " + SURNAMES[r.nextInt(SURNAMES.length)] + " " + SURNAMES[r.nextInt(SURNAMES.length)];
        }
    }

    // ------------------------------------------------------------------------------------------
    // Small real binaries

    static final class Binaries {
        private static byte[] logo;
        private static byte[] icon;

        /** A 64x64 RGBA PNG (magenta roundel), encoded by hand to stay deterministic. */
        static synchronized byte[] logoPng() {
            if (logo == null) {
                logo = png(64);
            }
            return logo;
        }

        /** An ICO file wrapping a 32x32 PNG, as browsers accept since Windows Vista. */
        static synchronized byte[] favicon() {
            if (icon == null) {
                byte[] png = png(32);
                ByteBuffer b = ByteBuffer.allocate(6 + 16 + png.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                b.putShort((short) 0).putShort((short) 1).putShort((short) 1);
                b.put((byte) 32).put((byte) 32).put((byte) 0).put((byte) 0)
                 .putShort((short) 1).putShort((short) 32).putInt(png.length).putInt(22);
                b.put(png);
                icon = b.array();
            }
            return icon;
        }

        /** Font-shaped blob: WOFF2 signature then seeded bytes; browsers only need it to download. */
        static byte[] woff2(long seed) {
            byte[] data = new byte[24 * 1024];
            new SplittableRandom(seed ^ 0x776F4632L).nextBytes(data);
            byte[] magic = {'w', 'O', 'F', '2', 0, 1, 0, 0};
            System.arraycopy(magic, 0, data, 0, magic.length);
            ByteBuffer.wrap(data, 8, 4).putInt(data.length);
            return data;
        }

        private static byte[] png(int size) {
            try {
                ByteArrayOutputStream raw = new ByteArrayOutputStream();
                double center = (size - 1) / 2.0;
                for (int y = 0; y < size; y++) {
                    raw.write(0); // filter: none
                    for (int x = 0; x < size; x++) {
                        double d = Math.hypot(x - center, y - center) / center;
                        boolean ring = d <= 1.0;
                        boolean inner = d < 0.55;
                        raw.write(inner ? 0xFF : 0x8A);
                        raw.write(inner ? 0xFF : 0x1C);
                        raw.write(inner ? 0xFF : 0x5C);
                        raw.write(ring ? 0xFF : 0x00);
                    }
                }
                Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION);
                deflater.setInput(raw.toByteArray());
                deflater.finish();
                ByteArrayOutputStream idat = new ByteArrayOutputStream();
                byte[] buf = new byte[4096];
                while (!deflater.finished()) {
                    idat.write(buf, 0, deflater.deflate(buf));
                }
                deflater.end();

                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
                ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(size).putInt(size)
                        .put((byte) 8).put((byte) 6).put((byte) 0).put((byte) 0).put((byte) 0);
                chunk(out, "IHDR", ihdr.array());
                chunk(out, "IDAT", idat.toByteArray());
                chunk(out, "IEND", new byte[0]);
                return out.toByteArray();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws IOException {
            byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
            out.write(ByteBuffer.allocate(4).putInt(data.length).array());
            out.write(typeBytes);
            out.write(data);
            CRC32 crc = new CRC32();
            crc.update(typeBytes);
            crc.update(data);
            out.write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        }
    }

    // ------------------------------------------------------------------------------------------
    // helpers

    /** Lets a Writer flush into the current zip entry without closing the whole zip. */
    private static final class NonClosing extends FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is mandatory in every JDK", e);
        }
    }

    static String pad(long value, int width) {
        String digits = Long.toString(value);
        if (digits.length() >= width) {
            return digits;
        }
        return "0".repeat(width - digits.length()) + digits;
    }

    private static String percent(long part, long whole) {
        double p = whole <= 0 ? 0.0 : 100.0 * part / whole;
        // fixed width "045.1234": one of the fields that lets a changed file keep its size
        return String.format(Locale.ROOT, "%08.4f", p);
    }

    private static String iso(LocalDateTime t) {
        return t.format(ISO_MINUTE) + OFFSET;
    }

    private static String time(int minute) {
        return minute == NEVER ? "" : PREP_START.plusMinutes(minute).format(ISO_MINUTE);
    }

    private static String quotedTime(int minute) {
        return minute == NEVER ? "null" : "\"" + time(minute) + OFFSET + "\"";
    }

    private static double clamp(double v, double lo, double hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    private static String capitalize(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
