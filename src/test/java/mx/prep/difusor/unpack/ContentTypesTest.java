package mx.prep.difusor.unpack;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ContentTypesTest {

    @Test
    void pagesAndResultsAreTypedByTheirExtensionInAnyCase() {
        assertThat(ContentTypes.of("gubernatura/index.HTM")).isEqualTo("text/html; charset=utf-8");
        assertThat(ContentTypes.isHtml("INDEX.HTML")).isTrue();
        assertThat(ContentTypes.of("data/casilla-0a1b2c3d.JSON")).isEqualTo("application/json");
        assertThat(ContentTypes.of("PREP_GUB_2024.csv")).isEqualTo("text/csv; charset=utf-8");
    }

    /** Served as application/octet-stream, a browser downloaded the map and refused to stream-compile the module. */
    @Test
    void mapsAndMediaASiteMayCarryHaveTheirOwnType() {
        assertThat(ContentTypes.of("mapas/distritos.geojson")).isEqualTo("application/geo+json");
        assertThat(ContentTypes.of("mapas/municipios.topojson")).isEqualTo("application/json");
        assertThat(ContentTypes.of("assets/visor.wasm")).isEqualTo("application/wasm");
        assertThat(ContentTypes.of("assets/img/fondo.avif")).isEqualTo("image/avif");
        assertThat(ContentTypes.of("media/mensaje.mp4")).isEqualTo("video/mp4");
        assertThat(ContentTypes.of("media/mensaje.webm")).isEqualTo("video/webm");
    }

    @Test
    void aFileWithoutAKnownExtensionIsOctetStream() {
        assertThat(ContentTypes.of("resultados/presidencia")).isEqualTo("application/octet-stream");
        assertThat(ContentTypes.of("a.b/c")).isEqualTo("application/octet-stream");
        assertThat(ContentTypes.of("datos.bin")).isEqualTo("application/octet-stream");
    }
}
