package mx.prep.difusor.publish;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import mx.prep.difusor.Failures;
import mx.prep.difusor.quarantine.Quarantine;

/** A dry-run report is named after the package (a name the source gave is no path), and written whole or not at all. */
class DryRunTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "PREP2024_JAL_20240602_2000.zip | PREP2024_JAL_20240602_2000",
            "../../etc/cron.d/x.zip         | _.._.._etc_cron.d_x",
            "a/b.zip                        | a_b",
            "..                             | _..",
            "'paquete de difusión.ZIP'      | paquete_de_difusi_n" })
    void theReportsFileNameKeepsOnlyTheNamesSafeCharacters(String name, String stem) {
        assertThat(DryRun.fileStem(name)).isEqualTo(stem);
    }

    /**
     * A report that cannot be written fails the step, and leaves no hidden {@code .part} file behind: one per failed
     * write would pile up in the folder, unseen, all night.
     */
    @Test
    void aReportThatCannotBeWrittenLeavesNoHalfReportBehind(@TempDir Path folder) throws IOException {
        // the report's own path taken by a folder that is not empty: the final move is refused
        Files.writeString(Files.createDirectories(folder.resolve("unnamed-package.json")).resolve("kept"), "x");
        DryRun dryRun = new DryRun(folder, null, new Failures(), null);
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.setProperty(Quarantine.STEP, "download");
        exchange.setException(new IOException("connection reset"));

        assertThatThrownBy(() -> dryRun.refused(exchange)).isInstanceOf(IOException.class);

        try (var left = Files.list(folder)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactly("unnamed-package.json");
        }
    }
}
