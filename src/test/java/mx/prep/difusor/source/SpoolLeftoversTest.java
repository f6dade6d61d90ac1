package mx.prep.difusor.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a start does with the spool an earlier process left. */
class SpoolLeftoversTest {

    @TempDir
    Path work;

    /**
     * A copy taken back from the history is removed (the history holds it); a package the institute itself named
     * "resumed-..." is set aside like any download: a name with the old "resumed-" prefix was deleted as a copy, a
     * package received and lost.
     */
    @Test
    void onlyCopiesTakenBackFromTheHistoryAreRemovedAtStart() throws Exception {
        Path spool = Files.createDirectories(work.resolve("spool"));
        Path copy = Files.writeString(spool.resolve(InterruptedPublication.RESUMED_PREFIX + "PREP2024_JAL_20240602_2200.zip"), "copy");
        Files.writeString(spool.resolve("resumed-PREP2024_JAL_20240602_2220.zip"), "the institute's");
        Path leftovers = SpoolLeftovers.besideSpool(spool);

        java.util.List<String> logged = new java.util.ArrayList<>();
        try (AutoCloseable capture = mx.prep.difusor.testing.CapturedLogs.capture(logged)) {
            new SpoolLeftovers(spool, leftovers, null, null, null,
                    new mx.prep.difusor.state.CorteParser(".*_(?<date>\\d{8})_(?<time>\\d{4})\\.zip", java.time.ZoneId.of("America/Mexico_City")),
                    Clock.systemUTC(), Duration.ofMinutes(5), true);
        }

        // named with its corte, as every line about a package: the runbook greps the logs by corte
        assertThat(logged).filteredOn(l -> l.contains("left in the spool by an earlier process")).singleElement().asString()
                .contains("package resumed-PREP2024_JAL_20240602_2220.zip (corte 2024-06-02 22:20)");
        assertThat(copy).doesNotExist();
        assertThat(leftovers.resolve("resumed-PREP2024_JAL_20240602_2220.zip")).hasContent("the institute's");
        assertThat(spool).isEmptyDirectory();
    }

    /**
     * A dry run keeps no package and never sweeps the leftovers: what a killed process left in the spool stays there,
     * for a start that publishes. Set aside, it stayed among the leftovers for good, counted as a package only on the
     * pod (PrepPackagesOnlyOnAPod, critical, on a scraped dry-run pod).
     */
    @Test
    void aDryRunLeavesTheSpoolAsItFindsIt() throws Exception {
        Path spool = Files.createDirectories(work.resolve("spool"));
        Path left = Files.writeString(spool.resolve("PREP2024_JAL_20240602_2220.zip"), "a package");
        Path leftovers = SpoolLeftovers.besideSpool(spool);

        new SpoolLeftovers(spool, leftovers, null, null, null, null, Clock.systemUTC(), Duration.ofMinutes(5), false);

        assertThat(left).hasContent("a package");
        assertThat(leftovers).doesNotExist();
    }
}
