package mx.prep.difusor.source;

import java.net.URI;

/**
 * What the institute says is on offer: a package name, its announced checksum and size, and where to fetch it.
 * The checksum is kept as announced (possibly malformed): the checksum filter judges it, so that a bad
 * announcement ends in quarantine with the package rather than in a log line.
 *
 * @param packageName      file name of the zip, e.g. {@code PREP2024_JAL_20240602_2000.zip}; null when the source
 *                         names it only in the download's Content-Disposition
 * @param announcedSha256  the checksum text as announced (manifest field or sidecar first token), or null
 * @param announcedSize    the size in bytes as announced, or null
 * @param packageUri       where the zip is
 * @param announcedCorte   the corte as announced by a manifest, or null (then it comes from the package name)
 * @param checksumNames    the file name the sidecar's line names, or null
 * @param sidecarSha256    a manifest's package may also have a sha256sum sidecar: its checksum, to be compared, or null
 */
public record PackageOffer(String packageName, String announcedSha256, Long announcedSize, URI packageUri,
        String announcedCorte, String checksumNames, String sidecarSha256) {

    public PackageOffer(String packageName, String announcedSha256, Long announcedSize, URI packageUri, String announcedCorte,
            String checksumNames) {
        this(packageName, announcedSha256, announcedSize, packageUri, announcedCorte, checksumNames, null);
    }

    public PackageOffer withSidecar(String sha256) {
        return new PackageOffer(packageName, announcedSha256, announcedSize, packageUri, announcedCorte, checksumNames, sha256);
    }

    /** Exchange property holding the offer while it is downloaded, for the dead-letter channel's report. */
    public static final String PROPERTY = "packageOffer";

    /** Identity of an offer: the same name with the same checksum is the same package. */
    public String key() {
        return packageName + "@" + announcedSha256;
    }

    @Override
    public String toString() {
        return "package " + (packageName == null ? SecureHttp.shown(packageUri) : packageName);
    }
}
