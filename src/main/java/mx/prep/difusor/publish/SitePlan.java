package mx.prep.difusor.publish;

import java.util.List;
import java.util.Map;

import mx.prep.difusor.unpack.SiteFile;

/**
 * What publishing a package changes: the files to upload (new or different content or headers), the objects to
 * delete (gone from the package), and the CloudFront paths to invalidate.
 *
 * @param leftovers files earlier cortes left in the bucket because S3 refused to delete them (the manifest's
 *                  {@code undeleted}), which the package does not hold either: deleted again, never counted against
 *                  difusor.publish.max-deletions, and not in {@code invalidationPaths} (see {@link #withInvalidationPaths})
 * @param changed  the site paths {@code invalidationPaths} was made from, before the limit and the CDN prefix
 * @param rebuilt  true when the published manifest was missing or untrusted and the bucket listing was used instead
 * @param keptETags the ETags of files not uploaded, where S3's ETag is not their MD5 (SSE-KMS), for the next manifest
 * @param replaces SHA-256 of the package published before this one, or null for the first
 * @param replacedAt when that one was published (its state's publishedAt), or null for the first: the same package can
 *                   be published over the same other one more than once (an operator's republish back and forth)
 */
public record SitePlan(List<SiteFile> uploads, List<String> deletions, List<String> leftovers, List<String> changed,
        List<String> invalidationPaths, int unchanged, boolean rebuilt, Map<String, String> keptETags, String replaces, String replacedAt) {

    public List<SiteFile> assets() {
        return uploads.stream().filter(f -> !f.isHtml()).toList();
    }

    public List<SiteFile> pages() {
        return uploads.stream().filter(SiteFile::isHtml).toList();
    }

    /**
     * The same plan, invalidating these paths: the prune's, once it knows which leftovers S3 deleted this time. A
     * leftover S3 refuses again is not invalidated again: the CDN serves it as the bucket holds it, as it has since the
     * corte that first tried to delete it invalidated it.
     */
    public SitePlan withInvalidationPaths(List<String> paths) {
        return new SitePlan(uploads, deletions, leftovers, changed, paths, unchanged, rebuilt, keptETags, replaces, replacedAt);
    }

    public String summary() {
        return uploads.size() + " to upload (" + pages().size() + " HTML), " + deletions.size() + " to delete"
                + (leftovers.isEmpty() ? "" : " (+" + leftovers.size() + " S3 refused to delete for earlier cortes, tried again)")
                + ", " + unchanged + " unchanged; invalidation " + invalidationPaths + (rebuilt ? "; compared with a bucket listing" : "");
    }
}
