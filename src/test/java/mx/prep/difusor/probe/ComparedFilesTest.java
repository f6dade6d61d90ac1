package mx.prep.difusor.probe;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;

import org.junit.jupiter.api.Test;

/** Where the probe fetches the files it compares beside the page (difusor.probe.also-compare). */
class ComparedFilesTest {

    @Test
    void aFileIsFetchedBesideThePageWithItsPathEncoded() {
        URI page = URI.create("https://prep.example.mx/prep2024/");
        assertThat(InstituteProbe.besidePage(page, "data/corte.json")).hasToString("https://prep.example.mx/prep2024/data/corte.json");
        assertThat(InstituteProbe.besidePage(URI.create("https://prep.example.mx/prep2024/index.html"), "data/corte.json"))
                .hasToString("https://prep.example.mx/prep2024/data/corte.json");
        // a space, an accent and a colon: URI.resolve threw for the first two at every probe
        assertThat(InstituteProbe.besidePage(page, "datos/sección 1.json").toASCIIString())
                .isEqualTo("https://prep.example.mx/prep2024/datos/secci%C3%B3n%201.json");
        assertThat(InstituteProbe.besidePage(page, "a:b.json")).hasToString("https://prep.example.mx/prep2024/a:b.json");
    }

    @Test
    void aProbeUrlWithoutItsTrailingSlashIsTheSiteFolderStill() {
        assertThat(InstituteProbe.besidePage(URI.create("https://prep.example.mx/prep2024"), "data/corte.json"))
                .hasToString("https://prep.example.mx/prep2024/data/corte.json");
        assertThat(InstituteProbe.besidePage(URI.create("https://prep.example.mx"), "data/corte.json"))
                .hasToString("https://prep.example.mx/data/corte.json");
    }
}
