package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DifusorConfigurationTest {

    @Test
    void theInvalidationPathBudgetIsSharedByTheDistributions() {
        assertThat(DifusorConfiguration.invalidationPaths(10, 1)).isEqualTo(10);
        assertThat(DifusorConfiguration.invalidationPaths(10, 2)).isEqualTo(5);
        assertThat(DifusorConfiguration.invalidationPaths(3000, 4)).isEqualTo(750);
    }

    @Test
    void moreThanCloudFrontTakesInOneInvalidationIsRefusedAtStart() {
        assertThatThrownBy(() -> DifusorConfiguration.invalidationPaths(3001, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("difusor.cdn.max-paths");
        assertThatThrownBy(() -> DifusorConfiguration.invalidationPaths(0, 1)).isInstanceOf(IllegalArgumentException.class);
    }
}
