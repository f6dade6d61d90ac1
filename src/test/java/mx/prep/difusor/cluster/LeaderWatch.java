package mx.prep.difusor.cluster;

import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Looks at the contexts every 10 ms for the whole test and keeps the largest number seen leading at once. */
final class LeaderWatch implements AutoCloseable {

    private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
    private final AtomicInteger mostAtOnce = new AtomicInteger();

    LeaderWatch(List<ElectedContext> contexts) {
        sampler.scheduleAtFixedRate(() -> {
            int leading = (int) contexts.stream().filter(ElectedContext::leads).count();
            mostAtOnce.accumulateAndGet(leading, Math::max);
        }, 0, 10, TimeUnit.MILLISECONDS);
    }

    int mostLeadersAtOnce() {
        return mostAtOnce.get();
    }

    @Override
    public void close() throws InterruptedException {
        sampler.shutdownNow();
        sampler.awaitTermination(5, TimeUnit.SECONDS);
    }
}
