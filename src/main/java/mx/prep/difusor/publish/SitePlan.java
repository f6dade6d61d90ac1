package mx.prep.difusor.publish;

import java.util.List;
import java.util.Map;

import mx.prep.difusor.unpack.SiteFile;

/**
 * What publishing a package changes: the files to upload (new or different content or headers), the objects to
 * delete (gone from the package), and the CloudFront paths to invalidate.
 *
 * @param rebuilt  true when the published manifest was missing or untrusted and the bucket listing was used instead
 * @param keptETags the ETags of files not uploaded, where S3's ETag is not their MD5 (SSE-KMS), for the next manifest
 * @param replaces SHA-256 of the package published before this one, or null for the first
 * @param replacedAt when that one was published (its state's publishedAt), or null for the first: the same package can
 *                   be published over the same other one more than once (an operator's republish back and forth)
 */
public record SitePlan(List<SiteFile> uploads, List<String> deletions, List<String> invalidationPaths, int unchanged, boolean rebuilt,
        Map<String, String> keptETags, String replaces, String replacedAt) {

    public List<SiteFile> assets() {
        return uploads.stream().filter(f -> !f.isHtml()).toList();
    }

    public List<SiteFile> pages() {
        return uploads.stream().filter(SiteFile::isHtml).toList();
    }

    public String summary() {
        return uploads.size() + " to upload (" + pages().size() + " HTML), " + deletions.size() + " to delete, " + unchanged
                + " unchanged; invalidation " + invalidationPaths + (rebuilt ? "; compared with a bucket listing" : "");
    }
}
