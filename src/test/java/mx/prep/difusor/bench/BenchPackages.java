package mx.prep.difusor.bench;

import java.io.BufferedOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Enumeration;
import java.util.Locale;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import mx.prep.difusor.embedded.PrepPackageGenerator;

/**
 * Packages for the benchmark, built on {@link PrepPackageGenerator}.
 *
 * <ul>
 * <li>{@code generate <dir> <scale> <count> <start yyyyMMdd_HHmm> <step minutes> <seed> <first sequence>}: like the
 * generator's own main, but the corte sequence can start anywhere, so a series can cross a front-end deploy (the
 * generator renames its hashed bundles every 10 cortes: new and deleted objects). Prints
 * {@code name entries bytes sha256} per package.</li>
 * <li>{@code diff <previous.zip> <next.zip>}: what really changed, by content:
 * {@code changed same_size_changed new deleted unchanged total} (changed counts entries present in both whose bytes
 * differ; to publish = changed + new + deleted).</li>
 * <li>{@code merge <out.zip> <site.zip> <more.zip>...}: one larger package: the first site at the root, each other one
 * under {@code sitio-2/}, {@code sitio-3/}, ... (like a difusor serving several states' sites from one package).</li>
 * </ul>
 */
public final class BenchPackages {

    private static final DateTimeFormatter FILE_STAMP = DateTimeFormatter.ofPattern("yyyyMMdd_HHmm");

    private BenchPackages() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "generate" -> generate(args);
            case "diff" -> diff(Path.of(args[1]), Path.of(args[2]));
            case "merge" -> merge(args);
            default -> throw new IllegalArgumentException("generate | diff | merge, not " + args[0]);
        }
    }

    private static void generate(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        PrepPackageGenerator.Scale scale = PrepPackageGenerator.Scale.parse(args[2]);
        int count = Integer.parseInt(args[3]);
        LocalDateTime start = LocalDateTime.parse(args[4], FILE_STAMP);
        int step = Integer.parseInt(args[5]);
        long seed = Long.parseLong(args[6]);
        int firstSequence = Integer.parseInt(args[7]);
        PrepPackageGenerator generator = new PrepPackageGenerator(scale, seed);
        for (int i = 0; i < count; i++) {
            Path zip = generator.write(dir, start.plusMinutes((long) step * i), firstSequence + i);
            int entries;
            try (ZipFile z = new ZipFile(zip.toFile())) {
                entries = z.size();
            }
            System.out.printf(Locale.ROOT, "%s %d %d %s%n", zip.getFileName(), entries, Files.size(zip),
                    PrepPackageGenerator.sha256Hex(zip));
        }
    }

    private static void diff(Path previous, Path next) throws Exception {
        Map<String, String> before = BucketCheck.entryHashes(previous);
        Map<String, String> after = BucketCheck.entryHashes(next);
        Map<String, Long> sizeBefore = sizes(previous);
        Map<String, Long> sizeAfter = sizes(next);
        long changed = 0;
        long sameSize = 0;
        long added = 0;
        long unchanged = 0;
        for (Map.Entry<String, String> e : after.entrySet()) {
            String old = before.get(e.getKey());
            if (old == null) {
                added++;
            } else if (old.equals(e.getValue())) {
                unchanged++;
            } else {
                changed++;
                if (sizeBefore.get(e.getKey()).equals(sizeAfter.get(e.getKey()))) {
                    sameSize++;
                }
            }
        }
        long deleted = before.keySet().stream().filter(k -> !after.containsKey(k)).count();
        System.out.printf(Locale.ROOT, "%d %d %d %d %d %d%n", changed, sameSize, added, deleted, unchanged, after.size());
    }

    private static Map<String, Long> sizes(Path zip) throws Exception {
        Map<String, Long> sizes = new java.util.HashMap<>();
        try (ZipFile z = new ZipFile(zip.toFile())) {
            Enumeration<? extends ZipEntry> entries = z.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                sizes.put(e.getName(), e.getSize());
            }
        }
        return sizes;
    }

    private static void merge(String[] args) throws Exception {
        Path out = Path.of(args[1]);
        Path tmp = out.resolveSibling("." + out.getFileName() + ".part");
        long entries = 0;
        try (ZipOutputStream zip = new ZipOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16))) {
            byte[] buffer = new byte[1 << 16];
            for (int i = 2; i < args.length; i++) {
                String prefix = i == 2 ? "" : "sitio-" + (i - 1) + "/";
                try (ZipFile in = new ZipFile(Path.of(args[i]).toFile())) {
                    Enumeration<? extends ZipEntry> e = in.entries();
                    while (e.hasMoreElements()) {
                        ZipEntry source = e.nextElement();
                        ZipEntry target = new ZipEntry(prefix + source.getName());
                        target.setTime(source.getTime());
                        zip.putNextEntry(target);
                        try (InputStream data = in.getInputStream(source)) {
                            for (int n; (n = data.read(buffer)) > 0; ) {
                                zip.write(buffer, 0, n);
                            }
                        }
                        zip.closeEntry();
                        entries++;
                    }
                }
            }
        }
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        System.out.printf(Locale.ROOT, "%s %d %d %s%n", out.getFileName(), entries, Files.size(out),
                PrepPackageGenerator.sha256Hex(out));
    }

}
