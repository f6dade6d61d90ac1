package mx.prep.difusor.publish;

import java.util.List;

import mx.prep.difusor.unpack.SiteFile;
import mx.prep.difusor.unpack.SiteGlob;

/**
 * What is uploaded last, after every other changed file: the HTML entry points, so no new page points at a file not
 * uploaded yet, and the site files difusor.publish.last names (globs). A PREP page whose HTML does not change from corte
 * to corte shows the corte its data file stamps ({@code data/corte.json}): uploaded among the other data files, it
 * said the new corte beside older numbers for as long as the rest took (minutes, when S3 slowed the stage down).
 */
public final class LastFiles {

    private final List<SiteGlob> globs;

    public LastFiles(List<String> globs) {
        this.globs = SiteGlob.ofSetting(globs);
    }

    public static LastFiles pagesOnly() {
        return new LastFiles(List.of());
    }

    public boolean isLast(SiteFile file) {
        return file.isHtml() || SiteGlob.any(globs, file.path());
    }

    /** The globs no file of this package matches (a typo in the overlay's placeholder holds nothing back). */
    public List<String> unmatched(List<SiteFile> files) {
        return globs.stream().filter(g -> files.stream().noneMatch(f -> g.matches(f.path()))).map(SiteGlob::toString).toList();
    }

    @Override
    public String toString() {
        return "HTML" + (globs.isEmpty() ? "" : " and " + globs);
    }
}
