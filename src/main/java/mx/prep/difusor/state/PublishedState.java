package mx.prep.difusor.state;

import java.util.Map;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What the public sees now: the state object in S3, so that a restarted pod (or the next leader) knows what is
 * published without asking anyone.
 *
 * @param undeleted how many files S3 refused to delete stay in the site bucket (the site manifest lists them), null
 *                  for none: here so that every replica, the standby too, reports it (difusor_site_undeleted_files)
 * @param publishingIndex the SHA-256 of the index.html of the package being published, null when none is: the probe
 *                  takes that page for the site's too (its pages go public before the invalidation and the record)
 * @param publishingFiles the SHA-256 of each file of {@code difusor.probe.also-compare} in that package (path to hash),
 *                  null when no publication is under way: the probe takes those for the site's too
 * @param publishingHeaders the headers that publication puts on files ({@code CacheControlRules#fingerprint()}), or
 *                  {@link #MIXED_HEADERS} after attempts under different ones; null when none is under way (or written
 *                  by an older difusor: taken as unknown)
 */
public record PublishedState(
        @JsonProperty("package") String packageName,
        String corte,
        String sha256,
        long size,
        int files,
        String receivedAt,
        String publishedAt,
        Map<String, Long> stageMillis,
        Integer uploaded,
        Integer deleted,
        String publishing,
        String publishingCorte,
        Integer undeleted,
        String publishingIndex,
        Map<String, String> publishingFiles,
        String publishingHeaders) {

    /** Publications cut short one after another under different header rules: the bucket may hold either's. */
    public static final String MIXED_HEADERS = "mixed";

    /**
     * The same state, marked as being changed by a publication: until the next record, the site manifest may not
     * match the bucket (a crash, a failed upload), so the next publication rebuilds it from a bucket listing. The
     * package's corte goes with its name: a name need not hold it (the manifest may announce it), and a publication cut
     * short is taken back from the history by name alone.
     */
    public PublishedState publishing(String packageName, String packageCorte, String packageIndex, Map<String, String> packageFiles,
            String headers) {
        // an attempt cut short under other rules left its files with those headers: neither rule set vouches for them
        // (nor for those of an attempt an older difusor marked without its rules)
        String attempted = publishing != null && !headers.equals(publishingHeaders) ? MIXED_HEADERS : headers;
        return new PublishedState(this.packageName, corte, sha256, size, files, receivedAt, publishedAt, stageMillis, uploaded, deleted,
                packageName, packageCorte, undeleted, packageIndex, packageFiles, attempted);
    }

    /**
     * Whether the files an unfinished publication may have uploaded carry the headers of {@code headers}, the rules in
     * force now: true when none is under way; false for a marker without its rules (an older difusor's, or a rollback
     * to one: it may have run under any), which costs one upload of every file.
     */
    public boolean unfinishedUnder(String headers) {
        return publishing == null || headers.equals(publishingHeaders);
    }

    /** A state with nothing published yet, only a publication under way. */
    public static PublishedState nothingYet(String publishing, String publishingCorte, String publishingIndex,
            Map<String, String> publishingFiles, String publishingHeaders) {
        return new PublishedState(null, null, null, 0, 0, null, null, Map.of(), 0, 0, publishing, publishingCorte, null, publishingIndex,
                publishingFiles, publishingHeaders);
    }

    /** Files S3 refused to delete that stay in the site bucket; 0 in a state written before they were counted. */
    public int undeletedFiles() {
        return undeleted == null ? 0 : undeleted;
    }

    public boolean hasPublished() {
        return packageName != null;
    }

    public Corte corteValue() {
        return corte == null ? null : Corte.parse(corte);
    }

    /**
     * The corte of another package whose publication was cut short: part of it may be public already, and the resume
     * finishes it from the history. Empty when there is none, or it is the package {@code name} itself.
     */
    public java.util.Optional<Corte> unfinishedCorte(String name) {
        if (publishing == null || publishing.equals(name) || publishingCorte == null) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(Corte.parse(publishingCorte));
    }

    public boolean isSamePackage(String name, String sha) {
        return packageName != null && packageName.equals(name) && sha256.equalsIgnoreCase(sha == null ? "" : sha.strip());
    }
}
