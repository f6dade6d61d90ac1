package mx.prep.difusor.publish;

import java.util.Collections;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import mx.prep.difusor.unpack.KnownContent;

/**
 * What the published site holds, path by path: the content hash (never size or time: a changed vote count often
 * keeps its byte size), the MD5 (the ETag of a single-part object, to compare with a bucket listing), the size and
 * the headers it was published with, and the fingerprint of the zip entry it came from (so the next package's
 * unchanged entries need not be inflated again). Kept in S3 beside the published state.
 * <p>
 * {@code etag} is the ETag S3 answered for the object when it is not its MD5 (a bucket encrypted with SSE-KMS gives
 * ETags no content hash predicts); null otherwise, so a manifest of an unencrypted bucket is no larger.
 * <p>
 * {@code undeleted}: paths no longer in the site that S3 refused to delete (AccessDenied), still in the bucket. Not
 * site files (not in {@code files}): the checks of the bucket expect them, the next plans retry deleting them without
 * counting them against difusor.publish.max-deletions. Left out of the JSON when empty, as in manifests written before it.
 */
public record SiteManifest(@JsonProperty("package") String packageName, Map<String, Entry> files,
        @JsonInclude(JsonInclude.Include.NON_EMPTY) SortedSet<String> undeleted) {

    public SiteManifest {
        // a manifest edited by hand without its files (or with an entry null) is no manifest: refused as it is read
        if (files == null || files.values().stream().anyMatch(java.util.Objects::isNull)) {
            throw new IllegalArgumentException("a site manifest lists every published file with its entry");
        }
        undeleted = undeleted == null || undeleted.isEmpty() ? Collections.emptySortedSet()
                : Collections.unmodifiableSortedSet(new TreeSet<>(undeleted));
    }

    public SiteManifest(String packageName, Map<String, Entry> files) {
        this(packageName, files, null);
    }

    /** One published object; {@code zip} is null in manifests written before fingerprints and in bucket listings. */
    public record Entry(String sha256, String md5, long size, String contentType, String cacheControl, String zip, String etag) {

        public Entry {
            // a handful of distinct values over tens of thousands of entries: one copy each, not one per entry
            contentType = contentType == null ? null : contentType.intern();
            cacheControl = cacheControl == null ? null : cacheControl.intern();
        }

        /** True if a listed object with this ETag and size is this entry's object. */
        public boolean listedAs(String listedETag, long listedSize) {
            return size == listedSize && (listedETag.equals(md5) || listedETag.equals(etag));
        }

        /** Same bytes and same headers: nothing to upload. */
        public boolean sameAs(String otherSha256, String otherContentType, String otherCacheControl) {
            return sha256 != null && sha256.equals(otherSha256) && java.util.Objects.equals(contentType, otherContentType)
                    && java.util.Objects.equals(cacheControl, otherCacheControl);
        }
    }

    /** What this manifest says about the zip entries it was built from, by path and fingerprint. */
    public KnownContent knownContent() {
        return (path, fingerprint) -> {
            Entry e = files.get(path);
            return e != null && e.zip() != null && e.sha256() != null && e.md5() != null && e.zip().equals(fingerprint)
                    ? new KnownContent.Known(e.sha256(), e.md5(), e.size(), e.zip()) : null;
        };
    }

    public static SiteManifest empty() {
        return new SiteManifest(null, new TreeMap<>());
    }
}
