package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import mx.prep.difusor.embedded.PrepPackageGenerator;
import mx.prep.difusor.testing.FaultProxy;
import mx.prep.difusor.testing.PackageEdits;

/**
 * A night of 72 cortes at an accelerated pace, with random faults on the network (S3 SlowDown, connections reset
 * mid-upload, slow answers, CloudFront unavailable) and bad packages mixed in. Not part of the default test run:
 * {@code mvn test -Psoak}. Prints the figures at the end.
 */
@Tag("soak")
class SoakTest extends PipelineTestBase {

    private static final int CORTES = Integer.getInteger("soak.cortes", 72);

    @Test
    void aNightOfCortesWithFaultsAndBadPackages() throws Exception {
        // the local run's packages, not the pipeline tests' smaller ones: a night as the embedded default plays it
        generator = new PrepPackageGenerator(PrepPackageGenerator.Scale.SMALL, 2024L);
        var settings = settings();
        settings.put("difusor.source.poll-cron", "0/1 * * * * ?");
        startDifusor(settings);
        Random random = new Random(Long.getLong("soak.seed", 2024L));
        List<String> published = new ArrayList<>();
        Map<String, String> rejected = new LinkedHashMap<>();
        List<String> received = new ArrayList<>();
        long maxLatencyMillis = 0;
        Path newestGood = null;
        int faults = 0;
        int[] faultRules = new int[2]; // S3, CloudFront

        for (int sequence = 0; sequence < CORTES; sequence++) {
            Path good = corte(sequence);
            faults += injectFaults(random, faultRules);
            String bad = sequence > 0 && sequence % 9 == 4 ? pickBad(random) : null;
            Path offered = good;
            String expectedReason = null;
            if (bad != null) {
                String name = good.getFileName().toString();
                switch (bad) {
                    case "checksum" -> {
                        institute.release(good, "0".repeat(64), Files.size(good));
                        expectedReason = "CHECKSUM_MISMATCH";
                    }
                    case "escape" -> {
                        offered = PackageEdits.rewrite(between(sequence), tmp.resolve("bad-" + name), n -> true, Map.of(),
                                Map.of("../../etc/cron.d/boom", "x".getBytes(StandardCharsets.UTF_8)));
                        expectedReason = "UNSAFE_ENTRY_NAME";
                    }
                    case "nested" -> {
                        offered = PackageEdits.rewrite(between(sequence), tmp.resolve("bad-" + name), n -> true, Map.of(),
                                Map.of("data/respaldo.zip", "PK\u0003\u0004".getBytes(StandardCharsets.ISO_8859_1)));
                        expectedReason = "NESTED_ARCHIVE";
                    }
                    default -> {
                        offered = corte(sequence - 2 - random.nextInt(2));
                        expectedReason = "STALE_CORTE";
                    }
                }
                if (!bad.equals("checksum")) {
                    // a package that passed its checksum is history: the bad one carries a corte of its own, between two good ones
                    Path renamed = Files.createDirectories(tmp.resolve("bad-" + sequence)).resolve(
                            bad.equals("stale") ? offered.getFileName().toString() : betweenName(sequence));
                    Files.move(offered, renamed);
                    offered = renamed;
                    institute.release(offered);
                }
                String key = offered.getFileName().toString().replace(".zip", "");
                await().atMost(Duration.ofSeconds(120)).until(() -> !keys(HISTORY, "quarantine/" + key + "/").isEmpty());
                rejected.put(offered.getFileName().toString(), expectedReason);
                received.add(offered.getFileName().toString());
                if (bad.equals("stale")) {
                    continue;
                }
                // the same corte, good this time
            }
            long started = System.nanoTime();
            institute.release(good);
            awaitPublished(good);
            maxLatencyMillis = Math.max(maxLatencyMillis, (System.nanoTime() - started) / 1_000_000);
            published.add(good.getFileName().toString());
            received.add(good.getFileName().toString());
            newestGood = good;
        }
        s3Network.clearFaults();

        assertSiteEquals(newestGood);
        assertThat(publishedState()).get().extracting(s -> s.packageName()).isEqualTo(newestGood.getFileName().toString());
        for (String name : published) {
            assertThat(keys(HISTORY, "history/" + name)).as("history holds %s", name).contains("history/" + name, "history/" + name + ".sha256");
        }
        for (var bad : rejected.entrySet()) {
            String key = bad.getKey().replace(".zip", "");
            assertThat(keys(HISTORY, "quarantine/" + key + "/")).as("quarantine holds %s", bad.getKey()).isNotEmpty();
            // for the reason it is bad, not a fault's (RETRIES_EXHAUSTED, UNEXPECTED)
            for (String report : keys(HISTORY, "quarantine/" + key + "/").stream().filter(k -> k.endsWith("/report.json")).toList()) {
                assertThat(Json.MAPPER.readTree(bucket.getObjectAsBytes(b -> b.bucket(HISTORY).key(report)).asByteArray()).path("reason")
                        .asText()).as("reason %s is quarantined for", bad.getKey()).isEqualTo(bad.getValue());
            }
        }
        assertThat(cloudFront.created(DISTRIBUTION)).hasSize(published.size());
        // one invalidation per corte, in the order the cortes were published (its caller reference names the package)
        assertThat(cloudFront.created(DISTRIBUTION)).extracting(i -> i.callerReference().split("/")[1] + ".zip").containsExactlyElementsOf(published);
        // a night without the faults it claims is no soak
        if (faultRules[0] > 0) {
            assertThat(s3Network.faultsInjected()).as("S3 faults that fired").isPositive();
        }
        if (faultRules[1] > 0) {
            assertThat(cloudFront.requests()).as("CloudFront requests refused").anySatisfy(r -> assertThat(r.succeeded()).isFalse());
        }

        MeterRegistry meters = meters();
        double redeliveries = Search.in(meters).counters().stream().filter(c -> c.getId().getName().contains("redeliver"))
                .mapToDouble(c -> c.count()).sum();
        double rejections = Search.in(meters).name("difusor_packages_rejected_total").counters().stream().mapToDouble(c -> c.count()).sum();
        System.out.printf("SOAK: %d cortes, %d published in order, %d bad packages quarantined %s (%.0f rejections counted),"
                + " %d fault rules injected (%d S3 faults fired, %d CloudFront requests for %d invalidations),"
                + " %.0f stage redeliveries by the retry channel, max publish latency %d ms%n",
                CORTES, published.size(), rejected.size(), rejected.values(), rejections, faults, s3Network.faultsInjected(),
                cloudFront.requests().size(), cloudFront.created(DISTRIBUTION).size(), redeliveries, maxLatencyMillis);
    }

    /** A corte ten minutes before the good one of this sequence. */
    private Path between(int sequence) throws java.io.IOException {
        return generator.write(Files.createDirectories(tmp.resolve("between")), FIRST_CORTE.plusMinutes(20L * sequence - 10), sequence);
    }

    private static String betweenName(int sequence) {
        return PrepPackageGenerator.packageName(FIRST_CORTE.plusMinutes(20L * sequence - 10));
    }

    private int injectFaults(Random random, int[] faultRules) {
        int n = 0;
        if (random.nextInt(4) == 0) {
            s3SlowsDownPuts(p -> p.startsWith("/" + SITE + "/"), 1 + random.nextInt(5));
            n++;
            faultRules[0]++;
        }
        if (random.nextInt(5) == 0) {
            s3Network.resetMidUpload(r -> r.method().equals("PUT") && r.path().startsWith("/" + SITE + "/"), 1, 10);
            n++;
            faultRules[0]++;
        }
        if (random.nextInt(6) == 0) {
            s3Network.delayResponse(FaultProxy.anyRequest(), 1, Duration.ofMillis(1500));
            n++;
            faultRules[0]++;
        }
        if (random.nextInt(6) == 0) {
            cloudFront.failNext(1 + random.nextInt(3), 503, "ServiceUnavailable");
            n++;
            faultRules[1]++;
        }
        return n;
    }

    private static String pickBad(Random random) {
        return switch (random.nextInt(4)) {
            case 0 -> "checksum";
            case 1 -> "escape";
            case 2 -> "nested";
            default -> "stale";
        };
    }
}
