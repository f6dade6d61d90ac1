package mx.prep.difusor.testing;

import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.component.quartz.QuartzComponent;
import org.apache.camel.main.Main;

import mx.prep.difusor.DifusorMain;

/**
 * prep-difusor started the way production starts it (Camel Main, the top-level application.properties, the YAML
 * routes), with test overrides on top. Stopping it and starting another on the same S3 is a restart.
 */
public final class RunningDifusor implements AutoCloseable {

    private final Main main;

    private RunningDifusor(Main main) {
        this.main = main;
    }

    public static RunningDifusor start(Map<String, String> overrides) throws Exception {
        Main main = DifusorMain.newMain();
        overrides.forEach(main::addOverrideProperty);
        main.start();
        return new RunningDifusor(main);
    }

    public CamelContext context() {
        return main.getCamelContext();
    }

    @Override
    public void close() throws Exception {
        // no poll fired while stopping: one in flight makes the shutdown wait a whole second for it
        if (main.getCamelContext() != null && main.getCamelContext().hasComponent("quartz") instanceof QuartzComponent quartz
                && quartz.getScheduler() != null) {
            quartz.getScheduler().standby();
            // Quartz's graceful stop joins its idle workers, which look at their stop flag every 500 ms: half a second
            // on each of a few hundred stops. The routes have drained before the component stops, so nothing runs there
            quartz.setInterruptJobsOnShutdown(true);
        }
        // bounded: Camel 4.17's ClusteredRoutePolicy can deadlock a stop that meets a leadership event (CAMEL-24545,
        // fixed in 4.18: the policy's lock and the cluster view's taken in opposite orders); in a pod the kubelet kills
        // it after terminationGracePeriodSeconds, here the fork goes on, its threads parked, rather than hang the build
        java.util.concurrent.FutureTask<Void> stop = new java.util.concurrent.FutureTask<>(() -> {
            main.stop();
            return null;
        });
        Thread stopping = new Thread(stop, "difusor-stop");
        stopping.setDaemon(true);
        stopping.start();
        try {
            stop.get(STOP_WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        } catch (java.util.concurrent.TimeoutException e) {
            System.err.println("RunningDifusor: its stop did not end within " + STOP_WAIT + " (Camel 4.17's shutdown deadlock, CAMEL-24545?);"
                    + " left behind, parked:");
            for (var trace : stopping.getStackTrace()) {
                System.err.println("\tat " + trace);
            }
        }
    }

    private static final java.time.Duration STOP_WAIT = java.time.Duration.ofSeconds(90);
}
