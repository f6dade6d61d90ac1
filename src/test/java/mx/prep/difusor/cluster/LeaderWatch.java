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
    private final java.util.concurrent.atomic.AtomicReference<Throwable> broke = new java.util.concurrent.atomic.AtomicReference<>();

    LeaderWatch(List<ElectedContext> contexts) {
        sampler.scheduleAtFixedRate(() -> {
            try {
                int leading = (int) contexts.stream().filter(ElectedContext::leads).count();
                mostAtOnce.accumulateAndGet(leading, Math::max);
            } catch (Throwable t) {
                // a task that throws is never run again: the count would stop there and the test still pass
                broke.compareAndSet(null, t);
            }
        }, 0, 10, TimeUnit.MILLISECONDS);
    }

    int mostLeadersAtOnce() {
        if (broke.get() != null) {
            throw new AssertionError("the leader watch stopped looking", broke.get());
        }
        return mostAtOnce.get();
    }

    @Override
    public void close() throws InterruptedException {
        sampler.shutdownNow();
        sampler.awaitTermination(5, TimeUnit.SECONDS);
    }
}
