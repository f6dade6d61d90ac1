package mx.prep.difusor.publish;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The CloudFront paths of a plan: as CloudFront takes them, and within the configured number. */
class InvalidationPathsTest {

    @Test
    void pathsAreUrlEncodedWhereCloudFrontAsksAndNowhereElse() {
        assertThat(InvalidationPaths.of(List.of("docs/Presentación 2024.pdf", "csv/GUB_2024-(1).csv", "data/ab?.json",
                "datos/100%.json", "index.html"), 10))
                .containsExactly("/", "/csv/GUB_2024-(1).csv", "/data/ab%3F.json", "/datos/100%25.json",
                        "/docs/Presentaci%C3%B3n%202024.pdf", "/index.html");
    }

    /**
     * A name with a {@code ~} (a bundler's {@code vendors~main.js}) or a {@code *}: browsers request it as it is, which
     * no invalidation path can name (CloudFront refuses a raw {@code ~}, purges nothing for {@code %7E}, and reads
     * {@code *} as a wildcard). Invalidated as its name up to there with a wildcard, counted as one; before, the whole
     * batch was refused, or accepted with a path that matched nothing and the file stayed stale at the edge.
     */
    @Test
    void aNameNoPathCanMatchIsInvalidatedAsAWildcardUpToItsOddCharacter() {
        assertThat(InvalidationPaths.of(List.of("assets/vendors~main.js", "data/a*b.json", "data/c.json", "index.html"), 10))
                .containsExactly("/", "/assets/vendors*", "/data/a*", "/data/c.json", "/index.html");
        assertThat(InvalidationPaths.of(List.of("assets/vendors~main.js"), 10, "prep2024/")).containsExactly("/prep2024/assets/vendors*");
        // more such names than wildcards CloudFront takes in progress: collapsed like any too many
        List<String> odd = new java.util.ArrayList<>();
        for (int d = 1; d <= InvalidationPaths.MAX_WILDCARDS + 1; d++) {
            odd.add("assets/" + d + "/vendors~main.js");
        }
        assertThat(InvalidationPaths.of(odd, 1000)).containsExactly("/assets/*");
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

    /**
     * A limit of 100 paths, and a corte changing 20 files in each of 30 districts: collapsed at the districts' depth it
     * is 30 wildcards, a batch CloudFront refuses whatever is in progress; one level up it fits.
     */
    @Test
    void neverMoreWildcardsThanCloudFrontTakesInProgress() {
        List<String> changed = new java.util.ArrayList<>(List.of("index.html"));
        for (int d = 1; d <= 30; d++) {
            for (int f = 1; f <= 20; f++) {
                changed.add(String.format("data/distrito/%02d/casilla-%02d.json", d, f));
            }
        }
        assertThat(InvalidationPaths.of(changed, 100)).containsExactly("/", "/data/distrito/*", "/index.html");
        // more top-level folders than wildcards allowed: the last resort
        List<String> spread = new java.util.ArrayList<>();
        for (int d = 1; d <= 16; d++) {
            spread.add("seccion-" + d + "/a.json");
            spread.add("seccion-" + d + "/b.json");
        }
        assertThat(InvalidationPaths.of(spread, 20)).containsExactly("/*");
        assertThat(InvalidationPaths.of(spread.subList(0, 30), 20)).hasSize(InvalidationPaths.MAX_WILDCARDS).allMatch(p -> p.endsWith("/*"));
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
