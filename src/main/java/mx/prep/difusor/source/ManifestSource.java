package mx.prep.difusor.source;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.Json;

/**
 * Source kind "manifest": a JSON document {@code {"package", "sha256", "size", "url"?, "corte"?}} announcing the
 * newest package; without {@code url} the zip sits next to the manifest under its package name.
 */
public final class ManifestSource {

    private static final Logger LOG = LoggerFactory.getLogger(ManifestSource.class);

    private static final java.util.regex.Pattern SHA256_HEX = java.util.regex.Pattern.compile("[0-9a-fA-F]{64}");

    private final URI manifestUri;
    private final ConditionalGet get;
    private final LastOffer lastOffer;

    public ManifestSource(URI manifestUri, ConditionalGet get) {
        this.manifestUri = manifestUri;
        this.get = get;
        this.lastOffer = new LastOffer("the manifest " + SecureHttp.shown(manifestUri));
    }

    /** @return the package on offer now, or null when the institute offers none yet */
    public PackageOffer poll() throws IOException, InterruptedException {
        Optional<String> document = get.fetch(manifestUri);
        if (document.isEmpty()) {
            // unchanged (304): the same package is still on offer, the pipeline knows whether it is settled; gone (404):
            // none, also after an offer
            return lastOffer.unchangedOrGone(get.absent(manifestUri));
        }
        PackageOffer offer;
        try {
            offer = withSidecar(parse(document.get()));
            if (announcesNoSha256(offer)) {
                // nothing to verify it against yet (the checksum file written after the manifest): a failed poll, the
                // manifest and its checksum file read again next time. Offered, it was refused for good
                throw new IOException(offer + ": the manifest announces no sha256, and there is no checksum file beside the package "
                        + "naming it; read again at the next poll");
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            // the manifest is read again next time: answered 304, it would hide this package until the next corte
            get.forget(manifestUri);
            throw e;
        }
        if (lastOffer.announces(offer)) {
            LOG.info("{}: announced by the manifest {} (sha256 {}, {} bytes)", offer, SecureHttp.shown(manifestUri),
                    offer.announcedSha256(), offer.announcedSize());
        }
        return offer;
    }

    /**
     * When the institute also publishes {@code <zip>.sha256}, it is kept beside the manifest's checksum for the checksum
     * filter to compare. It is optional, and the manifest is the announcement: a checksum file that cannot be read now
     * (a 5xx, a timeout), is refused (a 403, as S3 answers for a missing key) or is not a checksum file (an SPA's HTML
     * page served for every path) counts as none, with a warning. Holding the corte for it would keep the public on
     * old numbers while the manifest answers.
     */
    private PackageOffer withSidecar(PackageOffer offer) throws IOException, InterruptedException {
        URI zip = offer.packageUri();
        URI sidecarUri;
        try {
            // beside the zip's path: a query (a version, a signature) is the zip's, not the sidecar's
            sidecarUri = new URI(zip.getScheme(), zip.getAuthority(), zip.getPath() + ".sha256", null, null);
        } catch (java.net.URISyntaxException e) {
            LOG.warn("{}: no checksum file URL beside {} ({}); the manifest's checksum alone is compared", offer, SecureHttp.shown(zip), e.getMessage());
            return offer;
        }
        // read whole each time the manifest changes: a 304 here would skip the comparison
        get.forget(sidecarUri);
        Optional<String> sidecar;
        try {
            sidecar = get.fetch(sidecarUri);
        } catch (IOException unread) {
            LOG.warn("{}: the checksum file beside the package cannot be read ({}); the manifest's checksum alone is compared", offer,
                    unread.getMessage());
            return offer;
        }
        if (sidecar.isEmpty()) {
            return offer;
        }
        PackageUrlSource.ChecksumLine line = PackageUrlSource.checksumLine(sidecar.get(),
                n -> java.util.Objects.equals(PackageNames.safe(n), offer.packageName()));
        String listed = java.util.Objects.requireNonNullElse(line.checksum(), "");
        if (!SHA256_HEX.matcher(listed).matches()) {
            LOG.warn("{}: {} is not a checksum file (it starts '{}'); the manifest's checksum alone is compared", offer,
                    SecureHttp.shown(sidecarUri), listed.length() > 40 ? listed.substring(0, 40) + "…" : listed);
            return offer;
        }
        String sha256 = listed.toLowerCase(java.util.Locale.ROOT);
        if (announcesNoSha256(offer)) {
            // a manifest without the field still has the checksum file beside its zip: refused for "no SHA-256
            // announced", every corte was, with the institute's checksum one URL away. Only a line naming the package:
            // a file beside a fixed URL (latest.zip.sha256) may still be the previous corte's, whose bytes would match
            if (line.name() == null || !offer.packageName().equals(PackageNames.safe(line.name()))) {
                throw new IOException(offer + ": the manifest announces no sha256, and the checksum file " + SecureHttp.shown(sidecarUri)
                        + " does not name the package (" + (line.name() == null ? "it names no file" : "it names " + line.name())
                        + "); read again at the next poll");
            }
            LOG.warn("{}: the manifest announces no sha256; the checksum file {} beside the package is the announcement", offer,
                    SecureHttp.shown(sidecarUri));
            return new PackageOffer(offer.packageName(), sha256, offer.announcedSize(), zip, offer.announcedCorte(), offer.packageName());
        }
        return offer.withSidecar(sha256);
    }

    private static boolean announcesNoSha256(PackageOffer offer) {
        return offer.announcedSha256() == null || offer.announcedSha256().isBlank();
    }

    /**
     * What a zip named without a URL resolves against: where the manifest really was (a manifest moved and redirected
     * has its zips beside it), unless that is a signed URL (a query), whose signature is the manifest's alone.
     */
    static URI zipBase(URI configured, URI answered) {
        return answered.getRawQuery() == null ? answered : configured;
    }

    PackageOffer parse(String json) throws IOException {
        JsonNode node;
        try {
            // a byte-order mark (a manifest saved by Notepad or PowerShell) is no JSON to Jackson's text parser
            node = Json.MAPPER.readTree(json.startsWith("\uFEFF") ? json.substring(1) : json);
        } catch (IOException e) {
            throw new IOException("the manifest " + SecureHttp.shown(manifestUri) + " is not JSON: " + e.getMessage(), e);
        }
        if (node == null || !node.isObject() || !node.path("package").isTextual() || node.path("package").asText().isBlank()) {
            throw new IOException("the manifest " + SecureHttp.shown(manifestUri) + " names no package");
        }
        String name = node.path("package").asText().trim();
        if (name.contains("/") || name.contains("\\")) {
            throw new IOException("the manifest " + SecureHttp.shown(manifestUri) + " names a package with a path: " + name);
        }
        String sha = node.path("sha256").isTextual() ? node.path("sha256").asText() : null;
        Long size = node.path("size").canConvertToLong() ? node.path("size").asLong() : null;
        String url = node.path("url").isTextual() ? node.path("url").asText() : null;
        String corte = node.path("corte").isTextual() ? node.path("corte").asText() : null;
        URI zip;
        URI base = get == null ? manifestUri : zipBase(manifestUri, get.answeredFrom(manifestUri));
        try {
            zip = url == null || url.isBlank()
                    ? base.resolve(URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20"))
                    : base.resolve(url);
        } catch (IllegalArgumentException e) {
            // the JDK's message repeats the whole URL, a presigned one's signature with it
            throw new IOException("the manifest " + SecureHttp.shown(manifestUri) + " names a package URL that is not a valid URL: "
                    + SecureHttp.shown(url));
        }
        if (get != null && !get.allows(zip)) {
            // the manifest names a host nobody allowed: someone else's manifest, or a host to add after the institute says so
            throw new IOException("the manifest " + SecureHttp.shown(manifestUri) + " names a package at " + SecureHttp.shown(zip) + ": "
                    + get.notAllowed(zip));
        }
        String safe = PackageNames.safe(name);
        if (safe == null) {
            throw new IOException("the manifest " + SecureHttp.shown(manifestUri) + " names no usable package: '" + name + "'");
        }
        if (!safe.equals(name)) {
            LOG.warn("package '{}' of the manifest is named {} here (letters, digits, '.', '_', '-' and .zip only)", name, safe);
        }
        return new PackageOffer(safe, sha, size, zip, corte, null);
    }
}
