package mx.prep.difusor.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.Map;

import org.junit.jupiter.api.Test;

import mx.prep.difusor.PrepPackage;

/** Which package may go over what the state says is public. */
class CorteGateTest {

    private static final String SHA = "ab".repeat(32);
    private static final PublishedState PUBLISHED = new PublishedState("PREP_20240602_2220.zip", "2024-06-02 22:20", SHA, 10, 3,
            "2024-06-03T04:20:00Z", "2024-06-03T04:20:05Z", Map.of(), 3, 0, null, null, null, null, null, null);

    private static PrepPackage verified(String name, String corte, String sha) {
        PrepPackage pkg = new PrepPackage(name, sha, null, Corte.parse(corte), "test", Instant.now());
        pkg.verified(sha);
        return pkg;
    }

    @Test
    void anOlderOrTheSameCorteInAnotherPackageIsTooOld() {
        assertThat(CorteGate.tooOld(verified("PREP_20240602_2200.zip", "2024-06-02 22:00", SHA), PUBLISHED)).isPresent();
        assertThat(CorteGate.tooOld(verified("PREP_20240602_2220_b.zip", "2024-06-02 22:20", SHA), PUBLISHED)).isPresent();
        assertThat(CorteGate.tooOld(verified("PREP_20240602_2220.zip", "2024-06-02 22:20", "cd".repeat(32)), PUBLISHED))
                .as("the same name with other bytes").isPresent();
        assertThat(CorteGate.tooOld(verified("PREP_20240602_2240.zip", "2024-06-02 22:40", SHA), PUBLISHED)).isEmpty();
    }

    /**
     * The package on line itself, which the state came to name after the early gate let it through (another process
     * recorded it, and a probe or the status page read that): not stale, which wrote "stale" over its "published"
     * record and quarantined it; the plan's gate skips it quietly as already published.
     */
    @Test
    void thePublishedPackageItselfIsNotTooOld() {
        assertThat(CorteGate.tooOld(verified("PREP_20240602_2220.zip", "2024-06-02 22:20", SHA), PUBLISHED)).isEmpty();
        // but it is when a newer corte was cut short over it: that one is the resume's to finish
        PublishedState cutShort = PUBLISHED.publishing("PREP_20240602_2240.zip", "2024-06-02 22:40", null, null, "a");
        assertThat(CorteGate.tooOld(verified("PREP_20240602_2220.zip", "2024-06-02 22:20", SHA), cutShort)).isPresent();
    }

    /**
     * The same corte as one cut short, in another package (the institute sent it again under another name): refused, as
     * it is against the published corte. It went public over the half-published one when the poll took the turn before
     * the resume's timer, and was refused when the resume came first. The package cut short itself goes on.
     */
    @Test
    void theSameCorteAsOneCutShortInAnotherPackageIsTooOld() {
        PublishedState cutShort = PUBLISHED.publishing("PREP_20240602_2240.zip", "2024-06-02 22:40", null, null, "a");
        assertThat(CorteGate.tooOld(verified("PREP_20240602_2240_b.zip", "2024-06-02 22:40", "cd".repeat(32)), cutShort)).get().asString()
                .contains("not newer than corte 2024-06-02 22:40 (PREP_20240602_2240.zip)");
        assertThat(CorteGate.tooOld(verified("PREP_20240602_2240.zip", "2024-06-02 22:40", "cd".repeat(32)), cutShort)).isEmpty();
        assertThat(CorteGate.tooOld(verified("PREP_20240602_2300.zip", "2024-06-02 23:00", SHA), cutShort)).isEmpty();
    }
}
