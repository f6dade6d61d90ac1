package mx.prep.difusor.publish;

import java.util.List;

import mx.prep.difusor.unpack.SiteGlob;

/**
 * Objects in the site bucket that are the operator's, not the package's (difusor.site.keep): a hand-placed
 * {@code robots.txt}, a {@code .well-known/} file, a search engine's verification page. The difusor never deletes them
 * and a check of the bucket does not count them as a difference; a package that holds such a path still publishes
 * it. Without this, the first plan after a restart would delete them, or, once more than
 * difusor.publish.max-deletions of them had gathered, quarantine every corte.
 */
public final class SiteKeep {

    private final List<SiteGlob> globs;

    public SiteKeep(List<String> globs) {
        this.globs = SiteGlob.ofSetting(globs);
    }

    public static SiteKeep nothing() {
        return new SiteKeep(List.of());
    }

    /** True for a site path the operator keeps. */
    public boolean keeps(String path) {
        return SiteGlob.any(globs, path);
    }

    @Override
    public String toString() {
        return globs.toString();
    }
}
