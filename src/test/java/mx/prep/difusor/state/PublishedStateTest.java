package mx.prep.difusor.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

/** The "publishing" marker's header rules, through attempts cut short one after another. */
class PublishedStateTest {

    private static final PublishedState PUBLISHED = new PublishedState("PREP_20240602_2220.zip", "2024-06-02 22:20", "ab".repeat(32), 10, 3,
            "2024-06-03T04:20:00Z", "2024-06-03T04:20:05Z", Map.of(), 3, 0, null, null, null, null, null, null);

    @Test
    void anAttemptUnderTheRulesInForceVouchesForItsFiles() {
        PublishedState marked = PUBLISHED.publishing("PREP_20240602_2240.zip", "2024-06-02 22:40", null, null, "a");
        assertThat(marked.unfinishedUnder("a")).isTrue();
        assertThat(marked.unfinishedUnder("b")).isFalse();
        // the same rules again (a resume): still theirs
        assertThat(marked.publishing("PREP_20240602_2240.zip", "2024-06-02 22:40", null, null, "a").unfinishedUnder("a")).isTrue();
    }

    @Test
    void attemptsCutShortUnderDifferentRulesVouchForNoneOfThemUntilAPublicationIsRecorded() {
        PublishedState underNew = PUBLISHED.publishing("PREP_20240602_2240.zip", "2024-06-02 22:40", null, null, "b");
        PublishedState rolledBack = underNew.publishing("PREP_20240602_2240.zip", "2024-06-02 22:40", null, null, "a");
        assertThat(rolledBack.publishingHeaders()).isEqualTo(PublishedState.MIXED_HEADERS);
        assertThat(rolledBack.unfinishedUnder("a")).isFalse();
        assertThat(rolledBack.unfinishedUnder("b")).isFalse();
        // and it stays so through a third attempt under either
        assertThat(rolledBack.publishing("PREP_20240602_2240.zip", "2024-06-02 22:40", null, null, "a").unfinishedUnder("a")).isFalse();
    }

    @Test
    void noPublicationUnderWayTakesTheRulesInForceAndAMarkerFromAnOlderDifusorNone() {
        assertThat(PUBLISHED.unfinishedUnder("a")).isTrue();
        PublishedState older = new PublishedState("PREP_20240602_2220.zip", "2024-06-02 22:20", "ab".repeat(32), 10, 3, "2024-06-03T04:20:00Z",
                "2024-06-03T04:20:05Z", Map.of(), 3, 0, "PREP_20240602_2240.zip", "2024-06-02 22:40", null, null, null, null);
        // it may have run under any rules (a rollback to an older image, too): every file is uploaded again, once
        assertThat(older.unfinishedUnder("a")).isFalse();
        assertThat(older.publishing("PREP_20240602_2240.zip", "2024-06-02 22:40", null, null, "b").publishingHeaders())
                .isEqualTo(PublishedState.MIXED_HEADERS);
    }
}
