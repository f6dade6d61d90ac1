package mx.prep.difusor.source;

import java.io.IOException;
import java.net.URI;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Source kind "package-url": a zip at a fixed URL (e.g. {@code .../latest.zip}) with a sidecar
 * {@code <zip URL>.sha256} in sha256sum format ({@code <hex>  <file name>}). The sidecar is what we poll: it is
 * tiny, and its file name field names the package (otherwise the zip's Content-Disposition does).
 */
public final class PackageUrlSource {

    private static final Logger LOG = LoggerFactory.getLogger(PackageUrlSource.class);

    private final URI packageUri;
    private final URI sidecarUri;
    private final ConditionalGet get;
    private volatile PackageOffer lastOffer;

    public PackageUrlSource(URI packageUri, ConditionalGet get) {
        this.packageUri = packageUri;
        this.sidecarUri = URI.create(packageUri + ".sha256");
        this.get = get;
    }

    /** @return the package on offer now, or null when the institute offers none yet */
    public PackageOffer poll() throws IOException, InterruptedException {
        Optional<String> sidecar = get.fetch(sidecarUri);
        if (sidecar.isEmpty()) {
            return lastOffer;
        }
        PackageOffer offer = parse(sidecar.get());
        if (lastOffer == null || !offer.key().equals(lastOffer.key())) {
            LOG.info("{}: announced by the checksum file {} (sha256 {})", offer, SecureHttp.shown(sidecarUri), offer.announcedSha256());
        }
        lastOffer = offer;
        return offer;
    }

    PackageOffer parse(String sidecar) {
        String line = sidecar.strip().lines().findFirst().orElse("").strip();
        String[] fields = line.split("\\s+", 2);
        String checksum = fields[0].isEmpty() ? null : fields[0];
        String named = null;
        if (fields.length == 2) {
            named = fields[1].strip();
            // sha256sum marks binary mode with a leading '*'
            if (named.startsWith("*")) {
                named = named.substring(1);
            }
            // "sha256sum ./dir/PREP….zip" names the file as the institute's shell saw it: its last segment is the name
            String raw = named;
            named = PackageNames.safe(raw);
            if (named != null && !named.equals(raw)) {
                LOG.warn("package '{}' of the checksum file is named {} here (letters, digits, '.', '_', '-' and .zip only)", raw, named);
            }
        }
        return new PackageOffer(named, checksum, null, packageUri, null, named);
    }
}
