package mx.prep.difusor.unpack;

import java.util.zip.ZipEntry;

/**
 * One file of the site as found in the package: where it goes, what it is, and which zip entry holds it.
 *
 * @param path         site path, relative to the site root
 * @param entry        the zip entry to stream it from
 * @param size         bytes, as read (not as the zip headers claim)
 * @param sha256       content hash, lower-case hex
 * @param md5          MD5, lower-case hex: the ETag S3 gives a single-part object
 * @param contentType  by extension
 * @param cacheControl by path rule, or null
 * @param zip          fingerprint of the entry's compressed bytes and headers ({@link KnownContent})
 */
public record SiteFile(String path, ZipEntry entry, long size, String sha256, String md5, String contentType, String cacheControl,
                       String zip) {

    public boolean isHtml() {
        return contentType.startsWith("text/html");
    }
}
