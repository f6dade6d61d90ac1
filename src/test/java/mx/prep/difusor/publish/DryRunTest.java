package mx.prep.difusor.publish;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A dry-run report is named after the package; a name the source gave (a checksum file's line) is no path. */
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
}
