package mx.prep.difusor.publish;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import mx.prep.difusor.unpack.ContentTypes;
import mx.prep.difusor.unpack.SiteFile;

/** What waits for every other changed file: a page however its name is written, and what difusor.publish.last names. */
class LastFilesTest {

    private static SiteFile file(String path) {
        return new SiteFile(path, path, 1, "0".repeat(64), "0".repeat(32), ContentTypes.of(path), null, null);
    }

    /**
     * A page named .htm, in capitals, or deep in the site is a page: uploaded early, it would point at bundles and data
     * not uploaded yet. A file under a folder named html is not.
     */
    @Test
    void everyPageGoesLastWhateverItsNameAndOnlyTheNamedDataFileBesideThem() {
        LastFiles last = new LastFiles(List.of("data/corte.json"));
        for (String page : List.of("index.html", "gubernatura/INDEX.HTML", "diputaciones/distrito/01/seccion.htm", "Ayuda.Htm")) {
            assertThat(last.isLast(file(page))).as(page).isTrue();
        }
        assertThat(last.isLast(file("data/corte.json"))).isTrue();
        for (String early : List.of("data/resultados.json", "html/app.js", "index.html.gz", "css/main.0f3a9c1d.css", "PREP_GUB_2024.csv")) {
            assertThat(last.isLast(file(early))).as(early).isFalse();
        }
        assertThat(LastFiles.pagesOnly().isLast(file("data/corte.json"))).isFalse();
    }
}
