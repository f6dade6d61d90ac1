package mx.prep.difusor.publish;

import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What the published site holds, path by path: the content hash (never size or time: a changed vote count often
 * keeps its byte size), the MD5 (the ETag of a single-part object, to compare with a bucket listing), the size and
 * the headers it was published with. Kept in S3 beside the published state.
 */
public record SiteManifest(@JsonProperty("package") String packageName, Map<String, Entry> files) {

    /** One published object. */
    public record Entry(String sha256, String md5, long size, String contentType, String cacheControl) {

        /** Same bytes and same headers: nothing to upload. */
        public boolean sameAs(Entry other) {
            return other != null && sha256 != null && sha256.equals(other.sha256) && java.util.Objects.equals(contentType, other.contentType)
                    && java.util.Objects.equals(cacheControl, other.cacheControl);
        }
    }

    public static SiteManifest empty() {
        return new SiteManifest(null, new TreeMap<>());
    }
}
