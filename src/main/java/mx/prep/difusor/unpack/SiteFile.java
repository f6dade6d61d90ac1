package mx.prep.difusor.unpack;


/**
 * One file of the site as found in the package: where it goes, what it is, and which zip entry holds it.
 *
 * @param path         site path, relative to the site root
 * @param entryName    the name of the zip entry to stream it from (the same string as the path when the name needs no
 *                     normalising): the entry itself is looked up when read, since a ZipEntry per file, held from the
 *                     unzip to the record, was a tenth of the heap for a site four times FULL
 * @param size         bytes, as read (not as the zip headers claim)
 * @param sha256       content hash, lower-case hex
 * @param md5          MD5, lower-case hex: the ETag S3 gives a single-part object
 * @param contentType  by extension
 * @param cacheControl by path rule, or null
 * @param zip          fingerprint of the entry's compressed bytes and headers ({@link KnownContent})
 */
public record SiteFile(String path, String entryName, long size, String sha256, String md5, String contentType, String cacheControl,
                       String zip) {

    public boolean isHtml() {
        return contentType.startsWith("text/html");
    }
}
