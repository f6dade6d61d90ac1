package mx.prep.difusor.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.Map;
import java.util.function.Predicate;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/** Derives test packages from a generated one: entries dropped or replaced, under another package name. */
public final class PackageEdits {

    private PackageEdits() {
    }

    public static Path rewrite(Path zip, Path out, Predicate<String> keep, Map<String, byte[]> replaced) throws IOException {
        return rewrite(zip, out, keep, replaced, Map.of());
    }

    /** Also adds entries, e.g. a name that escapes the site root or an archive inside the package. */
    public static Path rewrite(Path zip, Path out, Predicate<String> keep, Map<String, byte[]> replaced, Map<String, byte[]> added)
            throws IOException {
        try (ZipFile in = new ZipFile(zip.toFile()); OutputStream file = Files.newOutputStream(out); ZipOutputStream z = new ZipOutputStream(file)) {
            Enumeration<? extends ZipEntry> entries = in.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (!keep.test(e.getName())) {
                    continue;
                }
                z.putNextEntry(new ZipEntry(e.getName()));
                if (replaced.containsKey(e.getName())) {
                    z.write(replaced.get(e.getName()));
                } else {
                    try (InputStream data = in.getInputStream(e)) {
                        data.transferTo(z);
                    }
                }
                z.closeEntry();
            }
            for (Map.Entry<String, byte[]> e : added.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return out;
    }
}
