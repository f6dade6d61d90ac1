package mx.prep.difusor.publish;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The CloudFront paths of a plan: as CloudFront takes them, and within the configured number. */
class InvalidationPathsTest {

    @Test
    void pathsAreUrlEncodedWhereCloudFrontAsksAndNowhereElse() {
        assertThat(InvalidationPaths.of(List.of("docs/Presentación 2024.pdf", "csv/GUB_2024-(1).csv", "data/a*b?.json",
                "datos/100%.json", "index.html"), 10))
                .containsExactly("/", "/csv/GUB_2024-(1).csv", "/data/a%2Ab%3F.json", "/datos/100%25.json",
                        "/docs/Presentaci%C3%B3n%202024.pdf", "/index.html");
    }

    @Test
    void anIndexIsAlsoItsDirectoryAndTooManyPathsCollapseIntoWildcards() {
        assertThat(InvalidationPaths.of(List.of("index.html", "ayuntamientos/index.html", "data/corte.json"), 10))
                .containsExactly("/", "/ayuntamientos/", "/ayuntamientos/index.html", "/data/corte.json", "/index.html");
        assertThat(InvalidationPaths.of(List.of("data/a/1.json", "data/a/2.json", "data/b/1.json", "data/b/2.json", "csv/x.csv"), 3))
                .containsExactly("/csv/x.csv", "/data/a/*", "/data/b/*");
        assertThat(InvalidationPaths.of(List.of("data/Sección 1/1.json", "data/Sección 1/2.json", "x.json"), 2))
                .containsExactly("/data/Secci%C3%B3n%201/*", "/x.json");
        assertThat(InvalidationPaths.of(List.of("a/1", "b/1", "c/1"), 2)).containsExactly("/*");
    }

    @Test
    void underAPathPrefixEveryPathAndTheLastResortStayWithinIt() {
        assertThat(InvalidationPaths.of(List.of("index.html", "data/Sección 1/1.json"), 10, "prep 2024/"))
                .containsExactly("/prep%202024/", "/prep%202024/data/Secci%C3%B3n%201/1.json", "/prep%202024/index.html");
        assertThat(InvalidationPaths.of(List.of("data/a/1.json", "data/a/2.json", "data/b/1.json", "data/b/2.json", "csv/x.csv"), 3, "prep2024/"))
                .containsExactly("/prep2024/csv/x.csv", "/prep2024/data/a/*", "/prep2024/data/b/*");
        assertThat(InvalidationPaths.of(List.of("a/1", "b/1", "c/1"), 2, "prep2024/")).containsExactly("/prep2024/*");
        assertThat(InvalidationPaths.of(List.of("a/1", "b/1", "c/1"), 2, "")).containsExactly("/*");
    }
}
