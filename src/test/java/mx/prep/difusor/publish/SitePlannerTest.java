package mx.prep.difusor.publish;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The share a TOO_MANY_DELETIONS refusal names beside the limit it passed. */
class SitePlannerTest {

    @Test
    void theShareOfTheSiteADeletionWouldTakeIsRoundedUpSoItNeverReadsAsTheLimitItPassed() {
        assertThat(SitePlanner.share(1001, 10000)).isEqualTo("10.01");
        assertThat(SitePlanner.share(10001, 100000)).isEqualTo("10.01");
        assertThat(SitePlanner.share(400, 3000)).isEqualTo("13.34");
        assertThat(SitePlanner.share(1, 2)).isEqualTo("50.00");
        assertThat(SitePlanner.share(3, 0)).isEqualTo("300.00");
    }
}
