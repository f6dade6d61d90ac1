package mx.prep.difusor.unpack;

import java.io.IOException;
import java.io.InputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A zip entry's bytes that can be read again: {@link #reset()} reopens the entry and skips to the mark. The AWS SDK
 * marks a request body and resets it to retry a failed upload; buffering instead would put every entry in memory.
 */
final class EntryStream extends InputStream {

    private final ZipFile zip;
    private final ZipEntry entry;
    private InputStream in;
    private long position;
    private long mark;

    EntryStream(ZipFile zip, ZipEntry entry) throws IOException {
        this.zip = zip;
        this.entry = entry;
        this.in = zip.getInputStream(entry);
    }

    @Override
    public int read() throws IOException {
        int b = in.read();
        if (b >= 0) {
            position++;
        }
        return b;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        int n = in.read(buffer, offset, length);
        if (n > 0) {
            position += n;
        }
        return n;
    }

    @Override
    public boolean markSupported() {
        return true;
    }

    @Override
    public synchronized void mark(int readLimit) {
        // any read limit is fine: the entry can always be read again from the start
        mark = position;
    }

    @Override
    public synchronized void reset() throws IOException {
        in.close();
        in = zip.getInputStream(entry);
        position = 0;
        for (long toSkip = mark; toSkip > 0;) {
            long skipped = in.skip(toSkip);
            if (skipped <= 0) {
                throw new IOException("cannot return to byte " + mark + " of '" + ZipStructure.label(entry.getName()) + "'");
            }
            toSkip -= skipped;
        }
        position = mark;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
