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
        }
        return out;
    }
}
