package mx.prep.difusor.unpack;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.List;
import java.util.zip.ZipFile;

/**
 * The site inside a verified package: its files in publication order, streamed from the spooled zip on demand
 * (never unpacked to disk, never all in memory).
 */
public final class SitePackage implements AutoCloseable {

    private final ZipFile zip;
    private final List<SiteFile> files;

    SitePackage(ZipFile zip, List<SiteFile> files) {
        this.zip = zip;
        this.files = List.copyOf(files);
    }

    public List<SiteFile> files() {
        return files;
    }

    /** Everything but HTML entry points: published first, so no new page can point at a file not there yet. */
    public Iterator<SiteFile> assets() {
        return files.stream().filter(f -> !f.isHtml()).iterator();
    }

    /** The HTML entry points, published last. */
    public Iterator<SiteFile> pages() {
        return files.stream().filter(SiteFile::isHtml).iterator();
    }

    /** The file's bytes, re-readable from any mark (the S3 client resets the body to retry an upload). */
    public InputStream open(SiteFile file) {
        try {
            return new EntryStream(zip, entry(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file.path() + " from the package: " + e.getMessage(), e);
        }
    }

    /** The file's bytes, read once into memory: for small files only (the caller bounds how many are held at once). */
    public byte[] read(SiteFile file) {
        try (InputStream in = zip.getInputStream(entry(file))) {
            byte[] bytes = in.readNBytes((int) file.size());
            if (bytes.length != file.size() || in.read() >= 0) {
                throw new IOException("its size is no longer " + file.size() + " bytes");
            }
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file.path() + " from the package: " + e.getMessage(), e);
        }
    }

    private java.util.zip.ZipEntry entry(SiteFile file) throws IOException {
        java.util.zip.ZipEntry entry = zip.getEntry(file.entryName());
        if (entry == null) {
            throw new IOException("no entry named " + file.entryName());
        }
        return entry;
    }

    @Override
    public void close() {
        try {
            zip.close();
        } catch (IOException ignored) {
            // read-only; nothing to lose
        }
    }
}
