package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import org.junit.jupiter.api.Test;

import mx.prep.difusor.state.Corte;
import mx.prep.difusor.testing.MovableClock;

/** The publication gauges, as the standby replica keeps them from the published state it reads. */
class DifusorMetricsTest {

    private static final ZoneId MEXICO = ZoneId.of("America/Mexico_City");

    @Test
    void theStandbyFollowsEachStateItReadsAndIgnoresAnOlderOneReadLate() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Instant now = Instant.parse("2024-06-03T05:00:00Z");
        DifusorMetrics metrics = new DifusorMetrics(registry, Clock.fixed(now, ZoneOffset.UTC), MEXICO);
        Corte first = Corte.parse("2024-06-02 22:00");
        Corte second = Corte.parse("2024-06-02 22:20");

        metrics.alreadyPublished(first, now.minusSeconds(1800));
        metrics.alreadyPublished(second, now.minusSeconds(600));
        assertThat(gauge(registry, "difusor_seconds_since_last_publication")).isEqualTo(600.0);
        assertThat(gauge(registry, "difusor_published_corte_timestamp_seconds"))
                .isEqualTo((double) second.at().atZone(MEXICO).toEpochSecond());
        assertThat(gauge(registry, "difusor_publication_lag_seconds")).isZero();

        // a slow read of the earlier state changes nothing
        metrics.alreadyPublished(first, now.minusSeconds(1800));
        assertThat(gauge(registry, "difusor_seconds_since_last_publication")).isEqualTo(600.0);
        assertThat(gauge(registry, "difusor_publication_lag_seconds")).isZero();

        // an operator's republish of the older corte, recorded later: that is what is published now
        metrics.alreadyPublished(first, now.minusSeconds(60));
        assertThat(gauge(registry, "difusor_seconds_since_last_publication")).isEqualTo(60.0);
        assertThat(gauge(registry, "difusor_publication_lag_seconds")).isEqualTo(1200.0);
    }

    /**
     * Before anything is published the lag is how long the first announced corte has waited, not NaN: every rule
     * compares NaN as false, so a first corte of the night that never came out raised no alert.
     */
    @Test
    void beforeTheFirstPublicationTheLagCountsFromTheFirstAnnouncement() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Instant start = Instant.parse("2024-06-03T02:00:00Z");
        java.util.concurrent.atomic.AtomicReference<Instant> now = new java.util.concurrent.atomic.AtomicReference<>(start);
        Clock clock = MovableClock.reading(now);
        DifusorMetrics metrics = new DifusorMetrics(registry, clock, MEXICO);
        assertThat(gauge(registry, "difusor_publication_lag_seconds")).isZero();

        metrics.announced(Corte.parse("2024-06-02 20:00"));
        now.set(start.plusSeconds(900));
        metrics.announced(Corte.parse("2024-06-02 20:20"));
        now.set(start.plusSeconds(1500));
        assertThat(gauge(registry, "difusor_publication_lag_seconds")).isEqualTo(1500.0);

        metrics.published(Corte.parse("2024-06-02 20:00"), now.get(), java.util.Map.of(), 1, 1);
        assertThat(gauge(registry, "difusor_publication_lag_seconds")).isEqualTo(1200.0);
        metrics.published(Corte.parse("2024-06-02 20:20"), now.get(), java.util.Map.of(), 1, 1);
        assertThat(gauge(registry, "difusor_publication_lag_seconds")).isZero();
    }

    /**
     * With the PREP's opening time set, a night on which nothing is ever announced (the manifest URL answers 404)
     * still shows a lag; a state left by an earlier rehearsal does not hide it; a corte published after the opening
     * ends it.
     */
    @Test
    void afterThePrepOpensTheLagCountsFromTheOpeningUntilACorteIsPublished() {
        Instant opens = Instant.parse("2024-06-03T02:00:00Z");
        java.util.concurrent.atomic.AtomicReference<Instant> now = new java.util.concurrent.atomic.AtomicReference<>(opens.minusSeconds(3600));
        Clock clock = MovableClock.reading(now);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        DifusorMetrics metrics = new DifusorMetrics(registry, clock, MEXICO, opens, null);
        // a rehearsal's corte, read from the state before the opening
        metrics.alreadyPublished(Corte.parse("2024-05-26 12:00"), Instant.parse("2024-05-26T18:05:00Z"));
        assertThat(gauge(registry, "difusor_publication_lag_seconds")).isZero();

        now.set(opens.plusSeconds(1200));
        assertThat(gauge(registry, "difusor_publication_lag_seconds")).isEqualTo(1200.0);
        metrics.announced(Corte.parse("2024-06-02 20:15"));
        now.set(opens.plusSeconds(1500));
        // announced since: the larger of the two, here the announced corte against the rehearsal's (7 d 8 h 15 min)
        assertThat(gauge(registry, "difusor_publication_lag_seconds")).isEqualTo(634500.0);

        metrics.published(Corte.parse("2024-06-02 20:15"), now.get(), java.util.Map.of(), 1, 1);
        assertThat(gauge(registry, "difusor_publication_lag_seconds")).isZero();
        now.set(opens.plusSeconds(3000));
        assertThat(gauge(registry, "difusor_publication_lag_seconds")).isZero();
    }

    /**
     * A corte ahead of the clock (refused as CORTE_AHEAD) counts from when it was on offer, not by its date: a 2042
     * would hold the lag up for good, a "corte of now" would outlast the corrected corte published minutes later.
     */
    @Test
    void aCorteAheadOfTheClockCountsFromItsOfferUntilAPublication() {
        Instant start = Instant.parse("2024-06-03T02:41:00Z");   // 20:41 in Mexico City
        java.util.concurrent.atomic.AtomicReference<Instant> now = new java.util.concurrent.atomic.AtomicReference<>(start);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        DifusorMetrics metrics = new DifusorMetrics(registry, MovableClock.reading(now), MEXICO, null,
                new mx.prep.difusor.state.CorteHorizon(MovableClock.reading(now), MEXICO, java.time.Duration.ofMinutes(30)));
        metrics.alreadyPublished(Corte.parse("2024-06-02 20:20"), start.minusSeconds(900));
        metrics.announced(Corte.parse("2042-06-02 20:40"));
        now.set(start.plusSeconds(300));
        assertThat(gauge(registry, "difusor_publication_lag_seconds")).isEqualTo(300.0);

        // the institute's corrected 20:40 is published: nothing waits any more
        metrics.published(Corte.parse("2024-06-02 20:40"), now.get(), java.util.Map.of(), 1, 1);
        now.set(start.plusSeconds(900));
        assertThat(gauge(registry, "difusor_publication_lag_seconds")).isZero();

        // on the standby, the state read after it clears it too
        DifusorMetrics standby = new DifusorMetrics(new SimpleMeterRegistry(), MovableClock.reading(now), MEXICO, null,
                new mx.prep.difusor.state.CorteHorizon(MovableClock.reading(now), MEXICO, java.time.Duration.ofMinutes(30)));
        standby.announced(Corte.parse("2042-06-02 20:40"));
        standby.alreadyPublished(Corte.parse("2024-06-02 20:40"), now.get().plusSeconds(1));
        now.set(start.plusSeconds(1200));
        assertThat(standby.lagSeconds()).isZero();
    }

    private static double gauge(SimpleMeterRegistry registry, String name) {
        return registry.get(name).gauge().value();
    }
}
